"""Alembic revisions on both engines: from empty, from earlier revisions, and refusing old databases."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text

from storage.db import make_engine
from storage.models import Base
from storage.repository import Repository, SchemaError
from storage.schema import HEAD_REVISION, current_revision, head_revision, upgrade
from tests.storage.conftest import outcome
from tests.storage.test_repository import TEXT_A


def test_head_is_the_recent_articles_revision_and_the_code_knows_it_without_alembic() -> None:
    assert head_revision() == HEAD_REVISION == "0011"


def test_migration_from_an_empty_database_creates_every_table(database_url: str) -> None:
    engine = make_engine(database_url)
    upgrade(engine)
    assert current_revision(engine) == "0011"
    assert set(inspect(engine).get_table_names()) >= {
        "sources",
        "crawl_runs",
        "seen_urls",
        "listing_validators",
        "articles",
        "verdicts",
        "digests",
        "stories",
        "signatures",
        "daemons",
        "alembic_version",
    }
    engine.dispose()


def test_models_and_migrations_describe_the_same_schema(database_url: str) -> None:
    engine = make_engine(database_url)
    upgrade(engine)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
    assert diff == []
    engine.dispose()


@pytest.mark.parametrize("previous", ["0001", "0002", "0003"])
def test_upgrade_from_an_earlier_revision_keeps_stored_articles(database_url: str, previous: str) -> None:
    engine = make_engine(database_url)
    upgrade(engine, previous)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO sources (name, first_seen) VALUES ('sana', CURRENT_TIMESTAMP)"))
        conn.execute(
            text(
                "INSERT INTO articles (canonical_hash, canonical_url, url, source, title, text, fetched_at) "
                "VALUES ('h1', 'https://sana.sy/?p=1', 'https://sana.sy/?p=1', 'sana', 'عنوان', 'نص',"
                " CURRENT_TIMESTAMP)"
            )
        )
    upgrade(engine)
    assert current_revision(engine) == "0011"
    with engine.connect() as conn:
        row = conn.execute(text("SELECT title, text FROM articles")).one()
    assert tuple(row) == ("عنوان", "نص")
    # and the upgraded database takes new articles with stories
    repo = Repository(engine)
    repo.prepare()
    assert repo.store([outcome("https://sana.sy/?p=2", TEXT_A)], repo.start_run(["sana"])).new_articles == 1
    assert len(repo.stories()) == 1
    engine.dispose()


def test_app_refuses_a_database_at_an_older_revision_with_what_to_run(database_url: str) -> None:
    engine = make_engine(database_url)
    upgrade(engine, "0001")
    with pytest.raises(SchemaError) as raised:
        Repository(engine).prepare()
    assert str(raised.value) == "database is at revision 0001, code needs 0011: run `rasid db upgrade`"
    assert current_revision(engine) == "0001"  # refusing never upgrades behind the operator's back
    engine.dispose()


def test_app_refuses_a_database_with_foreign_tables_and_no_revision(sqlite_url: str) -> None:
    engine = make_engine(sqlite_url)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE customers (id INTEGER PRIMARY KEY)"))
    with pytest.raises(SchemaError, match="has tables .*customers.* but no rasid revision"):
        Repository(engine).prepare()
    engine.dispose()


def test_sqlite_engine_uses_wal_busy_timeout_and_foreign_keys(tmp_path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'new' / 'folder' / 'rasid.db'}")
    with engine.connect() as conn:
        pragmas = [
            conn.exec_driver_sql(f"PRAGMA {name}").scalar()
            for name in ("journal_mode", "busy_timeout", "foreign_keys")
        ]
    assert pragmas == ["wal", 30000, 1]
    assert (tmp_path / "new" / "folder" / "rasid.db").is_file()
    engine.dispose()


def test_sqlite_readers_do_not_wait_for_a_writer(sqlite_url: str) -> None:
    engine = make_engine(sqlite_url)
    repo = Repository(engine)
    repo.prepare()
    with engine.begin() as writer:  # holds the write lock, as a crawl's batch does
        writer.execute(text("INSERT INTO sources (name, first_seen) VALUES ('sana', CURRENT_TIMESTAMP)"))
        assert repo.hits() == [] and repo.runs() == []  # would wait 30 s behind BEGIN IMMEDIATE
    engine.dispose()


@pytest.mark.parametrize("below", ["0010", "0003"])  # 0011's and 0006's downgrades both alter crawl_runs
def test_downgrading_keeps_every_article_linked_to_its_run(database_url: str, below: str) -> None:
    from alembic import command

    from storage.schema import alembic_config

    engine = make_engine(database_url)
    repo = Repository(engine)
    repo.prepare()
    run_id = repo.start_run(["sana"])
    repo.store([outcome("https://sana.sy/?p=1", TEXT_A)], run_id)
    config = alembic_config()
    with engine.begin() as conn:  # SQLite: a batch copy of crawl_runs would have set run_id to NULL
        config.attributes["connection"] = conn
        command.downgrade(config, below)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT run_id FROM articles")).scalars().all() == [run_id]
        assert conn.execute(text("SELECT count(*) FROM seen_urls WHERE run_id IS NULL")).scalar_one() == 0
    upgrade(engine)
    assert current_revision(engine) == HEAD_REVISION
    engine.dispose()


def test_the_revisions_the_code_knows_are_alembics_without_importing_it() -> None:
    from alembic.script import ScriptDirectory

    from storage.schema import alembic_config, known_revisions

    shipped = {script.revision for script in ScriptDirectory.from_config(alembic_config()).walk_revisions()}
    assert known_revisions() == shipped
