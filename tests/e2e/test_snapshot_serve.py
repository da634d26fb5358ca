"""``rasid snapshot serve`` runs the offline snapshot alone; crawls point at it with ``--snapshot-url``."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path

from storage.db import make_engine
from storage.repository import Repository
from tests.crawler.conftest import ROOT, rasid

RASID = Path(sys.executable).parent / "rasid"


def test_two_crawls_share_one_served_snapshot_and_ctrl_c_stops_it_in_one_line(
    shared_data: Path, tmp_path: Path
) -> None:
    server = subprocess.Popen(
        [str(RASID), "snapshot", "serve", "--port", "0", "--size", "40"], cwd=ROOT,
        env={**os.environ, "COLUMNS": "300"}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )  # fmt: skip
    try:
        first: list[str] = []
        reader = threading.Thread(target=lambda: first.append(server.stdout.readline()), daemon=True)  # type: ignore[union-attr]
        reader.start()
        reader.join(120)
        assert first and first[0].startswith("snapshot: 40 articles served at http://127.0.0.1:"), first
        url = re.search(r"http://127\.0\.0\.1:\d+", first[0]).group(0)  # type: ignore[union-attr]
        db = f"sqlite:///{tmp_path / 'rasid.db'}"
        one = rasid("crawl", "--snapshot", "--snapshot-url", url, "--size", "40", "--db", db, timeout=300)
        assert one.returncode == 0, one.stderr[-2000:]
        assert f"snapshot: crawling the one served at {url}" in one.stdout  # no server of its own
        stored = Repository(make_engine(db)).count_articles()
        assert stored >= 40
        two = rasid("crawl", "--snapshot", "--snapshot-url", url, "--size", "40", "--db", db, timeout=300)
        assert two.returncode == 0, two.stderr[-2000:]
        assert (
            Repository(make_engine(db)).runs(limit=1)[0].summary.articles_stored == 0
        )  # one server, seen URLs
        assert server.poll() is None  # still serving after both crawls
    finally:
        server.send_signal(signal.SIGINT)
        _, stderr = server.communicate(timeout=30)
    assert server.returncode == 0
    assert stderr.strip() == "snapshot: stopped"
