"""Storage errors as one line: what database, and why it cannot be used.

Every engine made by ``storage.db.make_engine`` turns the driver's failures (cannot connect, not a
database, locked, read-only) into ``StorageError`` through SQLAlchemy's ``handle_error`` event, so no
caller outside ``storage/`` ever catches a SQLAlchemy exception: the CLI prints the line and exits 2.
"""

from __future__ import annotations

import errno
import logging
import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy.engine import URL, ExceptionContext

logger = logging.getLogger(__name__)

#: Why SQLite refused: another process held its lock for longer than the busy timeout.
LOCKED = "locked by another process (gave up waiting)"
#: The driver's words (SQLite, psycopg) and what they mean to someone running rasid.
REASONS = (
    ("file is not a database", "not a SQLite database (the file holds something else)"),
    ("database is locked", LOCKED),
    ("database table is locked", LOCKED),
    ("readonly database", "read-only: rasid cannot write to it"),
    ("read-only file system", "on a read-only file system"),
    ("unable to open database file", "cannot open the database file"),
    ("disk i/o error", "disk I/O error"),
    ("database or disk is full", "the disk is full"),
    ("connection refused", "cannot connect: connection refused (is PostgreSQL running there?)"),
    ("could not translate host name", "cannot connect: host not found"),
    ("timeout expired", "cannot connect: timed out"),
)

#: Why a folder for a SQLite file could not be made.
OS_REASONS = {
    errno.EROFS: "on a read-only file system",
    errno.EACCES: "permission denied",
    errno.EPERM: "permission denied",
    errno.ENOTDIR: "a parent of the path is a file, not a folder",
    errno.EEXIST: "a parent of the path is a file, not a folder",
}
#: How to make a database, said whenever a read finds none.
HOW_TO_MAKE = "run `rasid crawl` or `rasid db upgrade` to make one"
#: Errors about the rows themselves (a unique key taken): the writer's business, left as they are.
KEPT = ("IntegrityError",)


class StorageError(Exception):
    """The database cannot be used; the message is one line naming it (password masked) and the reason."""


class NoDatabase(StorageError):
    """A read was asked of a database that does not exist; nothing was created."""


class DatabaseBusy(StorageError):
    """Another process held the lock past the busy timeout: worth trying again (the web view says so)."""


def reason_of(exc: BaseException) -> str:
    """One line saying why, from a driver exception, an OSError or a SQLAlchemy error."""
    if isinstance(exc, OSError) and exc.errno in OS_REASONS:
        detail = OS_REASONS[exc.errno]
        return f"cannot create the folder {exc.filename}: {detail}" if exc.filename else detail
    text = str(getattr(exc, "orig", None) or exc).strip()
    lowered = text.lower()
    for words, reason in REASONS:
        if words in lowered:
            return reason
    return text.splitlines()[0] if text else type(exc).__name__


def masked(url: str | URL) -> str:
    """The URL with its password hidden, as every message shows it.

    An engine's URL is rendered whole and masked as written: SQLAlchemy's own hiding re-renders what it
    parsed, and a URL it misread (a raw '@' in the password) would show the secret's tail as the host.
    """
    from config.settings import mask_url

    return mask_url(url if isinstance(url, str) else url.render_as_string(hide_password=False))


def translate(context: ExceptionContext) -> None:
    """``handle_error`` listener: raise ``StorageError`` instead of the driver's error (see module doc)."""
    error = context.sqlalchemy_exception
    if context.is_pre_ping or error is None or type(error).__name__ in KEPT:
        return  # a pre-ping failure lets the pool reconnect; unique-key clashes are handled by the writer
    engine = context.engine
    url = masked(engine.url) if engine is not None else "database"
    logger.debug("storage error on %s", url, exc_info=context.original_exception)
    reason = reason_of(context.original_exception)
    if engine is not None and engine.dialect.name == "sqlite" and _on_read_only_fs(engine.url.database):
        reason = "on a read-only file system: rasid cannot open it for writing or its WAL index"
    raise (DatabaseBusy if reason == LOCKED else StorageError)(f"{url}: {reason}") from None


def _on_read_only_fs(database: str | None) -> bool:
    """SQLite says only "unable to open database file"; the file system tells whether it is read-only."""
    if not database or database == ":memory:":
        return False
    folder = os.path.dirname(os.path.abspath(os.path.expanduser(database))) or "."
    try:
        return bool(os.statvfs(folder).f_flag & os.ST_RDONLY)
    except OSError:
        return False
