"""The write path of a batch: seen marks, canonical URLs, exact and near copies, stories, articles, verdicts.

One ``BatchWriter.store`` call is one transaction; the repository hands it each batch and keeps the
reading side. The writer holds the process's near-duplicate index and each indexed article's story,
refreshed from the database before every batch so other writers' articles are seen too.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, delete, func, insert, select
from sqlalchemy.dialects import postgresql, sqlite

from storage import dedup
from storage.errors import reason_of
from storage.models import ArticleRow, SeenUrlRow, SignatureRow, SourceRow, StoryRow, VerdictRow, utcnow
from storage.records import PageOutcome, StoreResult
from storage.urls import canonicalize_url, url_forms

if TYPE_CHECKING:
    from classifiers.verdict import Verdict

logger = logging.getLogger(__name__)

#: Bound parameters per IN (...) query; SQLite's default limit is 32,766, PostgreSQL's 65,535.
CHUNK = 900
#: PostgreSQL advisory lock held by a store() transaction (an arbitrary constant: "rasid" in ASCII).
STORE_LOCK_KEY = 0x7261736964

#: (canonical URL, its sha1, content hash, MinHash signature or None) of an article about to be stored.
Facts = tuple[str, str, str, Any]


@dataclass
class Batch:
    """What one store() call has learnt and still has to write."""

    run_id: int
    counts: dict[str, int] = field(
        default_factory=lambda: {
            "new_articles": 0,
            "new_hits": 0,
            "duplicates": 0,
            "already_stored": 0,
            "hits_seen_again": 0,
        }
    )
    stored_urls: set[str] = field(default_factory=set)  # canonical hashes stored before or in this batch
    # content hash -> (story, oldest article with that text, its source)
    copies: dict[str, tuple[int, int, str]] = field(default_factory=dict)
    added: list[int] = field(default_factory=list)
    # Rows nothing in the batch reads back, sent at the end with one executemany each (one pipelined
    # round trip on PostgreSQL).
    signatures: list[dict[str, Any]] = field(default_factory=list)
    verdicts: list[dict[str, Any]] = field(default_factory=list)


class BatchWriter:
    """Stores batches through one engine, deciding each article's story against the in-memory index."""

    def __init__(
        self,
        engine: Engine,
        near_dup_threshold: float = dedup.NEAR_DUP_THRESHOLD,
        near_dup_window: timedelta = dedup.NEAR_DUP_WINDOW,
    ) -> None:
        self.engine = engine
        self._near_dup_threshold = near_dup_threshold
        self._near_dup_window = near_dup_window
        self._story_of: dict[int, int | None] = {}  # story of each indexed article (stories never merge)
        self._insert = postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert
        # Statements built once and executed with parameter dicts: per-call .values() cost more than SQL.
        self._sql_article = (
            self._insert(ArticleRow)
            .on_conflict_do_nothing(index_elements=["canonical_hash"])
            .returning(ArticleRow.id)
        )
        self._sql_story = insert(StoryRow).returning(StoryRow.id)

    @cached_property
    def _index(self) -> dedup.NearDuplicateIndex:
        """Built on first use: a crawl that stores nothing (an unchanged re-crawl) never loads datasketch."""
        return dedup.NearDuplicateIndex(self._near_dup_threshold)

    @property
    def index_size(self) -> int:
        return len(self._index)

    def store(self, outcomes: Sequence[PageOutcome], run_id: int) -> StoreResult:
        """Write one batch in one transaction; on any error nothing is written and the error propagates."""
        batch = Batch(run_id)
        try:
            with self.engine.begin() as conn:
                if conn.dialect.name == "postgresql":
                    # One writer at a time decides stories: two crawls storing copies of one agency text
                    # concurrently would otherwise each start a story. SQLite gets this from BEGIN IMMEDIATE.
                    conn.execute(select(func.pg_advisory_xact_lock(STORE_LOCK_KEY)))
                self.ensure_sources(
                    conn, {o.source for o in outcomes} | {o.article.source for o in outcomes if o.article}
                )
                self._mark_seen(conn, outcomes, run_id)
                self.refresh_index(conn)
                articles = [o for o in outcomes if o.article is not None]
                for outcome, facts in zip(articles, self._prepare(conn, batch, articles), strict=True):
                    if facts is None:
                        _already_stored(batch, outcome)
                    else:
                        self._store_article(conn, outcome, facts, batch)
                if batch.signatures:
                    conn.execute(insert(SignatureRow), batch.signatures)
                if batch.verdicts:
                    conn.execute(insert(VerdictRow), batch.verdicts)
        except Exception as exc:
            for article_id in batch.added:  # the rows rolled back, so the index must forget them too
                self._index.remove(article_id)
                self._story_of.pop(article_id, None)
            logger.error(
                "batch of %d pages not stored (run %s): %s; they will be fetched again",
                len(outcomes), run_id, reason_of(exc),
            )  # fmt: skip
            raise
        return StoreResult(**batch.counts)

    def _prepare(self, conn: Connection, batch: Batch, articles: Sequence[PageOutcome]) -> list[Facts | None]:
        """Canonical URL and fingerprint per article, None for one already stored; two queries per batch."""
        canonicals = []
        for outcome in articles:
            assert outcome.article is not None
            canonical = canonicalize_url(outcome.article.canonical_url or outcome.article.url)
            canonicals.append((canonical, dedup.url_hash(canonical)))
        url_keys = sorted({key for _, key in canonicals})
        for start in range(0, len(url_keys), CHUNK):
            chunk = url_keys[start : start + CHUNK]
            batch.stored_urls.update(
                conn.execute(
                    select(ArticleRow.canonical_hash).where(ArticleRow.canonical_hash.in_(chunk))
                ).scalars()
            )
        prepared: list[Facts | None] = []
        for outcome, (canonical, key) in zip(articles, canonicals, strict=True):
            if key in batch.stored_urls:
                prepared.append(None)  # a re-crawl costs no normalisation or hashing of the text
                continue
            assert outcome.article is not None
            prepared.append((canonical, key, *dedup.fingerprint(outcome.article.text)))
        # Only texts long enough for a signature count as copies: two empty pages are not one article.
        text_keys = sorted({facts[2] for facts in prepared if facts is not None and facts[3] is not None})
        for start in range(0, len(text_keys), CHUNK):
            rows = conn.execute(
                select(ArticleRow.content_hash, ArticleRow.id, ArticleRow.story_id, ArticleRow.source)
                .where(
                    ArticleRow.content_hash.in_(text_keys[start : start + CHUNK]),
                    ArticleRow.story_id.is_not(None),
                )
                .order_by(ArticleRow.id.desc())  # so the oldest copy of each text is the one left in the dict
            )
            batch.copies.update({row.content_hash: (row.story_id, row.id, row.source) for row in rows})
        return prepared

    def _mark_seen(self, conn: Connection, outcomes: Sequence[PageOutcome], run_id: int) -> None:
        """Every URL of every page, raw and canonical, so no spelling of it is fetched again."""
        rows: dict[str, dict[str, Any]] = {}
        now = utcnow()
        for outcome in outcomes:
            forms = [form for url in outcome.urls for form in url_forms(url)]
            if outcome.article is not None:
                forms += [
                    *url_forms(outcome.article.url),
                    canonicalize_url(outcome.article.canonical_url or outcome.article.url),
                ]
            for form in forms:
                rows.setdefault(
                    dedup.url_hash(form),
                    {
                        "url": form,
                        "source": outcome.source,
                        "run_id": run_id,
                        "skip_reason": outcome.skip_reason,
                        "seen_at": now,
                    },
                )
        if rows:
            conn.execute(
                self._insert(SeenUrlRow).on_conflict_do_nothing(index_elements=["url_hash"]),
                [{"url_hash": key, **row} for key, row in sorted(rows.items())],
            )

    def _store_article(self, conn: Connection, outcome: PageOutcome, facts: Facts, batch: Batch) -> None:
        article = outcome.article
        assert article is not None
        canonical, canonical_hash, text_hash, values = facts
        if canonical_hash in batch.stored_urls:
            _already_stored(batch, outcome)
            return
        copy = batch.copies.get(text_hash) if values is not None else None
        if copy is not None and copy[2] == article.source:
            # The same outlet's same text under another URL (a slug variant, a section path, the offline
            # snapshot on a new port) is the article already stored, not a new one.
            batch.stored_urls.add(canonical_hash)
            _already_stored(batch, outcome)
            return
        story_id, duplicate_of = self._find_story(batch, text_hash, values)
        new_story = story_id is None
        if new_story:
            # Under the store lock (advisory on PostgreSQL, BEGIN IMMEDIATE on SQLite) the URL check above
            # holds, so creating the story first saves an UPDATE; a lost race deletes it again below.
            story_id = conn.execute(
                self._sql_story, {"title": clean(article.title), "first_seen": utcnow()}
            ).scalar_one()
        article_id = conn.execute(
            self._sql_article,
            {
                "canonical_hash": canonical_hash,
                "canonical_url": canonical,
                "url": clean(article.url),
                "source": article.source,
                "title": clean(article.title),
                "text": clean(article.text),
                "published": article.published,
                "author": clean(article.author),
                "lang": clean(article.lang),
                "fetched_at": article.fetched_at,
                "run_id": batch.run_id,
                "digest_id": None,
                "content_hash": text_hash,
                "story_id": story_id,
                "duplicate_of": duplicate_of,
            },
        ).scalar()
        batch.stored_urls.add(canonical_hash)
        if article_id is None:  # another writer stored this canonical URL since our check
            if new_story:
                conn.execute(delete(StoryRow).where(StoryRow.id == story_id))
            _already_stored(batch, outcome)
            return
        if values is not None:
            batch.copies.setdefault(text_hash, (story_id, article_id, article.source))  # type: ignore[arg-type]
        batch.added.append(article_id)
        self._story_of[article_id] = story_id
        if not new_story:
            batch.counts["duplicates"] += 1
        if values is not None:
            batch.signatures.append({"article_id": article_id, "hashvalues": dedup.to_bytes(values)})
            self._index.add(article_id, values)
        batch.counts["new_articles"] += 1
        if outcome.verdict is not None:
            batch.verdicts.append(verdict_row(article_id, outcome.verdict))
            batch.counts["new_hits"] += int(outcome.verdict.is_hit)
        logger.debug("stored %s (source %s) in story %s", canonical, article.source, story_id)

    def _find_story(self, batch: Batch, text_hash: str, values: Any) -> tuple[int | None, int | None]:
        """(story id, article copied) of an exact or near copy already stored, else (None, None)."""
        if values is None:  # too short to compare, by hash or by MinHash
            return None, None
        if text_hash in batch.copies:
            story_id, article_id, _ = batch.copies[text_hash]
            return story_id, article_id
        nearest = self._index.nearest(values)
        if nearest is None or self._story_of.get(nearest[0]) is None:
            return None, None
        return self._story_of[nearest[0]], nearest[0]

    def ensure_sources(self, conn: Connection, names: Iterable[str]) -> None:
        rows = [{"name": name, "first_seen": utcnow()} for name in sorted(set(names))]
        if rows:
            conn.execute(self._insert(SourceRow).on_conflict_do_nothing(index_elements=["name"]), rows)

    def refresh_index(self, conn: Connection) -> None:
        """Load signatures stored since the last look (by this process at startup, or by other writers).

        Only articles fetched within the near-duplicate window: agency copy is republished within days, and
        a database that has grown for months must not be held in memory (nor read) by every crawl.
        """
        rows = conn.execute(
            select(SignatureRow.article_id, SignatureRow.hashvalues, ArticleRow.story_id)
            .join(ArticleRow, ArticleRow.id == SignatureRow.article_id)
            .where(
                SignatureRow.article_id > self._index.last_id,
                ArticleRow.fetched_at >= utcnow() - self._near_dup_window,
            )
            .order_by(SignatureRow.article_id)
        ).all()
        self._story_of.update((r.article_id, r.story_id) for r in rows)
        loaded = self._index.add_many((r.article_id, r.hashvalues) for r in rows)
        if loaded > 1000:
            logger.info("near-duplicate index loaded %d signatures", loaded)


def _already_stored(batch: Batch, outcome: PageOutcome) -> None:
    """Count an article stored before; a flagged one apart, as it is no new hit for `rasid hits` to list."""
    batch.counts["already_stored"] += 1
    batch.counts["hits_seen_again"] += int(outcome.verdict is not None and outcome.verdict.is_hit)


def verdict_row(article_id: int, verdict: Verdict) -> dict[str, Any]:
    return {
        "article_id": article_id,
        "is_current": True,
        "is_hit": verdict.is_hit,
        "score": float(verdict.score),
        "classifier_version": verdict.classifier_version,
        "matches": clean(json.dumps([match_dict(m) for m in verdict.matches], ensure_ascii=False)),
        "partners": clean(json.dumps(list(verdict.partners), ensure_ascii=False)),
        "sectors": clean(json.dumps(list(verdict.sectors), ensure_ascii=False)),
        "evidence": clean(json.dumps(list(verdict.evidence), ensure_ascii=False)),
        "created_at": utcnow(),
    }


def clean(value: str | None) -> str | None:
    """Text without NUL characters: real pages carry them and PostgreSQL text refuses them."""
    return value.replace("\x00", "") if value and "\x00" in value else value


def match_dict(match: Any) -> dict[str, str]:
    return {
        "group": match.group,
        "term": match.term,
        "surface": match.surface,
        "sentence": match.sentence,
        "where": match.where,
    }
