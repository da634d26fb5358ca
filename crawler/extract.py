"""From a fetched page to an article: charset, then trafilatura for text and metadata (htmldate for the date).

A function of values: it never fetches. A page that gives no article raises ``NoArticle`` with a short
reason inside this module; the public ``extract`` turns that into ``None`` for callers that only care
whether there is an article.
"""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime, time
from typing import TYPE_CHECKING

import trafilatura

from crawler.article import Article
from crawler.charset import UndecodableError, decode_html

if TYPE_CHECKING:
    from crawler.page import Page

logger = logging.getLogger(__name__)

#: Shorter bodies are navigation, teasers or error pages, not articles; agency flashes run ~150+ chars.
MIN_TEXT_CHARS = 120
#: htmldate inside trafilatura: the page's structured markup only, and the original (not last-modified)
#: date. Its extensive search parses free text with dateparser, which cost half the crawl's CPU on the
#: snapshot, so it runs only for pages that neither their markup nor their feed/sitemap date.
DATE_PARAMS = {"extensive_search": False, "original_date": True}
EXTENSIVE_DATE_PARAMS = {"extensive_search": True, "original_date": True}
HTML_LANG_RE = re.compile(rb"<html[^>]*\slang\s*=\s*[\"']?([a-zA-Z]{2,3})", re.IGNORECASE)
ARABIC_RE = re.compile(r"[\u0600-\u06ff]")
LATIN_RE = re.compile(r"[A-Za-z]")
HTML_TYPES = ("text/html", "application/xhtml", "text/plain")
#: A numeric character reference (``&#27;``, ``&#x1b;``): lxml turns one naming a control character into that
#: character, trafilatura's XML stage then refuses the tree, and the whole article is lost.
CHAR_REF_RE = re.compile(r"&#(?:[xX]([0-9a-fA-F]{1,8})|([0-9]{1,10}));?")


class NoArticle(Exception):
    """The page holds no usable article; ``reason`` is the short counter key ('undecodable', ...)."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


def extract(page: Page) -> Article | None:
    """The article on ``page``, or None (logged at DEBUG with the reason; the pipeline counts it)."""
    try:
        return read_article(page)
    except NoArticle as exc:
        logger.debug("no article at %s (source %s): %s", page.url, page.source, exc)
        return None


def extract_html(html: bytes | str, url: str, source: str = "") -> Article | None:
    """One-off extraction of a saved page (``rasid explain``, benchmarks, tests)."""
    from crawler.page import Page

    body = html.encode("utf-8") if isinstance(html, str) else html
    now = datetime.now(UTC)
    return extract(
        Page(source=source, url=url, final_url=url, status=200, headers=(), body=body, fetched_at=now)
    )


def read_article(page: Page) -> Article:
    """The article on ``page``; raises ``NoArticle`` with the reason it has none."""
    return article_from_html(page, decode_page(page))


def decode_page(page: Page) -> str:
    """The page's HTML as text (its charset as declared or detected); ``NoArticle`` if it is not HTML."""
    content_type = _header(page, "content-type")
    mime = (content_type or "").split(";")[0].strip().lower()
    if mime and not mime.startswith(HTML_TYPES):
        raise NoArticle("not-html", content_type or "")
    try:
        html, _encoding = decode_html(page.body, content_type)
    except UndecodableError as exc:
        raise NoArticle("undecodable", str(exc).removeprefix("undecodable body, ")) from None
    return without_non_xml_references(html)


def without_non_xml_references(html: str) -> str:
    """``html`` without character references to what XML cannot hold (controls, surrogates, U+FFFE...).

    A raw control character is harmless (the parser drops it); a reference to one costs the article.
    """
    if "&#" not in html:
        return html
    return CHAR_REF_RE.sub(_keep_if_xml_char, html)


def _keep_if_xml_char(match: re.Match[str]) -> str:
    hexadecimal, decimal = match.groups()
    point = int(hexadecimal, 16) if hexadecimal else int(decimal)
    allowed = point in (0x9, 0xA, 0xD) or 0x20 <= point <= 0xD7FF or 0xE000 <= point <= 0xFFFD
    return match[0] if allowed or 0x10000 <= point <= 0x10FFFF else ""


def article_from_html(page: Page, html: str) -> Article:
    """The article in ``html``, the decoded body of ``page``; raises ``NoArticle`` with the reason it has none."""
    document = trafilatura.bare_extraction(
        html,
        url=page.final_url,
        with_metadata=True,
        include_comments=False,
        include_tables=False,
        date_extraction_params=DATE_PARAMS,
    )
    # bare_extraction returns a dict only with as_dict=True; trafilatura's annotation covers both.
    assert not isinstance(document, dict)
    if document is None or not (document.text or "").strip():
        raise NoArticle("no-article", "no main text found")
    text = (document.text or "").strip()
    if len(text) < MIN_TEXT_CHARS:
        raise NoArticle("no-article", f"main text only {len(text)} characters")
    title = (document.title or page.listed_title or "").strip()
    if not title:
        raise NoArticle("no-article", "no title")
    page_date = document.date
    if page_date is None and page.listed_published is None:
        from htmldate import find_date

        page_date = find_date(html, url=page.final_url, **EXTENSIVE_DATE_PARAMS)  # type: ignore[arg-type]
    return Article(
        url=page.final_url,
        canonical_url=_canonical(document.url, page.final_url),
        source=page.source,
        title=title,
        text=text,
        published=_published(page_date, page.listed_published),
        author=(document.author or None),
        lang=_language(page.body, text),
        fetched_at=page.fetched_at,
    )


def _canonical(declared: str | None, final_url: str) -> str:
    """``canonicalize_url`` of the page's canonical link/og:url (trafilatura reads both), else the final URL."""
    from storage.urls import canonicalize_url

    candidate = (declared or "").strip()
    if not candidate.lower().startswith(("http://", "https://")):
        candidate = final_url
    return canonicalize_url(candidate)


def _published(page_date: str | None, listed: datetime | None) -> datetime | None:
    """The page's date (day precision from htmldate); the listing's time of day when it agrees on the day.

    A feed or sitemap date fills in when the page says nothing.
    """
    if page_date:
        try:
            day = datetime.strptime(page_date[:10], "%Y-%m-%d").date()
        except ValueError:
            day = None
        if day is not None:
            if listed is not None and listed.date() == day:
                return listed
            return datetime.combine(day, time(0, 0), tzinfo=UTC)
    return listed


def _language(body: bytes, text: str) -> str | None:
    """'ar' when the text is mostly Arabic script (some outlets' templates say lang="en"), else ``<html lang>``."""
    sample = text[:2000]
    arabic, latin = len(ARABIC_RE.findall(sample)), len(LATIN_RE.findall(sample))
    if arabic and arabic >= latin:
        return "ar"
    declared = HTML_LANG_RE.search(body[:4096])
    return declared.group(1).decode("ascii").lower() if declared else None


def _header(page: Page, name: str) -> str | None:
    for key, value in page.headers:
        if key.lower() == name:
            return value
    return None
