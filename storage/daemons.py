"""What the daemon writes besides articles (its heartbeat, the run outcomes it decides) and reads back.

A run is started by the daemon (``Repository.start_run`` with its job; skipped runs too) and finished by
the crawl child (``Repository.finish_run``); when the child dies or is ended, the daemon records the
outcome here. The next run times are read from APScheduler's own table, so `rasid status` needs no scheduler.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Engine, column, func, insert, inspect, select, table, update
from sqlalchemy.exc import SQLAlchemyError

from storage.models import CrawlRunRow, DaemonRow, DigestRow, utcnow

#: APScheduler's SQLAlchemyJobStore table: job id and next run time as a UNIX timestamp.
JOBS_TABLE = table("apscheduler_jobs", column("id"), column("next_run_time"))


@dataclass(frozen=True, slots=True)
class DaemonRecord:
    """One start of the daemon, as its heartbeat row says."""

    daemon_id: int
    pid: int
    host: str
    started_at: datetime
    heartbeat_at: datetime
    stopped_at: datetime | None
    snapshot_url: str | None
    sources: dict[str, float]  # the sources it schedules, each with its crawl interval in seconds


class DaemonStore:
    """The daemon's rows: heartbeat, decided run outcomes, next run times, the last digest sent."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.reader = engine.execution_options(read_only=True)

    # -- heartbeat ----------------------------------------------------------------------------------

    def register(self, pid: int, host: str, snapshot_url: str | None) -> int:
        """Record this daemon as started and return its row id."""
        now = utcnow()
        with self.engine.begin() as conn:
            return int(
                conn.execute(
                    insert(DaemonRow)
                    .values(
                        pid=pid,
                        host=host,
                        started_at=now,
                        heartbeat_at=now,
                        snapshot_url=snapshot_url,
                        sources="{}",
                    )
                    .returning(DaemonRow.id)
                ).scalar_one()
            )

    def set_sources(self, daemon_id: int, intervals: dict[str, float]) -> None:
        """The sources the daemon schedules now (after a start or reload), with their intervals in seconds."""
        with self.engine.begin() as conn:
            conn.execute(
                update(DaemonRow).where(DaemonRow.id == daemon_id).values(sources=json.dumps(intervals))
            )

    def beat(self, daemon_id: int) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(DaemonRow).where(DaemonRow.id == daemon_id).values(heartbeat_at=utcnow()))

    def stop(self, daemon_id: int) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(DaemonRow).where(DaemonRow.id == daemon_id).values(stopped_at=utcnow()))

    def latest(self) -> DaemonRecord | None:
        """The most recent daemon start, stopped or not."""
        with self.reader.connect() as conn:
            row = conn.execute(select(DaemonRow).order_by(DaemonRow.id.desc()).limit(1)).first()
        if row is None:
            return None
        return DaemonRecord(
            row.id, row.pid, row.host, row.started_at, row.heartbeat_at, row.stopped_at, row.snapshot_url,
            json.loads(row.sources),
        )  # fmt: skip

    # -- run outcomes the daemon decides ------------------------------------------------------------

    def outcome(self, run_id: int) -> tuple[str | None, str]:
        """(outcome, status) of a run as stored now."""
        with self.reader.connect() as conn:
            row = conn.execute(
                select(CrawlRunRow.outcome, CrawlRunRow.status).where(CrawlRunRow.id == run_id)
            ).one()
        return row.outcome, row.status

    def end_run(self, run_id: int, outcome: str, status: str) -> None:
        """Set a run's outcome and reason; its counters stay as the child last stored them."""
        with self.engine.begin() as conn:
            conn.execute(
                update(CrawlRunRow)
                .where(CrawlRunRow.id == run_id)
                .values(
                    outcome=outcome,
                    status=status,
                    finished_at=func.coalesce(CrawlRunRow.finished_at, utcnow()),
                )
            )

    def abandon_running(self, reason: str) -> int:
        """Mark scheduled runs still 'running' (their daemon died with them) as failed; how many they were."""
        with self.engine.begin() as conn:
            result = conn.execute(
                update(CrawlRunRow)
                .where(CrawlRunRow.job.is_not(None), CrawlRunRow.outcome == "running")
                .values(outcome="failed", status=reason, finished_at=utcnow())
            )
        return int(result.rowcount or 0)

    # -- what `rasid status` reads ------------------------------------------------------------------

    def next_runs(self) -> dict[str, datetime | None]:
        """Each job's next run time (None: paused), from APScheduler's table; {} before the first start."""
        # The reader throughout, table check included: on SQLite the engine's BEGIN IMMEDIATE would wait
        # for a crawl's write lock, and `rasid status` only reads.
        with self.reader.connect() as conn:
            if not inspect(conn).has_table("apscheduler_jobs"):
                return {}
            try:
                rows = conn.execute(select(JOBS_TABLE.c.id, JOBS_TABLE.c.next_run_time)).all()
            except SQLAlchemyError:
                return {}
        return {
            str(job_id): None if when is None else datetime.fromtimestamp(float(when), UTC)
            for job_id, when in rows
        }

    def last_digest_sent(self) -> datetime | None:
        with self.reader.connect() as conn:
            return conn.execute(select(func.max(DigestRow.sent_at))).scalar_one()
