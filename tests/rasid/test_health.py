"""Source health: failures in a row back a source off exponentially, capped; one answer brings it back."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from rasid.health import assess
from storage.records import NOTHING_ANSWERED, RunSummary
from storage.repository import RunRecord

NOW = datetime.now(UTC)
INTERVAL = timedelta(minutes=15)
CAP = timedelta(hours=6)


def _run(minutes_ago: float, outcome: str = "ok", **per_source: dict[str, int]) -> RunRecord:
    started = NOW - timedelta(minutes=minutes_ago)
    return RunRecord(
        run_id=int(minutes_ago * 100), started_at=started, finished_at=started + timedelta(minutes=1),
        status=outcome, sources=tuple(per_source), snapshot=False,
        summary=RunSummary(per_source=dict(per_source)), job="crawl", outcome=outcome,
    )  # fmt: skip


DOWN = {"pages": 0, "errors": 3}
UP = {"pages": 5, "errors": 0}


def test_a_source_that_answers_is_healthy_and_due_every_run() -> None:
    health = assess("kuna", [_run(15, kuna=UP)], INTERVAL, CAP)
    assert (health.consecutive_failures, health.is_healthy, health.retry_after) == (0, True, None)
    assert health.is_due(NOW, INTERVAL)


def test_failures_in_a_row_double_the_pause_since_the_last_attempt() -> None:
    runs = [_run(15 * i, kuna=DOWN) for i in range(1, 4)]  # newest first: three failures
    health = assess("kuna", runs, INTERVAL, CAP)
    assert health.consecutive_failures == 3 and not health.is_healthy
    assert health.retry_after == runs[0].started_at + 4 * INTERVAL
    assert not health.is_due(NOW, INTERVAL)
    assert health.is_due(runs[0].started_at + 4 * INTERVAL, INTERVAL)


def test_the_pause_is_capped() -> None:
    runs = [_run(15 * i, kuna=DOWN) for i in range(1, 12)]
    assert assess("kuna", runs, INTERVAL, CAP).retry_after == runs[0].started_at + CAP


def test_one_answer_resets_the_failures() -> None:
    runs = [_run(15, kuna=UP), _run(30, kuna=DOWN), _run(45, kuna=DOWN)]
    assert assess("kuna", runs, INTERVAL, CAP).consecutive_failures == 0


def test_killed_interrupted_and_skipped_runs_do_not_count_against_a_source() -> None:
    runs = [_run(5, "failed", kuna={}), _run(10, "interrupted", kuna={}), _run(12, "skipped", kuna={}),
            _run(15, kuna=DOWN), _run(30, kuna=UP)]  # fmt: skip
    health = assess("kuna", runs, INTERVAL, CAP)
    assert health.consecutive_failures == 1
    assert health.last_run is runs[0]  # the killed run is still the last one shown
    assert health.retry_after == runs[3].started_at + INTERVAL


def test_a_source_with_pages_and_some_errors_is_not_failing() -> None:
    assert assess("kuna", [_run(15, kuna={"pages": 2, "errors": 4})], INTERVAL, CAP).is_healthy


def test_a_source_whose_feeds_are_unchanged_is_not_failing_for_a_broken_link() -> None:
    unchanged = {"pages": 0, "not_modified": 2, "errors": 1}  # feeds answered 304; one listed link is broken
    runs = [_run(15, kuna=unchanged), _run(30, kuna=unchanged)]
    assert assess("kuna", runs, INTERVAL, CAP).is_healthy


def test_runs_in_which_nothing_answered_count_as_failures_of_each_of_their_sources() -> None:
    # Such a run is "failed", unlike a killed one: it still says the outlet did not answer.
    runs = [_run(15 * i, outcome="failed", kuna=DOWN) for i in range(1, 3)]
    runs = [replace(run, status=NOTHING_ANSWERED) for run in runs]
    health = assess("kuna", runs, INTERVAL, CAP)
    assert health.consecutive_failures == 2 and not health.is_healthy
    assert health.retry_after == runs[0].started_at + 2 * INTERVAL
