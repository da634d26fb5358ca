"""The worker side of the shared frontier: scrapy-redis's scheduler plus heartbeats, pending copies and idling.

``SharedScheduler`` is scrapy-redis's ``Scheduler`` (its Redis priority queue and fingerprint dupefilter,
``SCHEDULER_PERSIST`` on, since no single worker may clear what the others still use) with what several
workers need besides: each popped request is copied into the worker's pending hash until it is done
(``FrontierMiddleware`` says when: a listing once its links are queued, an article once the seen-URL
store has it), a heartbeat every ``crawl.worker_heartbeat`` seconds, and a ``spider_idle`` handler that
keeps the worker open while the queue may still fill, re-queues the requests of workers that died, and
closes it once the queue has stayed empty with no worker busy for ``crawl.worker_idle_close`` seconds.
"""

from __future__ import annotations

import logging
import threading
import time
import warnings
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from scrapy import Request, signals
from scrapy.exceptions import DontCloseSpider, ScrapyDeprecationWarning
from scrapy_redis.scheduler import Scheduler

from crawler.frontier import Frontier, Keys, new_worker_id

if TYPE_CHECKING:
    from scrapy import Spider
    from scrapy.crawler import Crawler
    from scrapy.http import Response

logger = logging.getLogger(__name__)

# scrapy-redis 0.9 still calls Scrapy APIs deprecated in 2.13 (Spider.log, stats with a spider argument):
# a warning per crawl that rasid's operator can do nothing about.
warnings.filterwarnings("ignore", category=ScrapyDeprecationWarning, module=r"scrapy_redis\.")

#: A custom Scrapy signal, sent by FrontierMiddleware when a response's callback has finished.
request_done = object()
#: Request meta key naming the fingerprint of the listing a link came from, until the link is queued.
PARENT = "rasid_listing"
#: Request meta key of a popped request's copy in the worker's pending hash.
PENDING = "rasid_pending"
#: How often a worker with nothing to do asks the shared queue again. Scrapy's engine asks its scheduler
#: every 5 s once it has nothing (``ExecutionEngine._SLOT_HEARTBEAT_INTERVAL``, private: pinned by
#: ``scrapy<2.20`` and tests/crawler/test_scrapy_private_api.py): a worker whose queue ran dry while another
#: parsed a feed sat out those 5 s each time, and two workers crawled slower than one.
QUEUE_POLL_SECONDS = 0.25


class SharedScheduler(Scheduler):
    """scrapy-redis's scheduler for one worker among several; see the module docstring."""

    crawler: Crawler
    keys: Keys
    frontier: Frontier
    worker: str
    beat_seconds: float
    idle_close: float
    fetched: int  # requests this worker took from the queue
    busy: bool  # as the heartbeat says: False from spider_idle until the next pop
    idle_since: float | None
    awaiting: dict[str, str]  # fingerprint -> URL of article requests waiting for their batch to be stored
    unqueued: dict[str, int]  # fingerprint -> links of that listing not yet on the shared queue
    listed: set[str]  # listings whose callback has finished (all their links counted in unqueued)
    loop: Any
    stop_beating: threading.Event
    beating: threading.Thread

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> SharedScheduler:
        instance = super().from_crawler(crawler)
        instance.crawler = crawler
        if crawler.engine is not None:  # built by the engine, before it starts its heartbeat
            crawler.engine._SLOT_HEARTBEAT_INTERVAL = QUEUE_POLL_SECONDS
        else:  # a Scrapy that builds the scheduler earlier: the worker still works, idling 5 s at a time
            logger.warning("no Scrapy engine yet: an idle worker asks the shared queue every 5 s")
        settings = crawler.settings
        instance.keys = Keys(settings.get("RASID_REDIS_NAMESPACE", "rasid"))
        instance.beat_seconds = settings.getfloat("RASID_WORKER_HEARTBEAT", 10.0)
        instance.idle_close = settings.getfloat("RASID_WORKER_IDLE_CLOSE", 15.0)
        instance.worker = new_worker_id()
        instance.fetched = 0
        instance.busy = True
        instance.idle_since = None
        instance.awaiting = {}
        instance.unqueued = {}
        instance.listed = set()
        crawler.signals.connect(instance.spider_idle, signal=signals.spider_idle)
        crawler.signals.connect(instance.done, signal=request_done)
        return instance  # type: ignore[no-any-return]

    def open(self, spider: Spider) -> None:
        from twisted.internet import task

        super().open(spider)
        self.frontier = Frontier(self.server, self.keys, spider, self.queue, self.beat_seconds)
        if hasattr(spider, "shared_budget"):
            spider.shared_budget = self.frontier.take_budget
        self.frontier.beat(self.worker, busy=True, fetched=0)
        # The heartbeat has a thread of its own: extraction or a slow batch write can hold the reactor for
        # longer than a heartbeat lives, and a live worker taken for dead would have its requests re-queued.
        self.stop_beating = threading.Event()
        self.beating = threading.Thread(target=self._beat_forever, name="rasid-heartbeat", daemon=True)
        self.beating.start()
        self.loop = task.LoopingCall(self.tick)
        self.loop.start(self.beat_seconds, now=False)
        logger.info(
            "worker %s joined the shared queue %s (%d queued)", self.worker, self.keys.queue, len(self)
        )

    def close(self, reason: str) -> None:
        self.stop_beating.set()
        self.beating.join(timeout=self.beat_seconds)  # no beat may land after the goodbye below
        if self.loop.running:
            self.loop.stop()
        finished = reason == "finished"
        requeued = self.frontier.retire(self.worker, self._seen_urls(), finished)
        if requeued:
            logger.info(
                "worker %s stopped (%s): %d unfinished requests back on the queue",
                self.worker,
                reason,
                requeued,
            )
        super().close(reason)

    def next_request(self) -> Request | None:
        popped = self.frontier.pop(self.worker)
        if popped is None:
            return None
        key, request = popped
        request.meta[PENDING] = key
        self.fetched += 1
        self.idle_since = None
        if not self.busy:
            self.busy = True
            self.frontier.beat(self.worker, busy=True, fetched=self.fetched)
        if self.stats:
            self.stats.inc_value("scheduler/dequeued/redis")
        return request

    def enqueue_request(self, request: Request) -> bool:
        """scrapy-redis's enqueue (its dupefilter's fingerprint, its queue), with seen-and-push in one step."""
        parent = request.meta.pop(PARENT, None)  # popped before the request is serialised
        # A retry or a redirect carries the key of the request it replaces, popped here: once it is on the
        # queue (and gets a pending copy of its own when popped), the one it replaces is done.
        replaces = request.meta.pop(PENDING, None)
        fingerprint = None if request.dont_filter else self.df.request_fingerprint(request)
        queued = self.frontier.push(request, fingerprint)
        if queued and self.stats:
            self.stats.inc_value("scheduler/enqueued/redis")
        if replaces is not None:
            self.frontier.release(self.worker, [replaces])
        if parent is not None:
            self._count_link(parent, -1)
        return queued

    def done(self, request: Request, stored_later: bool, links: int) -> None:
        """A response's callback finished: its pending copy goes once its page is stored or its links queued.

        Scrapy hands a callback's output to the engine from a queue of its own, so the last link may reach
        the shared queue a moment after the callback ends: ``links`` says how many to wait for.
        """
        key = request.meta.get(PENDING)
        if key is None:  # not taken from the shared queue (robots.txt): nothing pending
            return
        if stored_later:
            self.awaiting[key] = request.url
        else:
            self.listed.add(key)
            self._count_link(key, links)

    def _count_link(self, fingerprint: str, change: int) -> None:
        left = self.unqueued.get(fingerprint, 0) + change
        if left or fingerprint not in self.listed:
            self.unqueued[fingerprint] = left
            return
        self.unqueued.pop(fingerprint, None)
        self.listed.discard(fingerprint)
        self.frontier.release(self.worker, [fingerprint])

    def _beat_forever(self) -> None:
        while not self.stop_beating.wait(self.beat_seconds):
            try:
                self.frontier.beat(self.worker, busy=self.busy, fetched=self.fetched)
            except Exception:  # noqa: BLE001 - Redis away for a moment: the next beat tries again
                logger.warning(
                    "worker %s: heartbeat failed; trying again in %gs", self.worker, self.beat_seconds
                )
                logger.debug("heartbeat failure", exc_info=True)

    def tick(self) -> None:
        """Every heartbeat, in the reactor: drop pending copies of stored articles, recover dead workers'."""
        try:
            seen_urls = self._seen_urls()
            if self.awaiting and seen_urls is not None:
                stored = seen_urls(list(set(self.awaiting.values())))
                gone = [fp for fp, url in self.awaiting.items() if url in stored]
                self.frontier.release(self.worker, gone)
                for fingerprint in gone:
                    del self.awaiting[fingerprint]
            self.frontier.recover(seen_urls)
        except Exception:  # noqa: BLE001 - a Redis or database hiccup costs one beat, not the crawl
            logger.warning(
                "worker %s: pending bookkeeping failed; trying again in %gs", self.worker, self.beat_seconds
            )
            logger.debug("pending bookkeeping failure", exc_info=True)

    def spider_idle(self, spider: Spider) -> None:
        """Stay open while work may still come: from the queue, from busy workers, from dead workers."""
        if self.busy:
            self.busy = False
            self.frontier.beat(self.worker, busy=False, fetched=self.fetched)
        if self.frontier.recover(self._seen_urls()) or len(self) or self.frontier.others_busy(self.worker):
            self.idle_since = None
            raise DontCloseSpider
        now = time.monotonic()
        if self.idle_since is None:
            self.idle_since = now
        if now - self.idle_since < self.idle_close:
            raise DontCloseSpider
        logger.info("worker %s: the shared queue stayed empty for %gs; done", self.worker, self.idle_close)

    def _seen_urls(self) -> Any:
        return getattr(self.spider, "seen_urls", None)


class FrontierMiddleware:
    """A spider middleware that tells the scheduler when a response's callback has finished.

    A callback that yielded items (an article page) is done only once the pipeline has stored them, which
    the scheduler learns from the seen-URL store; one that yielded only requests (a listing) is done now,
    since its requests are on the shared queue by then.
    """

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> FrontierMiddleware:
        return cls(crawler)

    async def process_spider_output_async(
        self, response: Response, result: AsyncIterator[Any]
    ) -> AsyncIterator[Any]:
        parent, seen = _parent(response), _Output()
        async for value in result:
            yield seen.mark(value, parent)
        self._done(response, seen)

    def process_spider_output(self, response: Response, result: Any) -> Any:
        parent, seen = _parent(response), _Output()
        for value in result:
            yield seen.mark(value, parent)
        self._done(response, seen)

    def _done(self, response: Response, seen: _Output) -> None:
        self.crawler.signals.send_catch_log(
            signal=request_done, request=response.request, stored_later=seen.items, links=seen.links
        )


def _parent(response: Response) -> Any:
    """The pending copy of the request this response answers, if it was taken from the shared queue."""
    return response.request.meta.get(PENDING) if response.request is not None else None


class _Output:
    """What a callback's output held, counted as it passes (the sync and async paths share it)."""

    def __init__(self) -> None:
        self.items = False
        self.links = 0

    def mark(self, value: Any, parent: Any) -> Any:
        """Tie a request to its parent's pending copy and count it; note an item."""
        if isinstance(value, Request):
            if parent is not None:
                value.meta[PARENT] = parent
            self.links += 1
        else:
            self.items = True
        return value
