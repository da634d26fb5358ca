"""Retries wait before asking again: exponentially longer each time, or as long as Retry-After says."""

from __future__ import annotations

import logging
import time

import pytest
from scrapy.settings import Settings as ScrapySettings

from crawler.retry import BackoffRetryMiddleware
from snapshot.replay import Route
from tests.crawler.conftest import rasid
from tests.servers import serve_site

FEED = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>flaky</title><link>{base}/</link>
<item><title>خبر</title><link>{base}/busy</link></item>
<item><title>خبر آخر</title><link>{base}/limited</link></item>
<item><title>خبر بطيء</title><link>{base}/_fault/slow?seconds=4</link></item>
</channel></rss>"""


class Timestamps(logging.Handler):
    """When the site server answered each path."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.seen: dict[str, list[float]] = {}

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if '"GET ' in message:
            path = message.split('"GET ', 1)[1].split(" ", 1)[0]
            self.seen.setdefault(path, []).append(time.monotonic())


@pytest.fixture(scope="module")
def flaky_crawl(tmp_path_factory: pytest.TempPathFactory):
    """A crawl of one feed whose articles answer 503 (always), 429 with Retry-After: 2, or too slowly."""
    stamps = Timestamps()
    replay_logger = logging.getLogger("snapshot.replay")
    replay_logger.addHandler(stamps)
    replay_logger.setLevel(logging.DEBUG)
    tmp_path = tmp_path_factory.mktemp("flaky")
    with serve_site({}) as server:
        server.set_routes({
            "/feed.xml": Route(FEED.format(base=server.url).encode(), "application/rss+xml"),
            "/busy": Route(b"busy", status=503),
            "/limited": Route(b"slow down", status=429, headers=(("Retry-After", "2"),)),
        })  # fmt: skip
        sources = tmp_path / "sources.yaml"
        sources.write_text(
            f"sources:\n- name: flaky\n  url: {server.url}/\n  feeds: [{server.url}/feed.xml]\n"
        )
        env = {
            "RASID_CRAWL__RETRY_TIMES": "2",
            "RASID_CRAWL__RETRY_BACKOFF": "0.5",
            "RASID_CRAWL__DOWNLOAD_TIMEOUT": "1",
        }
        result = rasid(
            "crawl", "--sources", str(sources), "--db", f"sqlite:///{tmp_path / 'rasid.db'}", env=env
        )
    replay_logger.removeHandler(stamps)
    return result, stamps.seen


def test_server_errors_are_retried_after_exponentially_longer_pauses(flaky_crawl) -> None:
    _, seen = flaky_crawl
    times = seen["/busy"]
    assert len(times) == 3, "one request and two retries"
    first_gap, second_gap = times[1] - times[0], times[2] - times[1]
    assert first_gap >= 0.45, first_gap  # 0.5 s before the first retry
    assert second_gap >= 0.95, second_gap  # 1.0 s before the second


def test_retry_after_is_honoured_when_it_asks_for_longer(flaky_crawl) -> None:
    _, seen = flaky_crawl
    times = seen["/limited"]
    assert len(times) == 3
    assert times[1] - times[0] >= 1.9  # Retry-After: 2 beats the 0.5 s backoff


def test_pages_that_never_recover_are_errors_and_the_run_still_ends(flaky_crawl) -> None:
    result, _ = flaky_crawl
    assert "/busy (source flaky)" in result.stderr
    assert "/limited (source flaky)" in result.stderr


def test_a_page_that_times_out_is_reported_in_one_line_and_the_run_goes_on(flaky_crawl) -> None:
    result, _ = flaky_crawl
    lines = [line for line in result.stderr.splitlines() if "/_fault/slow" in line]
    assert len(lines) == 1 and "timeout" in lines[0], lines
    assert result.returncode == 0


def _middleware(base: float, cap: float) -> BackoffRetryMiddleware:
    return BackoffRetryMiddleware(
        ScrapySettings({"RETRY_ENABLED": True, "RASID_RETRY_BACKOFF": base, "RASID_RETRY_BACKOFF_MAX": cap})
    )


def test_the_pause_doubles_and_is_capped() -> None:
    middleware = _middleware(2.0, 10.0)
    assert [middleware.pause(n) for n in (1, 2, 3, 4)] == [2.0, 4.0, 8.0, 10.0]


def test_a_retry_after_date_falls_back_to_the_exponential_pause() -> None:
    assert _middleware(1.0, 60.0).pause(2, "Wed, 21 Oct 2026 07:28:00 GMT") == 2.0


@pytest.mark.parametrize("refusal", ["scrapy", "twisted"])
def test_a_refused_connection_is_not_retried(refusal: str) -> None:
    import asyncio

    from scrapy import Request
    from scrapy.exceptions import DownloadConnectionRefusedError
    from twisted.internet.error import ConnectionRefusedError

    exception = DownloadConnectionRefusedError() if refusal == "scrapy" else ConnectionRefusedError()
    result = asyncio.run(
        _middleware(30.0, 60.0).process_exception(Request("http://127.0.0.1:1/x"), exception)
    )
    assert result is None  # no retry request: the errback reports it at once
