"""Fixtures shared by every test folder: the real data, and real empty databases on both engines."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from config.settings import DEFAULT_SHARED_DATA

SHARED_DATA = Path(os.environ.get("RASID_SHARED_DATA", DEFAULT_SHARED_DATA))
POSTGRES_URL = os.environ.get("RASID_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("RASID_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")

pytest_plugins = ["tests.servers", "tests.rasid.digest_fixtures", "tests.rasid.daemons"]


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real Arabic news corpora next to the repository (never copied into it)."""
    if not (SHARED_DATA / "articles.jsonl").is_file():
        pytest.skip(f"real data not found at {SHARED_DATA} (set RASID_SHARED_DATA)")
    return SHARED_DATA


def _postgres_reason() -> str | None:
    """None when PostgreSQL answers, else why not (printed as the skip reason)."""
    try:
        import psycopg
        from sqlalchemy.engine import make_url

        url = make_url(POSTGRES_URL)
        with psycopg.connect(
            host=url.host, port=url.port or 5432, user=url.username, dbname=url.database, connect_timeout=3
        ):
            return None
    except Exception as exc:  # noqa: BLE001 - any failure means "cannot reach", and we say why
        return f"PostgreSQL not reachable at {POSTGRES_URL}: {str(exc).strip().splitlines()[0]}"


_PG_REASON: list[str | None] = []


def postgres_unavailable() -> str | None:
    """Checked once per session."""
    if not _PG_REASON:
        _PG_REASON.append(_postgres_reason())
    return _PG_REASON[0]


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """URL of a real, empty database: a SQLite file, or a fresh schema in the PostgreSQL ``test`` database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'rasid.db'}"
        return
    reason = postgres_unavailable()
    if reason:
        pytest.skip(reason)
    import psycopg
    from sqlalchemy.engine import make_url

    schema = f"t_{uuid.uuid4().hex[:12]}"
    url = make_url(POSTGRES_URL)
    conninfo = dict(host=url.host, port=url.port or 5432, user=url.username, dbname=url.database)
    with psycopg.connect(**conninfo, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    # Every connection of this URL sees only the fresh schema, so tests never share tables.
    yield url.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(hide_password=False)
    with psycopg.connect(**conninfo, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """URL of an empty SQLite file, for tests that are about something other than the engine."""
    return f"sqlite:///{tmp_path / 'rasid.db'}"
