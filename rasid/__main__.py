"""``rasid`` and ``python -m rasid``: the CLI, where Ctrl-C at any moment is one line and exit code 130.

This module imports nothing heavy before its handler is in place, so even a Ctrl-C while Python is
still importing Scrapy or pydantic ends in the same line. During a crawl Scrapy's own handler takes
over (a graceful stop that stores what was fetched); ``rasid crawl`` then says so in one line.
"""

from __future__ import annotations

import signal
import sys
from typing import Any

#: The shell's convention for "ended by SIGINT" (128 + 2).
EXIT_INTERRUPTED = 130


class Interrupted(BaseException):
    """Ctrl-C outside a crawl: a BaseException, so nothing on the way catches it as an error."""


def _interrupt(_signum: int, _frame: Any) -> None:
    raise Interrupted


def main() -> None:
    """Console-script entry point."""
    signal.signal(signal.SIGINT, _interrupt)
    try:
        from rasid.cli import main as run

        run()
    except (Interrupted, KeyboardInterrupt):
        interrupted()


def interrupted(detail: str = "") -> None:
    """Say it in one line and exit 130; the database holds only whole batches (each one transaction)."""
    sys.stderr.write(f"interrupted{': ' + detail if detail else ''}\n")
    sys.stderr.flush()
    sys.exit(EXIT_INTERRUPTED)


if __name__ == "__main__":
    main()
