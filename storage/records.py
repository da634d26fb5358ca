"""What storage hands out (``Hit``, ``Story``, ``RunSummary``) and takes in (``ArticleLike``).

Stdlib only, so the CLI and the digest can use these types without importing SQLAlchemy models,
which never leave ``storage/``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from classifiers.verdict import Verdict


#: The status of a finished crawl run in which no request was answered (offline, every outlet down): a failed
#: run, so `rasid status` shows it rather than a quiet day, and each of its sources counts it towards backoff.
NOTHING_ANSWERED = "failed: no source answered (every request failed)"


class ArticleLike(Protocol):
    """The fields storage needs from an extracted article (``crawler.article.Article`` has them)."""

    url: str
    canonical_url: str
    source: str
    title: str
    text: str
    published: datetime | None
    author: str | None
    lang: str | None
    fetched_at: datetime


@dataclass(frozen=True, slots=True)
class PageOutcome:
    """One processed page, written in one transaction with the rest of its batch.

    Every URL in ``urls`` is marked seen, so the page is not fetched again; a page that gave no
    article (``article is None``) is marked seen too, with its ``skip_reason``. Pages lost to a
    network error never become outcomes, so they are retried next run.
    """

    source: str
    urls: tuple[str, ...]  # the URL as listed, and the final URL after redirects
    article: ArticleLike | None = None
    verdict: Verdict | None = None
    skip_reason: str | None = None  # "no-article", "too-old", "undecodable", ... when article is None


@dataclass(frozen=True, slots=True)
class ListingValidator:
    """What a listing (feed, sitemap, section page) last answered with, for a conditional re-read."""

    url: str  # as requested
    source: str
    etag: str | None = None
    last_modified: str | None = None


@dataclass(frozen=True, slots=True)
class StoreResult:
    """What one batch write did."""

    new_articles: int = 0
    new_hits: int = 0
    duplicates: int = 0  # exact or near copies of a stored article (same story, another source)
    already_stored: int = 0  # canonical URL (or the same outlet's same text) was stored before
    hits_seen_again: int = 0  # of those, flagged ones: the stored article is the hit, not a new one


@dataclass(frozen=True, slots=True)
class RunSummary:
    """Counters of one crawl run, stored so `rasid sources` can show each outlet's health."""

    pages_fetched: int = 0  # article pages fetched
    articles_extracted: int = 0
    articles_stored: int = 0  # stored for the first time
    hits: int = 0  # flagged articles stored for the first time in this run (as `rasid hits` lists them)
    skipped: int = 0  # pages lost to bad input (no article, undecodable, too old...)
    errors: int = 0  # requests that failed (DNS, refused, timeout, 4xx/5xx) and batches not stored
    per_source: dict[str, dict[str, int]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class HitQuery:
    """The analyst's filters on hits and stories, carried unchanged from the CLI (or the web view) to SQL.

    ``partner`` and ``sector`` are the classifier's canonical names ("China", "energy"); the CLI resolves
    what the analyst typed (Arabic or English) to them first.
    """

    since: datetime | None = None
    source: str | None = None
    partner: str | None = None
    sector: str | None = None
    search: str | None = None  # Arabic text, matched after the classifier's normalisation
    limit: int | None = None
    offset: int = 0  # stories: skip this many of the newest first (a page of the web view)
    until: datetime | None = None  # stories: only those whose event came before this
    pending_only: bool = False  # hits not yet attached to a sent digest
    hits_only: bool = True  # stories: only those with a hit among their articles


@dataclass(frozen=True, slots=True)
class Hit:
    """A stored article with a positive verdict, as the analyst sees it."""

    article_id: int
    url: str
    source: str
    title: str
    published: datetime | None
    score: float
    terms: tuple[str, ...]  # surface forms of the matched terms
    partners: tuple[str, ...]
    sectors: tuple[str, ...]
    evidence: tuple[str, ...]
    story_id: int | None = None
    fetched_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Story:
    """One event reported by one or more sources: near-duplicate articles grouped."""

    story_id: int
    title: str
    first_seen: datetime
    published: datetime | None
    sources: tuple[str, ...]
    urls: tuple[str, ...]
    is_hit: bool
    partners: tuple[str, ...] = ()
    sectors: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Term:
    """One matched term of a stored verdict: its group, its spelling in the text, and its sentence."""

    group: str
    surface: str
    sentence: str


@dataclass(frozen=True, slots=True)
class StoryArticle:
    """One member article of a story with its current verdict, as the web view's story page shows it."""

    article_id: int
    url: str
    source: str
    title: str
    published: datetime | None
    fetched_at: datetime
    is_hit: bool | None  # None: never classified
    score: float | None
    classifier_version: str | None
    partners: tuple[str, ...]
    sectors: tuple[str, ...]
    evidence: tuple[str, ...]
    terms: tuple[Term, ...]


@dataclass(frozen=True, slots=True)
class Judgement:
    """An analyst's judgement of a story or article (right, wrong) or a hit rasid missed."""

    feedback_id: int
    created_at: datetime
    author: str
    judgement: str  # "right", "wrong" or "missed"
    label: bool  # the truth as the analyst tells it: True = a hit
    story_id: int | None = None
    article_id: int | None = None
    verdict_hit: bool | None = None
    url: str | None = None
    title: str | None = None
    note: str | None = None


@dataclass(frozen=True, slots=True)
class WeekPrecision:
    """The stored verdicts' precision on the hits judged, for the hits of one ISO week."""

    week: str  # "2026-W48"
    judged_hits: int
    right: int
    missed: int  # hits the analysts added that rasid had not flagged

    @property
    def precision(self) -> float | None:
        return self.right / self.judged_hits if self.judged_hits else None


@dataclass(frozen=True, slots=True)
class StorySource:
    """One article of a story, as the digest lists it: which outlet ran it, where, and when."""

    source: str
    url: str
    published: datetime | None


@dataclass(frozen=True, slots=True)
class DigestRecord:
    """A claimed digest: the message as it was fixed when its hits were attached, and how sending went."""

    digest_id: int
    status: str  # "sending", "sent" or "failed"
    message_id: str
    subject: str
    message: str  # the whole MIME message, resent byte for byte
    recipients: tuple[str, ...]
    hits: int
    stories: int
    attempts: int
    created_at: datetime
    sent_at: datetime | None
    last_error: str | None
