"""Small outlets built from real Arabic articles, served by ``SiteServer`` for crawl tests.

Each outlet offers one discovery path (RSS, Atom, autodiscovery, news sitemap index with gzip, section
page) plus the traps a real one has: old items, robots.txt, listings that are not articles, windows-1256
pages with and without a declared charset. ``build_site`` returns the routes, a sources YAML and the
titles that a crawl must store (and those it must not).
"""

from __future__ import annotations

import gzip
import html
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from snapshot.replay import Route

OLD = datetime(2018, 3, 2, 16, 49, tzinfo=UTC)

NAV = """<header><nav class="menu"><ul>
<li><a href="/">الرئيسية</a></li><li><a href="/world/">العالم</a></li><li><a href="/economy/">اقتصاد</a></li>
<li><a href="/sport/">رياضة</a></li><li><a href="/about/">من نحن</a></li></ul></nav></header>"""
FOOTER = """<footer><p>جميع الحقوق محفوظة لموقع الأخبار</p><a href="/privacy/">سياسة الخصوصية</a></footer>"""


@dataclass(frozen=True, slots=True)
class RealArticle:
    title: str
    text: str


def real_articles(shared_data: Path, count: int) -> list[RealArticle]:
    """The first ``count`` articles of the corpus that mention Russia, have a title and a mid-length body."""
    found: list[RealArticle] = []
    with (shared_data / "articles.jsonl").open(encoding="utf-8") as lines:
        for line in lines:
            row = json.loads(line)
            text = row.get("text") or ""
            if row.get("title") and "روسيا" in text and 600 <= len(text) <= 2500 and "\ufffd" not in text:
                try:
                    (row["title"] + text).encode("cp1256")
                except UnicodeEncodeError:
                    continue  # only articles a windows-1256 page can carry, so every outlet can use any
                found.append(RealArticle(row["title"].strip(), text.strip()))
                if len(found) == count:
                    break
    return found


def article_html(article: RealArticle, published: datetime, url: str, charset: str | None = "utf-8") -> str:
    """A news page as outlets lay it out: navigation, headline, date, paragraphs, related links, footer."""
    paragraphs = "\n".join(f"<p>{html.escape(p)}</p>" for p in article.text.split("\n") if p.strip())
    meta = f'<meta charset="{charset}">' if charset else ""
    return f"""<!DOCTYPE html>
<html dir="rtl"><head>{meta}<title>{html.escape(article.title)} - أخبار</title>
<link rel="canonical" href="{url}">
<meta property="article:published_time" content="{published.isoformat()}">
</head><body>{NAV}
<main><article><h1>{html.escape(article.title)}</h1>
<time datetime="{published.isoformat()}">{published:%Y-%m-%d}</time>
<div class="article-body">{paragraphs}</div></article>
<aside><h3>اقرأ أيضا</h3><ul><li><a href="/world/">أخبار العالم</a></li></ul></aside></main>
{FOOTER}</body></html>"""


def rss(items: list[tuple[str, str, datetime]]) -> bytes:
    entries = "".join(
        f"<item><title>{html.escape(t)}</title><link>{html.escape(u)}</link>"
        f"<pubDate>{d.strftime('%a, %d %b %Y %H:%M:%S +0000')}</pubDate></item>"
        for t, u, d in items
    )
    return (
        f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>أخبار</title>{entries}</channel></rss>'
    ).encode()


def atom(items: list[tuple[str, str, datetime]]) -> bytes:
    entries = "".join(
        f'<entry><title>{html.escape(t)}</title><link rel="alternate" href="{html.escape(u)}"/><id>{html.escape(u)}</id>'
        f"<updated>{d.isoformat()}</updated></entry>"
        for t, u, d in items
    )
    return (
        f'<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom"><title>أخبار</title>{entries}</feed>'
    ).encode()


def news_sitemap(items: list[tuple[str, datetime]]) -> bytes:
    urls = "".join(
        f"<url><loc>{html.escape(u)}</loc><news:news><news:publication><news:name>أخبار</news:name><news:language>ar</news:language>"
        f"</news:publication><news:publication_date>{d.isoformat()}</news:publication_date></news:news></url>"
        for u, d in items
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" '
        f'xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">{urls}</urlset>'
    ).encode()


def sitemap_index(items: list[tuple[str, datetime]]) -> bytes:
    maps = "".join(f"<sitemap><loc>{u}</loc><lastmod>{d.isoformat()}</lastmod></sitemap>" for u, d in items)
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{maps}</sitemapindex>'
    ).encode()


@dataclass
class Site:
    """Routes to serve, the sources YAML for them, and what a crawl must and must not store or fetch."""

    routes: dict[str, Route] = field(default_factory=dict)
    expected: dict[str, set[str]] = field(default_factory=dict)  # source -> titles that must be stored
    not_stored: set[str] = field(default_factory=set)  # titles that must not be stored
    not_fetched: set[str] = field(default_factory=set)  # paths that must never be requested

    def page(self, path: str, body: bytes, content_type: str | None = "text/html; charset=utf-8") -> None:
        self.routes[path] = Route(body, content_type)


def build_site(shared_data: Path, base: str) -> tuple[Site, str]:
    """The test site's routes and its sources YAML, for a server at ``base`` (no trailing slash)."""
    arts = real_articles(shared_data, 16)
    now = datetime.now(UTC).replace(microsecond=0)
    fresh = now - timedelta(hours=20)
    site = Site()

    def article(source: str, path: str, a: RealArticle, when: datetime = fresh) -> str:
        url = base + path
        site.page(path, article_html(a, when, url).encode())
        site.expected.setdefault(source, set()).add(a.title)
        return url

    # RSS: two fresh items, one old item (never fetched), a 404 and a page with no article.
    rss_items = [
        (arts[0].title, article("rss-outlet", "/rss/world/2026/russia-egypt-101.html", arts[0]), fresh),
        (arts[1].title, article("rss-outlet", "/rss/world/2026/russia-india-102.html", arts[1]), fresh),
        (arts[2].title, base + "/rss/world/2018/old-item-103.html", OLD),
        ("خبر محذوف", base + "/rss/_fault/status/404", fresh),
        ("صفحة بلا خبر", base + "/rss/_fault/no-article.html", fresh),
        ("صفحة ضخمة", base + "/rss/_fault/big?mb=50", fresh),
        ("خادم مشغول", base + "/rss/_fault/status/503", fresh),
        ("تحويل بلا نهاية", base + "/rss/_fault/redirect-loop", fresh),
    ]
    site.page("/rss/world/2018/old-item-103.html", article_html(arts[2], OLD, base + "/rss/old").encode())
    site.not_fetched.add("/rss/world/2018/old-item-103.html")
    site.not_stored.add(arts[2].title)
    site.page("/rss/feed.xml", rss(rss_items), "application/rss+xml; charset=utf-8")

    # Atom: two fresh entries and one whose feed date is fresh but whose page says 2018 (too old).
    stale = "/atom/2026/11/stale-page-203.html"
    site.page(stale, article_html(arts[5], OLD, base + stale).encode())
    site.not_stored.add(arts[5].title)
    atom_items = [
        (arts[3].title, article("atom-outlet", "/atom/2026/11/china-russia-201.html", arts[3]), fresh),
        (arts[4].title, article("atom-outlet", "/atom/2026/11/russia-iran-202.html", arts[4]), fresh),
        (arts[5].title, base + stale, fresh),
    ]
    site.page("/atom/feed.atom", atom(atom_items), "application/atom+xml; charset=utf-8")

    # Autodiscovery: a home page whose only way in is <link rel="alternate">.
    auto_url = article("auto-outlet", "/auto/news/2026/russia-turkey-301.html", arts[6])
    site.page("/auto/feed.xml", rss([(arts[6].title, auto_url, fresh)]), "application/rss+xml")
    site.page(
        "/auto/",
        f"""<!DOCTYPE html><html><head><meta charset="utf-8"><title>أخبار</title>
<link rel="alternate" type="application/rss+xml" title="RSS" href="{base}/auto/feed.xml"></head>
<body>{NAV}<p>مرحبا</p>{FOOTER}</body></html>""".encode(),
    )

    # News sitemaps: an index pointing at a gzipped fresh sitemap and at an old one (never fetched).
    sm = [article("sitemap-outlet", f"/sm/2026/11/russia-partner-40{i}.html", arts[7 + i]) for i in range(2)]
    site.routes["/sm/news.xml.gz"] = Route(
        gzip.compress(news_sitemap([(u, fresh) for u in sm])), "application/x-gzip"
    )
    site.page("/sm/old.xml", news_sitemap([(base + "/sm/2018/old-409.html", OLD)]), "application/xml")
    site.not_fetched.update({"/sm/old.xml", "/sm/2018/old-409.html"})
    site.page(
        "/sm/sitemap_index.xml",
        sitemap_index([(base + "/sm/news.xml.gz", fresh), (base + "/sm/old.xml", OLD)]),
        "application/xml",
    )

    # Section page: two articles, listings that are not articles, a denied path and one robots.txt forbids.
    sec = [
        article("section-outlet", f"/sec/{fresh:%Y/%m/%d}/russia-cooperation-50{i}.html", arts[9 + i])
        for i in range(2)
    ]
    private = "/sec/private/2026/russia-secret-509.html"
    denied = "/sec/video/2026/russia-clip-508.html"
    for path, a in ((private, arts[11]), (denied, arts[12])):
        site.page(path, article_html(a, fresh, base + path).encode())
        site.not_fetched.add(path)
        site.not_stored.add(a.title)
    links = "".join(
        f'<li><a href="{href}">{text}</a></li>'
        for href, text in [
            (sec[0], arts[9].title), (sec[1].removeprefix(base), arts[10].title),
            (private, arts[11].title), (denied, arts[12].title),
            ("/sec/tag/russia/", "روسيا"), ("/sec/author/desk/", "المحرر"), ("/sec/world/", "العالم"),
            ("https://example.org/2026/11/other-site-article-1.html", "موقع آخر"), ("/sec/logo.png", "شعار"),
        ]
    )  # fmt: skip
    site.page(
        "/sec/world/",
        f'<html><head><meta charset="utf-8"></head><body>{NAV}<ul>{links}</ul>{FOOTER}</body></html>'.encode(),
    )
    for path in ("/sec/tag/russia/", "/sec/author/desk/"):
        site.not_fetched.add(path)
    site.routes["/robots.txt"] = Route(b"User-agent: *\nDisallow: /sec/private/\n", "text/plain")

    # windows-1256: declared in <meta> only, declared nowhere, and mis-declared as UTF-8 in the header.
    cp_items = []
    for i, (charset_meta, content_type) in enumerate(
        [("windows-1256", "text/html"), (None, "text/html"), (None, "text/html; charset=utf-8")]
    ):
        a = arts[13 + i]
        path = f"/cp/2026/11/russia-arab-60{i}.html"
        body = article_html(a, fresh, base + path, charset=charset_meta).encode("cp1256")
        site.routes[path] = Route(body, content_type)
        site.expected.setdefault("cp1256-outlet", set()).add(a.title)
        cp_items.append((a.title, base + path, fresh))
    site.page("/cp/feed.xml", rss(cp_items), "application/rss+xml")

    sources = f"""sources:
  - name: rss-outlet
    url: {base}/rss/
    feeds: [{base}/rss/feed.xml]
  - name: atom-outlet
    url: {base}/atom/
    feeds: [{base}/atom/feed.atom]
  - name: auto-outlet
    url: {base}/auto/
  - name: sitemap-outlet
    url: {base}/sm/
    sitemaps: [{base}/sm/sitemap_index.xml]
  - name: section-outlet
    url: {base}/sec/
    sections: [{base}/sec/world/]
    deny: ['/video/']
  - name: cp1256-outlet
    url: {base}/cp/
    feeds: [{base}/cp/feed.xml]
  - name: broken-feed
    url: {base}/broken/
    feeds: [{base}/broken/_fault/malformed-feed.xml]
  - name: hostile-feed
    url: {base}/hostile/
    feeds: [{base}/hostile/_fault/entity-bomb.xml, {base}/hostile/_fault/xxe.xml]
  - name: refusing
    url: http://127.0.0.1:9/
    feeds: [http://127.0.0.1:9/feed.xml]
"""
    return site, sources
