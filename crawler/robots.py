"""One line when a host's robots.txt cannot be read, since Scrapy then crawls the host as if it allowed all.

Scrapy's ``RobotsTxtMiddleware`` parses whatever a robots.txt request returns (a 500 page included) and,
when the download fails (too large, timed out, refused), allows everything; its own log line carries a
traceback and is silenced in ``crawler.runner``. This middleware only watches those requests, through
the public downloader-middleware hooks, and says what happened in one line per host.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from scrapy import Request
    from scrapy.crawler import Crawler
    from scrapy.http import Response

logger = logging.getLogger(__name__)

#: Below BackoffRetryMiddleware (550) in the response path: a robots.txt answer is judged after its retries.
ORDER = 540


class RobotsTxtReportMiddleware:
    """Logs, once per robots.txt URL, a server error or a failed download, and counts it."""

    def __init__(self, crawler: Crawler) -> None:
        self.stats = crawler.stats
        self._said: set[str] = set()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RobotsTxtReportMiddleware:
        return cls(crawler)

    def process_response(self, request: Request, response: Response) -> Response:
        # A 4xx means "no robots.txt" (RFC 9309: allow all), as Scrapy reads it too; a 5xx is a failure.
        if _is_robots(request) and response.status >= 500:
            self._say(request.url, f"http {response.status}")
        return response

    def process_exception(self, request: Request, exception: Exception) -> None:
        if _is_robots(request):
            from twisted.python.failure import Failure

            from crawler.spiders.news import describe_failure

            self._say(request.url, describe_failure(Failure(exception)))

    def _say(self, url: str, reason: str) -> None:
        if url in self._said:
            return
        self._said.add(url)
        if self.stats is not None:
            self.stats.inc_value("rasid/robots_unreadable")
        logger.warning(
            "robots.txt %s not read (%s): its host is crawled as if it allowed everything", url, reason
        )


def _is_robots(request: Request) -> bool:
    return bool(request.meta.get("dont_obey_robotstxt")) and urlsplit(request.url).path == "/robots.txt"
