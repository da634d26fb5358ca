"""The real daemon, as a subprocess, against a small snapshot server, with schedules in seconds.

The crawl children of a loaded two-core machine take longer than a 3 s interval, so most scheduled times
find the previous run still going: those are recorded as skipped, which is what the tests read the
schedule from (every scheduled time leaves one record, and crawls never overlap).
"""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from snapshot.replay import SNAPSHOT_SEED, ReplayProcess
from storage.daemons import DaemonStore
from storage.db import make_engine
from tests.rasid.daemons import (
    DEAD_FEED,
    Daemon,
    fired,
    slow_source,
    status,
    status_report,
    write_sources,
)

pytestmark = pytest.mark.slow

INTERVAL = 3.0
#: How far from its scheduled time a run may start on a loaded machine.
ON_TIME = 1.0


@pytest.fixture(scope="module")
def snapshot(shared_data: Path) -> Iterator[ReplayProcess]:
    with ReplayProcess(shared_data, size=12, seed=SNAPSHOT_SEED, port=0) as replay:
        yield replay


def _on_grid(times: list[datetime], interval: float) -> None:
    """Consecutive scheduled starts are one interval apart (each time fires once, none doubled)."""
    gaps = [(b - a).total_seconds() for a, b in zip(times, times[1:], strict=False)]
    assert all(abs(gap - interval) < ON_TIME for gap in gaps), gaps


def _no_overlap(daemon: Daemon) -> None:
    crawls = [r for r in daemon.runs() if r.outcome != "skipped"]
    for earlier, later in zip(crawls, crawls[1:], strict=False):
        assert earlier.finished_at is not None and earlier.finished_at <= later.started_at, (earlier, later)


def test_runs_happen_on_time_never_overlap_and_a_restart_continues_the_schedule(
    snapshot: ReplayProcess, database_url: str, tmp_path: Path, daemons: list[Daemon]
) -> None:
    dead = {"name": "deadfeed", "url": "http://127.0.0.1:1/", "feeds": [DEAD_FEED]}
    sources = write_sources(tmp_path / "sources.yaml", snapshot.sources_file, ("alarabiya",), [dead])
    first = Daemon.start(
        tmp_path, database_url, sources, snapshot.url, crawl_interval="3s", shutdown_grace="3s"
    )
    daemons.append(first)
    first.wait_for("a finished crawl and two more scheduled times", lambda: (
        any(r.outcome == "ok" for r in first.runs()) and len(first.runs()) >= 3))  # fmt: skip

    report = status_report(database_url)
    assert report["daemon"]["running"] is True and report["daemon"]["pid"] == first.process.pid
    assert set(report["next_runs"]) == {"crawl", "digest"}
    by_name = {s["source"]: s for s in report["sources"]}
    # The status shows the last run's counts, and a re-run of the unchanged snapshot fetches nothing new.
    assert by_name["alarabiya"]["health"] == "ok" and by_name["alarabiya"]["outcome"] == "ok"
    assert any(r.summary.per_source.get("alarabiya", {}).get("pages", 0) > 0 for r in first.runs())
    assert by_name["deadfeed"]["health"] == "unhealthy" and by_name["deadfeed"]["consecutive_failures"] >= 1

    code, took = first.stop()
    assert code == 0 and took < 3 + 5 + 3, (code, took, first.stderr()[-2000:])
    before = first.runs()
    assert before and all(r.outcome in {"ok", "skipped", "interrupted"} for r in before), before
    _on_grid(fired(before), INTERVAL)
    _no_overlap(first)
    stored_next = DaemonStore(make_engine(database_url)).next_runs()["crawl"]
    assert stored_next is not None

    second = Daemon.start(
        tmp_path, database_url, sources, snapshot.url, crawl_interval="3s", shutdown_grace="3s"
    )
    daemons.append(second)
    second.wait_for("two scheduled times after the restart", lambda: len(second.runs()) >= len(before) + 2)
    latest = DaemonStore(make_engine(database_url)).latest()
    assert latest is not None and latest.pid == second.process.pid
    after = fired(second.runs())[len(before) :]
    # The stored next run time is kept: the first run comes then, or, if that time passed while the daemon
    # was down (or starting), once at start; then the schedule goes on on its old grid.
    expected = max(stored_next, latest.started_at)
    assert abs((after[0] - expected).total_seconds()) < ON_TIME + 1, (
        after[0],
        stored_next,
        latest.started_at,
    )
    _on_grid(after[1:], INTERVAL)
    phase = ((after[1] - stored_next).total_seconds() + ON_TIME) % INTERVAL
    assert phase < 2 * ON_TIME, f"the schedule moved by {phase - ON_TIME:.2f}s"
    code, _ = second.stop()
    assert code == 0
    _no_overlap(second)


def test_sigterm_during_a_crawl_exits_0_within_the_grace_period_and_records_it_interrupted(
    snapshot: ReplayProcess, sqlite_url: str, tmp_path: Path, daemons: list[Daemon]
) -> None:
    sources = write_sources(tmp_path / "sources.yaml", snapshot.sources_file, (), [slow_source(snapshot.url)])
    daemon = Daemon.start(
        tmp_path, sqlite_url, sources, snapshot.url, crawl_interval="1h", shutdown_grace="2s"
    )
    daemons.append(daemon)
    daemon.wait_for("a running crawl child", lambda: daemon.runs() and daemon.crawl_children())
    time.sleep(1)
    code, took = daemon.stop()
    assert code == 0
    assert took < 2 + 5 + 2, f"took {took:.1f}s"
    [run] = daemon.runs()
    assert (run.outcome, run.status) == ("interrupted", "interrupted: the daemon stopped")
    assert run.finished_at is not None
    assert "ending it" in daemon.stderr()


def test_a_crawl_child_killed_with_sigkill_is_recorded_failed_and_the_next_run_happens_on_time(
    snapshot: ReplayProcess, sqlite_url: str, tmp_path: Path, daemons: list[Daemon]
) -> None:
    import os

    sources = write_sources(
        tmp_path / "sources.yaml", snapshot.sources_file, (), [slow_source(snapshot.url, 6)]
    )
    daemon = Daemon.start(
        tmp_path, sqlite_url, sources, snapshot.url, crawl_interval="4s", shutdown_grace="1s"
    )
    daemons.append(daemon)
    [child] = daemon.wait_for("a running crawl child", daemon.crawl_children)
    os.kill(child, signal.SIGKILL)
    daemon.wait_for("the killed run recorded", lambda: daemon.runs()[0].outcome == "failed")
    killed = daemon.runs()[0]
    assert killed.status == "killed by signal 9 (SIGKILL)"
    daemon.wait_for("the next crawl", lambda: [r for r in daemon.runs()[1:] if r.outcome != "skipped"])
    runs = daemon.runs()
    _on_grid(fired(runs), 4.0)
    daemon.stop()
    assert "crawl run 1 failed (killed by signal 9 (SIGKILL))" in daemon.stderr()


def test_a_broken_sources_file_on_sighup_keeps_the_old_sources(
    snapshot: ReplayProcess, sqlite_url: str, tmp_path: Path, daemons: list[Daemon]
) -> None:
    sources = write_sources(tmp_path / "sources.yaml", snapshot.sources_file, ("alarabiya",))
    daemon = Daemon.start(
        tmp_path, sqlite_url, sources, snapshot.url, crawl_interval="3s", shutdown_grace="1s"
    )
    daemons.append(daemon)
    daemon.wait_for("the daemon started", lambda: "started" in daemon.stderr())
    sources.write_text("sources:\n  - name: alarabiya\n    url: [not, a, url\n", encoding="utf-8")
    hup = datetime.now(UTC)
    daemon.process.send_signal(signal.SIGHUP)
    daemon.wait_for("the refusal", lambda: "reload refused" in daemon.stderr())
    refusals = [line for line in daemon.stderr().splitlines() if "reload refused" in line]
    assert len(refusals) == 1 and str(sources) in refusals[0], refusals
    later = daemon.wait_for("a crawl started after the SIGHUP", lambda: [
        r for r in daemon.runs() if r.outcome != "skipped" and r.started_at > hup])  # fmt: skip
    assert later[0].sources == ("alarabiya",)

    code, _ = daemon.stop()
    assert code == 0


def test_the_digest_job_runs_at_digest_time(
    snapshot: ReplayProcess, sqlite_url: str, tmp_path: Path, daemons: list[Daemon]
) -> None:
    sources = write_sources(tmp_path / "sources.yaml", snapshot.sources_file, ("alarabiya",))
    at = (datetime.now(UTC) + timedelta(seconds=20)).replace(microsecond=0)
    daemon = Daemon.start(tmp_path, sqlite_url, sources, snapshot.url, crawl_interval="1h",
                          digest_time=f"{at:%H:%M:%S}", shutdown_grace="1s")  # fmt: skip
    daemons.append(daemon)
    [run] = daemon.wait_for("the digest run", lambda: daemon.runs("digest"), timeout=45)
    assert abs((run.started_at - at).total_seconds()) < ON_TIME, (run.started_at, at)
    assert "digest:" in daemon.stderr()
    daemon.stop()


def _running(pid: int) -> bool:
    """Whether the process lives (a zombie left for init to reap does not)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def test_the_next_crawl_runs_in_a_child_started_ahead_and_a_stop_ends_the_spare(
    snapshot: ReplayProcess, sqlite_url: str, tmp_path: Path, daemons: list[Daemon]
) -> None:
    # A feed answering after 2 s keeps each crawl long enough to be seen crawling: an unchanged re-crawl
    # in a spare is otherwise over between two looks at /proc.
    sources = write_sources(
        tmp_path / "sources.yaml", snapshot.sources_file, ("alarabiya",), [slow_source(snapshot.url, 2)]
    )
    daemon = Daemon.start(
        tmp_path, sqlite_url, sources, snapshot.url, crawl_interval="6s", shutdown_grace="2s"
    )
    daemons.append(daemon)
    daemon.wait_for("a finished crawl", lambda: any(r.outcome == "ok" for r in daemon.runs()))
    [spare] = daemon.wait_for("a spare child waiting for the next run", daemon.spare)
    [crawling] = daemon.wait_for("the next crawl", daemon.crawl_children, timeout=30)
    assert crawling == spare
    daemon.wait_for("the next crawl finished", lambda: sum(r.outcome == "ok" for r in daemon.runs()) >= 2)
    [next_spare] = daemon.wait_for("a new spare", daemon.spare)
    assert next_spare != spare
    code, _ = daemon.stop()
    assert code == 0
    assert not _running(spare) and not _running(next_spare)
    assert "Traceback" not in daemon.stderr()


def test_a_spare_child_exits_by_itself_when_the_daemon_is_killed(
    snapshot: ReplayProcess, sqlite_url: str, tmp_path: Path, daemons: list[Daemon]
) -> None:
    sources = write_sources(tmp_path / "sources.yaml", snapshot.sources_file, ("alarabiya",))
    daemon = Daemon.start(
        tmp_path, sqlite_url, sources, snapshot.url, crawl_interval="1h", shutdown_grace="2s"
    )
    daemons.append(daemon)
    daemon.wait_for("a finished crawl", lambda: any(r.outcome == "ok" for r in daemon.runs()))
    [spare] = daemon.wait_for("a spare child waiting for the next run", daemon.spare)
    daemon.process.kill()  # no handler runs: only the spare's stdin closing tells it
    daemon.process.wait()
    deadline = time.monotonic() + 30
    while _running(spare) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not _running(spare)


def test_status_without_a_database_says_so_in_one_line_and_creates_nothing(tmp_path: Path) -> None:
    db_file = tmp_path / "none" / "rasid.db"
    code, message = status(f"sqlite:///{db_file}")
    assert code == 2
    assert isinstance(message, str) and message.strip().splitlines() == [
        f"error: sqlite:///{db_file}: no database there; run `rasid crawl` or `rasid db upgrade` to make one"
    ]
    assert not db_file.parent.exists()
