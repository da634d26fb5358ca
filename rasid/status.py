"""What `rasid status` reports: the daemon, each source's health and next run, the digest; read-only.

Everything comes from the database the daemon writes (its heartbeat row, the run records and
APScheduler's job table), so the status is right from any machine that reaches the database.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from rasid.health import assess

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from config.settings import Settings

#: Scheduled runs read back for the per-source view.
RUNS_READ = 500


@dataclass(frozen=True, slots=True)
class SourceStatus:
    """One row of the per-source table."""

    source: str
    job: str
    interval: str
    last_run: datetime | None
    outcome: str | None
    reason: str | None
    pages: int
    new_articles: int
    hits: int
    errors: int
    consecutive_failures: int
    next_run: datetime | None
    health: str  # "ok", "unhealthy" (failing, backed off) or "never run"


def collect(engine: Engine, settings: Settings, now: datetime) -> dict[str, Any]:
    """The whole status as plain values (datetimes stay datetimes; the caller formats them)."""
    from config.settings import format_duration
    from rasid.daemon import STALE_BEATS
    from rasid.jobs import CRAWL_JOB, DIGEST_JOB
    from storage.daemons import DaemonStore
    from storage.repository import Repository

    store = DaemonStore(engine)
    repository = Repository(engine)
    latest = store.latest()
    next_runs = store.next_runs()
    daemon: dict[str, Any] = {"running": False}
    if latest is not None:
        fresh = now - latest.heartbeat_at <= settings.schedule.heartbeat * STALE_BEATS
        running = latest.stopped_at is None and fresh
        daemon = {
            "running": running,
            "pid": latest.pid,
            "host": latest.host,
            "started_at": latest.started_at,
            "uptime_seconds": round((now - latest.started_at).total_seconds()) if running else None,
            "heartbeat_at": latest.heartbeat_at,
            "stopped_at": latest.stopped_at,
            "snapshot_url": latest.snapshot_url,
        }
    # One-off `rasid crawl` runs count too: a source failing there is failing, and a database only ever
    # crawled by hand still shows each source's last run.
    runs = repository.runs(limit=RUNS_READ)
    intervals = dict(latest.sources) if latest is not None else {}
    for run in runs:  # sources crawled by an earlier configuration still show, under the default interval
        for name in run.sources:
            intervals.setdefault(name, settings.schedule.crawl_interval.total_seconds())
    sources = []
    for name in sorted(intervals):
        interval = timedelta(seconds=intervals[name])
        job = CRAWL_JOB if f"{CRAWL_JOB}:{name}" not in next_runs else f"{CRAWL_JOB}:{name}"
        health = assess(name, runs, interval, settings.schedule.backoff_max)
        last = health.last_run
        counts = last.summary.per_source.get(name, {}) if last is not None else {}
        next_run = next_runs.get(job)
        if next_run is not None and health.retry_after is not None and not health.is_due(next_run, interval):
            next_run = health.retry_after
        sources.append(
            SourceStatus(
                source=name,
                job=job,
                interval=format_duration(interval),
                last_run=last.started_at if last else None,
                outcome=last.outcome if last else None,
                reason=None if last is None or last.outcome == "ok" else last.status,
                pages=counts.get("pages", 0),
                new_articles=counts.get("new", 0),
                hits=counts.get("hits", 0),
                errors=counts.get("errors", 0),
                consecutive_failures=health.consecutive_failures,
                next_run=next_run,
                health="never run" if last is None else "ok" if health.is_healthy else "unhealthy",
            )
        )
    digest_runs = [r for r in runs if r.job == DIGEST_JOB]
    return {
        "frontier": frontier(settings),
        "daemon": daemon,
        "next_runs": next_runs,
        "sources": [asdict(s) for s in sources],
        "digest": {
            "last_sent": store.last_digest_sent(),
            "pending_hits": len(repository.pending_hits()),
            "next_run": next_runs.get(DIGEST_JOB),
            "last_run": digest_runs[0].started_at if digest_runs else None,
            "last_outcome": digest_runs[0].outcome if digest_runs else None,
        },
    }


def frontier(settings: Settings) -> dict[str, Any] | None:
    """The shared Redis queue: its length and the workers beating now (None without ``crawl.redis_url``)."""
    if settings.crawl.redis_url is None:
        return None
    import redis

    from config.settings import mask_secrets
    from crawler.frontier import frontier_status

    try:
        found = frontier_status(settings)
    except (redis.RedisError, OSError) as exc:
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return {"error": mask_secrets(text)}
    return {
        "namespace": settings.crawl.redis_namespace,
        "queued": found.queued,
        "orphaned": found.orphaned,
        "workers": [asdict(w) for w in found.workers],
    }
