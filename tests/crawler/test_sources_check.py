"""``rasid sources check`` and ``rasid sources list``: what each entry point answers, and offline hosts."""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import pytest

from snapshot.replay import Route, SiteServer
from tests.crawler.conftest import rasid
from tests.servers import serve_site


def _row(stdout: str, source: str) -> str:
    rows = [line for line in stdout.splitlines() if line.startswith(f"│ {source} ")]
    assert len(rows) == 1, (source, stdout)
    return rows[0]


def test_check_counts_each_entry_points_links_and_newest_date(site, tmp_path) -> None:
    _, sources_file, _ = site
    report = str(tmp_path / "check.json")
    result = rasid("sources", "check", "--sources", str(sources_file), "--write", report)
    assert result.returncode == 0, result.stderr[-2000:]
    rss = _row(result.stdout, "rss-outlet")
    assert "yes" in rss
    assert re.search(r"│\s+8\s+│", rss)  # eight items listed (the old one too: a check has no age window)
    assert re.search(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}", rss)
    assert re.search(
        r"│\s+3\s+│", _row(result.stdout, "section-outlet")
    )  # 2 articles + the robots-denied one
    assert "with errors: malformed feed" in _row(result.stdout, "broken-feed")


def test_check_says_a_refusing_host_is_unreachable_and_goes_on(site, tmp_path) -> None:
    _, sources_file, _ = site
    report = str(tmp_path / "check.json")
    result = rasid("sources", "check", "--sources", str(sources_file), "--write", report)
    assert "unreachable: refused" in _row(result.stdout, "refusing")
    assert "yes" in _row(result.stdout, "atom-outlet")


def test_check_of_a_host_that_does_not_resolve_says_unreachable_and_exits_1(tmp_path) -> None:
    # ".invalid" never resolves (RFC 2606), so this is "offline" on any machine and never reaches the internet.
    sources = tmp_path / "sources.yaml"
    sources.write_text(
        "sources:\n  - name: gone\n    url: https://rasid-test.invalid/\n"
        "    feeds: [https://rasid-test.invalid/rss]\n",
        encoding="utf-8",
    )
    report = str(tmp_path / "check.json")
    result = rasid("sources", "check", "--sources", str(sources), "--write", report)
    assert result.returncode == 1, result.stderr[-2000:]
    assert "unreachable: dns: host not found" in _row(result.stdout, "gone")
    assert "every host is unreachable: is this machine offline?" in result.stdout
    assert "Traceback" not in result.stderr


def test_list_shows_every_default_source_with_its_entry_point_counts() -> None:
    result = rasid("sources", "list")
    assert result.returncode == 0
    assert re.search(r"│ rt-arabic\s+│ RU\s+│ https://arabic\.rt\.com/\s+│\s+1 │\s+0 │\s+3 │", result.stdout)
    assert "36 sources" in result.stdout


# ------------------------------------------------------------------- marks, one-line findings, the report

#: A single-page application's shell: no article link until its script runs (as wam.ae serves it).
JS_SHELL = (
    b'<!doctype html><html lang="ar"><head><meta charset="utf-8"><title>WAM</title>'
    b'<script defer src="/static/js/main.4f1c.js"></script></head>'
    b"<body><noscript>You need to enable JavaScript to run this app.</noscript>"
    b'<div id="root"></div></body></html>'
)


def _rss(base: str, hours_ago: tuple[int, ...]) -> bytes:
    now = datetime.now(UTC)
    items = "".join(
        f"<item><title>خبر {i}</title><link>{base}/news/2026/story-{i}-{1000 + i}.html</link>"
        f"<pubDate>{format_datetime(now - timedelta(hours=h))}</pubDate></item>"
        for i, h in enumerate(hours_ago)
    )
    return (
        f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>{items}</channel></rss>'.encode()
    )


@pytest.fixture(scope="module")
def checked(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[subprocess.CompletedProcess[str], dict, str, Path]]:
    """``sources check`` run once against a site that refuses, answers, and serves a JavaScript shell."""
    with serve_site({}) as site:
        yield _check_site(site, tmp_path_factory.mktemp("check"))


def _check_site(site: SiteServer, tmp_path: Path) -> tuple[subprocess.CompletedProcess[str], dict, str, Path]:
    refused = Route(b"<html><body>Access denied</body></html>", status=403)
    base = site.url
    site.set_routes(
        {
            "/robots.txt": Route(b"User-agent: *\nAllow: /\n", "text/plain"),
            "/marked/rss": refused,
            "/unmarked/rss": refused,
            "/ok/rss": Route(_rss(base, (2, 30, 5)), "application/rss+xml; charset=utf-8"),
            "/empty/rss": Route(_rss(base, ()), "application/rss+xml; charset=utf-8"),
            "/app": Route(JS_SHELL),
            "/other-app": Route(JS_SHELL),  # a URL of its own: Scrapy fetches one URL once per run
        }
    )
    sources = tmp_path / "sources.yaml"
    sources.write_text(
        "sources:\n"
        f"  - name: refuses-marked\n    url: {base}/\n"
        f"    feeds: [{{url: '{base}/marked/rss', verified: 2026-11, evidence: a feed checker,"
        " blocked: 403}]\n"
        f"  - name: refuses-unmarked\n    url: {base}/\n    feeds: ['{base}/unmarked/rss']\n"
        f"  - name: answers\n    url: {base}/\n    feeds: ['{base}/ok/rss', '{base}/empty/rss']\n"
        f"  - name: shell-marked\n    url: {base}/\n    allow: ['/news/']\n"
        f"    sections: [{{url: '{base}/app', needs_browser: true}}]\n"
        f"  - name: shell-unmarked\n    url: {base}/\n    allow: ['/news/']\n"
        f"    sections: ['{base}/other-app']\n",
        encoding="utf-8",
    )
    report = tmp_path / "check.json"
    result = rasid("sources", "check", "--sources", str(sources), "--write", str(report))
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    return result, json.loads(report.read_text(encoding="utf-8")), base, tmp_path


def test_check_says_a_refusal_marked_in_the_sources_is_the_expected_block(checked) -> None:  # noqa: ANN001
    result, *_ = checked
    assert "blocked: answers crawlers with 403, as sources.yaml marks it" in _row(
        result.stdout, "refuses-marked"
    )


def test_check_tells_how_to_mark_a_refusal_the_sources_do_not_know(checked) -> None:  # noqa: ANN001
    result, *_ = checked
    row = _row(result.stdout, "refuses-unmarked")
    assert "blocked: answers crawlers with 403; mark it `blocked: 403` in sources.yaml" in row
    assert "no: http 403" not in row


def test_check_says_a_marked_javascript_page_needs_a_browser(checked) -> None:  # noqa: ANN001
    result, *_ = checked
    row = _row(result.stdout, "shell-marked")
    assert "needs a browser: no article links without JavaScript, as sources.yaml marks it" in row


def test_check_suggests_needs_browser_for_an_unmarked_page_without_article_links(checked) -> None:  # noqa: ANN001
    result, *_ = checked
    assert "a JavaScript page (mark `needs_browser: true`)" in _row(result.stdout, "shell-unmarked")


def test_check_report_holds_each_entry_points_status_items_and_newest_date(checked) -> None:  # noqa: ANN001
    result, report, base, _ = checked
    rows = {(r["source"], r["url"]): r for r in report["entry_points"]}
    assert len(rows) == 6
    ok = rows[("answers", f"{base}/ok/rss")]
    assert (ok["status"], ok["links"], ok["message"]) == ("ok", 3, "yes")
    newest = datetime.fromisoformat(ok["newest"])
    assert timedelta(hours=1) < datetime.now(UTC) - newest < timedelta(hours=3)  # the item of 2 hours ago
    assert rows[("answers", f"{base}/empty/rss")]["status"] == "empty"
    marked = rows[("refuses-marked", f"{base}/marked/rss")]
    assert (marked["status"], marked["verified"], marked["evidence"]) == (
        "blocked",
        "2026-11",
        "a feed checker",
    )
    assert rows[("refuses-unmarked", f"{base}/unmarked/rss")]["verified"] == "unverified"
    assert rows[("shell-marked", f"{base}/app")]["status"] == "needs-browser"
    assert rows[("shell-unmarked", f"{base}/other-app")]["status"] == "no-links"
    checked_at = datetime.fromisoformat(report["checked_at"])
    assert abs(datetime.now(UTC) - checked_at) < timedelta(minutes=5)
    assert "6 entry points: " in result.stdout and "2 blocked" in result.stdout


def test_a_partial_check_keeps_the_other_entry_points_in_the_report(checked) -> None:  # noqa: ANN001
    _, first, base, tmp_path = checked
    sources = tmp_path / "sources.yaml"
    report = tmp_path / "check.json"
    result = rasid(
        "sources", "check", "--sources", str(sources), "--source", "answers", "--write", str(report)
    )
    assert result.returncode == 0, result.stderr[-2000:]
    second = json.loads(report.read_text(encoding="utf-8"))
    assert len(second["entry_points"]) == len(first["entry_points"])
    untouched = {r["url"]: r["checked_at"] for r in second["entry_points"] if r["source"] == "refuses-marked"}
    assert untouched == {f"{base}/marked/rss": first["checked_at"]}


def test_check_without_write_updates_the_report_in_the_data_folder(site_server, tmp_path: Path) -> None:  # noqa: ANN001
    site = site_server({"/rss": Route(_rss("http://127.0.0.1", (1,)), "application/rss+xml")})
    sources = tmp_path / "sources.yaml"
    sources.write_text(
        f"sources:\n  - name: one\n    url: {site.url}/\n    feeds: ['{site.url}/rss']\n", "utf-8"
    )
    result = rasid(
        "sources", "check", "--sources", str(sources), env={"XDG_DATA_HOME": str(tmp_path / "data")}
    )
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads((tmp_path / "data" / "rasid" / "sources-check.json").read_text(encoding="utf-8"))
    assert [(r["source"], r["status"], r["links"]) for r in report["entry_points"]] == [("one", "ok", 1)]


def test_an_offline_check_leaves_the_report_as_it_was(tmp_path: Path) -> None:
    sources = tmp_path / "sources.yaml"
    sources.write_text(
        "sources:\n  - name: gone\n    url: https://rasid-test.invalid/\n    feeds: [https://rasid-test.invalid/rss]\n",
        encoding="utf-8",
    )
    report = tmp_path / "check.json"
    report.write_text('{"entry_points": [{"source": "gone", "status": "ok"}]}', encoding="utf-8")
    result = rasid("sources", "check", "--sources", str(sources), "--write", str(report))
    assert result.returncode == 1, result.stderr[-2000:]
    assert f"{report} left as it was" in " ".join(result.stdout.split())
    assert json.loads(report.read_text(encoding="utf-8"))["entry_points"] == [
        {"source": "gone", "status": "ok"}
    ]


def test_check_that_cannot_write_its_report_says_so_in_one_line(site_server, tmp_path: Path) -> None:  # noqa: ANN001
    site = site_server({"/rss": Route(_rss("http://127.0.0.1", (1,)), "application/rss+xml")})
    sources = tmp_path / "sources.yaml"
    sources.write_text(
        f"sources:\n  - name: one\n    url: {site.url}/\n    feeds: ['{site.url}/rss']\n", "utf-8"
    )
    blocker = tmp_path / "file"
    blocker.write_text("", encoding="utf-8")
    result = rasid("sources", "check", "--sources", str(sources), "--write", str(blocker / "check.json"))
    assert result.returncode == 2
    assert "cannot write the check report" in result.stderr
    assert "Traceback" not in result.stderr


def test_list_shows_how_many_entry_points_are_verified_and_which_are_blocked() -> None:
    result = rasid("sources", "list")
    assert result.returncode == 0
    assert re.search(r"│ rt-arabic .*│ 2/4\s+│", _row(result.stdout, "rt-arabic"))
    assert "1/2 (feed blocked 403, sitemap blocked 403)" in _row(result.stdout, "alarabiya")
    assert "(section needs a browser)" in _row(result.stdout, "wam")
