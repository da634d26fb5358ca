"""Politeness: no more requests in flight to one host than ``crawl.concurrent_requests_per_domain``.

A real threaded HTTP server on 127.0.0.1 counts the requests it is answering at once; one outlet lists eight
pages that each take a second. Scrapy 2.19 alone starts all eight together (crawler/downloader.py).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from scrapy.core.downloader import Downloader, Slot

from tests.crawler.conftest import rasid
from tests.crawler.outlets import rss

PAGES = 8
PAGE_SECONDS = 1.0


class _Host(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.lock = threading.Lock()
        self.in_flight = 0
        self.peak = 0
        self.pages = 0

    @property
    def base(self) -> str:
        return f"http://localhost:{self.server_address[1]}"


class _Handler(BaseHTTPRequestHandler):
    server: _Host

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802 - the http.server hook's name
        host = self.server
        if self.path == "/feed.xml":
            now = datetime.now(UTC)
            body = rss([(f"خبر {n}", f"{host.base}/page-{n}.html", now) for n in range(PAGES)])
            return self._answer(body, "application/rss+xml")
        if not self.path.startswith("/page-"):
            return self._answer(b"", "text/plain", 404)
        with host.lock:
            host.in_flight += 1
            host.peak = max(host.peak, host.in_flight)
        time.sleep(PAGE_SECONDS)
        with host.lock:
            host.in_flight -= 1
            host.pages += 1
        return self._answer("<html><body><p>خبر محلي قصير</p></body></html>".encode(), "text/html")

    def _answer(self, body: bytes, kind: str, status: int = 200) -> None:
        self.send_response(status)
        self.send_header("Content-Type", f"{kind}; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def host() -> Iterator[_Host]:
    server = _Host()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("limit", [1, 2])
def test_a_host_never_has_more_requests_in_flight_than_the_per_domain_limit(
    host: _Host, tmp_path: Path, limit: int
) -> None:
    sources = tmp_path / "sources.yaml"
    sources.write_text(
        f"sources:\n  - name: one-host\n    url: {host.base}/\n    feeds: ['{host.base}/feed.xml']\n",
        encoding="utf-8",
    )
    done = rasid(
        "crawl", "--sources", str(sources), "--db", f"sqlite:///{tmp_path / 'rasid.db'}",
        env={"RASID_CRAWL__CONCURRENT_REQUESTS_PER_DOMAIN": str(limit)},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert host.pages == PAGES
    assert host.peak == limit  # the limit is used, and never passed


def test_scrapys_downloader_still_has_the_private_parts_the_polite_one_relies_on() -> None:
    import inspect

    slot = Slot(concurrency=2, delay=0, jitter=0)
    assert hasattr(slot, "queue") and isinstance(slot.transferring, set)
    source = inspect.getsource(Downloader._process_queue)
    assert "slot.queue.popleft()" in source and "free_transfer_slots()" in source
    assert "slot.transferring.add(request)" in inspect.getsource(Downloader._download)
