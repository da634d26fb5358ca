"""``python -m snapshot``: build the offline snapshot and serve it until SIGTERM or SIGINT.

``ReplayProcess`` starts this in a child process and reads the base URL from its first stdout line;
``rasid snapshot serve`` runs :func:`serve` in the foreground.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path

from snapshot.build import build_snapshot
from snapshot.replay import SNAPSHOT_SEED, SNAPSHOT_SIZE, SiteServer
from snapshot.scaled import load_scaled


def serve(
    data_dir: Path,
    size: int = SNAPSHOT_SIZE,
    seed: int = SNAPSHOT_SEED,
    port: int = 0,
    sources_out: Path | None = None,
    on_ready: Callable[[str], None] = print,
    scaled: bool = False,
    host_name: str | None = None,
) -> None:
    """Build the snapshot, serve it on 127.0.0.1, call ``on_ready(base URL)``, serve until SIGTERM or SIGINT.

    ``scaled`` serves the scaled snapshot of ``size`` pages instead (``snapshot.scaled``), uncompressed so
    the server's share of the two cores stays small; ``host_name`` (one that resolves to 127.0.0.1) is
    put in the URLs instead of the address, for crawlers that refuse links to an IP address.
    """
    server = SiteServer({}, port=port, compress=not scaled)
    base = f"http://{host_name}:{server.port}" if host_name else server.url
    if scaled:
        served = load_scaled(data_dir, size, seed).served(base)
        server.set_routes(served.routes())
        if sources_out is not None:
            served.write_sources_yaml(sources_out)
    else:
        snapshot = build_snapshot(data_dir, size=size, seed=seed)
        server.set_routes(snapshot.routes(base))
        if sources_out is not None:
            snapshot.write_sources_yaml(sources_out, base)

    def _stop(signum: int, frame: object) -> None:
        server.request_stop()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    on_ready(base)
    server.serve_forever()
    server.stop()


def main(argv: list[str] | None = None) -> int:
    """Build the snapshot, serve it, print the base URL first, and serve until SIGTERM or SIGINT."""
    from config.settings import DEFAULT_SHARED_DATA

    parser = argparse.ArgumentParser(prog="python -m snapshot", description=main.__doc__)
    parser.add_argument("--data", type=Path, default=DEFAULT_SHARED_DATA, help="the shared real data folder")
    parser.add_argument("--size", type=int, default=SNAPSHOT_SIZE, help="number of pool articles to serve")
    parser.add_argument("--scaled", action="store_true", help="serve the scaled snapshot of --size pages")
    parser.add_argument(
        "--host-name", default=None, help="host name for the URLs (it must resolve to 127.0.0.1)"
    )
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--seed", type=int, default=SNAPSHOT_SEED)
    parser.add_argument(
        "--sources-out", type=Path, default=None, help="write the snapshot's sources YAML here"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if not (args.data / "articles.jsonl").is_file():
        sys.stderr.write(
            f"snapshot: no articles.jsonl in {args.data} (give the shared data folder with --data)\n"
        )
        return 2

    def ready(url: str) -> None:
        sys.stdout.write(url + "\n")
        sys.stdout.flush()

    serve(args.data, args.size, args.seed, args.port, args.sources_out, ready, args.scaled, args.host_name)
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONIOENCODING", "utf-8")
    raise SystemExit(main())
