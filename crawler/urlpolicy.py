"""Which URLs the crawler may fetch: http(s) only, on the source's own site(s), never an internal address.

Every URL a page, a feed or a sitemap lists is hostile input: ``file:///etc/passwd`` in a ``<loc>``, a feed
item on another host, a redirect to ``http://127.0.0.1:6379/``. This module is the one place that decides.
``refusal`` and ``address_refusal`` are plain functions; ``UrlPolicyMiddleware`` applies them to every
request the downloader sees (listings, articles, robots.txt and each redirect hop, since Scrapy schedules a
redirect as a new request), before robots.txt is fetched for it. A refused URL is logged once in one line,
counted in the stats (``rasid/refused/<kind>``) and reaches the spider's errback as ``RefusedURL``.
"""

from __future__ import annotations

import ipaddress
import logging
import re
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from scrapy.exceptions import IgnoreRequest

if TYPE_CHECKING:
    from scrapy import Request
    from scrapy.crawler import Crawler

    from config.sources import Source

logger = logging.getLogger(__name__)

ALLOWED_SCHEMES = frozenset({"http", "https"})
#: Runs before RobotsTxtMiddleware (100), so a refused host never even has its robots.txt requested.
ORDER = 50
#: Prefixes one outlet serves the same site under: www.x.com, m.x.com and x.com are one site.
_SITE_PREFIX_RE = re.compile(r"^(?:www\d?|m|amp|mobile)\.")
_DEFAULT_PORTS = {"http": 80, "https": 443}


class RefusedURL(IgnoreRequest):
    """A request the URL policy refused; ``kind`` is 'scheme', 'host' or 'address'."""

    def __init__(self, kind: str, reason: str) -> None:
        super().__init__(f"disallowed URL: {reason}")
        self.kind = kind
        self.reason = reason


def site_of(url: str) -> str:
    """The site a URL belongs to: its host without www./m. prefixes, plus the port when not the default."""
    parts = urlsplit(url)
    host = _SITE_PREFIX_RE.sub("", (parts.hostname or "").lower().rstrip("."))
    try:
        port = parts.port
    except ValueError:  # a port that is not a number: no site at all
        return ""
    if port is not None and port != _DEFAULT_PORTS.get(parts.scheme.lower()):
        return f"{host}:{port}"
    return host


def source_sites(source: Source) -> frozenset[str]:
    """The sites a source's articles may come from: its own URL, its entry points and its ``hosts``."""
    urls = (source.url, *source.feeds, *source.sitemaps, *source.sections)
    extra = (_SITE_PREFIX_RE.sub("", h.lower().rstrip(".")) for h in source.hosts)
    return frozenset({*(site_of(u) for u in urls), *extra} - {""})


def refusal(url: str, sites: frozenset[str]) -> tuple[str, str] | None:
    """``(kind, reason)`` when ``url`` must not be fetched for a source owning ``sites``; None when it may."""
    scheme = urlsplit(url).scheme.lower()
    if scheme not in ALLOWED_SCHEMES:
        return "scheme", f"scheme {scheme or '(none)'}: only http and https are fetched"
    site = site_of(url)
    if not site:
        return "host", "no host"
    if site not in sites:
        return "host", f"host {site} is not one of the source's own ({', '.join(sorted(sites))})"
    return None


def address_refusal(address: str) -> str | None:
    """Why an IP address is internal (loopback, private, link-local, ...), or None for a public one."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    for kind in ("loopback", "link_local", "private", "multicast", "unspecified", "reserved"):
        if getattr(ip, f"is_{kind}"):
            return f"{kind.replace('_', '-')} address {ip}"
    if not ip.is_global:
        return f"non-public address {ip}"
    return None


class UrlPolicyMiddleware:
    """Refuses, before download, each request whose URL the policy refuses; see the module docstring.

    The address check resolves the host with the reactor's resolver, the one the download itself uses
    (Scrapy's ``CachingThreadedResolver``), so the check and the connection see the same cached address;
    each host's verdict is kept for the run. ``RASID_ALLOW_PRIVATE_ADDRESSES`` turns the address check off
    (the offline snapshot and the tests serve on 127.0.0.1).
    """

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.allow_private = crawler.settings.getbool("RASID_ALLOW_PRIVATE_ADDRESSES")
        self._sites: dict[str, frozenset[str]] = {}
        self._addresses: dict[str, str | None] = {}
        self._logged: set[str] = set()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> UrlPolicyMiddleware:
        return cls(crawler)

    async def process_request(self, request: Request, spider: Any = None) -> None:
        source, sites = self._owner(request)
        refused = refusal(request.url, sites)
        if refused is None and not self.allow_private:
            reason = await self._address_refusal(urlsplit(request.url).hostname or "")
            refused = ("address", reason) if reason else None
        if refused is not None:
            self._refuse(request, source, *refused)

    def _owner(self, request: Request) -> tuple[str, frozenset[str]]:
        """The request's source and its sites; robots.txt and direct fetches own their first URL's site."""
        via = request.meta.get("rasid")
        name = getattr(via, "source", "") or ""
        first = request.meta.get("redirect_urls", [request.url])[0]
        spider = getattr(self.crawler, "spider", None)
        source = getattr(spider, "sources", {}).get(name)
        if source is None:
            entry = getattr(via, "entry", None) or first
            return name, frozenset({site_of(entry)} - {""})
        if name not in self._sites:
            self._sites[name] = source_sites(source)
        return name, self._sites[name]

    async def _address_refusal(self, host: str) -> str | None:
        if host not in self._addresses:
            address = host
            try:
                ipaddress.ip_address(host)
            except ValueError:
                from scrapy.utils.defer import maybe_deferred_to_future
                from twisted.internet import reactor

                # A lookup that fails raises DNSLookupError here, as the download would have.
                address = await maybe_deferred_to_future(reactor.resolve(host))  # type: ignore[attr-defined,arg-type]
            self._addresses[host] = address_refusal(address)
        return self._addresses[host]

    def _refuse(self, request: Request, source: str, kind: str, reason: str) -> None:
        stats = self.crawler.stats
        if stats is not None:
            stats.inc_value("rasid/refused")
            stats.inc_value(f"rasid/refused/{kind}")
        if request.url not in self._logged:
            self._logged.add(request.url)
            hops = request.meta.get("redirect_urls")
            via = f" (redirected from {hops[0]})" if hops else ""
            logger.warning("refused %s%s (source %s): %s", request.url, via, source or "-", reason)
        raise RefusedURL(kind, reason)
