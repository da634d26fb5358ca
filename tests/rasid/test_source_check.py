"""``rasid.source_check``: one line per entry point, read against the marks in sources.yaml."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from config.sources import EntryPoint
from crawler.spiders.news import EntryReport
from rasid.source_check import judge, summarize, write_report

FEED = "https://outlet.example/rss"


def _report(**fields: object) -> EntryReport:
    return EntryReport("outlet", str(fields.pop("kind", "feed")), FEED, **fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("report", "entry", "status", "message"),
    [
        (
            _report(error="http 403"),
            EntryPoint(FEED, "feed", blocked=403),
            "blocked",
            "as sources.yaml marks it",
        ),
        (_report(error="http 451"), EntryPoint(FEED, "feed"), "blocked", "mark it `blocked: 451`"),
        (_report(error="http 404"), EntryPoint(FEED, "feed"), "failed", "no: http 404"),
        (_report(error="timeout"), EntryPoint(FEED, "feed"), "unreachable", "unreachable: timeout"),
        (
            _report(answered=True, links=4),
            EntryPoint(FEED, "feed", blocked=403),
            "ok",
            "but answered: unmark it",
        ),
        (
            _report(answered=True, links=2, error="malformed feed: line 9"),
            EntryPoint(FEED, "feed"),
            "partial",
            "yes, with errors: malformed feed: line 9",
        ),
        (_report(answered=True), EntryPoint(FEED, "feed"), "empty", "the feed lists no items"),
        (_report(), EntryPoint(FEED, "feed"), "no-answer", "no answer"),
    ],
)
def test_each_outcome_is_one_line_that_says_what_to_do(
    report: EntryReport, entry: EntryPoint, status: str, message: str
) -> None:
    finding = judge(report, entry)
    assert finding.status == status
    assert message in finding.message
    assert "\n" not in finding.message


def test_report_is_replaced_whole_and_an_unreadable_old_one_is_started_afresh(tmp_path: Path) -> None:
    path = tmp_path / "check.json"
    path.write_text("{not json", encoding="utf-8")
    now = datetime.now(UTC)
    newest = now - timedelta(hours=3)
    finding = judge(
        _report(answered=True, links=3, newest=newest), EntryPoint(FEED, "feed", "2026-11", "a list")
    )
    assert write_report(path, [finding], tmp_path / "sources.yaml", now) == 1
    (row,) = json.loads(path.read_text(encoding="utf-8"))["entry_points"]
    assert (row["status"], row["links"], row["verified"]) == ("ok", 3, "2026-11")
    assert datetime.fromisoformat(row["newest"]) == newest.replace(microsecond=0)
    assert not list(tmp_path.glob("*.partial"))


def test_summary_counts_each_status_most_common_first() -> None:
    findings = [
        judge(_report(answered=True, links=1), EntryPoint(FEED, "feed")),
        judge(_report(answered=True, links=1), EntryPoint(FEED, "feed")),
        judge(_report(error="http 403"), EntryPoint(FEED, "feed")),
    ]
    assert summarize(findings) == "3 entry points: 2 ok, 1 blocked"
