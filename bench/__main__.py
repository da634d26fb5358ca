"""Run every benchmark in one go on this machine: ``python -m bench [--out FILE] [NAME ...]``.

``python -m bench scale`` runs only the named ones (the same as ``--only scale``).

Each benchmark runs in its own child process, one after the other, so they never compete for the CPU;
their output is printed and, with ``--out``, kept in one log for ``bench/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

#: In data-flow order; each is ``python -m bench.<name> <args>``.
BENCHMARKS = (
    ("extract", ()),  # baseline: bare trafilatura.extract on the snapshot pages
    ("pipeline", ()),  # the whole `rasid crawl --snapshot` against that baseline
    ("classify", ("--runs", "7")),
    ("dedup", ()),
    ("store", ()),
    ("scale", ()),  # issue 12: the scaled snapshot, peers, a re-crawl and memory at 2,000 and 10,000 pages
)


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--out", type=Path, default=None, help="also write everything printed to this file")
    parser.add_argument("--only", action="append", default=None, help="run only this benchmark (repeatable)")
    parser.add_argument("names", nargs="*", help="run only these benchmarks (as --only)")
    args = parser.parse_args()
    unknown = sorted(set(args.names) - {name for name, _ in BENCHMARKS})
    if unknown:
        parser.error(
            f"no benchmark named {', '.join(unknown)} (known: {', '.join(n for n, _ in BENCHMARKS)})"
        )
    args.only = (args.only or []) + args.names or None
    root = Path(__file__).resolve().parents[1]
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True)
    header = (
        f"# python -m bench, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, commit {commit.stdout.strip() or '?'}\n"
        f"# {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
        f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}\n"
    )
    chunks = [header]
    print(header, flush=True)
    failed = 0
    for name, extra in BENCHMARKS:
        if args.only and name not in args.only:
            continue
        command = [sys.executable, "-m", f"bench.{name}", *extra]
        started = time.perf_counter()
        result = subprocess.run(command, cwd=root, capture_output=True, text=True)
        took = time.perf_counter() - started
        block = f"## {' '.join(['python', '-m', f'bench.{name}', *extra])}  ({took:.0f} s, exit {result.returncode})\n"
        block += result.stdout + (result.stderr[-2000:] if result.returncode else "")
        chunks.append(block)
        print(block, flush=True)
        failed += result.returncode != 0
    if args.out:
        args.out.write_text("\n".join(chunks), encoding="utf-8")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
