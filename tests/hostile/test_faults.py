"""Faults injected into real runs: a full disk, a database locked mid-crawl, PostgreSQL restarted mid-crawl,
an SMTP server that never answers, broken configuration files, a daemon killed with SIGKILL, a sources file
edited under a running daemon.

Each test runs the real CLI (or daemon) as a subprocess and asserts what every hostile case asserts: no
traceback, one line naming the problem, the run goes on or ends cleanly, the database is sound, and once
the fault is gone each article and each hit is stored exactly once.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from snapshot.replay import SiteServer
from storage.repository import ORPHANED
from tests.crawler.conftest import ROOT
from tests.hostile.faults import (
    OTHERS,
    FaultSite,
    cli_env,
    fault_site,
    integrity,
    request_log,
    run,
    stored,
    user_lines,
)
from tests.rasid.daemons import Daemon
from tests.rasid.digest_fixtures import labelled_hits, parts, run_cli, smtp_server, store_hits, write_config


@pytest.fixture
def site(shared_data: Path) -> Iterator[tuple[SiteServer, FaultSite]]:
    """The fault outlet, served for one test."""
    with SiteServer({}) as server:
        built = fault_site(shared_data, server.url)
        server.set_routes(built.routes)
        yield server, built


def _namespaces() -> str | None:
    if shutil.which("unshare") is None:
        return "unshare(1) not installed"
    probe = subprocess.run(["unshare", "-rm", "true"], capture_output=True, text=True)
    return None if probe.returncode == 0 else f"no user and mount namespaces here: {probe.stderr.strip()}"


# ------------------------------------------------------------------------------------------ disk full


#: Bytes left free on the 2 MB file system once the database exists: enough to start a run, not to store.
DISK_LEFT = 110 * 1024


def test_a_full_disk_costs_the_batch_in_one_line_and_the_next_run_stores_each_article_once(
    site, tmp_path: Path
) -> None:
    reason = _namespaces()
    if reason:
        pytest.skip(reason)
    server, built = site
    sources = tmp_path / "sources.yaml"
    sources.write_text(built.sources, encoding="utf-8")
    disk, out = tmp_path / "disk", tmp_path / "out"
    disk.mkdir()
    out.mkdir()
    db = f"sqlite:///{disk}/rasid.db"
    py = f"'{sys.executable}' -m rasid.cli"
    # In a mount namespace of its own: a 2 MB tmpfs holding the database, filled but for DISK_LEFT bytes.
    script = f"""
mount -t tmpfs -o size=2m tmpfs '{disk}' || exit 90
{py} db upgrade --db '{db}' > /dev/null || exit 91
'{sys.executable}' -c "import shutil; n = shutil.disk_usage('{disk}').free - {DISK_LEFT}; open('{disk}/ballast', 'wb').write(bytes(n))"
{py} crawl --sources '{sources}' --db '{db}' > '{out}/full.out' 2> '{out}/full.err'; echo $? > '{out}/full.rc'
'{sys.executable}' -c "import sqlite3; print(sqlite3.connect('{disk}/rasid.db').execute('PRAGMA integrity_check').fetchone()[0])" > '{out}/full.check'
rm '{disk}/ballast'
{py} crawl --sources '{sources}' --db '{db}' > '{out}/again.out' 2> '{out}/again.err'; echo $? > '{out}/again.rc'
'{sys.executable}' -c "import sqlite3; sqlite3.connect('{disk}/rasid.db').backup(sqlite3.connect('{out}/rasid.db'))"
"""
    done = subprocess.run(["unshare", "-rm", "sh", "-c", script], cwd=ROOT, env=cli_env(), capture_output=True,
                          text=True, timeout=300)  # fmt: skip
    assert done.returncode == 0, (done.returncode, done.stderr[-3000:])
    full_err = (out / "full.err").read_text(encoding="utf-8")
    assert "Traceback" not in full_err
    said = [line for line in user_lines(full_err) if "the disk is full" in line]
    assert len(said) == 1 and "batch of 20 pages not stored" in said[0], full_err[-3000:]
    assert (out / "full.rc").read_text().strip() == "0"  # the run went on to its end and recorded itself
    assert (out / "full.check").read_text().strip() == "ok"
    again_err = (out / "again.err").read_text(encoding="utf-8")
    assert (out / "again.rc").read_text().strip() == "0", again_err[-3000:]
    assert "Traceback" not in again_err
    assert integrity(out / "rasid.db") == "ok"
    with sqlite3.connect(out / "rasid.db") as conn:
        runs = conn.execute("SELECT articles_stored, errors FROM crawl_runs ORDER BY id").fetchall()
    assert runs == [(0, 1), (len(built.titles), 0)]
    titles, hits = stored(out / "rasid.db")
    assert sorted(titles) == sorted(built.titles)
    assert sorted(hits) == sorted(built.hit_titles)


# ---------------------------------------------------------------------------------- locked mid-crawl


def test_a_database_locked_by_another_writer_mid_crawl_is_one_line_and_the_next_run_stores_each_once(
    shared_data: Path, tmp_path: Path
) -> None:
    with SiteServer({}) as server:
        built = fault_site(shared_data, server.url, hold_open=True)  # a dripping page keeps the crawl going
        server.set_routes(built.routes)
        sources = tmp_path / "sources.yaml"
        sources.write_text(built.sources, encoding="utf-8")
        db_file = tmp_path / "rasid.db"
        db = f"sqlite:///{db_file}"
        env = {"RASID_DATABASE_BUSY_TIMEOUT": "0.5", "RASID_CRAWL__DOWNLOAD_TIMEOUT": "3",
               "RASID_CRAWL__RETRY_TIMES": "0"}  # fmt: skip
        crawl = subprocess.Popen(
            [sys.executable, "-m", "rasid.cli", "crawl", "--sources", str(sources), "--db", db],
            cwd=ROOT, env=cli_env(**env), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not _run_started(db_file):
            time.sleep(0.05)
        holder = sqlite3.connect(db_file, timeout=30, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")  # another writer: readers go on, no other write gets in
        try:
            stdout, stderr = crawl.communicate(timeout=120)
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        assert "Traceback" not in stderr
        # The batch's line, then the command's own: the run's end could not be recorded either.
        lines = user_lines(stderr)
        assert crawl.returncode == 2, stderr[-3000:]
        assert lines[-1] == f"error: {db}: locked by another process (gave up waiting)"
        [batch] = [line for line in lines if "not stored" in line]
        assert "batch of 20 pages not stored (run 1)" in batch and "locked by another process" in batch
        assert integrity(db_file) == "ok"
        assert stored(db_file) == ([], [])  # nothing half-written
        again = run("crawl", "--sources", str(sources), "--db", db, **env)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "Traceback" not in again.stderr
    assert integrity(db_file) == "ok"
    titles, hits = stored(db_file)
    assert sorted(titles) == sorted(built.titles)
    assert sorted(hits) == sorted(built.hit_titles)


def _run_started(db_file: Path) -> bool:
    try:
        with sqlite3.connect(f"file:{db_file}?mode=ro", uri=True, timeout=1) as conn:
            return bool(conn.execute("SELECT count(*) FROM crawl_runs").fetchone()[0])
    except sqlite3.OperationalError:
        return False


# ---------------------------------------------------------------------------------------- SMTP mute


class MuteServer:
    """A TCP server on 127.0.0.1 that accepts connections and never says a word (an SMTP server hung)."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = int(self.sock.getsockname()[1])
        self.held: list[socket.socket] = []
        self.thread = threading.Thread(target=self._accept, daemon=True)

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.held.append(conn)

    def __enter__(self) -> MuteServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.sock.close()
        for conn in self.held:
            conn.close()


def test_an_smtp_server_that_never_answers_times_out_in_one_line_and_the_next_send_carries_each_hit_once(
    database_url: str, shared_data: Path, tmp_path: Path
) -> None:
    hits = store_hits(database_url, labelled_hits(shared_data, 3), datetime.now(UTC))
    with MuteServer() as mute:
        config = write_config(tmp_path / "mute.toml", database_url, mute.port, smtp_timeout=1, retry_times=1,
                              retry_backoff=0.1)  # fmt: skip
        started = time.monotonic()
        hung = run_cli(config, "digest", "send")
        took = time.monotonic() - started
    assert "Traceback" not in hung.stderr
    assert hung.returncode == 1, hung.stderr
    [line] = [line for line in hung.stderr.splitlines() if line.startswith("error:")]
    assert f"127.0.0.1:{mute.port}" in line and "timed out" in line, line
    assert took < 30, f"{took:.0f} s: the timeout did not hold"
    with smtp_server() as (inbox, port):
        config = write_config(tmp_path / "up.toml", database_url, port)
        assert run_cli(config, "digest", "send").returncode == 0
        assert run_cli(config, "digest", "send").returncode == 0
    [message] = inbox.messages
    text, _ = parts(message)
    assert all(text.count(hit.url) == 1 for hit in hits)


# ---------------------------------------------------------------------------------- broken config files

#: A valid sources file, for the cases where another file is the broken one.
GOOD_SOURCES = "sources:\n  - {name: x, url: 'http://127.0.0.1:9/', feeds: ['http://127.0.0.1:9/feed.xml']}\n"
#: (file name, its broken text, the expected line after "error: FILE") per case; ``{file}`` is its path.
BROKEN_CONFIGS = {
    "toml-syntax-error": ("rasid.toml", "[crawl\ndownload_timeout = 3\n",
                          "{file}: Expected ']' at the end of a table declaration (at line 1, column 7)"),
    "toml-table-twice": ("rasid.toml", "[crawl]\nretry_times = 1\n[crawl]\nretry_times = 2\n",
                         "{file}: Cannot declare ('crawl',) twice (at line 3, column 7)"),
    # (keys the tests' environment does not set: RASID_* variables override the file)
    "toml-bad-value": ("rasid.toml", "timezone = 'UTC'\n[crawl]\nmax_redirects = 'many'\n",
                       "{file}:3: crawl.max_redirects: Input should be a valid integer, unable to parse string as "
                       "an integer"),
    "toml-value-out-of-range": ("rasid.toml", "[crawl]\n\nconcurrent_requests = 0\n",
                                "{file}:3: crawl.concurrent_requests: Input should be greater than or equal to 1"),
    "sources-yaml-error": ("sources.yaml", "sources:\n  - name: x\n    feeds: [http://a.example/f.xml\n",
                           "{file}:4: invalid YAML: expected ',' or ']', but got '<stream end>'"),
    "sources-unknown-key": ("sources.yaml", "sources:\n  - name: x\n    url: http://a.example/\n    feedz: []\n",
                            "{file}:2: source 'x': feedz: Extra inputs are not permitted"),
    "sources-bad-value": ("sources.yaml", "sources:\n  - name: x\n    url: not a url\n",
                          "{file}:2: source 'x': url: Input should be a valid URL, relative URL without a base"),
    "keywords-yaml-error": ("keywords.yaml", "russia:\n  terms: [روسيا\n", "{file}:3: invalid YAML: expected ',' or ']', but got '<stream end>'"),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(BROKEN_CONFIGS))
def test_a_broken_configuration_file_is_one_line_naming_file_line_and_key(tmp_path: Path, case: str) -> None:
    name, text, expected = BROKEN_CONFIGS[case]
    broken = tmp_path / name
    broken.write_text(text, encoding="utf-8")
    sources = broken if name == "sources.yaml" else tmp_path / "good-sources.yaml"
    if sources != broken:
        sources.write_text(GOOD_SOURCES, encoding="utf-8")
    args = ["crawl", "--sources", str(sources), "--db", f"sqlite:///{tmp_path / 'rasid.db'}"]
    if name == "rasid.toml":
        args = ["--config", str(broken), *args]
    env = {"RASID_KEYWORDS_FILE": str(broken)} if name == "keywords.yaml" else {}
    done = run(*args, **env)
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert "Traceback" not in done.stderr
    assert done.returncode == 2, done.stderr[-2000:]
    assert lines == ["error: " + expected.format(file=broken)], lines
    assert not (tmp_path / "rasid.db").exists()  # nothing was started


# ------------------------------------------------------------------------------ PostgreSQL restarted


class OwnPostgres:
    """A PostgreSQL server of the test's own (initdb + pg_ctl in a temporary folder), so restarting it never
    touches the machine's service. Run as the ``postgres`` user when the tests run as root (initdb refuses root).
    """

    def __init__(self, bin_dir: Path) -> None:
        self.bin = bin_dir
        self.folder = Path(tempfile.mkdtemp(prefix="rasid-pg-"))
        self.data = self.folder / "data"
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = int(probe.getsockname()[1])
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/rasid"

    def _as_owner(self, *command: str) -> subprocess.CompletedProcess[str]:
        prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        return subprocess.run([*prefix, *command], capture_output=True, text=True, timeout=120, check=True)

    def pg_ctl(self, action: str) -> None:
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._as_owner(str(self.bin / "pg_ctl"), "-D", str(self.data), "-o", options, "-l",
                       str(self.folder / "log"), "-m", "fast", "-w", action)  # fmt: skip

    def __enter__(self) -> OwnPostgres:
        if os.geteuid() == 0:
            shutil.chown(self.folder, "postgres")
        self._as_owner(
            str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres", "-A", "trust", "--no-sync"
        )
        self.pg_ctl("start")
        import psycopg

        with psycopg.connect(host="127.0.0.1", port=self.port, user="postgres", dbname="postgres",
                             autocommit=True) as conn:  # fmt: skip
            conn.execute("CREATE DATABASE rasid")
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self.pg_ctl("stop")
        except subprocess.CalledProcessError:
            pass
        shutil.rmtree(self.folder, ignore_errors=True)

    def amcheck(self) -> subprocess.CompletedProcess[str]:
        """pg_amcheck over every table and index: PostgreSQL's counterpart of PRAGMA integrity_check."""
        return subprocess.run(
            [str(self.bin / "pg_amcheck"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres",
             "--install-missing", "--heapallindexed", "rasid"],
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip

    def query(self, sql: str) -> list[tuple]:
        import psycopg

        with psycopg.connect(host="127.0.0.1", port=self.port, user="postgres", dbname="rasid") as conn:
            return conn.execute(sql).fetchall()


def _pg_bin() -> Path | None:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))
    return found[-1].parent if found else None


@pytest.mark.slow
@pytest.mark.parametrize("fault", ["restarted", "down-until-the-crawl-ends"])
def test_postgresql_restarted_or_down_mid_crawl_loses_and_doubles_nothing(
    shared_data: Path, tmp_path: Path, fault: str
) -> None:
    bin_dir = _pg_bin()
    if bin_dir is None or shutil.which("runuser") is None:
        pytest.skip("no PostgreSQL server binaries (pg_ctl) under /usr/lib/postgresql/*/bin")
    with OwnPostgres(bin_dir) as pg, SiteServer({}) as server, request_log() as requests:
        built = fault_site(shared_data, server.url, hold_open=True)
        server.set_routes(built.routes)
        sources = tmp_path / "sources.yaml"
        sources.write_text(built.sources, encoding="utf-8")
        env = {"RASID_CRAWL__DOWNLOAD_TIMEOUT": "6", "RASID_CRAWL__RETRY_TIMES": "0"}
        crawl = subprocess.Popen(
            [sys.executable, "-m", "rasid.cli", "crawl", "--sources", str(sources), "--db", pg.url],
            cwd=ROOT, env=cli_env(**env), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        wanted = {path for path in built.routes if path.startswith("/faulty/2026/")}
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not wanted <= set(requests.paths):
            time.sleep(0.1)
        # every connection the crawl holds is cut: its pages are fetched, its batch not yet written
        pg.pg_ctl("restart" if fault == "restarted" else "stop")
        assert crawl.poll() is None, "the crawl ended before the fault"
        stdout, stderr = crawl.communicate(timeout=180)
        if fault != "restarted":
            pg.pg_ctl("start")
        first = pg.query("SELECT status, articles_stored FROM crawl_runs")
        again = run("crawl", "--sources", str(sources), "--db", pg.url, **env)
        assert again.returncode == 0, again.stderr[-3000:]
        checked = pg.amcheck()
        assert checked.returncode == 0, checked.stdout + checked.stderr
        runs = [status for (status,) in pg.query("SELECT status FROM crawl_runs ORDER BY id")]
        titles = [t for (t,) in pg.query("SELECT title FROM articles")]
        hits = [t for (t,) in pg.query(
            "SELECT a.title FROM articles a JOIN verdicts v ON v.article_id = a.id WHERE v.is_current AND v.is_hit"
        )]  # fmt: skip
    assert "Traceback" not in stderr
    if fault == "restarted":  # the pool checks each connection before use: the restart costs nothing
        assert crawl.returncode == 0, stderr[-3000:]
        assert first == [("ok", len(built.titles))]
    else:  # the batch and the run's end are lost, each said in one line; the pages come back next run
        lines = user_lines(stderr)
        assert crawl.returncode == 2, stderr[-3000:]
        [batch] = [line for line in lines if "not stored" in line]
        assert "batch of 20 pages not stored (run 1)" in batch and "cannot connect" in batch, batch
        assert lines[-1].startswith(f"error: {pg.url}: cannot connect"), lines[-1]
        assert first == [("running", 0)]
        assert runs == [ORPHANED, "ok"]  # the next run saw the first one's process gone
    assert sorted(titles) == sorted(built.titles)
    assert sorted(hits) == sorted(built.hit_titles)


# ------------------------------------------------------------------------------------------- the daemon


def _start_daemon(tmp: Path, db: str, sources: Path, **schedule: str) -> Daemon:
    """``rasid daemon`` on the fault outlet (not a snapshot), its stderr in a file."""
    env = cli_env(RASID_SCHEDULE__HEARTBEAT="1s", RASID_DIGEST__SMTP_PORT="1", RASID_CRAWL__DOWNLOAD_TIMEOUT="3",
                  RASID_CRAWL__RETRY_TIMES="0")  # fmt: skip
    env.update({f"RASID_SCHEDULE__{key.upper()}": value for key, value in schedule.items()})
    log = tmp / f"daemon-{time.monotonic_ns()}.log"
    with log.open("wb") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "rasid.cli", "daemon", "--sources", str(sources), "--db", db],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=stderr,
        )  # fmt: skip
    return Daemon(process, log, db)


@pytest.mark.slow
def test_a_daemon_killed_with_its_crawl_is_taken_over_and_the_next_run_stores_each_article_once(
    shared_data: Path, tmp_path: Path, daemons: list[Daemon]
) -> None:
    db_file = tmp_path / "rasid.db"
    with SiteServer({}) as server:
        built = fault_site(shared_data, server.url, hold_open=True)
        server.set_routes(built.routes)
        sources = tmp_path / "sources.yaml"
        sources.write_text(built.sources, encoding="utf-8")
        first = _start_daemon(
            tmp_path, f"sqlite:///{db_file}", sources, crawl_interval="5s", shutdown_grace="1s"
        )
        daemons.append(first)
        first.wait_for("a running crawl child", first.crawl_children)
        children = first.children()  # the crawl and the spare
        for pid in (first.process.pid, *children):  # as a power cut would: no handler, no cleanup
            os.kill(pid, signal.SIGKILL)
        first.process.wait(timeout=30)
        second = _start_daemon(
            tmp_path, f"sqlite:///{db_file}", sources, crawl_interval="5s", shutdown_grace="1s"
        )
        daemons.append(second)
        second.wait_for("a crawl that stored the articles", lambda: [
            r for r in second.runs() if r.outcome == "ok" and r.summary.articles_stored])  # fmt: skip
        code, _ = second.stop()
    assert code == 0
    log = second.stderr()
    assert "Traceback" not in first.stderr() + log
    said = [line for line in log.splitlines() if "left running by a previous daemon" in line]
    assert len(said) == 1 and "1 runs" in said[0], log[-3000:]
    assert second.runs()[0].status == "failed: the daemon stopped before the run ended"
    assert integrity(db_file) == "ok"
    titles, hits = stored(db_file)
    assert sorted(titles) == sorted(built.titles)
    assert sorted(hits) == sorted(built.hit_titles)


@pytest.mark.slow
def test_a_sources_file_edited_under_a_running_daemon_is_used_only_once_valid_and_signalled(
    shared_data: Path, tmp_path: Path, daemons: list[Daemon]
) -> None:
    db_file = tmp_path / "rasid.db"
    with SiteServer({}) as server:
        built = fault_site(shared_data, server.url)
        more = fault_site(shared_data, server.url, name="newcomer", hits=0, others=slice(OTHERS, OTHERS + 2))
        server.set_routes({**built.routes, **more.routes})
        sources = tmp_path / "sources.yaml"
        sources.write_text(built.sources, encoding="utf-8")
        daemon = _start_daemon(
            tmp_path, f"sqlite:///{db_file}", sources, crawl_interval="3s", shutdown_grace="1s"
        )
        daemons.append(daemon)
        daemon.wait_for("the first crawl", lambda: [r for r in daemon.runs() if r.outcome == "ok"])
        # Half-written, then gone: without SIGHUP the daemon keeps the copy it validated, and says nothing.
        sources.write_text("sources:\n  - name: faulty\n    url: [half-writ", encoding="utf-8")
        edited = len(daemon.runs())
        daemon.wait_for("a crawl after the edit", lambda: [
            r for r in daemon.runs()[edited:] if r.outcome == "ok"])  # fmt: skip
        sources.unlink()
        gone = len(daemon.runs())
        daemon.wait_for("a crawl after the removal", lambda: [
            r for r in daemon.runs()[gone:] if r.outcome == "ok"])  # fmt: skip
        # A valid file and SIGHUP: the next crawl has the new source.
        sources.write_text(built.sources + more.sources.removeprefix("sources:\n"), encoding="utf-8")
        daemon.process.send_signal(signal.SIGHUP)
        daemon.wait_for("a crawl of the new source", lambda: [
            r for r in daemon.runs() if r.outcome == "ok" and "newcomer" in r.sources])  # fmt: skip
        log, runs = daemon.stderr(), daemon.runs()  # before the stop, which may end a crawl under way
        code, _ = daemon.stop()
    assert code == 0
    assert "Traceback" not in daemon.stderr()
    worries = [line for line in log.splitlines() if " WARNING " in line or " ERROR " in line]
    assert [line for line in worries if "the previous run was still going" not in line] == []
    assert len([line for line in log.splitlines() if "reloaded" in line and str(sources) in line]) == 1
    assert all(r.outcome in {"ok", "skipped"} for r in runs)
    assert integrity(db_file) == "ok"
    titles, hits = stored(db_file)
    assert sorted(titles) == sorted(built.titles | more.titles)
    assert sorted(hits) == sorted(built.hit_titles)
