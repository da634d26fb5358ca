"""The scheduled jobs: module-level functions with plain arguments, as APScheduler's persistent store needs.

The job store keeps a textual reference (``rasid.jobs:crawl``) and the pickled arguments (a job id), so
nothing here may hold a connection or the settings in its arguments: the running daemon binds itself
with ``bind`` at start, and each job asks it for what it needs. Secrets therefore never reach the store.
"""

from __future__ import annotations

import importlib
import logging
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rasid.daemon import Daemon

logger = logging.getLogger(__name__)

#: The crawl job of every source without an interval of its own; ``crawl:<source>`` for the others.
CRAWL_JOB = "crawl"
DIGEST_JOB = "digest"

_daemon: Daemon | None = None


def bind(daemon: Daemon | None) -> None:
    """Make ``daemon`` the one the jobs of this process run in (None when it stops)."""
    global _daemon
    _daemon = daemon


def _bound() -> Daemon:
    if _daemon is None:
        raise RuntimeError("rasid.jobs ran outside a daemon: bind() was not called")
    return _daemon


def crawl(job_id: str) -> None:
    """One crawl of the job's due sources, in a child process; its outcome is recorded whatever happens."""
    daemon = _bound()
    if daemon.stopping.is_set():
        return
    names = daemon.due_sources(job_id)
    if not names:
        logger.info("%s: every source is backed off; no crawl this time", job_id)
        return
    repository = daemon.repository
    run_id = repository.start_run(names, snapshot=daemon.snapshot, job=job_id)
    started = time.monotonic()
    try:
        try:
            child = daemon.start_child(job_id, run_id, names)
        except OSError as exc:  # no memory or processes left to start it: the run failed, the next may not
            daemon.store.end_run(run_id, "failed", f"crawl child not started: {exc}")
            logger.error("%s run %d: crawl child not started: %s", job_id, run_id, exc)
            return
        if child is None:  # SIGTERM came between the scheduler's call and the child's start
            daemon.store.end_run(
                run_id, "interrupted", "interrupted: the daemon stopped before the crawl began"
            )
            return
        code = child.wait()
        outcome, status = daemon.store.outcome(run_id)
        if daemon.was_ended(job_id):
            outcome, status = "interrupted", "interrupted: the daemon stopped"
            daemon.store.end_run(run_id, outcome, status)
        elif code != 0 and outcome in (None, "running"):
            outcome, status = "failed", child.reason(code)
            daemon.store.end_run(run_id, outcome, status)
        _log_run(daemon, job_id, run_id, outcome, status, time.monotonic() - started, len(names))
    finally:
        daemon.release(job_id)


def _log_run(
    daemon: Daemon, job_id: str, run_id: int, outcome: str | None, status: str, seconds: float, sources: int
) -> None:
    """The run's one line: INFO when it went well, ERROR otherwise."""
    record = next(
        (r for r in daemon.repository.runs(limit=5, scheduled_only=True) if r.run_id == run_id), None
    )
    s = record.summary if record is not None else None
    log = logger.info if outcome == "ok" else logger.error
    log(
        "%s run %d %s (%s) in %.1fs: %d sources, %d pages, %d articles, %d new, %d hits, %d errors",
        job_id, run_id, outcome, status, seconds, sources, s.pages_fetched if s else 0,
        s.articles_extracted if s else 0, s.articles_stored if s else 0, s.hits if s else 0,
        s.errors if s else 0,
    )  # fmt: skip


def send_digest() -> None:
    """The daily digest, by ``rasid.digest.send_digest(settings)`` where that module is installed."""
    daemon = _bound()
    run_id = daemon.repository.start_run([], snapshot=False, job=DIGEST_JOB)
    try:
        digest = importlib.import_module("rasid.digest")
    except ImportError as exc:
        if isinstance(exc, ModuleNotFoundError) and exc.name == "rasid.digest":
            logger.warning("digest: rasid.digest is not available in this install; nothing sent")
            daemon.store.end_run(run_id, "failed", "rasid.digest is not available")
        else:  # the module is there but one of its imports is not: say which
            logger.error("digest: not sent: cannot import rasid.digest: %s", exc)
            daemon.store.end_run(run_id, "failed", f"cannot import rasid.digest: {exc}")
        return
    try:
        digest.send_digest(daemon.settings)
    except Exception as exc:  # noqa: BLE001 - one failed send is logged and recorded; the daemon goes on
        logger.error("digest: not sent: %s", str(exc).strip().splitlines()[0] if str(exc).strip() else exc)
        logger.debug("digest failure", exc_info=True)
        daemon.store.end_run(run_id, "failed", f"not sent: {exc}")
        return
    daemon.store.end_run(run_id, "ok", "ok")
    logger.info("digest: sent")
