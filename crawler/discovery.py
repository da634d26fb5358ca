"""Finding article links: RSS/Atom feeds, feed autodiscovery, news sitemaps and section pages.

Functions of bytes or of a Scrapy response; nothing here fetches. XML is parsed with entities off, no
network and no huge trees, so a hostile feed costs one listing, never the machine.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlsplit

import lxml.etree
from scrapy.utils.sitemap import Sitemap

if TYPE_CHECKING:
    from collections.abc import Iterator

    from scrapy.http import Response

logger = logging.getLogger(__name__)

#: Feed MIME types a home page may announce in ``<link rel="alternate">``.
FEED_TYPES = ("application/rss+xml", "application/atom+xml", "application/rdf+xml", "application/feed+json")
#: Paths that are listings, not articles, on the outlets we know (tags, authors, pagination, search...).
NON_ARTICLE_RE = re.compile(
    r"/(?:tags?|category|categories|section|author|authors|writers?|page|search|login|register|subscribe|"
    r"contact|about|privacy|terms|video|videos|photos?|gallery|live|rss|feed|sitemap)(?:/|$|\?)",
    re.IGNORECASE,
)
#: An article path has an id or date (4+ digits) or a slug of three or more words (Arabic ones included).
ARTICLE_PATH_RE = re.compile(r"\d{4,}|[^/]+[-_][^/]+[-_][^/]+")
#: Non-page files linked from sections.
FILE_EXT_RE = re.compile(r"\.(?:jpe?g|png|gif|webp|svg|pdf|mp[34]|zip|css|js|xml|json)$", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Listed:
    """An article link as a feed, sitemap or section page gives it, with what the listing said about it."""

    url: str
    title: str | None = None
    published: datetime | None = None  # aware, UTC


class FeedError(ValueError):
    """A feed that is not RSS or Atom XML; the message says what it was instead."""


def parse_feed(body: bytes, base_url: str) -> tuple[tuple[Listed, ...], str | None]:
    """The items of an RSS 2.0, RSS 1.0 (RDF) or Atom feed, in feed order, and the first XML error if any.

    A feed cut off or broken midway keeps the items before the break (the parser recovers), and the
    error is returned so the caller can say so; a document that is not a feed raises ``FeedError``.
    """
    parser = lxml.etree.XMLParser(
        resolve_entities=False, no_network=True, huge_tree=False, recover=True, remove_comments=True
    )
    try:
        root = lxml.etree.fromstring(body.strip(), parser=parser)
    except lxml.etree.XMLSyntaxError as exc:
        raise FeedError(f"not XML: {exc}") from None
    if root is None:
        raise FeedError("not XML: empty document")
    kind = _local(root.tag)
    if kind not in {"rss", "feed", "RDF"}:
        raise FeedError(f"not a feed: root element <{kind}>")
    items: list[Listed] = []
    for node in root.iter():
        name = _local(node.tag) if isinstance(node.tag, str) else ""
        if name == "item":
            link = _child_text(node, "link") or _child_text(node, "guid")
            date = _child_text(node, "pubDate") or _child_text(node, "date") or _child_text(node, "updated")
        elif name == "entry":
            link = _atom_link(node)
            date = _child_text(node, "published") or _child_text(node, "updated")
        else:
            continue
        if not link or not link.strip().lower().startswith(("http://", "https://", "/")):
            continue
        items.append(Listed(urljoin(base_url, link.strip()), _child_text(node, "title"), parse_date(date)))
    errors = [e for e in parser.error_log if e.level >= lxml.etree.ErrorLevels.ERROR]
    problem = f"line {errors[0].line}: {errors[0].message}" if errors else None
    return tuple(items), problem


def autodiscover_feeds(response: Response) -> tuple[str, ...]:
    """Feed URLs a home page announces with ``<link rel="alternate" type="application/rss+xml">``."""
    found: list[str] = []
    for link in response.xpath("//link[@href]"):
        rel = (link.attrib.get("rel") or "").lower().split()
        kind = (link.attrib.get("type") or "").lower().strip()
        if "alternate" in rel and kind in FEED_TYPES:
            found.append(response.urljoin(link.attrib["href"].strip()))
    return tuple(dict.fromkeys(found))


def section_links(
    response: Response, allow: tuple[str, ...] = (), deny: tuple[str, ...] = ()
) -> tuple[Listed, ...]:
    """Links on a section page that look like articles of the same site.

    With ``allow`` patterns, a link must match one; without, it must look like an article (an id, a
    date or a long slug) and not like a listing. ``deny`` always excludes.
    """
    from scrapy.linkextractors import LinkExtractor

    host = _site(response.url)
    extractor = LinkExtractor(allow=allow, deny=deny, unique=True, canonicalize=False)
    found: list[Listed] = []
    for link in extractor.extract_links(response):  # type: ignore[arg-type]  # callers pass TextResponse
        parts = urlsplit(link.url)
        if _site(link.url) != host or parts.scheme not in {"http", "https"}:
            continue
        path = parts.path
        if FILE_EXT_RE.search(path) or link.url.rstrip("/") == response.url.rstrip("/"):
            continue
        if not allow and (NON_ARTICLE_RE.search(path) or not ARTICLE_PATH_RE.search(path)):
            continue
        found.append(Listed(link.url, (link.text or "").strip() or None))
    return tuple(found)


class NewsSitemap(Sitemap):
    """Scrapy's sitemap parser (entities off, recovering), also reading the ``news:`` extension.

    Scrapy keeps only direct children of ``<url>``, so ``news:publication_date`` and ``news:title``
    (grandchildren) would be lost; they are lifted up before Scrapy reads the element.
    """

    __slots__ = ()

    def _process_sitemap_element(self, elem: lxml.etree._Element) -> dict[str, Any] | None:
        lifted: dict[str, str] = {}
        for child in elem:
            if self._get_tag_name(child) == "news":
                for grandchild in child:
                    name = self._get_tag_name(grandchild)
                    if name in {"publication_date", "title"} and grandchild.text:
                        lifted[f"news_{name}"] = grandchild.text.strip()
        entry = super()._process_sitemap_element(elem)
        if entry is not None:
            entry.update(lifted)
        return entry


def sitemap_entries(body: bytes) -> tuple[str, Iterator[dict[str, Any]]]:
    """The sitemap's type ('urlset' or 'sitemapindex') and its entries, parsed by Scrapy's machinery."""
    sitemap = NewsSitemap(body)
    return sitemap.type, iter(sitemap)


def entry_date(entry: dict[str, Any]) -> datetime | None:
    """The publication date of a sitemap entry: ``news:publication_date``, else ``lastmod``."""
    return parse_date(entry.get("news_publication_date") or entry.get("lastmod"))


def parse_date(value: str | None) -> datetime | None:
    """An aware UTC datetime from an RFC 822 (RSS) or ISO 8601 (Atom, sitemaps) date; None if unreadable."""
    if not value or not value.strip():
        return None
    text = value.strip()
    parsed: datetime | None = None
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        try:
            parsed = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            try:
                from dateutil import parser as date_parser

                parsed = date_parser.parse(text)
            except (ValueError, OverflowError):
                logger.debug("unreadable date %r", text)
                return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def _local(tag: object) -> str:
    return tag.rpartition("}")[2] if isinstance(tag, str) else ""


def _child_text(node: lxml.etree._Element, name: str) -> str | None:
    for child in node:
        if _local(child.tag) == name:
            text = "".join(child.itertext()).strip()
            return text or None
    return None


def _atom_link(entry: lxml.etree._Element) -> str | None:
    fallback = None
    for child in entry:
        if _local(child.tag) == "link" and child.get("href"):
            if child.get("rel", "alternate") == "alternate":
                return child.get("href")
            fallback = fallback or child.get("href")
    return fallback


def _site(url: str) -> str:
    """Host without www./m. prefixes, so a section on www.x.com keeps links to x.com and m.x.com."""
    host = (urlsplit(url).hostname or "").lower()
    host = re.sub(r"^(?:www\d?|m|amp|mobile)\.", "", host)
    port = urlsplit(url).port
    return f"{host}:{port}" if port else host
