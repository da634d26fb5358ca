"""Crawl throughput with 1 and 2 shared-frontier workers: ``python -m bench.workers [--runs 2]``.

The offline snapshot is served once by its own process (``python -m snapshot``); each configuration
crawls all of it into a fresh PostgreSQL schema, through a fresh Redis namespace:

- ``local``: one ``rasid crawl --snapshot-url`` without Redis (Scrapy's own scheduler), for reference;
- ``1 worker``: ``rasid crawl`` with ``crawl.redis_url``, seeding the queue and working it alone;
- ``2 workers``: that plus one ``rasid crawl --worker``;
- ``2 workers, 1 core each``: the same two under ``taskset -c 0`` and ``taskset -c 1``.

The rate is article pages (summed over the workers' runs) over the crawl's duration: from the first run's
start (recorded once the process has started up and seeded) to the last page's seen-URL mark in the
database, so neither interpreter start-up nor the workers' wait on an empty queue before they exit counts. The wall time of the whole command is
shown too. Needs Redis at ``RASID_BENCH_REDIS_URL`` (redis://127.0.0.1:6379/14) and PostgreSQL at
``RASID_BENCH_POSTGRES_URL`` (the tests' ``test`` database).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from datetime import UTC
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REDIS_URL = os.environ.get("RASID_BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
POSTGRES_URL = os.environ.get("RASID_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
#: (label, worker count, CPU of each worker or None)
CONFIGS = (
    ("local (no Redis)", 1, None),
    ("1 worker", 1, None),
    ("2 workers", 2, None),
    ("2 workers, 1 core each", 2, (0, 1)),
)


@dataclass(frozen=True, slots=True)
class Crawl:
    """One crawl of the snapshot: article pages, the crawl's seconds, the command's wall time, pages per run."""

    pages: int
    seconds: float
    wall: float
    split: tuple[int, ...]

    @property
    def rate(self) -> float:
        return self.pages / self.seconds

    def __str__(self) -> str:
        return f"{self.pages} pages in {self.seconds:.1f} s (wall {self.wall:.1f} s, per worker {self.split})"


def _schema() -> tuple[str, str]:
    import psycopg
    from sqlalchemy.engine import make_url

    schema = f"bench_{uuid.uuid4().hex[:10]}"
    url = make_url(POSTGRES_URL)
    with psycopg.connect(host=url.host, port=url.port or 5432, user=url.username, dbname=url.database,
                         autocommit=True) as conn:  # fmt: skip
        conn.execute(f'CREATE SCHEMA "{schema}"')
    db = url.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(hide_password=False)
    return schema, db


def _drop(schema: str) -> None:
    import psycopg
    from sqlalchemy.engine import make_url

    url = make_url(POSTGRES_URL)
    with psycopg.connect(host=url.host, port=url.port or 5432, user=url.username, dbname=url.database,
                         autocommit=True) as conn:  # fmt: skip
        conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


def _crawl_once(snapshot_url: str, workers: int, cpus: tuple[int, ...] | None, shared: bool) -> Crawl:
    from sqlalchemy import func, select

    from storage.db import make_engine
    from storage.models import SeenUrlRow
    from storage.repository import Repository

    schema, db = _schema()
    namespace = f"bench-{uuid.uuid4().hex[:8]}"
    env = {**os.environ, "COLUMNS": "120", "RASID_CRAWL__WORKER_HEARTBEAT": "2",
           "RASID_CRAWL__WORKER_IDLE_CLOSE": "1"}  # fmt: skip
    env.pop("RASID_CONFIG", None)
    if shared:
        env |= {"RASID_CRAWL__REDIS_URL": REDIS_URL, "RASID_CRAWL__REDIS_NAMESPACE": namespace}
    base = [
        sys.executable,
        "-m",
        "rasid.cli",
        "crawl",
        "--snapshot",
        "--snapshot-url",
        snapshot_url,
        "--db",
        db,
    ]
    commands = [base] + [[*base[:4], "--worker", *base[4:]] for _ in range(workers - 1)]
    if cpus is not None:
        commands = [
            ["taskset", "-c", str(cpu), *command] for cpu, command in zip(cpus, commands, strict=True)
        ]
    try:
        clock = time.perf_counter()
        processes = [subprocess.Popen(commands[0], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                                      stderr=subprocess.PIPE, text=True)]  # fmt: skip
        time.sleep(0.5)  # the seeder first, so no worker finds an empty queue and leaves
        processes += [subprocess.Popen(c, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                       text=True) for c in commands[1:]]  # fmt: skip
        for process in processes:
            _, err = process.communicate(timeout=900)
            if process.returncode != 0:
                raise RuntimeError(f"crawl exited {process.returncode}: {err[-2000:]}")
        wall = time.perf_counter() - clock
        engine = make_engine(db)
        runs = Repository(engine).runs(limit=10)
        with engine.connect() as conn:
            last = conn.execute(select(func.max(SeenUrlRow.seen_at))).scalar_one()
        engine.dispose()
    finally:
        _drop(schema)
        _forget(namespace)
    if last.tzinfo is None:
        last = last.replace(tzinfo=UTC)
    pages = sum(run.summary.pages_fetched for run in runs)
    first = min(run.started_at for run in runs)  # the crawl's start, after interpreter start-up
    seconds = (last - (first if first.tzinfo else first.replace(tzinfo=UTC))).total_seconds()
    return Crawl(pages, seconds, wall, tuple(run.summary.pages_fetched for run in runs))


def _forget(namespace: str) -> None:
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    keys = list(client.scan_iter(match=f"{namespace}:*"))
    if keys:
        client.delete(*keys)


def main(argv: list[str] | None = None) -> int:
    from snapshot.replay import SNAPSHOT_SEED, SNAPSHOT_SIZE, ReplayProcess

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=2, help="crawls per configuration; the median is quoted")
    parser.add_argument("--size", type=int, default=SNAPSHOT_SIZE)
    args = parser.parse_args(argv)
    if shutil.which("taskset") is None:
        print("taskset not found (util-linux): the one-core-each configuration is skipped", file=sys.stderr)
    from config.settings import load_settings

    print(f"# load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}, {os.cpu_count()} CPUs")
    with ReplayProcess(load_settings().shared_data, size=args.size, seed=SNAPSHOT_SEED) as replay:
        for label, workers, cpus in CONFIGS:
            if cpus is not None and shutil.which("taskset") is None:
                continue
            results = [
                _crawl_once(replay.url, workers, cpus, shared=label != CONFIGS[0][0])
                for _ in range(args.runs)
            ]
            rate = statistics.median(r.rate for r in results)
            print(f"{label}: median {rate:.1f} pages/s; " + "; ".join(str(r) for r in results), flush=True)
    print(f"# load average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
