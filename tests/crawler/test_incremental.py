"""Incremental crawling against a real local server: what a re-run fetches, 304s, the page budget, the prefilter.

Each test serves its own small site (real Arabic articles) from a ``SiteServer`` in a thread, runs
``rasid crawl`` in a child process and reads the server's request log: which paths were asked for, with
which status they were answered.
"""

from __future__ import annotations

import json
import logging
import re
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from snapshot.replay import Route, SiteServer
from storage.repository import ORPHANED
from tests.crawler.conftest import rasid
from tests.crawler.outlets import article_html, real_articles, rss


class AnswerLog(logging.Handler):
    """(path, status) of every request the in-thread site servers answered (they log each at DEBUG)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.answers: list[tuple[str, int]] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if '"GET ' not in message:
            return
        request, _, rest = message.split('"GET ', 1)[1].partition('" ')
        status = rest.split(" ", 1)[0]
        self.answers.append((request.split(" ", 1)[0], int(status) if status.isdigit() else 0))

    def paths(self) -> list[str]:
        return [path for path, _ in self.answers]

    def clear(self) -> None:
        self.answers.clear()


@pytest.fixture
def answers() -> Iterator[AnswerLog]:
    log = AnswerLog()
    replay_logger = logging.getLogger("snapshot.replay")
    replay_logger.addHandler(log)
    level = replay_logger.level
    replay_logger.setLevel(logging.DEBUG)
    yield log
    replay_logger.removeHandler(log)
    replay_logger.setLevel(level)


@dataclass
class Site:
    """A started server (gzip on, as outlets' servers) and the routes it serves, added to outlet by outlet."""

    server: SiteServer
    routes: dict[str, Route] = field(default_factory=dict)

    @property
    def port(self) -> int:
        return self.server.port

    def serve(self, routes: dict[str, Route]) -> None:
        self.routes.update(routes)
        self.server.set_routes(self.routes)


@dataclass
class Outlet:
    """One feed of dated articles at ``/<name>/...``; ``published`` newest first."""

    name: str
    site: Site
    host: str = "127.0.0.1"
    titles: dict[str, str] = field(default_factory=dict)  # path -> title
    published: dict[str, datetime] = field(default_factory=dict)

    @property
    def base(self) -> str:
        return f"http://{self.host}:{self.site.port}"

    def feed_path(self) -> str:
        return f"/{self.name}/feed.xml"

    def article_paths(self) -> list[str]:
        return sorted(self.titles, key=lambda path: self.published[path], reverse=True)

    def yaml(self) -> str:
        return f"  - name: {self.name}\n    url: {self.base}/{self.name}/\n    feeds: [{self.base}{self.feed_path()}]\n"


def _outlet(
    site: Site,
    name: str,
    pages: list[tuple[str, str]],
    *,
    host: str = "127.0.0.1",
    link_suffix: str = "",
    extra_items: list[tuple[str, str, datetime]] = (),  # type: ignore[assignment]
) -> Outlet:
    """Serve ``pages`` ((title, text) each) as articles one hour apart, newest first, listed in one RSS feed
    in shuffled order (so "newest first" is the crawler's doing, not the feed's)."""
    from tests.crawler.outlets import RealArticle

    outlet = Outlet(name, site, host)
    now = datetime.now(UTC).replace(microsecond=0)
    routes: dict[str, Route] = {}
    items = []
    for number, (title, text) in enumerate(pages):
        when = now - timedelta(hours=number + 1)
        path = f"/{name}/news/2026/story-{1000 + number}.html"
        url = outlet.base + path
        routes[path] = Route(article_html(RealArticle(title, text), when, url).encode())
        outlet.titles[path] = title
        outlet.published[path] = when
        items.append((title, url + link_suffix, when))
    items = items[1::2] + items[::2] + list(extra_items)
    routes[outlet.feed_path()] = Route(rss(items), "application/rss+xml; charset=utf-8")
    site.serve(routes)
    return outlet


def _sources(tmp_path: Path, *outlets: Outlet) -> Path:
    path = tmp_path / "sources.yaml"
    path.write_text("sources:\n" + "".join(o.yaml() for o in outlets), encoding="utf-8")
    return path


def _crawl(sources: Path, db: str, **env: str) -> None:
    result = rasid("crawl", "--sources", str(sources), "--db", db, env=env)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]


def _stored_titles(db: str) -> list[str]:
    with sqlite3.connect(db.removeprefix("sqlite:///")) as conn:
        return sorted(title for (title,) in conn.execute("SELECT title FROM articles"))


@pytest.fixture
def server() -> Iterator[Site]:
    with SiteServer({}, compress=True) as started:
        yield Site(started)


@pytest.fixture(scope="module")
def russia_articles(shared_data: Path) -> list[tuple[str, str]]:
    return [(a.title, a.text) for a in real_articles(shared_data, 12)]


@pytest.fixture(scope="module")
def other_article(shared_data: Path) -> tuple[str, str]:
    """A real article whose text names no Russia term at all, by the classifier's own test."""
    from config.settings import Settings
    from rasid.app import build_classifier

    names_russia = build_classifier(Settings()).names_russia
    with (shared_data / "articles.jsonl").open(encoding="utf-8") as lines:
        for line in lines:
            row = json.loads(line)
            title, text = (row.get("title") or "").strip(), (row.get("text") or "").strip()
            if title and 600 <= len(text) <= 2500 and not names_russia(f"{title}\n{text}"):
                try:
                    (title + text).encode("cp1256")
                except UnicodeEncodeError:
                    continue
                return title, text
    pytest.fail("no article without Russia in the corpus")


# ---------------------------------------------------------------------------------------------- re-runs


def test_a_second_run_fetches_no_article_page_and_reads_the_unchanged_feed_as_304(
    server: Site, answers: AnswerLog, russia_articles, tmp_path: Path
) -> None:
    outlet = _outlet(server, "rerun", russia_articles[:4])
    sources, db = _sources(tmp_path, outlet), f"sqlite:///{tmp_path / 'rasid.db'}"
    _crawl(sources, db)
    assert set(outlet.article_paths()) <= set(answers.paths())
    assert _stored_titles(db) == sorted(outlet.titles.values())

    answers.clear()
    _crawl(sources, db)
    assert [p for p in answers.paths() if p != "/robots.txt"] == [outlet.feed_path()]
    assert (outlet.feed_path(), 304) in answers.answers
    assert _stored_titles(db) == sorted(outlet.titles.values())
    with sqlite3.connect(db.removeprefix("sqlite:///")) as conn:  # the source answered: healthy, not failed
        [(per_source,)] = conn.execute(
            "SELECT per_source FROM crawl_runs ORDER BY id DESC LIMIT 1"
        ).fetchall()
    assert json.loads(per_source)["rerun"]["not_modified"] == 1


def test_a_crawl_opens_no_remote_control_into_its_process(
    server: Site, russia_articles, tmp_path: Path
) -> None:
    """Scrapy 2.19's remote control would serve code execution on localhost and leave its token in a file."""
    outlet = _outlet(server, "closed", russia_articles[:1])
    state = tmp_path / "state"
    _crawl(_sources(tmp_path, outlet), f"sqlite:///{tmp_path / 'rasid.db'}", XDG_STATE_HOME=str(state))
    assert not (state / "scrapy").exists()


def test_links_listed_again_with_tracking_parameters_fragment_or_upper_case_host_are_not_fetched(
    server: Site, answers: AnswerLog, russia_articles, tmp_path: Path
) -> None:
    outlet = _outlet(server, "tracked", russia_articles[:3], host="localhost")
    sources, db = _sources(tmp_path, outlet), f"sqlite:///{tmp_path / 'rasid.db'}"
    _crawl(sources, db)
    # The feed changes (a new ETag, so it is read in full) and lists the same articles as shares do.
    shared = "?utm_source=twitter&utm_medium=social&fbclid=IwAR0x#comments"
    again = _outlet(server, "tracked", russia_articles[:3], host="LOCALHOST", link_suffix=shared)
    assert again.article_paths() == outlet.article_paths()
    answers.clear()
    _crawl(sources, db)
    assert (outlet.feed_path(), 200) in answers.answers  # read in full, not a 304
    assert not set(outlet.article_paths()) & set(answers.paths())
    assert _stored_titles(db) == sorted(outlet.titles.values())


def test_a_killed_run_saves_no_listing_validator_so_the_next_reads_every_listing_in_full(
    server: Site, answers: AnswerLog, russia_articles, tmp_path: Path
) -> None:
    """Validators are written only at the end of a run that stored every page it fetched."""
    import os
    import signal
    import subprocess
    import sys

    from tests.crawler.conftest import FAST_ENV, ROOT

    slow = "/killed/_fault/slow?seconds=30"
    base = f"http://127.0.0.1:{server.port}"
    outlet = _outlet(
        server, "killed", russia_articles[:3], extra_items=[("بطيء", base + slow, datetime.now(UTC))]
    )
    sources, db_file = _sources(tmp_path, outlet), tmp_path / "rasid.db"
    env = {**os.environ, **FAST_ENV, "RASID_CRAWL__DOWNLOAD_TIMEOUT": "60"}
    env.pop("RASID_CONFIG", None)
    crawl = subprocess.Popen(
        [sys.executable, "-m", "rasid.cli", "crawl", "--sources", str(sources), "--db", f"sqlite:///{db_file}"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    # The articles are answered at once, the slow page never before the kill: the run cannot have ended.
    while not set(outlet.article_paths()) <= set(answers.paths()) and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)
    assert crawl.poll() is None
    os.killpg(crawl.pid, signal.SIGKILL)
    crawl.wait(timeout=30)
    with sqlite3.connect(db_file) as conn:
        assert conn.execute("SELECT count(*) FROM listing_validators").fetchone()[0] == 0

    answers.clear()
    _crawl(sources, f"sqlite:///{db_file}", RASID_CRAWL__DOWNLOAD_TIMEOUT="2", RASID_CRAWL__RETRY_TIMES="0")
    assert (outlet.feed_path(), 200) in answers.answers
    assert _stored_titles(f"sqlite:///{db_file}") == sorted(outlet.titles.values())
    with sqlite3.connect(db_file) as conn:  # the killed run is no longer shown as running
        runs = conn.execute("SELECT outcome, status FROM crawl_runs ORDER BY id").fetchall()
    assert runs == [("failed", ORPHANED), ("ok", "ok")]


# ---------------------------------------------------------------------------------------------- budget


def test_the_page_budget_fetches_the_newest_first_and_the_rest_in_the_next_runs(
    server: Site, answers: AnswerLog, russia_articles, tmp_path: Path
) -> None:
    outlet = _outlet(server, "budget", russia_articles[:10])
    sources, db = _sources(tmp_path, outlet), f"sqlite:///{tmp_path / 'rasid.db'}"
    newest_first = outlet.article_paths()
    fetched = []
    for _ in range(3):
        answers.clear()
        _crawl(sources, db, RASID_CRAWL__MAX_PAGES_PER_SOURCE="4")
        fetched.append([p for p in answers.paths() if p in outlet.titles])
        # A feed whose links were cut is never remembered: the next run must read it in full.
        assert (outlet.feed_path(), 200) in answers.answers
    assert [sorted(run) for run in fetched] == [
        sorted(newest_first[:4]),
        sorted(newest_first[4:8]),
        sorted(newest_first[8:]),
    ]
    assert _stored_titles(db) == sorted(outlet.titles.values())
    answers.clear()
    _crawl(sources, db, RASID_CRAWL__MAX_PAGES_PER_SOURCE="4")
    assert (outlet.feed_path(), 304) in answers.answers  # all handled now: remembered at last


def test_a_sources_own_max_pages_wins_over_the_crawl_setting(
    server: Site, answers: AnswerLog, russia_articles, tmp_path: Path
) -> None:
    outlet = _outlet(server, "own", russia_articles[:5])
    sources = tmp_path / "sources.yaml"
    sources.write_text("sources:\n" + outlet.yaml() + "    max_pages: 2\n", encoding="utf-8")
    _crawl(sources, f"sqlite:///{tmp_path / 'rasid.db'}", RASID_CRAWL__MAX_PAGES_PER_SOURCE="4")
    assert sorted(p for p in answers.paths() if p in outlet.titles) == sorted(outlet.article_paths()[:2])


def test_a_slow_source_does_not_hold_back_the_others(server: Site, russia_articles, tmp_path: Path) -> None:
    """Two outlets on two host names: one answers every page after 4 s, the other at once."""
    slow_items = [
        (f"بطيء {n}", f"http://localhost:{server.port}/slow/_fault/slow?seconds=4&n={n}", datetime.now(UTC))
        for n in range(8)
    ]
    fast = _outlet(server, "fast", russia_articles[:4])
    slow = _outlet(server, "slow", [], host="localhost", extra_items=slow_items)
    sources, db = _sources(tmp_path, slow, fast), f"sqlite:///{tmp_path / 'rasid.db'}"
    started = time.monotonic()
    _crawl(sources, db, RASID_CRAWL__DOWNLOAD_TIMEOUT="30", RASID_CRAWL__CONCURRENT_REQUESTS_PER_DOMAIN="2")
    took = time.monotonic() - started
    assert took >= 8  # 8 slow pages, 2 at a time, 4 s each: the slow outlet really was slow
    with sqlite3.connect(db.removeprefix("sqlite:///")) as conn:
        run_start = datetime.fromisoformat(conn.execute("SELECT started_at FROM crawl_runs").fetchone()[0])
        fetched = [
            datetime.fromisoformat(value)
            for (value,) in conn.execute("SELECT fetched_at FROM articles WHERE source = 'fast'")
        ]
    assert len(fetched) == 4
    # Every fast page was fetched within the slow outlet's first page's 4 seconds.
    assert max(fetched) - run_start < timedelta(seconds=4), (run_start, fetched)


# ---------------------------------------------------------------------------------------------- prefilter


def test_the_prefilter_skips_a_page_without_russia_and_keeps_the_one_with_it(
    server: Site, russia_articles, other_article, tmp_path: Path
) -> None:
    outlet = _outlet(server, "pre", [russia_articles[0], other_article])
    sources, db = _sources(tmp_path, outlet), f"sqlite:///{tmp_path / 'rasid.db'}"
    _crawl(sources, db)
    assert _stored_titles(db) == [russia_articles[0][0]]
    with sqlite3.connect(db.removeprefix("sqlite:///")) as conn:
        reasons = dict(conn.execute("SELECT url, skip_reason FROM seen_urls WHERE skip_reason IS NOT NULL"))
    other_path = next(p for p, t in outlet.titles.items() if t == other_article[0])
    assert reasons == {outlet.base + other_path: "no-russia-term"}


def test_extract_all_stores_the_page_without_russia_too(
    server: Site, russia_articles, other_article, tmp_path: Path
) -> None:
    outlet = _outlet(server, "all", [russia_articles[0], other_article])
    sources, db = _sources(tmp_path, outlet), f"sqlite:///{tmp_path / 'rasid.db'}"
    _crawl(sources, db, RASID_CRAWL__EXTRACT_ALL="true")
    assert _stored_titles(db) == sorted([russia_articles[0][0], other_article[0]])


# ---------------------------------------------------------------------------------------------- hit counts


@pytest.fixture(scope="module")
def hit_articles(shared_data: Path) -> list[tuple[str, str]]:
    """Real articles the classifier flags, by its own test."""
    from config.settings import Settings
    from rasid.app import build_classifier

    classifier = build_classifier(Settings())
    found = [
        (a.title, a.text)
        for a in real_articles(shared_data, 200)
        if classifier.classify(a.title, a.text).is_hit
    ]
    assert len(found) >= 2, "the corpus has too few hits to test with"
    return found


def test_a_hit_seen_again_under_another_url_is_no_new_hit_in_the_summary_status_or_hits(
    server: Site, hit_articles, tmp_path: Path
) -> None:
    # The outlet's same hit at a second URL (a slug or section variant): one stored article, one hit.
    first, second = hit_articles[:2]
    outlet = _outlet(server, "copies", [first, second, first])
    sources, db = _sources(tmp_path, outlet), f"sqlite:///{tmp_path / 'rasid.db'}"
    crawl = rasid("crawl", "--sources", str(sources), "--db", db)
    assert crawl.returncode == 0, crawl.stderr[-3000:]
    header = next(line for line in crawl.stdout.splitlines() if "source" in line and "pages" in line)
    row = next(line for line in crawl.stdout.splitlines() if line.strip("│ ").startswith("copies"))
    cells = dict(
        zip(
            re.split(r"\s*[│┃]\s*", header.strip("│┃ ")),
            re.split(r"\s*[│┃]\s*", row.strip("│┃ ")),
            strict=True,
        )
    )
    assert (cells["articles"], cells["new"], cells["hits"]) == ("3", "2", "2")
    assert "1 more article flagged as a hit was stored before" in " ".join(crawl.stdout.split())
    listed = rasid("hits", "--source", "copies", "--format", "jsonl", "--db", db)
    assert len(listed.stdout.splitlines()) == 2, listed.stderr
    status = json.loads(rasid("status", "--json", "--db", db).stdout)
    assert [(s["source"], s["hits"], s["new_articles"]) for s in status["sources"]] == [("copies", 2, 2)]


def test_a_run_whose_feeds_answer_with_links_seen_before_is_ok_beside_a_dead_feed(
    server: Site, answers: AnswerLog, russia_articles, tmp_path: Path
) -> None:
    # Nothing new and one outlet down is a quiet day, not "no source answered".
    outlet = _outlet(server, "quiet", russia_articles[:2])
    dead = "  - name: dead\n    url: http://127.0.0.1:9/\n    feeds: [http://127.0.0.1:9/feed.xml]\n"
    sources, db = tmp_path / "sources.yaml", f"sqlite:///{tmp_path / 'rasid.db'}"
    sources.write_text("sources:\n" + outlet.yaml() + dead, encoding="utf-8")
    rasid("crawl", "--sources", str(sources), "--db", db)
    assert _stored_titles(db) == sorted(outlet.titles.values())
    feed = server.routes[outlet.feed_path()]
    server.serve({outlet.feed_path(): replace(feed, body=feed.body + b"\n")})  # changed bytes: no 304
    answers.clear()
    result = rasid("crawl", "--sources", str(sources), "--db", db)
    assert (outlet.feed_path(), 200) in answers.answers
    assert not set(outlet.article_paths()) & set(answers.paths())  # nothing fetched but the feed
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    with sqlite3.connect(db.removeprefix("sqlite:///")) as conn:
        [(status, outcome)] = conn.execute("SELECT status, outcome FROM crawl_runs ORDER BY id DESC LIMIT 1")
    assert (status, outcome) == ("ok", "ok")
