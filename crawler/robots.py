"""A second robots.txt check, right after Scrapy's, for requests that waited while robots.txt was fetched.

Scrapy's ``RobotsTxtMiddleware`` (2.13+, asyncio reactor) makes every request to a host wait for that host's
robots.txt on one Deferred, each through ``Deferred.asFuture``; the callback that resolves the first waiter
returns None, so every later waiter gets None, which Scrapy reads as "no robots.txt: all allowed". A crawl
whose first requests to a host are several pages at once (a worker joining a shared crawl mid-way, a
direct fetch of several URLs) fetched pages robots.txt disallows. This middleware keeps each host's parser
as Scrapy's public ``robots_parsed`` signal hands it over, and checks each request again.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from scrapy import signals
from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.utils.httpobj import urlparse_cached

if TYPE_CHECKING:
    from scrapy import Request
    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)

#: Right after Scrapy's RobotsTxtMiddleware (100), so its own refusals come first and are counted once.
ORDER = 101


class RobotsRecheckMiddleware:
    """Refuses what the host's parsed robots.txt disallows, whatever Scrapy's middleware let through."""

    def __init__(self, crawler: Crawler) -> None:
        settings = crawler.settings
        self.stats = crawler.stats
        self.useragent = settings.get("ROBOTSTXT_USER_AGENT") or None
        self.default_useragent = settings.get("USER_AGENT")
        self.parsers: dict[str, Any] = {}  # netloc -> Scrapy's RobotParser
        crawler.signals.connect(self._parsed, signal=signals.robots_parsed)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RobotsRecheckMiddleware:
        if not crawler.settings.getbool("ROBOTSTXT_OBEY"):
            raise NotConfigured
        return cls(crawler)

    def _parsed(self, robotparser: Any, request: Request) -> None:
        self.parsers[urlparse_cached(request).netloc] = robotparser

    def process_request(self, request: Request) -> None:
        if request.meta.get("dont_obey_robotstxt"):
            return
        parser = self.parsers.get(urlparse_cached(request).netloc)
        if parser is None:
            return
        useragent = self.useragent or request.headers.get(b"User-Agent", self.default_useragent)
        if not parser.allowed(request.url, useragent):
            logger.debug("forbidden by robots.txt (second check): %s", request.url)
            if self.stats is not None:
                self.stats.inc_value("robotstxt/forbidden")
            raise IgnoreRequest("Forbidden by robots.txt")
