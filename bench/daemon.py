"""The daemon over many runs: ``python -m bench.daemon [--runs 50] [--interval 1s]``.

Starts a tiny snapshot (``--size``, one outlet) and ``rasid daemon`` against it with a short interval,
and reads the daemon's own memory and CPU from ``/proc`` (its crawl children are separate processes):
(1) the daemon's RSS after the first finished crawl and after each later one, up to ``--runs`` crawls;
(2) its own CPU seconds per crawl (starting the child, recording the run, relaying its log lines);
(3) after a restart with a one-hour interval, its CPU while no crawl runs (the heartbeat only).
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

if TYPE_CHECKING:
    from storage.repository import RunRecord

ROOT = Path(__file__).resolve().parents[1]
TICKS = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


def _rss_mib(pid: int) -> float:
    pages = int(Path(f"/proc/{pid}/statm").read_text().split()[1])
    return pages * PAGE / 2**20


def _cpu_seconds(pid: int) -> float:
    """The process's own user + system CPU (children not included)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def finished_crawl_runs(db: str) -> list[RunRecord]:
    """The daemon's crawl runs that ended (not running, not skipped), newest first."""
    from storage.db import make_engine
    from storage.repository import Repository

    engine = make_engine(db)
    try:
        runs = Repository(engine).runs(limit=1000, scheduled_only=True)
    except Exception:  # noqa: BLE001 - the schema is not there in the first second
        return []
    finally:
        engine.dispose()
    return [r for r in runs if r.job == "crawl" and r.outcome not in ("running", "skipped")]


def _finished_crawls(db: str) -> int:
    return len(finished_crawl_runs(db))


def start_daemon(
    db: str, sources: Path, url: str | None, interval: str, log: Path, env: Mapping[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """``rasid daemon`` crawling every ``interval`` without delays (on the snapshot at ``url``, if given),
    its stderr appended to ``log``; ``env`` adds settings."""
    environment = {
        **os.environ,
        "RASID_SCHEDULE__CRAWL_INTERVAL": interval,
        "RASID_SCHEDULE__HEARTBEAT": "10s",
        "RASID_CRAWL__DOWNLOAD_DELAY": "0",
        "RASID_CRAWL__AUTOTHROTTLE": "false",
        **(env or {}),
    }
    environment.pop("RASID_CONFIG", None)
    command = [sys.executable, "-m", "rasid.cli", "daemon", *(["--snapshot-url", url] if url else []),
               "--sources", str(sources), "--db", db]  # fmt: skip
    return subprocess.Popen(
        command, cwd=ROOT, env=environment, stdout=subprocess.DEVNULL, stderr=log.open("ab")
    )


def main(argv: list[str] | None = None) -> int:
    from config.settings import DEFAULT_SHARED_DATA
    from snapshot.replay import SNAPSHOT_SEED, ReplayProcess

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=50, help="finished crawls to watch (default 50)")
    parser.add_argument("--interval", default="1s", help="crawl_interval during the runs (default 1s)")
    parser.add_argument("--size", type=int, default=12, help="snapshot articles (default 12)")
    parser.add_argument("--idle", type=float, default=60.0, help="seconds of idle CPU measured (default 60)")
    args = parser.parse_args(argv)
    with (
        tempfile.TemporaryDirectory(prefix="bench-daemon-") as tmp,
        ReplayProcess(DEFAULT_SHARED_DATA, size=args.size, seed=SNAPSHOT_SEED, port=0) as replay,
    ):
        data = yaml.safe_load(replay.sources_file.read_text(encoding="utf-8"))
        sources = Path(tmp) / "sources.yaml"
        chosen = [s for s in data["sources"] if s["name"] == "alarabiya"]
        sources.write_text(yaml.safe_dump({"sources": chosen}, allow_unicode=True), encoding="utf-8")
        db = f"sqlite:///{Path(tmp) / 'rasid.db'}"
        log = Path(tmp) / "daemon.log"

        daemon = start_daemon(db, sources, replay.url, args.interval, log)
        rss: list[float] = []
        cpu: list[float] = []
        started = time.monotonic()
        while len(rss) < args.runs:
            if daemon.poll() is not None:
                sys.stderr.write(log.read_text(errors="replace")[-3000:])
                return 1
            done = _finished_crawls(db)
            while len(rss) < min(done, args.runs):
                rss.append(_rss_mib(daemon.pid))
                cpu.append(_cpu_seconds(daemon.pid))
            time.sleep(0.1)
        wall = time.monotonic() - started
        daemon.send_signal(signal.SIGTERM)
        daemon.wait(timeout=120)

        # Idle: a one-hour interval, after the run that a changed interval starts at once.
        idle = start_daemon(db, sources, replay.url, "1h", log)
        while _finished_crawls(db) < args.runs + 1:
            time.sleep(0.2)
        time.sleep(2)
        before = _cpu_seconds(idle.pid)
        time.sleep(args.idle)
        idle_cpu = _cpu_seconds(idle.pid) - before
        idle_rss = _rss_mib(idle.pid)
        idle.send_signal(signal.SIGTERM)
        idle.wait(timeout=120)

    first, peak, last = rss[0], max(rss), rss[-1]
    per_run = (cpu[-1] - cpu[0]) / max(len(cpu) - 1, 1)
    marks = ", ".join(f"{rss[i]:.1f}" for i in (0, 9, 19, 29, 39, 49) if i < len(rss))
    lines = (
        f"# python -m bench.daemon --runs {args.runs} --interval {args.interval} --size {args.size}",
        f"{args.runs} finished crawls in {wall:.0f} s ({wall / args.runs:.1f} s each, start-up included)",
        f"daemon RSS after crawl 1: {first:.1f} MiB; after crawl {args.runs}: {last:.1f} MiB; "
        f"peak {peak:.1f} MiB",
        f"  growth over crawl 1: last {100 * (last / first - 1):+.1f} %, "
        f"peak {100 * (peak / first - 1):+.1f} %",
        f"  RSS (MiB) after crawls 1, 10, 20, 30, 40, 50: {marks}",
        f"daemon's own CPU per crawl (start the child, record the run, relay its log): "
        f"{per_run * 1000:.0f} ms",
        f"daemon's own CPU while idle: {idle_cpu:.2f} s over {args.idle:.0f} s = "
        f"{100 * idle_cpu / args.idle:.2f} % of one core (RSS {idle_rss:.1f} MiB)",
    )
    print("\n".join(lines))
    return 0 if last <= first * 1.10 and peak <= first * 1.10 else 1


if __name__ == "__main__":
    raise SystemExit(main())
