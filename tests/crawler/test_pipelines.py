"""The pipeline's extraction step, in a worker process as on machines with three or more cores."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
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


POOL_OWNER = """
import os, sys, time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from crawler.pipelines import exit_with_parent

pool = ProcessPoolExecutor(1, mp_context=get_context("spawn"), initializer=exit_with_parent, initargs=(os.getpid(),))
print(pool.submit(os.getpid).result(), flush=True)
time.sleep(600)
"""


def test_an_extraction_worker_exits_when_the_crawl_is_killed() -> None:
    # A crawl killed with SIGKILL cannot shut its pool down; its worker must not live on, holding its pipes.
    owner = subprocess.Popen(
        [sys.executable, "-c", POOL_OWNER], cwd=Path(__file__).resolve().parents[2], stdout=subprocess.PIPE
    )
    assert owner.stdout is not None
    worker = int(owner.stdout.readline())
    assert Path(f"/proc/{worker}").exists()
    owner.send_signal(signal.SIGKILL)
    owner.wait(timeout=10)
    deadline = time.monotonic() + 10
    while _alive(worker) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(worker), "the extraction worker outlived the crawl process"
    assert owner.stdout.read() == b""  # end of file: nothing holds the crawl's stdout any more


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"  # a zombie has exited; only its parent (here init) has yet to reap it
