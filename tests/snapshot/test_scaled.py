"""The scaled snapshot (benchmarks of issue 12): its size, its share of Russia, its page sizes, its feeds."""

from __future__ import annotations

import json
import re
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import trafilatura

from config.sources import load_sources
from snapshot.replay import ReplayProcess, SiteServer
from snapshot.scaled import (
    RUSSIA_SHARE,
    ScaledRoutes,
    ScaledSnapshot,
    ServedSnapshot,
    _cycled,
    load_scaled,
    russia_test,
    size_summary,
)

SIZE = 120  # small: the test is about shape, not speed


@pytest.fixture(scope="module")
def scaled(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> ScaledSnapshot:
    return load_scaled(shared_data, SIZE, cache_dir=tmp_path_factory.mktemp("scaled-cache"))


@pytest.fixture(scope="module")
def site(scaled: ScaledSnapshot):
    server = SiteServer({})
    served = scaled.served(server.url)
    server.set_routes(served.routes())
    with server:
        yield served


def _get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=30) as answer:
        assert answer.status == 200, url
        return answer.read()


def test_scaled_snapshot_has_the_requested_pages_and_one_in_ten_names_russia(scaled: ScaledSnapshot) -> None:
    assert len(scaled.articles) == SIZE
    assert sum(a.names_russia for a in scaled.articles) == round(SIZE * RUSSIA_SHARE)
    assert len({a.path for a in scaled.articles}) == SIZE
    assert len({a.paragraphs for a in scaled.articles}) == SIZE  # no text served twice


def test_a_page_names_russia_exactly_when_its_article_does(site: ServedSnapshot) -> None:
    """The real pages' chrome is scrubbed: menus and "most read" boxes never add a Russia word."""
    names_russia = russia_test()
    for article in site.snapshot.articles:
        page = site.page(article).decode("utf-8")
        assert names_russia(page) is article.names_russia, article.path


def test_page_sizes_follow_the_real_pages_they_are_dressed_in(
    scaled: ScaledSnapshot, site: ServedSnapshot
) -> None:
    real = {c.site: c.real_bytes for c in scaled.chromes}
    sizes = [len(site.page(a)) for a in scaled.articles]
    for article, size in zip(scaled.articles, sizes, strict=True):
        assert 0.5 * real[article.outlet] < size < 1.6 * real[article.outlet], article.outlet
    served, actual = size_summary(sizes), size_summary(list(real.values()))
    assert len(real) >= 10  # every real saved page gives its chrome
    assert 100 < actual["mean"] < 140  # KiB: the "about 119 KiB"
    assert abs(served["mean"] - actual["mean"]) < 0.15 * actual["mean"]
    assert served["max"] > 300  # the big real page (a 488 KiB portal) is in the mix


def test_feeds_list_every_page_and_the_server_serves_each_as_rendered(site: ServedSnapshot) -> None:
    listed = []
    for url in site.feed_urls():
        listed += re.findall(r"<link>(http[^<]+/news/[^<]+)</link>", _get(url).decode("utf-8"))
    assert sorted(listed) == sorted(site.url(a) for a in site.snapshot.articles)
    with urllib.request.urlopen(site.feed_urls()[0], timeout=30) as answer:  # validators, as outlets send
        assert answer.headers["ETag"].startswith('"') and answer.headers["Last-Modified"].endswith("GMT")
    before = json.loads(_get(site.base + ScaledRoutes.COUNTS))["articles"]
    for article in site.snapshot.articles[:5]:
        assert _get(site.url(article)) == site.page(article)
    assert json.loads(_get(site.base + ScaledRoutes.COUNTS))["articles"] == before + 5


def test_each_outlet_page_extracts_to_its_own_article_dated_inside_the_age_window(
    site: ServedSnapshot,
) -> None:
    today = datetime.now(UTC).date()
    for outlet in site.snapshot.outlets:
        article = next(a for a in site.snapshot.articles if a.outlet == outlet)
        document = trafilatura.bare_extraction(site.page(article), url=site.url(article), with_metadata=True)
        assert document is not None, outlet
        assert document.title == article.title, outlet
        assert article.paragraphs[0][:60] in (document.text or ""), outlet
        published = datetime.strptime(document.date, "%Y-%m-%d").date()
        assert today - timedelta(days=2) <= published <= today, outlet  # the crawl's window is 3 days


def test_cached_snapshot_is_the_one_built(shared_data: Path, scaled: ScaledSnapshot, tmp_path: Path) -> None:
    first = load_scaled(shared_data, 30, cache_dir=tmp_path)
    assert len(list(tmp_path.glob("scaled-30-*.json.gz"))) == 1
    assert load_scaled(shared_data, 30, cache_dir=tmp_path) == first
    assert len(first.articles) == 30 and scaled.size == SIZE


def test_past_the_corpus_a_page_joins_two_articles_and_never_repeats_a_text() -> None:
    items = [(f"t{n}", (f"p{n}",), (str(n),)) for n in range(3)]
    texts = [paragraphs for _, paragraphs, _ in _cycled(items, 8)]
    assert len(texts) == 8 and len(set(texts)) == 8
    assert texts[3] == ("p0", "p1")  # the first lap is the articles themselves; then each gets another's


def test_snapshot_process_serves_the_scaled_pages_with_a_sources_file(shared_data: Path) -> None:
    with ReplayProcess(shared_data, size=40, scaled=True, host_name="localhost") as replay:
        assert replay.url.startswith("http://localhost:")
        sources = load_sources(replay.sources_file)
        assert len(sources) >= 10
        links = re.findall(r"<link>(http[^<]+/news/[^<]+)</link>", _get(sources[0].feeds[0]).decode("utf-8"))
        assert links
        page = _get(links[0]).decode("utf-8")
        assert '<meta property="article:published_time"' in page
