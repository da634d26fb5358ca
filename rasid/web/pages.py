"""The pages an analyst reads: stories (filtered, paged), one story, sources and runs, and the Atom feed.

Plain functions, not coroutines: Starlette runs them in its thread pool, so a page waiting on a database
locked by a crawl does not hold up every other request on the event loop.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from starlette.exceptions import HTTPException
from starlette.responses import Response

from rasid.web.highlight import evidence
from storage.records import HitQuery

if TYPE_CHECKING:
    from starlette.requests import Request

    from storage.records import Story
    from storage.repository import Repository, RunRecord

FILTER_FIELDS = ("since", "until", "partner", "sector", "source", "q")
#: The highest page number taken from a URL (a million pages of stories is more than any database holds).
MAX_PAGE = 1_000_000


@dataclass(frozen=True, slots=True)
class Filters:
    """The stories page's query string: a date range, partner, sector, source, search text, page."""

    since: date | None = None
    until: date | None = None
    partner: str = ""
    sector: str = ""
    source: str = ""
    q: str = ""
    page: int = 1

    def query(self, **changes: Any) -> str:
        """The query string of these filters (with ``changes``), empty values left out."""
        values = replace(self, **changes)
        pairs = {name: getattr(values, name) for name in FILTER_FIELDS}
        if values.page > 1:
            pairs["page"] = values.page
        return urlencode({k: str(v) for k, v in pairs.items() if v})


def parse_filters(request: Request) -> tuple[Filters, list[str]]:
    """Filters from the query string; a value that cannot be read is dropped and said why."""
    params = request.query_params
    problems: list[str] = []

    def day(name: str) -> date | None:
        value = params.get(name, "").strip()
        if not value:
            return None
        try:
            return date.fromisoformat(value)
        except ValueError:
            problems.append(f"تاريخ غير مفهوم: {value} (المطلوب مثل 2026-11-01)")
            return None

    try:  # past the last page shows the last page; the cap keeps the offset a number SQL takes
        page = min(max(1, int(params.get("page", "1"))), MAX_PAGE)
    except ValueError:
        page = 1
    filters = Filters(
        since=day("since"),
        until=day("until"),
        partner=params.get("partner", "").strip()[:100],
        sector=params.get("sector", "").strip()[:100],
        source=params.get("source", "").strip()[:100],
        q=params.get("q", "").strip()[:200],
        page=page,
    )
    return filters, problems


def _zone(request: Request) -> ZoneInfo:
    return ZoneInfo(request.app.state.settings.timezone)


def filtered_stories(
    request: Request, filters: Filters, offset: int = 0, limit: int | None = None
) -> tuple[list[Story], int]:
    """A page of the stories matching the filters, newest first, and how many match; dates are days in the
    configured time zone."""
    zone = _zone(request)
    repository: Repository = request.app.state.repository
    return repository.story_page(
        HitQuery(
            since=datetime.combine(filters.since, time(), zone) if filters.since else None,
            until=datetime.combine(filters.until + timedelta(days=1), time(), zone)
            if filters.until
            else None,
            source=filters.source or None,
            partner=filters.partner or None,
            sector=filters.sector or None,
            search=filters.q or None,
            offset=offset,
            limit=limit,
        )
    )


def stories_page(request: Request) -> Response:
    filters, problems = parse_filters(request)
    size = request.app.state.settings.web.page_size
    found, total = filtered_stories(request, filters, (filters.page - 1) * size, size)
    pages = max(1, -(-total // size))
    if filters.page > pages:  # past the end (the list shrank, or a hand-typed page): show the last page
        found, _ = filtered_stories(request, filters, (pages - 1) * size, size)
    page = min(filters.page, pages)
    return render(
        request,
        "stories.html",
        filters=replace(filters, page=page),
        problems=problems,
        stories=found,
        total=total,
        page=page,
        pages=pages,
        sources=request.app.state.repository.sources_seen(),
    )


def story_page(request: Request) -> Response:
    story_id = request.path_params["story_id"]
    repository: Repository = request.app.state.repository
    found = repository.story(story_id)
    if found is None:
        raise HTTPException(404, "لا توجد قصة بهذا الرقم")
    story, articles = found
    return render(
        request,
        "story.html",
        story=story,
        articles=[(article, evidence(article.evidence, article.terms)) for article in articles],
        judgements=repository.judgements(story_id),
    )


def sources_page(request: Request) -> Response:
    runs = request.app.state.repository.runs(limit=50)
    return render(request, "sources.html", runs=runs[:20], latest=latest_per_source(runs))


def latest_per_source(runs: list[RunRecord]) -> list[tuple[str, RunRecord, dict[str, int]]]:
    """Each source's most recent run and its counters there, sources by name."""
    latest: dict[str, tuple[RunRecord, dict[str, int]]] = {}
    for run in runs:  # newest first
        for source in run.sources:
            latest.setdefault(source, (run, run.summary.per_source.get(source, {})))
    return [(name, run, counters) for name, (run, counters) in sorted(latest.items())]


def feed(request: Request) -> Response:
    """The filtered stories as Atom, written by the same code as `rasid export`."""
    from storage.export import to_atom

    filters, _ = parse_filters(request)
    found, _ = filtered_stories(request, filters, limit=200)
    body = to_atom(found, "stories", feed_url=str(request.url))
    return Response(body, media_type="application/atom+xml; charset=utf-8")


def render(request: Request, name: str, status_code: int = 200, **context: Any) -> Response:
    """A page from its template, with what every page needs (user, read-only, zone, CSRF token)."""
    from rasid.web.security import csrf_token, current_user

    state = request.app.state
    return state.templates.TemplateResponse(
        request,
        name,
        {
            "user": current_user(request),
            "login_required": state.settings.web.login_required(),
            "read_only": state.settings.web.read_only,
            "csrf": csrf_token(request),
            "partners": state.partners,
            "sectors": state.sectors,
            "zone": _zone(request),
            **context,
        },
        status_code=status_code,
    )
