"""NewsSpider: every source's feeds, news sitemaps and section pages, down to its new article pages.

Scrapy does the fetching, politeness and de-duplication within a run; the spider adds what is ours: the
age window, the "seen in an earlier run" check (one batched query per listing, by raw and canonical URL),
the per-source page budget (newest listed first), conditional re-reads of listings, and the ``Page`` items.
It never writes: the pipeline stores through the repository, and the runner saves the listings'
validators that ``complete_validators`` hands it at the end of a run.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from scrapy.http import Request, Response, TextResponse
from scrapy.spiders import SitemapSpider
from scrapy.utils.sitemap import sitemap_urls_from_robots

from crawler.discovery import (
    FeedError,
    Listed,
    autodiscover_feeds,
    entry_date,
    parse_feed,
    section_links,
    sitemap_entries,
)
from crawler.page import Page
from crawler.robots import UNREACHABLE
from crawler.stats import ERRORS, NOT_MODIFIED, OVER_BUDGET, PAGES, count
from crawler.urlpolicy import RefusedURL
from storage.errors import StorageError
from storage.records import ListingValidator
from storage.urls import canonicalize_url

if TYPE_CHECKING:
    from twisted.python.failure import Failure

    from config.sources import Source

logger = logging.getLogger(__name__)

#: A listing page rarely holds more new articles than this; a huge one is capped, not followed blindly.
MAX_LINKS_PER_LISTING = 500
#: Entries of one listing read at most (the sitemap protocol's own limit): bounds the seen-URL queries.
MAX_ENTRIES_PER_LISTING = 50_000
#: Listing kinds whose answer lists articles: only these are re-read conditionally. A sitemap index or
#: robots.txt is always read in full, since a child sitemap may change while its index does not.
CONDITIONAL_KINDS = frozenset({"feed", "urlset", "section"})
_OLDEST = datetime.min.replace(tzinfo=UTC)


@dataclass
class EntryReport:
    """What one entry point (feed, sitemap, section, home page) gave: for ``rasid sources check``."""

    source: str
    kind: str  # "feed", "sitemap", "section" or "home"
    url: str
    answered: bool = False
    error: str | None = None
    links: int = 0
    newest: datetime | None = None
    listings: int = 0  # documents read (a sitemap index counts its children)


@dataclass(frozen=True, slots=True)
class _Via:
    """What a request carries: whose it is, which entry point it came from, and how it was found."""

    source: str
    entry: str
    kind: str
    listed: Listed | None = None
    depth: int = 0  # sitemap hops from the entry point (robots.txt and indexes add one each)
    listing: str = ""  # an article's: the URL of the listing (feed, sitemap, section) that gave it


class NewsSpider(SitemapSpider):
    """One spider for all sources; each source's entry points are requested at start."""

    name = "news"

    def __init__(
        self,
        sources: Iterable[Source] = (),
        max_age_days: float | None = None,
        seen_urls: Callable[[list[str]], set[str]] | None = None,
        listing_only: bool = False,
        article_urls: Iterable[tuple[str, str]] = (),
        validators: Mapping[str, ListingValidator] | None = None,
        max_pages_per_source: int | None = None,
        seeded: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.sources = {s.name: s for s in sources}
        self.max_age_days = max_age_days
        self.cutoff = datetime.now(UTC) - timedelta(days=max_age_days) if max_age_days is not None else None
        self.seen_urls = seen_urls
        self.listing_only = listing_only
        self.article_urls = tuple(article_urls)  # (source, url) fetched directly, e.g. `rasid explain`
        self.reports: dict[tuple[str, str], EntryReport] = {}
        self.validators = dict(validators or {})  # by listing URL, as the last complete run left them
        # Pages each source may still request this run (its own max_pages, else the crawl's); None: no cap.
        self.budget: dict[str, int | None] = {
            s.name: s.max_pages or max_pages_per_source for s in self.sources.values()
        }
        # Bounded by the budget: canonical URLs requested this run, so a link listed twice with other
        # tracking parameters or fragments is fetched once.
        self.requested: set[str] = set()
        # Listing URL -> the validator its answer came with, until a link of it is cut or fails.
        self.answered: dict[str, ListingValidator] = {}
        self.incomplete: set[str] = set()
        self.seeded = seeded  # a shared-frontier crawl: the entry points are on the Redis queue already
        # With a shared frontier, set by its scheduler: (source, pages wanted) -> pages granted from the
        # source's budget that all workers share (crawler.frontier), on top of this process's own.
        self.shared_budget: Callable[[str, int], int] | None = None

    async def start(self) -> AsyncIterator[Any]:
        if self.seeded:  # crawler.frontier.seed put them there; the workers take them from the queue
            return
        for name, url in self.article_urls:
            yield self._article_request(Listed(url), _Via(name, url, "direct"))
        for source in self.sources.values():
            entries: list[tuple[str, str, Callable[[Response], Any]]] = [
                *((url, "feed", self.parse_feed) for url in source.feeds),
                *((url, "sitemap", self.parse_sitemap) for url in source.sitemaps),
                *((url, "section", self.parse_section) for url in source.sections),
            ]
            if not entries:
                entries.append((source.url, "home", self.parse_home))
            for url, kind, callback in entries:
                self.reports[(source.name, url)] = EntryReport(source.name, kind, url)
                yield self._listing_request(url, callback, _Via(source.name, url, kind))

    # ------------------------------------------------------------------------------------ listings

    def parse_feed(self, response: Response) -> Iterator[Request]:
        via: _Via = response.meta["rasid"]
        if self._not_modified(response, via):
            return
        try:
            listed, problem = parse_feed(response.body, response.url)
        except FeedError as exc:
            self._listing_failed(via, response.url, f"malformed feed: {exc}")
            return
        if problem:
            count(self.crawler.stats, ERRORS, via.source, reason="malformed-feed")
            logger.warning(
                "malformed feed %s (source %s): %s; kept the %d items before it",
                response.url,
                via.source,
                problem,
                len(listed),
            )
            self._report(via).error = f"malformed feed: {problem}"
        yield from self._request_listed(response, via, listed, kind="feed")

    def parse_sitemap(self, response: Response) -> Iterator[Request]:
        via: _Via = response.meta["rasid"]
        if self._not_modified(response, via):
            return
        if response.url.endswith("/robots.txt"):
            urls = list(sitemap_urls_from_robots(response.body, base_url=response.url))
            yield from self._follow_sitemaps(response.url, via, [(url, None) for url in urls])
            return
        body = self._get_sitemap_body(response)  # Scrapy's: gunzips within DOWNLOAD_MAXSIZE
        try:
            kind, entries = sitemap_entries(body) if body else ("", iter(()))
        except Exception as exc:  # noqa: BLE001 - lxml raises various errors on non-XML; the sitemap is lost
            logger.debug("sitemap parse error at %s", response.url, exc_info=True)
            kind, entries = f"unparsable ({type(exc).__name__})", iter(())
        if kind == "sitemapindex":
            self._report(via).answered = True
            children = []
            for entry in entries:
                when = entry_date(entry)
                if self._too_old(when):
                    self.crawler.stats.inc_value("rasid/listed/too_old")
                    continue
                children.append((entry["loc"], when))
            yield from self._follow_sitemaps(response.url, via, children)
        elif kind == "urlset":
            listed = (Listed(e["loc"], e.get("news_title") or None, entry_date(e)) for e in entries)
            yield from self._request_listed(response, via, listed, kind="urlset")
        elif body is None and response.body[:2] == b"\x1f\x8b":
            self._listing_failed(
                via, response.url, "gzipped sitemap larger than DOWNLOAD_MAXSIZE once unzipped"
            )
        else:
            self._listing_failed(via, response.url, f"not a sitemap: {kind or 'empty or not XML'}")

    def _follow_sitemaps(
        self, url: str, via: _Via, children: list[tuple[str, datetime | None]]
    ) -> Iterator[Request]:
        """Requests for the sitemaps an index or robots.txt lists: newest first, capped in count and depth."""
        settings = self.crawler.settings
        most = settings.getint("RASID_SITEMAP_INDEX_MAX_CHILDREN", 100)
        deepest = settings.getint("RASID_SITEMAP_MAX_DEPTH", 3)
        stats = self.crawler.stats
        if children and via.depth + 1 > deepest:
            stats.inc_value("rasid/sitemaps/too_deep", len(children))
            logger.warning(
                "sitemap %s (source %s): %d child sitemaps not followed, deeper than %d levels",
                url, via.source, len(children), deepest,
            )  # fmt: skip
            return
        if len(children) > most:
            stats.inc_value("rasid/sitemaps/over_cap", len(children) - most)
            logger.warning(
                "sitemap index %s (source %s): followed the newest %d of %d child sitemaps",
                url, via.source, most, len(children),
            )  # fmt: skip
            oldest = datetime.min.replace(tzinfo=UTC)
            children = sorted(children, key=lambda child: child[1] or oldest, reverse=True)[:most]
        child_via = _Via(via.source, via.entry, via.kind, depth=via.depth + 1)
        for child, _when in children:
            yield self._listing_request(child, self.parse_sitemap, child_via)

    def parse_section(self, response: Response) -> Iterator[Request]:
        via: _Via = response.meta["rasid"]
        if self._not_modified(response, via):
            return
        if not isinstance(response, TextResponse):
            self._listing_failed(via, response.url, "section page is not HTML")
            return
        source = self.sources.get(via.source)
        allow, deny = (source.allow, source.deny) if source else ((), ())
        yield from self._request_listed(response, via, section_links(response, allow, deny), kind="section")

    def parse_home(self, response: Response) -> Iterator[Request]:
        """A source with no declared entry point: its announced feeds, else its home page as a section."""
        via: _Via = response.meta["rasid"]
        if self._not_modified(response, via):
            return
        feeds = autodiscover_feeds(response) if isinstance(response, TextResponse) else ()
        if not feeds:
            yield from self.parse_section(response)
            return
        self._report(via).answered = True
        logger.info("source %s: feeds discovered on %s: %s", via.source, response.url, ", ".join(feeds))
        for url in feeds:
            yield self._listing_request(url, self.parse_feed, _Via(via.source, via.entry, "feed"))

    # ------------------------------------------------------------------------------------ articles

    def parse_article(self, response: Response) -> Iterator[Page]:
        via: _Via = response.meta["rasid"]
        listed = via.listed or Listed(response.url)
        count(self.crawler.stats, PAGES, via.source)
        headers = tuple(
            (key.decode("latin-1"), b", ".join(values).decode("latin-1"))
            for key, values in response.headers.items()
        )
        yield Page(
            source=via.source,
            url=listed.url,
            final_url=response.url,
            status=response.status,
            headers=headers,
            body=response.body,
            fetched_at=datetime.now(UTC),
            via=via.kind if via.kind in {"feed", "sitemap", "section"} else "feed",
            listed_title=listed.title,
            listed_published=listed.published,
        )

    def failed(self, failure: Failure) -> None:
        """A request that got no usable response: one line, one counter, and the crawl goes on."""
        request = failure.request  # type: ignore[attr-defined]
        via: _Via = request.meta["rasid"]
        url = request.meta.get("redirect_urls", [request.url])[0]  # the URL as listed, not a later hop
        reason = describe_failure(failure)
        stats = self.crawler.stats
        if isinstance(failure.value, RefusedURL):
            pass  # crawler.urlpolicy has logged and counted it, once
        elif reason == "robots.txt":
            stats.inc_value("rasid/robots_denied")
            logger.info("not fetched %s (source %s): disallowed by robots.txt", url, via.source)
        else:
            count(stats, ERRORS, via.source, reason=reason.split(":")[0])
            logger.warning("failed %s (source %s): %s", url, via.source, reason)
        if via.listing:  # an article its listing promised: that listing must be read in full next run
            self.incomplete.add(via.listing)
        if via.listed is None:  # a listing, not an article
            report = self._report(via)
            if not report.answered:
                report.error = reason

    # ------------------------------------------------------------------------------------ helpers

    def _request_listed(
        self, response: Response, via: _Via, listed: Iterable[Listed], kind: str
    ) -> Iterator[Request]:
        """Requests for the listed articles in the window, not seen in an earlier run nor requested in this
        one, newest listed first, within the source's page budget."""
        report = self._report(via)
        report.answered = True
        report.listings += 1
        stats = self.crawler.stats
        listing = response.meta.get("redirect_urls", [response.url])[0]  # as requested, before redirects
        fresh: dict[str, Listed] = {}  # by canonical URL: tracking parameters and fragments make no twin
        complete = True
        for number, item in enumerate(listed):
            if number >= MAX_ENTRIES_PER_LISTING:
                complete = False
                break
            if item.published is not None and (report.newest is None or item.published > report.newest):
                report.newest = item.published
            if self._too_old(item.published):
                stats.inc_value("rasid/listed/too_old")
                continue
            fresh.setdefault(canonicalize_url(item.url), item)
        report.links += len(fresh)
        stats.inc_value("rasid/listed", len(fresh))
        if self.listing_only:
            return
        self._remember_validator(response, via, listing, kind)
        # Newest first (undated links after, in listing order): what the budget cuts is the oldest.
        order = sorted(fresh.values(), key=lambda item: item.published or _OLDEST, reverse=True)
        wanted = [item for item in order if canonicalize_url(item.url) not in self.requested]
        if len(wanted) < len(order):
            stats.inc_value("rasid/listed/twice", len(order) - len(wanted))
        try:
            seen = self.seen_urls([item.url for item in wanted]) if self.seen_urls and wanted else set()
        except StorageError as exc:  # the database went away mid-crawl: the links come back next run
            self.answered.pop(listing, None)
            self._listing_failed(via, response.url, f"cannot tell which links are new: {exc}")
            return
        if seen:
            stats.inc_value("rasid/listed/seen", len(seen))
        new = [item for item in wanted if item.url not in seen]
        most = self.budget.get(via.source)
        most = MAX_LINKS_PER_LISTING if most is None else min(most, MAX_LINKS_PER_LISTING)
        if self.shared_budget is not None:  # several workers: what is left of the source's budget in Redis
            most = self.shared_budget(via.source, min(len(new), most)) if new else most
        if len(new) > most:
            complete = False
            stats.inc_value(OVER_BUDGET, len(new) - most)
            logger.warning(
                "listing %s (source %s): %d new links, %d fetched this run, the oldest %d wait for the next",
                listing, via.source, len(new), most, len(new) - most,
            )  # fmt: skip
            new = new[:most]
        if not complete:
            self.incomplete.add(listing)
        if self.budget.get(via.source) is not None:
            self.budget[via.source] = max(0, (self.budget[via.source] or 0) - len(new))
        for item in new:
            self.requested.add(canonicalize_url(item.url))
            yield self._article_request(item, _Via(via.source, via.entry, via.kind, item, listing=listing))

    def complete_validators(self) -> list[ListingValidator]:
        """Validators of the listings whose every link was requested and answered: safe to re-read with."""
        return [v for url, v in self.answered.items() if url not in self.incomplete]

    def _remember_validator(self, response: Response, via: _Via, listing: str, kind: str) -> None:
        """Keep the answer's ETag / Last-Modified (if any) of a listing that lists articles itself."""
        if kind not in CONDITIONAL_KINDS or response.status != 200:
            return
        etag = response.headers.get(b"ETag")
        modified = response.headers.get(b"Last-Modified")
        if etag or modified:
            self.answered[listing] = ListingValidator(
                listing,
                via.source,
                etag.decode("latin-1") if etag else None,
                modified.decode("latin-1") if modified else None,
            )

    def _not_modified(self, response: Response, via: _Via) -> bool:
        """A 304 to a conditional re-read: nothing changed since the last complete read, nothing to do."""
        if response.status != 304:
            return False
        self._report(via).answered = True
        count(self.crawler.stats, NOT_MODIFIED, via.source)
        logger.debug("not modified: %s (source %s)", response.url, via.source)
        return True

    def _too_old(self, when: datetime | None) -> bool:
        return self.cutoff is not None and when is not None and when < self.cutoff

    def _listing_request(self, url: str, callback: Callable[[Response], Any], via: _Via) -> Request:
        headers: dict[str, str] = {}
        known = self.validators.get(url)
        if known is not None and not self.listing_only:
            if known.etag:
                headers["If-None-Match"] = known.etag
            if known.last_modified:
                headers["If-Modified-Since"] = known.last_modified
        # A 304 reaches the callback (Scrapy's HttpErrorMiddleware would drop it as a non-2xx answer).
        meta = {"rasid": via, "handle_httpstatus_list": [304]}
        return Request(url, callback=callback, errback=self.failed, meta=meta, headers=headers, priority=10)

    def _article_request(self, listed: Listed, via: _Via) -> Request:
        return Request(listed.url, callback=self.parse_article, errback=self.failed, meta={"rasid": via})

    def _report(self, via: _Via) -> EntryReport:
        key = (via.source, via.entry)
        if key not in self.reports:
            self.reports[key] = EntryReport(via.source, via.kind, via.entry)
        return self.reports[key]

    def _listing_failed(self, via: _Via, url: str, reason: str) -> None:
        count(self.crawler.stats, ERRORS, via.source, reason=reason.split(":")[0].replace(" ", "-"))
        logger.warning("skipped %s (source %s): %s", url, via.source, reason)
        report = self._report(via)
        report.answered = True
        report.error = reason


def describe_failure(failure: Failure) -> str:
    """A short reason for a failed request: 'http 404', 'refused', 'dns', 'timeout', 'too large', ..."""
    from scrapy.exceptions import DownloadCancelledError, IgnoreRequest, ResponseDataLossError
    from scrapy.spidermiddlewares.httperror import HttpError
    from twisted.internet import error

    value = failure.value
    if isinstance(value, RefusedURL):
        return str(value)
    if isinstance(value, HttpError):
        return f"http {value.response.status}"
    if isinstance(value, IgnoreRequest):
        if str(value).startswith(UNREACHABLE):  # an error of the source: it gets nothing this run
            return str(value)
        if "robots" in str(value).lower():
            return "robots.txt"
        return str(value) if str(value).startswith("redirect loop") else f"ignored: {value}"
    if isinstance(value, error.ConnectionRefusedError) or "refused" in type(value).__name__.lower():
        return "refused: host refuses connections"
    if isinstance(value, error.DNSLookupError) or "resolve" in type(value).__name__.lower():
        return "dns: host not found"
    if (
        isinstance(value, (error.TimeoutError, error.TCPTimedOutError))
        or "timeout" in type(value).__name__.lower()
    ):
        return "timeout"
    text = str(value).strip().splitlines()[0] if str(value).strip() else type(value).__name__
    if "max size" in text.lower() or "maxsize" in text.lower():
        return "too large: over DOWNLOAD_MAXSIZE"
    if isinstance(value, DownloadCancelledError) and text == type(value).__name__:
        # Scrapy cancels a body without Content-Length once it passes DOWNLOAD_MAXSIZE, and says nothing.
        return "too large: cut off past DOWNLOAD_MAXSIZE"
    if isinstance(value, ResponseDataLossError):
        return "truncated: the connection closed before the promised bytes arrived"
    return f"{type(value).__name__}: {text}"[:200]
