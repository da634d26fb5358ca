"""`rasid daemon`: APScheduler 3 runs the crawls and the daily digest, with its jobs in rasid's database.

Jobs and their next run times live in APScheduler's SQLAlchemyJobStore in the same database, so a
restart continues the schedule; ``max_instances=1`` and ``coalesce`` keep runs of one job from
overlapping and collapse runs missed while the daemon was down into one. Each crawl runs in a child
process (``rasid.crawl_process``). The main thread only waits: for SIGTERM/SIGINT (stop scheduling, let
a running crawl finish within ``shutdown_grace``, then end it), for SIGHUP (reload sources and
keywords; a broken file keeps the old ones) and, meanwhile, to write the heartbeat `rasid status` reads.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import socket
import sys
import tempfile
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from config.settings import ConfigError
from rasid import jobs
from rasid.crawl_process import LOG_FORMAT, CrawlChild, spawn_child
from rasid.health import assess

if TYPE_CHECKING:
    from apscheduler.events import JobEvent
    from apscheduler.schedulers.background import BackgroundScheduler

    from config.settings import Settings
    from config.sources import Source

logger = logging.getLogger(__name__)

#: After shutdown_grace, a crawl child gets SIGTERM (Scrapy stops cleanly) and this long before SIGKILL.
TERMINATE_WAIT = 5.0
#: A heartbeat older than this many beats means the daemon is gone (killed, machine down).
STALE_BEATS = 3
#: Scheduled runs read back per job for source health; enough for a long backoff at a short interval.
HEALTH_RUNS = 200


class Daemon:
    """The running service: the scheduler, the active configuration, and the crawl children it started."""

    def __init__(self, settings: Settings, sources_file: Path, snapshot_url: str | None = None) -> None:
        from storage.daemons import DaemonStore
        from storage.db import make_engine
        from storage.repository import Repository

        self.settings = settings
        self.sources_file = sources_file  # the operator's file, read again on SIGHUP
        self.snapshot_url = snapshot_url
        self.snapshot = snapshot_url is not None
        self.engine = make_engine(
            settings.database_url.get_secret_value(), busy_timeout=settings.database_busy_timeout
        )
        self.repository = Repository(self.engine)
        self.store = DaemonStore(self.engine)
        self.stopping = threading.Event()
        self._wake = threading.Event()
        self._reload_requested = False
        self._lock = threading.Lock()
        self._children: dict[str, CrawlChild] = {}
        self._spare: CrawlChild | None = None  # the next run's child, started ahead (rasid/crawl_process.py)
        self._ended: set[str] = set()  # jobs whose child the shutdown ended
        self._active = 0  # crawl jobs between start and their recorded outcome
        self._idle = threading.Condition(self._lock)
        self._config_dir = tempfile.TemporaryDirectory(prefix="rasid-daemon-")
        self._generation = 0
        self.sources: tuple[Source, ...] = ()
        self._active_sources = Path()
        self._child_settings = settings
        self.daemon_id = 0
        self.scheduler: BackgroundScheduler | None = None

    # -- configuration ------------------------------------------------------------------------------

    def load_config(self) -> None:
        """Validate the sources and keywords files and make private copies the crawls use.

        A copy, because an operator may be half-way through editing a file when a run starts: only a
        file that passed validation on start or SIGHUP ever reaches a crawl. Raises ``ConfigError``.
        """
        from config.keywords import load_keywords
        from config.sources import load_sources

        sources = load_sources(self.sources_file)
        load_keywords(self.settings.keywords_file)
        if not sources:
            raise ConfigError(f"{self.sources_file}: no sources to crawl")
        self._generation += 1
        folder = Path(self._config_dir.name)
        sources_copy = folder / f"sources-{self._generation}.yaml"
        keywords_copy = folder / f"keywords-{self._generation}.yaml"
        try:
            shutil.copyfile(self.sources_file, sources_copy)
            shutil.copyfile(self.settings.keywords_file, keywords_copy)
        except OSError as exc:  # moved or unreadable since it was validated a moment ago
            raise ConfigError(f"{exc.filename}: cannot copy: {exc.strerror}") from None
        with self._lock:
            self.sources = sources
            self._active_sources = sources_copy
            self._child_settings = self.settings.model_copy(update={"keywords_file": keywords_copy})

    def reload(self) -> None:
        """SIGHUP: new sources, keywords and the jobs they imply; a broken file is one line, no change."""
        try:
            self.load_config()
        except ConfigError as exc:
            logger.error("reload refused, the previous sources and keywords stay: %s", exc)
            return
        self._plan_jobs()
        logger.info("reloaded %s: %d sources", self.sources_file, len(self.sources))

    def intervals(self) -> dict[str, timedelta]:
        """Each source's crawl interval: its own from sources.yaml, or [schedule] crawl_interval."""
        default = self.settings.schedule.crawl_interval
        return {s.name: s.interval or default for s in self.sources}

    def job_sources(self, job_id: str) -> list[str]:
        """The sources a crawl job covers under the current configuration."""
        if job_id == jobs.CRAWL_JOB:
            return [s.name for s in self.sources if s.interval is None]
        name = job_id.removeprefix(f"{jobs.CRAWL_JOB}:")
        return [s.name for s in self.sources if s.name == name and s.interval is not None]

    def due_sources(self, job_id: str, now: datetime | None = None) -> list[str]:
        """The job's sources that are not backed off (at ``now``) after failing run after run."""
        from storage.models import utcnow

        names = self.job_sources(job_id)
        intervals = self.intervals()
        runs = self.repository.runs(limit=HEALTH_RUNS, scheduled_only=True)
        now = now or utcnow()
        due = []
        for name in names:
            health = assess(name, runs, intervals[name], self.settings.schedule.backoff_max)
            if health.is_due(now, intervals[name]):
                due.append(name)
            else:
                logger.info(
                    "%s: backed off after %d failed runs, next try after %s",
                    name, health.consecutive_failures, f"{health.retry_after:%Y-%m-%d %H:%M:%S}Z",
                )  # fmt: skip
        return due

    # -- crawl children -----------------------------------------------------------------------------

    def start_child(self, job_id: str, run_id: int, names: list[str]) -> CrawlChild | None:
        """Start the crawl child of one run (None once stopping); ``release`` follows its recorded outcome."""
        with self._lock:
            if self.stopping.is_set():  # checked under the lock the shutdown takes to list the children
                return None
            child = self._take_spare()
            try:
                child.send(self._child_settings, run_id, self._active_sources, names, self.snapshot)
            except BaseException:
                child.discard()  # a child without its run would wait on stdin for ever
                raise
            self._children[job_id] = child
            self._active += 1
        logger.debug("%s run %d: crawl child pid %d for %d sources", job_id, run_id, child.pid, len(names))
        return child

    def was_ended(self, job_id: str) -> bool:
        """Did the shutdown end this job's child (so its run was interrupted)?"""
        with self._lock:
            return job_id in self._ended

    def release(self, job_id: str) -> None:
        """The job's run is recorded: forget its child, and wake a shutdown waiting for it."""
        with self._lock:
            if self._children.pop(job_id, None) is not None:
                self._active -= 1
            self._ended.discard(job_id)
            self._idle.notify_all()
            self._ready_spare()

    def _take_spare(self) -> CrawlChild:
        """The spare for a run starting now (under the lock); a new child when there is none, or it died."""
        spare, self._spare = self._spare, None
        if spare is not None and spare.process.poll() is not None:
            logger.warning(
                "the spare crawl child pid %d had ended (%s)", spare.pid, spare.reason(spare.wait())
            )
            spare = None
        return spare if spare is not None else spawn_child()

    def _ready_spare(self) -> None:
        """Start the next run's child ahead (under the lock), once a crawl has ended: it loads between runs."""
        if self._spare is None and not self.stopping.is_set():
            try:
                self._spare = spawn_child()
            except OSError as exc:  # no memory or processes left: the run starts its own child, or says why
                logger.warning("no spare crawl child started: %s", exc)

    # -- the scheduler ------------------------------------------------------------------------------

    def open_scheduler(self) -> None:
        """Start the scheduler paused, on the job store, with the jobs the configuration implies."""
        from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_MAX_INSTANCES, EVENT_JOB_MISSED
        from apscheduler.executors.pool import ThreadPoolExecutor
        from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
        from apscheduler.schedulers.background import BackgroundScheduler

        schedule = self.settings.schedule
        self.scheduler = BackgroundScheduler(
            jobstores={"default": SQLAlchemyJobStore(engine=self.engine)},
            executors={"default": ThreadPoolExecutor(max_workers=20)},
            job_defaults={
                "coalesce": True,
                "max_instances": 1,
                "misfire_grace_time": int(schedule.misfire_grace.total_seconds()),
            },
            timezone=ZoneInfo(self.settings.timezone),
        )
        self.scheduler.add_listener(self._on_skipped, EVENT_JOB_MAX_INSTANCES)
        self.scheduler.add_listener(self._on_missed, EVENT_JOB_MISSED)
        self.scheduler.add_listener(self._on_error, EVENT_JOB_ERROR)
        self.scheduler.start(paused=True)
        self._plan_jobs()

    def _plan_jobs(self) -> None:
        """Add, keep or replace each job; a job whose trigger is unchanged keeps its stored next run time."""
        from apscheduler.triggers.cron import CronTrigger
        from apscheduler.triggers.interval import IntervalTrigger

        assert self.scheduler is not None
        schedule = self.settings.schedule
        zone = ZoneInfo(self.settings.timezone)
        wanted: dict[str, Any] = {}
        if any(s.interval is None for s in self.sources):
            wanted[jobs.CRAWL_JOB] = IntervalTrigger(
                seconds=schedule.crawl_interval.total_seconds(), timezone=zone
            )
        for source in self.sources:
            if source.interval is not None:
                wanted[f"{jobs.CRAWL_JOB}:{source.name}"] = IntervalTrigger(
                    seconds=source.interval.total_seconds(), timezone=zone
                )
        hour, minute, *second = (int(part) for part in schedule.digest_time.split(":"))
        digest = CronTrigger(hour=hour, minute=minute, second=second[0] if second else 0, timezone=zone)
        for job in self.scheduler.get_jobs():
            if job.id != jobs.DIGEST_JOB and job.id not in wanted:
                job.remove()
                logger.info("%s: no longer scheduled", job.id)
        now = datetime.now(zone)
        for job_id, trigger in wanted.items():
            self._ensure_job(job_id, jobs.crawl, trigger, (job_id,), first_run=now)
        self._ensure_job(jobs.DIGEST_JOB, jobs.send_digest, digest, ())
        self.store.set_sources(self.daemon_id, {k: v.total_seconds() for k, v in self.intervals().items()})

    def _ensure_job(
        self, job_id: str, func: Any, trigger: Any, args: tuple[Any, ...], first_run: datetime | None = None
    ) -> None:
        assert self.scheduler is not None
        grace = int(self.settings.schedule.misfire_grace.total_seconds())
        existing = self.scheduler.get_job(job_id)
        if (
            existing is not None
            and str(existing.trigger) == str(trigger)
            and existing.trigger.timezone == trigger.timezone
        ):
            if existing.misfire_grace_time != grace:
                existing.modify(misfire_grace_time=grace)
            return
        options: dict[str, Any] = {"next_run_time": first_run} if first_run is not None else {}
        self.scheduler.add_job(
            func, trigger, args=args, id=job_id, name=job_id, replace_existing=True,
            coalesce=True, max_instances=1, misfire_grace_time=grace, **options,
        )  # fmt: skip
        logger.info("%s: scheduled (%s)", job_id, trigger)

    def _on_skipped(self, event: JobEvent) -> None:
        if event.job_id == jobs.DIGEST_JOB:
            logger.warning("digest: skipped, the previous send is still going")
            return
        from sqlalchemy.exc import SQLAlchemyError

        names = self.job_sources(event.job_id)
        reason = "skipped: the previous run was still going"
        try:
            run_id = self.repository.start_run(
                names, self.snapshot, event.job_id, outcome="skipped", status=reason
            )
        except SQLAlchemyError as exc:
            logger.warning("%s run %s (not recorded: %s)", event.job_id, reason, _first_line(exc))
            return
        logger.warning("%s run %d %s", event.job_id, run_id, reason)

    def _on_missed(self, event: JobEvent) -> None:
        logger.warning(
            "%s: run of %s missed by more than misfire_grace", event.job_id, event.scheduled_run_time
        )

    def _on_error(self, event: Any) -> None:
        """A job that raised (the database went away, say): one line; the traceback at DEBUG."""
        logger.error("%s: the job failed: %s", event.job_id, _first_line(event.exception))
        logger.debug("%s traceback:\n%s", event.job_id, event.traceback)

    # -- the main loop ------------------------------------------------------------------------------

    def run(self) -> int:
        """Run until SIGTERM or SIGINT; the exit code (0 after a clean stop)."""
        schedule = self.settings.schedule
        self._refuse_second_daemon()
        abandoned = self.store.abandon_running("failed: the daemon stopped before the run ended")
        if abandoned:
            logger.warning("%d runs left running by a previous daemon recorded as failed", abandoned)
        self.daemon_id = self.store.register(os.getpid(), socket.gethostname(), self.snapshot_url)
        signal.signal(signal.SIGTERM, self._on_stop_signal)
        signal.signal(signal.SIGINT, self._on_stop_signal)
        signal.signal(signal.SIGHUP, self._on_hup)
        jobs.bind(self)
        with self._lock:
            self._ready_spare()
        self.open_scheduler()
        assert self.scheduler is not None
        self.scheduler.resume()
        logger.info(
            "daemon pid %d started: %d sources, crawl every %s, digest at %s %s",
            os.getpid(), len(self.sources), _spell(schedule.crawl_interval), schedule.digest_time,
            self.settings.timezone,
        )  # fmt: skip
        beat = schedule.heartbeat.total_seconds()
        while not self.stopping.is_set():
            self._wake.wait(beat)
            self._wake.clear()
            if self._reload_requested and not self.stopping.is_set():
                self._reload_requested = False
                self.reload()
            self._beat()
        return self._shutdown()

    def _on_stop_signal(self, signum: int, _frame: object) -> None:
        if not self.stopping.is_set():
            self.stopping.set()
            self._wake.set()

    def _on_hup(self, _signum: int, _frame: object) -> None:
        self._reload_requested = True
        self._wake.set()

    def _beat(self) -> None:
        from sqlalchemy.exc import SQLAlchemyError

        try:
            self.store.beat(self.daemon_id)
        except SQLAlchemyError as exc:
            logger.warning("heartbeat not written: %s", _first_line(exc))

    def _refuse_second_daemon(self) -> None:
        """Two schedulers on one job store would run every job twice: refuse while another daemon beats.

        A daemon that was killed leaves a row that looks alive; its pid (on this host) or a heartbeat that
        stops advancing tells it apart, so a restart after a crash is never refused for long.
        """
        from storage.models import utcnow

        latest = self.store.latest()
        stale = self.settings.schedule.heartbeat * STALE_BEATS
        if latest is None or latest.stopped_at is not None or utcnow() - latest.heartbeat_at > stale:
            return
        if latest.host == socket.gethostname() and not _pid_alive(latest.pid):
            return
        logger.info("daemon pid %d on %s looks alive; watching its heartbeat", latest.pid, latest.host)
        deadline = time.monotonic() + stale.total_seconds()
        while time.monotonic() < deadline:
            time.sleep(min(1.0, self.settings.schedule.heartbeat.total_seconds() / 2))
            now = self.store.latest()
            if (
                now is not None
                and now.daemon_id == latest.daemon_id
                and now.heartbeat_at > latest.heartbeat_at
            ):
                raise ConfigError(
                    f"another rasid daemon (pid {latest.pid} on {latest.host}) is running on this database; "
                    "stop it first"
                )
        logger.warning("daemon pid %d on %s stopped beating; taking over", latest.pid, latest.host)

    def _shutdown(self) -> int:
        """Stop scheduling, give running crawls shutdown_grace to finish, end the rest, record it all."""
        assert self.scheduler is not None
        grace = self.settings.schedule.shutdown_grace.total_seconds()
        # pause(), not shutdown(): APScheduler 3's shutdown wakes its thread for one last pass that submits
        # due jobs to the closed executor, failing them and moving their next run time past a run never made.
        self.scheduler.pause()
        with self._lock:
            running = list(self._children)
            spare, self._spare = self._spare, None
        if spare is not None:
            spare.discard()
        if running:
            logger.info("stopping: waiting up to %gs for the running crawl (%s)", grace, ", ".join(running))
        deadline = time.monotonic() + grace
        with self._idle:
            while self._active and time.monotonic() < deadline:
                self._idle.wait(min(0.2, max(deadline - time.monotonic(), 0.01)))
            left = dict(self._children)
            self._ended.update(left)
        for job_id, child in left.items():
            logger.warning(
                "%s: crawl child pid %d still running after %gs; ending it", job_id, child.pid, grace
            )
            _end(child)
        with self._idle:
            deadline = time.monotonic() + TERMINATE_WAIT + 5
            while self._active and time.monotonic() < deadline:
                self._idle.wait(0.2)
        self.store.stop(self.daemon_id)
        jobs.bind(None)
        logger.info("daemon pid %d stopped", os.getpid())
        self._config_dir.cleanup()
        return 0


def _end(child: CrawlChild) -> None:
    """SIGTERM (Scrapy closes the spider and the last batch commits), then SIGKILL if it lingers."""
    import subprocess

    try:
        child.process.terminate()
        child.process.wait(timeout=TERMINATE_WAIT)
    except subprocess.TimeoutExpired:
        child.process.kill()
    except ProcessLookupError:
        pass


def _first_line(exc: BaseException) -> str:
    """An error in one line: a database error's own message (not SQLAlchemy's wrapping), its first line."""
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _spell(duration: timedelta) -> str:
    from config.settings import format_duration

    return format_duration(duration)


def configure_logging(level: str) -> None:
    """Plain one-line records on stderr (journald adds only its own prefix), at the configured level."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # APScheduler says "Running job"/"executed successfully" per run; our own line per run says more.
    logging.getLogger("apscheduler").setLevel(logging.DEBUG if level == "DEBUG" else logging.ERROR)
    # Its executor logs a failed job with the traceback; Daemon._on_error says it in one line.
    logging.getLogger("apscheduler.executors").setLevel(
        logging.DEBUG if level == "DEBUG" else logging.CRITICAL
    )
    logging.getLogger("alembic").setLevel(logging.DEBUG if level == "DEBUG" else logging.WARNING)
