"""Scrapy's downloader with its per-domain concurrency kept: ``CONCURRENT_REQUESTS_PER_DOMAIN`` holds again.

Scrapy 2.19's ``Downloader._process_queue`` starts queued requests while the slot has free transfer places,
but a request counts against those places only once its download coroutine runs, after the loop: so the
loop starts every queued request of a host at once (8 pages of one host at a limit of 2, measured in
tests/crawler/test_politeness.py). Here a request takes its place as it leaves the slot's queue; Scrapy's
download adds it again (a set) and frees it when the response arrives. ``Slot.queue`` and
``Slot.transferring`` are private, pinned by ``scrapy<2.20`` and checked by that test.
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING, Any

from scrapy.core.downloader import Downloader, Slot

if TYPE_CHECKING:
    from scrapy import Request, Spider


class _ReservingQueue(deque[Any]):
    """A slot's queue of (request, deferred) whose pop reserves the request's transfer place."""

    def __init__(self, slot: Slot) -> None:
        super().__init__(slot.queue)
        self.slot = slot

    def popleft(self) -> Any:
        entry = super().popleft()
        self.slot.transferring.add(entry[0])
        return entry


class PoliteDownloader(Downloader):
    """Scrapy's downloader, its slots' queues replaced by reserving ones; set as Scrapy's ``DOWNLOADER``."""

    def _get_slot(self, request: Request, spider: Spider | None = None) -> tuple[str, Slot]:
        key, slot = super()._get_slot(request)
        if not isinstance(slot.queue, _ReservingQueue):
            slot.queue = _ReservingQueue(slot)
        return key, slot
