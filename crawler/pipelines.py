"""The item pipeline: each ``Page`` is extracted, classified and stored in batches through the repository.

One transaction per batch (``Repository.store``), batched per source so each write's result counts for
one outlet. A page without an article is stored as a seen URL with its reason, so it is not fetched
again; a page outside the age window likewise, and a page whose text names no Russia term (the
prefilter, ``crawler/prefilter.py``), which is never extracted unless ``RASID_EXTRACT_ALL`` is set. A failed batch is logged once and its pages come back
next run. Counters go to Scrapy's stats under the names of ``crawler/stats.py``.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
from concurrent.futures import Executor, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from multiprocessing import get_context
from typing import TYPE_CHECKING, Any

from crawler.extract import NoArticle, article_from_html, decode_page
from crawler.page import Page
from crawler.prefilter import NO_RUSSIA, skip_reason
from crawler.stats import ARTICLES, ERRORS, HITS, HITS_SEEN_AGAIN, NEW, SKIPPED, count

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

    from classifiers.keyword import KeywordClassifier
    from storage.records import PageOutcome
    from storage.repository import Repository

logger = logging.getLogger(__name__)

#: How often an extraction worker checks that the crawl process still lives.
PARENT_CHECK_SECONDS = 0.5
#: Pages per transaction: small enough that a crash loses little, large enough to keep SQLite fast.
BATCH_SIZE = 50
#: Pages waiting in all sources' batches at most: a crash loses little, and memory stays bounded.
MAX_PENDING = 2 * BATCH_SIZE
#: Extraction (trafilatura, htmldate) is CPU-bound and stalls the reactor thread, downloads included, so
#: worker processes (spawned, sharing nothing with the reactor) take it, leaving a core to Scrapy, the
#: prefilter, classification and storage. Measured on the 2-core machine (shared, load 5-9) with the
#: prefilter in, `rasid crawl --snapshot --size 1200` (1,217 pages, 800 extracted), wall seconds over two
#: runs: in process 34.3 / 45.5, one worker 30.4 / 32.9, two workers 33.5; at 300 pages in process
#: 21.9 / 20.4, one worker 16.8 / 16.8, two 22.3 / 20.3. So one worker per core but one, up to four.
EXTRACT_WORKERS = min((os.cpu_count() or 1) - 1, 4)


@dataclass(frozen=True, slots=True)
class Destination:
    """Where a crawl's pages go: the repository, the classifier and the run they are stored under."""

    repository: Repository
    classifier: KeywordClassifier
    run_id: int


class StorePipeline:
    """Extract -> classify -> batch -> ``Repository.store``; without a destination it only extracts.

    Built by Scrapy through ``from_crawler`` from the crawl's settings: ``RASID_DESTINATION`` (the run's
    ``Destination``, set by ``crawler.runner``), ``RASID_MAX_AGE_DAYS`` (the age window, None for none),
    ``RASID_EXTRACT_WORKERS`` (worker processes for extraction, 0 to extract in the crawl process) and
    ``RASID_EXTRACT_ALL`` (extract pages that name no Russia term too). Nothing is kept per page beyond
    the open batches, so memory does not grow with the pages crawled.
    """

    def __init__(
        self,
        stats: Any,
        destination: Destination | None = None,
        max_age_days: float | None = None,
        extract_workers: int = 0,
        extract_all: bool = False,
    ) -> None:
        self.stats = stats
        self.destination = destination
        self.max_age_days = max_age_days
        self.extract_workers = extract_workers
        self.cutoff: datetime | None = None
        self.batches: dict[str, list[PageOutcome]] = {}
        self.workers: Executor | None = None
        # The classifier's own Russia test, so the prefilter never skips a page it could call a hit.
        self.names_russia = (
            None if extract_all or destination is None else destination.classifier.names_russia
        )

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> StorePipeline:
        settings = crawler.settings
        max_age = settings.get("RASID_MAX_AGE_DAYS")
        return cls(
            crawler.stats,
            destination=settings.get("RASID_DESTINATION"),
            max_age_days=None if max_age is None else float(max_age),
            extract_workers=settings.getint("RASID_EXTRACT_WORKERS", 0),
            extract_all=settings.getbool("RASID_EXTRACT_ALL", False),
        )

    def open_spider(self) -> None:
        if self.max_age_days is not None:
            self.cutoff = datetime.now(UTC) - timedelta(days=self.max_age_days)
        if self.extract_workers >= 1:
            self.workers = ProcessPoolExecutor(
                self.extract_workers,
                mp_context=get_context("spawn"),
                initializer=exit_with_parent,
                initargs=(os.getpid(),),
            )

    async def process_item(self, item: Any) -> Any:
        if not isinstance(item, Page):
            return item
        from storage.records import PageOutcome

        urls = tuple(dict.fromkeys((item.url, item.final_url)))
        source = item.source
        article, reason, detail = await self._extract(item)
        if article is None:
            self._skip(item, reason, detail)
            if reason != "extract-error":  # a crash may be ours, not the page's: fetch it again next run
                self._add(PageOutcome(source=source, urls=urls, skip_reason=reason))
            return item
        if self.cutoff is not None and article.published is not None and article.published < self.cutoff:
            self._skip(item, "too-old", f"published {article.published:%Y-%m-%d}")
            self._add(PageOutcome(source=source, urls=urls, skip_reason="too-old"))
            return item
        count(self.stats, ARTICLES, source)
        if self.destination is None:
            return item
        verdict = self.destination.classifier.classify(article.title, article.text)
        self._add(PageOutcome(source=source, urls=urls, article=article, verdict=verdict))
        return item

    def close_spider(self) -> None:
        for source in list(self.batches):
            self._flush(source)
        if self.workers is not None:
            self.workers.shutdown(wait=True, cancel_futures=True)

    # ------------------------------------------------------------------------------------ helpers

    async def _extract(self, page: Page) -> tuple[Any, str, str]:
        try:
            html = decode_page(page)
            if self.names_russia is not None:
                skipped = skip_reason(html, page.listed_title, self.names_russia)
                if skipped is not None:
                    return None, *skipped
        except NoArticle as exc:
            return None, exc.reason, exc.detail
        except Exception as exc:  # noqa: BLE001 - one bad page must not end the run
            logger.debug("decoding crashed on %s", page.url, exc_info=True)
            return None, "extract-error", f"{type(exc).__name__}: {exc}"
        if self.workers is not None:
            try:
                return await asyncio.wrap_future(self.workers.submit(extract_in_worker, page, html))
            except BrokenProcessPool:
                # A worker died (killed, out of memory): extraction goes on in this process. Pages in
                # flight all fail at once; the first one to get here says so.
                if self.workers is not None:
                    logger.error("extraction workers died; extracting in the crawl process from now on")
                    self.workers = None
        return extract_in_worker(page, html)

    def _skip(self, page: Page, reason: str, detail: str) -> None:
        count(self.stats, SKIPPED, page.source, reason=reason)
        if reason == NO_RUSSIA:  # most pages, and no fault of the page's: a decision, not a warning
            logger.debug("not extracted %s (source %s): %s", page.final_url, page.source, reason)
            return
        logger.warning(
            "skipped %s (source %s): %s%s",
            page.final_url,
            page.source,
            reason,
            f", {detail}" if detail else "",
        )

    def _add(self, outcome: PageOutcome) -> None:
        if self.destination is None:
            return
        batch = self.batches.setdefault(outcome.source, [])
        batch.append(outcome)
        if len(batch) >= BATCH_SIZE:
            self._flush(outcome.source)
        elif sum(len(pending) for pending in self.batches.values()) >= MAX_PENDING:
            # Many small sources: store the fullest batch now rather than every one at the end of the run.
            self._flush(max(self.batches, key=lambda name: len(self.batches[name])))

    def _flush(self, source: str) -> None:
        outcomes = self.batches.pop(source, [])
        if not outcomes or self.destination is None:
            return
        try:
            result = self.destination.repository.store(outcomes, self.destination.run_id)
        except Exception:  # noqa: BLE001 - the batch rolled back; its pages come back next run
            # Repository.store has logged the failure once; the traceback is for -vv.
            logger.debug("store failed for source %s", source, exc_info=True)
            count(self.stats, ERRORS, source, reason="store")
            return
        count(self.stats, NEW, source, result.new_articles)
        # Counted once stored, so each source's hits are the rows `rasid hits --source` lists of this run.
        count(self.stats, HITS, source, result.new_hits)
        # Details beside the counters: what the stored batch held besides new articles.
        self.stats.inc_value(HITS_SEEN_AGAIN, result.hits_seen_again)
        self.stats.inc_value("rasid/stored/duplicates", result.duplicates)
        self.stats.inc_value("rasid/stored/already_stored", result.already_stored)


def exit_with_parent(parent: int) -> None:
    """In an extraction worker: exit once the crawl process is gone. A crawl killed with SIGKILL cannot stop
    its pool, and a worker holds both ends of its task queue, so it would wait for work forever, holding the
    crawl's stdout and stderr open (a daemon or a shell waiting on them would hang)."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(PARENT_CHECK_SECONDS)
        os._exit(0)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


def extract_in_worker(page: Page, html: str) -> tuple[Any, str, str]:
    """``(article, "", "")`` or ``(None, reason, detail)``: plain values, so it can run in another process."""
    try:
        return article_from_html(page, html), "", ""
    except NoArticle as exc:
        return None, exc.reason, exc.detail
    except Exception as exc:  # noqa: BLE001 - one bad page must not end the run
        logger.debug("extraction crashed on %s", page.url, exc_info=True)
        return None, "extract-error", f"{type(exc).__name__}: {exc}"
