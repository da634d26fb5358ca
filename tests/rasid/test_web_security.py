"""The web view's defences: hostile text stays text, forms need their CSRF token, logins, read-only, binds."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import requests

from rasid.web.security import CSP, hash_password, is_loopback, verify_password
from storage.db import make_engine
from storage.repository import Repository
from tests.rasid.web_fixtures import Browser
from tests.storage.conftest import hit_verdict, outcome
from tests.storage.test_repository import TEXT_B
from tests.storage.test_stories import WAM_TEXT

HOSTILE_TITLE = '<script>alert("x")</script><img src=x onerror=alert(1)> روسيا والصين'


@pytest.fixture
def hostile_url(sqlite_url: str) -> str:
    """A database holding one hit whose title and link a hostile site wrote."""
    engine = make_engine(sqlite_url)
    repository = Repository(engine)
    repository.prepare()
    run_id = repository.start_run(["evil"])
    repository.store(
        [
            outcome("https://evil.example/a", TEXT_B, source="evil", title=HOSTILE_TITLE),
            outcome(
                "javascript:alert(2)",
                WAM_TEXT,
                source="evil",
                title="رابط خبيث",
                verdict=hit_verdict(("مصر",)),
            ),
        ],
        run_id,
    )
    engine.dispose()
    return sqlite_url


def test_a_hostile_title_renders_as_inert_text(hostile_url: str, serve: Callable[..., Browser]) -> None:
    site = serve(hostile_url)
    story = next(s for s in site.repository.stories() if s.title == HOSTILE_TITLE)
    for path in ("/", f"/stories/{story.story_id}"):
        page = site.get(path).text
        assert "<script>" not in page and "<img" not in page
        assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;" in page


def test_a_javascript_link_is_shown_but_never_linked(hostile_url: str, serve: Callable[..., Browser]) -> None:
    site = serve(hostile_url)
    story = next(s for s in site.repository.stories() if s.title == "رابط خبيث")
    _, [article] = site.repository.story(story.story_id)
    assert article.url.startswith("javascript:")
    page = site.get(f"/stories/{story.story_id}").text
    assert "رابط خبيث" in page
    assert 'href="javascript:' not in page.lower()


def test_every_response_carries_the_security_headers(hostile_url: str, serve: Callable[..., Browser]) -> None:
    site = serve(hostile_url)
    for path in ("/", "/stories/1", "/stories/999999", "/static/rasid.css", "/feed.atom"):
        headers = site.get(path).headers
        assert headers["content-security-policy"] == CSP, path
        assert "unsafe-inline" not in CSP and "script-src" not in CSP  # default-src 'none': no script at all
        assert "frame-ancestors 'none'" in CSP
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["referrer-policy"] == "no-referrer"


def test_pages_hold_no_inline_script_or_style(hostile_url: str, serve: Callable[..., Browser]) -> None:
    site = serve(hostile_url)
    for path in ("/", "/stories/1", "/sources", "/missed", "/judgements"):
        page = site.get(path).text.lower()
        assert "<script" not in page and "style=" not in page and " on" + "click" not in page, path


def test_a_form_without_its_csrf_token_is_refused(hostile_url: str, serve: Callable[..., Browser]) -> None:
    site = serve(hostile_url)
    site.csrf()  # the session has a token; the forged form does not send it
    answer = site.post("/stories/1/judge", {"judgement": "wrong"})
    assert answer.status_code == 403
    assert "CSRF" in answer.text
    assert site.repository.judgements() == []


def test_a_form_with_another_sessions_token_is_refused(
    hostile_url: str, serve: Callable[..., Browser]
) -> None:
    site = serve(hostile_url)
    token = site.csrf()
    stranger = Browser(site.url, site.repository, site.settings)  # a fresh session: its own cookie, no token
    stranger.csrf()
    answer = stranger.post("/missed", {"csrf": token, "title": "عنوان"})
    assert answer.status_code == 403
    assert site.repository.judgements() == []


def test_read_only_hides_the_forms_and_refuses_posts(hostile_url: str, serve: Callable[..., Browser]) -> None:
    writable = serve(hostile_url)
    token = writable.csrf()
    site = serve(hostile_url, read_only=True)
    site.http.cookies = writable.http.cookies  # even a valid session and token cannot write
    page = site.get("/stories/1").text
    assert 'method="post"' not in page and "عرض للقراءة فقط" in page
    assert site.get("/missed").status_code == 403
    answer = site.post("/stories/1/judge", {"csrf": token, "judgement": "right"})
    assert answer.status_code == 403
    assert site.repository.judgements() == []


def test_with_a_token_every_page_asks_for_a_login_and_the_judge_is_named(
    hostile_url: str,
    serve: Callable[..., Browser],
) -> None:
    site = serve(hostile_url, secret_key="k" * 32, token="s3cret-token")
    assert site.get("/").status_code == 303 and site.get("/").headers["location"] == "/login"
    assert site.get("/feed.atom").status_code == 303
    wrong = site.post("/login", {"csrf": site.csrf("/login"), "name": "ليلى", "secret": "guess"})
    assert wrong.status_code == 403 and site.get("/").status_code == 303
    right = site.post("/login", {"csrf": site.csrf("/login"), "name": "ليلى", "secret": "s3cret-token"})
    assert right.status_code == 303 and site.get("/").status_code == 200
    site.post("/stories/1/judge", {"csrf": site.csrf("/stories/1"), "judgement": "wrong"})
    assert [j.author for j in site.repository.judgements()] == ["ليلى"]
    site.post("/logout", {"csrf": site.csrf("/stories/1")})
    assert site.get("/").status_code == 303


def test_a_password_hash_logs_in_with_its_password_only(
    hostile_url: str, serve: Callable[..., Browser]
) -> None:
    stored = hash_password("كلمة سر طويلة", iterations=1000)
    assert verify_password("كلمة سر طويلة", stored) and not verify_password("another", stored)
    assert not verify_password("x", "not-a-hash")
    site = serve(hostile_url, secret_key="k" * 32, password_hash=stored)
    answer = site.post("/login", {"csrf": site.csrf("/login"), "name": "sami", "secret": "كلمة سر طويلة"})
    assert answer.status_code == 303 and site.get("/").status_code == 200


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("::1", True),
        ("localhost", True),
        ("0.0.0.0", False),
        ("192.168.1.5", False),
        ("example.org", False),
    ],
)
def test_only_loopback_addresses_count_as_this_machine(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def _rasid_web(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("RASID_WEB__")}
    return subprocess.run(
        [sys.executable, "-m", "rasid.cli", "web", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**clean, **(env or {})},
    )


def test_binding_beyond_loopback_without_a_secret_refuses_in_one_line(sqlite_url: str) -> None:
    done = _rasid_web("--host", "0.0.0.0", "--port", "0", "--db", sqlite_url)
    assert done.returncode == 2
    assert done.stderr.strip() == (
        "error: web: serving on 0.0.0.0 needs web.secret_key and web.password_hash or web.token "
        "(RASID_WEB__SECRET_KEY, RASID_WEB__PASSWORD_HASH or the config file); or bind 127.0.0.1"
    )
    assert done.stdout == ""


def test_a_secret_key_without_a_password_or_token_is_not_enough(sqlite_url: str) -> None:
    done = _rasid_web(
        "--host", "0.0.0.0", "--port", "0", "--db", sqlite_url, env={"RASID_WEB__SECRET_KEY": "k" * 32}
    )
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1


def test_secrets_never_show_in_rasid_config(sqlite_url: str) -> None:
    env = {**os.environ, "RASID_WEB__SECRET_KEY": "sekrit-key-123", "RASID_WEB__TOKEN": "tok-456"}
    done = subprocess.run(
        [sys.executable, "-m", "rasid.cli", "config"], capture_output=True, text=True, timeout=60, env=env
    )
    assert done.returncode == 0
    assert "sekrit-key-123" not in done.stdout and "tok-456" not in done.stdout
    assert '"secret_key": "**********"' in done.stdout


def _hash_password(stdin: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "rasid.cli", "web", "--hash-password"],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize("stdin", ["كلمة سر\nكلمة سر\n", "كلمة سر\n", "كلمة سر"])
def test_hash_password_from_a_pipe_prints_only_a_hash_that_logs_in(stdin: str) -> None:
    done = _hash_password(stdin)
    assert (done.returncode, done.stderr) == (0, "")
    assert len(done.stdout.splitlines()) == 1 and done.stdout.startswith("pbkdf2_sha256$600000$")
    printed = done.stdout.strip()
    assert verify_password("كلمة سر", printed) and not verify_password("كلمة", printed)


@pytest.mark.parametrize(
    ("stdin", "said"),
    [
        ("one\ntwo\n", "error: --hash-password: the two lines read from standard input differ"),
        (
            "",
            "error: --hash-password reads the password from standard input: one line, or the same line twice",
        ),
        (
            "a\na\na\n",
            "error: --hash-password reads the password from standard input: one line, or the same line twice",
        ),
    ],
)
def test_hash_password_from_a_pipe_that_is_not_one_password_is_one_line(stdin: str, said: str) -> None:
    done = _hash_password(stdin)
    assert (done.returncode, done.stdout, done.stderr.strip()) == (2, "", said)


def test_hash_password_on_a_terminal_asks_twice_on_stderr_and_prints_only_the_hash() -> None:
    import pty

    leader, follower = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "rasid.cli", "web", "--hash-password"],
        stdin=follower,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        bufsize=0,
        start_new_session=True,  # no controlling terminal: the prompt reads the pty given as stdin
    )
    os.close(follower)
    assert process.stderr is not None
    err = ""
    try:
        # Each answer after getpass's own " " (written once it has switched echo off, flushing what was typed).
        for prompt in ("password: ", "confirmation: "):
            while prompt not in err:
                chunk = os.read(process.stderr.fileno(), 1024)
                assert chunk, err
                err += chunk.decode()
            os.write(leader, "كلمة سر\n".encode())
        out, rest = process.communicate(timeout=60)
    finally:
        os.close(leader)
    err += rest
    assert process.returncode == 0, err
    assert "password" in err and "confirmation" in err
    assert len(out.splitlines()) == 1 and verify_password("كلمة سر", out.strip())


@pytest.mark.parametrize(
    "stored",
    [
        "password:Repeat for confirmation:" + hash_password("pw", iterations=1000),  # prompts captured too
        hash_password("pw", iterations=1000).replace("$1000$", "$many$"),
        hash_password("pw", iterations=1000)[:-8],  # cut short when pasted
        "sha1$1000$c2FsdA==$ZGlnZXN0",
    ],
)
def test_a_malformed_password_hash_is_refused_at_startup_in_one_line(sqlite_url: str, stored: str) -> None:
    done = _rasid_web("--port", "0", "--db", sqlite_url, env={"RASID_WEB__PASSWORD_HASH": stored})
    assert done.returncode == 2 and done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(
        "error: web.password_hash (RASID_WEB__PASSWORD_HASH or the config file) is not a hash from "
        "`rasid web --hash-password`: "
    )
    assert stored not in done.stderr  # a secret, even a broken one


def test_a_hash_from_hash_password_passes_the_startup_check() -> None:
    from config.settings import WebSettings
    from rasid.web.security import check_password_hash

    check_password_hash(WebSettings(password_hash=hash_password("pw", iterations=1000)))  # raises nothing
    assert verify_password("pw", hash_password("pw", iterations=1000))


def test_beyond_loopback_with_secrets_from_a_config_file_it_serves_behind_a_login(
    sqlite_url: str, tmp_path: Path
) -> None:
    config = tmp_path / "rasid.toml"
    config.write_text(f'[web]\nsecret_key = "{"k" * 32}"\ntoken = "from-a-file"\n', encoding="utf-8")
    Repository(make_engine(sqlite_url)).prepare()  # the web view reads a database, it never creates one
    clean = {k: v for k, v in os.environ.items() if not k.startswith("RASID_WEB__")}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "rasid.cli",
            "--config",
            str(config),
            "web",
            "--host",
            "0.0.0.0",
            "--port",
            "0",
            "--db",
            sqlite_url,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=clean,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.startswith("rasid web: serving on http://0.0.0.0:"), line
        port = line.strip().rstrip("/").rsplit(":", 1)[-1]
        answer = requests.get(f"http://127.0.0.1:{port}/", allow_redirects=False, timeout=30)
        assert answer.status_code == 303 and answer.headers["location"] == "/login"
    finally:
        process.terminate()
        process.wait(10)
