"""One real ``rasid crawl`` of the hostile outlet, shared by every case of ``test_crawl.py``.

Four servers on 127.0.0.1 (port 0): the hostile outlet, and one per robots.txt variant (robots.txt is
per host and port). The crawl runs with a 2 MB size cap, a 4 s timeout and a 2 s longest retry pause, so
the size, time and Retry-After cases end in seconds; everything else is the CLI as an operator runs it.
"""

from __future__ import annotations

import sqlite3
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from snapshot.replay import SiteServer
from tests.crawler.conftest import rasid
from tests.hostile.faults import request_log
from tests.hostile.outlet import Outlet, build_outlet

#: What the hostile crawl changes from the crawler tests' settings, and why.
HOSTILE_ENV = {
    "RASID_CRAWL__DOWNLOAD_MAXSIZE": str(2 * 1024 * 1024),  # the 50 MB page, endless stream and bomb end fast
    "RASID_CRAWL__DOWNLOAD_TIMEOUT": "4",  # the drip gives up after 4 s (two tries: 8 s)
    "RASID_CRAWL__RETRY_BACKOFF_MAX": "2",  # Retry-After of a day waits 2 s; the cap itself is what is tested
    "RASID_CRAWL__CONCURRENT_REQUESTS_PER_DOMAIN": "16",  # every case is on one host and port
}


@dataclass(frozen=True, slots=True)
class HostileCrawl:
    """The crawl's process result, database, requests seen by the outlet, wall time, and the outlet."""

    result: subprocess.CompletedProcess[str]
    db_file: Path
    paths: tuple[str, ...]
    seconds: float
    outlet: Outlet

    @property
    def db(self) -> str:
        return f"sqlite:///{self.db_file}"

    def lines_naming(self, url: str) -> list[str]:
        """stderr lines that name ``url`` exactly (not as the prefix of a longer URL)."""
        found = []
        for line in self.result.stderr.splitlines():
            at = line.find(url)
            while at >= 0:
                after = line[at + len(url) : at + len(url) + 1]
                if after in ("", " ", ")", ",", ":"):
                    found.append(line)
                    break
                at = line.find(url, at + 1)
        return found

    def query(self, sql: str, *args: object) -> list[tuple]:
        with sqlite3.connect(self.db_file) as conn:
            return conn.execute(sql, args).fetchall()


@pytest.fixture(scope="session")
def hostile_crawl(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[HostileCrawl]:
    folder = tmp_path_factory.mktemp("hostile")
    names = ("robots-huge", "robots-binary", "robots-500")
    main = SiteServer({})
    robots = {name: SiteServer({}) for name in names}
    with request_log() as log, main, robots["robots-huge"], robots["robots-binary"], robots["robots-500"]:
        outlet, sources_yaml = build_outlet(
            shared_data,
            main.url,
            {name: server.url for name, server in robots.items()},
            folder / "canary.txt",
        )
        main.set_routes(outlet.routes)
        for name, server in robots.items():
            server.set_routes(outlet.robots_routes[name])
        sources = folder / "sources.yaml"
        sources.write_text(sources_yaml, encoding="utf-8")
        db_file = folder / "rasid.db"
        started = time.monotonic()
        result = rasid("crawl", "--sources", str(sources), "--db", f"sqlite:///{db_file}", env=HOSTILE_ENV)
        seconds = time.monotonic() - started
        paths = tuple(log.paths)
    yield HostileCrawl(result, db_file, paths, seconds, outlet)
