"""Scale (issue 12): the whole crawl, peers, a re-crawl and memory on the scaled snapshot, in one run.

``python -m bench.scale [--sizes 2000,10000]`` (also ``python -m bench scale``) serves the scaled snapshot
(``snapshot.scaled``: real article texts in real outlets' page chrome, one page in ten naming Russia) and,
in one go:

1. the page-size distribution of the scaled pages against the real saved pages they are dressed in;
2. the baseline: bare single-core ``trafilatura.extract(page, with_metadata=True)`` on the same pages;
3. ``rasid crawl`` (the real CLI, a child process) of the first size into a fresh SQLite file: pages/s over
   the run's own duration and over the command's wall time, the ratio to the baseline, the process
   tree's peak RSS (sampled with psutil every 0.1 s, worker processes included);
4. the same crawl again on the unchanged snapshot and database: its wall time as a share of the first;
   then as the monitor runs it, ``rasid daemon`` crawling the same database every ``--daemon-interval``:
   each scheduled re-crawl's run time (from the job firing to the run's end, the crawl child included),
   the first one's child started with the daemon, the later ones' started ahead (the spare);
5. peers on the same snapshot: trafilatura's own feed crawl (``trafilatura -i FEEDS --feed``) and
   news-please's RSS crawler, each with its wall time, the article pages the server answered and the
   articles it stored (peers come from the optional ``[bench]`` extra and are skipped when missing);
6. ``rasid crawl`` of each further size into a fresh database: peak RSS against the first size's.

Politeness is off on every side (all outlets share one host here): rasid gets
``RASID_CRAWL__DOWNLOAD_DELAY=0``, ``RASID_CRAWL__AUTOTHROTTLE=false`` and 16 requests per domain as
``rasid crawl --snapshot`` uses, trafilatura ``SLEEP_TIME = 0``; a per-source page cap, when the crawler
has one (``crawl.max_pages_*``), is lifted so every page is crawled. The pages carry a host name
(``rasid-snapshot.localhost``) instead of 127.0.0.1 because trafilatura drops feed links to an IP address;
``/etc/hosts`` gets a line for it while the benchmark runs, removed at the end.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import yaml

from snapshot.replay import SNAPSHOT_SEED, ReplayProcess
from snapshot.scaled import SCALED_SIZES, ScaledRoutes, load_scaled, size_summary

HOST_NAME = "rasid-snapshot.localhost"
HOSTS_FILE = Path("/etc/hosts")
SAMPLE_SECONDS = 0.1
#: The baseline's pages/s is a per-page figure: every 4th page of 2,000 gives it in a quarter of the time.
BASELINE_PAGES = 500
#: The peers crawl one feed (50 pages) of every outlet, so every outlet's chrome is in their mix: news-please
#: extracts some 2 pages/s per core, and all 2,000 pages would take it most of the benchmark's ten minutes.
PEER_FEEDS = 1
CRAWL_TIMEOUT = 3600.0  # seconds; a crawl that takes longer is stopped and reported as such
ROOT = Path(__file__).resolve().parents[1]
#: Names a crawl setting capping pages per source or per run may have; such a cap is lifted here.
PAGE_CAP = re.compile(r"max_pages|pages?_(?:cap|limit|per)|(?:cap|limit)_pages")
#: Environment of every ``rasid crawl`` here: no politeness against our own one-host server.
CRAWL_ENV = {
    "RASID_CRAWL__DOWNLOAD_DELAY": "0",
    "RASID_CRAWL__AUTOTHROTTLE": "false",
    "RASID_CRAWL__ALLOW_PRIVATE_ADDRESSES": "true",
    "RASID_CRAWL__CONCURRENT_REQUESTS_PER_DOMAIN": "16",
    "COLUMNS": "120",
}


@dataclass(frozen=True, slots=True)
class Measured:
    """One child process's run: wall seconds, the process tree's peak RSS, its exit code and output."""

    wall: float
    peak_rss: int  # bytes, summed over the process and its descendants at each sample
    returncode: int
    output: str


@dataclass(frozen=True, slots=True)
class CrawlFigures:
    """A ``rasid crawl`` run, with what the repository recorded about it."""

    measured: Measured
    run_seconds: float
    pages: int
    extracted: int
    stored: int
    hits: int
    skipped: int
    errors: int
    served_pages: int  # article pages the snapshot server answered during the run

    @property
    def rate(self) -> float:
        return self.pages / self.run_seconds if self.run_seconds else 0.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default=",".join(map(str, SCALED_SIZES)),
                        help="page counts, comma-separated; the first is crawled twice and by the peers")  # fmt: skip
    parser.add_argument("--seed", type=int, default=SNAPSHOT_SEED)
    parser.add_argument("--runs", type=int, default=1, help="baseline passes; the best is quoted")
    parser.add_argument("--baseline-pages", type=int, default=BASELINE_PAGES,
                        help="pages the baseline extracts, spread evenly over the snapshot (0: all)")  # fmt: skip
    parser.add_argument("--daemon-runs", type=int, default=3, help="scheduled re-crawls measured")
    parser.add_argument("--daemon-interval", default="15s", help="the daemon's crawl interval")
    parser.add_argument("--no-peers", action="store_true", help="skip trafilatura's and news-please's crawls")
    parser.add_argument("--peer-feeds", type=int, default=PEER_FEEDS,
                        help="feeds of each outlet the peers crawl (0: all); they are slower than rasid")  # fmt: skip
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    logging.getLogger("trafilatura").setLevel(logging.CRITICAL)
    logging.getLogger("htmldate").setLevel(logging.CRITICAL)
    from config.settings import load_settings

    data_dir = load_settings().shared_data
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"scale benchmark, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, commit {_commit()}, "
          f"{os.cpu_count()} CPUs, load average at start {load}")  # fmt: skip
    print(
        f"rasid crawl environment: {' '.join(f'{k}={v}' for k, v in _crawl_env().items() if k != 'COLUMNS')}"
    )

    started = time.perf_counter()
    snapshot = load_scaled(data_dir, sizes[0], args.seed)  # cached where the server process finds it
    served = snapshot.served(f"http://{HOST_NAME}:1")
    pages = [served.page(a) for a in snapshot.articles]
    russia = sum(a.names_russia for a in snapshot.articles)
    print(f"\n## Scaled snapshot: {len(pages)} article pages in {len(snapshot.outlets)} outlets, "
          f"{russia} naming Russia ({russia / len(pages):.1%}); ready in {time.perf_counter() - started:.1f} s")  # fmt: skip
    print(_size_table(pages, [c.real_bytes for c in snapshot.chromes]))

    step = max(1, len(pages) // args.baseline_pages) if args.baseline_pages else 1
    sample = pages[::step]
    del pages
    rate, extracted = _baseline(sample, args.runs)
    print(f"\n## Baseline: bare trafilatura.extract(page, with_metadata=True), one core: **{rate:.1f} pages/s** "
          f"({len(sample)} pages, every {step} of the snapshot's, mean {sum(map(len, sample)) / len(sample) / 1024:.0f} KiB; "
          f"best of {args.runs}; text from {extracted})")  # fmt: skip
    del sample

    with _host_name(HOST_NAME) as host, tempfile.TemporaryDirectory(prefix="rasid-scale-") as tmp:
        work = Path(tmp)
        with ReplayProcess(data_dir, size=sizes[0], seed=args.seed, scaled=True, host_name=host) as replay:
            first = _rasid_crawl(replay, work / "first.db")
            print(f"\n## rasid crawl, {sizes[0]} pages, fresh SQLite database")
            print(_crawl_line(first))
            print(f"- ratio to bare extraction: **{first.rate / rate:.2f}** (target >= 2.5)")
            again = _rasid_crawl(replay, work / "first.db")
            print("\n## the same crawl again, snapshot and database unchanged")
            print(_crawl_line(again))
            share = again.measured.wall / first.measured.wall
            print(f"- wall time {share:.1%} of the first crawl's ({again.run_seconds / first.run_seconds:.1%} "
                  f"of its run time); article pages fetched again: {again.served_pages} (target <= 5 %)")  # fmt: skip
            before = _served_pages(replay.url)
            scheduled = _daemon_recrawls(replay, work / "first.db", args.daemon_runs, args.daemon_interval)
            print(
                f"\n## the same crawl again, scheduled: `rasid daemon`, a crawl every {args.daemon_interval}"
            )
            for number, seconds in enumerate(scheduled, 1):
                how = "its child started with the daemon" if number == 1 else "the spare child started ahead"
                print(f"- scheduled re-crawl {number}: {seconds:.2f} s = **{seconds / first.measured.wall:.1%}** "
                      f"of the first crawl's wall time ({how})")  # fmt: skip
            print(f"- article pages fetched again: {_served_pages(replay.url) - before}")
            if args.no_peers:
                print("\n## peers: skipped (--no-peers)")
            else:
                print("\n## peers on the same snapshot")
                for line in _peers(replay, work, host is not None, args.peer_feeds):
                    print(line)
        peaks = {sizes[0]: first.measured.peak_rss}
        for size in sizes[1:]:
            load_scaled(data_dir, size, args.seed)  # built (or found) before the clock starts
            with ReplayProcess(data_dir, size=size, seed=args.seed, scaled=True, host_name=host) as replay:
                figures = _rasid_crawl(replay, work / f"size-{size}.db")
            print(f"\n## rasid crawl, {size} pages, fresh SQLite database")
            print(_crawl_line(figures))
            peaks[size] = figures.measured.peak_rss
        if len(peaks) > 1:
            base = peaks[sizes[0]]
            print("\n## peak RSS of the crawl's process tree")
            for size, peak in peaks.items():
                print(
                    f"- {size} pages: **{peak / 2**20:.0f} MB** ({peak / base - 1:+.1%} against {sizes[0]})"
                )
            largest = peaks[max(peaks)]
            verdict = (f"{'met' if largest <= 500 * 2**20 else 'NOT met'} for <= 500 MB, "
                       f"{'met' if largest <= 1.10 * base else 'NOT met'} for within 10 %")  # fmt: skip
            print(f"  (targets: <= 500 MB at 10,000 pages, within 10 % of the 2,000-page crawl: {verdict})")
    print(f"\nload average at the end {' '.join(f'{x:.2f}' for x in os.getloadavg())}; "
          f"{time.perf_counter() - started:.0f} s in all")  # fmt: skip
    return 0


# --------------------------------------------------------------------------------------------- measuring


def _size_table(pages: list[bytes], real: list[int]) -> str:
    scaled, actual = size_summary([len(p) for p in pages]), size_summary(real)
    rows = ["| KiB | " + " | ".join(scaled) + " |", "|---|" + "---|" * len(scaled)]
    rows.append(f"| scaled pages ({len(pages)}) | " + " | ".join(f"{v:.1f}" for v in scaled.values()) + " |")
    rows.append(f"| real pages ({len(real)}) | " + " | ".join(f"{v:.1f}" for v in actual.values()) + " |")
    return "\n".join(rows)


def _baseline(pages: list[bytes], runs: int) -> tuple[float, int]:
    """Best pages/s of ``runs`` passes of bare ``trafilatura.extract`` with metadata, in this process."""
    import trafilatura

    best, extracted = float("inf"), 0
    for _ in range(max(1, runs)):
        started = time.perf_counter()
        extracted = sum(1 for page in pages if trafilatura.extract(page, with_metadata=True))
        best = min(best, time.perf_counter() - started)
    return len(pages) / best, extracted


def _crawl_env() -> dict[str, str]:
    """``CRAWL_ENV``, plus any per-source or per-run page cap the crawler has, lifted."""
    from config.settings import CrawlSettings

    env = dict(CRAWL_ENV)
    for name in CrawlSettings.model_fields:
        if PAGE_CAP.search(name):
            env[f"RASID_CRAWL__{name.upper()}"] = "1000000"
    return env


def _rasid_crawl(replay: ReplayProcess, db_file: Path) -> CrawlFigures:
    """``rasid crawl --sources`` of the served snapshot into ``db_file``, measured."""
    from storage.db import make_engine
    from storage.repository import Repository

    db = f"sqlite:///{db_file}"
    before = _served_pages(replay.url)
    command = [sys.executable, "-m", "rasid.cli", "crawl", "--sources", str(replay.sources_file), "--db", db]
    measured = measure(command, {**os.environ, **_crawl_env()})
    if measured.returncode != 0:
        raise SystemExit(f"rasid crawl failed (exit {measured.returncode}):\n{measured.output[-3000:]}")
    engine = make_engine(db)
    try:
        run = Repository(engine).runs(limit=1)[0]
    finally:
        engine.dispose()
    assert run.finished_at is not None
    s = run.summary
    return CrawlFigures(
        measured, (run.finished_at - run.started_at).total_seconds(), s.pages_fetched, s.articles_extracted,
        s.articles_stored, s.hits, s.skipped, s.errors, _served_pages(replay.url) - before,
    )  # fmt: skip


def _daemon_recrawls(replay: ReplayProcess, db_file: Path, runs: int, interval: str) -> list[float]:
    """``rasid daemon`` on ``db_file`` until ``runs`` scheduled crawls ended: each one's run seconds."""
    from bench.daemon import finished_crawl_runs, start_daemon

    db, log = f"sqlite:///{db_file}", db_file.with_suffix(".daemon.log")
    daemon = start_daemon(db, replay.sources_file, None, interval, log, _crawl_env())
    try:
        deadline = time.monotonic() + CRAWL_TIMEOUT
        while len(done := finished_crawl_runs(db)) < runs and daemon.poll() is None:
            if time.monotonic() > deadline:
                break
            time.sleep(0.5)
    finally:
        daemon.send_signal(signal.SIGTERM)
        daemon.wait(timeout=60)
    if len(done) < runs or any(r.outcome != "ok" for r in done):
        said = log.read_text(encoding="utf-8", errors="replace")
        raise SystemExit(f"rasid daemon did not finish {runs} crawls:\n{said[-3000:]}")
    done.sort(key=lambda r: r.started_at)
    return [(r.finished_at - r.started_at).total_seconds() for r in done if r.finished_at is not None]


def _crawl_line(f: CrawlFigures) -> str:
    return (
        f"- {f.pages} article pages ({f.served_pages} served), {f.extracted} extracted, {f.stored} stored new, "
        f"{f.hits} hits, {f.skipped} skipped, {f.errors} errors\n"
        f"- run time {f.run_seconds:.1f} s = **{f.rate:.1f} pages/s**; command wall {f.measured.wall:.1f} s "
        f"({f.pages / f.measured.wall:.1f} pages/s with start-up); peak RSS of the process tree "
        f"**{f.measured.peak_rss / 2**20:.0f} MB**"
    )


def measure(command: list[str], env: dict[str, str], timeout: float = CRAWL_TIMEOUT) -> Measured:
    """Run ``command`` to its end, sampling the RSS of it and its descendants every ``SAMPLE_SECONDS``."""
    import psutil

    with tempfile.TemporaryFile() as out:
        started = time.perf_counter()
        proc = psutil.Popen(command, env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
        peak = 0
        while True:
            try:
                returncode = proc.wait(timeout=SAMPLE_SECONDS)
                break
            except psutil.TimeoutExpired:
                peak = max(peak, _tree_rss(proc))
                if time.perf_counter() - started > timeout:
                    for process in [*proc.children(recursive=True), proc]:
                        process.kill()
                    returncode = proc.wait()
                    break
        wall = time.perf_counter() - started
        out.seek(0)
        output = out.read().decode("utf-8", "replace")
    return Measured(wall, peak, returncode, output)


def _tree_rss(proc: object) -> int:
    import psutil

    assert isinstance(proc, psutil.Process)
    total = 0
    try:
        family = [proc, *proc.children(recursive=True)]
    except psutil.Error:
        return 0
    for process in family:
        try:
            total += process.memory_info().rss
        except psutil.Error:
            pass  # it ended between the listing and the reading
    return total


def _served_pages(base_url: str) -> int:
    with urllib.request.urlopen(base_url + ScaledRoutes.COUNTS, timeout=30) as answer:
        return int(json.load(answer)["articles"])


# --------------------------------------------------------------------------------------------- peers


def _peers(replay: ReplayProcess, work: Path, named_host: bool, per_outlet: int) -> Iterator[str]:
    """Each peer crawls the first ``per_outlet`` feeds of every outlet (0: all feeds), the same for all."""
    sources = yaml.safe_load(replay.sources_file.read_text())["sources"]
    feeds = [
        f for source in sources for f in (source["feeds"][:per_outlet] if per_outlet else source["feeds"])
    ]
    yield f"(each given {len(feeds)} feeds: {'the first ' + str(per_outlet) if per_outlet else 'all'} of each outlet)"
    yield _trafilatura_peer(replay, work, feeds, named_host)
    yield _news_please_peer(replay, work, feeds)


def _peer_line(name: str, measured: Measured, served: int, stored: int, note: str = "") -> str:
    return (
        f"- {name}: {served} article pages served, {stored} articles stored, wall {measured.wall:.1f} s = "
        f"**{served / measured.wall:.1f} pages/s**, peak RSS {measured.peak_rss / 2**20:.0f} MB"
        f" (exit {measured.returncode}){note}"
    )


def _trafilatura_peer(replay: ReplayProcess, work: Path, feeds: list[str], named_host: bool) -> str:
    """``trafilatura -i FEEDS --feed --json -o DIR --parallel 2``, SSRF protection and sleeping off."""
    exe = shutil.which("trafilatura", path=str(Path(sys.executable).parent))
    if exe is None:
        return "- trafilatura feed crawl: not run (no trafilatura command next to this Python)"
    if not named_host:
        return "- trafilatura feed crawl: not run (it drops links to an IP address and no host name could be set)"
    import trafilatura

    config = (Path(trafilatura.__file__).parent / "settings.cfg").read_text(encoding="utf-8")
    config = config.replace("SSRF_PROTECTION = on", "SSRF_PROTECTION = off").replace(
        "SLEEP_TIME = 5.0", "SLEEP_TIME = 0"
    )
    (work / "trafilatura.cfg").write_text(config, encoding="utf-8")
    (work / "feeds.txt").write_text("\n".join(feeds) + "\n", encoding="utf-8")
    out = work / "trafilatura-out"
    before = _served_pages(replay.url)
    command = [exe, "-i", str(work / "feeds.txt"), "--feed", "--json", "--with-metadata", "-o", str(out), "--parallel", "2",
               "--config-file", str(work / "trafilatura.cfg")]  # fmt: skip
    measured = measure(command, dict(os.environ))
    stored = _stored_articles(out, "source")
    return _peer_line("trafilatura --feed --with-metadata (2.3.1, --parallel 2)", measured, _served_pages(replay.url) - before,
                      stored)  # fmt: skip


def _news_please_peer(replay: ReplayProcess, work: Path, feeds: list[str]) -> str:
    """news-please's ``from_urls`` on every feed's links (``bench.newsplease_peer`` says why not its CLI)."""
    try:
        from importlib.metadata import version

        release = version("news-please")
    except ImportError:
        return "- news-please: not run (not installed; `pip install -e '.[bench]'`)"
    (work / "feeds.txt").write_text("\n".join(feeds) + "\n", encoding="utf-8")
    out = work / "news-please-out"
    before = _served_pages(replay.url)
    command = [sys.executable, "-m", "bench.newsplease_peer", str(work / "feeds.txt"), str(out)]
    measured = measure(command, dict(os.environ))
    stored = _stored_articles(out, "url")
    return _peer_line(f"news-please {release} (from_urls, extraction in a process pool)", measured,
                      _served_pages(replay.url) - before, stored)  # fmt: skip


def _stored_articles(out: Path, url_key: str) -> int:
    """JSON records a peer wrote for article pages (trafilatura also keeps the outlets' home pages)."""
    count = 0
    for path in out.glob("*.json") if out.is_dir() else ():
        try:
            url = json.loads(path.read_text(encoding="utf-8")).get(url_key) or ""
        except ValueError:
            continue
        count += "/news/" in url
    return count


# --------------------------------------------------------------------------------------------- host name


@contextmanager
def _host_name(name: str) -> Iterator[str | None]:
    """``name`` resolving to 127.0.0.1 while the benchmark runs (a line in /etc/hosts, removed at the end);
    None when that is not possible, and the pages are served under 127.0.0.1."""
    if _resolves_to_loopback(name):
        yield name
        return
    line = f"127.0.0.1 {name}  # rasid bench.scale, removed when it ends\n"
    try:
        original = HOSTS_FILE.read_text(encoding="utf-8")
        with HOSTS_FILE.open("a", encoding="utf-8") as hosts:
            hosts.write(("" if original.endswith("\n") or not original else "\n") + line)
    except OSError as exc:
        print(f"(cannot add {name} to {HOSTS_FILE}: {exc.strerror}; serving under 127.0.0.1)")
        yield None
        return
    try:
        yield name if _resolves_to_loopback(name) else None
    finally:
        current = HOSTS_FILE.read_text(encoding="utf-8")
        HOSTS_FILE.write_text("".join(kept for kept in current.splitlines(keepends=True) if kept != line),
                              encoding="utf-8")  # fmt: skip


def _resolves_to_loopback(name: str) -> bool:
    try:
        return socket.gethostbyname(name) == "127.0.0.1"
    except OSError:
        return False


def _commit() -> str:
    done = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    return done.stdout.strip() or "?"


if __name__ == "__main__":
    raise SystemExit(main())
