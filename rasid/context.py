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

console = Console()
err_console = Console(stderr=True)


@dataclass
class AppState:
    """The root command's options, kept on the Typer context for the subcommands."""

    config_file: Path | None = None
    verbose: int = 0


def settings_from(ctx: typer.Context, db: str | None = None, **overrides: Any) -> Settings:
    """The one Settings object of this invocation, with ``--db`` and other command options applied."""
    state: AppState = ctx.find_root().obj or AppState()
    if db:
        overrides["database_url"] = db
    return load_settings(state.config_file, **overrides)
