"""``rasid hits``, ``rasid stories``, ``rasid export``: what the monitor found, filtered, in four formats."""

from __future__ import annotations

import re
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer
from rich import box
from rich.table import Table

from config.settings import MAX_AGE_DAYS, ConfigError, Settings
from rasid.app import open_repository
from rasid.context import DbOption, SnapshotDbOption, console, settings_from
from rasid.safe_output import cell, check_writable, message, write_atomically
from storage.records import Hit, HitQuery, Story

RELATIVE_RE = re.compile(r"^(\d+)\s*([hdw])$")
UNIT_HOURS = {"h": 1, "d": 24, "w": 7 * 24}
SUFFIX_FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".json": "jsonl", ".atom": "atom", ".xml": "atom"}

SinceOption = Annotated[
    str | None, typer.Option("--since", metavar="WHEN", help="7d, 24h, 2w, or a date such as 2026-11-01")
]
SourceOption = Annotated[str | None, typer.Option("--source", help="only this source (name in sources.yaml)")]
PartnerOption = Annotated[
    str | None,
    typer.Option("--partner", help="partner as named in keywords.yaml, in Arabic or English: الصين or China"),
]
SectorOption = Annotated[
    str | None,
    typer.Option("--sector", help="sector as named in keywords.yaml, in Arabic or English: الطاقة or energy"),
]
SearchOption = Annotated[
    str | None, typer.Option("--search", help="Arabic text in title or body, matched after normalisation")
]
#: Largest --limit: far above any database's rows, and well inside SQLite's 64-bit INTEGER.
MAX_LIMIT = 1_000_000_000
LimitOption = Annotated[
    int | None, typer.Option("--limit", "-n", min=1, max=MAX_LIMIT, help="at most this many")
]
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
        back = int(match.group(1)) * UNIT_HOURS[match.group(2)]
        if back > MAX_AGE_DAYS * 24:  # beyond it the date arithmetic overflows, and no news is that old
            raise ConfigError(f"--since {value!r}: reaches back at most {MAX_AGE_DAYS} days (100 years)")
        return now - timedelta(hours=back)
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise ConfigError(f"--since {value!r}: use 7d, 24h, 2w or a date such as 2026-11-01") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


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
    """Resolve the filters (dates, the classifier's partner and sector names), then read the database."""
    query = HitQuery(
        since=parse_since(since),
        source=source,
        partner=_canonical(settings, "partner", partner),
        sector=_canonical(settings, "sector", sector),
        search=search,
        limit=limit,
    )
    repository = open_repository(settings)
    if source and source not in (known := repository.known_sources()):
        shown = ", ".join(known[:30]) + (" ..." if len(known) > 30 else "")
        raise ConfigError(
            f"--source {source!r}: no source of that name in this database; known: {shown or 'none'}"
        )
    return repository.hits(query) if kind == "hits" else repository.stories(query)


def _canonical(settings: Settings, role: str, value: str | None) -> str | None:
    """The classifier's own name for what was typed (الصين or China -> China); unknown names are one line."""
    if not value:
        return None
    from classifiers.names import UnknownName, resolve_name
    from config.keywords import load_keywords

    try:
        return resolve_name(load_keywords(settings.keywords_file), role, value)
    except UnknownName as exc:
        raise ConfigError(str(exc)) from None


def _emit(records: list[Hit] | list[Story], kind: str, fmt: str) -> None:
    if fmt == "table":
        console.print(_table(records, kind))
        return
    from storage.export import render

    sys.stdout.write(render(records, kind, fmt))


def _table(records: list[Hit] | list[Story], kind: str) -> Table:
    """Rich table; Arabic cells are left as logical text, which terminals with bidi support shape right.

    Every column stays at any width down to 80 columns: the title wraps (Arabic headlines are the point of
    the table) and takes what is left; each short column is at least as wide as its longest word (up to
    12 characters), so a name such as ``agriculture`` or ``rt-arabic`` is never broken, while an outlet
    named by a long domain folds; columns are set apart by one space.
    """
    if kind == "hits":
        headers: tuple[str, ...] = (
            "id",
            "published",
            "source",
            "title",
            "partners",
            "sectors",
            "score",
            "story",
        )
        rows = [_hit_row(hit) for hit in records if isinstance(hit, Hit)]
    else:
        headers = ("story", "published", "sources", "title", "partners", "sectors", "hit")
        rows = [_story_row(story) for story in records if isinstance(story, Story)]
    table = Table(
        title=f"{len(records)} {kind}",
        box=box.SIMPLE_HEAD,
        show_edge=False,
        padding=0,  # the box's column separator is the one space between columns: every character counts at 80
    )
    for index, header in enumerate(headers):
        if header == "title":
            table.add_column(header, ratio=1, min_width=TITLE_MIN_WIDTH, overflow="fold")
            continue
        longest_word = max((len(word) for row in rows for word in row[index].split()), default=0)
        # As wide as its longest word, fixed: the title takes the rest; a name longer than a sector's (an
        # outlet named by its domain) folds rather than push a column out.
        table.add_column(header, width=max(len(header), min(longest_word, WORD_MAX_WIDTH)), overflow="fold")
    for row in rows:
        table.add_row(*(cell(value) for value in row))
    return table


def _hit_row(hit: Hit) -> tuple[str, ...]:
    return (
        str(hit.article_id),
        _date(hit.published or hit.fetched_at),
        hit.source,
        hit.title,
        ", ".join(hit.partners),
        ", ".join(hit.sectors),
        f"{hit.score:.1f}",
        str(hit.story_id or ""),
    )


def _story_row(story: Story) -> tuple[str, ...]:
    return (
        str(story.story_id),
        _date(story.published or story.first_seen),
        ", ".join(story.sources),
        story.title,
        ", ".join(story.partners),
        ", ".join(story.sectors),
        "yes" if story.is_hit else "no",
    )


#: The narrowest the title column gets; every other column is as wide as its longest word, up to WORD_MAX_WIDTH.
TITLE_MIN_WIDTH = 12
#: The longest word a short column keeps whole ("agriculture,", "technology,"); longer ones fold.
WORD_MAX_WIDTH = 12


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
    snapshot: SnapshotDbOption = False,
) -> None:
    """List stored articles the classifier flagged, newest first, each with its story id.

    Example: rasid hits --since 7d --partner الصين --format csv
    """
    settings = settings_from(ctx, db, snapshot=snapshot)
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
    snapshot: SnapshotDbOption = False,
) -> None:
    """List stories: each syndicated hit once, with every source that ran it.

    Example: rasid stories --since 24h --sector energy
    """
    settings = settings_from(ctx, db, snapshot=snapshot)
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
    snapshot: SnapshotDbOption = False,
) -> None:
    """Write hits or stories to a file as CSV, JSON lines or an Atom feed a feed reader can subscribe to.

    The file is written whole or not at all; an existing FILE is kept unless --force, a symbolic link never
    followed. Example: rasid export hits.atom --what stories --since 7d
    """
    settings = settings_from(ctx, db, snapshot=snapshot)
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
    shown = message(str(output))  # a file name may carry escape sequences too
    console.print(
        f"wrote {len(records)} {what} to {shown} ({fmt})", soft_wrap=True, markup=False, highlight=False
    )
