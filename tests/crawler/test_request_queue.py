"""Requests waiting to be fetched wait on disk, in a folder of the run's own that the run removes.

A listing of thousands of links would otherwise hold every request in memory until it is fetched
(bench/RESULTS.md, "Scale": peak RSS +1.5 % from 2,000 to 10,000 pages with the disk queue).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.crawler.conftest import ROOT

CRAWL = """
import json, sys
from snapshot.replay import Route, SiteServer
from config.settings import CrawlSettings, Settings
from crawler.runner import _run

page = "<html><head><title>t</title></head><body><p>" + "نص " * 200 + "</p></body></html>"
routes = {f"/a-{i}.html": Route(page.encode(), "text/html; charset=utf-8") for i in range(30)}
routes["/robots.txt"] = Route(b"User-agent: *\\nAllow: /\\n", "text/plain")
with SiteServer(routes).start() as site:
    stats = {}
    settings = Settings(crawl=CrawlSettings(allow_private_addresses=True, concurrent_requests_per_domain=1))
    urls = [("s", f"{site.url}/a-{i}.html") for i in range(30)]
    _run(settings, False, None, stats_out=stats, article_urls=urls)
print(json.dumps({k: v for k, v in stats.items() if k.startswith(("scheduler/", "downloader/response_count"))}))
"""


def test_waiting_requests_go_to_a_disk_queue_that_the_run_removes(tmp_path: Path) -> None:
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-c", CRAWL], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    stats = json.loads(done.stdout.splitlines()[-1])
    assert stats["scheduler/enqueued/disk"] >= 30  # every article request waited on disk
    assert stats.get("scheduler/enqueued/memory", 0) == 0
    assert stats["downloader/response_count"] >= 30
    assert not list(tmp_path.glob("rasid-queue-*")), "the run's queue folder was left behind"
