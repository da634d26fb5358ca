"""The URL policy against hostile listings, end to end: crawls of a local site whose feeds, sitemaps and home
pages point at local files, ``data:`` URIs, another host and internal addresses.

Two real servers: the outlets on 127.0.0.1, and "another host" on 127.0.0.2 whose every page would be stored
if it were fetched. A canary file holds an article about Russia's cooperation with a unique token: if the
crawl ever read it, the token would reach the database or the output.
"""

from __future__ import annotations

import base64
import logging
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from config.sources import Source
from crawler.urlpolicy import address_refusal, refusal, site_of, source_sites
from snapshot.replay import Route, SiteServer, redirect
from storage.db import make_engine
from storage.repository import Repository
from tests.crawler.conftest import RequestLog, rasid
from tests.crawler.outlets import RealArticle, article_html, news_sitemap, real_articles, rss, sitemap_index

OTHER_PREFIX = "/other-host/"


def _articles(db: str) -> list:
    return [a for batch in Repository(make_engine(db)).iter_articles() for a in batch]


@pytest.fixture(scope="module")
def hostile(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """The hostile site, the other host, the canary files, and their crawl: output, database, requests."""
    folder = tmp_path_factory.mktemp("hostile")
    token = f"CANARY{uuid.uuid4().hex}"
    arts = real_articles(shared_data, 8)
    fresh = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=20)
    canary_article = RealArticle(f"{token} روسيا والإمارات توقعان اتفاقية تعاون", arts[0].text + "\n" + token)
    canary_html = folder / "canary.html"
    canary_html.write_text(article_html(canary_article, fresh, "http://canary.invalid/"), encoding="utf-8")
    log = RequestLog()
    replay_logger = logging.getLogger("snapshot.replay")
    replay_logger.addHandler(log)
    replay_logger.setLevel(logging.DEBUG)
    main, other = SiteServer({}), SiteServer({}, host="127.0.0.2")
    with main, other:
        base, elsewhere = main.url, other.url
        canary_feed = folder / "canary.xml"  # a feed whose only item is a page of ours: fetched only if read
        canary_feed.write_bytes(rss([(token, f"{base}/ah/from-canary-feed-701.html", fresh)]))
        # Short enough (under Scrapy's URLLENGTH_LIMIT of 2083) to become a request the policy must refuse.
        small = (
            f"<html><head><title>{token}</title></head><body><p>{token} روسيا تتعاون مع مصر</p></body></html>"
        )
        data_uri = "data:text/html;base64," + base64.b64encode(small.encode()).decode()
        other_routes = {
            f"{OTHER_PREFIX}{name}": Route(
                article_html(arts[1], fresh, f"{elsewhere}{OTHER_PREFIX}{name}").encode()
            )
            for name in ("sm-article-1.html", "feed-article-1.html", "redirected-1.html")
        }
        other_routes[f"{OTHER_PREFIX}feed.xml"] = Route(rss([(arts[1].title, f"{base}/ah/a-1.html", fresh)]))
        other_routes[f"{OTHER_PREFIX}sitemap.xml"] = Route(news_sitemap([(f"{base}/ih/a-1.html", fresh)]))
        other.set_routes(other_routes)
        legit = {f"/smh/2026/ok-article-{i}.html": arts[2 + i] for i in range(2)}
        legit |= {f"/fh/2026/ok-article-{i}.html": arts[4 + i] for i in range(2)}
        routes = {path: Route(article_html(a, fresh, base + path).encode()) for path, a in legit.items()}
        routes["/ah/from-canary-feed-701.html"] = Route(article_html(arts[6], fresh, base + "/x").encode())
        routes["/smh/news.xml"] = Route(news_sitemap([
            (canary_html.as_uri(), fresh), (data_uri, fresh),
            (f"{elsewhere}{OTHER_PREFIX}sm-article-1.html", fresh),
            *((base + p, fresh) for p in legit if p.startswith("/smh/")),
        ]), "application/xml")  # fmt: skip
        routes["/fh/feed.xml"] = Route(rss([
            (token, canary_html.as_uri(), fresh),
            ("آخر", f"{elsewhere}{OTHER_PREFIX}feed-article-1.html", fresh),
            ("تحويل", f"{base}/fh/go-elsewhere-1.html", fresh), ("ملف", f"{base}/fh/go-file-1.html", fresh),
            *((legit[p].title, base + p, fresh) for p in legit if p.startswith("/fh/")),
        ]), "application/rss+xml")  # fmt: skip
        routes["/fh/go-elsewhere-1.html"] = redirect(f"{elsewhere}{OTHER_PREFIX}redirected-1.html", 302)
        routes["/fh/go-file-1.html"] = redirect(canary_html.as_uri(), 302)
        routes["/ah/"] = Route(
            f"""<html><head><meta charset="utf-8"><title>أخبار</title>
<link rel="alternate" type="application/rss+xml" href="{canary_feed.as_uri()}">
<link rel="alternate" type="application/rss+xml" href="{elsewhere}{OTHER_PREFIX}feed.xml"></head>
<body><p>مرحبا</p></body></html>""".encode()
        )
        routes["/ih/index.xml"] = Route(sitemap_index([
            (f"{elsewhere}{OTHER_PREFIX}sitemap.xml", fresh), (canary_feed.as_uri(), fresh),
        ]), "application/xml")  # fmt: skip
        main.set_routes(routes)
        sources = folder / "sources.yaml"
        sources.write_text(
            f"""sources:
  - {{name: sitemap-hostile, url: "{base}/smh/", sitemaps: ["{base}/smh/news.xml"]}}
  - {{name: feed-hostile, url: "{base}/fh/", feeds: ["{base}/fh/feed.xml"]}}
  - {{name: auto-hostile, url: "{base}/ah/"}}
  - {{name: index-hostile, url: "{base}/ih/", sitemaps: ["{base}/ih/index.xml"]}}
""",
            encoding="utf-8",
        )
        db = f"sqlite:///{folder / 'rasid.db'}"
        result = rasid("crawl", "--sources", str(sources), "--db", db)
        paths = list(log.paths)
        log.paths.clear()
        private = rasid("crawl", "--sources", str(sources), "--source", "feed-hostile",
                        "--db", f"sqlite:///{folder / 'private.db'}",
                        env={"RASID_CRAWL__ALLOW_PRIVATE_ADDRESSES": "false"})  # fmt: skip
        private_paths = list(log.paths)
        hits = rasid("hits", "--format", "jsonl", "--db", db)
    replay_logger.removeHandler(log)
    yield {
        "result": result, "db": db, "paths": paths, "token": token, "canary": canary_html, "legit": legit,
        "private": private, "private_paths": private_paths, "hits": hits, "data_uri": data_uri,
    }  # fmt: skip


def test_the_hostile_crawl_finishes_and_stores_the_legitimate_articles(hostile) -> None:
    assert hostile["result"].returncode == 0, hostile["result"].stderr[-3000:]
    # sitemap: file, data:, other host; feed: other host, redirect to it; home: file feed, other host's feed;
    # index: other host's sitemap (its file:/// child is the home page's, refused once already)
    assert "refused 8 listed or redirected URLs" in " ".join(hostile["result"].stdout.split())
    stored = {a.title for a in _articles(hostile["db"])}
    assert {a.title for a in hostile["legit"].values()} <= stored
    assert "Traceback" not in hostile["result"].stderr


def test_a_local_file_or_data_uri_never_reaches_the_database_or_the_output(hostile) -> None:
    token = hostile["token"]
    for article in _articles(hostile["db"]):
        assert token not in article.title and token not in article.text
    for output in (hostile["result"], hostile["hits"]):
        assert token not in output.stdout
    # stderr names the refused URLs (the data: URI carries the token base64-encoded), never the content
    assert token not in hostile["result"].stderr


def test_a_page_listed_only_in_a_local_file_feed_is_never_requested(hostile) -> None:
    assert "/ah/from-canary-feed-701.html" not in hostile["paths"]


def test_the_other_host_is_never_requested(hostile) -> None:
    assert hostile["paths"], "the main site was not crawled at all"
    assert [p for p in hostile["paths"] if p.startswith(OTHER_PREFIX)] == []


def test_each_refused_url_is_one_line_naming_it_and_why(hostile) -> None:
    lines = hostile["result"].stderr.splitlines()

    def one(fragment: str) -> str:
        found = [line for line in lines if "refused" in line and fragment in line]
        assert len(found) == 1, (fragment, found, hostile["result"].stderr[-3000:])
        return found[0]

    canary = hostile["canary"].as_uri()
    assert "scheme file" in one(f"refused {canary} (source sitemap-hostile)")
    # The feed's file:/// item never becomes a request: parse_feed keeps http(s) and relative links only.
    # Scrapy itself never follows a redirect to a non-http scheme: the 302 is the page's failure.
    assert any("go-file-1.html (source feed-hostile): http 302" in line for line in lines)
    assert "scheme data" in one("refused data:text/html")
    assert "not one of the source's own" in one(f"{OTHER_PREFIX}sm-article-1.html")
    assert "not one of the source's own" in one(f"{OTHER_PREFIX}feed-article-1.html")
    assert "go-elsewhere-1.html" in one(f"{OTHER_PREFIX}redirected-1.html")
    assert "not one of the source's own" in one(f"{OTHER_PREFIX}feed.xml (source auto-hostile)")
    assert "not one of the source's own" in one(f"{OTHER_PREFIX}sitemap.xml (source index-hostile)")


def test_internal_addresses_are_refused_unless_allowed(hostile) -> None:
    result = hostile["private"]
    assert result.returncode == 0, result.stderr[-3000:]
    assert hostile["private_paths"] == []  # not even robots.txt
    assert "loopback address 127.0.0.1" in result.stderr
    assert [line for line in result.stderr.splitlines() if "/fh/feed.xml" in line and "refused" in line]


# ------------------------------------------------------------------------------------ sitemap index caps


def test_a_sitemap_index_is_followed_for_its_newest_children_only_and_not_too_deep(tmp_path: Path) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    log = RequestLog()
    replay_logger = logging.getLogger("snapshot.replay")
    replay_logger.addHandler(log)
    replay_logger.setLevel(logging.DEBUG)
    with SiteServer({}) as site:
        base = site.url
        children = [(f"{base}/fan/child-{n:02d}.xml", now - timedelta(hours=n)) for n in range(12)]
        routes = {"/fan/index.xml": Route(sitemap_index(children[::-1]), "application/xml")}
        routes |= {f"/fan/child-{n:02d}.xml": Route(news_sitemap([]), "application/xml") for n in range(12)}
        for level, child in (("index", "level-2"), ("level-2", "level-3"), ("level-3", "urlset")):
            routes[f"/deep/{level}.xml"] = Route(
                sitemap_index([(f"{base}/deep/{child}.xml", now)]), "application/xml"
            )
        routes["/deep/urlset.xml"] = Route(news_sitemap([]), "application/xml")
        site.set_routes(routes)
        sources = tmp_path / "sources.yaml"
        sources.write_text(
            f"sources:\n  - {{name: fan, url: '{base}/fan/', sitemaps: ['{base}/fan/index.xml']}}\n"
            f"  - {{name: deep, url: '{base}/deep/', sitemaps: ['{base}/deep/index.xml']}}\n",
            encoding="utf-8",
        )
        caps = {"RASID_CRAWL__SITEMAP_INDEX_MAX_CHILDREN": "3", "RASID_CRAWL__SITEMAP_MAX_DEPTH": "2"}
        result = rasid("crawl", "--sources", str(sources), "--db", f"sqlite:///{tmp_path / 'x.db'}", env=caps)
    replay_logger.removeHandler(log)
    assert result.returncode == 0, result.stderr[-3000:]
    followed = sorted(p for p in log.paths if p.startswith("/fan/child-"))
    assert followed == ["/fan/child-00.xml", "/fan/child-01.xml", "/fan/child-02.xml"]  # the three newest
    assert "/deep/level-3.xml" in log.paths and "/deep/urlset.xml" not in log.paths
    assert "followed the newest 3 of 12 child sitemaps" in result.stderr
    assert "deeper than 2 levels" in result.stderr


# ------------------------------------------------------------------------------------ the policy itself


def test_www_and_mobile_hosts_are_one_site_and_ports_are_not() -> None:
    assert site_of("https://www.example.com/a") == site_of("http://m.example.com:80/b") == "example.com"
    assert site_of("http://127.0.0.1:8391/x") != site_of("http://127.0.0.1:8392/x")


def test_a_source_owns_its_url_its_entry_points_and_its_declared_hosts() -> None:
    source = Source(name="s", url="https://www.news.example/", feeds=("https://feeds.news.example/rss",),
                    hosts=("cdn.news-static.example",))  # fmt: skip
    sites = source_sites(source)
    assert refusal("https://news.example/2026/a.html", sites) is None
    assert refusal("https://feeds.news.example/2026/a.html", sites) is None
    assert refusal("https://cdn.news-static.example/a.html", sites) is None
    assert refusal("https://evil.example/a.html", sites) == (
        "host", "host evil.example is not one of the source's own "
        "(cdn.news-static.example, feeds.news.example, news.example)",
    )  # fmt: skip
    for url in ("file:///etc/passwd", "data:text/html,x", "ftp://news.example/a", "s3://b/k", "gopher://x/"):
        assert refusal(url, sites) is not None and refusal(url, sites)[0] == "scheme"  # type: ignore[index]


@pytest.mark.parametrize(
    "address", ["127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254", "::1", "fe80::1",
                "::ffff:127.0.0.1", "0.0.0.0", "100.64.0.1", "224.0.0.1"],
)  # fmt: skip
def test_internal_addresses_are_refused(address: str) -> None:
    assert address_refusal(address) is not None


def test_public_addresses_pass() -> None:
    assert address_refusal("93.184.215.14") is None
    assert address_refusal("2606:2800:21f:cb07:6820:80da:af6b:8b2c") is None


def test_a_host_name_resolving_to_loopback_is_refused_after_dns(tmp_path: Path) -> None:
    log = RequestLog()
    replay_logger = logging.getLogger("snapshot.replay")
    replay_logger.addHandler(log)
    replay_logger.setLevel(logging.DEBUG)
    with SiteServer({"/feed.xml": Route(rss([]), "application/rss+xml")}) as site:
        named = f"http://localhost:{site.port}"
        sources = tmp_path / "sources.yaml"
        sources.write_text(f"sources:\n  - {{name: named, url: '{named}/', feeds: ['{named}/feed.xml']}}\n")
        strict = {"RASID_CRAWL__ALLOW_PRIVATE_ADDRESSES": "false"}
        result = rasid(
            "crawl", "--sources", str(sources), "--db", f"sqlite:///{tmp_path / 'x.db'}", env=strict
        )
    replay_logger.removeHandler(log)
    assert result.returncode == 0, result.stderr[-3000:]
    assert log.paths == []
    assert f"refused {named}/feed.xml (source named): loopback address 127.0.0.1" in result.stderr


def test_each_refusal_is_counted_and_each_url_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    import asyncio

    from scrapy import Request
    from scrapy.utils.test import get_crawler

    from crawler.spiders.news import NewsSpider
    from crawler.urlpolicy import RefusedURL, UrlPolicyMiddleware

    crawler = get_crawler(NewsSpider)
    middleware = UrlPolicyMiddleware.from_crawler(crawler)
    urls = ("file:///etc/passwd", "file:///etc/passwd", "data:text/html,x", "http://10.0.0.7/a")
    kinds = []
    with caplog.at_level(logging.WARNING, logger="crawler.urlpolicy"):
        for url in urls:
            with pytest.raises(RefusedURL) as refused:
                asyncio.run(middleware.process_request(Request(url)))
            kinds.append(refused.value.kind)
    assert kinds == ["scheme", "scheme", "scheme", "address"]
    stats = crawler.stats.get_stats()  # type: ignore[union-attr]
    assert (stats["rasid/refused"], stats["rasid/refused/scheme"], stats["rasid/refused/address"]) == (
        4,
        3,
        1,
    )
    assert len(caplog.records) == 3  # the repeated URL is logged once
