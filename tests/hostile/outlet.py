"""A hostile outlet: one site whose feeds, sitemaps, robots.txt and pages each break a rule of the web.

``build_outlet`` returns the routes to serve, a sources YAML, and the table of cases: for each, the URL a
feed or sitemap lists, the title that must be stored exactly once (or None), and what the one line about
it must say (or None when the page is fine and nothing may be said). One crawl of the whole outlet serves
every case; ``tests/hostile/test_crawl.py`` asserts each row on that crawl's output and database.
"""

from __future__ import annotations

import html
import random
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

from snapshot.replay import Route, redirect
from tests.crawler.outlets import RealArticle, article_html, news_sitemap, real_articles, rss, sitemap_index

#: More links than a listing may give (crawler.spiders.news.MAX_LINKS_PER_LISTING is 500).
CAP_LINKS = 3000
#: Real articles used by the cases; each stored case gets its own, so no two merge as near-duplicates.
ARTICLES = 32
#: A date no other feed item has, replaced in the feed by text that is no date.
BAD_DATE_MARK = datetime(2001, 2, 3, 4, 5, 6, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Case:
    """One hostile input: where it is listed, what must be stored, what the one line must say."""

    id: str
    behaviour: str  # the expected behaviour, as the docs table says it
    url: str = ""  # the URL as listed (the one the line must name); "" for cases checked by their own test
    stored: str | None = None  # the title stored exactly once, if the page is a good article
    line: str | None = None  # a fragment of the one line naming ``url``; None: no line may name it


@dataclass
class Outlet:
    """Routes for the main server, routes for each robots.txt server, the cases and the canary token."""

    routes: dict[str, Route] = field(default_factory=dict)
    robots_routes: dict[str, dict[str, Route]] = field(default_factory=dict)
    cases: list[Case] = field(default_factory=list)
    articles: list[RealArticle] = field(default_factory=list)
    canary: str = ""


def _html(
    article: RealArticle, published: datetime, url: str, *, head: str = "", title: str | None = None
) -> str:
    page = article_html(article, published, url)
    if title is not None:
        page = page.replace(f"<title>{html.escape(article.title)} - أخبار</title>", f"<title>{title}</title>")
        page = page.replace(f"<h1>{html.escape(article.title)}</h1>", f"<h1>{title}</h1>")
    return page.replace("</head>", head + "</head>", 1)


def build_outlet(
    shared_data: Path, base: str, robots_bases: dict[str, str], canary_file: Path
) -> tuple[Outlet, str]:
    """The hostile outlet served at ``base``, three robots.txt variants at ``robots_bases``, and its sources."""
    arts = iter(real_articles(shared_data, ARTICLES))
    now = datetime.now(UTC).replace(microsecond=0)
    fresh = now - timedelta(hours=5)
    out = Outlet()
    items: list[tuple[str, str, datetime]] = []  # the page feed: (title, URL, date)
    rng = random.Random(13)

    def listed(case: Case, date: datetime = fresh, title: str = "خبر") -> None:
        items.append((title, case.url, date))
        out.cases.append(case)

    def good(case_id: str, behaviour: str, make: object = None, **route: object) -> RealArticle:
        """A real article served with a twist; it must be stored exactly once."""
        a = next(arts)
        out.articles.append(a)
        path = f"/hp/2026/{case_id}-1.html"
        body = make(a, base + path) if callable(make) else _html(a, fresh, base + path).encode()
        out.routes[path] = Route(body, **route)  # type: ignore[arg-type]
        listed(Case(case_id, behaviour, base + path, stored=a.title), title=a.title)
        return a

    def bad(case_id: str, behaviour: str, line: str, route: Route | None = None, path: str = "") -> None:
        """A page that is no article: one line naming it, nothing stored."""
        path = path or f"/hp/2026/{case_id}-1.html"
        if route is not None:
            out.routes[path] = route
        listed(Case(case_id, behaviour, base + path, line=line))

    # ---------------------------------------------------------------------------------------- charsets
    good("charset-header-wrong", "UTF-8 bytes declared windows-1256 in the header: read as UTF-8, stored",
         content_type="text/html; charset=windows-1256")  # fmt: skip
    good("charset-missing", "UTF-8 bytes with no charset declared anywhere: stored",
         lambda a, u: _html(a, fresh, u).replace('<meta charset="utf-8">', "").encode(),
         content_type="text/html")  # fmt: skip
    good("charset-meta-wrong", "windows-1256 bytes whose <meta> says UTF-8: read as windows-1256, stored",
         lambda a, u: _html(a, fresh, u).encode("cp1256"), content_type="text/html")  # fmt: skip

    def stray_bytes(a: RealArticle, u: str) -> bytes:
        body = _html(a, fresh, u).encode()
        cut = body.index(b"</p>") - 1
        return body[:cut] + b"\xff\xfe" + body[cut:]

    good(
        "invalid-utf8",
        "two invalid UTF-8 bytes in a page declared UTF-8: stored, the rest intact",
        stray_bytes,
    )

    def mixed(a: RealArticle, u: str) -> bytes:
        page = _html(a, fresh, u)
        first = page.index("<p>")
        end = page.index("</p>", first)
        return page[:first].encode() + page[first:end].encode("cp1256") + page[end:].encode()

    mixed_article = next(arts)
    bad("mixed-encodings", "one paragraph in windows-1256 inside a UTF-8 page: skipped as undecodable in one "
        "line, never stored as mojibake", "undecodable",
        Route(mixed(mixed_article, base + "/hp/2026/mixed-encodings-1.html")))  # fmt: skip

    good("nul-bytes", "NUL bytes inside the page: stored without them",
         lambda a, u: _html(a, fresh, u).replace("</p>", "\x00</p>").encode())  # fmt: skip
    good("bom-contradicts-header", "a UTF-8 byte-order mark under a windows-1256 header: the BOM wins, stored",
         lambda a, u: b"\xef\xbb\xbf" + _html(a, fresh, u).encode(),
         content_type="text/html; charset=windows-1256")  # fmt: skip
    good("utf16-bom", "UTF-16 with its byte-order mark, header saying UTF-8: stored",
         lambda a, u: _html(a, fresh, u).replace('<meta charset="utf-8">', "").encode("utf-16"))  # fmt: skip

    # ---------------------------------------------------------------------------------- not a page
    bad("binary-as-html", "random bytes served as text/html: skipped in one line", "skipped",
        Route(bytes(rng.randrange(256) for _ in range(20_000)), "text/html"))  # fmt: skip
    bad("octet-stream", "an article served as application/octet-stream: skipped in one line as not HTML",
        "not-html, application/octet-stream",
        Route(article_html(next(arts), fresh, base).encode(), "application/octet-stream"))  # fmt: skip
    bad("fake-gzip", "Content-Encoding: gzip on a plain body: failed in one line", "Not a gzipped file",
        Route(article_html(next(arts), fresh, base).encode(), headers=(("Content-Encoding", "gzip"),)))  # fmt: skip
    bad("empty-200", "an empty 200 answer: skipped in one line", "no-article", Route(b"", "text/html"))
    bad("no-text", "a page with markup but no text: skipped in one line", "no-article",
        Route(b"<!DOCTYPE html><html><head><title></title></head><body><div></div></body></html>"))  # fmt: skip
    js_only = (
        '<!DOCTYPE html><html><head><meta charset="utf-8"><title>أخبار</title>'
        '<script src="/app.js"></script></head><body><div id="root"></div>'
        "<script>document.getElementById('root').innerHTML='<p>روسيا</p>'</script></body></html>"
    )
    bad("javascript-only", "a page whose text only JavaScript would write: skipped in one line", "no-article",
        Route(js_only.encode()))  # fmt: skip

    # ------------------------------------------------------------------------------ size and time
    bad("truncated", "fewer bytes than Content-Length promises: failed in one line", "truncated",
        path="/hp/_fault/partial")  # fmt: skip
    bad("50mb-page", "a 50 MB page: dropped at DOWNLOAD_MAXSIZE in one line", "too large",
        path="/hp/_fault/big?mb=50")  # fmt: skip
    bad("endless-chunked", "a chunked page that never ends: dropped at DOWNLOAD_MAXSIZE in one line", "too large",
        path="/hp/_fault/endless")  # fmt: skip
    bad("slow-drip", "one byte a second, never done: given up at DOWNLOAD_TIMEOUT in one line", "timeout",
        path="/hp/_fault/drip?seconds=1")  # fmt: skip

    # ---------------------------------------------------------------------------------- redirects
    bad("redirect-loop", "a redirect loop: one line, followed around at most once", "redirect loop",
        path="/hp/_fault/redirect-loop")  # fmt: skip
    bad("redirect-to-ftp", "a redirect to ftp://: not followed, one line", "http 302",
        redirect("ftp://127.0.0.1/pub/russia.html", 302))  # fmt: skip
    chain = [f"/hp/2026/chain-{i}.html" for i in range(3)]
    for here, there in zip(chain, chain[1:], strict=False):
        out.routes[here] = redirect(base + there, 301)
    a = next(arts)
    out.articles.append(a)
    out.routes[chain[-1]] = Route(_html(a, fresh, base + chain[-1]).encode())
    listed(
        Case("301-chain", "two 301s, then the article: stored once", base + chain[0], stored=a.title),
        title=a.title,
    )
    long_chain = [f"/hp/2026/long-chain-{i}.html" for i in range(8)]
    for here, there in zip(long_chain, long_chain[1:], strict=False):
        out.routes[here] = redirect(base + there, 301)
    bad("301-chain-too-long", "seven 301s (more than max_redirects): one line", "max redirections reached",
        path=long_chain[0])  # fmt: skip

    # -------------------------------------------------------------------------- rate limits, 5xx
    bad("429-huge-retry-after", "429 asking to wait a day: the wait is capped, then one line", "http 429",
        Route(b"slow down", "text/plain", status=429, headers=(("Retry-After", "86400000"),)))  # fmt: skip
    bad("503-malformed-retry-after", "503 with Retry-After 'soon': the usual backoff, then one line", "http 503",
        Route(b"busy", "text/plain", status=503, headers=(("Retry-After", "soon, maybe"),)))  # fmt: skip
    bad("503-retry-after-far-date", "503 with Retry-After in the year 9999: capped, then one line", "http 503",
        Route(b"busy", "text/plain", status=503, headers=(("Retry-After", "Fri, 31 Dec 9999 23:59:59 GMT"),)))  # fmt: skip
    for n, code in enumerate((500, 502, 503, 504, 500, 502, 503, 504), start=1):
        path = f"/hp/2026/storm-{n}-{code}.html"
        out.routes[path] = Route(b"error", "text/plain", status=code)
        bad(f"5xx-storm-{n}-http-{code}", f"one of eight 5xx answers in a row: one line (http {code})",
            f"http {code}", path=path)  # fmt: skip

    # ------------------------------------------------------------------------------------- dates
    a = next(arts)
    out.articles.append(a)
    path = "/hp/2026/malformed-date-1.html"
    out.routes[path] = Route(_html(a, fresh, base + path).encode())
    items.append((a.title, base + path, BAD_DATE_MARK))  # rewritten below to a date that is no date
    out.cases.append(Case("malformed-date", "a feed date that is no date: the page's own date is used, stored",
                          base + path, stored=a.title))  # fmt: skip
    a = next(arts)
    out.articles.append(a)
    path = "/hp/2026/future-date-1.html"
    out.routes[path] = Route(_html(a, fresh, base + path).encode())
    listed(Case("future-date", "a feed date in 2100: the page's own date is used, stored", base + path,
                stored=a.title), date=now.replace(year=2100), title=a.title)  # fmt: skip

    # ------------------------------------------------------------------------------ odd markup
    one_word = RealArticle("روسيا روسيا روسيا", ("روسيا " * 180_000).strip())  # ~1 MB of one word
    path = "/hp/2026/one-word-megabyte-1.html"
    out.routes[path] = Route(article_html(one_word, fresh, base + path).encode())
    listed(Case("one-word-megabyte", "1 MB of one word: stored once, no hang", base + path,
                stored=one_word.title), title=one_word.title)  # fmt: skip
    a = next(arts)
    out.articles.append(a)
    nested = (
        "<div>" * 20_000 + "".join(f"<p>{html.escape(p)}</p>" for p in a.text.split("\n")) + "</div>" * 20_000
    )
    path = "/hp/2026/nested-divs-1.html"
    out.routes[path] = Route(_html(a, fresh, base + path).replace("<main>", "<main>" + nested).encode())
    out.cases.append(Case("20000-nested-divs", "20,000 nested <div>s: no crash, skipped in one line (the parser "
                          "stops at its depth limit)", base + path, line="no-article"))  # fmt: skip
    items.append((a.title, base + path, fresh))
    script_title = "<script>alert(1)</script>"
    a = good("script-in-title", "<script> in the title: stored as text, escaped wherever shown",
             lambda a, u: _html(a, fresh, u, title=html.escape(script_title) + " " + html.escape(a.title)).encode())  # fmt: skip
    out.cases[-1] = Case(out.cases[-1].id, out.cases[-1].behaviour, out.cases[-1].url,
                         stored=f"{script_title} {a.title}")  # fmt: skip
    bidi = "\u202e\u2066"
    good("bidi-controls", "bidi control characters in the title: stored once, the controls dropped",
         lambda a, u: _html(a, fresh, u, title=bidi + html.escape(a.title)).replace("<p>", "<p>" + bidi, 1).encode())  # fmt: skip

    # ----------------------------------------------------------------------------- URL spellings
    a = next(arts)
    out.articles.append(a)
    dup = "/hp/2026/dup-story-1.html"
    out.routes[dup] = Route(_html(a, fresh, base + dup).encode())
    out.routes["/hp/2026/DUP-Story-1.html"] = Route(_html(a, fresh, base + dup).encode())
    for spelling in (dup, "/hp/2026/DUP-Story-1.html", dup + "?utm_source=twitter", dup + "#comments"):
        items.append((a.title, base + spelling, fresh))
    out.cases.append(Case("duplicate-urls", "one article under four spellings (case, tracking parameter, "
                          "fragment): stored once", base + dup, stored=a.title))  # fmt: skip
    a = next(arts)
    out.articles.append(a)
    arabic = "/hp/2026/روسيا-ومصر-تعاون.html"
    out.routes[arabic] = Route(_html(a, fresh, base + quote(arabic)).encode())
    items += [(a.title, base + arabic, fresh), (a.title, base + quote(arabic), fresh)]
    out.cases.append(Case("arabic-url-raw-and-encoded", "an Arabic URL listed raw and percent-encoded: stored once",
                          base + quote(arabic), stored=a.title))  # fmt: skip
    good("base-href-elsewhere", "<base href> to another host: stored once under its own URL",
         lambda a, u: _html(a, fresh, u, head='<base href="http://elsewhere.invalid/news/">').encode())  # fmt: skip

    # the page feed, one of its dates broken by hand
    feed = rss(items).decode()
    mark = BAD_DATE_MARK.strftime("%a, %d %b %Y %H:%M:%S +0000")
    feed = feed.replace(f"<pubDate>{mark}</pubDate>", "<pubDate>السبت الماضي 34:99</pubDate>")
    out.routes["/hp/feed.xml"] = Route(feed.encode(), "application/rss+xml; charset=utf-8")

    # ------------------------------------------------------------------------ feeds and sitemaps
    out.routes["/hf/feed.xml"] = Route(b"<!DOCTYPE html><html><body><p>not a feed</p></body></html>")
    out.cases.append(Case("feed-is-html", "a feed URL that answers an HTML page: one line", base + "/hf/feed.xml",
                          line="not a feed"))  # fmt: skip
    out.cases.append(Case("feed-entity-bomb", "a feed with a billion-laughs entity: refused in one line",
                          base + "/hb/_fault/entity-bomb.xml", line="Maximum entity amplification"))  # fmt: skip
    out.cases.append(Case("feed-xxe", "a feed with an external entity: the local file is never read",
                          base + "/hb/_fault/xxe.xml"))  # fmt: skip

    out.canary = f"CANARY{random.Random().getrandbits(64):x}"
    canary_file.write_text(out.canary, encoding="utf-8")
    a = next(arts)
    out.articles.append(a)
    xxe_article = "/hx/2026/xxe-neighbour-1.html"
    out.routes[xxe_article] = Route(_html(a, fresh, base + xxe_article).encode())
    xxe_sitemap = (
        news_sitemap([(base + xxe_article, fresh)])
        .decode()
        .replace(
            "<urlset", f'<!DOCTYPE urlset [<!ENTITY canary SYSTEM "{canary_file.as_uri()}">]>\n<urlset', 1
        )
        .replace("<news:name>أخبار</news:name>", "<news:name>&canary;</news:name>", 1)
    )
    out.routes["/hx/sitemap.xml"] = Route(xxe_sitemap.encode(), "application/xml")
    out.cases.append(Case("sitemap-xxe", "a sitemap with an external entity: the local file is never read, "
                          "its article stored", base + xxe_article, stored=a.title))  # fmt: skip

    a = next(arts)
    out.articles.append(a)
    child_article = "/hi/2026/index-child-1.html"
    out.routes[child_article] = Route(_html(a, fresh, base + child_article).encode())
    out.routes["/hi/child.xml"] = Route(news_sitemap([(base + child_article, fresh)]), "application/xml")
    out.routes["/hi/index.xml"] = Route(
        sitemap_index([(base + "/hi/index.xml", fresh), (base + "/hi/child.xml", fresh)]), "application/xml"
    )
    out.cases.append(Case("sitemap-index-points-to-itself", "a sitemap index listing itself: read once, its "
                          "other child's article stored", base + child_article, stored=a.title))  # fmt: skip

    # 200 MB of zeros gzip to about 200 KB: a small download that unzips past DOWNLOAD_MAXSIZE.
    squeezer = zlib.compressobj(9, zlib.DEFLATED, 31)
    zeros = b"\0" * (1 << 20)
    bomb = b"".join(squeezer.compress(zeros) for _ in range(200)) + squeezer.flush()
    out.routes["/hg/sitemap.xml.gz"] = Route(bomb, "application/x-gzip")
    out.cases.append(Case("sitemap-gzip-bomb", "a gzipped sitemap that unzips to 200 MB: refused in one line",
                          base + "/hg/sitemap.xml.gz", line="larger than DOWNLOAD_MAXSIZE once unzipped"))  # fmt: skip

    cap_items = [
        (f"خبر {i}", f"{base}/hc/2026/item-{i}.html", fresh - timedelta(seconds=i)) for i in range(CAP_LINKS)
    ]
    out.routes["/hc/feed.xml"] = Route(rss(cap_items), "application/rss+xml")
    out.cases.append(Case("feed-3000-links", "a feed listing 3,000 links: the newest crawl.max_pages_per_source (500) "
                          "requested, the rest left for the next run, one line", base + "/hc/feed.xml",
                          line="3000 new links, 500 fetched this run, the oldest 2500 wait for the next"))  # fmt: skip

    # ------------------------------------------------------------------------------- robots.txt
    robots = {
        "robots-huge": Route(b"User-agent: *\n" + b"".join(b"Disallow: /private-%d/\n" % i for i in range(150_000)),
                             "text/plain"),
        "robots-binary": Route(bytes(rng.randrange(256) for _ in range(50_000)), "text/plain"),
        "robots-500": Route(b"oops", "text/plain", status=500),
    }  # fmt: skip
    behaviours = {
        "robots-huge": "a robots.txt larger than DOWNLOAD_MAXSIZE: the outlet is still crawled",
        "robots-binary": "a robots.txt of random bytes: the outlet is still crawled",
        "robots-500": "robots.txt answers 500 after the retries: unreachable (RFC 9309), so nothing of the outlet is fetched this run",
    }
    for name, robots_route in robots.items():
        rbase = robots_bases[name]
        a = next(arts)
        out.articles.append(a)
        page = f"/{name}/2026/article-1.html"
        out.robots_routes[name] = {
            "/robots.txt": robots_route,
            page: Route(_html(a, fresh, rbase + page).encode()),
            f"/{name}/feed.xml": Route(rss([(a.title, rbase + page, fresh)]), "application/rss+xml"),
        }
        reachable = name != "robots-500"
        out.cases.append(Case(name, behaviours[name], rbase + page, stored=a.title if reachable else None))

    robots_sources = "".join(
        f"  - {{name: {name}, url: '{rb}/{name}/', feeds: ['{rb}/{name}/feed.xml']}}\n"
        for name, rb in robots_bases.items()
    )
    sources = f"""sources:
  - {{name: hostile-pages, url: '{base}/hp/', feeds: ['{base}/hp/feed.xml']}}
  - {{name: html-feed, url: '{base}/hf/', feeds: ['{base}/hf/feed.xml']}}
  - {{name: hostile-xml, url: '{base}/hb/', feeds: ['{base}/hb/_fault/entity-bomb.xml', '{base}/hb/_fault/xxe.xml']}}
  - {{name: xxe-sitemap, url: '{base}/hx/', sitemaps: ['{base}/hx/sitemap.xml']}}
  - {{name: self-index, url: '{base}/hi/', sitemaps: ['{base}/hi/index.xml']}}
  - {{name: gzip-bomb, url: '{base}/hg/', sitemaps: ['{base}/hg/sitemap.xml.gz']}}
  - {{name: link-flood, url: '{base}/hc/', feeds: ['{base}/hc/feed.xml']}}
{robots_sources}"""
    return out, sources
