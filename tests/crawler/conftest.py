"""Crawler test fixtures: a local site of small outlets built from real articles, and the CLI as a subprocess."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.crawler.outlets import Site, build_site
from tests.servers import serve_site

ROOT = Path(__file__).resolve().parents[2]
#: No delays against 127.0.0.1: politeness settings are tested in test_settings.py. The test servers are on
#: 127.0.0.1, so the internal-address refusal is switched off (tests/crawler/test_url_policy.py checks it on).
FAST_ENV = {
    "RASID_CRAWL__ALLOW_PRIVATE_ADDRESSES": "true",
    "RASID_CRAWL__DOWNLOAD_DELAY": "0",
    "RASID_CRAWL__AUTOTHROTTLE": "false",
    "RASID_CRAWL__RETRY_TIMES": "1",
    "RASID_CRAWL__RETRY_BACKOFF": "0.1",
    "RASID_CRAWL__DOWNLOAD_TIMEOUT": "10",
}


class RequestLog(logging.Handler):
    """Collects the paths the in-thread site server answered (it logs each request at DEBUG)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.paths: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if '"GET ' in message:
            self.paths.append(message.split('"GET ', 1)[1].split(" ", 1)[0])


@pytest.fixture(scope="session")
def site(
    shared_data: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Site, Path, RequestLog]]:
    server = serve_site({})
    log = RequestLog()
    replay_logger = logging.getLogger("snapshot.replay")
    replay_logger.addHandler(log)
    replay_logger.setLevel(logging.DEBUG)
    with server:
        built, sources_yaml = build_site(shared_data, server.url)
        server.set_routes(built.routes)
        sources_file = tmp_path_factory.mktemp("site") / "sources.yaml"
        sources_file.write_text(sources_yaml, encoding="utf-8")
        yield built, sources_file, log
    replay_logger.removeHandler(log)


def rasid(
    *args: str, timeout: float = 120, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``rasid ARGS`` in a child process (Scrapy's reactor runs once per process), without delays."""
    env = {**os.environ, **FAST_ENV, "COLUMNS": "200", **(env or {})}
    env.pop("RASID_CONFIG", None)
    return subprocess.run(
        [sys.executable, "-m", "rasid.cli", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
