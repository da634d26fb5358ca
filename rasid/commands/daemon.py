"""``rasid daemon`` (the service) and ``rasid status`` (what it is doing, read from the database)."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich import box
from rich.markup import escape
from rich.table import Table

from config.settings import ConfigError
from rasid.commands.crawl import SNAPSHOT_PORT, SourcesOption, _port_is_free
from rasid.commands.snapshot import SizeOption, snapshot_server_url
from rasid.context import DbOption, SnapshotDbOption, console, settings_from
from snapshot.replay import SNAPSHOT_SEED, SNAPSHOT_SIZE

if TYPE_CHECKING:
    from config.settings import Settings


def register(app: typer.Typer) -> None:
    """Add ``daemon`` and ``status`` to the CLI."""
    app.command("daemon")(daemon)
    app.command("status")(status)


def daemon(
    ctx: typer.Context,
    sources_file: SourcesOption = None,
    snapshot: Annotated[
        bool,
        typer.Option("--snapshot", help="monitor the offline snapshot, served by the daemon on 127.0.0.1"),
    ] = False,
    snapshot_url: Annotated[
        str | None,
        typer.Option(
            "--snapshot-url", metavar="URL", help="monitor a snapshot server already running at URL"
        ),
    ] = None,
    snapshot_dir: Annotated[
        Path | None,
        typer.Option("--snapshot-dir", metavar="DIR", help="data folder the snapshot is built from"),
    ] = None,
    size: SizeOption = SNAPSHOT_SIZE,
    snapshot_port: Annotated[
        int,
        typer.Option(
            "--snapshot-port", min=0, max=65535, help="port of the snapshot server (0: any free port)"
        ),
    ] = SNAPSHOT_PORT,
    db: DbOption = None,
) -> None:
    """Run the scheduled crawls and the daily digest until SIGTERM, as the schedule settings say.

    Runs in the foreground, for systemd (docs/rasid.service) or a terminal; SIGHUP reloads sources
    and keywords.

    Example: rasid daemon --snapshot   (the offline snapshot, crawled every 15 minutes)
    """
    from rasid.daemon import Daemon, configure_logging

    if snapshot_url is not None:
        snapshot_url = snapshot_server_url(snapshot_url)
    settings = settings_from(ctx, db)
    configure_logging(settings.schedule.log_level)
    _prepare_database(settings)
    if not snapshot and snapshot_url is None:
        service = Daemon(settings, sources_file or settings.sources_file)
        service.load_config()
        raise typer.Exit(service.run())
    data_dir = snapshot_dir or settings.shared_data
    if snapshot_url is not None:
        if sources_file is None:
            sources_file = _snapshot_sources(data_dir, size, snapshot_url)
        service = Daemon(settings, sources_file, snapshot_url=snapshot_url)
        service.load_config()
        raise typer.Exit(service.run())
    from snapshot.replay import ReplayProcess

    if not data_dir.is_dir():
        raise ConfigError(f"{data_dir}: snapshot data folder not found")
    port = snapshot_port if snapshot_port and _port_is_free(snapshot_port) else 0
    with ReplayProcess(data_dir, size=size, seed=SNAPSHOT_SEED, port=port) as replay:
        service = Daemon(settings, sources_file or replay.sources_file, snapshot_url=replay.url)
        service.load_config()
        code = service.run()
    raise typer.Exit(code)


def status(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="one JSON object instead of tables")] = False,
    db: DbOption = None,
    snapshot: SnapshotDbOption = False,
) -> None:
    """Show whether the daemon runs, each source's last run, health and next run, and the digest; read-only.

    Example: rasid status --json
    """
    from rasid.app import open_repository
    from rasid.status import collect
    from storage.models import utcnow

    settings = settings_from(ctx, db, snapshot=snapshot)
    engine = open_repository(settings).engine  # never creates a database: a missing one is one line
    now = utcnow()
    report = collect(engine, settings, now)
    if as_json:
        print(json.dumps(report, default=_iso, ensure_ascii=False, indent=2))
        return
    _print_status(report, now)


def _prepare_database(settings: Settings) -> None:
    """Create or check the schema once, before the scheduler's job store touches the database."""
    from rasid.app import open_repository

    open_repository(settings, create=True).engine.dispose()


def _snapshot_sources(data_dir: Path, size: int, url: str) -> Path:
    """The sources of a snapshot served at ``url`` (built as its server built it), in a file of their own."""
    import tempfile

    from snapshot.build import build_snapshot

    if not (data_dir / "articles.jsonl").is_file():
        raise ConfigError(f"{data_dir}: snapshot data folder not found")
    folder = Path(tempfile.mkdtemp(prefix="rasid-snapshot-"))
    path = folder / "sources.yaml"
    build_snapshot(data_dir, size=size, seed=SNAPSHOT_SEED).write_sources_yaml(path, url.rstrip("/"))
    return path


def _iso(value: Any) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"not JSON: {type(value).__name__}")


def _when(value: datetime | None, short: bool = False) -> str:
    """A UTC time for a line (``2026-11-30 07:00:00Z``) or, ``short``, for a table cell (``11-30 07:00``)."""
    if value is None:
        return ""
    return f"{value:%m-%d %H:%M}" if short else f"{value:%Y-%m-%d %H:%M:%S}Z"


def _next(value: datetime | None, stalled: bool, now: datetime, short: bool = False) -> str:
    """When a job runs next; a time gone by while no daemon runs is run when one starts, not at that time."""
    if stalled and value is not None and value <= now:
        return "at start" if short else f"overdue since {_when(value)}: runs when the daemon starts"
    return _when(value, short)


def _print_status(report: dict[str, Any], now: datetime) -> None:
    d = report["daemon"]
    stalled = not d.get("running")
    if d.get("running"):
        hours, rest = divmod(d["uptime_seconds"], 3600)
        console.print(
            f"daemon: [green]running[/green], pid {d['pid']} on {d['host']}, up {hours}h {rest // 60}m"
            + (f", snapshot at {d['snapshot_url']}" if d.get("snapshot_url") else "")
        )
    elif "pid" in d:
        console.print(
            f"daemon: [red]not running[/red] (last pid {d['pid']} on {d['host']}, "
            f"last heartbeat {_when(d['heartbeat_at'])})"
        )
    else:
        console.print("daemon: [red]never started[/red] on this database")
    for job, when in sorted(report["next_runs"].items()):
        console.print(f"  next {job}: {_next(when, stalled, now) or 'paused'}")
    table = Table(
        title="sources (times in UTC)",
        box=box.SIMPLE_HEAD,
        show_edge=False,
        padding=(0, 1),
        collapse_padding=True,
    )
    columns = (
        "source",
        "last run",
        "outcome",
        "pages",
        "new",
        "hits",
        "errors",
        "fails",
        "next run",
        "health",
    )
    for column in columns:
        numeric = column in {"pages", "new", "hits", "errors", "fails"}
        # Headers whole and values folded, never cut to "sour…", at any terminal width down to 80.
        table.add_column(
            column, justify="right" if numeric else "left", min_width=len(column), overflow="fold"
        )
    for s in report["sources"]:
        outcome = s["outcome"] or ""
        if s["reason"]:
            outcome = f"{outcome}: {s['reason']}"
        colour = {"ok": "green", "unhealthy": "red"}.get(s["health"], "yellow")
        table.add_row(
            s["source"],
            _when(s["last_run"], short=True),
            outcome,
            str(s["pages"]),
            str(s["new_articles"]),
            str(s["hits"]),
            str(s["errors"]),
            str(s["consecutive_failures"]),
            _next(s["next_run"], stalled, now, short=True),
            f"[{colour}]{s['health']}[/{colour}]",
        )
    console.print(table)
    g = report["digest"]
    console.print(
        f"digest: last sent {_when(g['last_sent']) or 'never'}, {g['pending_hits']} hits pending, "
        f"next {_next(g['next_run'], stalled, now) or 'not scheduled'}"
    )
    _print_frontier(report.get("frontier"))


def _print_frontier(f: dict[str, Any] | None) -> None:
    """The shared queue's line and one line per worker seen within its last heartbeats."""
    if f is None:
        return
    if "error" in f:
        console.print(f"shared queue: [red]Redis not reachable[/red]: {escape(f['error'])}")
        return
    orphaned = f", {f['orphaned']} dead workers' requests to re-queue" if f["orphaned"] else ""
    console.print(f"shared queue {escape(f['namespace'])}: {f['queued']} requests queued, "
                  f"{len(f['workers'])} workers{orphaned}")  # fmt: skip
    for w in f["workers"]:
        state = "busy" if w["busy"] else "idle"
        console.print(f"  worker {escape(w['worker'])}: {state}, {w['fetched']} requests taken, "
                      f"last beat {w['seconds_ago']:.0f}s ago")  # fmt: skip
