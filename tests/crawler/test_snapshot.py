"""The offline snapshot's site model: what it holds, how it is entered, and that it is deterministic."""

from __future__ import annotations

import gzip
import html
import json
import re
from collections import Counter
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from lxml import etree

from config.sources import load_sources
from snapshot.build import RUSSIA, Snapshot, build_snapshot
from snapshot.layouts import amp_path

BASE = "http://127.0.0.1:9"


@pytest.fixture(scope="module")
def snapshot(shared_data: Path) -> Snapshot:
    return build_snapshot(shared_data)


@pytest.fixture(scope="module")
def routes(snapshot: Snapshot) -> dict:
    return snapshot.routes(BASE)


def _dev(shared_data: Path) -> list[dict]:
    with (shared_data / "labelled" / "dev.jsonl").open(encoding="utf-8") as lines:
        return [json.loads(line) for line in lines]


def _key(url: str) -> str:
    parts = urlsplit(url)
    assert url.startswith(BASE), url
    return unquote(parts.path) + (f"?{parts.query}" if parts.query else "")


def _xml_links(body: bytes) -> list[str]:
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    root = etree.fromstring(body, parser)
    links = [e.text for e in root.iter("{*}link", "link", "{*}loc") if e.text and e.text.startswith(BASE)]
    links += [
        e.get("href") for e in root.iter("{http://www.w3.org/2005/Atom}link") if e.get("rel") == "alternate"
    ]
    return [link for link in links if link]


def _html_links(body: bytes) -> list[str]:
    return [html.unescape(h.decode("ascii", "replace")) for h in re.findall(rb'href="([^"]+)"', body)]


def _discovered(snapshot: Snapshot, routes: dict) -> set[str]:
    """Route keys of article pages reachable from each outlet's entry points, as its Source gives them."""
    found: set[str] = set()
    for source in snapshot.sources(BASE):
        feeds = list(source.feeds)
        if not (source.feeds or source.sitemaps or source.sections):  # autodiscovery from the home page
            home = routes[_key(source.url)].body
            feeds = [
                html.unescape(h.decode())
                for h in re.findall(rb'<link rel="alternate"[^>]*href="([^"]+)"', home)
            ]
        for feed in feeds:
            found.update(_key(link) for link in _xml_links(routes[_key(feed)].body))
        for index in source.sitemaps:
            for sitemap in _xml_links(routes[_key(index)].body):
                found.update(_key(link) for link in _xml_links(gzip.decompress(routes[_key(sitemap)].body)))
        for section in source.sections:
            links = [_key(link) for link in _html_links(routes[_key(section)].body) if link.startswith(BASE)]
            found.update(k for k in links if any(re.search(p, k) for p in source.allow))
    return found


def test_default_snapshot_holds_every_dev_hit(snapshot: Snapshot, shared_data: Path) -> None:
    hits = {row["id"] for row in _dev(shared_data) if row["label"] is True}
    served = {a.pool_id for a in snapshot.articles if a.is_dev_hit}
    assert len(hits) >= 40
    assert served == hits


def test_default_snapshot_holds_the_five_examples_flagged(snapshot: Snapshot, shared_data: Path) -> None:
    examples = [a for a in snapshot.articles if a.is_example]
    assert sorted(a.example for a in examples) == sorted(
        p.name for p in (shared_data.parent / "examples").glob("*.txt")
    )
    first = (
        (shared_data.parent / "examples" / "004_f2905e471d354b84.txt")
        .read_text(encoding="utf-8")
        .splitlines()
    )
    defence = next(a for a in examples if a.example == "004_f2905e471d354b84.txt")
    assert defence.title == first[0].strip()  # "مذكرة تفاهم لتعزيز التعاون الدفاعي بين الإمارات وروسيا"
    assert defence.paragraphs[0] == first[1].strip()
    assert {a.outlet for a in examples} == {"rtarabic", "wam"}


def test_default_snapshot_is_a_few_hundred_articles_mostly_not_about_russia(snapshot: Snapshot) -> None:
    pool = [a for a in snapshot.articles if a.pool_id and not a.is_private]
    about_russia = [a for a in pool if RUSSIA.search(a.title + a.text)]
    assert 290 <= len(pool) <= 310
    assert len(about_russia) < 0.45 * len(pool)
    assert sum(a.is_hard_negative for a in pool) >= 20


def test_articles_spread_over_about_ten_outlets_and_the_real_page_sites(snapshot: Snapshot) -> None:
    per_outlet = Counter(a.outlet for a in snapshot.articles if not a.is_real_page)
    assert 10 <= len(per_outlet) <= 16
    assert min(per_outlet.values()) >= 8
    assert len({a.outlet for a in snapshot.articles if a.is_real_page}) == 11


def test_same_seed_gives_the_same_routes_byte_for_byte(shared_data: Path, routes: dict) -> None:
    again = build_snapshot(shared_data).routes(BASE)
    assert again.keys() == routes.keys()
    assert all(again[k] == routes[k] for k in routes)


def test_another_seed_picks_other_articles(shared_data: Path, snapshot: Snapshot) -> None:
    other = build_snapshot(shared_data, seed=8)
    assert {a.pool_id for a in other.articles} != {a.pool_id for a in snapshot.articles}


def test_sources_yaml_loads_and_offers_each_discovery_path(snapshot: Snapshot, tmp_path: Path) -> None:
    path = tmp_path / "sources.yaml"
    snapshot.write_sources_yaml(path, BASE)
    sources = {s.name: s for s in load_sources(path)}
    assert set(sources) == {o.name for o in snapshot.outlets}
    assert sources["skynews"].feeds == (f"{BASE}/skynews/rss.xml",)
    assert sources["alarabiya"].feeds == (f"{BASE}/alarabiya/atom.xml",)
    assert sources["cnn"].feeds == sources["cnn"].sitemaps == sources["cnn"].sections == ()
    assert (
        sources["france24"].sitemaps == (f"{BASE}/france24/sitemap-index.xml",)
        and not sources["france24"].feeds
    )
    assert sources["jawharafm"].sections and not sources["jawharafm"].feeds and sources["jawharafm"].allow


def test_every_public_article_is_discoverable_from_its_outlets_entry_points(
    snapshot: Snapshot, routes: dict
) -> None:
    public = {a.path for a in snapshot.articles if not a.is_private}
    assert public - _discovered(snapshot, routes) == set()


def test_a_3000_article_snapshot_is_still_fully_discoverable(shared_data: Path) -> None:
    big = build_snapshot(shared_data, size=3000)
    routes = big.routes(BASE)
    public = {a.path for a in big.articles if not a.is_private}
    assert len(public) > 2900
    assert public - _discovered(big, routes) == set()


def test_home_page_of_the_autodiscovery_outlet_links_its_feed(routes: dict) -> None:
    home = routes["/cnn/"].body.decode()
    assert (
        f'<link rel="alternate" type="application/rss+xml" title="سي إن إن بالعربية" href="{BASE}/cnn/rss.xml">'
        in home
    )
    assert routes["/cnn/rss.xml"].content_type == "application/rss+xml; charset=utf-8"


def test_sitemap_index_points_to_several_gzipped_news_sitemaps_with_dates(routes: dict) -> None:
    sitemaps = _xml_links(routes["/france24/sitemap-index.xml"].body)
    assert len(sitemaps) >= 2 and all(s.endswith(".xml.gz") for s in sitemaps)
    first = gzip.decompress(routes[_key(sitemaps[0])].body)
    assert b"<news:publication_date>2018-" in first and b"<lastmod>2018-" in first


def test_section_pages_link_articles_and_non_articles(routes: dict, snapshot: Snapshot) -> None:
    source = next(s for s in snapshot.sources(BASE) if s.name == "jawharafm")
    links = [
        _key(link) for link in _html_links(routes[_key(source.sections[0])].body) if link.startswith(BASE)
    ]
    articles = [k for k in links if re.search(source.allow[0], k)]
    assert articles and all(k in routes for k in articles)
    for kind in ("/jawharafm/tag/", "/jawharafm/author/", "/jawharafm/about/"):
        listed = [k for k in links if k.startswith(kind)]
        assert listed and all(k in routes for k in listed), kind


def test_private_articles_are_linked_but_disallowed_by_robots(routes: dict, snapshot: Snapshot) -> None:
    private = [a for a in snapshot.articles if a.is_private]
    assert {a.outlet for a in private} == {"skynews", "jawharafm"}
    assert all("/private/" in a.path and a.path in routes for a in private)
    assert "Disallow: /*/private/" in routes["/robots.txt"].body.decode()
    assert private[1].path in _discovered(snapshot, routes) or private[0].path in _discovered(
        snapshot, routes
    )


def test_windows_1256_outlets_declare_their_charset_in_different_places(
    routes: dict, snapshot: Snapshot
) -> None:
    def page(outlet: str):
        article = snapshot.articles_of(outlet)[0]
        return article, routes[article.path]

    article, header = page("alriyadh")
    assert header.content_type == "text/html; charset=windows-1256" and b"<meta charset" not in header.body
    _, meta = page("aleqtisadiya")
    assert meta.content_type == "text/html" and b'<meta charset="windows-1256">' in meta.body
    _, undeclared = page("aljazirah")
    assert undeclared.content_type == "text/html" and b"charset" not in undeclared.body.lower()
    _, wrong = page("okaz")
    assert wrong.content_type == "text/html; charset=utf-8"
    with pytest.raises(UnicodeDecodeError):
        wrong.body.decode("utf-8")
    decoded = html.unescape(header.body.decode("cp1256"))
    assert all(p in decoded for p in article.paragraphs)


def test_iso_8859_6_page_keeps_its_arabic_text(routes: dict, snapshot: Snapshot) -> None:
    article = snapshot.articles_of("alyaum")[0]
    route = routes[article.path]
    assert route.content_type == "text/html; charset=iso-8859-6"
    decoded = html.unescape(route.body.decode("iso-8859-6"))
    assert article.title in decoded and all(p in decoded for p in article.paragraphs)


def test_rendered_article_has_layout_parts_and_canonical_to_its_pool_url(
    routes: dict, snapshot: Snapshot
) -> None:
    article = next(a for a in snapshot.articles_of("skynews") if a.original_url and not a.is_private)
    page = routes[article.path].body.decode()
    assert f'<link rel="canonical" href="{html.escape(article.original_url)}">' in page
    assert f'<h1 class="story-title">{article.title}</h1>' in html.unescape(page)
    assert f'<meta property="article:published_time" content="{article.published.isoformat()}">' in page
    assert '<nav class="main-menu">' in page and "<footer" in page and 'class="breadcrumbs"' in page
    others = [a.title for a in snapshot.articles_of("skynews") if a.path != article.path]
    related = html.unescape(re.search(r'<section class="related">(.*?)</section>', page, re.S).group(1))
    assert sum(t in related for t in others) == 4


def test_one_story_is_served_by_three_outlets_under_different_urls_and_headlines(snapshot: Snapshot) -> None:
    copies = [a for a in snapshot.articles if a.example == "004_f2905e471d354b84.txt" or a.syndicated_from]
    assert {a.outlet for a in copies} == {"wam", "skynews", "aawsat"}
    assert len({a.path for a in copies}) == len({a.title for a in copies}) == 3
    assert len({a.text for a in copies}) == 3  # small edits, not identical bodies


def test_tracked_article_is_listed_plain_with_tracking_parameters_and_as_amp(
    routes: dict, snapshot: Snapshot
) -> None:
    listed = [_key(link) for link in _xml_links(routes["/skynews/rss.xml"].body)]
    tracked = snapshot.tracked_path
    tracking, amp_key = snapshot.variant_paths()
    assert tracked in listed and amp_key == amp_path(tracked) and amp_key in listed
    assert tracking.startswith(tracked + "?utm_source=") and tracking in listed
    amp = routes[amp_path(tracked)].body.decode()
    assert '<html lang="ar" dir="rtl" amp>' in amp and 'rel="canonical"' in amp


def test_real_pages_are_served_as_their_original_bytes(
    routes: dict, snapshot: Snapshot, shared_data: Path
) -> None:
    real = [a for a in snapshot.articles if a.is_real_page]
    assert len(real) == 11
    for article in real:
        assert routes[article.path].body == (shared_data / "pages" / article.real_file).read_bytes()
        assert _key(_xml_links(routes[f"/{article.outlet}/rss.xml"].body)[-1]) == article.path


def test_a_snapshot_larger_than_the_data_says_so_instead_of_stopiteration(shared_data: Path) -> None:
    from rasid.commands.snapshot import MAX_SNAPSHOT_SIZE

    assert len(build_snapshot(shared_data, size=MAX_SNAPSHOT_SIZE).articles) >= MAX_SNAPSHOT_SIZE
    with pytest.raises(
        ValueError, match="too few .* articles for a snapshot this large: use a smaller --size"
    ):
        build_snapshot(shared_data, size=20_000)
