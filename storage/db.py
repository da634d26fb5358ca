"""Engines for both databases: SQLite tuned for one writer and many readers, PostgreSQL as it comes.

``make_engine`` is where a database URL becomes usable or becomes one line (``StorageError``): a path
with no scheme, an unknown scheme, a folder that cannot be made, and (through ``storage.errors``) every
driver failure later on. ``create=False`` is for commands that only read: a missing SQLite file is
``NoDatabase`` and nothing is created on disk.
"""

from __future__ import annotations

import logging
import weakref
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError

from config.settings import Settings
from storage.errors import HOW_TO_MAKE, NoDatabase, StorageError, masked, reason_of, translate

logger = logging.getLogger(__name__)

#: Schemes rasid is built and tested for, named in the message for an unknown one.
KNOWN_SCHEMES = "sqlite:///FILE or postgresql+psycopg://USER@HOST/DB"


def make_engine(url: str, *, create: bool = True, busy_timeout: float | None = None) -> Engine:
    """An engine for ``url``; SQLite gets WAL, a busy timeout and foreign keys, and its folder is created.

    With ``create=False`` a SQLite file that does not exist raises ``NoDatabase`` and no folder is made.
    ``busy_timeout`` (seconds a SQLite connection waits for another process's lock) defaults to the
    setting ``database_busy_timeout``.
    """
    if busy_timeout is None:
        busy_timeout = Settings.model_fields["database_busy_timeout"].default
    parsed = parse_url(url)
    kwargs: dict[str, Any] = {"future": True}
    if parsed.get_backend_name() == "sqlite":
        _prepare_sqlite_file(parsed, create)
        kwargs["connect_args"] = {"timeout": busy_timeout}
        engine = _create(parsed, kwargs)
        event.listen(engine, "connect", _sqlite_pragmas(int(busy_timeout * 1000)))
        # pysqlite's own BEGIN handling defers locking until the first write, which lets two writers
        # both read then fail on lock upgrade; emitting BEGIN IMMEDIATE ourselves serialises writers.
        # Connections with the ``read_only`` execution option (Repository.reader) begin DEFERRED.
        event.listen(engine, "begin", _sqlite_begin)
    else:
        kwargs["pool_pre_ping"] = True
        if parsed.get_backend_name() == "postgresql" and "connect_timeout" not in parsed.query:
            kwargs["connect_args"] = {"connect_timeout": max(1, round(busy_timeout))}
        engine = _create(parsed, kwargs)
    event.listen(engine, "handle_error", translate)
    _ENGINES.add(engine)
    return engine


#: Every engine made in this process, so a command ending can close their connections itself.
_ENGINES: weakref.WeakSet[Engine] = weakref.WeakSet()


def dispose_all() -> None:
    """Close the pooled connections of every engine (SQLite checkpoints its WAL as the last one closes)."""
    for engine in list(_ENGINES):
        try:
            engine.dispose()
        except Exception:  # noqa: BLE001 - ending anyway: a connection that cannot close is the OS's to drop
            logger.debug("closing %s failed", masked(engine.url), exc_info=True)


def parse_url(url: str) -> URL:
    """The URL parsed, or one line saying why it is not a database URL."""
    if "://" not in url:
        hint = f"; for a SQLite file write sqlite:///{Path(url).expanduser().resolve()}" if url else ""
        raise StorageError(f"{url!r} is not a database URL (no scheme){hint}")
    try:
        return make_url(url)
    except ArgumentError:
        raise StorageError(f"{masked(url)}: not a database URL; use {KNOWN_SCHEMES}") from None


def check_url(url: str) -> None:
    """Refuse, in one line, a URL no engine can be made from (no scheme, unknown scheme), connecting to nothing."""
    parsed = parse_url(url)
    try:
        parsed.get_dialect()
    except NoSuchModuleError:
        raise StorageError(f"{parsed.drivername}://: unknown database scheme; use {KNOWN_SCHEMES}") from None


def _create(parsed: URL, kwargs: dict[str, Any]) -> Engine:
    try:
        return create_engine(parsed, **kwargs)
    except NoSuchModuleError:
        raise StorageError(f"{parsed.drivername}://: unknown database scheme; use {KNOWN_SCHEMES}") from None
    except ImportError as exc:  # a known dialect whose driver is not installed
        raise StorageError(f"{parsed.drivername}://: driver not installed ({exc.name})") from None


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite URL, or None for in-memory databases and other engines."""
    parsed = parse_url(url)
    database = parsed.database
    if parsed.get_backend_name() != "sqlite" or not database or database == ":memory:":
        return None
    if database.startswith("file:"):
        database = database[len("file:") :].split("?", 1)[0]
    return Path(database).expanduser()


def _prepare_sqlite_file(parsed: URL, create: bool) -> None:
    path = sqlite_path(parsed.render_as_string(hide_password=False))
    if path is None:
        return
    url = masked(parsed)
    if not create:
        if not path.is_file():
            raise NoDatabase(f"{url}: no database there; {HOW_TO_MAKE}")
        return
    if path.is_dir():
        raise StorageError(f"{url}: {path} is a folder, not a database file")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StorageError(f"{url}: {reason_of(exc)}") from None


def _sqlite_pragmas(busy_timeout_ms: int) -> Any:
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves (see _sqlite_begin)
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout={busy_timeout_ms}")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")  # safe under WAL: a crash loses at most the last commit
        cursor.close()

    return on_connect


def _sqlite_begin(connection: Any) -> None:
    read_only = connection.get_execution_options().get("read_only", False)
    connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")
