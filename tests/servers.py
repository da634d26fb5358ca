"""Real HTTP servers on 127.0.0.1 for the tests: the offline snapshot and small purpose-built sites.

- ``snapshot_server`` (session): the default offline snapshot served by ``python -m snapshot`` in a
  child process; ``.url``, ``.sources_file`` (a sources YAML for it) and ``.snapshot`` (the ground truth).
- ``site_server`` (function): a factory, ``site = site_server({"/feed.xml": Route(...)})``, for a small site
  served in a thread and stopped after the test. Fault routes (``/_fault/...``) answer on every site.
- ``serve_site(routes)``: the same as a context manager, for use outside fixtures.
- ``free_port()``: a port nothing listens on now, for a command that must serve twice on one port.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from snapshot.replay import SNAPSHOT_SEED, SNAPSHOT_SIZE, ReplayProcess, Route, SiteServer

if TYPE_CHECKING:
    from snapshot.build import Snapshot


@dataclass(frozen=True, slots=True)
class SnapshotServer:
    """The running snapshot: where it is served, the sources file that points at it, and what it holds."""

    url: str
    sources_file: Path
    snapshot: Snapshot


def free_port() -> str:
    """A loopback port free at this moment (the kernel's pick): tests that crawl the snapshot twice on one port
    take it, rather than the demo's fixed one that a running demo or another test may hold."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return str(probe.getsockname()[1])


def serve_site(routes: Mapping[str, Route]) -> SiteServer:
    """A site server for ``routes``, not yet started: ``with serve_site(routes) as site: site.url``."""
    return SiteServer(routes)


@pytest.fixture(scope="session")
def snapshot_server(shared_data: Path) -> Iterator[SnapshotServer]:
    """The default offline snapshot of real news, served by a child process for the whole session."""
    from snapshot.build import build_snapshot  # only sessions that use the snapshot pay for it

    with ReplayProcess(shared_data, size=SNAPSHOT_SIZE, seed=SNAPSHOT_SEED) as replay:
        snapshot = build_snapshot(shared_data, size=SNAPSHOT_SIZE, seed=SNAPSHOT_SEED)
        yield SnapshotServer(url=replay.url, sources_file=replay.sources_file, snapshot=snapshot)


@pytest.fixture
def site_server() -> Iterator[Callable[[Mapping[str, Route]], SiteServer]]:
    """Factory of started in-thread site servers; each is stopped when the test ends."""
    started: list[SiteServer] = []

    def start(routes: Mapping[str, Route]) -> SiteServer:
        server = SiteServer(routes).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()
