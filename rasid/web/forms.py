"""What an analyst posts: judgements (right, wrong, missed), login and logout; each form CSRF-checked."""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.responses import RedirectResponse, Response

from rasid.web.pages import render
from rasid.web.security import LOCAL_USER, check_credentials, checked_form, current_user

if TYPE_CHECKING:
    from starlette.requests import Request

    from storage.repository import Repository

#: Longest note, title and pasted text kept (characters): judgements are notes, not archives.
NOTE_MAX = 2000
TITLE_MAX = 500
TEXT_MAX = 100_000


def _writable(request: Request) -> None:
    if request.app.state.settings.web.read_only:
        raise HTTPException(403, "العرض للقراءة فقط: لا تُقبل الأحكام")


def _author(request: Request) -> str:
    return current_user(request) or LOCAL_USER


async def judge_story(request: Request) -> Response:
    """Right or wrong for a whole story: applies to each of its articles."""
    return await _judge(request, story_id=request.path_params["story_id"])


async def judge_article(request: Request) -> Response:
    """Right or wrong for one article of a story."""
    return await _judge(request, article_id=request.path_params["article_id"])


async def _judge(request: Request, story_id: int | None = None, article_id: int | None = None) -> Response:
    _writable(request)
    fields = await checked_form(request)
    judgement = fields.get("judgement", "")
    if judgement not in ("right", "wrong"):
        raise HTTPException(400, "الحكم إما صحيح أو خطأ")
    repository: Repository = request.app.state.repository
    stored = await run_in_threadpool(
        repository.add_judgement,
        _author(request),
        judgement,
        story_id=story_id,
        article_id=article_id,
        note=fields.get("note", "").strip()[:NOTE_MAX],
    )
    if stored is None:
        raise HTTPException(404, "لا توجد قصة أو مقالة بهذا الرقم")
    target = f"/stories/{stored.story_id}" if stored.story_id else "/"
    return RedirectResponse(target + "#judgements", status_code=303)


def missed_form(request: Request) -> Response:
    _writable(request)
    return render(request, "missed.html", error="", values={})


async def add_missed(request: Request) -> Response:
    """A hit rasid did not flag: a URL (linked to the stored article when rasid has it) or pasted text."""
    _writable(request)
    fields = await checked_form(request)
    values = {name: fields.get(name, "").strip() for name in ("url", "title", "text", "note")}
    url = values["url"]
    error = ""
    if url and urlsplit(url).scheme not in ("http", "https"):
        error = "الرابط يجب أن يبدأ بـ http:// أو https://"
    elif not (url or values["title"] or values["text"]):
        error = "أدخل رابطًا أو عنوانًا أو نصًا"
    if error:
        return render(request, "missed.html", status_code=400, error=error, values=values)
    repository: Repository = request.app.state.repository
    stored = await run_in_threadpool(
        repository.add_judgement,
        _author(request),
        "missed",
        url=url[:2000] or None,
        title=values["title"][:TITLE_MAX],
        text=values["text"][:TEXT_MAX],
        note=values["note"][:NOTE_MAX],
    )
    assert stored is not None  # a missed hit needs no existing row
    target = f"/stories/{stored.story_id}#judgements" if stored.story_id else "/judgements"
    return RedirectResponse(target, status_code=303)


def judgements_page(request: Request) -> Response:
    repository: Repository = request.app.state.repository
    return render(request, "judgements.html", judgements=repository.judgements(limit=200))


async def login_form(request: Request) -> Response:
    return render(request, "login.html", error="")


async def login(request: Request) -> Response:
    fields = await checked_form(request)
    name = fields.get("name", "").strip()[:80]
    secret = fields.get("secret", "")
    # PBKDF2 takes a while on purpose: in the thread pool, so other requests go on meanwhile.
    if not name or not await run_in_threadpool(check_credentials, request.app.state.settings.web, secret):
        return render(request, "login.html", status_code=403, error="الاسم أو كلمة المرور غير صحيحة")
    request.session.clear()  # a fresh session (and CSRF token) after login
    request.session["user"] = name
    return RedirectResponse("/", status_code=303)


async def logout(request: Request) -> Response:
    await checked_form(request)
    request.session.clear()
    return RedirectResponse("/login", status_code=303)
