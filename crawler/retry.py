"""Scrapy's retries with a pause before each one, so a struggling outlet gets air instead of a hammering.

Scrapy's ``RetryMiddleware`` decides *whether* to retry (5xx, 408, 429, timeouts; never other 4xx) and
re-queues at once; this subclass keeps that decision and only waits first: ``base * 2**(n-1)`` seconds
before the n-th retry, or the server's ``Retry-After`` when it asks for longer, capped at ``max``.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from scrapy import Request
from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.exceptions import CannotResolveHostError, DownloadConnectionRefusedError
from scrapy.utils.asyncio import sleep
from twisted.internet.error import ConnectionRefusedError, DNSLookupError

if TYPE_CHECKING:
    from scrapy.http import Response
    from scrapy.settings import BaseSettings

logger = logging.getLogger(__name__)

#: A host that refuses connections or has no address will not heal in the seconds a retry waits: these
#: fail at once (one line, counted) and the page comes back next run, as it was never marked seen.
NOT_RETRIED = (DownloadConnectionRefusedError, ConnectionRefusedError, CannotResolveHostError, DNSLookupError)


class BackoffRetryMiddleware(RetryMiddleware):
    """``RetryMiddleware`` plus exponential backoff and ``Retry-After``; settings ``RASID_RETRY_BACKOFF*``."""

    def __init__(self, settings: BaseSettings) -> None:
        super().__init__(settings)
        # No defaults here: crawler/settings.py always passes both, from config/settings.py.
        self.backoff_base = settings.getfloat("RASID_RETRY_BACKOFF")
        self.backoff_max = settings.getfloat("RASID_RETRY_BACKOFF_MAX")

    async def process_response(self, request: Request, response: Response) -> Request | Response:  # type: ignore[override]
        result = super().process_response(request, response)
        if isinstance(result, Request):
            await self._wait(result, response)
        return result

    async def process_exception(self, request: Request, exception: Exception) -> Request | Response | None:  # type: ignore[override]
        if isinstance(exception, NOT_RETRIED):
            return None  # on to the request's errback
        result = super().process_exception(request, exception)
        if isinstance(result, Request):
            await self._wait(result, None)
        return result

    def pause(self, attempt: int, retry_after: str | None = None) -> float:
        """Seconds to wait before retry number ``attempt`` (1-based)."""
        seconds = self.backoff_base * 2 ** max(attempt - 1, 0)
        if retry_after:
            try:
                seconds = max(seconds, float(retry_after))
            except ValueError:  # an HTTP date: the exponential pause stands in for it
                pass
        return min(seconds, self.backoff_max)

    async def _wait(self, retry: Request, response: Response | None) -> None:
        header = response.headers.get(b"Retry-After") if response is not None else None
        seconds = self.pause(retry.meta.get("retry_times", 1), header.decode("latin-1") if header else None)
        if seconds > 0:
            logger.debug("waiting %.1f s before retrying %s", seconds, retry.url)
            await sleep(seconds)
