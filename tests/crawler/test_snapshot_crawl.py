"""``rasid crawl --snapshot``: the offline snapshot is crawled completely, through every discovery path."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from storage.db import make_engine
from storage.repository import Repository
from tests.crawler.conftest import rasid
from tests.servers import SNAPSHOT_SEED, SNAPSHOT_SIZE


def _norm(title: str) -> str:
    return re.sub(r"\s+", " ", title).strip()


@pytest.fixture(scope="module")
def snapshot_crawl(shared_data: Path, tmp_path_factory: pytest.TempPathFactory):
    from snapshot.build import build_snapshot

    db = f"sqlite:///{tmp_path_factory.mktemp('snapshot') / 'rasid.db'}"
    # Every page extracted (the prefilter off), so every outlet's layout and charset is read through.
    env = {"RASID_CRAWL__EXTRACT_ALL": "true"}
    result = rasid("crawl", "--snapshot", "--size", str(SNAPSHOT_SIZE), "--db", db, timeout=240, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    snapshot = build_snapshot(shared_data, size=SNAPSHOT_SIZE, seed=SNAPSHOT_SEED)
    stored: dict[str, set[str]] = {}
    for batch in Repository(make_engine(db)).iter_articles():
        for article in batch:
            stored.setdefault(article.source, set()).add(_norm(article.title))
    return result, snapshot, stored, db


def test_snapshot_crawl_says_the_age_window_is_off_and_which_outlet_breaks_on_purpose(snapshot_crawl) -> None:
    from snapshot.build import FAULT_PATHS

    result = snapshot_crawl[0]
    said = " ".join(result.stdout.split())
    assert "age window off" in said
    assert "the bbc outlet also lists broken links on purpose" in said
    assert {path.split("/")[1] for path in FAULT_PATHS} == {"bbc"}


def test_every_public_article_of_every_outlet_is_stored(snapshot_crawl) -> None:
    _, snapshot, stored, _ = snapshot_crawl
    missing = {}
    for outlet in snapshot.outlets:
        titles = stored.get(outlet.name, set())
        for article in snapshot.articles_of(outlet.name):
            if article.is_private:
                continue
            want = _norm(article.title)
            # Real saved pages put the site's name before or after the headline in <title>.
            headline = max(re.split(r" [-|–] ", want), key=len)
            if not any(want == got or headline in got for got in titles):
                missing.setdefault(outlet.name, []).append(want)
    assert not missing


def test_each_discovery_path_and_charset_of_the_snapshot_was_exercised(snapshot_crawl) -> None:
    _, snapshot, stored, _ = snapshot_crawl
    entries = {o.entry for o in snapshot.outlets if stored.get(o.name)}
    assert {"rss", "atom", "autodiscovery", "sitemap", "sections"} <= entries
    declared = {o.declared for o in snapshot.outlets if o.charset != "utf-8" and stored.get(o.name)}
    assert {"header", "meta", "none", "wrong"} <= declared


def test_robots_txt_private_articles_are_not_stored(snapshot_crawl) -> None:
    _, snapshot, stored, _ = snapshot_crawl
    private = [a for a in snapshot.articles if a.is_private]
    assert private, "the snapshot has no robots-disallowed article to test with"
    everything = set().union(*stored.values())
    assert not [a.title for a in private if _norm(a.title) in everything]


def test_no_stored_article_is_mojibake(snapshot_crawl) -> None:
    db = snapshot_crawl[3]
    for batch in Repository(make_engine(db)).iter_articles():
        for article in batch:
            for junk in ("Ø§", "ط§ظ", "\ufffd"):
                assert junk not in article.title + article.text, (article.source, article.title)


def test_run_summary_is_stored_with_status_ok(snapshot_crawl) -> None:
    db = snapshot_crawl[3]
    run = Repository(make_engine(db)).runs(limit=1)[0]
    assert run.status == "ok"
    assert run.snapshot is True
    assert run.summary.articles_stored >= 300
