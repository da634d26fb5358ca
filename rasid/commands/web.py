"""``rasid web`` (the analyst's web view) and ``rasid feedback export`` (judgements as labelled JSONL)."""

from __future__ import annotations

import json
import socket
import sys
from pathlib import Path
from typing import Annotated

import typer

from config.settings import ConfigError
from rasid.commands.results import open_repository
from rasid.context import DbOption, console, err_console, settings_from
from rasid.safe_output import check_writable, message, write_atomically

feedback_app = typer.Typer(help="The analysts' judgements from the web view.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    """Add ``web`` and ``feedback export`` to the CLI."""
    app.command("web")(web)
    app.add_typer(feedback_app, name="feedback")
    feedback_app.command("export")(export_feedback)


def web(
    ctx: typer.Context,
    host: Annotated[str | None, typer.Option("--host", help="address to bind (default 127.0.0.1)")] = None,
    port: Annotated[
        int | None, typer.Option("--port", min=0, max=65535, help="TCP port (default 8390; 0: any free port)")
    ] = None,
    hash_password: Annotated[
        bool, typer.Option("--hash-password", help="read a password and print its hash for web.password_hash")
    ] = False,
    db: DbOption = None,
) -> None:
    """Serve the web view: stories to browse, filter and judge, right to left; judgements feed `rasid eval`.

    Any address but loopback needs web.secret_key and web.password_hash or web.token (environment or
    config file). Example: rasid web --port 8390
    """
    from rasid.web.security import check_bind, check_password_hash
    from rasid.web.security import hash_password as make_hash

    if hash_password:
        sys.stdout.write(make_hash(_read_password()) + "\n")  # stdout holds the hash alone, for $(...)
        return
    settings = settings_from(ctx, db)
    host = host or settings.web.host
    port = settings.web.port if port is None else port
    check_bind(settings.web, host)
    check_password_hash(settings.web)

    import uvicorn

    from rasid.web.app import build_app

    app = build_app(settings, open_repository(settings))
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(2048)  # listening before the line below is printed: a client reading it can connect
    except OSError as exc:
        raise ConfigError(f"web: cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    bound = sock.getsockname()[1]
    shown = f"[{host}]" if family == socket.AF_INET6 else host
    # The bound port, so a caller that asked for port 0 learns where to connect (tests read this line).
    console.print(
        f"rasid web: serving on http://{shown}:{bound}/", markup=False, highlight=False, soft_wrap=True
    )
    if settings.web.read_only:
        err_console.print("read-only: judgements are refused", markup=False, highlight=False)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False, server_header=False))
    server.run(sockets=[sock])


def _read_password() -> str:
    """The password to hash: asked twice on a terminal (prompts on stderr), else read from stdin.

    From a pipe or file: one line, or the same line twice (what `printf 'pw\\npw\\n' |` sends).
    """
    if sys.stdin.isatty():
        return str(typer.prompt("password", hide_input=True, confirmation_prompt=True, err=True))
    lines = sys.stdin.read().splitlines()
    if len(lines) == 2 and lines[0] != lines[1]:
        raise ConfigError("--hash-password: the two lines read from standard input differ")
    if len(lines) not in (1, 2) or not lines[0]:
        raise ConfigError(
            "--hash-password reads the password from standard input: one line, or the same line twice"
        )
    return lines[0]


def export_feedback(
    ctx: typer.Context,
    output: Annotated[
        Path | None,
        typer.Argument(metavar="[FILE]", help="labelled JSONL to write (default or -: standard output)"),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="overwrite FILE if it exists")] = False,
    db: DbOption = None,
) -> None:
    """Write every judged article (latest judgement wins) as labelled JSONL for `rasid eval` and training.

    Lines have the shape of ../shared/data/labelled/*.jsonl: id, source, url, title, text, label, kind.
    FILE is written as `rasid export` writes: whole or not at all, kept unless --force, never through a link.
    Example: rasid feedback export judged.jsonl && rasid eval judged.jsonl
    """
    settings = settings_from(ctx, db)
    if output is not None and str(output) == "-":
        output = None
    if output is not None:
        check_writable(output, force=force)  # before the query, so a refusal costs nothing
    repository = open_repository(settings)
    records = repository.labelled_feedback()
    text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
    without_text = repository.unlabelled_missed()
    if output is None:
        sys.stdout.write(text)
    else:
        write_atomically(output, text, force=force)
        hits = sum(1 for r in records if r["label"])
        console.print(
            f"wrote {len(records)} judged articles ({hits} hits, {len(records) - hits} not) to "
            + message(str(output)),
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
    if without_text:
        err_console.print(
            f"left out {without_text} missed hits given by URL only: crawl them or add their text",
            markup=False,
            highlight=False,
        )
