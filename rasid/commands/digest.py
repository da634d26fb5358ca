"""``rasid digest preview`` and ``rasid digest send``: thin glue over rasid/digest.py, as the daemon is."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from rasid.context import DbOption, SnapshotDbOption, console, err_console, settings_from
from rasid.safe_output import message

digest_app = typer.Typer(help="The daily digest e-mail: preview it, or send it.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    """Add the ``digest`` group to the CLI."""
    app.add_typer(digest_app, name="digest")


@digest_app.command("preview")
def preview(
    ctx: typer.Context,
    out: Annotated[
        Path | None,
        typer.Option("--out", metavar="DIR", help="folder for the files (default: digest.preview_dir)"),
    ] = None,
    db: DbOption = None,
    snapshot: SnapshotDbOption = False,
) -> None:
    """Write the HTML, text and whole message of the digest that would be sent now, claiming nothing.

    Example: rasid digest preview --out /tmp/digest
    """
    from rasid.digest import preview as write_preview

    written = write_preview(settings_from(ctx, db, snapshot=snapshot), out)
    console.print(f"{written.subject}: {written.stories} stories ({written.hits} hits)", soft_wrap=True)
    for path in (written.html, written.text, written.eml):
        console.print(f"wrote {message(str(path))}", soft_wrap=True, highlight=False, markup=False)


@digest_app.command("send")
def send(
    ctx: typer.Context,
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="render and report what would be sent; no SMTP, nothing recorded"),
    ] = False,
    db: DbOption = None,
    snapshot: SnapshotDbOption = False,
) -> None:
    """Mail the hits new since the last digest to digest.recipients, each hit once; exit 1 if it failed.

    Example: rasid digest send --dry-run
    """
    from rasid.digest import send_digest

    outcome = send_digest(settings_from(ctx, db, snapshot=snapshot), dry_run=dry_run)
    if outcome.resent:
        console.print(f"resent {outcome.resent} unfinished digest(s) with their Message-ID", soft_wrap=True)
    if outcome.status == "failed":
        err_console.print(
            f"error: digest not sent: {outcome.error}", markup=False, highlight=False, soft_wrap=True
        )
        raise typer.Exit(1)
    if outcome.status == "busy":
        err_console.print(f"digest not sent: {outcome.error}", markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(1)
    if outcome.status == "nothing-new":
        console.print(
            "nothing new since the last digest: no mail sent (digest.send_empty is off)", soft_wrap=True
        )
        return
    verb = "would send" if outcome.status == "dry-run" else "sent"
    console.print(
        f"{verb} {outcome.subject!s} ({outcome.stories} stories, {outcome.hits} hits), "
        f"Message-ID {outcome.message_id}",
        soft_wrap=True,
        markup=False,
        highlight=False,
    )
