"""Robots.txt holds for every request, also those that waited while the host's robots.txt was fetched."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.crawler.conftest import ROOT

SCRIPT = """
import json, sys
from config.settings import CrawlSettings, Settings
from crawler.runner import fetch_pages
settings = Settings(crawl=CrawlSettings(download_delay=0, autothrottle=False, retry_times=0,
                                        download_timeout=10, allow_private_addresses=True))
print(json.dumps([page.url for page in fetch_pages(settings, json.loads(sys.argv[1]))]))
"""


def test_a_disallowed_page_among_several_first_requests_to_a_host_is_not_fetched(site) -> None:
    # Scrapy's RobotsTxtMiddleware hands every request but the first that waited for robots.txt "no parser",
    # i.e. allowed; the private page comes last so it is one of those (crawler/robots.py checks again).
    _, sources_file, log = site
    base = sources_file.read_text("utf-8").split("url: ", 1)[1].split("/rss/", 1)[0]
    private = f"{base}/sec/private/2026/russia-secret-509.html"
    urls = [f"{base}/cp/2026/11/russia-arab-600.html?copy={n}" for n in range(6)] + [private]
    log.paths.clear()
    done = subprocess.run([sys.executable, "-c", SCRIPT, json.dumps(urls)], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert "/robots.txt" in log.paths  # robots.txt was asked for, the others waited on it
    assert "/sec/private/2026/russia-secret-509.html" not in log.paths
    assert private not in json.loads(done.stdout.strip().splitlines()[-1])
