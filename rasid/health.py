"""Each source's health from its recent scheduled runs: consecutive failures and the backoff they earn.

A source fails a run when it answered nothing (no page, no listing unchanged, some errors) in a run that
otherwise finished; runs that were skipped, interrupted or whose child died say nothing about the source, so
a killed crawl never backs a source off. After ``n`` failures in a row the source waits ``interval * 2**(n-1)``
(at most ``backoff_max``) since its last attempt, and the first run that reaches it again resets it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from storage.records import NOTHING_ANSWERED

if TYPE_CHECKING:
    from storage.repository import RunRecord


@dataclass(frozen=True, slots=True)
class SourceHealth:
    """What the latest scheduled runs say about one source."""

    source: str
    last_run: RunRecord | None  # the latest finished scheduled run that crawled it (skipped ones did not)
    consecutive_failures: int
    retry_after: datetime | None  # backed off until then; None when it is healthy

    @property
    def is_healthy(self) -> bool:
        return self.consecutive_failures == 0

    def is_due(self, now: datetime, interval: timedelta) -> bool:
        """May a run at ``now`` crawl it? Half an interval of slack: runs start a little after their time."""
        return self.retry_after is None or now >= self.retry_after - interval / 2


def failed_in(run: RunRecord, source: str) -> bool:
    """Did ``source`` answer nothing in this run (no page fetched, no listing answered 304, some errors)?

    An outlet whose feeds have not changed since the last run fetches no page: it answered, and a broken link
    it lists does not make it a failing source to back off.
    """
    counts = run.summary.per_source.get(source, {})
    answered = counts.get("pages", 0) + counts.get("not_modified", 0)
    return answered == 0 and counts.get("errors", 0) > 0


def assess(
    source: str, runs: Iterable[RunRecord], interval: timedelta, backoff_max: timedelta
) -> SourceHealth:
    """The health of ``source`` from ``runs`` (newest first)."""
    last_run: RunRecord | None = None
    last_attempt: datetime | None = None
    failures = 0
    for run in runs:
        if source not in run.sources:
            continue
        if run.outcome not in ("skipped", "running"):
            last_run = last_run or run
        nothing_answered = run.status == NOTHING_ANSWERED  # every source of the run failed in it
        if run.outcome != "ok" and not nothing_answered:  # killed, interrupted, skipped: says nothing of it
            continue
        last_attempt = last_attempt or run.started_at
        if not nothing_answered and not failed_in(run, source):
            break
        failures += 1
    retry_after = None
    if failures and last_attempt is not None:
        retry_after = last_attempt + min(interval * 2 ** (failures - 1), backoff_max)
    return SourceHealth(source, last_run, failures, retry_after)
