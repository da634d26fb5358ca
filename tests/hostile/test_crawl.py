"""Every hostile page, feed, sitemap and robots.txt of the hostile outlet, asserted on one real crawl.

Each case of ``tests/hostile/outlet.py`` is one test (its id reads as the case) checking the five promises:
no traceback reaches the user, one line names the problem and the URL (or none, for a page that is fine),
the rest of the crawl is done, the database passes ``PRAGMA integrity_check``, and a good article and its
verdict are stored exactly once. A few cases add a check of their own below the table.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.hostile.conftest import HostileCrawl
from tests.hostile.outlet import CAP_LINKS, Case

#: The hostile outlet's cases in the order it lists them (the first test checks the two agree).
_NAMES = [
    "charset-header-wrong", "charset-missing", "charset-meta-wrong", "invalid-utf8", "mixed-encodings",
    "nul-bytes", "bom-contradicts-header", "utf16-bom", "binary-as-html", "octet-stream", "fake-gzip",
    "empty-200", "no-text", "javascript-only", "truncated", "50mb-page", "endless-chunked", "slow-drip",
    "redirect-loop", "redirect-to-ftp", "301-chain", "301-chain-too-long", "429-huge-retry-after",
    "503-malformed-retry-after", "503-retry-after-far-date", "5xx-storm-1-http-500", "5xx-storm-2-http-502",
    "5xx-storm-3-http-503", "5xx-storm-4-http-504", "5xx-storm-5-http-500", "5xx-storm-6-http-502",
    "5xx-storm-7-http-503", "5xx-storm-8-http-504", "malformed-date", "future-date", "one-word-megabyte", "20000-nested-divs",
    "script-in-title", "bidi-controls", "duplicate-urls", "arabic-url-raw-and-encoded", "base-href-elsewhere",
    "feed-is-html", "feed-entity-bomb", "feed-xxe", "sitemap-xxe", "sitemap-index-points-to-itself",
    "sitemap-gzip-bomb", "feed-3000-links", "robots-huge", "robots-binary", "robots-500",
]  # fmt: skip
#: A whole hostile crawl must stay well under two minutes (issue 13); it takes about 30 s here.
CRAWL_SECONDS = 90


def _case(crawl: HostileCrawl, name: str) -> Case:
    [case] = [c for c in crawl.outlet.cases if c.id == name]
    return case


def test_the_table_names_every_case_of_the_outlet(hostile_crawl: HostileCrawl) -> None:
    assert [c.id for c in hostile_crawl.outlet.cases] == _NAMES


@pytest.mark.parametrize("name", _NAMES)
def test_case(hostile_crawl: HostileCrawl, name: str) -> None:
    crawl, case = hostile_crawl, _case(hostile_crawl, name)
    result = crawl.result
    # no traceback reaches the user, and the run ends well
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout
    assert result.returncode == 0, result.stderr[-3000:]
    assert "crawl run 1: ok" in result.stdout
    # one line names the problem and the URL, or nothing is said about a page that is fine
    lines = crawl.lines_naming(case.url)
    if case.line is None:
        assert lines == [], lines
    else:
        assert len(lines) == 1 and case.line in lines[0], (case.line, lines)
    # the database is sound
    assert crawl.query("PRAGMA integrity_check") == [("ok",)]
    # a good article is stored exactly once, with exactly one verdict; a bad page is not stored at all
    if case.stored is not None:
        rows = crawl.query("SELECT id, published FROM articles WHERE title = ?", case.stored)
        assert len(rows) == 1, (case.stored, rows)
        assert crawl.query("SELECT count(*) FROM verdicts WHERE article_id = ?", rows[0][0]) == [(1,)]
    else:
        assert crawl.query("SELECT count(*) FROM articles WHERE url = ?", case.url) == [(0,)]
    # the rest of the crawl is done: every good article of every other case is stored
    stored = {title for (title,) in crawl.query("SELECT title FROM articles")}
    assert {c.stored for c in crawl.outlet.cases if c.stored} <= stored


# ------------------------------------------------------------------------------- checks of their own


def test_the_whole_hostile_crawl_takes_well_under_two_minutes(hostile_crawl: HostileCrawl) -> None:
    # The Retry-After of a day, the drip and the endless stream would each stall a run that did not cap them.
    assert hostile_crawl.seconds < CRAWL_SECONDS, f"{hostile_crawl.seconds:.0f} s"


@pytest.mark.parametrize(
    "name", ["429-huge-retry-after", "503-malformed-retry-after", "503-retry-after-far-date"]
)
def test_a_retry_after_is_retried_once_after_a_capped_pause(hostile_crawl: HostileCrawl, name: str) -> None:
    path = _case(hostile_crawl, name).url.split("/", 3)[3]
    assert hostile_crawl.paths.count("/" + path) == 2  # RETRY_TIMES=1: asked again once, never given up on


def test_a_listing_of_3000_links_costs_the_page_budget_newest_first(hostile_crawl: HostileCrawl) -> None:
    from config.settings import CrawlSettings

    budget = CrawlSettings().max_pages_per_source
    requested = {p for p in hostile_crawl.paths if p.startswith("/hc/2026/item-")}
    # Item i is i seconds older than item 0: the budget takes the newest, the oldest wait for the next run.
    assert requested == {f"/hc/2026/item-{i}.html" for i in range(budget)}
    assert budget < CAP_LINKS


def test_a_sitemap_index_that_lists_itself_is_read_once(hostile_crawl: HostileCrawl) -> None:
    assert hostile_crawl.paths.count("/hi/index.xml") == 1
    assert hostile_crawl.paths.count("/hi/child.xml") == 1


def test_external_entities_never_read_a_local_file(hostile_crawl: HostileCrawl) -> None:
    canary, passwd = (
        hostile_crawl.outlet.canary,
        Path("/etc/passwd").read_text(encoding="utf-8").split("\n")[0],
    )
    everything = hostile_crawl.result.stdout + hostile_crawl.result.stderr
    for (text,) in hostile_crawl.query("SELECT title || ' ' || text FROM articles"):
        everything += text
    assert canary not in everything
    assert passwd not in everything


def test_one_article_under_four_spellings_is_fetched_at_most_three_times_and_stored_once(
    hostile_crawl: HostileCrawl,
) -> None:
    # The fragment is never sent; the case-changed path is another URL on a case-sensitive server.
    fetched = [p for p in hostile_crawl.paths if p.lower().startswith("/hp/2026/dup-story-1.html")]
    assert len(fetched) <= 3
    assert hostile_crawl.query("SELECT count(*) FROM articles WHERE url LIKE '%dup-story-1.html%'") == [(1,)]


def test_dates_in_the_future_or_unreadable_never_store_a_future_date(hostile_crawl: HostileCrawl) -> None:
    for name in ("malformed-date", "future-date"):
        [(published,)] = hostile_crawl.query(
            "SELECT published FROM articles WHERE title = ?", _case(hostile_crawl, name).stored
        )
        assert published is not None
        assert datetime.fromisoformat(published).replace(tzinfo=UTC) <= datetime.now(UTC)


def test_a_base_href_elsewhere_never_moves_the_article_to_another_host(hostile_crawl: HostileCrawl) -> None:
    case = _case(hostile_crawl, "base-href-elsewhere")
    [(url, canonical)] = hostile_crawl.query(
        "SELECT url, canonical_url FROM articles WHERE title = ?", case.stored
    )
    assert "elsewhere.invalid" not in url + canonical
    assert "elsewhere.invalid" not in hostile_crawl.result.stderr  # never even tried


def test_nul_bytes_never_reach_the_database(hostile_crawl: HostileCrawl) -> None:
    assert hostile_crawl.query("SELECT count(*) FROM articles WHERE instr(text, char(0)) > 0") == [(0,)]


def test_no_stored_article_is_mojibake(hostile_crawl: HostileCrawl) -> None:
    for (text,) in hostile_crawl.query("SELECT title || text FROM articles"):
        for junk in ("Ø§", "ط§ظ", "\ufffd"):
            assert junk not in text


@pytest.mark.parametrize(("name", "reason"), [("robots-huge", "too large"), ("robots-binary", None)])
def test_a_robots_txt_too_large_or_unparsable_is_read_as_no_rule(
    hostile_crawl: HostileCrawl, name: str, reason: str | None
) -> None:
    # Scrapy reads a robots.txt it cannot download in full as allowing all; rasid says so, once.
    # Random bytes are read (as no rule at all), so nothing is said about them.
    robots = _case(hostile_crawl, name).url.split(f"/{name}/", 1)[0] + "/robots.txt"
    lines = hostile_crawl.lines_naming(robots)
    if reason is None:
        assert lines == []
    else:
        assert len(lines) == 1 and reason in lines[0] and "as if it allowed everything" in lines[0], lines
    assert f"/{name}/2026/article-1.html" in hostile_crawl.paths


def test_an_unreachable_robots_txt_is_one_line_and_nothing_of_its_host_is_fetched(
    hostile_crawl: HostileCrawl,
) -> None:
    # RFC 9309 2.3.1.4: a robots.txt answering 5xx (after the retries) means "disallow all" for now.
    robots = _case(hostile_crawl, "robots-500").url.split("/robots-500/", 1)[0] + "/robots.txt"
    lines = hostile_crawl.lines_naming(robots)
    assert len(lines) == 1 and "http 500" in lines[0] and "not crawled this run" in lines[0], lines
    assert [p for p in hostile_crawl.paths if p.startswith("/robots-500/")] == []  # neither feed nor page
    # The source got nothing this run, and its feed says why as an error (so a daemon backs it off).
    feed = robots.removesuffix("/robots.txt") + "/robots-500/feed.xml"
    [line] = hostile_crawl.lines_naming(feed)
    assert "robots.txt unreachable: http 500" in line, line


def test_the_docs_table_lists_every_case(hostile_crawl: HostileCrawl) -> None:
    table = (Path(__file__).resolve().parents[2] / "docs" / "HOSTILE.md").read_text(encoding="utf-8")
    assert [c.id for c in hostile_crawl.outlet.cases if f"| `{c.id}` |" not in table] == []


def test_a_missing_robots_txt_is_not_a_problem_and_says_nothing(hostile_crawl: HostileCrawl) -> None:
    base = _case(hostile_crawl, "charset-missing").url.split("/hp/", 1)[
        0
    ]  # the outlet has no robots.txt: 404
    assert "/robots.txt" in hostile_crawl.paths
    assert hostile_crawl.lines_naming(base + "/robots.txt") == []
