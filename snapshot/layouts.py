"""How the offline snapshot looks on the wire: every page, feed and sitemap of its outlets, rendered to bytes.

Three article layouts (``snapshot/templates/*.html.j2``) imitate the markup families of Arabic news sites:
``portal`` (a modern portal with JSON-LD, a share bar, a "read also" box inside the body and a "most read"
list), ``paper`` (an older newspaper site of tables, the date only in the visible text) and ``agency`` (a
news agency's plain story page). Every article page carries navigation, breadcrumbs, an h1, a byline, a
date, related links with other articles' titles and a footer, so an extractor has to find the body among
boilerplate. Real saved pages are served as their original bytes.
"""

from __future__ import annotations

import email.utils
import gzip
import json
import re
import zlib
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

from jinja2 import Environment, FileSystemLoader, select_autoescape

from snapshot.replay import Route

if TYPE_CHECKING:
    from snapshot.build import Outlet, Snapshot, SnapshotArticle

TEMPLATES = Path(__file__).resolve().parent / "templates"
ARABIC_MONTHS = (
    "يناير", "فبراير", "مارس", "أبريل", "مايو", "يونيو",
    "يوليو", "أغسطس", "سبتمبر", "أكتوبر", "نوفمبر", "ديسمبر",
)  # fmt: skip
ARABIC_WEEKDAYS = ("الاثنين", "الثلاثاء", "الأربعاء", "الخميس", "الجمعة", "السبت", "الأحد")
FEED_LIMIT = 100  # newest items in a main feed, as outlets do; category feeds are added past this
SITEMAP_PAGE = 15  # URLs per gzipped news sitemap: small, so the default snapshot already has several
SECTION_PAGE = 20  # article links per section page
HOME_ITEMS = 30
_TRACKING = "utm_source=rss&utm_medium=feed&utm_campaign=main"
_ENV = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(enabled_extensions=("html.j2", "xml.j2"), default=True),
    keep_trailing_newline=True,
)
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")  # a few corpus texts carry \x1a
_CONTENT_TYPES = {"rss": "application/rss+xml", "atom": "application/atom+xml"}


def human_date(moment: datetime) -> str:
    """The date as Arabic outlets print it: ``الجمعة 02 مارس 2018 - 16:49``."""
    weekday = ARABIC_WEEKDAYS[moment.weekday()]
    return f"{weekday} {moment.day:02d} {ARABIC_MONTHS[moment.month - 1]} {moment.year} - {moment:%H:%M}"


def amp_path(path: str) -> str:
    """The AMP twin of an article path: ``/<outlet>/amp/<rest>``."""
    outlet, _, rest = path.lstrip("/").partition("/")
    return f"/{outlet}/amp/{rest}"


def tracking_path(path: str) -> str:
    return f"{path}?{_TRACKING}"


def feed_path(outlet: Outlet, section: str | None = None) -> str:
    kind = "atom" if outlet.entry == "atom" else "rss"
    return f"/{outlet.name}/{kind}.xml" if section is None else f"/{outlet.name}/{kind}/{section}.xml"


def entry_points(
    snapshot: Snapshot, outlet: Outlet, base: str
) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    """(feeds, sitemaps, sections, allow) a crawler is given for the outlet; autodiscovery gets none."""
    public = _public(snapshot, outlet.name)
    if outlet.entry in ("rss", "atom", "page"):
        return tuple(base + p for p in _feed_paths(outlet, public)), (), (), ()
    if outlet.entry == "sitemap":
        return (), (f"{base}/{outlet.name}/sitemap-index.xml",), (), ()
    if outlet.entry == "sections":
        pages = [
            base + p
            for slug, items in _by_section(public).items()
            for p in _section_pages(outlet, slug, items)
        ]
        return (), (), tuple(pages), (rf"/{outlet.name}/(private/)?ar/article/",)
    return (), (), (), ()


def build_routes(snapshot: Snapshot, base: str) -> dict[str, Route]:
    """Every route of the snapshot, keyed as ``snapshot.replay.route_key`` looks them up."""
    routes: dict[str, Route] = {
        "/robots.txt": Route(_robots(snapshot, base).encode(), "text/plain; charset=utf-8"),
        "/": _listing_route(None, "المواقع", [
            {"href": f"{base}/{o.name}/", "title": o.title} for o in snapshot.outlets], base),
    }  # fmt: skip
    for outlet in snapshot.outlets:
        if outlet.entry == "page":
            routes.update(_real_outlet(snapshot, outlet, base))
        else:
            routes.update(_rendered_outlet(snapshot, outlet, base))
    return routes


# --------------------------------------------------------------------------------------------- rendered outlets


def _public(snapshot: Snapshot, name: str) -> list[SnapshotArticle]:
    return [a for a in snapshot.articles_of(name) if not a.is_private]


def _by_section(articles: list[SnapshotArticle]) -> dict[str, list[SnapshotArticle]]:
    groups: dict[str, list[SnapshotArticle]] = defaultdict(list)
    for article in articles:
        groups[article.section].append(article)
    return dict(sorted(groups.items()))


def _feed_paths(outlet: Outlet, public: list[SnapshotArticle]) -> list[str]:
    paths = [feed_path(outlet)]
    if len(public) > FEED_LIMIT:  # benchmarks: category feeds keep every article discoverable
        paths += [feed_path(outlet, slug) for slug in _by_section(public)]
    return paths


def _section_pages(outlet: Outlet, slug: str, items: list[SnapshotArticle]) -> list[str]:
    count = max(1, -(-len(items) // SECTION_PAGE))
    first = f"/{outlet.name}/section/{slug}/"
    return [first] + [f"{first}?page={n}" for n in range(2, count + 1)]


def _encoded(outlet: Outlet, text: str) -> tuple[bytes, str | None]:
    """The page's bytes in the outlet's charset and the Content-Type it is served with.

    Characters the legacy charset lacks (« », Persian letters) become numeric character references,
    so the Arabic text survives in every encoding.
    """
    body = text.encode(outlet.charset, errors="xmlcharrefreplace")
    if outlet.declared in ("both", "header"):
        return body, f"text/html; charset={outlet.charset}"
    if outlet.declared == "wrong":
        return body, "text/html; charset=utf-8"
    return body, "text/html"


def _meta_charset(outlet: Outlet) -> str | None:
    return {"both": outlet.charset, "meta": outlet.charset, "wrong": "utf-8"}.get(outlet.declared)


def _common(outlet: Outlet, base: str, public: list[SnapshotArticle]) -> dict[str, object]:
    home = f"{base}/{outlet.name}/"
    sections = _by_section(public)
    return {
        "home": home,
        "outlet_title": outlet.title,
        "meta_charset": _meta_charset(outlet),
        "nav": [
            {"href": f"{home}section/{slug}/", "label": items[0].section_label}
            for slug, items in sections.items()
        ],
        "today": human_date(public[0].published) if public else "",
        "year": public[0].published.year if public else 2018,
        "feeds": [],
    }


def _link(article: SnapshotArticle, base: str) -> dict[str, str]:
    return {"href": article.url(base), "title": article.title, "date": f"{article.published:%Y-%m-%d}"}


def _rendered_outlet(snapshot: Snapshot, outlet: Outlet, base: str) -> dict[str, Route]:
    routes: dict[str, Route] = {}
    public = _public(snapshot, outlet.name)
    common = _common(outlet, base, public)
    if outlet.entry in ("rss", "atom", "autodiscovery"):
        common["feeds"] = [
            {"type": _CONTENT_TYPES["atom" if outlet.entry == "atom" else "rss"], "title": outlet.title,
             "href": base + p} for p in _feed_paths(outlet, public)
        ]  # fmt: skip
    everything = snapshot.articles_of(outlet.name)
    for index, article in enumerate(everything):
        others = [a for a in public if a.path != article.path] or public
        values = _article_values(outlet, article, base, common, others, index)
        body, content_type = _encoded(outlet, _ENV.get_template(f"{outlet.layout}.html.j2").render(**values))
        routes[article.path] = Route(body, content_type)
        if article.path == snapshot.tracked_path:
            amp = dict(values, amp=True, amphtml=None, feeds=[])
            body, content_type = _encoded(outlet, _ENV.get_template("amp.html.j2").render(**amp))
            routes[amp_path(article.path)] = Route(body, content_type)
            routes[tracking_path(article.path)] = routes[article.path]
    routes.update(_listings(snapshot, outlet, base, common, public))
    routes.update(_feeds(snapshot, outlet, base, public))
    return routes


def _article_values(
    outlet: Outlet, article: SnapshotArticle, base: str, common: dict[str, object],
    others: list[SnapshotArticle], index: int,
) -> dict[str, object]:  # fmt: skip
    seed = zlib.crc32(article.path.encode())
    related = [_link(others[(index + k) % len(others)], base) for k in range(1, 5)]
    most_read = [_link(others[(seed // (k + 1)) % len(others)], base) for k in range(5)]
    url = article.url(base)
    json_ld = json.dumps({
        "@context": "https://schema.org", "@type": "NewsArticle", "headline": article.title,
        "datePublished": article.published.isoformat(), "author": {"@type": "Person", "name": article.author},
        "publisher": {"@type": "Organization", "name": outlet.title}, "mainEntityOfPage": url,
    }, ensure_ascii=False).replace("</", "<\\/")  # fmt: skip
    return dict(
        common,
        page_title=f"{article.title} | {outlet.title}",
        canonical=article.original_url or url,
        amphtml=None,
        amp=False,
        title=article.title,
        paragraphs=article.paragraphs,
        author=article.author,
        published_iso=article.published.isoformat(),
        published_human=human_date(article.published),
        section_label=article.section_label,
        section_href=f"{common['home']}section/{article.section}/",
        description=article.paragraphs[0][:160] if article.paragraphs else article.title,
        related=related,
        most_read=most_read,
        read_also=_link(others[(index + 7) % len(others)], base),
        breaking=_link(others[0], base),
        tags=[{"href": f"{common['home']}tag/{article.section}/", "label": article.section_label}],
        image=seed % 1000,
        json_ld=json_ld,
        dateline=article.author.split(" - ")[0],
    )


def _listing_route(outlet: Outlet | None, heading: str, items: list[dict[str, object]], base: str,
                   common: dict[str, object] | None = None, **extra: object) -> Route:  # fmt: skip
    values: dict[str, object] = dict(common or {"home": f"{base}/", "outlet_title": "راصد", "nav": [], "feeds": [],
                                                "meta_charset": "utf-8", "year": 2018, "today": ""})  # fmt: skip
    values.update(page_title=heading, heading=heading, items=items, canonical=None, amphtml=None, amp=False)
    values.update(extra)
    text = _ENV.get_template("listing.html.j2").render(**values)
    if outlet is None:
        return Route(text.encode())
    body, content_type = _encoded(outlet, text)
    return Route(body, content_type)


def _item(
    article: SnapshotArticle, base: str, outlet: Outlet, with_people: bool = False
) -> dict[str, object]:
    home = f"{base}/{outlet.name}/"
    author_number = outlet.authors.index(article.author) + 1 if article.author in outlet.authors else 1
    item: dict[str, object] = {
        "href": article.url(base),
        "title": article.title,
        "date": human_date(article.published),
        "summary": (article.paragraphs[0][:200] + "…") if article.paragraphs else "",
    }
    if with_people:
        item.update(author=article.author, author_href=f"{home}author/{author_number}/",
                    tag=article.section_label, tag_href=f"{home}tag/{article.section}/")  # fmt: skip
    return item


def _listings(snapshot: Snapshot, outlet: Outlet, base: str, common: dict[str, object],
              public: list[SnapshotArticle]) -> dict[str, Route]:  # fmt: skip
    """Home, section (paginated), tag, author and about pages."""
    name = outlet.name
    people = outlet.entry == "sections"
    routes = {
        f"/{name}/": _listing_route(
            outlet, outlet.title, [_item(a, base, outlet, people) for a in public[:HOME_ITEMS]], base, common
        )
    }
    private = [a for a in snapshot.articles_of(name) if a.is_private]
    for slug, items in _by_section(public).items():
        pages = _section_pages(outlet, slug, items)
        for number, path in enumerate(pages, start=1):
            chunk = items[(number - 1) * SECTION_PAGE : number * SECTION_PAGE]
            listed = [_item(a, base, outlet, people) for a in chunk]
            if number == 1 and private and people and slug == next(iter(_by_section(public))):
                listed.insert(1, _item(private[0], base, outlet, people))  # a link robots.txt forbids
            routes[path] = _listing_route(
                outlet, items[0].section_label, listed, base, common,
                pages=[{"href": base + p, "label": str(n)} for n, p in enumerate(pages, start=1)] if len(pages) > 1 else [],
                prev_href=base + pages[number - 2] if number > 1 else None,
                next_href=base + pages[number] if number < len(pages) else None,
            )  # fmt: skip
        routes[f"/{name}/tag/{slug}/"] = _listing_route(
            outlet, f"وسم: {items[0].section_label}", [_item(a, base, outlet, people) for a in items[:SECTION_PAGE]],
            base, common)  # fmt: skip
    for number, author in enumerate(outlet.authors, start=1):
        written = [a for a in public if a.author == author][:SECTION_PAGE]
        routes[f"/{name}/author/{number}/"] = _listing_route(
            outlet, f"مقالات {author}", [_item(a, base, outlet, people) for a in written], base, common,
            intro=f"صفحة الكاتب {author} في {outlet.title}.")  # fmt: skip
    for slug, heading in (("about", "من نحن"), ("contact", "اتصل بنا"), ("privacy", "سياسة الخصوصية"),
                          ("newsletter", "النشرة البريدية")):  # fmt: skip
        routes[f"/{name}/{slug}/"] = _listing_route(
            outlet, heading, [], base, common,
            intro=f"{outlet.title} موقع إخباري يقدم آخر الأخبار المحلية والعربية والدولية على مدار الساعة.")  # fmt: skip
    return routes


def _feed_item(article: SnapshotArticle, base: str, href: str | None = None) -> dict[str, object]:
    """One feed or sitemap entry; characters XML forbids are dropped (HTML pages keep them)."""
    summary = article.paragraphs[0][:300] if article.paragraphs else article.title
    return {
        "href": href or article.url(base), "title": _XML_INVALID.sub("", article.title), "author": article.author,
        "rfc822": email.utils.format_datetime(article.published), "iso": article.published.isoformat(),
        "section": article.section_label, "summary": _XML_INVALID.sub("", summary),
    }  # fmt: skip


def _feeds(snapshot: Snapshot, outlet: Outlet, base: str, public: list[SnapshotArticle]) -> dict[str, Route]:
    routes: dict[str, Route] = {}
    name = outlet.name
    if outlet.entry == "sitemap":
        return _sitemaps(outlet, base, public)
    if outlet.entry not in ("rss", "atom", "autodiscovery"):
        return routes
    main = [_feed_item(a, base) for a in public[:FEED_LIMIT]]
    tracked = next((a for a in public if a.path == snapshot.tracked_path), None)
    if tracked is not None:  # the same article again, with tracking parameters and as AMP
        main.insert(1, _feed_item(tracked, base, base + quote(tracked.path, safe="/-._~") + "?" + _TRACKING))
        main.insert(2, _feed_item(tracked, base, base + quote(amp_path(tracked.path), safe="/-._~")))
    for article in snapshot.articles_of(name):
        if article.is_private:
            main.insert(3, _feed_item(article, base))  # listed, but robots.txt forbids fetching it
    for fault in snapshot.fault_paths:
        if fault.startswith(f"/{name}/"):
            main.insert(4, {"href": base + fault, "title": "خبر غير متاح", "rfc822": main[0]["rfc822"],
                            "iso": main[0]["iso"], "section": "", "author": "", "summary": ""})  # fmt: skip
    lists = {feed_path(outlet): main}
    if len(public) > FEED_LIMIT:
        lists.update({feed_path(outlet, slug): [_feed_item(a, base) for a in items]
                      for slug, items in _by_section(public).items()})  # fmt: skip
    for path, items in lists.items():
        values = {"title": outlet.title, "link": f"{base}/{name}/", "self_href": base + path, "items": items,
                  "description": f"آخر أخبار {outlet.title}", "updated": items[0]["iso"] if items else "",
                  "encoding": "utf-8"}  # fmt: skip
        if outlet.entry == "atom":
            routes[path] = Route(_ENV.get_template("atom.xml.j2").render(**values).encode(),
                                 "application/atom+xml; charset=utf-8")  # fmt: skip
        elif (
            outlet.declared == "header"
        ):  # an old CMS: the feed itself is windows-1256, declared in the prolog
            values["encoding"] = outlet.charset
            text = _ENV.get_template("rss.xml.j2").render(**values)
            routes[path] = Route(
                text.encode(outlet.charset, errors="xmlcharrefreplace"), "application/rss+xml"
            )
        else:
            routes[path] = Route(_ENV.get_template("rss.xml.j2").render(**values).encode(),
                                 "application/rss+xml; charset=utf-8")  # fmt: skip
    return routes


def _sitemaps(outlet: Outlet, base: str, public: list[SnapshotArticle]) -> dict[str, Route]:
    """A news sitemap index pointing at gzipped news sitemaps of ``SITEMAP_PAGE`` URLs each."""
    routes: dict[str, Route] = {}
    entries = []
    for number, start in enumerate(range(0, max(1, len(public)), SITEMAP_PAGE), start=1):
        chunk = public[start : start + SITEMAP_PAGE]
        path = f"/{outlet.name}/sitemaps/news-{number}.xml.gz"
        xml = _ENV.get_template("news_sitemap.xml.j2").render(
            items=[_feed_item(a, base) for a in chunk], publication=outlet.title
        )
        # mtime=0 keeps the gzip bytes identical from build to build
        routes[path] = Route(gzip.compress(xml.encode(), mtime=0), "application/x-gzip")
        lastmod = chunk[0].published.isoformat() if chunk else datetime(2018, 1, 1, tzinfo=UTC).isoformat()
        entries.append({"href": base + path, "lastmod": lastmod})
    index = _ENV.get_template("sitemap_index.xml.j2").render(sitemaps=entries)
    routes[f"/{outlet.name}/sitemap-index.xml"] = Route(index.encode(), "application/xml; charset=utf-8")
    return routes


def _robots(snapshot: Snapshot, base: str) -> str:
    lines = ["User-agent: *", "Disallow: /*/private/", "Disallow: /*/search/", ""]
    lines += [f"Sitemap: {base}/{o.name}/sitemap-index.xml" for o in snapshot.outlets if o.entry == "sitemap"]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------------------------- real pages


def _real_outlet(snapshot: Snapshot, outlet: Outlet, base: str) -> dict[str, Route]:
    """A real saved page at its original path, as its original bytes, with a home page and a one-item feed."""
    routes: dict[str, Route] = {}
    pages = snapshot.articles_of(outlet.name)
    for page in pages:
        assert page.real_file is not None
        body = (snapshot.data_dir / "pages" / page.real_file).read_bytes()
        routes[page.path] = Route(body, f"text/html; charset={page.charset}")
    common = {"home": f"{base}/{outlet.name}/", "outlet_title": outlet.title, "meta_charset": "utf-8", "nav": [],
              "year": 2020, "today": "", "feeds": [{"type": "application/rss+xml", "title": outlet.title,
                                                    "href": base + feed_path(outlet)}]}  # fmt: skip
    routes[f"/{outlet.name}/"] = _listing_route(
        None, outlet.title, [_item(p, base, outlet) for p in pages], base, common
    )
    values = {"title": outlet.title, "link": f"{base}/{outlet.name}/", "self_href": base + feed_path(outlet),
              "items": [_feed_item(p, base) for p in pages], "description": outlet.title, "encoding": "utf-8"}  # fmt: skip
    routes[feed_path(outlet)] = Route(_ENV.get_template("rss.xml.j2").render(**values).encode(),
                                      "application/rss+xml; charset=utf-8")  # fmt: skip
    return routes
