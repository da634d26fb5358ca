"""The digest through a real SMTP server (aiosmtpd on 127.0.0.1): headers, parts, stories, each hit once.

The database holds real positive articles of the labelled dev set, dated hours before now.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.header import decode_header, make_header
from email.policy import compat32
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.smtp import AuthResult, LoginPassword

from config.settings import load_settings
from rasid.digest import send_digest
from storage.db import make_engine
from storage.repository import Repository
from tests.rasid.digest_fixtures import (
    free_port,
    labelled_hits,
    parts,
    run_cli,
    smtp_server,
    store_hits,
    write_config,
)

USER, PASSWORD = "rasid-desk", "s3cret-Pa55"


@pytest.fixture
def records(shared_data: Path) -> list[dict[str, Any]]:
    return labelled_hits(shared_data, 5)


@pytest.fixture
def filled(database_url: str, records: list[dict[str, Any]]):
    """The database URL and the hits stored in it (five real articles, the first carried by two outlets)."""
    return database_url, store_hits(database_url, records, datetime.now(UTC))


def _pending(url: str) -> int:
    engine = make_engine(url)
    try:
        return len(Repository(engine).pending_hits())
    finally:
        engine.dispose()


def test_digest_arrives_with_both_parts_the_headers_and_every_story(
    filled,
    smtp_inbox,
    tmp_path: Path,
    records: list[dict[str, Any]],
) -> None:
    (url, stored), (inbox, port) = filled, smtp_inbox
    result = run_cli(write_config(tmp_path / "rasid.toml", url, port), "digest", "send")
    assert result.returncode == 0, result.stderr
    [message] = inbox.messages
    assert message.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in message.iter_parts()] == ["text/plain", "text/html"]
    subject = str(message["Subject"])
    assert subject.startswith("راصد: 5 أخبار جديدة")  # "rasid: 5 new stories"
    assert str(datetime.now(UTC).year) in subject
    raw_subject = str(message_from_bytes(message.as_bytes(), policy=compat32)["Subject"])
    assert raw_subject.isascii() and "=?utf-8?" in raw_subject.lower()  # RFC 2047, not raw UTF-8
    assert str(make_header(decode_header(raw_subject))) == subject
    assert message["From"] == "rasid@desk.example.org"
    assert message["To"] == "analyst@desk.example.org"
    assert abs(message["Date"].datetime - datetime.now(UTC)) < timedelta(minutes=5)
    assert message["Message-ID"].endswith("@desk.example.org>")
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["List-Unsubscribe"] is None  # not configured
    text, html = parts(message)
    assert '<html lang="ar" dir="rtl">' in html
    for record in records:
        assert record["title"] in text
        assert record["url"] in text
    for hit in stored:
        assert f'href="{hit.url}"' in html
    # The syndicated copy is one entry with two sources, not two entries.
    assert text.count(records[0]["title"]) == 1
    assert "syndicated-copy" in text
    # A long Message-ID is folded onto its own line, and the parsed value keeps the fold's space.
    assert f"Message-ID {message['Message-ID'].strip()}" in result.stdout
    assert _pending(url) == 0


def test_second_send_has_nothing_new(filled, smtp_inbox, tmp_path: Path) -> None:
    (url, _), (inbox, port) = filled, smtp_inbox
    config = write_config(tmp_path / "rasid.toml", url, port)
    assert run_cli(config, "digest", "send").returncode == 0
    second = run_cli(config, "digest", "send")
    assert second.returncode == 0
    assert "nothing new" in second.stdout
    assert len(inbox.messages) == 1


def test_hits_stored_after_a_digest_go_in_the_next_one_only(
    database_url: str,
    shared_data: Path,
    smtp_inbox,
    tmp_path: Path,
) -> None:
    inbox, port = smtp_inbox
    first, later = labelled_hits(shared_data, 3), labelled_hits(shared_data, 2, skip=3)
    store_hits(database_url, first, datetime.now(UTC))
    settings = load_settings(write_config(tmp_path / "rasid.toml", database_url, port))
    assert send_digest(settings).status == "sent"
    store_hits(database_url, later, datetime.now(UTC), copy_first=False)
    outcome = send_digest(settings)
    assert (outcome.status, outcome.stories) == ("sent", 2)
    second_text, _ = parts(inbox.messages[1])
    assert all(r["title"] in second_text for r in later)
    assert not any(r["title"] in second_text for r in first)
    assert inbox.messages[0]["Message-ID"] != inbox.messages[1]["Message-ID"]


def test_server_down_fails_in_one_line_and_the_next_send_carries_the_hits_once(
    filled,
    smtp_inbox,
    tmp_path: Path,
) -> None:
    (url, stored), (inbox, port) = filled, smtp_inbox
    down = run_cli(write_config(tmp_path / "down.toml", url, free_port(), retry_times=1), "digest", "send")
    assert down.returncode == 1
    assert "Traceback" not in down.stderr
    lines = [line for line in down.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "cannot connect to 127.0.0.1:" in lines[0]
    assert _pending(url) == len(stored)
    config = write_config(tmp_path / "up.toml", url, port)
    assert run_cli(config, "digest", "send").returncode == 0
    assert run_cli(config, "digest", "send").returncode == 0
    [message] = inbox.messages
    text, _ = parts(message)
    assert all(text.count(hit.url) == 1 for hit in stored)
    assert _pending(url) == 0


def test_a_4xx_reply_is_retried_after_a_pause_and_the_digest_sent_once(
    filled,
    smtp_inbox,
    tmp_path: Path,
) -> None:
    (url, _), (inbox, port) = filled, smtp_inbox
    inbox.replies = ["451 4.3.0 try again later"]
    settings = load_settings(
        write_config(tmp_path / "rasid.toml", url, port, retry_times=2, retry_backoff=0.2)
    )
    started = datetime.now(UTC)
    outcome = send_digest(settings)
    assert outcome.status == "sent"
    assert datetime.now(UTC) - started >= timedelta(seconds=0.2)
    assert (inbox.seen, len(inbox.messages)) == (2, 1)
    assert outcome.digest_id is not None
    engine = make_engine(url)
    record = Repository(engine).digest(outcome.digest_id)
    engine.dispose()
    assert record is not None and (record.status, record.attempts) == ("sent", 2)


def test_a_5xx_refusal_is_not_retried_and_leaves_the_hits_pending(filled, smtp_inbox, tmp_path: Path) -> None:
    (url, stored), (inbox, port) = filled, smtp_inbox
    inbox.replies = ["554 5.7.1 message rejected"]
    settings = load_settings(write_config(tmp_path / "rasid.toml", url, port, retry_times=3))
    outcome = send_digest(settings)
    assert outcome.status == "failed"
    assert outcome.error == f"127.0.0.1:{port} refused the message: 554 5.7.1 message rejected"
    assert inbox.seen == 1
    assert _pending(url) == len(stored)
    assert send_digest(settings).status == "sent"
    assert len(inbox.messages) == 1


def _check_login(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
    ok = isinstance(data, LoginPassword) and (data.login, data.password) == (USER.encode(), PASSWORD.encode())
    return AuthResult(success=ok, handled=False)  # handled=False: the server answers 535


def test_login_with_the_password_from_the_environment(filled, tmp_path: Path) -> None:
    url, _ = filled
    with smtp_server(authenticator=_check_login, auth_required=True, auth_require_tls=False) as (inbox, port):
        config = write_config(tmp_path / "rasid.toml", url, port, smtp_user=USER)
        result = run_cli(config, "digest", "send", env={"RASID_DIGEST__SMTP_PASSWORD": PASSWORD})
        shown = run_cli(config, "config", env={"RASID_DIGEST__SMTP_PASSWORD": PASSWORD})
    assert result.returncode == 0, result.stderr
    assert len(inbox.messages) == 1
    assert PASSWORD not in result.stdout + result.stderr + shown.stdout + shown.stderr
    assert '"smtp_password": "**********"' in shown.stdout


def test_a_refused_login_is_one_line_without_the_password_and_the_hits_stay_pending(
    filled, tmp_path: Path
) -> None:
    url, stored = filled
    secret = tmp_path / "smtp-password"
    secret.write_text("not-the-password\n")
    with smtp_server(authenticator=_check_login, auth_required=True, auth_require_tls=False) as (inbox, port):
        config = write_config(
            tmp_path / "rasid.toml", url, port, smtp_user=USER, smtp_password_file=str(secret)
        )
        result = run_cli(config, "digest", "send")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith(
        f"error: digest not sent: 127.0.0.1:{port} refused the login of 'rasid-desk': 535"
    )
    assert len(result.stderr.strip().splitlines()) == 1
    assert "not-the-password" not in result.stdout + result.stderr
    assert inbox.seen == 0
    assert _pending(url) == len(stored)


def _certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1, made here with the cryptography package."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "rasid test SMTP")])
    start = datetime.now(UTC) - timedelta(minutes=5)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "smtp.crt", folder / "smtp.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_path, key_path


def _server_context(tmp_path: Path) -> tuple[ssl.SSLContext, Path]:
    cert, key = _certificate(tmp_path)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    return context, cert


def test_starttls_then_login_with_the_servers_certificate_checked(filled, tmp_path: Path) -> None:
    url, _ = filled
    context, cert = _server_context(tmp_path)
    options = dict(tls_context=context, require_starttls=True, authenticator=_check_login, auth_required=True)
    with smtp_server(**options) as (inbox, port):
        settings = load_settings(
            write_config(
                tmp_path / "rasid.toml",
                url,
                port,
                smtp_security="starttls",
                smtp_user=USER,
                smtp_ca_file=str(cert),
            ),
            digest={"smtp_password": PASSWORD},
        )
        unchecked = send_digest(
            load_settings(write_config(tmp_path / "no-ca.toml", url, port, smtp_security="starttls"))
        )
        outcome = send_digest(settings)
    assert unchecked.status == "failed" and "CERTIFICATE_VERIFY_FAILED" in (unchecked.error or "")
    assert outcome.status == "sent", outcome.error
    assert len(inbox.messages) == 1


def test_implicit_tls(filled, tmp_path: Path) -> None:
    url, _ = filled
    context, cert = _server_context(tmp_path)
    with smtp_server(ssl_context=context) as (inbox, port):
        settings = load_settings(
            write_config(tmp_path / "rasid.toml", url, port, smtp_security="tls", smtp_ca_file=str(cert))
        )
        outcome = send_digest(settings)
    assert outcome.status == "sent", outcome.error
    assert len(inbox.messages) == 1


def test_an_empty_day_sends_nothing_or_a_short_mail_as_configured(
    sqlite_url: str, smtp_inbox, tmp_path: Path
) -> None:
    inbox, port = smtp_inbox
    Repository(make_engine(sqlite_url)).prepare()  # a database with no hits yet (a digest never creates one)
    quiet = send_digest(load_settings(write_config(tmp_path / "quiet.toml", sqlite_url, port)))
    assert quiet.status == "nothing-new" and inbox.seen == 0
    told = send_digest(load_settings(write_config(tmp_path / "told.toml", sqlite_url, port, send_empty=True)))
    assert (told.status, told.stories) == ("sent", 0)
    [message] = inbox.messages
    text, html = parts(message)
    assert str(message["Subject"]).startswith("راصد: لا أخبار جديدة")  # "rasid: no new stories"
    assert "لم يرصد راصد أي خبر جديد" in text and "لم يرصد راصد أي خبر جديد" in html


def test_list_unsubscribe_is_sent_when_configured(filled, smtp_inbox, tmp_path: Path) -> None:
    (url, _), (inbox, port) = filled, smtp_inbox
    value = "<mailto:rasid-admin@desk.example.org?subject=unsubscribe>"
    send_digest(load_settings(write_config(tmp_path / "rasid.toml", url, port, list_unsubscribe=value)))
    assert inbox.messages[0]["List-Unsubscribe"] == value


def test_dry_run_speaks_no_smtp_and_claims_nothing(filled, smtp_inbox, tmp_path: Path) -> None:
    (url, stored), (inbox, port) = filled, smtp_inbox
    result = run_cli(write_config(tmp_path / "rasid.toml", url, port), "digest", "send", "--dry-run")
    assert result.returncode == 0, result.stderr
    assert "would send راصد: 5 أخبار جديدة" in result.stdout
    assert inbox.seen == 0
    assert _pending(url) == len(stored)


def test_preview_writes_the_html_text_and_message_and_says_where(filled, tmp_path: Path) -> None:
    url, stored = filled
    out = tmp_path / "out"
    result = run_cli(
        write_config(tmp_path / "rasid.toml", url, free_port()), "digest", "preview", "--out", str(out)
    )
    assert result.returncode == 0, result.stderr
    for name in ("digest.html", "digest.txt", "digest.eml"):
        assert f"wrote {out / name}" in result.stdout
    html = (out / "digest.html").read_text(encoding="utf-8")
    assert all(hit.title in html for hit in stored)
    assert _pending(url) == len(stored)  # a preview claims nothing


def test_a_connection_lost_after_the_message_is_resent_with_the_same_message_id(
    filled, smtp_inbox, tmp_path: Path
) -> None:
    (url, _), (inbox, port) = filled, smtp_inbox
    inbox.hang_up = 1
    config = write_config(tmp_path / "rasid.toml", url, port)
    lost = run_cli(config, "digest", "send")
    assert lost.returncode == 1
    assert lost.stderr.startswith(
        f"error: digest not sent: connection to 127.0.0.1:{port} lost while sending"
    )
    assert _pending(url) == 0  # the server may hold the mail: its hits stay with that digest
    again = run_cli(config, "digest", "send")
    assert again.returncode == 0, again.stderr
    assert "resent 1 unfinished digest" in again.stdout
    first, resent = inbox.messages
    assert first["Message-ID"] == resent["Message-ID"]
    assert first.as_bytes() == resent.as_bytes()
    assert "nothing new" in run_cli(config, "digest", "send").stdout


def test_no_recipients_or_an_unreadable_password_file_is_a_usage_error_before_anything_is_claimed(
    filled, smtp_inbox, tmp_path: Path
) -> None:
    (url, stored), (inbox, port) = filled, smtp_inbox
    nobody = run_cli(write_config(tmp_path / "nobody.toml", url, port, recipients=[]), "digest", "send")
    assert (nobody.returncode, nobody.stderr.strip()) == (
        2,
        'error: digest.recipients is empty: set [digest] recipients = ["analyst@example.org"]',
    )
    missing = tmp_path / "no-such-password"
    config = write_config(tmp_path / "rasid.toml", url, port, smtp_user=USER, smtp_password_file=str(missing))
    unreadable = run_cli(config, "digest", "send")
    assert unreadable.returncode == 2
    assert (
        unreadable.stderr.strip()
        == f"error: {missing}: cannot read the SMTP password: No such file or directory"
    )
    assert inbox.seen == 0
    assert _pending(url) == len(stored)
