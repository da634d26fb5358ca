"""``rasid snapshot serve``: the offline snapshot served alone, so a daemon or several crawls can share it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from config.settings import ConfigError
from rasid.context import console, err_console, settings_from
from snapshot.replay import SNAPSHOT_SEED, SNAPSHOT_SIZE

#: A fixed port keeps the snapshot's URLs the same from run to run, so a second crawl finds every page
#: already seen and fetches nothing; 0 (or a busy port, for ``rasid crawl --snapshot``) takes any free port.
SNAPSHOT_PORT = 8391

snapshot_app = typer.Typer(help="The offline snapshot of real Arabic news, served from 127.0.0.1.",
                           no_args_is_help=True)  # fmt: skip

SnapshotDirOption = Annotated[
    Path | None, typer.Option("--snapshot-dir", metavar="DIR", help="data folder the snapshot is built from")
]
#: Largest --size: the shared data (12,301 articles) fills about 5,000 before an outlet's pool runs dry.
MAX_SNAPSHOT_SIZE = 5000
SizeOption = Annotated[
    int, typer.Option("--size", min=1, max=MAX_SNAPSHOT_SIZE, help="articles in the snapshot")
]


def register(app: typer.Typer) -> None:
    """Add the ``snapshot`` group to the CLI."""
    app.add_typer(snapshot_app, name="snapshot")


def snapshot_server_url(url: str) -> str:
    """The base URL of a running snapshot server (without its last ``/``), or one line saying it is none."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url.strip())
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(
            f"--snapshot-url {url!r}: not an http(s) URL; give the one `rasid snapshot serve` prints,"
            f" such as http://127.0.0.1:{SNAPSHOT_PORT}"
        )
    return url.strip().rstrip("/")


def data_folder(snapshot_dir: Path | None, shared_data: Path) -> Path:
    """The real data the snapshot is built from, or one line saying it is missing."""
    data_dir = snapshot_dir or shared_data
    if not (data_dir / "articles.jsonl").is_file():
        raise ConfigError(
            f"{data_dir}: snapshot data folder not found (no articles.jsonl); pass --snapshot-dir"
        )
    return data_dir


@snapshot_app.command("serve")
def serve(
    ctx: typer.Context,
    port: Annotated[int, typer.Option("--port", min=0, max=65535, help="0: any free port")] = SNAPSHOT_PORT,
    size: SizeOption = SNAPSHOT_SIZE,
    snapshot_dir: SnapshotDirOption = None,
    sources_out: Annotated[
        Path | None, typer.Option("--sources-out", metavar="FILE", help="also write its sources YAML here")
    ] = None,
) -> None:
    """Serve the offline snapshot in the foreground until Ctrl-C; crawls point at it with --snapshot-url.

    Example: rasid snapshot serve --port 8391
    """
    from snapshot.__main__ import serve as serve_snapshot

    data_dir = data_folder(snapshot_dir, settings_from(ctx).shared_data)

    def ready(url: str) -> None:
        console.print(
            f"snapshot: {size} articles served at {url}; crawl it with "
            f"`rasid crawl --snapshot --snapshot-url {url}`; Ctrl-C stops it",
            soft_wrap=True, markup=False, highlight=False,
        )  # fmt: skip

    try:
        serve_snapshot(data_dir, size, SNAPSHOT_SEED, port, sources_out, ready)
    except OSError as exc:
        raise ConfigError(
            f"port {port}: cannot serve there ({exc.strerror}); pass --port 0 for any free port"
        ) from None
    err_console.print("snapshot: stopped")
