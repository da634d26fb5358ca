"""Schema revisions: Alembic run on rasid's own engine, and the check that refuses old databases."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, func, inspect, select, text

from storage.errors import HOW_TO_MAKE, NoDatabase, StorageError, masked

if TYPE_CHECKING:
    from alembic.config import Config

logger = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
#: The newest revision under migrations/versions (a test checks it is Alembic's head): every command
#: compares a database with it without importing Alembic (~0.1 s), which only upgrades need.
HEAD_REVISION = "0011"
#: PostgreSQL advisory lock held while the schema is created or upgraded ("rasid-db" in ASCII).
SCHEMA_LOCK_KEY = 0x72617369642D6462


class SchemaError(StorageError):
    """The database is not at the revision this code needs; the message says what to run."""


def known_revisions() -> frozenset[str]:
    """The revisions shipped in migrations/versions, named ``<revision>_<slug>.py`` (a test checks it)."""
    return frozenset(
        path.name.partition("_")[0] for path in (MIGRATIONS_DIR / "versions").glob("[0-9]*_*.py")
    )


def refuse_unknown(revision: str | None) -> None:
    """A revision this code never shipped was stamped by a newer rasid: neither upgrading nor reading can help."""
    if revision is not None and revision not in known_revisions():
        raise SchemaError(
            f"database is at revision {revision}, unknown to this rasid (its newest is {HEAD_REVISION}):"
            " it was written by a newer rasid; use that version, or upgrade rasid"
        )


def alembic_config() -> Config:
    """Alembic configuration pointing at the migrations shipped inside the package (no alembic.ini)."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    return cfg


def head_revision() -> str:
    """Alembic's head, read from the migration scripts."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None, "storage/migrations/versions holds no revision"
    return head


def current_revision(engine: Engine) -> str | None:
    """The revision stamped in the database, or None for a database Alembic never touched.

    Alembic's own table (``alembic_version``, one row on a history without branches) read with plain SQL.
    """
    # A reading transaction (BEGIN, not BEGIN IMMEDIATE on SQLite): the check never waits behind a crawl's writes.
    with engine.execution_options(read_only=True).connect() as connection:
        if not inspect(connection).has_table("alembic_version"):
            return None
        row = connection.execute(text("SELECT version_num FROM alembic_version")).first()
    return None if row is None else str(row[0])


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the database to ``revision`` in one transaction (PostgreSQL rolls DDL back on failure).

    Callers read ``checked_revision`` first: a newer rasid's revision would be Alembic's traceback here.
    """
    from alembic import command

    cfg = alembic_config()
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            # Crawl workers started together on a new database: one creates the schema while the others
            # wait here, then find it at head (Alembic reads the revision after the lock) and do nothing.
            connection.execute(select(func.pg_advisory_xact_lock(SCHEMA_LOCK_KEY)))
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, revision)
    logger.info("database upgraded to %s", revision)


def checked_revision(engine: Engine) -> str | None:
    """The database's revision, None if it is empty; one line for another application's database or for
    one a newer rasid wrote.

    rasid's tables are never made beside someone else's: `db upgrade` and `db current` refuse as `hits` does.
    """
    current = current_revision(engine)
    if current is not None:
        refuse_unknown(current)
        return current
    with engine.execution_options(read_only=True).connect() as connection:
        tables = set(inspect(connection).get_table_names()) - {"alembic_version"}
    if not tables:
        return None
    current = current_revision(engine)  # another process (a crawl worker started at the same time) made it
    if current is None:
        raise SchemaError(
            f"database has tables ({', '.join(sorted(tables)[:3])}...) but no rasid revision: "
            "point RASID_DATABASE_URL at an empty database"
        )
    refuse_unknown(current)
    return current


def ensure_current(engine: Engine, create: bool = True) -> None:
    """Upgrade a brand-new empty database (only if ``create``); refuse one at another revision."""
    current = checked_revision(engine)
    head = HEAD_REVISION
    if current == head:
        return
    if current is None:
        if not create:
            url = masked(engine.url)
            raise NoDatabase(f"{url}: the database is empty; {HOW_TO_MAKE}")
        upgrade(engine)
        return
    raise SchemaError(f"database is at revision {current}, code needs {head}: run `rasid db upgrade`")
