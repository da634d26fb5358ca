"""The ``rasid`` command: one-off crawls, reading hits and stories, explaining verdicts, the database.

Configuration errors stop the command with one line on stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import importlib
import logging
import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.logging import RichHandler

from config.settings import ConfigError
from rasid.app import end_process
from rasid.context import AppState, DbOption, console, err_console, settings_from
from rasid.safe_output import SafeLogFilter, message
from storage.errors import StorageError

app = typer.Typer(
    name="rasid",
    help="rasid (راصد): monitor Arabic news for stories about Russia's cooperation with other countries.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

#: Command modules, one per noun; each has ``register(app)`` that adds its commands.
COMMAND_MODULES = (
    "rasid.commands.crawl",
    "rasid.commands.results",
    "rasid.commands.classify",
    "rasid.commands.database",
    "rasid.commands.daemon",
    "rasid.commands.web",
    "rasid.commands.digest",
    "rasid.commands.snapshot",
)


@app.callback()
def root(
    ctx: typer.Context,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config", "-c", help="TOML config file (default: RASID_CONFIG or ~/.config/rasid/rasid.toml)"
        ),
    ] = None,
    verbose: Annotated[
        int, typer.Option("--verbose", "-v", count=True, help="-v for INFO, -vv for DEBUG logs")
    ] = 0,
) -> None:
    """rasid (راصد): monitor Arabic news for stories about Russia's cooperation with other countries."""
    ctx.obj = AppState(config_file=config, verbose=verbose)
    configure_logging(verbose)


@app.command("config")
def show_config(ctx: typer.Context, db: DbOption = None) -> None:
    """Print the effective settings, secrets masked.

    Example: rasid config
    """
    import json

    console.print_json(json.dumps(settings_from(ctx, db).masked(), ensure_ascii=False))


def configure_logging(verbose: int) -> None:
    """Rich log lines on a terminal, plain ones under a service manager; warnings always shown."""
    level = logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    if sys.stderr.isatty():
        handler: logging.Handler = RichHandler(console=err_console, show_path=False, markup=False)
        handler.setFormatter(logging.Formatter("%(message)s"))
    else:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(SafeLogFilter())  # URL passwords masked, terminal control characters dropped
    root_logger = logging.getLogger()
    root_logger.handlers[:] = [handler]
    root_logger.setLevel(level)
    # Scrapy's own INFO chatter (stats dumps, middleware lists) is noise next to our progress display.
    logging.getLogger("scrapy").setLevel(max(level, logging.WARNING))


def _register_commands() -> None:
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:  # a real missing dependency inside the module must not be hidden
                raise
            continue
        module.register(app)


_register_commands()


def main() -> None:
    """Console-script entry point: run the app, turning configuration and database errors into one line, exit 2."""
    try:
        _run()
    finally:
        end_process()


def _run() -> None:
    from rasid.__main__ import Interrupted, interrupted

    try:
        code = app(standalone_mode=False, prog_name="rasid")  # returns the code a command exited with
        sys.stdout.flush()  # a full disk or a closed pipe shows here, inside the handlers below
    except BrokenPipeError:  # `rasid hits | head`: the reader has what it wanted
        _drop_stdout()
        sys.exit(1)
    except (Interrupted, KeyboardInterrupt):
        interrupted()
    except (ConfigError, StorageError) as exc:  # SchemaError and NoDatabase are StorageErrors
        err_console.print(f"error: {message(str(exc))}", markup=False, highlight=False, soft_wrap=True)
        sys.exit(2)
    except typer.Abort:
        err_console.print("aborted", markup=False, highlight=False)
        sys.exit(1)
    except typer.TyperException as exc:  # a usage error (unknown option, bad value): one line, exit 2
        if str(exc).strip():  # a group called bare has printed its help already
            err_console.print(f"error: {_usage_line(exc)}", markup=False, highlight=False, soft_wrap=True)
        sys.exit(getattr(exc, "exit_code", 2))
    except OSError as exc:  # standard output on a full disk, or a file a command did not expect to fail
        _drop_stdout()
        err_console.print(f"error: {message(str(exc))}", markup=False, highlight=False, soft_wrap=True)
        sys.exit(1)
    sys.exit(code if isinstance(code, int) else 0)


def _drop_stdout() -> None:
    """Point standard output at /dev/null, so the interpreter's last flush does not fail a second time."""
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def _usage_line(exc: Exception) -> str:
    """Click's message, with the command it is about and where to read more, on one line."""
    text = exc.format_message() if hasattr(exc, "format_message") else str(exc)
    context = getattr(exc, "ctx", None)
    command = context.command_path if context is not None else "rasid"
    return f"{' '.join(str(text).split())} (see `{command} --help`)"


if __name__ == "__main__":
    main()
