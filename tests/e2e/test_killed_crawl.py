"""A crawl killed with SIGKILL mid-run leaves a sound database, and the next run finishes the job.

Nothing is half-written (one transaction per batch) and nothing is lost (pages of the batch that died
were never marked seen, so the next run fetches them again).
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.crawler.conftest import FAST_ENV, ROOT, rasid
from tests.servers import free_port

# A snapshot port of its own, so this test never meets a demo or another test on the default port.
PORT = free_port()


def _articles(db_file: Path) -> int:
    if not db_file.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{db_file}?mode=ro", uri=True, timeout=5) as conn:
            return conn.execute("SELECT count(*) FROM articles").fetchone()[0]
    except sqlite3.OperationalError:  # the schema is not there yet
        return 0


def _stored(db: str) -> list[tuple[str, str]]:
    """(source, content hash) of each stored article: which URL of a text an outlet serves twice is kept
    depends on which arrives first, so the yardstick is the texts, not the URLs."""
    with sqlite3.connect(db.removeprefix("sqlite:///")) as conn:
        return sorted(conn.execute("SELECT source, coalesce(content_hash, canonical_url) FROM articles"))


@pytest.fixture(scope="module")
def clean_crawl(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> list[tuple[str, str]]:
    """What one uninterrupted crawl of the snapshot stores: the yardstick."""
    db = f"sqlite:///{tmp_path_factory.mktemp('clean') / 'rasid.db'}"
    result = rasid("crawl", "--snapshot", "--snapshot-port", PORT, "--db", db, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    return _stored(db)


def test_a_killed_crawl_corrupts_nothing_and_the_next_run_stores_the_rest(
    clean_crawl, tmp_path: Path
) -> None:
    db_file = tmp_path / "rasid.db"
    db = f"sqlite:///{db_file}"
    env = {**os.environ, **FAST_ENV, "COLUMNS": "200"}
    env.pop("RASID_CONFIG", None)
    crawl = subprocess.Popen(
        [sys.executable, "-m", "rasid.cli", "crawl", "--snapshot", "--snapshot-port", PORT, "--db", db],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its own process group: the kill takes the snapshot server down with it
    )
    deadline = time.monotonic() + 120
    while _articles(db_file) < 60 and time.monotonic() < deadline and crawl.poll() is None:
        time.sleep(0.05)
    if crawl.poll() is not None:
        pytest.fail("the crawl finished before it could be killed; the test needs a slower crawl")
    os.killpg(crawl.pid, signal.SIGKILL)  # as a power cut would: no cleanup, no signal handler
    crawl.wait(timeout=30)
    killed_at = _articles(db_file)
    assert 0 < killed_at < len(clean_crawl), f"killed after {killed_at} of {len(clean_crawl)} articles"

    with sqlite3.connect(db_file) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        # Every stored article has its verdict: no batch was half-written.
        orphans = conn.execute(
            "SELECT count(*) FROM articles a WHERE NOT EXISTS (SELECT 1 FROM verdicts v WHERE v.article_id = a.id)"
        ).fetchone()[0]
        # No listing is remembered as read: the next run reads every feed and sitemap in full again.
        validators = conn.execute("SELECT count(*) FROM listing_validators").fetchone()[0]
    assert orphans == 0
    assert validators == 0

    again = rasid("crawl", "--snapshot", "--snapshot-port", PORT, "--db", db, timeout=300)
    assert again.returncode == 0, again.stderr[-2000:]
    stored = _stored(db)
    assert len(stored) == len(set(stored)), "an article was stored twice"
    assert stored == clean_crawl
