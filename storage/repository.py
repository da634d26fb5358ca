"""The one place that reads and writes rasid's tables: runs, seen URLs, articles with verdicts and stories.

Every batch is one transaction (storage/writer.py): the seen-URL marks, the articles, their verdicts,
signatures and story links commit together or not at all, so a failed batch leaves nothing behind and
its pages come back next run. Uniqueness of canonical URLs is the database's job (a unique index and
ON CONFLICT DO NOTHING), so concurrent writers on PostgreSQL never store one URL twice.
"""

from __future__ import annotations

import json
import logging
import os
import socket
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, func, insert, select, update

from storage import dedup, digests, listings, owners, review
from storage.models import (
    MAX_ID,
    ArticleRow,
    CrawlRunRow,
    DigestRow,
    SeenUrlRow,
    SourceRow,
    VerdictRow,
    utcnow,
)
from storage.records import (
    DigestRecord,
    Hit,
    HitQuery,
    Judgement,
    ListingValidator,
    PageOutcome,
    RunSummary,
    StoreResult,
    Story,
    StoryArticle,
    StorySource,
    WeekPrecision,
)
from storage.results import query_hits, query_stories, story_page
from storage.schema import SchemaError, ensure_current
from storage.urls import url_forms
from storage.writer import CHUNK, BatchWriter, verdict_row

if TYPE_CHECKING:
    from classifiers.verdict import Verdict

__all__ = ["Repository", "SchemaError", "RunRecord", "StoredArticle"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RunRecord:
    """One crawl run as `rasid sources` and health checks see it."""

    run_id: int
    started_at: datetime
    finished_at: datetime | None
    status: str
    sources: tuple[str, ...]
    snapshot: bool
    summary: RunSummary
    job: str | None = None  # the daemon's job that ran it; None for a one-off `rasid crawl`
    outcome: str | None = None  # "running", "ok", "failed", "skipped", "interrupted"


@dataclass(frozen=True, slots=True)
class StoredArticle:
    """A stored article's text and current verdict's version, for re-classification without fetching."""

    article_id: int
    source: str
    title: str
    text: str
    classifier_version: str | None  # None when the article has no verdict
    is_hit: bool | None


#: A run's outcome from its final status; any other status ("stopped: <reason>") is a failure.
_OUTCOMES = {"ok": "ok", "interrupted": "interrupted"}


class Repository:
    """Reads and writes through one engine; holds the in-memory near-duplicate index for this process."""

    def __init__(
        self,
        engine: Engine,
        near_dup_threshold: float = dedup.NEAR_DUP_THRESHOLD,
        near_dup_window: timedelta = dedup.NEAR_DUP_WINDOW,
    ) -> None:
        self.engine = engine
        # Reads begin DEFERRED on SQLite, so `rasid hits` never queues behind a crawl's write lock.
        self.reader = engine.execution_options(read_only=True)
        self._writer = BatchWriter(engine, near_dup_threshold, near_dup_window)

    def prepare(self, create: bool = True) -> None:
        """Upgrade a brand-new empty database to head (``NoDatabase`` unless ``create``); refuse an older one."""
        ensure_current(self.engine, create)

    # -- runs -------------------------------------------------------------------------------------

    def start_run(
        self,
        sources: Sequence[str],
        snapshot: bool = False,
        job: str | None = None,
        outcome: str = "running",
        status: str = "running",
    ) -> int:
        """Record a run as started (by the daemon's ``job``, or a one-off crawl) and return its id.

        With another ``outcome`` the run ended as it began: the daemon records a skipped run this way.
        """
        now = utcnow()
        with self.engine.begin() as conn:
            self._writer.ensure_sources(conn, sources)
            if job is None:
                _abandon_orphaned_runs(conn)
            return int(
                conn.execute(
                    insert(CrawlRunRow)
                    .values(
                        started_at=now,
                        finished_at=None if outcome == "running" else now,
                        status=status,
                        sources=json.dumps(list(sources), ensure_ascii=False),
                        snapshot=snapshot,
                        pages_fetched=0,
                        articles_extracted=0,
                        articles_stored=0,
                        hits=0,
                        skipped=0,
                        errors=0,
                        per_source="{}",
                        job=job,
                        outcome=outcome,
                        pid=os.getpid(),
                        host=socket.gethostname(),
                        owner=owners.owner_of_this_process(),
                    )
                    .returning(CrawlRunRow.id)
                ).scalar_one()
            )

    def finish_run(self, run_id: int, summary: RunSummary, status: str = "ok") -> None:
        """Store the run's counters and final status (outcome "ok" for status "ok", else "failed")."""
        values = asdict(summary)
        values["per_source"] = json.dumps(values["per_source"], ensure_ascii=False)
        with self.engine.begin() as conn:
            conn.execute(
                update(CrawlRunRow)
                .where(CrawlRunRow.id == run_id)
                .values(finished_at=utcnow(), status=status, outcome=_OUTCOMES.get(status, "failed"))
                .values(**values)
            )

    def runs(self, limit: int = 20, scheduled_only: bool = False) -> list[RunRecord]:
        """The latest runs, newest first; ``scheduled_only`` keeps the daemon's (those with a job)."""
        query = select(CrawlRunRow).order_by(CrawlRunRow.id.desc()).limit(limit)
        if scheduled_only:
            query = query.where(CrawlRunRow.job.is_not(None))
        with self.reader.connect() as conn:
            rows = conn.execute(query).all()
        return [
            RunRecord(
                run_id=r.id,
                started_at=r.started_at,
                finished_at=r.finished_at,
                status=r.status,
                sources=tuple(json.loads(r.sources)),
                snapshot=bool(r.snapshot),
                summary=RunSummary(
                    pages_fetched=r.pages_fetched,
                    articles_extracted=r.articles_extracted,
                    articles_stored=r.articles_stored,
                    hits=r.hits,
                    skipped=r.skipped,
                    errors=r.errors,
                    per_source=json.loads(r.per_source),
                ),
                job=r.job,
                outcome=r.outcome,
            )
            for r in rows
        ]

    # -- seen URLs ---------------------------------------------------------------------------------

    def seen_urls(self, urls: Iterable[str]) -> set[str]:
        """The given URLs already seen, under their raw or canonical spelling (one query per 900 URLs)."""
        by_hash: dict[str, list[str]] = {}
        for url in urls:
            for form in url_forms(url):
                by_hash.setdefault(dedup.url_hash(form), []).append(url)
        seen: set[str] = set()
        keys = list(by_hash)
        with self.reader.connect() as conn:
            for start in range(0, len(keys), CHUNK):
                chunk = keys[start : start + CHUNK]
                for (key,) in conn.execute(select(SeenUrlRow.url_hash).where(SeenUrlRow.url_hash.in_(chunk))):
                    seen.update(by_hash[key])
        return seen

    # -- listing validators (conditional re-reads) --------------------------------------------------

    def listing_validators(self, sources: Iterable[str] | None = None) -> dict[str, ListingValidator]:
        """ETag / Last-Modified by listing URL, as the last complete read of each listing left them."""
        return listings.load(self.reader, sources)

    def save_listing_validators(self, validators: Iterable[ListingValidator]) -> int:
        """Remember these listings' validators (replacing older ones); returns how many were kept."""
        return listings.save(self.engine, validators)

    # -- storing a batch ---------------------------------------------------------------------------

    def store(self, outcomes: Sequence[PageOutcome], run_id: int) -> StoreResult:
        """Write one batch in one transaction; on any error nothing is written and the error propagates."""
        return self._writer.store(outcomes, run_id)

    def load_index(self) -> int:
        """Load the near-duplicate index from the database now (else the first store does); its size."""
        with self.reader.connect() as conn:
            self._writer.refresh_index(conn)
        return self._writer.index_size

    # -- re-classification -------------------------------------------------------------------------

    def iter_articles(self, batch_size: int = 500) -> Iterator[list[StoredArticle]]:
        """Every stored article with its current verdict's classifier version, in batches by id."""
        last = 0
        while True:
            with self.reader.connect() as conn:
                rows = conn.execute(
                    select(
                        ArticleRow.id,
                        ArticleRow.source,
                        ArticleRow.title,
                        ArticleRow.text,
                        VerdictRow.classifier_version,
                        VerdictRow.is_hit,
                    )
                    .outerjoin(VerdictRow, (VerdictRow.article_id == ArticleRow.id) & VerdictRow.is_current)
                    .where(ArticleRow.id > last)
                    .order_by(ArticleRow.id)
                    .limit(batch_size)
                ).all()
            if not rows:
                return
            last = rows[-1].id
            yield [
                StoredArticle(
                    r.id,
                    r.source,
                    r.title,
                    r.text,
                    r.classifier_version,
                    None if r.is_hit is None else bool(r.is_hit),
                )
                for r in rows
            ]

    def count_articles(self) -> int:
        with self.reader.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(ArticleRow)).scalar_one())

    def replace_verdicts(self, verdicts: Sequence[tuple[int, Verdict]]) -> int:
        """Retire the current verdicts of these articles and record the new ones, in one transaction."""
        with self.engine.begin() as conn:
            ids = [article_id for article_id, _ in verdicts]
            for start in range(0, len(ids), CHUNK):
                conn.execute(
                    update(VerdictRow)
                    .where(VerdictRow.article_id.in_(ids[start : start + CHUNK]), VerdictRow.is_current)
                    .values(is_current=False)
                )
            if verdicts:
                conn.execute(insert(VerdictRow), [verdict_row(article_id, v) for article_id, v in verdicts])
        return len(verdicts)

    # -- reading results ---------------------------------------------------------------------------

    def hits(self, query: HitQuery | None = None, /, **filters: Any) -> list[Hit]:
        """Articles whose current verdict is a hit, newest first, filtered (a ``HitQuery`` or its fields)."""
        return query_hits(self.reader, query or HitQuery(**filters))

    def pending_hits(self, since: datetime | None = None, limit: int | None = None) -> list[Hit]:
        """Hits not yet attached to a sent digest, newest first."""
        return query_hits(self.reader, HitQuery(since=since, limit=limit, pending_only=True))

    def mark_digest_sent(self, article_ids: Sequence[int], recipients: Sequence[str]) -> int:
        """Record a sent digest and attach these hits to it in one transaction; returns the digest id.

        Hits already attached to another digest stay with it, so a retried send never claims them twice.
        """
        with self.engine.begin() as conn:
            now = utcnow()
            digest_id = conn.execute(
                insert(DigestRow)
                .values(created_at=now, sent_at=now, status="sent", recipients=json.dumps(list(recipients)))
                .returning(DigestRow.id)
            ).scalar_one()
            ids = list(article_ids)
            for start in range(0, len(ids), CHUNK):
                conn.execute(
                    update(ArticleRow)
                    .where(ArticleRow.id.in_(ids[start : start + CHUNK]), ArticleRow.digest_id.is_(None))
                    .values(digest_id=digest_id)
                )
        return int(digest_id)

    # -- the digest's delivery (storage/digests.py holds the protocol) -----------------------------------

    def claim_digest(
        self,
        article_ids: Sequence[int],
        message_id: str,
        subject: str,
        message: str,
        recipients: Sequence[str],
        stories: int,
        now: datetime,
    ) -> int | None:
        """Attach these hits to a new "sending" digest in one transaction; None if one was claimed first."""
        return digests.claim(self.engine, article_ids, message_id, subject, message, recipients, stories, now)

    def unfinished_digests(self, now: datetime, lease: float) -> list[DigestRecord]:
        """Digests claimed but not known sent, whose lease is over: to be resent as the same message."""
        return digests.unfinished(self.reader, now, lease)

    def take_over_digest(self, digest_id: int, now: datetime, lease: float) -> bool:
        return digests.take_over(self.engine, digest_id, now, lease)

    def digest_retrying(self, digest_id: int, now: datetime, error: str) -> None:
        digests.retrying(self.engine, digest_id, now, error)

    def digest_sent(self, digest_id: int, now: datetime) -> None:
        digests.mark_sent(self.engine, digest_id, now)

    def digest_failed(self, digest_id: int, error: str) -> None:
        """The server did not take the digest: its hits become pending again."""
        digests.release(self.engine, digest_id, error)

    def digest_unsure(self, digest_id: int, error: str) -> None:
        """The server may have taken the digest: it stays claimed, to be resent with its Message-ID."""
        digests.leave_unsure(self.engine, digest_id, error)

    def digest(self, digest_id: int) -> DigestRecord | None:
        return digests.find(self.reader, digest_id)

    def last_digest_sent_at(self) -> datetime | None:
        return digests.last_sent(self.reader)

    def story_sources(self, story_ids: Sequence[int]) -> dict[int, tuple[StorySource, ...]]:
        """Every article of these stories, with its outlet, URL and date."""
        return digests.story_sources(self.reader, story_ids)

    def stories(self, query: HitQuery | None = None, /, **filters: Any) -> list[Story]:
        """Stories with at least one article matching the filters (a hit, unless ``hits_only`` is False)."""
        return query_stories(self.reader, query or HitQuery(**filters))

    def story_page(self, query: HitQuery) -> tuple[list[Story], int]:
        """One page of the matching stories (``offset``, ``limit``), newest first, and how many match in all."""
        return story_page(self.reader, query)

    # -- the analyst's review (web view, feedback) ------------------------------------------------------

    def story(self, story_id: int) -> tuple[Story, list[StoryArticle]] | None:
        """One story (hit or not) with every article and its current verdict; None for an unknown id."""
        from storage.results import stories_by_id

        if not 0 < story_id <= MAX_ID:
            return None
        with self.reader.connect() as conn:
            found = stories_by_id(conn, [story_id])
        return (found[0], review.story_articles(self.reader, story_id)) if found else None

    def add_judgement(self, author: str, judgement: str, **target: Any) -> Judgement | None:
        """Store an analyst's right/wrong/missed; None when the story or article named does not exist."""
        return review.add_judgement(self.engine, author, judgement, **target)

    def judgements(self, story_id: int | None = None, limit: int = 200) -> list[Judgement]:
        """Judgements newest first, of one story and its articles or of everything."""
        return review.judgements(self.reader, story_id, limit)

    def labelled_feedback(self) -> list[dict[str, Any]]:
        """Judged articles as labelled records, the shape of ../shared/data/labelled/*.jsonl."""
        return review.labelled_records(self.reader)

    def unlabelled_missed(self) -> int:
        """Missed hits given by URL only that rasid never stored: the labelled export cannot hold them."""
        return review.unlabelled_missed(self.reader)

    def feedback_precision(self) -> list[WeekPrecision]:
        """Precision of the stored verdicts on judged hits, per ISO week of the hits."""
        return review.precision_by_week(self.reader)

    def known_sources(self) -> list[str]:
        """Names of every source a run or an article has named, sorted."""
        with self.reader.connect() as conn:
            return list(conn.execute(select(SourceRow.name).order_by(SourceRow.name)).scalars())

    def sources_seen(self) -> list[str]:
        """Names of the sources with at least one stored article, for the web view's filter."""
        with self.reader.connect() as conn:
            return list(
                conn.execute(select(ArticleRow.source).distinct().order_by(ArticleRow.source)).scalars()
            )


#: Status of a one-off run whose process ended without recording its end.
ORPHANED = (
    "failed: its process ended before recording the run's end (killed, or the database was unreachable)"
)


def _abandon_orphaned_runs(conn: Connection) -> None:
    """Record as failed the one-off runs of this host still 'running' whose process is certainly gone.

    A crawl killed with SIGKILL, or cut off from its database when it came to record its end, cannot say so
    itself; the next run on the same host can (storage/owners.py says how a process is told gone). Runs of
    other hosts, and processes this one cannot see, are left alone.
    """
    rows = conn.execute(
        select(CrawlRunRow.id, CrawlRunRow.pid, CrawlRunRow.owner).where(
            CrawlRunRow.job.is_(None),
            CrawlRunRow.outcome == "running",
            CrawlRunRow.host == socket.gethostname(),
            CrawlRunRow.pid.is_not(None),
            CrawlRunRow.owner.is_not(None),
        )
    ).all()
    gone = [row.id for row in rows if owners.is_gone(row.owner, row.pid)]
    if gone:
        conn.execute(
            update(CrawlRunRow)
            .where(CrawlRunRow.id.in_(gone))
            .values(outcome="failed", status=ORPHANED, finished_at=utcnow())
        )
        logger.warning("%d earlier runs whose process ended unrecorded marked failed: %s", len(gone), gone)
