"""Ctrl-C at any moment of a crawl: one line, exit code 130, no traceback, nothing half-written.

SIGINT goes to the ``rasid`` console script (what a user runs) while Python is still importing, as the
crawl starts, and midway; the database is then checked for a sound file, no run left "running", and no
article without its verdict.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.crawler.conftest import FAST_ENV, ROOT

RASID = Path(sys.executable).parent / "rasid"
STARTED: list[float] = []  # when the current crawl process was started


def _articles(db_file: Path) -> int:
    try:
        with sqlite3.connect(f"file:{db_file}?mode=ro", uri=True, timeout=5) as conn:
            return conn.execute("SELECT count(*) FROM articles").fetchone()[0]
    except sqlite3.OperationalError:  # no file or no schema yet
        return 0


def _interrupt_when(
    ready: Callable[[list[str], Path], bool], db_file: Path
) -> subprocess.CompletedProcess[str]:
    """Start a snapshot crawl, send SIGINT once ``ready(stderr lines so far, db file)``, wait for the end."""
    env = {**os.environ, **FAST_ENV, "COLUMNS": "200"}
    env.pop("RASID_CONFIG", None)
    command = [str(RASID), "crawl", "--snapshot", "--snapshot-port", "0", "--db", f"sqlite:///{db_file}"]
    proc = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # as in a terminal
    )  # fmt: skip
    STARTED.append(time.monotonic())
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(proc.stderr), daemon=True)  # type: ignore[arg-type]
    reader.start()
    deadline = time.monotonic() + 240
    while not ready(lines, db_file) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    if proc.poll() is not None:
        pytest.fail(f"the crawl ended before it could be interrupted: {''.join(lines)[-1500:]}")
    proc.send_signal(signal.SIGINT)
    stdout = proc.stdout.read() if proc.stdout else ""
    proc.wait(timeout=120)
    reader.join(10)
    return subprocess.CompletedProcess(command, proc.returncode, stdout, "".join(lines))


MOMENTS: dict[str, Callable[[list[str], Path], bool]] = {
    # A second in, Python is importing rasid's dependencies (the interpreter itself starts in ~50 ms).
    "while importing": lambda lines, db: time.monotonic() - STARTED[-1] > 1.0,
    "as the crawl starts": lambda lines, db: any(line.startswith("crawling ") for line in lines),
    "midway": lambda lines, db: _articles(db) > 0,
}


@pytest.mark.parametrize("moment", sorted(MOMENTS))
def test_ctrl_c_is_one_line_exit_130_and_leaves_a_sound_database(
    shared_data: Path, tmp_path: Path, moment: str
) -> None:
    db_file = tmp_path / "rasid.db"
    done = _interrupt_when(MOMENTS[moment], db_file)
    assert done.returncode == 130, done.stderr[-2000:]
    for noise in ("Traceback", "Unhandled error", "CRITICAL", "stopped: unknown"):
        assert noise not in done.stderr + done.stdout, done.stderr[-2000:]
    last = done.stderr.strip().splitlines()[-1]
    assert last == "interrupted" or last.startswith("interrupted: crawl run "), last
    if not db_file.exists():
        return  # interrupted before the database was opened
    with sqlite3.connect(db_file) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        tables = {name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if "crawl_runs" not in tables:
            return
        assert conn.execute("SELECT count(*) FROM crawl_runs WHERE status = 'running'").fetchone() == (0,)
        orphans = conn.execute(
            "SELECT count(*) FROM articles a WHERE NOT EXISTS "
            "(SELECT 1 FROM verdicts v WHERE v.article_id = a.id AND v.is_current)"
        ).fetchone()
        assert orphans == (0,)
    if moment == "midway":
        assert last.startswith("interrupted: crawl run 1 stopped after ")
