"""What ``rasid sources check`` concludes about each entry point, and the report it leaves behind.

The spider says what an entry point answered (``EntryReport``); this module reads that against the marks in
``sources.yaml`` (``blocked: 403``, ``needs_browser: true``) and turns it into one line a user can act on,
then keeps the result in a JSON report, so that whoever edits the sources next knows what answered.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from config.settings import ConfigError

if TYPE_CHECKING:
    from pathlib import Path

    from config.sources import EntryPoint
    from crawler.spiders.news import EntryReport

#: The report's file name in the data folder when ``--write`` is not given.
REPORT_NAME = "sources-check.json"
#: Statuses that mean the outlet refuses this client, not that the URL is wrong.
REFUSALS = {401, 403, 451}
#: Error prefixes of a host that could not be reached at all (see ``describe_failure``).
UNREACHABLE = ("dns", "refused", "timeout")
HTTP_STATUS_RE = re.compile(r"^http (\d{3})\b")


@dataclass(frozen=True, slots=True)
class Finding:
    """One entry point as checked: a status word for machines and a one-line message for people."""

    source: str
    kind: str
    url: str
    status: (
        str  # ok | partial | empty | no-links | needs-browser | blocked | unreachable | failed | no-answer
    )
    message: str
    links: int
    newest: datetime | None
    verified: str
    evidence: str | None


def judge(report: EntryReport, entry: EntryPoint) -> Finding:
    """The finding for one entry point's report, read against what ``sources.yaml`` says about it."""
    status, message = _verdict(report, entry)
    return Finding(
        source=report.source,
        kind=report.kind,
        url=report.url,
        status=status,
        message=message,
        links=report.links,
        newest=report.newest,
        verified=entry.verified,
        evidence=entry.evidence,
    )


def _verdict(report: EntryReport, entry: EntryPoint) -> tuple[str, str]:
    error = report.error
    if error:
        refused = HTTP_STATUS_RE.match(error)
        if refused and int(refused.group(1)) in REFUSALS and not report.links:
            code = int(refused.group(1))
            if entry.blocked == code:
                return "blocked", f"blocked: answers crawlers with {code}, as sources.yaml marks it"
            return (
                "blocked",
                f"blocked: answers crawlers with {code}; mark it `blocked: {code}` in sources.yaml",
            )
        if error.startswith(UNREACHABLE):
            return "unreachable", f"unreachable: {error}"
        if report.links:
            return "partial", f"yes, with errors: {error}"
        return "failed", f"no: {error}"
    if not report.answered:
        return "no-answer", "no answer"
    if report.links:
        if entry.blocked:
            return "ok", f"yes (marked `blocked: {entry.blocked}` but answered: unmark it)"
        return "ok", "yes"
    if report.kind in {"section", "home"}:
        if entry.needs_browser:
            return (
                "needs-browser",
                "needs a browser: no article links without JavaScript, as sources.yaml marks it",
            )
        return (
            "no-links",
            "answers, but no article links: a JavaScript page (mark `needs_browser: true`) "
            "or allow too strict",
        )
    return "empty", f"answers, but the {report.kind} lists no items"


def write_report(path: Path, findings: list[Finding], sources_file: Path, checked_at: datetime) -> int:
    """Merge ``findings`` into the JSON report at ``path`` (other entry points' earlier results are kept).

    Returns the number of entry points the report holds. Written to a temporary file and renamed, so an
    interrupted write never leaves half a report.
    """
    entries: dict[tuple[str, str], dict[str, Any]] = {}
    for old in _read_entries(path):
        entries[(str(old.get("source")), str(old.get("url")))] = old
    stamp = checked_at.isoformat(timespec="seconds")
    for finding in findings:
        row = asdict(finding)
        row["newest"] = finding.newest.isoformat(timespec="seconds") if finding.newest else None
        row["checked_at"] = stamp
        entries[(finding.source, finding.url)] = row
    document = {
        "checked_at": stamp,
        "sources_file": str(sources_file),
        "entry_points": sorted(entries.values(), key=lambda e: (str(e.get("source")), str(e.get("url")))),
    }
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(path.name + ".partial")
        partial.write_text(json.dumps(document, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        os.replace(partial, path)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot write the check report: {exc.strerror}") from None
    return len(entries)


def summarize(findings: list[Finding]) -> str:
    """One line of counts per status, e.g. ``12 entry points: 9 ok, 2 blocked, 1 needs-browser``."""
    counts: dict[str, int] = {}
    for finding in findings:
        counts[finding.status] = counts.get(finding.status, 0) + 1
    parts = ", ".join(f"{n} {status}" for status, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))
    return f"{len(findings)} entry points: {parts}" if findings else "no entry points checked"


def _read_entries(path: Path) -> list[dict[str, Any]]:
    """The earlier report's entries; a missing or unreadable one counts as empty (it is only a record)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    rows = data.get("entry_points") if isinstance(data, dict) else None
    return [row for row in rows if isinstance(row, dict)] if isinstance(rows, list) else []
