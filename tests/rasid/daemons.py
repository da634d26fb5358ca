"""The real daemon as a subprocess, for the daemon tests: start it, read its run records, signal, stop."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from rasid.crawl_process import CRAWL_NAME, SPARE_NAME
from storage.db import make_engine
from storage.repository import Repository, RunRecord
from tests.crawler.conftest import FAST_ENV, ROOT

#: A feed nobody answers (nothing listens on port 1): a source that fails every run.
DEAD_FEED = "http://127.0.0.1:1/feed.xml"


def write_sources(
    path: Path, snapshot_sources: Path, names: tuple[str, ...], extra: list[dict] | None = None
) -> Path:
    """A sources file with some outlets of the snapshot (small crawls) and ``extra`` entries."""
    data = yaml.safe_load(snapshot_sources.read_text(encoding="utf-8"))
    chosen = [s for s in data["sources"] if s["name"] in names] + (extra or [])
    path.write_text(yaml.safe_dump({"sources": chosen}, allow_unicode=True), encoding="utf-8")
    return path


def slow_source(url: str, seconds: int = 40) -> dict:
    """A source whose only feed answers after ``seconds``: its crawl is still going when the test acts."""
    return {
        "name": "slowpoke",
        "url": f"{url}/slowpoke/",
        "feeds": [f"{url}/slowpoke/_fault/slow?seconds={seconds}"],
    }


@dataclass
class Daemon:
    """``rasid daemon`` running in a child process, with its stderr in a file."""

    process: subprocess.Popen[bytes]
    log: Path
    db: str

    @classmethod
    def start(cls, tmp: Path, db: str, sources: Path, url: str, **schedule: str) -> Daemon:
        env = {**os.environ, **FAST_ENV, "RASID_SCHEDULE__HEARTBEAT": "1s", "RASID_DIGEST__SMTP_PORT": "1"}
        env.pop("RASID_CONFIG", None)
        env["RASID_CRAWL__DOWNLOAD_TIMEOUT"] = "60"  # the slow feed must hang, not time out
        for key, value in schedule.items():
            env[f"RASID_SCHEDULE__{key.upper()}"] = value
        log = tmp / f"daemon-{time.monotonic_ns()}.log"
        with log.open("wb") as stderr:
            process = subprocess.Popen(
                [sys.executable, "-m", "rasid.cli", "daemon", "--snapshot-url", url,
                 "--sources", str(sources),
                 "--db", db],
                cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=stderr,
            )  # fmt: skip
        return cls(process, log, db)

    def stderr(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def runs(self, job: str = "crawl") -> list[RunRecord]:
        """The job's run records, oldest first."""
        engine = make_engine(self.db)
        try:
            return [
                r for r in reversed(Repository(engine).runs(limit=1000, scheduled_only=True)) if r.job == job
            ]
        except Exception:  # noqa: BLE001 - the schema is not there yet in the first second
            return []
        finally:
            engine.dispose()

    def wait_for(self, what: str, check: Callable[[], Any], timeout: float = 60) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = check()
            if value:
                return value
            if self.process.poll() is not None:
                raise AssertionError(
                    f"daemon exited {self.process.returncode} waiting for {what}:\n{self.stderr()[-3000:]}"
                )
            time.sleep(0.2)
        raise AssertionError(f"timed out waiting for {what}:\n{self.stderr()[-3000:]}")

    def children(self) -> list[int]:
        """Pids of the daemon's children (from /proc): its crawl children and the spare."""
        pids: list[int] = []
        for task in Path(f"/proc/{self.process.pid}/task").iterdir():
            try:
                pids += [int(p) for p in (task / "children").read_text().split()]
            except OSError:
                continue
        return pids

    def crawl_children(self) -> list[int]:
        """Pids of the children crawling now (the spare waiting for the next run left out)."""
        return [pid for pid in self.children() if _name(pid) == CRAWL_NAME]

    def spare(self) -> list[int]:
        """Pid of the spare crawl child waiting for the next run, if any."""
        return [pid for pid in self.children() if _name(pid) == SPARE_NAME]

    def stop(self, timeout: float = 30) -> tuple[int, float]:
        """SIGTERM; the exit code and the seconds it took."""
        started = time.monotonic()
        self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout=timeout)
        return code, time.monotonic() - started

    def kill(self) -> None:
        """Teardown after a failed test: the daemon and its crawl children (in sessions of their own)."""
        if self.process.poll() is not None:
            return
        for pid in self.children():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.process.kill()
        self.process.wait()


def _name(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


def status(db: str) -> tuple[int, dict[str, Any] | str]:
    """``rasid status --json``: exit code and the parsed report (or stderr when it failed)."""
    env = {**os.environ, "RASID_SCHEDULE__HEARTBEAT": "1s"}
    env.pop("RASID_CONFIG", None)
    done = subprocess.run(
        [sys.executable, "-m", "rasid.cli", "status", "--json", "--db", db],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    if done.returncode != 0:
        return done.returncode, done.stderr
    return 0, json.loads(done.stdout)


def status_report(db: str) -> dict[str, Any]:
    """``rasid status --json`` in this process (the daemon runs elsewhere; status only reads)."""
    from typer.testing import CliRunner

    from rasid.cli import app

    result = CliRunner().invoke(app, ["status", "--json", "--db", db])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def fired(runs: list[RunRecord]) -> list[datetime]:
    """When each run (skipped ones included) was started by the scheduler."""
    return [r.started_at for r in runs]


@pytest.fixture
def daemons() -> Iterator[list[Daemon]]:
    """Daemons a test starts (append them); each is killed when the test ends, however it ends."""
    started: list[Daemon] = []
    yield started
    for daemon in started:
        daemon.kill()
