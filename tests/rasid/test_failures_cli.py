"""Everything a user can get wrong with a database or a config file: one line, exit 2, nothing changed.

Each case runs the real CLI as a subprocess and checks stderr is exactly one ``error:`` line (no
traceback), the exit code, and that the database file is byte for byte what it was, or was never made.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from storage.db import make_engine
from storage.repository import Repository
from tests.storage.conftest import hit_verdict, outcome
from tests.storage.test_stories import WAM_TEXT

ROOT = Path(__file__).resolve().parents[2]
MISSING_DB = "no database there; run `rasid crawl` or `rasid db upgrade` to make one"
#: Every command that opens the database, with the arguments it needs besides --db.
DB_COMMANDS = {
    "hits": ("hits",),
    "stories": ("stories",),
    "export": ("export", "out.csv"),
    "reclassify": ("reclassify",),
    "db-current": ("db", "current"),
    "db-upgrade": ("db", "upgrade"),
    "crawl": ("crawl", "--source", "kuna"),
}
READ_COMMANDS = ("hits", "stories", "export", "db-current", "reclassify")
#: Commands that never open the database still refuse a malformed --db before doing anything.
ALL_COMMANDS = {**DB_COMMANDS, "explain": ("explain", "-"), "eval": ("eval",), "config": ("config",)}


def rasid(*args: str, cwd: Path | None = None, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "rasid.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        input="",
        cwd=cwd or ROOT,
        env={**os.environ, "COLUMNS": "200", "PYTHONPATH": str(ROOT), **env},
    )


def one_line(done: subprocess.CompletedProcess[str]) -> str:
    """The single error line, after checking there is nothing else on stderr and exit code 2."""
    assert "Traceback" not in done.stderr, done.stderr[-2000:]
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert done.returncode == 2, done.stderr[-2000:]
    assert len(lines) == 1 and lines[0].startswith("error: "), done.stderr
    return lines[0]


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def filled_db(tmp_path: Path) -> Path:
    """A real rasid database holding one hit, closed (its WAL checkpointed) so reads leave its bytes alone."""
    path = tmp_path / "data" / "rasid.db"
    engine = make_engine(f"sqlite:///{path}")
    repository = Repository(engine)
    repository.prepare()
    run_id = repository.start_run(["wam"])
    repository.store(
        [
            outcome(
                "https://wam.ae/ar/1", WAM_TEXT, source="wam", title="الإمارات وروسيا", verdict=hit_verdict()
            )
        ],
        run_id,
    )
    engine.dispose()
    return path


# ------------------------------------------------------------------------------------- the database


@pytest.mark.parametrize("command", sorted(DB_COMMANDS))
def test_a_file_that_is_not_a_database_is_one_line_and_stays_as_it_was(tmp_path: Path, command: str) -> None:
    path = tmp_path / "notes.db"
    path.write_text("shopping list: bread, olives\n" * 50, encoding="utf-8")
    before = digest(path)
    done = rasid(*DB_COMMANDS[command], "--db", f"sqlite:///{path}", cwd=tmp_path)
    assert one_line(done) == f"error: sqlite:///{path}: not a SQLite database (the file holds something else)"
    assert digest(path) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.db"]


@pytest.mark.parametrize("command", sorted(DB_COMMANDS))
def test_another_applications_database_is_refused_in_one_line_and_gets_no_tables(
    tmp_path: Path, command: str
) -> None:
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE foo (x)")
    conn.close()
    done = rasid(*DB_COMMANDS[command], "--db", f"sqlite:///{path}", cwd=tmp_path)
    assert one_line(done) == (
        "error: database has tables (foo...) but no rasid revision: point RASID_DATABASE_URL at an empty database"
    )
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall() == [("foo",)]
    conn.close()


@pytest.mark.parametrize("command", ["hits", "crawl", "db-upgrade", "reclassify"])
def test_unreachable_postgresql_is_one_line_at_once(command: str) -> None:
    url = "postgresql+psycopg://rasid@127.0.0.1:1/rasid"  # port 1: nothing listens, connection refused
    done = rasid(*DB_COMMANDS[command], "--db", url)
    assert one_line(done) == (
        f"error: {url}: cannot connect: connection refused (is PostgreSQL running there?)"
    )


def test_a_password_in_an_unreachable_url_is_never_printed() -> None:
    done = rasid("hits", "--db", "postgresql+psycopg://rasid:s3cret@127.0.0.1:1/rasid")
    assert "s3cret" not in done.stderr + done.stdout
    assert one_line(done).startswith(
        "error: postgresql+psycopg://rasid:***@127.0.0.1:1/rasid: cannot connect"
    )


@pytest.mark.parametrize("command", ["hits", "reclassify", "db-upgrade", "crawl"])
def test_a_database_locked_by_another_process_is_one_line(filled_db: Path, command: str) -> None:
    # Read the bytes first: closing any other descriptor of the file would drop this process's POSIX locks.
    before = digest(filled_db)
    holder = sqlite3.connect(filled_db, isolation_level=None)
    holder.execute("PRAGMA locking_mode=EXCLUSIVE")
    holder.execute("BEGIN EXCLUSIVE")  # another process holds the file: no reader, no writer gets in
    holder.execute("UPDATE crawl_runs SET status = status")  # rolled back below, never reaching the file
    try:
        done = rasid(
            *DB_COMMANDS[command], "--db", f"sqlite:///{filled_db}", RASID_DATABASE_BUSY_TIMEOUT="0.3"
        )
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert one_line(done) == f"error: sqlite:///{filled_db}: locked by another process (gave up waiting)"
    assert digest(filled_db) == before
    assert _hit_count(filled_db) == 1


@pytest.mark.parametrize("command", [("hits", "--format", "jsonl"), ("status", "--json")])
def test_reading_does_not_wait_for_a_crawl_writing_meanwhile(
    filled_db: Path, command: tuple[str, ...]
) -> None:
    writer = sqlite3.connect(filled_db, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")  # a crawl's batch being written: WAL readers still read
    writer.execute("UPDATE crawl_runs SET status = status")
    try:
        done = rasid(*command, "--db", f"sqlite:///{filled_db}", RASID_DATABASE_BUSY_TIMEOUT="0.3")
    finally:
        writer.execute("ROLLBACK")
        writer.close()
    assert done.returncode == 0, done.stderr
    if command[0] == "hits":
        [hit] = [json.loads(line) for line in done.stdout.splitlines()]  # the one stored hit, whole
        assert hit["source"] == "wam"
    else:
        assert json.loads(done.stdout)["sources"][0]["source"] == "wam"


def _hit_count(path: Path) -> int:
    with sqlite3.connect(path) as conn:
        return conn.execute("SELECT count(*) FROM verdicts WHERE is_hit").fetchone()[0]


def _read_only_mount_works() -> str | None:
    if shutil.which("unshare") is None:
        return "unshare(1) not installed"
    probe = subprocess.run(["unshare", "-rm", "true"], capture_output=True, text=True)
    return None if probe.returncode == 0 else f"no user and mount namespaces here: {probe.stderr.strip()}"


@pytest.mark.parametrize("command", ["hits", "crawl", "db-upgrade"])
def test_a_database_on_a_read_only_file_system_is_one_line(filled_db: Path, command: str) -> None:
    reason = _read_only_mount_works()
    if reason:
        pytest.skip(reason)
    folder = filled_db.parent
    before = digest(filled_db)
    args = " ".join(f"'{a}'" for a in (*DB_COMMANDS[command], "--db", f"sqlite:///{filled_db}"))
    script = (  # the folder bound read-only onto itself, in a mount namespace of this command only
        f"mount --bind '{folder}' '{folder}' && mount -o remount,bind,ro '{folder}' && "
        f"exec '{sys.executable}' -m rasid.cli {args}"
    )
    done = subprocess.run(
        ["unshare", "-rm", "sh", "-c", script],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env={**os.environ, "COLUMNS": "200"},
    )
    assert one_line(done) == (
        f"error: sqlite:///{filled_db}: on a read-only file system: rasid cannot open it for writing or its "
        "WAL index"
    )
    assert digest(filled_db) == before


def test_a_new_database_under_a_read_only_folder_is_one_line(tmp_path: Path) -> None:
    reason = _read_only_mount_works()
    if reason:
        pytest.skip(reason)
    script = (
        f"mount --bind '{tmp_path}' '{tmp_path}' && mount -o remount,bind,ro '{tmp_path}' && "
        f"exec '{sys.executable}' -m rasid.cli db upgrade --db 'sqlite:///{tmp_path}/new/rasid.db'"
    )
    done = subprocess.run(["unshare", "-rm", "sh", "-c", script], capture_output=True, text=True, timeout=120,
                          cwd=ROOT)  # fmt: skip
    assert one_line(done) == (
        f"error: sqlite:///{tmp_path}/new/rasid.db: cannot create the folder {tmp_path}/new: "
        "on a read-only file system"
    )
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("command", sorted(ALL_COMMANDS))
def test_a_path_without_a_scheme_is_one_line_saying_how_to_write_it(tmp_path: Path, command: str) -> None:
    path = tmp_path / "x.db"
    done = rasid(*ALL_COMMANDS[command], "--db", str(path), cwd=tmp_path)
    assert one_line(done) == (
        f"error: '{path}' is not a database URL (no scheme); for a SQLite file write sqlite:///{path}"
    )
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("command", sorted(ALL_COMMANDS))
def test_an_unknown_scheme_is_one_line_naming_the_known_ones(tmp_path: Path, command: str) -> None:
    done = rasid(*ALL_COMMANDS[command], "--db", "foo://bar", cwd=tmp_path)
    assert one_line(done) == (
        "error: foo://: unknown database scheme; use sqlite:///FILE or postgresql+psycopg://USER@HOST/DB"
    )
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("command", ["crawl", "db-upgrade"])
def test_a_parent_path_that_is_a_file_is_one_line(tmp_path: Path, command: str) -> None:
    blocker = tmp_path / "archive"
    blocker.write_text("not a folder", encoding="utf-8")
    done = rasid(*DB_COMMANDS[command], "--db", f"sqlite:///{blocker}/rasid.db", cwd=tmp_path)
    assert one_line(done) == (
        f"error: sqlite:///{blocker}/rasid.db: cannot create the folder {blocker}: "
        "a parent of the path is a file, not a folder"
    )
    assert blocker.read_text(encoding="utf-8") == "not a folder"


# ------------------------------------------------------------------------- reading a missing database


@pytest.mark.parametrize("command", READ_COMMANDS)
def test_reading_a_database_that_does_not_exist_says_how_to_make_one_and_creates_nothing(
    tmp_path: Path, command: str
) -> None:
    url = f"sqlite:///{tmp_path}/typo/rasid.db"
    done = rasid(*DB_COMMANDS[command], "--db", url, cwd=tmp_path)
    assert one_line(done) == f"error: {url}: {MISSING_DB}"
    assert list(tmp_path.iterdir()) == []


def test_reading_an_empty_database_says_how_to_make_one_and_adds_no_tables(tmp_path: Path) -> None:
    path = tmp_path / "empty.db"
    sqlite3.connect(path).close()  # a zero-byte file: SQLite's empty database
    done = rasid("hits", "--db", f"sqlite:///{path}", cwd=tmp_path)
    assert one_line(done) == (
        f"error: sqlite:///{path}: the database is empty; run `rasid crawl` or `rasid db upgrade` to make one"
    )
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0] == 0


def test_reading_the_snapshot_database_that_was_never_made_names_it(tmp_path: Path) -> None:
    done = rasid("hits", "--snapshot", RASID_SNAPSHOT_DATABASE_URL=f"sqlite:///{tmp_path}/snapshot.db")
    assert one_line(done) == f"error: sqlite:///{tmp_path}/snapshot.db: {MISSING_DB}"
    assert list(tmp_path.iterdir()) == []


# ------------------------------------------------------------------------------------- config files


@pytest.mark.parametrize(
    ("toml", "key"),
    [
        ("timezon = 'UTC'\n", "timezon"),
        ("[crawl]\nmax_age_dayz = 3\n", "crawl.max_age_dayz"),
        ("[digest]\nsmtp_hots = 'mail.example.org'\n", "digest.smtp_hots"),
    ],
)
@pytest.mark.parametrize("command", ["hits", "crawl", "config"])
def test_an_unknown_config_key_is_refused_naming_the_file_and_the_key(
    tmp_path: Path, filled_db: Path, toml: str, key: str, command: str
) -> None:
    config = tmp_path / "rasid.toml"
    config.write_text(toml, encoding="utf-8")
    before = digest(filled_db)
    done = rasid("--config", str(config), *ALL_COMMANDS[command], "--db", f"sqlite:///{filled_db}")
    line = toml.count("\n")  # the unknown key is on the file's last line
    assert one_line(done) == f"error: {config}:{line}: unknown key {key}"
    assert digest(filled_db) == before


# ------------------------------------------------------------------------------------------ fetching


@pytest.mark.parametrize("args", [("hits",), ("stories",), ("feedback", "export", "-")])
def test_standard_output_on_a_full_disk_is_one_line_not_a_traceback(
    filled_db: Path, args: tuple[str, ...]
) -> None:
    with open("/dev/full", "w") as full:
        done = subprocess.run(
            [sys.executable, "-m", "rasid.cli", *args, "--db", f"sqlite:///{filled_db}"],
            stdout=full, stderr=subprocess.PIPE, text=True, timeout=120, cwd=ROOT,
            env={**os.environ, "COLUMNS": "200", "PYTHONPATH": str(ROOT)},
        )  # fmt: skip
    assert done.returncode == 1, done.stderr
    assert done.stderr.strip() == "error: [Errno 28] No space left on device"


def test_explain_of_a_url_whose_host_refuses_connections_fails_at_once() -> None:
    with socket.socket() as probe:  # a port that was free a moment ago: nothing listens there
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/x.html"
    started = time.monotonic()
    # With a 30 s pause before each retry, any retry of the refused connection would show in the time.
    done = rasid(
        "explain",
        url,
        RASID_CRAWL__RETRY_BACKOFF="30",
        RASID_CRAWL__RETRY_TIMES="2",
        RASID_CRAWL__ALLOW_PRIVATE_ADDRESSES="true",  # the refusing host is on loopback, as tests are
    )
    elapsed = time.monotonic() - started
    assert one_line(done) == f"error: {url}: failed {url} (source fetch): refused: host refuses connections"
    assert elapsed < 30, f"took {elapsed:.0f} s: the refused connection was retried"


@pytest.mark.parametrize("url", ["ftp://example.com/a.html", "file:///etc/passwd"])
def test_explain_of_a_url_that_is_not_http_says_so(url: str) -> None:
    assert one_line(rasid("explain", url)) == f"error: {url}: only http(s) URLs can be fetched"


def test_explain_says_on_a_terminal_that_it_is_fetching_and_when_it_gives_up() -> None:
    # A server that accepts and never answers: the fetch waits out every try, so the user is told.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/x.html"
        leader, follower = os.openpty()
        env = {
            **os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "200", "TERM": "xterm",
            "RASID_CRAWL__ALLOW_PRIVATE_ADDRESSES": "true", "RASID_CRAWL__DOWNLOAD_TIMEOUT": "2",
            "RASID_CRAWL__RETRY_TIMES": "0",
        }  # fmt: skip
        started = time.monotonic()
        child = subprocess.Popen(
            [sys.executable, "-m", "rasid.cli", "explain", url],
            stdin=subprocess.DEVNULL, stdout=follower, stderr=follower, cwd=ROOT, env=env,
        )  # fmt: skip
        os.close(follower)
        shown = b""
        while True:
            try:
                chunk = os.read(leader, 4096)
            except OSError:  # the terminal closed: the child is done
                break
            if not chunk:
                break
            shown += chunk
        child.wait(timeout=60)
        os.close(leader)
    text = shown.decode("utf-8", "replace")
    assert f"fetching {url} (gives up after 62 s)" in text
    assert child.returncode == 2 and "error:" in text and "Traceback" not in text
    assert time.monotonic() - started < 60


# ------------------------------------------------------------------------------------------ usage errors


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (("hits", "--nosuchopt"), "error: No such option: --nosuchopt (see `rasid hits --help`)"),
        (("nosuchcommand",), "error: No such command 'nosuchcommand'. (see `rasid --help`)"),
        (("web", "--port", "99999"), "error: Invalid value for '--port': "),
        (("hits", "-n", "0"), "error: Invalid value for '--limit' / '-n': "),
    ],
)
def test_a_usage_error_is_one_line_naming_the_help_to_read_and_exit_code_2(
    args: tuple[str, ...], line: str
) -> None:
    assert one_line(rasid(*args)).startswith(line)


@pytest.mark.parametrize("days", ["inf", "1e6", "1e9", "nan", "-1"])
def test_an_unbounded_max_age_days_is_one_line_before_anything_is_crawled(tmp_path: Path, days: str) -> None:
    database = tmp_path / "rasid.db"
    line = one_line(rasid("crawl", "--snapshot", "--max-age-days", days, "--db", f"sqlite:///{database}"))
    assert line.startswith(f"error: --max-age-days {float(days):g}: between 0 and 36500 days (100 years)")
    assert not database.exists()


@pytest.mark.parametrize("url", ["notaurl", "ftp://127.0.0.1:8391", "http://127.0.0.1:notaport/", "http://"])
@pytest.mark.parametrize("command", ["crawl", "daemon"])
def test_a_snapshot_url_that_is_not_http_is_one_line(tmp_path: Path, command: str, url: str) -> None:
    database = tmp_path / "rasid.db"
    flags = ("--snapshot",) if command == "crawl" else ()
    line = one_line(rasid(command, *flags, "--snapshot-url", url, "--db", f"sqlite:///{database}"))
    assert line.startswith(f"error: --snapshot-url {url!r}: not an http(s) URL;")
    assert not database.exists()


def test_a_snapshot_url_without_snapshot_is_refused_rather_than_crawling_the_live_outlets(
    tmp_path: Path,
) -> None:
    database = tmp_path / "rasid.db"
    done = rasid("crawl", "--snapshot-url", "http://127.0.0.1:9", "--db", f"sqlite:///{database}")
    assert (
        one_line(done)
        == "error: --snapshot-url needs --snapshot: without it the live outlets would be crawled"
    )
    assert not database.exists()


@pytest.mark.parametrize(
    "command", [("crawl", "--snapshot"), ("snapshot", "serve"), ("daemon", "--snapshot")]
)
def test_a_snapshot_larger_than_the_data_can_fill_is_a_usage_error(command: tuple[str, ...]) -> None:
    line = one_line(rasid(*command, "--size", "99999999"))
    assert line.startswith("error: Invalid value for '--size': ") and "5000" in line


@pytest.mark.parametrize("command", [("db", "upgrade"), ("db", "current"), ("hits",), ("stories",)])
def test_a_database_written_by_a_newer_rasid_is_one_line_saying_so(
    filled_db: Path, command: tuple[str, ...]
) -> None:
    connection = sqlite3.connect(filled_db)
    connection.execute("UPDATE alembic_version SET version_num = '9999'")
    connection.commit()
    connection.close()  # the last connection: the WAL is checkpointed into the file
    before = digest(filled_db)
    line = one_line(rasid(*command, "--db", f"sqlite:///{filled_db}"))
    assert line == (
        "error: database is at revision 9999, unknown to this rasid (its newest is 0011): it was written by a"
        " newer rasid; use that version, or upgrade rasid"
    )
    assert digest(filled_db) == before


# ------------------------------------------------------------------------------------------ status


def test_status_of_a_stopped_daemon_says_overdue_jobs_run_when_it_starts(filled_db: Path) -> None:
    # The job store as a daemon leaves it: next run times kept, and by now gone by.
    from apscheduler.job import Job
    from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
    from apscheduler.schedulers.background import BackgroundScheduler
    from apscheduler.triggers.interval import IntervalTrigger

    url = f"sqlite:///{filled_db}"
    engine = make_engine(url)
    store = SQLAlchemyJobStore(engine=engine)
    scheduler = BackgroundScheduler(timezone="UTC")  # never started: only the store is written
    store.start(scheduler, "default")
    gone_by = (datetime.now(UTC) - timedelta(hours=3)).replace(microsecond=0)
    jobs = (("crawl", "rasid.jobs:crawl", ["crawl"], 1), ("digest", "rasid.jobs:send_digest", [], 24))
    for job_id, func, args, every in jobs:
        store.add_job(
            Job(
                scheduler, id=job_id, func=func, args=args, kwargs={}, name=job_id, executor="default",
                trigger=IntervalTrigger(hours=every, timezone="UTC"), misfire_grace_time=60, coalesce=True,
                max_instances=1, next_run_time=gone_by,
            )
        )  # fmt: skip
    engine.dispose()
    done = rasid("status", "--db", url)
    assert done.returncode == 0, done.stderr
    overdue = f"overdue since {gone_by:%Y-%m-%d %H:%M:%S}Z: runs when the daemon starts"
    assert f"next crawl: {overdue}" in done.stdout
    assert f"next {overdue}" in done.stdout  # the digest's line
    assert "at start" in done.stdout  # the source's next run in the table
