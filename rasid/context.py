"""What every CLI command shares: the settings built once, the console, and the common options."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from config.settings import Settings, load_settings

#: Every command accepts ``--db URL``; it overrides RASID_DATABASE_URL and the config file.
DbOption = Annotated[
    str | None,
    typer.Option("--db", metavar="URL", help="database URL (default: RASID_DATABASE_URL or the SQLite file)"),
]

#: Read commands take ``--snapshot`` to read the demo's database, as ``rasid crawl --snapshot`` wrote it.
SnapshotDbOption = Annotated[
    bool,
    typer.Option("--snapshot", help="read the offline snapshot's database (snapshot_database_url) instead"),
]

console = Console()
err_console = Console(stderr=True)


@dataclass
class AppState:
    """The root command's options, kept on the Typer context for the subcommands."""

    config_file: Path | None = None
    verbose: int = 0


def settings_from(
    ctx: typer.Context, db: str | None = None, snapshot: bool = False, **overrides: Any
) -> Settings:
    """The one Settings object of this invocation, with ``--db`` and other command options applied.

    ``snapshot`` points the database at ``snapshot_database_url`` unless ``--db`` names one, so the demo
    never mixes 127.0.0.1 pages into a real monitor's database. The URL is checked here (scheme, driver),
    so every command refuses a malformed one in one line before doing anything.
    """
    from storage.db import check_url

    state: AppState = ctx.find_root().obj or AppState()
    if db:
        overrides["database_url"] = db
    settings = load_settings(state.config_file, **overrides)
    if snapshot and not db:
        settings = settings.model_copy(update={"database_url": settings.snapshot_database_url})
    check_url(settings.database_url.get_secret_value())
    return settings
