"""What the CLI shows and writes, made safe: crawled text as inert cells, secrets masked, exports atomic.

A stored title such as ``روسيا [/bold] تعاون`` or ``[link=file:///etc/passwd]`` is text, never Rich markup,
and an ESC sequence in it never reaches the terminal; a password in a URL never reaches a log line; an
export never writes through a symbolic link or over a file it was not told to replace.
"""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path

from rich.text import Text

from config.settings import ConfigError, mask_secrets
from storage.safe_text import one_line, strip_controls


def cell(value: object) -> Text:
    """A table cell: Rich never parses a ``Text`` for markup; control characters and line breaks go."""
    return Text(one_line(str(value)))


def message(text: str) -> str:
    """A line for the terminal: secrets masked, control characters dropped (print with ``markup=False``)."""
    return strip_controls(mask_secrets(text))


class SafeLogFilter(logging.Filter):
    """Masks URL passwords and drops control characters in every record, whichever handler shows it."""

    def filter(self, record: logging.LogRecord) -> bool:
        shown = message(record.getMessage())
        if shown != record.msg or record.args:
            record.msg, record.args = shown, None
        if record.exc_info and not record.exc_text:
            record.exc_text = message(logging.Formatter().formatException(record.exc_info))
        return True


def check_writable(path: Path, *, force: bool = False) -> None:
    """Refuse a symbolic link (its target would be overwritten) and an existing file unless ``force``.

    Each refusal is a ``ConfigError``: one line, exit code 2.
    """
    if path.is_symlink():
        raise ConfigError(f"{path}: is a symbolic link; refusing to write through it")
    if not path.parent.is_dir():  # a mistyped folder is said, not made
        raise ConfigError(f"{path}: no folder {path.parent} to write it in")
    if path.exists():
        if not path.is_file():
            raise ConfigError(f"{path}: exists and is not a regular file")
        if not force:
            raise ConfigError(f"{path}: already exists; pass --force to overwrite it")


def write_atomically(path: Path, text: str, *, force: bool = False) -> None:
    """Write ``text`` to ``path`` whole or not at all: a temporary file beside it, then ``os.replace``.

    A folder that cannot be written in (read-only, permission, ``/proc``) or a full disk is a
    ``ConfigError`` naming the path and the reason, and no temporary file is left behind.
    """
    check_writable(path, force=force)
    try:
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise _cannot_write(path, exc) from None
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temporary, 0o666 & ~umask)  # as an ordinary new file would be, not mkstemp's 0600
        os.replace(
            temporary, path
        )  # never follows a link at ``path``: a link put there meanwhile is replaced
    except BaseException as exc:
        Path(temporary).unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise _cannot_write(path, exc) from None
        raise


def _cannot_write(path: Path, exc: OSError) -> ConfigError:
    return ConfigError(f"{path}: cannot write it: {exc.strerror or exc}")
