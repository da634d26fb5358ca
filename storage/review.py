"""The analyst's review: a story's articles with their verdicts, and judgements stored, read and exported.

A judgement of a story applies to each of its articles; a later judgement of an article overrides an
earlier one, so the labelled export and the precision figures use each article's latest judgement.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, func, insert, or_, select
from sqlalchemy.orm import Session

from storage import dedup
from storage.models import MAX_ID, ArticleRow, FeedbackRow, StoryRow, VerdictRow, utcnow
from storage.records import Judgement, StoryArticle, Term, WeekPrecision
from storage.urls import url_forms

JUDGEMENTS = ("right", "wrong", "missed")


@dataclass(frozen=True, slots=True)
class _Labelled:
    label: bool
    verdict_hit: bool | None
    judged_at: datetime


def story_title(conn: Connection, story_id: int) -> str | None:
    return conn.execute(select(StoryRow.title).where(StoryRow.id == story_id)).scalar_one_or_none()


def story_articles(engine: Engine, story_id: int) -> list[StoryArticle]:
    """Every article of the story with its current verdict, oldest first; empty for an unknown story."""
    query = (
        select(ArticleRow, VerdictRow)
        .outerjoin(VerdictRow, (VerdictRow.article_id == ArticleRow.id) & VerdictRow.is_current)
        .where(ArticleRow.story_id == story_id)
        .order_by(ArticleRow.id)
    )
    with Session(engine) as session:
        return [_story_article(article, verdict) for article, verdict in session.execute(query)]


def _story_article(article: ArticleRow, verdict: VerdictRow | None) -> StoryArticle:
    matches = json.loads(verdict.matches) if verdict else []
    return StoryArticle(
        article_id=article.id,
        url=article.url,
        source=article.source,
        title=article.title,
        published=article.published,
        fetched_at=article.fetched_at,
        is_hit=None if verdict is None else bool(verdict.is_hit),
        score=None if verdict is None else verdict.score,
        classifier_version=(verdict.classifier_version or None) if verdict else None,
        partners=tuple(json.loads(verdict.partners)) if verdict else (),
        sectors=tuple(json.loads(verdict.sectors)) if verdict else (),
        evidence=tuple(json.loads(verdict.evidence)) if verdict else (),
        terms=tuple(Term(m["group"], m["surface"], m["sentence"]) for m in matches),
    )


def add_judgement(
    engine: Engine,
    author: str,
    judgement: str,
    *,
    story_id: int | None = None,
    article_id: int | None = None,
    url: str | None = None,
    title: str | None = None,
    text: str | None = None,
    note: str | None = None,
) -> Judgement | None:
    """Store one judgement in one transaction; None when the story or article it names does not exist.

    "right"/"wrong" judge a story or an article against what rasid said; "missed" adds a hit rasid did
    not flag, linked to the stored article when its URL is one rasid has.
    """
    if judgement not in JUDGEMENTS:
        raise ValueError(f"unknown judgement {judgement!r}")
    if any(key is not None and not 0 < key <= MAX_ID for key in (story_id, article_id)):
        return None
    with engine.begin() as conn:
        if judgement == "missed" and url and article_id is None:
            article_id = _article_by_url(conn, url)
        verdict_hit: bool | None
        version: str | None = None
        if article_id is not None:
            row = conn.execute(
                select(ArticleRow.story_id, VerdictRow.is_hit, VerdictRow.classifier_version)
                .outerjoin(VerdictRow, (VerdictRow.article_id == ArticleRow.id) & VerdictRow.is_current)
                .where(ArticleRow.id == article_id)
            ).first()
            if row is None:
                return None
            story_id = story_id or row.story_id
            verdict_hit, version = bool(row.is_hit), row.classifier_version
        elif story_id is not None:
            flags = conn.execute(
                select(VerdictRow.is_hit, VerdictRow.classifier_version)
                .join(ArticleRow, (VerdictRow.article_id == ArticleRow.id) & VerdictRow.is_current)
                .where(ArticleRow.story_id == story_id)
            ).all()
            if story_title(conn, story_id) is None:
                return None
            verdict_hit = any(bool(f.is_hit) for f in flags)
            version = next((f.classifier_version for f in flags if f.classifier_version), None)
        else:
            verdict_hit = None
        label = True if judgement == "missed" else (judgement == "right") == bool(verdict_hit)
        values = dict(
            created_at=utcnow(),
            author=author,
            judgement=judgement,
            story_id=story_id,
            article_id=article_id,
            label=label,
            verdict_hit=verdict_hit,
            classifier_version=version or None,
            url=url or None,
            title=title or None,
            text=text or None,
            note=note or None,
        )
        new_id = conn.execute(insert(FeedbackRow).values(**values).returning(FeedbackRow.id)).scalar_one()
    return _judgement_of(new_id, values)


def _article_by_url(conn: Connection, url: str) -> int | None:
    keys = [dedup.url_hash(form) for form in url_forms(url)]
    found = conn.execute(select(ArticleRow.id).where(ArticleRow.canonical_hash.in_(keys))).first()
    if found is None:
        found = conn.execute(select(ArticleRow.id).where(ArticleRow.url == url.strip())).first()
    return None if found is None else int(found.id)


def _judgement_of(feedback_id: int, row: Any) -> Judgement:
    """A Judgement from a FeedbackRow row or from the dict of values just inserted."""
    values = row if isinstance(row, dict) else row._mapping
    return Judgement(
        feedback_id=int(feedback_id),
        created_at=values["created_at"],
        author=values["author"],
        judgement=values["judgement"],
        label=bool(values["label"]),
        story_id=values["story_id"],
        article_id=values["article_id"],
        verdict_hit=values["verdict_hit"],
        url=values["url"],
        title=values["title"],
        note=values["note"],
    )


def judgements(engine: Engine, story_id: int | None = None, limit: int = 200) -> list[Judgement]:
    """Judgements newest first: of one story and its articles, or of everything."""
    query = select(FeedbackRow).order_by(FeedbackRow.created_at.desc(), FeedbackRow.id.desc()).limit(limit)
    if story_id is not None:
        members = select(ArticleRow.id).where(ArticleRow.story_id == story_id)
        query = query.where(or_(FeedbackRow.story_id == story_id, FeedbackRow.article_id.in_(members)))
    with engine.connect() as conn:
        return [_judgement_of(row.id, row) for row in conn.execute(query)]


def _latest_labels(conn: Connection) -> dict[int, _Labelled]:
    """Each judged article's latest label; a story's judgement reaches each of its articles."""
    labels: dict[int, _Labelled] = {}
    rows = conn.execute(
        select(FeedbackRow)
        .where(FeedbackRow.story_id.is_not(None) | FeedbackRow.article_id.is_not(None))
        .order_by(FeedbackRow.created_at, FeedbackRow.id)
    ).all()
    story_ids = {r.story_id for r in rows if r.article_id is None}
    members: dict[int, list[tuple[int, bool]]] = {}
    if story_ids:
        for m in conn.execute(
            select(ArticleRow.story_id, ArticleRow.id, VerdictRow.is_hit)
            .outerjoin(VerdictRow, (VerdictRow.article_id == ArticleRow.id) & VerdictRow.is_current)
            .where(ArticleRow.story_id.in_(story_ids))
        ):
            members.setdefault(m.story_id, []).append((m.id, bool(m.is_hit)))
    for row in rows:
        if row.article_id is not None:
            labels[row.article_id] = _Labelled(row.label, row.verdict_hit, row.created_at)
            continue
        for article_id, is_hit in members.get(row.story_id, []):
            # A story judged right is a hit for each of its articles; wrong, a non-hit.
            labels[article_id] = _Labelled(row.label, is_hit, row.created_at)
    return labels


def _kind(label: bool, matches: Iterable[dict[str, Any]]) -> str:
    """The labelled files' kind; for a non-hit, told from the stored verdict's term groups."""
    if label:
        return "positive"
    groups = {m["group"].split(":")[0] for m in matches}
    if "russia" in groups:
        return "russia-no-cooperation"
    return "cooperation-no-russia" if "cooperation" in groups else "other"


def labelled_records(engine: Engine) -> list[dict[str, Any]]:
    """The judgements as labelled records (id, source, url, title, text, label, kind), oldest article first.

    A missed hit whose URL rasid never stored comes with what the analyst pasted; one with neither title
    nor text is left out, since nothing could be classified.
    """
    with engine.connect() as conn:
        labels = _latest_labels(conn)
        records: list[dict[str, Any]] = []
        ids = sorted(labels)
        for start in range(0, len(ids), 500):
            for row in conn.execute(
                select(
                    ArticleRow.id,
                    ArticleRow.source,
                    ArticleRow.url,
                    ArticleRow.title,
                    ArticleRow.text,
                    VerdictRow.matches,
                )
                .outerjoin(VerdictRow, (VerdictRow.article_id == ArticleRow.id) & VerdictRow.is_current)
                .where(ArticleRow.id.in_(ids[start : start + 500]))
                .order_by(ArticleRow.id)
            ):
                label = labels[row.id].label
                records.append(
                    dict(
                        id=f"feedback-article-{row.id}",
                        source=row.source,
                        url=row.url,
                        title=row.title,
                        text=row.text,
                        label=label,
                        kind=_kind(label, json.loads(row.matches or "[]")),
                    )
                )
        for missed in conn.execute(
            select(FeedbackRow)
            .where(FeedbackRow.article_id.is_(None), FeedbackRow.story_id.is_(None))
            .order_by(FeedbackRow.id)
        ):
            if missed.title or missed.text:
                records.append(
                    dict(
                        id=f"feedback-missed-{missed.id}",
                        source=None,
                        url=missed.url,
                        title=missed.title or "",
                        text=missed.text or "",
                        label=True,
                        kind="positive",
                    )
                )
    return records


def unlabelled_missed(engine: Engine) -> int:
    """Missed hits given by URL only, whose article rasid never stored: the export cannot include them."""
    with engine.connect() as conn:
        return int(
            conn.execute(
                select(func.count())
                .select_from(FeedbackRow)
                .where(
                    FeedbackRow.article_id.is_(None),
                    FeedbackRow.story_id.is_(None),
                    func.coalesce(FeedbackRow.title, "") == "",
                    func.coalesce(FeedbackRow.text, "") == "",
                )
            ).scalar_one()
        )


def precision_by_week(engine: Engine) -> list[WeekPrecision]:
    """Per ISO week of the hits (published, else fetched): judged hits, those judged right, and misses."""
    with engine.connect() as conn:
        labels = _latest_labels(conn)
        ids = sorted(labels)
        when: dict[int, datetime] = {}
        for start in range(0, len(ids), 500):
            for row in conn.execute(
                select(ArticleRow.id, ArticleRow.published, ArticleRow.fetched_at).where(
                    ArticleRow.id.in_(ids[start : start + 500])
                )
            ):
                when[row.id] = row.published or row.fetched_at
        missed_rows = conn.execute(
            select(FeedbackRow.created_at, FeedbackRow.article_id).where(FeedbackRow.judgement == "missed")
        ).all()
    weeks: dict[str, list[int]] = {}
    for article_id, labelled in labels.items():
        if labelled.verdict_hit and article_id in when:
            counts = weeks.setdefault(_week(when[article_id]), [0, 0, 0])
            counts[0] += 1
            counts[1] += int(labelled.label)
    for missed in missed_rows:
        day = when.get(missed.article_id, missed.created_at) if missed.article_id else missed.created_at
        weeks.setdefault(_week(day), [0, 0, 0])[2] += 1
    return [WeekPrecision(week, *counts) for week, counts in sorted(weeks.items())]


def _week(day: datetime) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"
