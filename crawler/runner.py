"""Running one crawl (or one check of the sources) with Scrapy's CrawlerProcess, in this process.

Scrapy's reactor cannot restart, so each function here may run once per process: the CLI calls one of
them per invocation and the daemon runs each crawl in a child process (``rasid.crawl_process``).
Progress is reported through a callback fed from Scrapy's signals; the counters come back as a
``RunSummary``.
"""

from __future__ import annotations

import logging
import shutil
import signal
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy.exc import SQLAlchemyError

from crawler.settings import to_scrapy
from crawler.stats import ERRORS, HITS_SEEN_AGAIN, NOT_MODIFIED, OVER_BUDGET, SKIPPED, total_key
from storage.records import NOTHING_ANSWERED

if TYPE_CHECKING:
    from classifiers.keyword import KeywordClassifier
    from config.settings import Settings
    from config.sources import Source
    from crawler.page import Page
    from crawler.pipelines import Destination
    from crawler.spiders.news import EntryReport
    from storage.records import RunSummary
    from storage.repository import Repository

logger = logging.getLogger(__name__)

#: Seconds the Redis ping before a shared-frontier crawl may take.
REDIS_PING_TIMEOUT = 10.0
#: Scrapy loggers whose failures the spider already reports in one line with url, source and reason
#: (theirs carry tracebacks or repeat it): retries given up, robots.txt not fetched, pages over the cap.
QUIET_LOGGERS = {
    "scrapy.downloadermiddlewares.retry": logging.CRITICAL,
    "scrapy.downloadermiddlewares.robotstxt": logging.CRITICAL,
    "scrapy.core.downloader.handlers.http11": logging.ERROR,
    # trafilatura logs empty or odd pages at ERROR; the pipeline's "skipped ... no-article" line says it.
    "trafilatura": logging.CRITICAL,
    "htmldate": logging.CRITICAL,
}


#: Article links queued: listed, less those seen before, listed twice or left over the page budget.
QUEUED_TERMS = (("rasid/listed", 1), ("rasid/listed/seen", -1), ("rasid/listed/twice", -1), (OVER_BUDGET, -1))

#: The status of a run stopped by Ctrl-C or SIGTERM (Scrapy's close reason "shutdown").
INTERRUPTED = "interrupted"


@dataclass(frozen=True, slots=True)
class Progress:
    """Running totals sent to the progress callback after each fetched page and each processed item."""

    queued: int  # article links listed, in the window and not seen before
    counts: dict[str, int]  # the totals of crawler.stats.COUNTERS, as the summary table shows them


@dataclass(frozen=True, slots=True)
class CrawlResult:
    """What one crawl did: the stored summary, its run id and the final status."""

    run_id: int
    status: str  # "ok", "interrupted", NOTHING_ANSWERED or "stopped: <Scrapy's close reason>"
    summary: RunSummary
    refused: int = 0  # URLs the URL policy refused (not http(s), another host, an internal address)
    not_modified: int = 0  # listings answered 304 to a conditional re-read: nothing parsed or requested
    over_budget: int = 0  # new links left for the next run by the per-source page budget
    hits_seen_again: int = 0  # flagged articles stored before (same URL or same outlet's text): no new hit


def run_crawl(
    settings: Settings,
    sources: tuple[Source, ...],
    repository: Repository,
    classifier: KeywordClassifier,
    *,
    snapshot: bool = False,
    max_age_days: float | None = None,
    on_progress: Callable[[Progress], None] | None = None,
    run_id: int | None = None,
    worker: bool = False,
) -> CrawlResult:
    """Crawl ``sources`` into ``repository`` (opened by ``rasid.app``); ``max_age_days`` None: no window.

    ``run_id`` is a run the daemon already recorded as started; without it the crawl records its own.
    With ``crawl.redis_url`` the sources' entry points go on the shared queue first (unless ``worker``:
    a worker only takes from it), and this process works the queue until it stays empty.
    """
    from crawler.pipelines import Destination

    check_redis(settings)
    shared = settings.crawl.redis_url is not None
    if shared and not worker:
        from crawler.frontier import seed

        seed(settings, sources, repository.seen_urls)
    if run_id is None:
        run_id = repository.start_run([s.name for s in sources], snapshot=snapshot)
    destination = Destination(repository=repository, classifier=classifier, run_id=run_id)
    stats: dict[str, Any] = {}
    spider_box: list[Any] = []
    try:
        reason = _run(
            settings,
            snapshot,
            on_progress,
            spider_box=spider_box,
            stats_out=stats,
            sources=sources,
            max_age_days=max_age_days,
            seen_urls=repository.seen_urls,
            destination=destination,
            validators=repository.listing_validators(s.name for s in sources),
            max_pages_per_source=settings.crawl.max_pages_per_source,
            shared=shared,
            seeded=shared,
        )
    except BaseException:  # Ctrl-C before Scrapy's own handler was in place: the run is not left "running"
        repository.finish_run(run_id, summarize(stats, [s.name for s in sources]), INTERRUPTED)
        raise
    summary = summarize(stats, [s.name for s in sources])
    status = {"finished": "ok", "shutdown": INTERRUPTED}.get(reason, f"stopped: {reason}")
    # A listing that answers with links seen before fetches no page, and is an answer all the same.
    listings = spider_box[0].reports.values() if spider_box else ()
    answered = summary.pages_fetched + int(stats.get(total_key(NOT_MODIFIED), 0)) or any(
        report.answered for report in listings
    )
    if status == "ok" and not answered and summary.errors:  # offline, or every outlet down: not a quiet day
        status = NOTHING_ANSWERED
    if spider_box:
        _save_validators(repository, spider_box[0], stats, reason)
    repository.finish_run(run_id, summary, status)
    logger.info(
        "crawl run %d %s: %d pages, %d articles, %d new, %d hits, %d skipped, %d errors",
        run_id,
        status,
        summary.pages_fetched,
        summary.articles_extracted,
        summary.articles_stored,
        summary.hits,
        summary.skipped,
        summary.errors,
    )
    return CrawlResult(
        run_id=run_id,
        status=status,
        summary=summary,
        refused=int(stats.get("rasid/refused", 0)),
        not_modified=int(stats.get(total_key(NOT_MODIFIED), 0)),
        over_budget=int(stats.get(OVER_BUDGET, 0)),
        hits_seen_again=int(stats.get(HITS_SEEN_AGAIN, 0)),
    )


def _save_validators(repository: Repository, spider: Any, stats: dict[str, Any], reason: str) -> None:
    """After a run that finished with every page stored, remember its complete listings' validators.

    A run cut short, a batch not stored or a page whose extraction crashed (all of which come back next
    run) saves none: a 304 next time would hide the links that still need fetching.
    """
    lost = int(stats.get(f"{total_key(ERRORS)}/store", 0)) + int(
        stats.get(f"{total_key(SKIPPED)}/extract-error", 0)
    )
    if reason != "finished" or lost:
        logger.info("listing validators not saved: the run did not store every page it fetched")
        return
    try:
        saved = repository.save_listing_validators(spider.complete_validators())
    except SQLAlchemyError as exc:  # a cache: losing it costs full re-reads of the listings, nothing more
        logger.warning("listing validators not saved: %s", str(exc).splitlines()[0])
        return
    logger.debug("saved %d listing validators", saved)


def check_redis(settings: Settings) -> None:
    """With a shared frontier, one ping first: an unusable Redis is one line, not a traceback mid-crawl."""
    if settings.crawl.redis_url is None:
        return
    import redis

    from config.settings import ConfigError, mask_secrets, mask_url

    url = settings.crawl.redis_url.get_secret_value()
    timeout = min(settings.crawl.download_timeout, REDIS_PING_TIMEOUT)
    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout)
        client.ping()
        client.close()
    except (redis.RedisError, ValueError) as exc:
        first = mask_secrets(str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__)
        raise ConfigError(f"{mask_url(url)}: cannot use Redis: {first}") from None


def check_sources(settings: Settings, sources: tuple[Source, ...]) -> list[EntryReport]:
    """Fetch every entry point once (no articles) and report whether it answers and what it lists."""
    spider_box: list[Any] = []
    _run(settings, False, None, sources=sources, max_age_days=None, listing_only=True, spider_box=spider_box)
    spider = spider_box[0]
    return list(spider.reports.values())


def fetch_pages(settings: Settings, urls: Iterable[str], source: str = "") -> list[Page]:
    """Fetch article pages directly (robots.txt, retries and limits as in a crawl); failures are logged."""
    pages: list[Page] = []
    _run(settings, False, None, on_page=pages.append, article_urls=[(source, url) for url in urls])
    return pages


def summarize(stats: dict[str, Any], names: Iterable[str]) -> RunSummary:
    """The run's counters from Scrapy's stats (``rasid/...`` keys written by the spider and pipeline)."""
    from crawler.stats import ARTICLES, ERRORS, HITS, NEW, PAGES, SKIPPED, per_source, totals
    from storage.records import RunSummary

    total = totals(stats)
    return RunSummary(
        pages_fetched=total[PAGES],
        articles_extracted=total[ARTICLES],
        articles_stored=total[NEW],
        hits=total[HITS],
        skipped=total[SKIPPED],
        errors=total[ERRORS],
        per_source=per_source(stats, names),
    )


def _run(
    settings: Settings,
    snapshot: bool,
    on_progress: Callable[[Progress], None] | None,
    spider_box: list[Any] | None = None,
    on_page: Callable[[Page], None] | None = None,
    stats_out: dict[str, Any] | None = None,
    destination: Destination | None = None,
    shared: bool = False,
    **spider_kwargs: Any,
) -> str:
    """One CrawlerProcess with the NewsSpider; returns its close reason, its stats go into ``stats_out``.

    ``stats_out`` is filled as the crawl goes, so a caller interrupted midway still has the counts.
    """
    from scrapy import signals
    from scrapy.crawler import CrawlerProcess

    from crawler.pipelines import EXTRACT_WORKERS
    from crawler.spiders.news import NewsSpider

    root = logging.getLogger()
    level = root.level
    # Requests waiting to be fetched go to Scrapy's disk queues in a folder of this run's own (removed at
    # the end), so a listing of thousands of links does not grow memory; a shared frontier keeps them in Redis.
    queue_dir = None if shared else tempfile.mkdtemp(prefix="rasid-queue-")
    logging.disable(logging.INFO)  # Scrapy's start-up banner (versions, settings) is not ours to show
    try:
        process = CrawlerProcess(
            {
                **to_scrapy(settings, snapshot=snapshot, shared=shared),
                "LOG_INSTALL_ROOT_HANDLER": False,
                **({"JOBDIR": queue_dir} if queue_dir else {}),
            }
        )
    finally:
        logging.disable(logging.NOTSET)
    # Scrapy's configure_logging() resets the root level; rasid's CLI decides what is shown.
    root.setLevel(level)
    logging.getLogger("scrapy").setLevel(max(level, logging.WARNING))
    for name, quiet in QUIET_LOGGERS.items():
        logging.getLogger(name).setLevel(max(quiet, level))
    crawler = process.create_crawler(NewsSpider)
    # What the item pipeline needs, read in its from_crawler; set before crawl() freezes the settings
    # (objects are kept as they are: Scrapy copies settings only when the crawler is created).
    crawler.settings.set("RASID_DESTINATION", destination)
    crawler.settings.set("RASID_MAX_AGE_DAYS", spider_kwargs.get("max_age_days"))
    workers = EXTRACT_WORKERS if settings.crawl.extract_workers is None else settings.crawl.extract_workers
    crawler.settings.set("RASID_EXTRACT_WORKERS", 0 if spider_kwargs.get("article_urls") else workers)
    outcome: dict[str, str] = {"reason": "unknown"}

    def report(*_args: Any, **_kwargs: Any) -> None:
        if on_progress is None and stats_out is None:
            return
        from crawler.stats import totals

        values = crawler.stats.get_stats()
        if stats_out is not None:
            stats_out.update(values)
        queued = sum(int(values.get(key, 0)) * sign for key, sign in QUEUED_TERMS)
        if on_progress is not None:
            on_progress(Progress(queued=queued, counts=totals(values)))

    def closed(spider: Any, reason: str) -> None:
        outcome["reason"] = reason
        if spider_box is not None:
            spider_box.append(spider)

    crawler.signals.connect(report, signal=signals.response_received)
    crawler.signals.connect(report, signal=signals.item_scraped)

    def scraped(item: Any, **_kwargs: Any) -> None:
        if on_page is not None:
            on_page(item)

    crawler.signals.connect(closed, signal=signals.spider_closed)
    crawler.signals.connect(scraped, signal=signals.item_scraped)
    # Scrapy's SIGINT handler (a graceful stop) is installed only when the reactor starts; a Ctrl-C while
    # the engine is being built would break it halfway (Twisted's "Unhandled error in Deferred"), so
    # until then it is only noted, and the crawl is not started at all.
    noted: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda signum, _frame: noted.append(signum))
    try:
        process.crawl(crawler, **spider_kwargs)
        if noted:
            return "shutdown"
        process.start(install_signal_handlers=True)
    finally:
        signal.signal(signal.SIGINT, previous)
        if queue_dir:
            shutil.rmtree(queue_dir, ignore_errors=True)
    report()
    return outcome["reason"]
