"""``fetch_article``: one page fetched politely in a child process, for ``rasid explain URL``."""

from __future__ import annotations

import pytest

from config.settings import CrawlSettings, Settings
from crawler.fetch import FetchError, fetch_article, fetch_article_or_raise

FAST = Settings(
    crawl=CrawlSettings(
        download_delay=0, autothrottle=False, retry_times=0, download_timeout=10, allow_private_addresses=True
    )
)


def test_fetch_returns_the_article_of_a_windows_1256_page(site) -> None:
    built, sources_file, _ = site
    base = sources_file.read_text("utf-8").split("url: ", 1)[1].split("/rss/", 1)[0]
    article = fetch_article(f"{base}/cp/2026/11/russia-arab-600.html", FAST)
    assert article is not None
    assert article.title in built.expected["cp1256-outlet"]
    assert article.published is not None


def test_fetch_of_a_404_says_http_404(site) -> None:
    _, sources_file, _ = site
    base = sources_file.read_text("utf-8").split("url: ", 1)[1].split("/rss/", 1)[0]
    with pytest.raises(FetchError, match="http 404"):
        fetch_article_or_raise(f"{base}/rss/_fault/status/404", FAST)


def test_fetch_obeys_robots_txt(site) -> None:
    _, sources_file, log = site
    base = sources_file.read_text("utf-8").split("url: ", 1)[1].split("/rss/", 1)[0]
    log.paths.clear()
    with pytest.raises(FetchError, match="robots.txt"):
        fetch_article_or_raise(f"{base}/sec/private/2026/russia-secret-509.html", FAST)
    assert "/sec/private/2026/russia-secret-509.html" not in log.paths


def test_fetch_of_a_loopback_address_is_refused_before_any_request(site) -> None:
    _, sources_file, log = site
    base = sources_file.read_text("utf-8").split("url: ", 1)[1].split("/rss/", 1)[0]
    log.paths.clear()
    strict_crawl = FAST.crawl.model_copy(update={"allow_private_addresses": False})
    strict = FAST.model_copy(update={"crawl": strict_crawl})
    with pytest.raises(FetchError, match=r"^refused .*: loopback address 127\.0\.0\.1$"):
        fetch_article_or_raise(f"{base}/cp/2026/11/russia-arab-600.html", strict)
    assert log.paths == []  # not even robots.txt
