"""The whole crawl against its baseline: ``python -m bench.pipeline [--size N] [--write]``.

In one go, on the same snapshot pages: (1) bare ``trafilatura.extract`` on one core (``bench.extract``);
(2) ``rasid crawl --snapshot`` into a fresh SQLite file, as a child process like the daemon runs it.
The crawl's rate is article pages over the run's own duration (stored by the repository: the Scrapy
crawl, extraction with metadata and dates, classification and batched storage, without interpreter
start-up or building the snapshot), and also over the command's wall time. The ratio says what share
of bare extraction speed the full pipeline keeps. ``--write`` appends the result to
``bench/results/crawl.md`` with command, commit, machine and date.
"""

from __future__ import annotations

import argparse
import logging
import os
import platform
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from bench.extract import SNAPSHOT_SIZE, measure, snapshot_pages

RESULTS = Path(__file__).resolve().parent / "results" / "crawl.md"


def main(argv: list[str] | None = None) -> int:
    from config.settings import load_settings
    from storage.db import make_engine
    from storage.repository import Repository

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=SNAPSHOT_SIZE, help="snapshot articles (default 300)")
    parser.add_argument("--runs", type=int, default=3, help="baseline passes; the best is quoted")
    parser.add_argument("--write", action="store_true", help=f"append the result to {RESULTS.name}")
    args = parser.parse_args(argv)
    logging.getLogger("trafilatura").setLevel(logging.CRITICAL)

    pages = snapshot_pages(load_settings().shared_data, size=args.size)
    baseline = measure(pages, args.runs)

    with tempfile.TemporaryDirectory(prefix="rasid-bench-") as tmp:
        db = f"sqlite:///{Path(tmp) / 'bench.db'}"
        command = [
            sys.executable,
            "-m",
            "rasid.cli",
            "crawl",
            "--snapshot",
            "--size",
            str(args.size),
            "--db",
            db,
        ]
        env = {**os.environ, "COLUMNS": "120"}
        started = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True, env=env)
        wall = time.perf_counter() - started
        if done.returncode != 0:
            print(done.stderr[-3000:], file=sys.stderr)
            return 1
        run = Repository(make_engine(db)).runs(limit=1)[0]
    assert run.finished_at is not None
    seconds = (run.finished_at - run.started_at).total_seconds()
    fetched = run.summary.pages_fetched
    crawl_rate = fetched / seconds
    ratio = crawl_rate / baseline.pages_per_second
    lines = [
        f"- bare `trafilatura.extract`, one core: {baseline.pages} pages in {baseline.best_seconds:.2f} s "
        f"(best of {args.runs}) = **{baseline.pages_per_second:.1f} pages/s**",
        f"- `rasid crawl --snapshot --size {args.size}`: {fetched} article pages "
        f"({run.summary.articles_extracted} articles, {run.summary.articles_stored} new, {run.summary.hits} hits, "
        f"{run.summary.skipped} skipped, {run.summary.errors} errors) in {seconds:.2f} s of run time "
        f"= **{crawl_rate:.1f} pages/s**; {wall:.1f} s wall for the whole command "
        f"({fetched / wall:.1f} pages/s, with interpreter start-up and building the snapshot)",
        f"- ratio crawl / bare extraction: **{ratio:.2f}**",
    ]
    print("\n".join(lines))
    if args.write:
        _append(lines)
    return 0


def _append(lines: list[str]) -> None:
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    cpu = next(
        (line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
         if line.startswith("model name")),
        platform.processor() or "unknown CPU",
    ) if Path("/proc/cpuinfo").exists() else platform.processor()  # fmt: skip
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    header = (
        ""
        if RESULTS.exists()
        else "# Crawl pipeline throughput\n\nWritten by `python -m bench.pipeline --write`.\n"
    )
    block = (
        f"\n## {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, commit {commit}\n\n"
        f"`python -m bench.pipeline --write` on {cpu}, {os.cpu_count()} CPUs, Python {platform.python_version()}\n\n"
        + "\n".join(lines)
        + "\n"
    )
    with RESULTS.open("a", encoding="utf-8") as out:
        out.write(header + block)


if __name__ == "__main__":
    raise SystemExit(main())
