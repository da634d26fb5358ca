"""``rasid hits``, ``rasid stories``, ``rasid export``: what the monitor found, filtered, in four formats."""

from __future__ import annotations

import re
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from config.settings import ConfigError, Settings
from rasid.context import DbOption, console, settings_from
from rasid.safe_output import cell, check_writable, write_atomically

if TYPE_CHECKING:
    from storage.records import Hit, Story
    from storage.repository import Repository

RELATIVE_RE = re.compile(r"^(\d+)\s*([hdw])$")
UNITS = {"h": "hours", "d": "days", "w": "weeks"}
SUFFIX_FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".json": "jsonl", ".atom": "atom", ".xml": "atom"}

SinceOption = Annotated[
    str | None, typer.Option("--since", metavar="WHEN", help="7d, 24h, 2w, or a date such as 2026-11-01")
]
SourceOption = Annotated[str | None, typer.Option("--source", help="only this source (name in sources.yaml)")]
PartnerOption = Annotated[
    str | None, typer.Option("--partner", help="partner country as in keywords.yaml, e.g. الصين")
]
SectorOption = Annotated[str | None, typer.Option("--sector", help="sector as in keywords.yaml, e.g. energy")]
SearchOption = Annotated[
    str | None, typer.Option("--search", help="Arabic text in title or body, matched after normalisation")
]
LimitOption = Annotated[int | None, typer.Option("--limit", "-n", min=1, help="at most this many")]
FormatOption = Annotated[str, typer.Option("--format", "-f", help="table, csv, jsonl or atom")]


def register(app: typer.Typer) -> None:
    """Add ``hits``, ``stories`` and ``export`` to the CLI."""
    app.command("hits")(hits)
    app.command("stories")(stories)
    app.command("export")(export)


def parse_since(value: str | None, now: datetime | None = None) -> datetime | None:
    """'7d', '24h', '2w' back from now, or an ISO date/datetime (UTC unless it says otherwise)."""
    if not value:
        return None
    now = now or datetime.now(UTC)
    match = RELATIVE_RE.match(value.strip().lower())
    if match:
        return now - timedelta(**{UNITS[match.group(2)]: int(match.group(1))})
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise ConfigError(f"--since {value!r}: use 7d, 24h, 2w or a date such as 2026-11-01") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def open_repository(settings: Settings) -> Repository:
    """The repository of the configured database, refusing one at an older schema revision."""
    from storage.db import make_engine
    from storage.repository import Repository, SchemaError

    repository = Repository(make_engine(settings.database_url.get_secret_value()))
    try:
        repository.prepare()
    except SchemaError as exc:
        raise ConfigError(str(exc)) from None
    return repository


def _check_format(fmt: str) -> str:
    from storage.export import FORMATS

    if fmt not in FORMATS:
        raise ConfigError(f"--format {fmt!r}: choose one of {', '.join(FORMATS)}")
    return fmt


def _query(
    settings: Settings,
    kind: str,
    since: str | None,
    source: str | None,
    partner: str | None,
    sector: str | None,
    search: str | None,
    limit: int | None,
) -> list[Hit] | list[Story]:
    repository = open_repository(settings)
    filters = dict(
        since=parse_since(since), source=source, partner=partner, sector=sector, search=search, limit=limit
    )
    return repository.hits(**filters) if kind == "hits" else repository.stories(**filters)


def _emit(records: list[Hit] | list[Story], kind: str, fmt: str) -> None:
    if fmt == "table":
        console.print(_table(records, kind))
        return
    from storage.export import render

    sys.stdout.write(render(records, kind, fmt))


def _table(records: list[Hit] | list[Story], kind: str) -> Table:
    """Rich table; Arabic cells are left as logical text, which terminals with bidi support shape right.

    Every stored string goes in as a ``Text`` cell: a title like ``[/bold]`` is shown, never parsed as markup.
    """
    table = Table(title=f"{len(records)} {kind}", show_lines=False)
    if kind == "hits":
        for column in ("id", "published", "source", "title", "partners", "sectors", "score", "story"):
            table.add_column(column, **_COLUMN_STYLE.get(column, _SHORT))
        for hit in records:
            table.add_row(
                str(hit.article_id),
                _date(hit.published or hit.fetched_at),
                cell(hit.source),
                cell(hit.title),
                cell(", ".join(hit.partners)),
                cell(", ".join(hit.sectors)),
                f"{hit.score:.1f}",
                str(hit.story_id or ""),
            )
    else:
        for column in ("story", "published", "sources", "title", "partners", "sectors", "hit"):
            table.add_column(column, **_COLUMN_STYLE.get(column, _SHORT))
        for story in records:
            table.add_row(
                str(story.story_id),
                _date(story.published or story.first_seen),
                cell(", ".join(story.sources)),
                cell(story.title),
                cell(", ".join(story.partners)),
                cell(", ".join(story.sectors)),
                "yes" if story.is_hit else "no",
            )
    return table


#: The title takes what width there is (Arabic headlines are the point of the table); short columns never wrap.
_SHORT: dict[str, object] = {"no_wrap": True}
_COLUMN_STYLE: dict[str, dict[str, object]] = {
    "title": {"ratio": 4, "min_width": 16, "overflow": "fold"},
    "source": {"overflow": "fold"},
    "sectors": {"ratio": 1, "overflow": "fold"},
    "sources": {"ratio": 1, "overflow": "fold"},
    "partners": {"ratio": 1, "overflow": "fold"},
}


def _date(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d") if value else ""


def hits(
    ctx: typer.Context,
    since: SinceOption = None,
    source: SourceOption = None,
    partner: PartnerOption = None,
    sector: SectorOption = None,
    search: SearchOption = None,
    limit: LimitOption = None,
    fmt: FormatOption = "table",
    db: DbOption = None,
) -> None:
    """List stored articles the classifier flagged, newest first, each with its story id.

    Example: rasid hits --since 7d --partner الصين --format csv
    """
    settings = settings_from(ctx, db)
    _emit(_query(settings, "hits", since, source, partner, sector, search, limit), "hits", _check_format(fmt))


def stories(
    ctx: typer.Context,
    since: SinceOption = None,
    source: SourceOption = None,
    partner: PartnerOption = None,
    sector: SectorOption = None,
    search: SearchOption = None,
    limit: LimitOption = None,
    fmt: FormatOption = "table",
    db: DbOption = None,
) -> None:
    """List stories: each syndicated hit once, with every source that ran it.

    Example: rasid stories --since 24h --sector energy
    """
    settings = settings_from(ctx, db)
    _emit(
        _query(settings, "stories", since, source, partner, sector, search, limit),
        "stories",
        _check_format(fmt),
    )


def export(
    ctx: typer.Context,
    output: Annotated[
        Path, typer.Argument(metavar="FILE", help="where to write; the format follows the suffix")
    ],
    what: Annotated[str, typer.Option("--what", help="hits or stories")] = "hits",
    since: SinceOption = None,
    source: SourceOption = None,
    partner: PartnerOption = None,
    sector: SectorOption = None,
    search: SearchOption = None,
    limit: LimitOption = None,
    fmt: Annotated[
        str | None, typer.Option("--format", "-f", help="csv, jsonl or atom (default: from the suffix)")
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="overwrite FILE if it exists")] = False,
    db: DbOption = None,
) -> None:
    """Write hits or stories to a file as CSV, JSON lines or an Atom feed a feed reader can subscribe to.

    The file is written whole or not at all; an existing FILE is kept unless --force, a symbolic link never
    followed. Example: rasid export hits.atom --what stories --since 7d
    """
    settings = settings_from(ctx, db)
    if what not in ("hits", "stories"):
        raise ConfigError(f"--what {what!r}: choose hits or stories")
    fmt = fmt or SUFFIX_FORMATS.get(output.suffix.lower())
    if fmt is None:
        raise ConfigError(
            f"{output}: cannot tell the format from the suffix; pass --format csv, jsonl or atom"
        )
    if _check_format(fmt) == "table":
        raise ConfigError("--format table is for the terminal; export writes csv, jsonl or atom")
    from storage.export import render

    check_writable(output, force=force)  # before the query, so a refusal costs nothing
    records = _query(settings, what, since, source, partner, sector, search, limit)
    write_atomically(output, render(records, what, fmt), force=force)
    console.print(f"wrote {len(records)} {what} to {output} ({fmt})", soft_wrap=True, markup=False)
