"""End-to-end crawls of a local site through ``rasid crawl``: each discovery path, politeness, bad input.

The crawl runs as a subprocess (Scrapy's reactor cannot restart); the test reads the database through
the repository and the server's request log to see what was fetched and stored, and what was not.
"""

from __future__ import annotations

import re

import pytest

from storage.db import make_engine
from storage.repository import Repository
from tests.crawler.conftest import rasid


def stored_titles(url: str) -> dict[str, set[str]]:
    repo = Repository(make_engine(url))
    titles: dict[str, set[str]] = {}
    for batch in repo.iter_articles():
        for article in batch:
            titles.setdefault(article.source, set()).add(article.title)
    return titles


@pytest.fixture(scope="module")
def first_crawl(site, tmp_path_factory: pytest.TempPathFactory):
    built, sources_file, log = site
    db = f"sqlite:///{tmp_path_factory.mktemp('db') / 'rasid.db'}"
    log.paths.clear()
    result = rasid("crawl", "--sources", str(sources_file), "--db", db)
    return result, db, list(log.paths)


def test_crawl_exits_zero_and_prints_a_summary_row_per_source(first_crawl) -> None:
    result, _, _ = first_crawl
    assert result.returncode == 0, result.stderr[-3000:]
    for name in (
        "rss-outlet",
        "atom-outlet",
        "auto-outlet",
        "sitemap-outlet",
        "section-outlet",
        "cp1256-outlet",
    ):
        assert name in result.stdout
    assert "total" in result.stdout


@pytest.mark.parametrize(
    "source",
    ["rss-outlet", "atom-outlet", "auto-outlet", "sitemap-outlet", "section-outlet", "cp1256-outlet"],
)
def test_each_discovery_path_stores_exactly_its_fresh_articles(first_crawl, site, source: str) -> None:
    _, db, _ = first_crawl
    built = site[0]
    assert stored_titles(db).get(source, set()) == built.expected[source]


def test_old_robots_denied_and_non_article_links_are_never_requested(first_crawl, site) -> None:
    _, _, paths = first_crawl
    built = site[0]
    assert "/robots.txt" in paths
    assert built.not_fetched.isdisjoint(paths), sorted(built.not_fetched & set(paths))


def test_server_errors_are_retried_and_client_errors_are_not(first_crawl) -> None:
    _, _, paths = first_crawl
    assert paths.count("/rss/_fault/status/503") == 2  # RETRY_TIMES=1 in these tests: one retry
    assert paths.count("/rss/_fault/status/404") == 1


def test_a_redirect_loop_is_not_followed_around(first_crawl) -> None:
    # The loop is noticed when a Location points back into the chain (REDIRECT_MAX_TIMES bounds longer chains).
    _, _, paths = first_crawl
    assert 2 <= sum(p.startswith("/rss/_fault/redirect-loop") for p in paths) <= 3


def test_pages_outside_the_window_or_without_article_are_not_stored(first_crawl, site) -> None:
    _, db, _ = first_crawl
    built = site[0]
    everything = set().union(*stored_titles(db).values())
    assert built.not_stored.isdisjoint(everything)


def test_windows_1256_pages_are_stored_as_arabic_without_mojibake(first_crawl) -> None:
    _, db, _ = first_crawl
    repo = Repository(make_engine(db))
    texts = [a for batch in repo.iter_articles() for a in batch if a.source == "cp1256-outlet"]
    assert len(texts) == 3
    for article in texts:
        for junk in ("Ø§", "ط§ظ", "\ufffd"):
            assert junk not in article.title and junk not in article.text
        assert "روسيا" in article.text  # "Russia", as the real article says


def test_bad_input_costs_one_line_each_and_the_run_goes_on(first_crawl) -> None:
    result, _, _ = first_crawl
    lines = result.stderr.splitlines()

    def one(fragment: str) -> str:
        found = [line for line in lines if fragment in line]
        assert len(found) == 1, (fragment, found, result.stderr[-3000:])
        return found[0]

    assert "http 404" in one("/rss/_fault/status/404")
    # A page of navigation only: too little text for any article, which the prefilter says as extraction would.
    assert "no-article" in one("/rss/_fault/no-article.html")
    assert "malformed feed" in one("malformed-feed.xml (source broken-feed)")
    assert "refuses connections" in one("127.0.0.1:9/feed.xml")
    assert "too large" in one("/rss/_fault/big")
    assert "redirect loop" in one("/rss/_fault/redirect-loop (source")
    assert "Maximum entity amplification" in one("entity-bomb.xml (source hostile-feed)")
    assert "Traceback" not in result.stderr


def test_a_second_crawl_fetches_no_article_again(first_crawl, site) -> None:
    _, db, first_paths = first_crawl
    built, sources_file, log = site
    log.paths.clear()
    result = rasid("crawl", "--sources", str(sources_file), "--db", db)
    assert result.returncode == 0, result.stderr[-3000:]
    article_paths = {p for p in first_paths if p.endswith(".html") and "_fault" not in p}
    assert article_paths, "the first crawl fetched no article"
    assert article_paths.isdisjoint(log.paths), sorted(article_paths & set(log.paths))
    repo = Repository(make_engine(db))
    last = repo.runs(limit=1)[0]
    assert last.summary.articles_stored == 0
    assert last.status == "ok"


def test_unknown_source_is_one_line_and_exit_code_2(site, tmp_path) -> None:
    _, sources_file, _ = site
    result = rasid(
        "crawl", "--sources", str(sources_file), "--source", "nope", "--db", f"sqlite:///{tmp_path / 'x.db'}"
    )
    assert result.returncode == 2
    # Rich wraps the one message at the console width; the words are what matter.
    assert " ".join(result.stderr.split()).startswith("error: unknown source(s): nope (known: atom-outlet,")


def test_crawl_stores_the_same_articles_on_each_database_engine(site, database_url) -> None:
    built, sources_file, _ = site
    result = rasid("crawl", "--sources", str(sources_file), "--source", "cp1256-outlet", "--source", "rss-outlet",
                   "--db", database_url)  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    titles = stored_titles(database_url)
    assert titles == {name: built.expected[name] for name in ("cp1256-outlet", "rss-outlet")}


@pytest.mark.redis
def test_crawl_through_the_shared_redis_frontier_stores_the_same_articles(site, sqlite_url) -> None:
    from tests.conftest import REDIS_URL

    try:
        import redis

        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except Exception as exc:  # noqa: BLE001 - any failure means "cannot reach", and we say why
        pytest.skip(f"Redis not reachable at {REDIS_URL}: {exc}")
    built, sources_file, _ = site
    result = rasid("crawl", "--sources", str(sources_file), "--source", "sitemap-outlet", "--db", sqlite_url,
                   env={"RASID_CRAWL__REDIS_URL": REDIS_URL})  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    assert stored_titles(sqlite_url) == {"sitemap-outlet": built.expected["sitemap-outlet"]}


def test_broken_sources_yaml_is_one_line_naming_file_and_line(tmp_path) -> None:
    bad = tmp_path / "sources.yaml"
    bad.write_text("sources:\n  - name: x\n    url: [unclosed\n", encoding="utf-8")
    result = rasid("crawl", "--sources", str(bad), "--db", f"sqlite:///{tmp_path / 'x.db'}")
    assert result.returncode == 2
    assert " ".join(result.stderr.split()).startswith(f"error: {bad}:4: invalid YAML")


def test_sources_list_shows_each_sources_last_crawl(first_crawl, site) -> None:
    _, db, _ = first_crawl
    _, sources_file, _ = site
    result = rasid("sources", "list", "--sources", str(sources_file), "--db", db)
    assert result.returncode == 0, result.stderr[-2000:]
    row = next(line for line in result.stdout.splitlines() if line.startswith("│ cp1256-outlet "))
    # 3 articles after the first crawl; 0 once the second crawl (which found nothing new) has run.
    assert re.search(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}: [03] articles, [03] new, 0 errors", row), row


def test_a_database_that_refuses_connections_is_one_line_and_exit_code_2(site) -> None:
    _, sources_file, log = site
    log.paths.clear()
    result = rasid(
        "crawl", "--sources", str(sources_file), "--db", "postgresql+psycopg://rasid@127.0.0.1:9/rasid"
    )
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "error: postgresql+psycopg://rasid@127.0.0.1:9/rasid: cannot connect: connection refused "
        "(is PostgreSQL running there?)"
    )
    assert log.paths == []  # nothing is fetched when nothing could be stored


def _bar_counts(stderr: str) -> dict[str, int]:
    """The progress bar's last counters ("pages 12 · articles 9 · ..."), as printed when it stopped."""
    from crawler.stats import COUNTERS

    pattern = r"\s·\s".join(rf"{name} (\d+)" for name in COUNTERS)
    last = re.findall(pattern, stderr)[-1]
    return dict(zip(COUNTERS, map(int, last), strict=True))


def _table_totals(stdout: str) -> dict[str, int]:
    from crawler.stats import COUNTERS

    header = next(line for line in stdout.splitlines() if "source" in line and "pages" in line)
    names = [cell.strip() for cell in re.split(r"[│┃]", header) if cell.strip()]
    total = next(line for line in stdout.splitlines() if line.strip("│ ").startswith("total"))
    cells = [cell.strip() for cell in re.split(r"[│┃]", total) if cell.strip()]
    assert names[1:] == list(COUNTERS)  # the table's columns are the bar's counters, in the same order
    return dict(zip(names[1:], map(int, cells[1:]), strict=True))


def test_progress_bar_and_summary_table_show_the_same_counters(first_crawl) -> None:
    result, _, _ = first_crawl
    bar, table = _bar_counts(result.stderr), _table_totals(result.stdout)
    assert bar == table
    assert table["new"] > 0 and table["pages"] >= table["articles"] >= table["new"]


def test_a_second_crawl_shows_the_same_counters_in_bar_and_table(first_crawl, site) -> None:
    _, db, _ = first_crawl
    _, sources_file, _ = site
    again = rasid("crawl", "--sources", str(sources_file), "--db", db)
    bar, table = _bar_counts(again.stderr), _table_totals(again.stdout)
    assert bar == table
    assert table["new"] == 0  # everything was seen on the first crawl


def test_a_crawl_in_which_no_source_answers_is_a_failed_run_not_a_quiet_day(tmp_path) -> None:
    # Offline, or every outlet down: "ok" with zero pages would hide the outage from `rasid status`.
    sources = tmp_path / "sources.yaml"
    sources.write_text(
        "sources:\n  - name: refusing\n    url: http://127.0.0.1:9/\n    feeds: [http://127.0.0.1:9/feed.xml]\n",
        encoding="utf-8",
    )
    db = f"sqlite:///{tmp_path / 'rasid.db'}"
    result = rasid("crawl", "--sources", str(sources), "--db", db)
    assert result.returncode == 1, result.stderr[-3000:]
    assert "no source answered" in result.stdout
    assert "Traceback" not in result.stderr
    run = Repository(make_engine(db)).runs(limit=1)[0]
    assert run.outcome == "failed" and run.status.startswith("failed: no source answered")
