"""The web view as a Starlette application, built from the Settings and a Repository (nothing global).

Server-rendered Jinja2 pages, right to left and Arabic first, with no script at all: filters and
judgements are plain HTML forms, so it works on a phone and under a CSP that forbids script.
"""

from __future__ import annotations

import logging
import secrets
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import jinja2
from markupsafe import Markup
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from rasid.web import forms, pages
from rasid.web.security import SecurityHeaders, current_user
from storage.errors import DatabaseBusy, StorageError
from storage.safe_text import http_url, strip_controls

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Receive, Scope, Send

    from config.settings import Settings
    from storage.repository import Repository

logger = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
#: Paths served without a login: the login form itself and the stylesheet it uses.
OPEN_PATHS = ("/login", "/static/")
SESSION_COOKIE = "rasid_session"
SESSION_MAX_AGE = 14 * 24 * 3600  # seconds: an analyst logs in once a fortnight
#: What the analyst reads when the database cannot answer: busy (a crawl writing), or unusable now.
BUSY = "قاعدة البيانات مشغولة الآن بعملية أخرى؛ أعد المحاولة بعد قليل"  # the database is busy: try again
UNAVAILABLE = "تعذّر الوصول إلى قاعدة البيانات الآن؛ أعد المحاولة بعد قليل"  # cannot reach the database
#: Seconds a client is told to wait before trying again after a 503.
RETRY_AFTER = 10


def _shown(value: Any) -> Any:
    """Every value a page prints: crawled text loses control and bidi-override characters (an RLO in a
    title would reverse what follows it); markup a template built itself is left alone."""
    return strip_controls(value) if isinstance(value, str) and not isinstance(value, Markup) else value


def _templates(zone: ZoneInfo) -> Jinja2Templates:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        finalize=_shown,
    )

    def when(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
        return value.astimezone(zone).strftime(fmt) if value else ""

    env.filters["when"] = when
    env.filters["safe_url"] = http_url
    return Jinja2Templates(env=env)


def _options(settings: Settings) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(canonical name, Arabic name) of every partner and sector in keywords.yaml: menus and labels."""
    from classifiers.names import arabic_name
    from config.keywords import load_keywords

    keywords = load_keywords(settings.keywords_file)

    def options(role: str) -> list[tuple[str, str]]:
        return [(group.canonical, arabic_name(group)) for group in keywords.by_role(role)]

    return options("partner"), options("sector")


class LoginGate:
    """ASGI middleware sending every request without a logged-in analyst to the login form."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not scope["path"].startswith(OPEN_PATHS):
            request = Request(scope)
            if current_user(request) is None:
                await RedirectResponse("/login", status_code=303)(scope, receive, send)
                return
        await self.app(scope, receive, send)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return pages.render(request, "error.html", status_code=exc.status_code, message=exc.detail)


async def _storage_error(request: Request, exc: Exception) -> Response:
    """The database could not answer (locked past the busy timeout, down): 503 in Arabic, one log line."""
    assert isinstance(exc, StorageError)
    logger.warning("%s %s: %s", request.method, request.url.path, exc)
    message = BUSY if isinstance(exc, DatabaseBusy) else UNAVAILABLE
    response = pages.render(request, "error.html", status_code=503, message=message)
    response.headers["Retry-After"] = str(RETRY_AFTER)
    return response


def build_app(settings: Settings, repository: Repository) -> Starlette:
    """The ASGI application; the session key is the configured one, else random for this process."""
    secret = (
        settings.web.secret_key.get_secret_value() if settings.web.secret_key else secrets.token_urlsafe(32)
    )
    routes = [
        Route("/", pages.stories_page, name="stories"),
        Route("/stories/{story_id:int}", pages.story_page, name="story"),
        Route("/stories/{story_id:int}/judge", forms.judge_story, methods=["POST"]),
        Route("/articles/{article_id:int}/judge", forms.judge_article, methods=["POST"]),
        Route("/missed", forms.missed_form, methods=["GET"]),
        Route("/missed", forms.add_missed, methods=["POST"]),
        Route("/judgements", forms.judgements_page),
        Route("/sources", pages.sources_page, name="sources"),
        Route("/feed.atom", pages.feed, name="feed"),
        Route("/login", forms.login_form, methods=["GET"]),
        Route("/login", forms.login, methods=["POST"]),
        Route("/logout", forms.logout, methods=["POST"]),
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
    ]
    middleware = [
        Middleware(SecurityHeaders),
        Middleware(
            SessionMiddleware,
            secret_key=secret,
            session_cookie=SESSION_COOKIE,
            max_age=SESSION_MAX_AGE,
            same_site="strict",
            https_only=False,  # a loopback server speaks plain HTTP; behind TLS the proxy adds Secure
        ),
        Middleware(LoginGate),
    ]
    handlers: dict[Any, Any] = {HTTPException: _http_error, StorageError: _storage_error}
    app = Starlette(routes=routes, middleware=middleware, exception_handlers=handlers)
    app.state.settings = settings
    app.state.repository = repository
    app.state.templates = _templates(ZoneInfo(settings.timezone))
    app.state.partners, app.state.sectors = _options(settings)
    arabic = dict(app.state.partners + app.state.sectors)
    app.state.templates.env.filters["ar"] = lambda names: "، ".join(arabic.get(n, n) for n in names)
    return app
