"""Redirect loops fail loudly: one line and an error count, instead of vanishing in Scrapy's dupefilter.

Scrapy follows a redirect by scheduling a new request; when the target is a URL the chain already
visited, the dupefilter drops it at DEBUG level and the page is lost without a word. This middleware sits
just before ``RedirectMiddleware`` in the response path and turns such a redirect into ``IgnoreRequest``,
which reaches the spider's errback like any other failed page.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urljoin

from scrapy.exceptions import IgnoreRequest
from w3lib.url import safe_url_string

if TYPE_CHECKING:
    from scrapy import Request
    from scrapy.http import Response

#: Response order runs from the downloader outwards: above RedirectMiddleware's 600 sees the 3xx first.
ORDER = 610
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})


class RedirectLoopMiddleware:
    """Raise ``IgnoreRequest("redirect loop ...")`` when a Location points back into its own chain."""

    def process_response(self, request: Request, response: Response) -> Response:
        if response.status not in REDIRECT_STATUSES or b"Location" not in response.headers:
            return response
        location = (response.headers[b"Location"] or b"").decode("latin-1")
        target = safe_url_string(urljoin(request.url, location))
        chain = {safe_url_string(u) for u in (*request.meta.get("redirect_urls", ()), request.url)}
        if target in chain:
            raise IgnoreRequest(f"redirect loop: {request.url} sends back to {target}")
        return response
