"""A prepared repository on each engine, and builders of the pages the crawler would hand storage."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest

from classifiers.verdict import Match, Verdict
from storage.db import make_engine
from storage.records import PageOutcome
from storage.repository import Repository

#: The publication date articles get unless a test gives one (a day in the past; nothing depends on which).
PUBLISHED = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class FakeArticle:
    """Has the fields of storage.records.ArticleLike (crawler.article.Article is not storage's to import)."""

    url: str
    canonical_url: str
    source: str
    title: str
    text: str
    published: datetime | None = PUBLISHED
    author: str | None = None
    lang: str | None = "ar"
    fetched_at: datetime = field(default_factory=lambda: datetime.now(UTC))  # inside the near-dup window


def hit_verdict(
    partners: tuple[str, ...] = ("الصين",), sectors: tuple[str, ...] = ("energy",), version: str = "kw-1"
) -> Verdict:
    return Verdict(
        is_hit=True,
        score=3.0,
        matches=(Match("russia", "روسيا", "وروسيا", "وقعت الصين وروسيا اتفاقية.", "body"),),
        partners=partners,
        sectors=sectors,
        evidence=("وقعت الصين وروسيا اتفاقية.",),
        classifier_version=version,
    )


def miss_verdict(version: str = "kw-1") -> Verdict:
    return Verdict(is_hit=False, score=0.0, classifier_version=version)


def outcome(
    url: str,
    text: str,
    source: str = "sana",
    title: str = "عنوان",
    verdict: Verdict | None = None,
    canonical: str | None = None,
    extra_urls: tuple[str, ...] = (),
    fetched_at: datetime | None = None,
    published: datetime | None = PUBLISHED,
) -> PageOutcome:
    article = FakeArticle(
        url=url,
        canonical_url=canonical or url,
        source=source,
        title=title,
        text=text,
        published=published,
        fetched_at=fetched_at or datetime.now(UTC),
    )
    return PageOutcome(
        source=source, urls=(url, *extra_urls), article=article, verdict=verdict or hit_verdict()
    )


@pytest.fixture
def repo(database_url: str) -> Iterator[Repository]:
    engine = make_engine(database_url)
    repository = Repository(engine)
    repository.prepare()
    yield repository
    engine.dispose()
