"""The daemon's jobs in APScheduler's store: one per interval, kept across restarts, changed by a reload.

In-process and with the scheduler paused, so nothing runs: this is about what is scheduled, on both engines.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from config.settings import load_settings
from rasid.daemon import Daemon
from storage.daemons import DaemonStore
from storage.db import make_engine
from storage.schema import ensure_current
from tests.crawler.conftest import ROOT

SOURCES = (
    "sources:\n"
    "  - name: kuna\n    url: https://www.kuna.net.kw/\n    interval: 2h\n"
    "  - name: wam\n    url: https://www.wam.ae/ar\n"
)


def _daemon(database_url: str, sources: Path) -> Daemon:
    settings = load_settings(database_url=database_url)
    ensure_current(make_engine(database_url))
    daemon = Daemon(settings, sources)
    daemon.load_config()
    daemon.daemon_id = daemon.store.register(os.getpid(), socket.gethostname(), None)
    daemon.open_scheduler()
    return daemon


def test_a_source_with_its_own_interval_gets_a_job_of_its_own_and_the_digest_runs_daily(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RASID_SCHEDULE__DIGEST_TIME", "06:45")
    monkeypatch.setenv("RASID_TIMEZONE", "Asia/Riyadh")
    sources = tmp_path / "sources.yaml"
    sources.write_text(SOURCES, encoding="utf-8")
    daemon = _daemon(database_url, sources)
    assert daemon.scheduler is not None
    try:
        jobs = {job.id: job for job in daemon.scheduler.get_jobs()}
        assert set(jobs) == {"crawl", "crawl:kuna", "digest"}
        assert jobs["crawl"].trigger.interval == timedelta(minutes=15)
        assert jobs["crawl:kuna"].trigger.interval == timedelta(hours=2)
        assert (jobs["crawl"].max_instances, jobs["crawl"].coalesce) == (1, True)
        assert jobs["crawl"].misfire_grace_time == 3600
        digest = jobs["digest"].next_run_time
        assert (digest.hour, digest.minute, str(digest.tzinfo)) == (6, 45, "Asia/Riyadh")
        assert daemon.job_sources("crawl") == ["wam"] and daemon.job_sources("crawl:kuna") == ["kuna"]
    finally:
        daemon.scheduler.pause()


def test_a_restart_keeps_each_jobs_next_run_and_a_reload_drops_a_job_no_longer_wanted(
    database_url: str, tmp_path: Path
) -> None:
    sources = tmp_path / "sources.yaml"
    sources.write_text(SOURCES, encoding="utf-8")
    first = _daemon(database_url, sources)
    assert first.scheduler is not None
    planned = {job.id: job.next_run_time for job in first.scheduler.get_jobs()}
    first.scheduler.pause()

    again = _daemon(database_url, sources)
    assert again.scheduler is not None
    try:
        assert {job.id: job.next_run_time for job in again.scheduler.get_jobs()} == planned
        sources.write_text(SOURCES.replace("    interval: 2h\n", ""), encoding="utf-8")
        again.reload()
        assert {job.id for job in again.scheduler.get_jobs()} == {"crawl", "digest"}
        assert again.job_sources("crawl") == ["kuna", "wam"]
        latest = DaemonStore(again.engine).latest()
        assert latest is not None and latest.sources == {"kuna": 900.0, "wam": 900.0}
    finally:
        again.scheduler.pause()


def test_a_second_daemon_on_the_same_database_is_refused_in_one_line(sqlite_url: str, tmp_path: Path) -> None:
    engine = make_engine(sqlite_url)
    ensure_current(engine)
    store = DaemonStore(engine)
    daemon_id = store.register(
        os.getpid(), socket.gethostname(), None
    )  # this test process, alive and beating
    beating = threading.Event()

    def beat() -> None:
        while not beating.wait(0.3):
            store.beat(daemon_id)

    heart = threading.Thread(target=beat, daemon=True)
    heart.start()
    sources = tmp_path / "sources.yaml"
    sources.write_text(SOURCES, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k != "RASID_CONFIG"}
    env["RASID_SCHEDULE__HEARTBEAT"] = "1s"
    try:
        done = subprocess.run(
            [sys.executable, "-m", "rasid.cli", "daemon", "--sources", str(sources), "--db", sqlite_url],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
    finally:
        beating.set()
        heart.join()
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1] == (
        f"error: another rasid daemon (pid {os.getpid()} on {socket.gethostname()}) is running on this "
        "database; stop it first"
    )


def test_a_source_failing_run_after_run_is_left_out_until_it_answers_again(
    database_url: str, tmp_path: Path
) -> None:
    from storage.records import RunSummary

    sources = tmp_path / "sources.yaml"
    sources.write_text(SOURCES.replace("    interval: 2h\n", ""), encoding="utf-8")
    daemon = _daemon(database_url, sources)
    assert daemon.scheduler is not None
    daemon.scheduler.pause()

    def crawled(kuna: dict[str, int]) -> None:
        run_id = daemon.repository.start_run(["kuna", "wam"], job="crawl")
        per_source = {"kuna": kuna, "wam": {"pages": 3, "errors": 0}}
        daemon.repository.finish_run(run_id, RunSummary(per_source=per_source))

    next_run = datetime.now(UTC) + timedelta(minutes=15)  # the runs below are all "just now"
    crawled({"pages": 0, "errors": 2})
    assert daemon.due_sources("crawl", next_run) == ["kuna", "wam"]  # one failure: the next run tries again
    crawled({"pages": 0, "errors": 2})
    assert daemon.due_sources("crawl", next_run) == ["wam"]  # two in a row: kuna waits two intervals
    assert daemon.due_sources("crawl", next_run + timedelta(minutes=15)) == ["kuna", "wam"]
    crawled({"pages": 4, "errors": 0})  # crawled again after its pause, it answered
    assert daemon.due_sources("crawl", next_run) == ["kuna", "wam"]


def test_a_crawl_child_that_cannot_be_started_fails_its_run_in_one_line_and_the_daemon_goes_on(
    sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # A fork that fails (no memory, no processes left) cannot be caused here for root, so spawning is replaced.
    from rasid import daemon as daemon_module
    from rasid import jobs

    def no_fork() -> None:
        raise OSError(12, "Cannot allocate memory")

    sources = tmp_path / "sources.yaml"
    sources.write_text(SOURCES, encoding="utf-8")
    daemon = _daemon(sqlite_url, sources)
    assert daemon.scheduler is not None
    daemon.scheduler.pause()
    monkeypatch.setattr(daemon_module, "spawn_child", no_fork)
    jobs.bind(daemon)
    try:
        # Neither the run's child nor the spare after it can start: no exception reaches the scheduler.
        jobs.crawl("crawl")
    finally:
        jobs.bind(None)
        daemon.scheduler.shutdown(wait=False)
    [run] = daemon.repository.runs(limit=5, scheduled_only=True)
    assert run.outcome == "failed"
    assert run.status == "crawl child not started: [Errno 12] Cannot allocate memory"
    assert run.finished_at is not None
    assert "no spare crawl child started: [Errno 12] Cannot allocate memory" in caplog.text
    assert daemon._active == 0 and not daemon._children
