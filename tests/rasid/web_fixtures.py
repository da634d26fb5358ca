"""Fixtures of the web view's tests: a snapshot crawl per engine, and the app on a real uvicorn server.

Imported by the test_web*.py modules (``from tests.rasid.web_fixtures import ...``), so the crawl runs
only in sessions that test the web view.
"""

from __future__ import annotations

import re
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests
import uvicorn

from config.settings import Settings, load_settings
from rasid.web.app import build_app
from storage.db import make_engine
from storage.repository import Repository
from tests.conftest import POSTGRES_URL, postgres_unavailable
from tests.crawler.conftest import rasid

#: Small enough to crawl in about half a minute, large enough for several partners, sources and pages.
CRAWL_SIZE = 40
CSRF_RE = re.compile(r'name="csrf" value="([^"]+)"')


@pytest.fixture(scope="session", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def crawled_url(
    request: pytest.FixtureRequest, shared_data: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A database filled by one `rasid crawl --snapshot` per engine and session."""
    cleanup: Callable[[], None] | None = None
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('web') / 'rasid.db'}"
    else:
        reason = postgres_unavailable()
        if reason:
            pytest.skip(reason)
        url, cleanup = _postgres_schema()
    done = rasid(
        "crawl", "--snapshot", "--size", str(CRAWL_SIZE), "--snapshot-port", "0", "--db", url, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    yield url
    if cleanup:
        cleanup()


def _postgres_schema() -> tuple[str, Callable[[], None]]:
    """A fresh schema in the test database, as tests/conftest.py's database_url makes, for a whole session."""
    import psycopg
    from sqlalchemy.engine import make_url

    schema = f"w_{uuid.uuid4().hex[:12]}"
    url = make_url(POSTGRES_URL)
    conninfo = dict(host=url.host, port=url.port or 5432, user=url.username, dbname=url.database)
    with psycopg.connect(**conninfo, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')

    def drop() -> None:
        with psycopg.connect(**conninfo, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')

    scoped = url.update_query_dict({"options": f"-csearch_path={schema}"})
    return scoped.render_as_string(hide_password=False), drop


class LiveServer:
    """An ASGI app on a real uvicorn server in a thread, on a free port of 127.0.0.1."""

    def __init__(self, app: Any) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)
        self.sock.close()


@dataclass
class Browser:
    """A requests session against the live server, keeping its cookie (and so its CSRF token)."""

    url: str
    repository: Repository
    settings: Settings
    http: requests.Session = field(default_factory=requests.Session)

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.http.get(self.url + path, allow_redirects=False, timeout=30, **kwargs)

    def post(self, path: str, data: dict[str, str], **kwargs: Any) -> requests.Response:
        return self.http.post(self.url + path, data=data, allow_redirects=False, timeout=30, **kwargs)

    def csrf(self, path: str = "/missed") -> str:
        """The session's form token, read from a page's hidden field."""
        page = self.get(path)
        found = CSRF_RE.search(page.text)
        assert found, f"no CSRF field on {path} ({page.status_code})"
        return found.group(1)


@pytest.fixture
def serve() -> Iterator[Callable[..., Browser]]:
    """Factory: ``serve(database_url, read_only=True, ...)`` starts the web view with those [web] settings."""
    running: list[tuple[LiveServer, Any]] = []

    def start(database_url: str, **web: Any) -> Browser:
        settings = load_settings(None, database_url=database_url, web=web)
        engine = make_engine(database_url)
        repository = Repository(engine)
        repository.prepare()
        server = LiveServer(build_app(settings, repository)).__enter__()
        running.append((server, engine))
        return Browser(server.url, repository, settings)

    yield start
    for server, engine in running:
        server.__exit__()
        engine.dispose()
