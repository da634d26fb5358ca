"""What the fault tests share: a small outlet of real articles (some of them real hits) and the yardsticks.

Every fault test crawls this outlet into a database that fails in its own way (a full disk, a lock, a
restarted server), then crawls again once the fault is gone, and asserts the same things: the database is
sound, and each article and each hit is stored exactly once.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from snapshot.replay import Route
from tests.crawler.conftest import FAST_ENV, ROOT, RequestLog
from tests.crawler.outlets import RealArticle, article_html, real_articles, rss
from tests.rasid.digest_fixtures import labelled_hits

#: Real hits of the labelled dev set and plain real articles on the outlet.
HITS, OTHERS = 4, 16


@dataclass(frozen=True, slots=True)
class FaultSite:
    """The outlet's routes and sources YAML, and the titles a whole crawl must store (hits among them)."""

    routes: dict[str, Route]
    sources: str
    titles: frozenset[str]
    hit_titles: frozenset[str]


def fault_site(
    shared_data: Path,
    base: str,
    *,
    hold_open: bool = False,
    name: str = "faulty",
    hits: int = HITS,
    others: slice = slice(0, OTHERS),
) -> FaultSite:
    """A feed of real articles at ``base``/``name``; ``hold_open`` adds a page that drips, keeping the crawl
    going. Another ``name`` with other ``others`` makes a second outlet beside the first."""
    fresh = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=3)
    hit_articles = [
        RealArticle(r["title"].strip(), r["text"].strip()) for r in labelled_hits(shared_data, hits)
    ]
    plain = real_articles(shared_data, others.stop)[others]
    routes: dict[str, Route] = {}
    items = []
    for n, article in enumerate(hit_articles + plain):
        path = f"/{name}/2026/article-{n}.html"
        routes[path] = Route(article_html(article, fresh, base + path).encode())
        items.append((article.title, base + path, fresh))
    if hold_open:
        items.append(("بطيء", f"{base}/{name}/_fault/drip?seconds=1", fresh))
    routes[f"/{name}/feed.xml"] = Route(rss(items), "application/rss+xml")
    sources = f"sources:\n  - {{name: {name}, url: '{base}/{name}/', feeds: ['{base}/{name}/feed.xml']}}\n"
    return FaultSite(
        routes,
        sources,
        frozenset(a.title for a in hit_articles + plain),
        frozenset(a.title for a in hit_articles),
    )


def integrity(db_file: Path) -> str:
    with sqlite3.connect(db_file) as conn:
        return str(conn.execute("PRAGMA integrity_check").fetchone()[0])


def stored(db_file: Path) -> tuple[list[str], list[str]]:
    """Titles of stored articles and of current hits, with repeats (so a double shows)."""
    with sqlite3.connect(db_file) as conn:
        titles = [t for (t,) in conn.execute("SELECT title FROM articles")]
        hits = [
            t
            for (t,) in conn.execute(
                "SELECT a.title FROM articles a JOIN verdicts v ON v.article_id = a.id "
                "WHERE v.is_current AND v.is_hit"
            )
        ]
    return titles, hits


def cli_env(**extra: str) -> dict[str, str]:
    env = {**os.environ, **FAST_ENV, "COLUMNS": "200", **extra}
    env.pop("RASID_CONFIG", None)
    return env


def run(*args: str, timeout: float = 180, **env: str) -> subprocess.CompletedProcess[str]:
    """``rasid ARGS`` in a child process."""
    return subprocess.run(
        [sys.executable, "-m", "rasid.cli", *args],
        cwd=ROOT, env=cli_env(**env), capture_output=True, text=True, timeout=timeout,
    )  # fmt: skip


def user_lines(stderr: str) -> list[str]:
    """The lines a user reads on stderr (the progress bar's redraws left out)."""
    return [line for line in stderr.splitlines() if line.strip() and "━" not in line]


@contextmanager
def request_log() -> Iterator[RequestLog]:
    """The paths the in-thread site servers answer, while the block runs."""
    log = RequestLog()
    replay_logger = logging.getLogger("snapshot.replay")
    replay_logger.addHandler(log)
    replay_logger.setLevel(logging.DEBUG)
    try:
        yield log
    finally:
        replay_logger.removeHandler(log)
