"""`rasid db upgrade`, `rasid db current` and `rasid reclassify` against real databases."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from typer.testing import CliRunner

from classifiers.keyword import KeywordClassifier
from config.keywords import load_keywords
from config.settings import Settings
from rasid.cli import app
from storage.db import make_engine
from storage.models import VerdictRow
from storage.repository import Repository
from storage.schema import current_revision, head_revision, upgrade
from tests.storage.conftest import miss_verdict, outcome
from tests.storage.test_repository import TEXT_B

runner = CliRunner()
HEAD = head_revision()


def invoke(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout


def test_db_upgrade_brings_an_empty_database_to_head_and_is_safe_to_repeat(database_url: str) -> None:
    code, out = invoke("db", "upgrade", "--db", database_url)
    assert code == 0 and f"upgraded from empty to {HEAD}" in out
    code, out = invoke("db", "upgrade", "--db", database_url)
    assert code == 0 and f"already at {HEAD} (head)" in out


def test_db_current_exits_1_behind_head_and_0_after_upgrade(database_url: str) -> None:
    engine = make_engine(database_url)
    upgrade(engine, "0001")
    code, out = invoke("db", "current", "--db", database_url)
    assert code == 1 and f"0001, code needs {HEAD}: run `rasid db upgrade`" in out
    code, out = invoke("db", "upgrade", "--db", database_url)
    assert code == 0 and f"upgraded from 0001 to {HEAD}" in out
    assert current_revision(engine) == HEAD
    assert invoke("db", "current", "--db", database_url)[0] == 0
    engine.dispose()


def test_db_upgrade_snapshot_upgrades_the_demos_database_left_by_an_older_rasid(tmp_path: Path) -> None:
    snapshot_url = f"sqlite:///{tmp_path / 'snapshot.db'}"
    engine = make_engine(snapshot_url)
    upgrade(engine, "0001")
    result = runner.invoke(
        app, ["db", "upgrade", "--snapshot"], env={"RASID_SNAPSHOT_DATABASE_URL": snapshot_url}
    )
    assert result.exit_code == 0 and f"upgraded from 0001 to {HEAD}" in result.stdout
    assert current_revision(engine) == HEAD
    engine.dispose()


def test_db_current_on_an_empty_database_says_empty_and_exits_1() -> None:
    code, out = invoke("db", "current", "--db", "sqlite:///:memory:")
    assert code == 1
    assert out.strip().endswith(f": empty, code needs {HEAD}: run `rasid db upgrade`")


@pytest.fixture
def example_article(shared_data: Path) -> tuple[str, str]:
    """A real target story (Russia-UAE cooperation): first line title, rest body."""
    lines = (
        (shared_data.parent / "examples" / "000_3d49043149d6cedf.txt")
        .read_text(encoding="utf-8")
        .splitlines()
    )
    return lines[0], "\n".join(lines[1:])


def _stale_store(sqlite_url: str, title: str, text: str) -> tuple[Engine, Repository]:
    """A database holding the target story and a non-story, both with an old classifier's miss."""
    engine = make_engine(sqlite_url)
    repo = Repository(engine)
    repo.prepare()
    run_id = repo.start_run(["rt"])
    stale = miss_verdict("kw-old")
    repo.store(
        [
            outcome("https://arabic.rt.com/1", text, source="rt", title=title, verdict=stale),
            outcome("https://sana.sy/?p=9", TEXT_B, source="sana", verdict=stale),
        ],
        run_id,
    )
    return engine, repo


def _current_versions(engine: Engine) -> set[str]:
    with engine.connect() as conn:
        rows = conn.execute(select(VerdictRow.classifier_version).where(VerdictRow.is_current))
        return set(rows.scalars())


def test_reclassify_turns_a_stale_miss_into_a_hit_and_records_the_version(
    sqlite_url: str, example_article: tuple[str, str]
) -> None:
    title, text = example_article
    engine, repo = _stale_store(sqlite_url, title, text)
    assert repo.hits() == []
    code, out = invoke("reclassify", "--db", sqlite_url)
    version = KeywordClassifier(load_keywords(Settings().keywords_file)).version
    assert code == 0 and f"reclassified 2 articles with {version}: 1 new hits, 0 no longer hits" in out
    [hit] = repo.hits()
    assert hit.title == title
    assert _current_versions(engine) == {version}
    code, out = invoke("reclassify", "--db", sqlite_url)
    assert "reclassified 0 articles" in out and "2 already current" in out
    engine.dispose()


def test_reclassify_dry_run_lists_what_would_change_and_writes_nothing(
    sqlite_url: str, example_article: tuple[str, str]
) -> None:
    title, text = example_article
    hostile = f"[b]x[/b] {title}"  # crawled text: shown as written, never read as Rich markup
    engine, repo = _stale_store(sqlite_url, hostile, text)
    code, out = invoke("reclassify", "--dry-run", "--db", sqlite_url)
    assert code == 0
    assert "dry run, nothing written: 2 articles classified" in out
    assert "1 would become hits, 0 would no longer be hits" in out
    rows = [line for line in out.splitlines() if line.startswith("│")]
    assert any("│ rt " in line and "[b]x[/b]" in line for line in rows)
    assert not any("sana" in line for line in rows)  # its verdict stays: not listed
    assert repo.hits() == [] and _current_versions(engine) == {"kw-old"}  # nothing written
    # The real run then makes exactly the change the dry run listed.
    code, out = invoke("reclassify", "--db", sqlite_url)
    assert code == 0 and "1 new hits, 0 no longer hits" in out
    assert [hit.title for hit in repo.hits()] == [hostile]
    engine.dispose()


def test_reclassify_on_a_database_without_articles_says_to_crawl_first(sqlite_url: str) -> None:
    upgrade(make_engine(sqlite_url))
    result = runner.invoke(app, ["reclassify", "--db", sqlite_url])
    assert str(result.exception) == "no stored articles to reclassify: run `rasid crawl` first"
