"""The daily digest e-mail: pending hits rendered as right-to-left HTML and plain text, each mailed once.

``render`` is a function of values; ``build_message`` makes the multipart/alternative message; ``send``
is the only code that speaks SMTP. ``send_digest`` runs the protocol of storage/digests.py: resend any
digest left unfinished, exactly as it was; then claim the new hits into a digest with a fixed
Message-ID in one transaction, send it with retries, and record the outcome. A refused send releases
the hits for the next digest; a send that may have reached the server is resent with its Message-ID.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, tzinfo
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from classifiers.names import SECTOR_NAMES
from config.settings import ConfigError
from rasid.digest_stories import DigestStory, group, summarise

if TYPE_CHECKING:
    from config.settings import DigestSettings, Settings
    from storage.records import Hit
    from storage.repository import Repository

logger = logging.getLogger(__name__)

#: Autoescape on for the HTML part: headlines and excerpts come from crawled pages.
TEMPLATES = Environment(
    loader=PackageLoader("rasid", "templates"),
    autoescape=select_autoescape(enabled_extensions=("html.j2",), default_for_string=True),
    undefined=StrictUndefined,
    keep_trailing_newline=True,
)
TEMPLATES.globals["SECTOR_NAMES"] = SECTOR_NAMES


class DeliveryError(Exception):
    """The SMTP server did not take the digest; the message is one line for the operator.

    ``transient`` failures (refused connection, timeout, 4xx) are retried with back-off; ``maybe_delivered``
    means the connection broke after the message went out, so the server may hold it.
    """

    def __init__(self, reason: str, transient: bool = True, maybe_delivered: bool = False) -> None:
        super().__init__(reason)
        self.transient = transient
        self.maybe_delivered = maybe_delivered


@dataclass(frozen=True, slots=True)
class DigestOutcome:
    """What one ``send_digest`` did; ``status`` is "sent", "nothing-new", "dry-run", "busy" or "failed"."""

    status: str
    stories: int = 0
    hits: int = 0
    digest_id: int | None = None
    message_id: str | None = None
    subject: str | None = None
    resent: int = 0  # unfinished digests of earlier runs resent first, each with its own Message-ID
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status != "failed"


@dataclass(frozen=True, slots=True)
class Preview:
    """A digest as it would be sent now, written to files."""

    html: Path
    text: Path
    eml: Path
    subject: str
    stories: int
    hits: int


@dataclass(frozen=True, slots=True)
class _Content:
    subject: str
    html: str
    text: str
    stories: tuple[DigestStory, ...]


# -- values to values ------------------------------------------------------------------------------


def subject(stories: int, day: date) -> str:
    """The Subject line, in Arabic, with the day and the number of stories."""
    return str(TEMPLATES.get_template("digest_words.j2").module.subject(stories, day))  # type: ignore[attr-defined]


def render(
    stories: Sequence[DigestStory],
    day: date,
    tz: tzinfo = UTC,
    partner_names: Mapping[str, str] | None = None,
    max_stories: int = 40,
) -> tuple[str, str]:
    """The HTML and text parts: a summary, the first ``max_stories`` in full, the rest as headlines."""
    context = {
        "subject": subject(len(stories), day),
        "day": day,
        "tz": tz,
        "summary": summarise(stories),
        "stories": tuple(stories[:max_stories]),
        "more": tuple(stories[max_stories:]),
        "partner_names": dict(partner_names or {}),
    }
    html = TEMPLATES.get_template("digest.html.j2").render(context)
    text = TEMPLATES.get_template("digest.txt.j2").render(context)
    return html, text


def build_message(
    html: str,
    text: str,
    subject: str,
    sender: str,
    recipients: Sequence[str],
    message_id: str,
    when: datetime,
    list_unsubscribe: str | None = None,
) -> EmailMessage:
    """A multipart/alternative message (text first, HTML preferred), its headers encoded for SMTP."""
    message = EmailMessage(policy=SMTP)
    message["Subject"] = subject
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    message["Date"] = format_datetime(when)
    message["Message-ID"] = message_id
    message["Content-Language"] = "ar"
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies to a robot
    if list_unsubscribe:
        message["List-Unsubscribe"] = list_unsubscribe
    # base64 keeps every line ASCII and short whatever the server's 8BITMIME support; Arabic in
    # quoted-printable would triple in size.
    message.set_content(text, subtype="plain", charset="utf-8", cte="base64")
    message.add_alternative(html, subtype="html", charset="utf-8", cte="base64")
    return message


def new_message_id(sender: str, when: datetime) -> str:
    """A globally unique Message-ID in the sender's domain, fixed when the digest is claimed."""
    domain = sender.rpartition("@")[2].strip(" >") or "localhost"
    return make_msgid(idstring=f"rasid-digest-{when:%Y%m%d}", domain=domain)


# -- SMTP ------------------------------------------------------------------------------------------


def send(message: str, sender: str, recipients: Sequence[str], config: DigestSettings) -> tuple[str, ...]:
    """Hand the message to the SMTP server; the recipients it refused (others took it), or DeliveryError."""
    where = f"{config.smtp_host}:{config.smtp_port}"
    client: smtplib.SMTP
    try:
        if config.smtp_security == "tls":
            client = smtplib.SMTP_SSL(
                config.smtp_host, config.smtp_port, timeout=config.smtp_timeout, context=_context(config)
            )
        else:
            client = smtplib.SMTP(config.smtp_host, config.smtp_port, timeout=config.smtp_timeout)
    except (OSError, smtplib.SMTPException) as exc:
        raise DeliveryError(f"cannot connect to {where}: {_reason(exc)}") from None
    try:
        refused = _envelope(client, sender, recipients, config, where)
        try:
            code, reply = client.data(message.encode("ascii"))
            if code != 250:  # smtplib's data() returns the final reply rather than raising on it
                raise smtplib.SMTPDataError(code, reply)
        except smtplib.SMTPResponseException as exc:
            raise _refusal(f"{where} refused the message", exc) from None
        except (OSError, smtplib.SMTPException) as exc:
            raise DeliveryError(
                f"connection to {where} lost while sending the message: {_reason(exc)}", maybe_delivered=True
            ) from None
        return refused
    finally:
        _close(client)


def _envelope(
    client: smtplib.SMTP, sender: str, recipients: Sequence[str], config: DigestSettings, where: str
) -> tuple[str, ...]:
    """EHLO, STARTTLS, AUTH, MAIL and RCPT: nothing the server says here means it took the message."""
    try:
        client.ehlo()
        if config.smtp_security == "starttls":
            client.starttls(context=_context(config))
            client.ehlo()
        if config.smtp_user:
            _login(client, config.smtp_user, config.password() or "")
        code, reply = client.mail(sender)
        if code != 250:
            raise smtplib.SMTPSenderRefused(code, reply, sender)
        refused = []
        for recipient in recipients:
            code, reply = client.rcpt(recipient)
            if code not in (250, 251):
                refused.append(recipient)
                logger.warning("%s refused recipient %s: %s %s", where, recipient, code, _text(reply))
                last = (code, reply)
        if len(refused) == len(recipients):
            raise smtplib.SMTPResponseException(*last)
    except smtplib.SMTPAuthenticationError as exc:
        raise DeliveryError(
            f"{where} refused the login of {config.smtp_user!r}: {exc.smtp_code} {_text(exc.smtp_error)}",
            transient=False,
        ) from None
    except smtplib.SMTPNotSupportedError as exc:
        raise DeliveryError(f"{where}: {_reason(exc)}", transient=False) from None
    except smtplib.SMTPResponseException as exc:
        raise _refusal(f"{where} refused", exc) from None
    except (OSError, smtplib.SMTPException) as exc:
        raise DeliveryError(f"{where}: {_reason(exc)}") from None
    return tuple(refused)


def _login(client: smtplib.SMTP, user: str, password: str) -> None:
    """AUTH PLAIN where offered (one exchange, what submission servers expect), else smtplib's choice.

    smtplib's ``login`` falls back from a refused PLAIN to LOGIN with an initial response, which some
    servers (aiosmtpd among them) answer by waiting: a wrong password then reads as a timeout.
    """
    if "PLAIN" in client.esmtp_features.get("auth", "").upper().split():
        client.user, client.password = user, password
        client.auth("PLAIN", client.auth_plain)
    else:
        client.login(user, password)


def _context(config: DigestSettings) -> ssl.SSLContext:
    try:
        context = ssl.create_default_context(cafile=config.smtp_ca_file)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(f"{config.smtp_ca_file}: cannot load CA certificates: {exc}") from None
    if not config.smtp_verify_tls:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def _refusal(what: str, exc: smtplib.SMTPResponseException) -> DeliveryError:
    return DeliveryError(
        f"{what}: {exc.smtp_code} {_text(exc.smtp_error)}", transient=400 <= exc.smtp_code < 500
    )


def _close(client: smtplib.SMTP) -> None:
    try:
        client.quit()
    except (OSError, smtplib.SMTPException):
        client.close()


def _text(reply: bytes | str) -> str:
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
    return " ".join(text.split())


def _reason(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError | smtplib.SMTPServerDisconnected) and not str(exc):
        return type(exc).__name__
    return " ".join((getattr(exc, "strerror", None) or str(exc) or type(exc).__name__).split())


# -- the protocol ----------------------------------------------------------------------------------


def send_digest(settings: Settings, now: datetime | None = None, dry_run: bool = False) -> DigestOutcome:
    """Mail the hits new since the last digest, once; the daemon's daily job and `rasid digest send` call it.

    Unfinished digests of earlier runs go first, as they were. ``dry_run`` renders and reports without
    speaking SMTP or writing to the database. Raises ConfigError for settings it cannot use.
    """
    config = settings.digest
    if not config.recipients and not dry_run:
        raise ConfigError('digest.recipients is empty: set [digest] recipients = ["analyst@example.org"]')
    if not dry_run:  # an unreadable password or CA file is a configuration error, before anything is claimed
        if config.smtp_user:
            config.password()
        if config.smtp_security != "none":
            _context(config)
    now = now or datetime.now(UTC)
    repository = _open_repository(settings)
    try:
        resent = 0
        if not dry_run:
            for record in repository.unfinished_digests(now, config.sending_lease):
                if not repository.take_over_digest(record.digest_id, now, config.sending_lease):
                    continue  # another process took it between our read and our update
                logger.warning(
                    "digest %d (%s) was not known sent: resending it as it was",
                    record.digest_id,
                    record.message_id,
                )
                error = _deliver(repository, record.digest_id, record.message, record.recipients, config)
                if error:
                    return DigestOutcome(
                        "failed",
                        stories=record.stories,
                        hits=record.hits,
                        digest_id=record.digest_id,
                        message_id=record.message_id,
                        subject=record.subject,
                        resent=resent,
                        error=error,
                    )
                resent += 1
        content, hits = _content(repository, settings, now)
        if not content.stories and not config.send_empty:
            return DigestOutcome("nothing-new", subject=content.subject, resent=resent)
        message_id = new_message_id(config.sender, now)
        message = build_message(
            content.html,
            content.text,
            content.subject,
            config.sender,
            config.recipients,
            message_id,
            now,
            config.list_unsubscribe,
        ).as_string(policy=SMTP)
        outcome = DigestOutcome(
            "dry-run",
            stories=len(content.stories),
            hits=len(hits),
            message_id=message_id,
            subject=content.subject,
            resent=resent,
        )
        if dry_run:
            return outcome
        digest_id = repository.claim_digest(
            [hit.article_id for hit in hits],
            message_id,
            content.subject,
            message,
            config.recipients,
            len(content.stories),
            now,
        )
        if digest_id is None:
            return replace(outcome, status="busy", error="another send claimed some of these hits first")
        error = _deliver(repository, digest_id, message, config.recipients, config)
        return replace(outcome, status="failed" if error else "sent", digest_id=digest_id, error=error)
    finally:
        repository.engine.dispose()


def preview(settings: Settings, out_dir: Path | None = None, now: datetime | None = None) -> Preview:
    """Write the digest that would be sent now (HTML, text, the whole message), claiming nothing."""
    config = settings.digest
    now = now or datetime.now(UTC)
    folder = out_dir or config.preview_dir
    repository = _open_repository(settings)
    try:
        content, hits = _content(repository, settings, now)
    finally:
        repository.engine.dispose()
    message = build_message(
        content.html,
        content.text,
        content.subject,
        config.sender,
        config.recipients or (config.sender,),
        new_message_id(config.sender, now),
        now,
        config.list_unsubscribe,
    )
    try:
        folder.mkdir(parents=True, exist_ok=True)
        paths = (folder / "digest.html", folder / "digest.txt", folder / "digest.eml")
        paths[0].write_text(content.html, encoding="utf-8")
        paths[1].write_text(content.text, encoding="utf-8")
        paths[2].write_bytes(message.as_bytes(policy=SMTP))
    except OSError as exc:
        raise ConfigError(f"{folder}: cannot write the preview: {exc.strerror or exc}") from None
    return Preview(*paths, subject=content.subject, stories=len(content.stories), hits=len(hits))


def _deliver(
    repository: Repository, digest_id: int, message: str, recipients: Sequence[str], config: DigestSettings
) -> str | None:
    """Send with back-off retries of transient failures and record the outcome; the error line, or None."""
    attempt = 0
    while True:
        try:
            refused = send(message, config.sender, recipients, config)
        except DeliveryError as exc:
            error = str(exc)
            if exc.transient and attempt < config.retry_times:
                delay = config.retry_backoff * 2**attempt
                logger.warning("digest %d not sent: %s; retrying in %.0f s", digest_id, error, delay)
                time.sleep(delay)
                attempt += 1
                repository.digest_retrying(digest_id, datetime.now(UTC), error)
                continue
            if exc.maybe_delivered:
                repository.digest_unsure(digest_id, error)
            else:
                repository.digest_failed(digest_id, error)
            logger.info("digest %d not sent after %d attempts: %s", digest_id, attempt + 1, error)
            return error
        repository.digest_sent(digest_id, datetime.now(UTC))
        if refused:
            logger.warning("digest %d sent, but not to %s", digest_id, ", ".join(refused))
        return None


def _content(repository: Repository, settings: Settings, now: datetime) -> tuple[_Content, list[Hit]]:
    hits = repository.pending_hits()
    story_ids = [hit.story_id for hit in hits if hit.story_id is not None]
    stories = group(hits, repository.story_sources(story_ids))
    tz = ZoneInfo(settings.timezone)
    day = now.astimezone(tz).date()
    html, text = render(stories, day, tz, _partner_names(settings), settings.digest.max_stories)
    return _Content(subject(len(stories), day), html, text, stories), hits


def _partner_names(settings: Settings) -> dict[str, str]:
    """Partners' Arabic names: the first term of each in keywords.yaml ("China" -> "الصين")."""
    from config.keywords import load_keywords

    return {
        group.canonical: group.terms[0].rstrip("!")
        for group in load_keywords(settings.keywords_file).by_role("partner")
    }


def _open_repository(settings: Settings) -> Repository:
    """The configured database as it is (a digest never creates one); a schema it cannot use is one line."""
    from rasid.app import open_repository
    from storage.repository import SchemaError

    try:
        return open_repository(settings)
    except SchemaError as exc:
        raise ConfigError(str(exc)) from None
