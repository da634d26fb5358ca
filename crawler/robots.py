"""Robots.txt beyond Scrapy's ``RobotsTxtMiddleware``: RFC 9309's unreachable rule, a line, and a second check.

- ``RobotsTxtReportMiddleware``: Scrapy parses whatever a robots.txt request returns (a 500 page included)
  and, when the download fails (too large, timed out, refused), allows everything; its own log line carries
  a traceback and is silenced in ``crawler.runner``. This one watches those requests through the public
  downloader-middleware hooks and says what happened in one line per host. A robots.txt answering 5xx
  after the retries is unreachable (RFC 9309 2.3.1.4) and means "disallow all": it tells the recheck below,
  and the host is not crawled this run (the next run asks again). One that cannot be downloaded at all (a
  timeout, a refused connection) leaves the host to its own requests, which fail with their own reasons
  when the host is down; one too large is read as no rule, as Scrapy reads it (the RFC would parse its
  first 500 KiB).
- ``RobotsRecheckMiddleware``: Scrapy's middleware (2.13+, asyncio reactor) makes every request to a host
  wait for that host's robots.txt on one Deferred, each through ``Deferred.asFuture``; the callback that
  resolves the first waiter returns None, so every later waiter gets None, which Scrapy reads as "no
  robots.txt: all allowed". A crawl whose first requests to a host are several pages at once (a worker
  joining a shared crawl mid-way, a direct fetch of several URLs) fetched pages robots.txt disallows. This
  one keeps each host's parser as Scrapy's public ``robots_parsed`` signal hands it over, and checks each
  request again.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from scrapy import signals
from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.utils.httpobj import urlparse_cached

if TYPE_CHECKING:
    from scrapy import Request
    from scrapy.crawler import Crawler
    from scrapy.http import Response

logger = logging.getLogger(__name__)

#: Below BackoffRetryMiddleware (550) in the response path: a robots.txt answer is judged after its retries.
REPORT_ORDER = 540
#: Right after Scrapy's RobotsTxtMiddleware (100), so its own refusals come first and are counted once.
RECHECK_ORDER = 101
#: How a request refused for its host's unreachable robots.txt fails (crawler.spiders.news reads it).
UNREACHABLE = "robots.txt unreachable"
#: A custom Scrapy signal: a host's robots.txt is unreachable (arguments ``netloc``, ``reason``), so nothing
#: there is fetched; each refused request fails with "robots.txt unreachable: <reason>", an error of its source.
robots_unreachable = object()


class RobotsTxtReportMiddleware:
    """Logs, once per robots.txt URL, a server error or a failed download, and counts it."""

    def __init__(self, crawler: Crawler) -> None:
        self.stats = crawler.stats
        self.signals = crawler.signals
        self._said: set[str] = set()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RobotsTxtReportMiddleware:
        return cls(crawler)

    def process_response(self, request: Request, response: Response) -> Response:
        # A 4xx means "no robots.txt" (RFC 9309: allow all), as Scrapy reads it too; a 5xx is unreachable.
        if _is_robots(request) and response.status >= 500:
            self._unreachable(request, f"http {response.status}")
        return response

    def process_exception(self, request: Request, exception: Exception) -> None:
        if not _is_robots(request) or isinstance(exception, IgnoreRequest):
            return  # refused by rasid's own URL policy: its pages are refused the same way
        from twisted.python.failure import Failure

        from crawler.spiders.news import describe_failure

        # A timeout, a refused connection, a name that does not resolve: the host's own requests fail the
        # same way, each with its own reason, so the host is left to them rather than disallowed.
        reason = describe_failure(Failure(exception))
        self._say(request.url, reason, "its host is crawled as if it allowed everything")

    def _unreachable(self, request: Request, reason: str) -> None:
        """Before Scrapy parses the answer and lets the host's waiting requests go: the recheck stops them."""
        netloc = urlparse_cached(request).netloc
        self.signals.send_catch_log(signal=robots_unreachable, netloc=netloc, reason=reason)
        self._say(
            request.url, reason, "its host is not crawled this run (RFC 9309: unreachable, disallow all)"
        )

    def _say(self, url: str, reason: str, consequence: str) -> None:
        if url in self._said:
            return
        self._said.add(url)
        if self.stats is not None:
            self.stats.inc_value("rasid/robots_unreadable")
        logger.warning("robots.txt %s not read (%s): %s", url, reason, consequence)


def _is_robots(request: Request) -> bool:
    return bool(request.meta.get("dont_obey_robotstxt")) and urlsplit(request.url).path == "/robots.txt"


class RobotsRecheckMiddleware:
    """Refuses what the host's parsed robots.txt disallows, whatever Scrapy's middleware let through."""

    def __init__(self, crawler: Crawler) -> None:
        settings = crawler.settings
        self.stats = crawler.stats
        self.useragent = settings.get("ROBOTSTXT_USER_AGENT") or None
        self.default_useragent = settings.get("USER_AGENT")
        self.parsers: dict[str, Any] = {}  # netloc -> Scrapy's RobotParser
        self.unreachable: dict[str, str] = {}  # netloc -> why its robots.txt could not be reached this run
        crawler.signals.connect(self._parsed, signal=signals.robots_parsed)
        crawler.signals.connect(self._unreachable, signal=robots_unreachable)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RobotsRecheckMiddleware:
        if not crawler.settings.getbool("ROBOTSTXT_OBEY"):
            raise NotConfigured
        return cls(crawler)

    def _parsed(self, robotparser: Any, request: Request) -> None:
        self.parsers[urlparse_cached(request).netloc] = robotparser

    def _unreachable(self, netloc: str, reason: str) -> None:
        self.unreachable[netloc] = reason

    def process_request(self, request: Request) -> None:
        if request.meta.get("dont_obey_robotstxt"):
            return
        netloc = urlparse_cached(request).netloc
        if netloc in self.unreachable:
            if self.stats is not None:
                self.stats.inc_value("robotstxt/forbidden")
            raise IgnoreRequest(f"{UNREACHABLE}: {self.unreachable[netloc]}")
        parser = self.parsers.get(netloc)
        if parser is None:
            return
        useragent = self.useragent or request.headers.get(b"User-Agent", self.default_useragent)
        if not parser.allowed(request.url, useragent):
            logger.debug("forbidden by robots.txt (second check): %s", request.url)
            if self.stats is not None:
                self.stats.inc_value("robotstxt/forbidden")
            raise IgnoreRequest("Forbidden by robots.txt")
