"""Baseline: bare ``trafilatura.extract`` on the offline snapshot's article pages, on one core.

``python -m bench.extract [--size N] [--runs N]`` builds the snapshot in memory (no server), takes every
article page's bytes exactly as served, and extracts each with trafilatura's defaults; the best pass
is quoted (slower passes measure the neighbours on a shared machine). ``bench.pipeline`` calls
``measure`` on the same pages to compare the whole crawl against it.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass
from pathlib import Path

from snapshot.replay import SNAPSHOT_SEED, SNAPSHOT_SIZE


@dataclass(frozen=True, slots=True)
class Baseline:
    pages: int
    best_seconds: float
    extracted: int  # pages trafilatura returned text for

    @property
    def pages_per_second(self) -> float:
        return self.pages / self.best_seconds


def snapshot_pages(data_dir: Path, size: int = SNAPSHOT_SIZE, seed: int = SNAPSHOT_SEED) -> list[bytes]:
    """The bytes of every article page of the snapshot, as the replay server serves them."""
    from snapshot.build import build_snapshot

    snapshot = build_snapshot(data_dir, size=size, seed=seed)
    routes = snapshot.routes("http://127.0.0.1:8000")
    return [routes[a.path].body for a in snapshot.articles if a.path in routes]


def measure(pages: list[bytes], runs: int = 3) -> Baseline:
    """Best of ``runs`` passes of bare ``trafilatura.extract`` over ``pages``."""
    import trafilatura

    best = float("inf")
    extracted = 0
    for _ in range(runs):
        started = time.perf_counter()
        extracted = sum(1 for body in pages if trafilatura.extract(body))
        best = min(best, time.perf_counter() - started)
    return Baseline(pages=len(pages), best_seconds=best, extracted=extracted)


def main(argv: list[str] | None = None) -> int:
    import logging

    from config.settings import load_settings

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=SNAPSHOT_SIZE, help="snapshot articles (default 300)")
    parser.add_argument("--runs", type=int, default=3, help="passes; the best is quoted (default 3)")
    args = parser.parse_args(argv)
    logging.getLogger("trafilatura").setLevel(logging.CRITICAL)
    pages = snapshot_pages(load_settings().shared_data, size=args.size)
    result = measure(pages, args.runs)
    print(
        f"bare trafilatura.extract: {result.pages} pages in {result.best_seconds:.2f} s (best of {args.runs}) "
        f"= {result.pages_per_second:.1f} pages/s on one core; text from {result.extracted} pages"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
