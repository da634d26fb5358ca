"""Feed, sitemap and section-page parsing: what links come out, with which dates, and what never does."""

from __future__ import annotations

import gzip
from datetime import UTC, datetime

import pytest
from scrapy.http import HtmlResponse

from crawler.discovery import (
    FeedError,
    autodiscover_feeds,
    entry_date,
    parse_date,
    parse_feed,
    section_links,
    sitemap_entries,
)
from tests.crawler.outlets import atom, news_sitemap, rss, sitemap_index

WHEN = datetime(2026, 11, 23, 8, 30, tzinfo=UTC)


def test_rss_items_keep_link_title_and_date_in_feed_order() -> None:
    body = rss(
        [("روسيا ومصر توقعان اتفاقا", "https://ex.com/a-1.html", WHEN), ("خبر ثان", "/b-2.html", WHEN)]
    )
    items, problem = parse_feed(body, "https://ex.com/feed.xml")
    assert problem is None
    assert [i.url for i in items] == ["https://ex.com/a-1.html", "https://ex.com/b-2.html"]
    assert items[0].title == "روسيا ومصر توقعان اتفاقا"  # "Russia and Egypt sign an agreement"
    assert items[0].published == WHEN


def test_atom_entries_use_the_alternate_link_and_updated_date() -> None:
    items, _ = parse_feed(atom([("عنوان", "https://ex.com/x-9.html", WHEN)]), "https://ex.com/atom")
    assert [(i.url, i.published) for i in items] == [("https://ex.com/x-9.html", WHEN)]


def test_a_cut_off_feed_keeps_the_items_before_the_break_and_says_where() -> None:
    body = rss([("أول", "https://ex.com/1-1.html", WHEN), ("ثان", "https://ex.com/2-2.html", WHEN)])
    items, problem = parse_feed(body[: body.index(b"https://ex.com/2-2.html") + 5], "https://ex.com/feed")
    assert [i.url for i in items] == ["https://ex.com/1-1.html"]
    assert problem is not None and problem.startswith("line ")


def test_an_html_page_is_not_a_feed() -> None:
    with pytest.raises(FeedError, match="not a feed: root element <html>"):
        parse_feed(b"<html><body><p>hello</p></body></html>", "https://ex.com/feed")


def test_entity_expansion_is_refused_not_performed() -> None:
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY a "aaaaaaaaaa">'
        b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">'
        b'<!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;"><!ENTITY e "&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;">]>'
        b"<rss><channel><item><title>&e;</title><link>https://ex.com/1-1.html</link></item></channel></rss>"
    )
    items, _ = parse_feed(bomb, "https://ex.com/feed")
    assert all(len(i.title or "") < 1000 for i in items)


def test_external_entities_are_not_read_from_disk() -> None:
    xxe = (
        b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        b"<rss><channel><item><title>&x;</title><link>https://ex.com/1-1.html</link></item></channel></rss>"
    )
    items, _ = parse_feed(xxe, "https://ex.com/feed")
    assert "root:" not in (items[0].title or "")


def test_home_page_autodiscovery_finds_rss_and_atom_links_only() -> None:
    page = HtmlResponse(
        "https://ex.com/",
        body=b"""<html><head>
        <link rel="alternate" type="application/rss+xml" href="/rss.xml">
        <link rel="alternate" type="application/atom+xml" href="https://ex.com/atom.xml">
        <link rel="alternate" hreflang="en" href="https://ex.com/en/">
        <link rel="stylesheet" href="/s.css"></head><body></body></html>""",
    )
    assert autodiscover_feeds(page) == ("https://ex.com/rss.xml", "https://ex.com/atom.xml")


SECTION = """<html><body><nav><a href="/">الرئيسية</a><a href="/world/">العالم</a></nav>
<a href="/2026/11/23/russia-egypt-nuclear-plant.html">خبر</a>
<a href="https://www.ex.com/news/123456">خبر برقم</a>
<a href="https://m.ex.com/%D8%B1%D9%88%D8%B3%D9%8A%D8%A7-%D9%88%D9%85%D8%B5%D8%B1-%D8%AA%D9%88%D9%82%D8%B9%D8%A7%D9%86">slug</a>
<a href="/tag/russia/">وسم</a><a href="/author/desk-1234/">كاتب</a><a href="/page/2">التالي</a>
<a href="/video/2026/russia-clip-5555">فيديو</a><a href="/photo.jpg">صورة</a>
<a href="https://other.org/2026/11/23/story-99999.html">موقع آخر</a></body></html>"""


def test_section_page_yields_same_site_article_links_not_listings() -> None:
    page = HtmlResponse("https://ex.com/world/", body=SECTION.encode(), encoding="utf-8")
    urls = [link.url for link in section_links(page, deny=("/video/",))]
    assert urls == [
        "https://ex.com/2026/11/23/russia-egypt-nuclear-plant.html",
        "https://www.ex.com/news/123456",
        "https://m.ex.com/%D8%B1%D9%88%D8%B3%D9%8A%D8%A7-%D9%88%D9%85%D8%B5%D8%B1-%D8%AA%D9%88%D9%82%D8%B9%D8%A7%D9%86",
    ]


def test_allow_patterns_replace_the_article_heuristic() -> None:
    page = HtmlResponse("https://ex.com/world/", body=SECTION.encode(), encoding="utf-8")
    assert [link.url for link in section_links(page, allow=(r"/news/\d+",))] == [
        "https://www.ex.com/news/123456"
    ]


def test_news_sitemap_entries_carry_the_publication_date() -> None:
    kind, entries = sitemap_entries(news_sitemap([("https://ex.com/a-1.html", WHEN)]))
    found = list(entries)
    assert kind == "urlset"
    assert [(e["loc"], entry_date(e)) for e in found] == [("https://ex.com/a-1.html", WHEN)]


def test_sitemap_index_lists_child_sitemaps_with_lastmod() -> None:
    body = sitemap_index([("https://ex.com/news.xml.gz", WHEN)])
    kind, entries = sitemap_entries(gzip.decompress(gzip.compress(body)))
    assert kind == "sitemapindex"
    assert [(e["loc"], entry_date(e)) for e in entries] == [("https://ex.com/news.xml.gz", WHEN)]


@pytest.mark.parametrize(
    "text,expected",
    [
        ("Fri, 02 Mar 2018 16:49:57 +0400", datetime(2018, 3, 2, 12, 49, 57, tzinfo=UTC)),
        ("2026-11-23T08:30:00Z", WHEN),
        ("2026-11-23T11:30:00+03:00", WHEN),
        ("2026-11-23", datetime(2026, 11, 23, tzinfo=UTC)),
        ("not a date", None),
        ("", None),
    ],
)
def test_feed_and_sitemap_dates_become_aware_utc(text: str, expected: datetime | None) -> None:
    assert parse_date(text) == expected
