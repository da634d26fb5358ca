"""The digest's delivery protocol in SQL: claim hits into a digest, resend it, record how it ended.

A digest is claimed in one transaction: its row (state "sending", a fixed Message-ID and the whole
rendered message) and the attachment of every hit it carries, guarded by ``digest_id IS NULL`` so
two senders can never claim one hit. Only then is SMTP spoken. A digest left in "sending" (its
process killed, or the connection lost after the message went out) is resent as the same message;
one the server refused is "failed" and its hits are released for the next digest. The lease on
``attempt_started_at`` keeps a second process from resending a digest whose send is still running.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, insert, or_, select, update

from storage.models import ArticleRow, DigestRow
from storage.records import DigestRecord, StorySource
from storage.writer import CHUNK


class _Lost(Exception):
    """Another sender claimed one of the hits first; the claim is rolled back."""


def claim(
    engine: Engine,
    article_ids: Sequence[int],
    message_id: str,
    subject: str,
    message: str,
    recipients: Sequence[str],
    stories: int,
    now: datetime,
) -> int | None:
    """Record the digest as "sending" with these hits attached, in one transaction; None if one was taken."""
    ids = list(article_ids)
    try:
        with engine.begin() as conn:
            digest_id = conn.execute(
                insert(DigestRow)
                .values(
                    created_at=now,
                    status="sending",
                    recipients=json.dumps(list(recipients)),
                    message_id=message_id,
                    subject=subject,
                    message=message,
                    hits=len(ids),
                    stories=stories,
                    attempts=1,
                    attempt_started_at=now,
                )
                .returning(DigestRow.id)
            ).scalar_one()
            attached = 0
            for start in range(0, len(ids), CHUNK):
                attached += conn.execute(
                    update(ArticleRow)
                    .where(ArticleRow.id.in_(ids[start : start + CHUNK]), ArticleRow.digest_id.is_(None))
                    .values(digest_id=digest_id)
                ).rowcount
            if attached != len(ids):
                raise _Lost
    except _Lost:
        return None
    return int(digest_id)


def unfinished(engine: Engine, now: datetime, lease: float) -> list[DigestRecord]:
    """Digests in "sending" whose last attempt is older than the lease (or ended unsure), oldest first."""
    query = (
        select(DigestRow).where(DigestRow.status == "sending", _lease_over(now, lease)).order_by(DigestRow.id)
    )
    with engine.connect() as conn:
        return [_record(row) for row in conn.execute(query)]


def take_over(engine: Engine, digest_id: int, now: datetime, lease: float) -> bool:
    """Start another attempt at an unfinished digest; False if another process holds it."""
    with engine.begin() as conn:
        taken = conn.execute(
            update(DigestRow)
            .where(DigestRow.id == digest_id, DigestRow.status == "sending", _lease_over(now, lease))
            .values(attempt_started_at=now, attempts=DigestRow.attempts + 1)
        ).rowcount
    return taken == 1


def retrying(engine: Engine, digest_id: int, now: datetime, error: str) -> None:
    """Count one more attempt (after a back-off), renewing the lease."""
    with engine.begin() as conn:
        conn.execute(
            update(DigestRow)
            .where(DigestRow.id == digest_id)
            .values(attempt_started_at=now, attempts=DigestRow.attempts + 1, last_error=error)
        )


def mark_sent(engine: Engine, digest_id: int, now: datetime) -> None:
    """The server accepted the message: its hits are mailed for good."""
    with engine.begin() as conn:
        conn.execute(
            update(DigestRow)
            .where(DigestRow.id == digest_id)
            .values(status="sent", sent_at=now, attempt_started_at=None, last_error=None)
        )


def release(engine: Engine, digest_id: int, error: str) -> None:
    """The server refused or was never reached: mark the digest failed and its hits pending again."""
    with engine.begin() as conn:
        conn.execute(
            update(DigestRow)
            .where(DigestRow.id == digest_id)
            .values(status="failed", attempt_started_at=None, last_error=error)
        )
        conn.execute(update(ArticleRow).where(ArticleRow.digest_id == digest_id).values(digest_id=None))


def leave_unsure(engine: Engine, digest_id: int, error: str) -> None:
    """The message may have been accepted: keep it "sending", to be resent as is by the next send."""
    with engine.begin() as conn:
        conn.execute(
            update(DigestRow)
            .where(DigestRow.id == digest_id)
            .values(attempt_started_at=None, last_error=error)
        )


def find(engine: Engine, digest_id: int) -> DigestRecord | None:
    with engine.connect() as conn:
        row = conn.execute(select(DigestRow).where(DigestRow.id == digest_id)).first()
    return _record(row) if row else None


def last_sent(engine: Engine) -> datetime | None:
    """When the last digest went out, or None if none ever did."""
    with engine.connect() as conn:
        return conn.execute(
            select(DigestRow.sent_at).where(DigestRow.status == "sent").order_by(DigestRow.sent_at.desc())
        ).scalar()


def story_sources(engine: Engine, story_ids: Sequence[int]) -> dict[int, tuple[StorySource, ...]]:
    """Every article of these stories (hit or not, mailed before or not), oldest first, per story."""
    found: dict[int, list[StorySource]] = {}
    ids = sorted(set(story_ids))
    with engine.connect() as conn:
        for start in range(0, len(ids), CHUNK):
            rows = conn.execute(
                select(ArticleRow.story_id, ArticleRow.source, ArticleRow.url, ArticleRow.published)
                .where(ArticleRow.story_id.in_(ids[start : start + CHUNK]))
                .order_by(ArticleRow.id)
            )
            for row in rows:
                found.setdefault(row.story_id, []).append(StorySource(row.source, row.url, row.published))
    return {story_id: tuple(sources) for story_id, sources in found.items()}


def _lease_over(now: datetime, lease: float) -> Any:
    return or_(
        DigestRow.attempt_started_at.is_(None), DigestRow.attempt_started_at <= now - timedelta(seconds=lease)
    )


def _record(row: Any) -> DigestRecord:
    return DigestRecord(
        digest_id=row.id,
        status=row.status,
        message_id=row.message_id or "",
        subject=row.subject or "",
        message=row.message or "",
        recipients=tuple(json.loads(row.recipients or "[]")),
        hits=row.hits or 0,
        stories=row.stories or 0,
        attempts=row.attempts or 0,
        created_at=row.created_at,
        sent_at=row.sent_at,
        last_error=row.last_error,
    )
