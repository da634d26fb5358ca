"""The pipeline's extraction step, in a worker process as on machines with three or more cores."""

from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime
from multiprocessing import get_context
from pathlib import Path

from crawler.extract import decode_page
from crawler.page import Page
from crawler.pipelines import extract_in_worker

HANDWRITTEN = Path(__file__).resolve().parents[1] / "fixtures" / "pages" / "handwritten"


def _page(body: bytes) -> Page:
    now = datetime.now(UTC)
    return Page(
        "s", "http://x/a-1.html", "http://x/a-1.html", 200, (("Content-Type", "text/html"),), body, now
    )


def test_a_spawned_worker_extracts_a_windows_1256_page_and_reports_a_bad_one() -> None:
    good = _page((HANDWRITTEN / "2026-11-23_russia-egypt-nuclear.cp1256.html").read_bytes())
    bad = _page(b"<html><body><nav><a href='/'>x</a></nav></body></html>")
    with ProcessPoolExecutor(1, mp_context=get_context("spawn")) as pool:
        # The crawl process decodes (the prefilter reads the text); the worker gets page and text.
        pages = [good, bad]
        results = pool.map(extract_in_worker, pages, [decode_page(page) for page in pages])
        (article, reason, _), (none, bad_reason, detail) = results
    assert reason == ""
    assert article.title == "روسيا ومصر تبحثان التعاون في مجال الطاقة النووية"
    assert none is None and bad_reason == "no-article" and detail
