"""The cheap test before extraction: does a page name Russia anywhere in its text? If not, skip it.

A verdict is a hit only when the article's title or text names Russia (``KeywordClassifier.classify``
returns its no-Russia verdict otherwise), and both come from the page, so a page whose whole text names
no Russia term cannot be a hit and trafilatura need not read it. The test is a few C-speed regex passes
over the decoded HTML, about a twentieth of an extraction (see the test's figure). It errs toward
extracting: it reads more than trafilatura keeps (navigation, footers, ``<noscript>``, JSON-LD, meta
titles and descriptions, the feed's title of the link), never less.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable

from crawler.extract import MIN_TEXT_CHARS

#: The skip reason of a page whose whole text names no Russia term: recorded as seen, never extracted.
NO_RUSSIA = "no-russia-term"

#: Script and style bodies are code, not text (JSON-LD is kept: trafilatura reads titles from it), and
#: comments may hold stray ``>`` that would confuse the tag pass.
HIDDEN_RE = re.compile(
    r"<script\b(?![^>]*ld\+json)[^>]*>.*?</script\s*>|<style\b[^>]*>.*?</style\s*>|<!--.*?-->",
    re.IGNORECASE | re.DOTALL,
)
#: Inline tags join the text around them, as a browser and trafilatura do (``روس<b>يا</b>`` is one word).
INLINE_TAG_RE = re.compile(
    r"</?(?:a|abbr|b|bdi|bdo|big|cite|code|em|font|i|kbd|mark|q|s|small|span|strike|strong|sub|sup|time|"
    r"tt|u|var)\b[^>]*>",
    re.IGNORECASE,
)
#: Any other tag separates words (``<p>..</p><p>..</p>`` must not glue the last and first word).
TAG_RE = re.compile(r"<[^>]*>")
#: Titles and descriptions outlets put only in meta tags (og:title, twitter:title, description).
META_CONTENT_RE = re.compile(r"<meta\b[^>]*?\bcontent\s*=\s*(?:\"([^\"]*)\"|'([^']*)')", re.IGNORECASE)


def page_text(document: str) -> str:
    """Every piece of text a reader or trafilatura could take from the page, scripts and styles left out."""
    metas = " ".join(a or b for a, b in META_CONTENT_RE.findall(document))
    text = TAG_RE.sub(" ", INLINE_TAG_RE.sub("", HIDDEN_RE.sub(" ", document)))
    combined = f"{text} {metas}"
    return html.unescape(combined) if "&" in combined else combined


def may_be_hit(document: str, listed_title: str | None, names_russia: Callable[[str], bool]) -> bool:
    """False only when neither the page's text nor the title its listing gave names Russia."""
    return skip_reason(document, listed_title, names_russia) is None


def skip_reason(
    document: str, listed_title: str | None, names_russia: Callable[[str], bool]
) -> tuple[str, str] | None:
    """None for a page that may be a hit, else why it is not extracted: ``(reason, detail)``.

    A page naming no Russia term with less text in all than an article's minimum is broken or script-only:
    it is said so (``no-article``), as extraction would have, rather than passed off quietly as one more
    page without Russia. The page's text is read once for both.
    """
    text = page_text(document)
    if names_russia(f"{listed_title or ''}\n{text}"):
        return None
    length = len(" ".join(text.split()))
    if length < MIN_TEXT_CHARS:
        return "no-article", f"the whole page has {length} characters of text"
    return NO_RUSSIA, ""
