"""Who may use the web view and how it defends itself: bind check, login, CSRF tokens, security headers.

Crawled titles and texts are hostile: templates escape everything (Jinja2 autoescape), and the CSP
allows no script at all, so even an escaping bug could not run one.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import secrets
from typing import TYPE_CHECKING

from starlette.exceptions import HTTPException

from config.settings import ConfigError

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

    from config.settings import WebSettings

#: No script anywhere; styles and images from this origin only; never framed; forms post only here.
CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
    "base-uri 'none'; frame-ancestors 'none'"
)
HEADERS = (
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
)
#: pbkdf2 iterations for new password hashes (OWASP's 2023 figure for PBKDF2-HMAC-SHA256).
PBKDF2_ITERATIONS = 600_000
HASH_SCHEME = "pbkdf2_sha256"
LOCAL_USER = "local"


def is_loopback(host: str) -> bool:
    """127.0.0.0/8, ::1 or localhost: only this machine can reach the server."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_bind(web: WebSettings, host: str) -> None:
    """Refuse to serve beyond this machine without a session secret and a password or token."""
    if is_loopback(host):
        return
    if web.secret_key is None or not web.login_required():
        raise ConfigError(
            f"web: serving on {host} needs web.secret_key and web.password_hash or web.token "
            "(RASID_WEB__SECRET_KEY, RASID_WEB__PASSWORD_HASH or the config file); or bind 127.0.0.1"
        )


def hash_password(password: str, salt: bytes | None = None, iterations: int = PBKDF2_ITERATIONS) -> str:
    """``pbkdf2_sha256$<iterations>$<salt>$<digest>`` (base64): what web.password_hash holds."""
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    encode = base64.urlsafe_b64encode
    return f"{HASH_SCHEME}${iterations}${encode(salt).decode()}${encode(digest).decode()}"


def parse_hash(stored: str) -> tuple[int, bytes, bytes]:
    """(iterations, salt, digest) of a hash from :func:`hash_password`; ValueError saying what is wrong."""
    parts = stored.split("$")
    if len(parts) != 4 or parts[0] != HASH_SCHEME:
        raise ValueError(f"not of the form {HASH_SCHEME}$ITERATIONS$SALT$DIGEST")
    if not parts[1].isdigit() or int(parts[1]) < 1:
        raise ValueError("its iterations are not a positive number")
    salt, digest = (_strict_b64(part) for part in parts[2:])
    if not salt or len(digest) != hashlib.sha256().digest_size:
        raise ValueError("its salt or digest is not what --hash-password writes")
    return int(parts[1]), salt, digest


def _strict_b64(text: str) -> bytes:
    """URL-safe base64 decoded, refusing stray characters (the lenient decoder would drop them)."""
    try:
        decoded = base64.urlsafe_b64decode(text)
    except ValueError:  # binascii.Error included
        raise ValueError("its salt or digest is not base64") from None
    if base64.urlsafe_b64encode(decoded).decode() != text:
        raise ValueError("its salt or digest is not base64")
    return decoded


def check_password_hash(web: WebSettings) -> None:
    """Refuse at startup a web.password_hash no password could match: every login would fail, silently."""
    if web.password_hash is None:
        return
    try:
        parse_hash(web.password_hash.get_secret_value())
    except ValueError as exc:  # the value itself is a secret: never printed
        raise ConfigError(
            f"web.password_hash (RASID_WEB__PASSWORD_HASH or the config file) is not a hash from "
            f"`rasid web --hash-password`: {exc}"
        ) from None


def verify_password(password: str, stored: str) -> bool:
    """True when ``password`` matches a hash from :func:`hash_password`; a malformed hash matches nothing."""
    try:
        iterations, salt, digest = parse_hash(stored)
    except ValueError:
        return False
    candidate = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    return hmac.compare_digest(candidate, digest)


def check_credentials(web: WebSettings, secret: str) -> bool:
    """The password matches the configured hash, or the secret equals the configured token."""
    if web.token is not None and hmac.compare_digest(secret.encode(), web.token.get_secret_value().encode()):
        return True
    return web.password_hash is not None and verify_password(secret, web.password_hash.get_secret_value())


def current_user(request: Request) -> str | None:
    """The logged-in analyst's name; "local" when no login is configured; None when one is needed."""
    if not request.app.state.settings.web.login_required():
        return LOCAL_USER
    user = request.session.get("user")
    return user if isinstance(user, str) and user else None


def csrf_token(request: Request) -> str:
    """This session's form token, created on first use; every form carries it in a hidden field."""
    token = request.session.get("csrf")
    if not isinstance(token, str) or not token:
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return token


async def checked_form(request: Request) -> dict[str, str]:
    """The posted form's text fields, after checking its CSRF token against the session's (403 if not)."""
    form = await request.form()
    fields = {key: value for key, value in form.items() if isinstance(value, str)}
    expected = request.session.get("csrf")
    given = fields.get("csrf", "")
    if not isinstance(expected, str) or not expected or not hmac.compare_digest(given, expected):
        raise HTTPException(403, "رمز النموذج مفقود أو غير صحيح (CSRF): أعد تحميل الصفحة وحاول مجددًا")
    return fields


class SecurityHeaders:
    """ASGI middleware adding the security headers to every response, errors included."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = list(message.get("headers", [])) + list(HEADERS)
            await send(message)

        await self.app(scope, receive, send_with_headers)
