"""The crawl's counters: one name for each meaning, shared by the spider, the pipeline, the progress bar,
the summary table and the stored run, so they can never show two numbers under one name.

Each counter is kept in Scrapy's stats twice, as a total (``rasid/<counter>``) and per source
(``rasid/source/<name>/<counter>``), always incremented together by :func:`count`. Reasons
(``rasid/skipped/<reason>``, ``rasid/errors/<reason>``) are details beside them, never summed again.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

PAGES = "pages"  # article pages fetched (listings are not counted)
ARTICLES = "articles"  # articles extracted from those pages, within the age window
HITS = "hits"  # of those, flagged articles stored for the first time: what `rasid hits` lists of this run
NEW = "new"  # articles stored for the first time (not a copy of a stored URL or text)
SKIPPED = "skipped"  # pages not stored: no article, undecodable, too old, or no Russia term (not extracted)
ERRORS = "errors"  # requests or listings that failed, and batches that could not be stored

#: Beside them, not summed into a page count: listings answered 304 Not Modified (nothing parsed).
NOT_MODIFIED = "not_modified"
#: Stats key (a detail, no per-source twin): new links left for the next run by the per-source page budget.
OVER_BUDGET = "rasid/listed/over_budget"
#: Stats key (a detail, no per-source twin): flagged articles that were stored before (the same URL, or
#: the same outlet's same text under another URL), so no new hit; said under the summary table.
HITS_SEEN_AGAIN = "rasid/stored/hits_seen_again"

#: Display order of the progress bar and the summary table.
COUNTERS = (PAGES, ARTICLES, HITS, NEW, SKIPPED, ERRORS)


def total_key(counter: str) -> str:
    return f"rasid/{counter}"


def source_key(source: str, counter: str) -> str:
    return f"rasid/source/{source}/{counter}"


def count(stats: Any, counter: str, source: str, value: int = 1, reason: str | None = None) -> None:
    """Add ``value`` to the total and to ``source``'s counter (and to ``rasid/<counter>/<reason>``)."""
    stats.inc_value(total_key(counter), value)
    stats.inc_value(source_key(source, counter), value)
    if reason:
        stats.inc_value(f"{total_key(counter)}/{reason}", value)


def totals(stats: Mapping[str, Any]) -> dict[str, int]:
    """The run's totals, by counter name."""
    return {counter: int(stats.get(total_key(counter), 0)) for counter in COUNTERS}


def per_source(stats: Mapping[str, Any], names: Iterable[str]) -> dict[str, dict[str, int]]:
    """Each source's counters, by counter name, and its listings answered 304 (a source that answered)."""
    return {
        name: {c: int(stats.get(source_key(name, c), 0)) for c in (*COUNTERS, NOT_MODIFIED)} for name in names
    }
