"""Reading what was found: hits per article and stories across sources, with the analyst's filters.

Partner and sector filters match the JSON lists stored with each verdict; ``search`` matches the
title and text after the classifier's Arabic normalisation, so "ايران" finds "إيران".
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace
from typing import Any, TypeVar

from sqlalchemy import Engine, Select, func, select
from sqlalchemy.orm import Session

from classifiers.normalize import normalize
from storage.models import ArticleRow, StoryRow, UTCDateTime, VerdictRow
from storage.records import Hit, HitQuery, Story

SelectT = TypeVar("SelectT", bound=Select)  # type: ignore[type-arg]  # any row shape
#: Rows fetched per round when a text search filters in Python after SQL has narrowed the set.
SEARCH_ROUND = 2000


def _when() -> Any:
    return func.coalesce(ArticleRow.published, ArticleRow.fetched_at)


def _json_member(column: Any, value: str) -> Any:
    """The stored JSON list holds ``value`` (case-insensitive for Latin names)."""
    needle = (
        json.dumps(value, ensure_ascii=False).replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    )
    return column.ilike(f"%{needle}%", escape="\\")


def _filtered(query: SelectT, filters: HitQuery) -> SelectT:
    if filters.hits_only:
        query = query.where(VerdictRow.is_hit)
    if filters.since is not None:
        query = query.where(_when() >= filters.since)
    if filters.source:
        query = query.where(ArticleRow.source == filters.source)
    if filters.partner:
        query = query.where(_json_member(VerdictRow.partners, filters.partner))
    if filters.sector:
        query = query.where(_json_member(VerdictRow.sectors, filters.sector))
    if filters.pending_only:
        query = query.where(ArticleRow.digest_id.is_(None))
    return query


def _matches_search(title: str, text: str, needle: str | None) -> bool:
    return needle is None or needle in normalize(title) or needle in normalize(text)


def _needle(search: str | None) -> str | None:
    needle = normalize(search).strip() if search else ""
    return needle or None


def query_hits(engine: Engine, filters: HitQuery) -> list[Hit]:
    """Articles whose current verdict is a hit, newest first (``hits_only`` is implied)."""
    needle, limit = _needle(filters.search), filters.limit
    query = _filtered(
        select(ArticleRow, VerdictRow).join(
            VerdictRow, (VerdictRow.article_id == ArticleRow.id) & VerdictRow.is_current
        ),
        replace(filters, hits_only=True),
    ).order_by(_when().desc(), ArticleRow.id.desc())
    with Session(engine) as session:  # an ORM session, so rows come back as (ArticleRow, VerdictRow)
        if needle is None:
            return [_hit(a, v) for a, v in session.execute(query.limit(limit) if limit else query)]
        hits: list[Hit] = []
        offset = 0
        while True:  # the text search runs in Python, so read in rounds until enough hits matched
            rows = session.execute(query.offset(offset).limit(SEARCH_ROUND)).all()
            for article, verdict in rows:
                if _matches_search(article.title, article.text, needle):
                    hits.append(_hit(article, verdict))
                    if limit and len(hits) >= limit:
                        return hits
            if len(rows) < SEARCH_ROUND:
                return hits
            offset += SEARCH_ROUND


def _hit(article: ArticleRow, verdict: VerdictRow) -> Hit:
    matches = json.loads(verdict.matches)
    return Hit(
        article_id=article.id,
        url=article.url,
        source=article.source,
        title=article.title,
        published=article.published,
        score=verdict.score,
        terms=tuple(dict.fromkeys(m["surface"] for m in matches)),
        partners=tuple(json.loads(verdict.partners)),
        sectors=tuple(json.loads(verdict.sectors)),
        evidence=tuple(json.loads(verdict.evidence)),
        story_id=article.story_id,
        fetched_at=article.fetched_at,
    )


def query_stories(engine: Engine, filters: HitQuery) -> list[Story]:
    """Stories with at least one article matching the filters, newest event first."""
    return story_page(engine, filters)[0]


def story_page(engine: Engine, filters: HitQuery) -> tuple[list[Story], int]:
    """The matching stories from ``offset`` (up to ``limit``), newest event first, and how many match in all.

    A story's event is its earliest publication date, else when rasid first saw it. The order, the count and
    the page are decided in SQL over story ids and dates; only the page's stories are built with their
    articles, so a page costs the same in a database of millions of stories. A text search is matched in
    Python (the classifier's normalisation), so its stories are ordered in Python, by id and date alone.
    """
    needle = _needle(filters.search)
    matching = _filtered(
        select(ArticleRow.story_id, ArticleRow.title, ArticleRow.text).outerjoin(
            VerdictRow, (VerdictRow.article_id == ArticleRow.id) & VerdictRow.is_current
        ),
        filters,
    ).where(ArticleRow.story_id.is_not(None))
    event = func.coalesce(func.min(ArticleRow.published), StoryRow.first_seen, type_=UTCDateTime)
    keyed = (
        select(StoryRow.id, event.label("event"))
        .join(ArticleRow, ArticleRow.story_id == StoryRow.id)
        .group_by(StoryRow.id, StoryRow.first_seen)
    )
    if filters.until is not None:
        keyed = keyed.having(event < filters.until)
    end = filters.offset + filters.limit if filters.limit else None
    with engine.connect() as conn:
        if needle is None:
            keyed = keyed.where(StoryRow.id.in_(matching.with_only_columns(ArticleRow.story_id)))
            total = conn.execute(select(func.count()).select_from(keyed.subquery())).scalar_one()
            page = keyed.order_by(event.desc(), StoryRow.id.desc()).offset(filters.offset)
            ids = list(conn.execute(page.limit(filters.limit) if filters.limit else page).scalars())
        else:
            found = {r.story_id for r in conn.execute(matching) if _matches_search(r.title, r.text, needle)}
            rows = [
                r
                for chunk in _chunks(sorted(found), 500)
                for r in conn.execute(keyed.where(StoryRow.id.in_(chunk)))
            ]
            rows.sort(key=lambda r: (r.event, r.id), reverse=True)
            total, ids = len(rows), [r.id for r in rows[filters.offset : end]]
        built = {s.story_id: s for chunk in _chunks(ids, 500) for s in stories_by_id(conn, chunk)}
    return [built[i] for i in ids], total


def _chunks(items: Sequence[int], size: int) -> list[Sequence[int]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def stories_by_id(conn: Any, story_ids: Sequence[int]) -> list[Story]:
    """Build the stories with every member article (not only the matching ones), oldest member first."""
    titles = {
        r.id: (r.title, r.first_seen)
        for r in conn.execute(select(StoryRow).where(StoryRow.id.in_(story_ids)))
    }
    members: dict[int, list[Any]] = {}
    rows = conn.execute(
        select(
            ArticleRow.story_id,
            ArticleRow.source,
            ArticleRow.canonical_url,
            ArticleRow.published,
            VerdictRow.is_hit,
            VerdictRow.partners,
            VerdictRow.sectors,
        )
        .outerjoin(VerdictRow, (VerdictRow.article_id == ArticleRow.id) & VerdictRow.is_current)
        .where(ArticleRow.story_id.in_(story_ids))
        .order_by(ArticleRow.id)
    )
    for row in rows:
        members.setdefault(row.story_id, []).append(row)
    stories = []
    for story_id, rows_of in members.items():
        title, first_seen = titles[story_id]
        published = [r.published for r in rows_of if r.published is not None]
        stories.append(
            Story(
                story_id=story_id,
                title=title,
                first_seen=first_seen,
                published=min(published) if published else None,
                sources=tuple(dict.fromkeys(r.source for r in rows_of)),
                urls=tuple(dict.fromkeys(r.canonical_url for r in rows_of)),
                is_hit=any(bool(r.is_hit) for r in rows_of),
                partners=tuple(dict.fromkeys(p for r in rows_of for p in json.loads(r.partners or "[]"))),
                sectors=tuple(dict.fromkeys(s for r in rows_of for s in json.loads(r.sectors or "[]"))),
            )
        )
    return stories
