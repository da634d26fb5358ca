"""The private Scrapy names rasid relies on, pinned (``scrapy<2.20`` in pyproject.toml) and checked here.

``SitemapSpider._get_sitemap_body`` gunzips a sitemap within DOWNLOAD_MAXSIZE; ``Sitemap._process_sitemap_element``
turns one ``<url>`` into a dict, which ``crawler.discovery.NewsSitemap`` extends with the news fields. When a
Scrapy release changes either, these tests fail before a crawl silently reads no sitemap.
``ExecutionEngine._SLOT_HEARTBEAT_INTERVAL`` is how often the engine asks an empty scheduler again; a shared-queue
worker shortens it (``crawler.scheduler.QUEUE_POLL_SECONDS``).
"""

from __future__ import annotations

import gzip
import inspect

from scrapy.core.engine import ExecutionEngine
from scrapy.http import Request, Response, XmlResponse
from scrapy.spiders import SitemapSpider
from scrapy.utils.sitemap import Sitemap

from crawler.discovery import sitemap_entries

URLSET = """<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">
<url><loc>https://ex.com/a.html</loc><news:news><news:title>خبر</news:title>
<news:publication_date>2026-01-02T03:04:05Z</news:publication_date></news:news></url>
</urlset>""".encode()


def test_sitemap_spider_still_has_get_sitemap_body_taking_a_response() -> None:
    assert list(inspect.signature(SitemapSpider._get_sitemap_body).parameters) == ["self", "response"]


def test_get_sitemap_body_gunzips_a_gzipped_sitemap() -> None:
    spider = SitemapSpider(name="probe")
    spider._max_size, spider._warn_size = 10_000_000, 5_000_000  # set from settings in from_crawler
    url = "https://ex.com/sitemap.xml.gz"
    response = Response(url, body=gzip.compress(URLSET), request=Request(url))
    assert spider._get_sitemap_body(response) == URLSET
    assert spider._get_sitemap_body(XmlResponse("https://ex.com/s.xml", body=URLSET)) == URLSET


def test_sitemap_still_processes_elements_one_by_one() -> None:
    assert list(inspect.signature(Sitemap._process_sitemap_element).parameters) == ["self", "elem"]
    kind, entries = sitemap_entries(URLSET)
    [entry] = list(entries)
    assert kind == "urlset" and entry["loc"] == "https://ex.com/a.html"
    assert entry["news_title"] == "خبر" and entry["news_publication_date"] == "2026-01-02T03:04:05Z"


def test_the_engine_still_asks_its_scheduler_again_every_slot_heartbeat_interval() -> None:
    assert isinstance(ExecutionEngine._SLOT_HEARTBEAT_INTERVAL, float)
    # Read from the instance when the heartbeat starts, so a value set on the engine before that counts.
    assert "self._SLOT_HEARTBEAT_INTERVAL" in inspect.getsource(ExecutionEngine._start_request_processing)
