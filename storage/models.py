"""The tables, as typed SQLAlchemy 2 models; they never leave ``storage/`` (records.py holds what does).

The Alembic revisions in ``storage/migrations/versions`` create exactly these tables; a test compares
the two so they cannot drift.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

#: Constraint names fixed by convention, so migrations (and SQLite batch mode) can refer to them.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

#: 64-bit ids on PostgreSQL; SQLite only auto-increments an INTEGER PRIMARY KEY.
BigId = BigInteger().with_variant(Integer, "sqlite")
#: The largest id either database can hold (signed 64 bits): a larger one, typed into a URL, names no row
#: and would make the driver fail (SQLite's OverflowError, PostgreSQL's out of range).
MAX_ID = 2**63 - 1


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in and out on both engines (SQLite would hand back naive ones)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class SourceRow(Base):
    """An outlet from sources.yaml, added the first time a run or an article names it."""

    __tablename__ = "sources"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    first_seen: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CrawlRunRow(Base):
    """One crawl run and its counters (a RunSummary), for `rasid sources` and health checks."""

    __tablename__ = "crawl_runs"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(Text, default="running")  # "ok", or why the run stopped
    sources: Mapped[str] = mapped_column(Text, default="[]")  # JSON list of source names
    snapshot: Mapped[bool] = mapped_column(Boolean, default=False)
    pages_fetched: Mapped[int] = mapped_column(Integer, default=0)
    articles_extracted: Mapped[int] = mapped_column(Integer, default=0)
    articles_stored: Mapped[int] = mapped_column(Integer, default=0)
    hits: Mapped[int] = mapped_column(Integer, default=0)
    skipped: Mapped[int] = mapped_column(Integer, default=0)
    errors: Mapped[int] = mapped_column(Integer, default=0)
    per_source: Mapped[str] = mapped_column(Text, default="{}")  # JSON {source: {counter: n}}
    # Added by revision 0006 (the daemon): which scheduled job ran it (None: a one-off `rasid crawl`)
    # and how it ended: "running", "ok", "failed", "skipped" or "interrupted"; `status` says why.
    job: Mapped[str | None] = mapped_column(Text, index=True)
    outcome: Mapped[str | None] = mapped_column(String(20))
    # Added by revision 0011: the process that records the run, so a run its process never finished can be
    # told from one still going (storage/owners.py; None on runs recorded before it, and off Linux).
    pid: Mapped[int | None] = mapped_column(Integer)
    host: Mapped[str | None] = mapped_column(Text)
    owner: Mapped[str | None] = mapped_column(Text)  # boot id, pid namespace, start tick


class DaemonRow(Base):
    """One start of `rasid daemon`: its pid and a heartbeat, so `rasid status` can tell whether it runs."""

    __tablename__ = "daemons"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    pid: Mapped[int] = mapped_column(Integer)
    host: Mapped[str] = mapped_column(Text)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    heartbeat_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    stopped_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    snapshot_url: Mapped[str | None] = mapped_column(Text)
    sources: Mapped[str] = mapped_column(Text, default="{}")  # JSON {source: its crawl interval in seconds}


class SeenUrlRow(Base):
    """A URL already fetched and decided on, keyed by a hash because Arabic URLs outgrow index limits."""

    __tablename__ = "seen_urls"

    url_hash: Mapped[str] = mapped_column(String(40), primary_key=True)  # sha1 hex of the URL
    url: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(ForeignKey("sources.name"))
    run_id: Mapped[int | None] = mapped_column(ForeignKey("crawl_runs.id", ondelete="SET NULL"))
    skip_reason: Mapped[str | None] = mapped_column(Text)
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ListingValidatorRow(Base):
    """A listing's (feed, sitemap, section page) last ETag / Last-Modified, for a conditional re-read (0010)."""

    __tablename__ = "listing_validators"

    url_hash: Mapped[str] = mapped_column(String(40), primary_key=True)  # sha1 hex of the URL as requested
    url: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(Text)  # no foreign key: a validator is a cache, not a record
    etag: Mapped[str | None] = mapped_column(Text)
    last_modified: Mapped[str | None] = mapped_column(Text)
    checked_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class DigestRow(Base):
    """A digest e-mail: "sending" (claimed, its hits attached), "sent", or "failed" (its hits released)."""

    __tablename__ = "digests"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(20), default="pending", index=True)
    recipients: Mapped[str] = mapped_column(Text, default="[]")
    # Added by revision 0009 (delivery): fixed when the digest is claimed, kept for every resend.
    message_id: Mapped[str | None] = mapped_column(Text, unique=True, index=True)
    subject: Mapped[str | None] = mapped_column(Text)
    message: Mapped[str | None] = mapped_column(Text)  # the whole MIME message, ASCII (base64 parts)
    hits: Mapped[int | None] = mapped_column(Integer)
    stories: Mapped[int | None] = mapped_column(Integer)
    attempts: Mapped[int | None] = mapped_column(Integer)
    attempt_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)


class StoryRow(Base):
    """One event: every article that is an exact or near copy of another joins its story."""

    __tablename__ = "stories"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    title: Mapped[str] = mapped_column(Text)
    first_seen: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ArticleRow(Base):
    """One article per canonical URL; copies under other URLs are rows of their own in the same story."""

    __tablename__ = "articles"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    canonical_hash: Mapped[str] = mapped_column(String(40), unique=True)  # sha1 hex of canonical_url
    canonical_url: Mapped[str] = mapped_column(Text)
    url: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(ForeignKey("sources.name"), index=True)
    title: Mapped[str] = mapped_column(Text)
    text: Mapped[str] = mapped_column(Text)
    published: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    author: Mapped[str | None] = mapped_column(Text)
    lang: Mapped[str | None] = mapped_column(Text)  # as the page declares it, unvalidated
    fetched_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)  # the near-duplicate window (0011)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("crawl_runs.id", ondelete="SET NULL"))
    digest_id: Mapped[int | None] = mapped_column(ForeignKey("digests.id", ondelete="SET NULL"), index=True)
    # Added by revision 0002 (de-duplication and stories).
    content_hash: Mapped[str | None] = mapped_column(String(40), index=True)  # sha1 of normalised text
    story_id: Mapped[int | None] = mapped_column(ForeignKey("stories.id"), index=True)
    duplicate_of: Mapped[int | None] = mapped_column(ForeignKey("articles.id"))


class VerdictRow(Base):
    """A classifier's verdict on an article; reclassifying adds a row and retires the previous one."""

    __tablename__ = "verdicts"
    __table_args__ = (Index("ix_verdicts_current", "article_id", "is_current"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"))
    is_current: Mapped[bool] = mapped_column(Boolean, default=True)
    is_hit: Mapped[bool] = mapped_column(Boolean, index=True)
    score: Mapped[float] = mapped_column(Float)
    classifier_version: Mapped[str] = mapped_column(String(80), default="")
    matches: Mapped[str] = mapped_column(Text, default="[]")  # JSON list of Match fields
    partners: Mapped[str] = mapped_column(Text, default="[]")  # JSON list; filtered with LIKE '%"name"%'
    sectors: Mapped[str] = mapped_column(Text, default="[]")
    evidence: Mapped[str] = mapped_column(Text, default="[]")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SignatureRow(Base):
    """An article's MinHash signature (uint32 values), so the LSH index is rebuilt without re-hashing text."""

    __tablename__ = "signatures"

    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True)
    hashvalues: Mapped[bytes] = mapped_column(LargeBinary)


class FeedbackRow(Base):
    """An analyst's judgement: a story or article is right or wrong, or a hit rasid missed (added by 0008).

    ``label`` is the truth as the analyst tells it (True: a hit); ``verdict_hit`` what rasid said when judged,
    so precision on judged hits is computed without re-running the classifier.
    """

    __tablename__ = "feedback"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    author: Mapped[str] = mapped_column(Text)  # the logged-in analyst, or "local"
    judgement: Mapped[str] = mapped_column(String(10))  # "right", "wrong" or "missed"
    story_id: Mapped[int | None] = mapped_column(ForeignKey("stories.id", ondelete="SET NULL"), index=True)
    article_id: Mapped[int | None] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"), index=True)
    label: Mapped[bool] = mapped_column(Boolean)
    verdict_hit: Mapped[bool | None] = mapped_column(Boolean)
    classifier_version: Mapped[str | None] = mapped_column(String(80))
    url: Mapped[str | None] = mapped_column(Text)  # a missed story's URL, when not stored
    title: Mapped[str | None] = mapped_column(Text)
    text: Mapped[str | None] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(Text)
