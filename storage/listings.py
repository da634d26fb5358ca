"""Listing validators in SQL: the ETag / Last-Modified remembered per feed, sitemap or section page URL.

A validator is a cache, not a record: losing one costs a full re-read of its listing, never a link.
So the crawl writes them once, at the end of a run and only for listings whose every link was handled
(crawler/spiders/news.py decides which), and a run that dies before that leaves the old ones in place.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Engine, delete, insert, select

from storage import dedup
from storage.models import ListingValidatorRow, utcnow
from storage.records import ListingValidator
from storage.writer import CHUNK


def load(engine: Engine, sources: Iterable[str] | None = None) -> dict[str, ListingValidator]:
    """The remembered validators by URL, of ``sources`` only when given (one query)."""
    table = ListingValidatorRow
    query = select(table.url, table.source, table.etag, table.last_modified)
    if sources is not None:
        query = query.where(table.source.in_(sorted(set(sources))))
    with engine.connect() as conn:
        return {
            row.url: ListingValidator(row.url, row.source, row.etag, row.last_modified)
            for row in conn.execute(query)
        }


def save(engine: Engine, validators: Iterable[ListingValidator]) -> int:
    """Replace the validators of these URLs in one transaction; one without ETag or date is forgotten."""
    rows: dict[str, ListingValidator] = {dedup.url_hash(v.url): v for v in validators}
    keys = sorted(rows)
    now = utcnow()
    with engine.begin() as conn:
        for start in range(0, len(keys), CHUNK):
            chunk = keys[start : start + CHUNK]
            conn.execute(delete(ListingValidatorRow).where(ListingValidatorRow.url_hash.in_(chunk)))
        kept = [
            {
                "url_hash": key,
                "url": rows[key].url,
                "source": rows[key].source,
                "etag": rows[key].etag,
                "last_modified": rows[key].last_modified,
                "checked_at": now,
            }
            for key in keys
            if rows[key].etag or rows[key].last_modified
        ]
        if kept:
            conn.execute(insert(ListingValidatorRow), kept)
    return len(kept)
