"""The shared frontier in Redis: its key names, seeding it, workers' heartbeats and their in-flight requests.

scrapy-redis holds the queue (a sorted set, ``<namespace>:requests``) and the duplicate filter (a set of
request fingerprints, ``<namespace>:dupefilter``); several ``rasid crawl --worker`` processes pop from the
one queue, so each page is fetched by one of them. What scrapy-redis lacks is ours: each worker announces
itself with a heartbeat key that expires (``<namespace>:worker:<id>``), and copies every request it pops
into a hash of its own (``<namespace>:pending:<id>``) until the request is done. A worker killed mid-crawl
stops beating; the first other worker (or the next seeding) to notice claims its hash and puts those
requests back on the queue, except articles the shared seen-URL store already holds. Every key starts
with the namespace, so two deployments on one Redis never meet.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import pickle
import socket
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from scrapy.utils.request import request_from_dict

if TYPE_CHECKING:
    import redis
    from scrapy import Request, Spider

    from config.settings import Settings
    from config.sources import Source

logger = logging.getLogger(__name__)

#: A heartbeat key lives this many beats: one late beat (a long batch write) does not make a worker dead.
BEATS_TO_LIVE = 3
#: Seconds a recovery may take before another worker may try it (one recovery at a time).
RECOVERY_LOCK_SECONDS = 60

#: scrapy-redis pops a request in one command; keeping the pending copy in a second one lost the request
#: of a worker killed in between. One script: pop the best request and keep its copy, keyed by its sha1.
POP_AND_HOLD = """
local found = redis.call('ZRANGE', KEYS[1], 0, 0)
if #found == 0 then return false end
redis.call('ZREMRANGEBYRANK', KEYS[1], 0, 0)
redis.call('HSET', KEYS[2], redis.sha1hex(found[1]), found[1])
return found[1]
"""
#: scrapy-redis marks a link seen (SADD to its dupefilter) and queues it (ZADD) in two commands: a worker
#: killed between them lost the link for good, since every later listing of it counts as a duplicate.
SEEN_AND_PUSH = """
if ARGV[1] ~= '' and redis.call('SADD', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[3])
return 1
"""

#: Workers share each source's page budget: a worker takes what is left of it, up to what it wants, in one
#: step, so two workers reading two listings of one source at once cannot both spend the whole budget.
#: A source without an entry has no shared budget (each worker's own cap still holds).
TAKE_BUDGET = """
local left = redis.call('HGET', KEYS[1], ARGV[1])
if not left then return tonumber(ARGV[2]) end
local granted = math.max(0, math.min(tonumber(left), tonumber(ARGV[2])))
if granted > 0 then redis.call('HINCRBY', KEYS[1], ARGV[1], 0 - granted) end
return granted
"""


@dataclass(frozen=True, slots=True)
class Keys:
    """The Redis key names of one namespace (``crawl.redis_namespace``)."""

    namespace: str

    @property
    def queue(self) -> str:
        return f"{self.namespace}:requests"

    @property
    def dupefilter(self) -> str:
        return f"{self.namespace}:dupefilter"

    @property
    def workers(self) -> str:
        """A set of the ids of workers that may still hold pending requests."""
        return f"{self.namespace}:workers"

    @property
    def budget(self) -> str:
        """A hash: source -> pages the current crawl may still request from it, across all workers."""
        return f"{self.namespace}:budget"

    @property
    def recovering(self) -> str:
        return f"{self.namespace}:recovering"

    def beat(self, worker: str) -> str:
        return f"{self.namespace}:worker:{worker}"

    def pending(self, worker: str) -> str:
        return f"{self.namespace}:pending:{worker}"


@dataclass(frozen=True, slots=True)
class WorkerBeat:
    """A worker as its last heartbeat describes it."""

    worker: str
    host: str
    pid: int
    busy: bool  # requests in flight, or waiting for the queue to fill
    fetched: int  # requests taken from the queue so far
    seconds_ago: float


@dataclass(frozen=True, slots=True)
class FrontierStatus:
    """What ``rasid status`` shows of the shared frontier."""

    queued: int
    workers: tuple[WorkerBeat, ...]
    orphaned: int  # workers that stopped beating with requests still pending (re-queued by the next worker)


def new_worker_id() -> str:
    """Host, pid and a random suffix: unique across machines and restarts, and readable in `rasid status`."""
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


def connect(settings: Settings) -> redis.Redis:
    """A client of the configured Redis (``crawl.redis_url``, a secret: never logged)."""
    import redis as redis_lib

    assert settings.crawl.redis_url is not None
    return redis_lib.Redis.from_url(settings.crawl.redis_url.get_secret_value(), socket_timeout=30)


def encode(request: Request, spider: Spider) -> bytes:
    """A request as scrapy-redis's default serializer stores it (a pickled ``Request.to_dict``)."""
    return pickle.dumps(request.to_dict(spider=spider), protocol=pickle.HIGHEST_PROTOCOL)


def decode(data: bytes, spider: Spider) -> Request:
    return request_from_dict(pickle.loads(data), spider=spider)  # noqa: S301 - our own queue's bytes


class Frontier:
    """One process's view of the shared frontier: its queue, and the heartbeats and pending requests."""

    def __init__(
        self, server: redis.Redis, keys: Keys, spider: Spider, queue: Any, beat_seconds: float
    ) -> None:
        from scrapy_redis.dupefilter import RFPDupeFilter

        self.server = server
        self.keys = keys
        self.spider = spider
        self.queue = queue  # a scrapy_redis.queue.PriorityQueue on keys.queue
        self.dupefilter = RFPDupeFilter(server, keys.dupefilter)
        self.beat_seconds = beat_seconds
        self._pop_and_hold = server.register_script(POP_AND_HOLD)
        self._seen_and_push = server.register_script(SEEN_AND_PUSH)
        self._take_budget = server.register_script(TAKE_BUDGET)

    # -- one worker's own keys --------------------------------------------------------------------

    def beat(self, worker: str, busy: bool, fetched: int) -> None:
        """Say this worker is alive for the next few beats (and whether it is working)."""
        value = json.dumps(
            {
                "host": socket.gethostname(),
                "pid": os.getpid(),
                "busy": busy,
                "fetched": fetched,
                "at": time.time(),
            }
        )
        ttl = max(1, round(self.beat_seconds * BEATS_TO_LIVE))
        pipe = self.server.pipeline()
        pipe.sadd(self.keys.workers, worker)
        pipe.set(self.keys.beat(worker), value, ex=ttl)
        pipe.execute()

    def pop(self, worker: str) -> tuple[str, Request] | None:
        """The next request, with the key of the copy kept in this worker's pending hash until it is done."""
        data = self._pop_and_hold(keys=[self.keys.queue, self.keys.pending(worker)])
        if data is None:
            return None
        raw = _bytes(data)
        return hashlib.sha1(raw).hexdigest(), decode(raw, self.spider)  # noqa: S324 - a key, not a secret

    def push(self, request: Request, fingerprint: str | None) -> bool:
        """Queue a request unless its fingerprint is seen (None: never filtered); the two in one step."""
        queued = self._seen_and_push(
            keys=[self.keys.dupefilter, self.keys.queue],
            args=[fingerprint or "", -request.priority, encode(request, self.spider)],
        )
        return bool(queued)

    def take_budget(self, source: str, wanted: int) -> int:
        """How many of ``wanted`` new pages of ``source`` this worker may request (all: no shared budget)."""
        return int(self._take_budget(keys=[self.keys.budget], args=[source, wanted]))

    def release(self, worker: str, fingerprints: Iterable[str]) -> None:
        done = list(fingerprints)
        if done:
            self.server.hdel(self.keys.pending(worker), *done)

    def retire(self, worker: str, seen_urls: Callable[[list[str]], set[str]] | None, finished: bool) -> int:
        """A worker's goodbye: after a finished crawl its pending copies go; otherwise they are re-queued."""
        requeued = 0 if finished else self._requeue(self.keys.pending(worker), seen_urls)
        pipe = self.server.pipeline()
        pipe.delete(self.keys.pending(worker), self.keys.beat(worker))
        pipe.srem(self.keys.workers, worker)
        pipe.execute()
        return requeued

    # -- the others -------------------------------------------------------------------------------

    def beats(self) -> list[WorkerBeat]:
        """Every worker whose heartbeat has not expired."""
        ids = sorted(_text(member) for member in self.server.smembers(self.keys.workers))
        values = self.server.mget([self.keys.beat(worker) for worker in ids]) if ids else []
        now = time.time()
        alive = []
        for worker, raw in zip(ids, values, strict=True):
            if raw is None:
                continue
            data = json.loads(raw)
            alive.append(
                WorkerBeat(worker, str(data["host"]), int(data["pid"]), bool(data["busy"]), int(data["fetched"]),
                           max(0.0, now - float(data["at"])))
            )  # fmt: skip
        return alive

    def others_busy(self, worker: str) -> bool:
        return any(beat.busy for beat in self.beats() if beat.worker != worker)

    def recover(self, seen_urls: Callable[[list[str]], set[str]] | None) -> int:
        """Re-queue the pending requests of workers that stopped beating; returns how many came back.

        One recovery at a time (a lock key that expires): two survivors must not both re-queue one hash.
        """
        ids = [_text(member) for member in self.server.smembers(self.keys.workers)]
        dead = [w for w, alive in zip(ids, self._alive(ids), strict=True) if not alive]
        if not dead or not self.server.set(self.keys.recovering, "1", nx=True, ex=RECOVERY_LOCK_SECONDS):
            return 0
        requeued = 0
        try:
            for worker in dead:
                if self.server.exists(self.keys.beat(worker)):  # came back (a pause, not a death)
                    continue
                count = self._requeue(self.keys.pending(worker), seen_urls)
                self.server.delete(self.keys.pending(worker))
                self.server.srem(self.keys.workers, worker)
                if count:
                    logger.warning("worker %s stopped beating: %d of its requests re-queued", worker, count)
                requeued += count
        finally:
            self.server.delete(self.keys.recovering)
        return requeued

    def _alive(self, ids: list[str]) -> list[bool]:
        if not ids:
            return []
        return [value is not None for value in self.server.mget([self.keys.beat(w) for w in ids])]

    def _requeue(self, pending_key: str, seen_urls: Callable[[list[str]], set[str]] | None) -> int:
        """Push a pending hash's requests back on the queue, but not articles already stored by anyone."""
        requests = []
        for data in self.server.hvals(pending_key):
            try:
                requests.append(decode(_bytes(data), self.spider))
            except (ValueError, AttributeError, pickle.UnpicklingError):  # another version's callbacks
                logger.warning("pending request in %s not readable; dropped", pending_key)
        seen = seen_urls([r.url for r in requests]) if seen_urls and requests else set()
        back = [r for r in requests if r.url not in seen]
        for request in back:
            self.queue.push(request)  # straight onto the queue: the dupefilter has them as seen already
        return len(back)

    # -- seeding ----------------------------------------------------------------------------------

    def is_idle(self) -> bool:
        """No queued request and no busy worker: the last crawl is over (or never began).

        Idle workers may be waiting (under systemd they are restarted to wait for the next crawl).
        """
        return len(self.queue) == 0 and not any(beat.busy for beat in self.beats())

    def seed(self, requests: Iterable[Request], budgets: dict[str, int] | None = None) -> int:
        """Put the entry points on the queue; a new crawl forgets the last one's fingerprints first and
        starts each source's shared page budget afresh (a crawl in progress keeps what is left of it)."""
        if self.is_idle():
            self.dupefilter.clear()  # else today's entry points would count as yesterday's duplicates
            self.server.delete(self.keys.budget)
        for source, pages in (budgets or {}).items():
            self.server.hsetnx(self.keys.budget, source, pages)
        pushed = 0
        for request in requests:
            if not self.dupefilter.request_seen(request):
                self.queue.push(request)
                pushed += 1
        return pushed

    def status(self) -> FrontierStatus:
        ids = [_text(member) for member in self.server.smembers(self.keys.workers)]
        orphans = sum(
            1
            for w, alive in zip(ids, self._alive(ids), strict=True)
            if not alive and self.server.hlen(self.keys.pending(w))
        )
        return FrontierStatus(queued=len(self.queue), workers=tuple(self.beats()), orphaned=orphans)


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _bytes(value: bytes | str) -> bytes:
    return value.encode("latin-1") if isinstance(value, str) else value


def open_frontier(settings: Settings, spider: Spider) -> Frontier:
    """The frontier of the configured Redis and namespace, outside a running crawl (seeding, status)."""
    from scrapy_redis.queue import PriorityQueue

    server = connect(settings)
    keys = Keys(settings.crawl.redis_namespace)
    queue = PriorityQueue(server, spider, keys.queue)
    return Frontier(server, keys, spider, queue, settings.crawl.worker_heartbeat)


def seed(
    settings: Settings, sources: tuple[Source, ...], seen_urls: Callable[[list[str]], set[str]] | None
) -> int:
    """Re-queue dead workers' requests, then push the sources' entry points; returns how many were pushed."""
    import asyncio

    from crawler.spiders.news import NewsSpider

    spider = NewsSpider(sources=sources)

    async def entry_points() -> list[Request]:
        return [request async for request in spider.start()]

    frontier = open_frontier(settings, spider)
    try:
        frontier.recover(seen_urls)
        budgets = {s.name: s.max_pages or settings.crawl.max_pages_per_source for s in sources}
        pushed = frontier.seed(asyncio.run(entry_points()), budgets)
    finally:
        frontier.server.close()
    logger.info("seeded the shared queue with %d entry points of %d sources", pushed, len(sources))
    return pushed


def frontier_status(settings: Settings) -> FrontierStatus:
    """Queue length and live workers of the configured shared frontier."""
    from crawler.spiders.news import NewsSpider

    frontier = open_frontier(settings, NewsSpider())
    try:
        return frontier.status()
    finally:
        frontier.server.close()
