"""Hits and stories as text an analyst's tools read: CSV, JSON lines, and an Atom 1.0 feed.

Pure functions of the records storage hands out, so `rasid hits`, `rasid stories` and `rasid export`
print and write exactly the same bytes. The feed is RTL-friendly: ``xml:lang="ar"`` on the feed and
HTML content in a ``dir="rtl"`` div, which feed readers honour for Arabic titles and evidence.
"""

from __future__ import annotations

import csv
import html
import io
import json
from collections.abc import Sequence
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any
from xml.etree import ElementTree as ET

from storage.records import Hit, Story
from storage.safe_text import http_url, inert_cell, strip_controls

FORMATS = ("table", "csv", "jsonl", "atom")
ATOM_NS = "http://www.w3.org/2005/Atom"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
#: Tag URIs (RFC 4151) give entries ids that stay the same however often the feed is regenerated.
TAG_PREFIX = "tag:rasid.local,2026:"
LIST_SEPARATOR = " | "

ET.register_namespace("", ATOM_NS)


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, (tuple, list)):
        return [_plain(v) for v in value]
    return value


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        return strip_controls(value)
    return [_clean(v) for v in value] if isinstance(value, list) else value


def to_jsonl(records: Sequence[Hit | Story]) -> str:
    """One JSON object per line, Arabic kept as UTF-8, dates in ISO 8601; control and direction characters
    dropped as everywhere (JSON would keep the C1 ones and a right-to-left override raw on a terminal)."""
    return "".join(
        json.dumps({k: _clean(_plain(v)) for k, v in asdict(r).items()}, ensure_ascii=False) + "\n"
        for r in records
    )


def to_csv(records: Sequence[Hit | Story], kind: str) -> str:
    """A header and one row per record; lists joined with ' | ' so a spreadsheet shows them in one cell.

    Crawled text is hostile: control characters are dropped and a cell that a spreadsheet would run as a
    formula (``=HYPERLINK(...)``) is written with a leading apostrophe, as OWASP advises.
    """
    fields = list(Hit.__dataclass_fields__ if kind == "hits" else Story.__dataclass_fields__)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(fields)
    for record in records:
        row = []
        for name in fields:
            value = _plain(getattr(record, name))
            if isinstance(value, list):
                value = LIST_SEPARATOR.join(map(str, value))
            elif value is None:
                value = ""
            row.append(inert_cell(strip_controls(value)) if isinstance(value, str) else value)
        writer.writerow(row)
    return out.getvalue()


def to_atom(
    records: Sequence[Hit | Story], kind: str, feed_url: str | None = None, now: datetime | None = None
) -> str:
    """A valid Atom 1.0 feed with one entry per hit or story, newest first as given."""
    now = now or datetime.now(UTC)
    feed = ET.Element(f"{{{ATOM_NS}}}feed", {XML_LANG: "ar"})
    _text(feed, "id", f"{TAG_PREFIX}{kind}")
    _text(feed, "title", "راصد: " + ("أخبار التعاون الروسي" if kind == "hits" else "قصص التعاون الروسي"))
    _text(feed, "subtitle", "rasid: Arabic news on Russia's cooperation with other countries")
    stamps = [_updated(r) for r in records]
    _text(feed, "updated", max(stamps, default=now).isoformat())
    author = ET.SubElement(feed, f"{{{ATOM_NS}}}author")
    _text(author, "name", "rasid")
    _text(feed, "generator", "rasid")
    if feed_url:
        ET.SubElement(feed, f"{{{ATOM_NS}}}link", {"rel": "self", "href": feed_url})
    for record, updated in zip(records, stamps, strict=True):
        entry = ET.SubElement(feed, f"{{{ATOM_NS}}}entry")
        if isinstance(record, Hit):
            _hit_entry(entry, record, updated)
        else:
            _story_entry(entry, record, updated)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(feed, encoding="unicode") + "\n"


def _updated(record: Hit | Story) -> datetime:
    if isinstance(record, Hit):
        return (record.fetched_at or record.published or datetime(1970, 1, 1, tzinfo=UTC)).astimezone(UTC)
    return record.first_seen.astimezone(UTC)


def _text(parent: ET.Element, tag: str, value: str, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, f"{{{ATOM_NS}}}{tag}", attrs)
    element.text = strip_controls(value)  # control characters are not allowed in XML 1.0
    return element


def _rtl_content(entry: ET.Element, paragraphs: Sequence[str], links: Sequence[str] = ()) -> None:
    """Escaped HTML in a dir="rtl" div: readers render it right to left, and it needs no XHTML namespace."""
    body = "".join(f"<p>{html.escape(strip_controls(p))}</p>" for p in paragraphs)
    clean_links = [u for u in map(http_url, links) if u]  # a javascript: link is never a feed's link
    if clean_links:
        body += (
            "<ul>"
            + "".join(f'<li><a href="{html.escape(u)}">{html.escape(u)}</a></li>' for u in clean_links)
            + "</ul>"
        )
    _text(entry, "content", f'<div dir="rtl" lang="ar">{body}</div>', type="html")


def _alternate(entry: ET.Element, url: str | None) -> None:
    """The entry's link, only if it is http(s): a stored ``javascript:`` URL is left out, not emitted."""
    href = http_url(url)
    if href:
        ET.SubElement(entry, f"{{{ATOM_NS}}}link", {"rel": "alternate", "href": href})


def _categories(entry: ET.Element, partners: Sequence[str], sectors: Sequence[str]) -> None:
    for scheme, terms in (("partner", partners), ("sector", sectors)):
        for term in terms:
            attrs = {"term": strip_controls(term), "scheme": f"{TAG_PREFIX}{scheme}"}
            ET.SubElement(entry, f"{{{ATOM_NS}}}category", attrs)


def _hit_entry(entry: ET.Element, hit: Hit, updated: datetime) -> None:
    _text(entry, "id", f"{TAG_PREFIX}article:{hit.article_id}")
    _text(entry, "title", hit.title or hit.url)
    _text(entry, "updated", updated.isoformat())
    if hit.published:
        _text(entry, "published", hit.published.astimezone(UTC).isoformat())
    _alternate(entry, hit.url)
    author = ET.SubElement(entry, f"{{{ATOM_NS}}}author")
    _text(author, "name", hit.source)
    _categories(entry, hit.partners, hit.sectors)
    _rtl_content(entry, hit.evidence or (hit.title,))


def _story_entry(entry: ET.Element, story: Story, updated: datetime) -> None:
    _text(entry, "id", f"{TAG_PREFIX}story:{story.story_id}")
    _text(entry, "title", story.title)
    _text(entry, "updated", updated.isoformat())
    if story.published:
        _text(entry, "published", story.published.astimezone(UTC).isoformat())
    _alternate(entry, next((u for u in story.urls if http_url(u)), None))
    for source in story.sources:
        _text(ET.SubElement(entry, f"{{{ATOM_NS}}}author"), "name", source)
    _categories(entry, story.partners, story.sectors)
    _rtl_content(entry, (story.title,), story.urls)


def render(records: Sequence[Hit | Story], kind: str, fmt: str) -> str:
    """The records in ``fmt`` (csv, jsonl or atom); the table format belongs to the terminal, not here."""
    if fmt == "csv":
        return to_csv(records, kind)
    if fmt == "jsonl":
        return to_jsonl(records)
    if fmt == "atom":
        return to_atom(records, kind)
    raise ValueError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
