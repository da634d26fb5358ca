"""What the digest tests share (a plugin of tests/conftest.py): real labelled hits, an SMTP server, the CLI.

The hits are real positive articles of the labelled dev set, classified by the real classifier and
stored as the crawler would, dated hours before now; one is also run by a second outlet so that a
story has two sources. The SMTP server is aiosmtpd on 127.0.0.1, on a port the OS picks.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from classifiers.keyword import KeywordClassifier
from config.keywords import load_keywords
from config.settings import PACKAGE_DIR
from storage.db import make_engine
from storage.records import PageOutcome
from storage.repository import Repository
from tests.storage.conftest import FakeArticle

REPO_ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class StoredHit:
    title: str
    url: str
    source: str


def labelled_hits(shared_data: Path, count: int, skip: int = 0) -> list[dict[str, Any]]:
    """Real positive articles of the dev set that the real classifier flags, with a title and a URL."""
    classifier = KeywordClassifier(load_keywords(PACKAGE_DIR / "keywords.yaml"))
    found = []
    with (shared_data / "labelled" / "dev.jsonl").open(encoding="utf-8") as handle:
        for line in handle:
            record = json.loads(line)
            if not (record["label"] and record.get("title") and record.get("url")):
                continue
            verdict = classifier.classify(record["title"], record["text"])
            if verdict.is_hit:
                found.append({**record, "verdict": verdict})
    return found[skip : skip + count]


def store_hits(
    url: str, records: list[dict[str, Any]], now: datetime, copy_first: bool = True
) -> list[StoredHit]:
    """Store the records as one crawl run would, published an hour apart before ``now``."""
    engine = make_engine(url)
    repository = Repository(engine)
    repository.prepare()
    outcomes, stored = [], []
    for n, record in enumerate(records):
        published = now - timedelta(hours=n + 1)
        copies = [(record["source"], record["url"])]
        if copy_first and n == 0:  # the agency copy another outlet ran: same text, another URL
            copies.append(("syndicated-copy", f"https://copy.example.org/news/{record['id']}"))
        for source, link in copies:
            article = FakeArticle(
                url=link,
                canonical_url=link,
                source=source,
                title=record["title"],
                text=record["text"],
                published=published,
                fetched_at=now - timedelta(minutes=30),
            )
            outcomes.append(
                PageOutcome(source=source, urls=(link,), article=article, verdict=record["verdict"])
            )
            stored.append(StoredHit(record["title"], link, source))
    run_id = repository.start_run(sorted({o.source for o in outcomes}))
    repository.store(outcomes, run_id)
    engine.dispose()
    return stored


# -- a real SMTP server ------------------------------------------------------------------------------


@dataclass
class Inbox:
    """What the server accepted; scripted replies to DATA (e.g. "451 ..."), and a stall before the reply.

    ``seen`` counts every message that reached DATA, ``messages`` only those answered 250.
    """

    messages: list[EmailMessage] = field(default_factory=list)
    seen: int = 0
    replies: list[str] = field(default_factory=list)
    stall: str | None = None  # "before-queue" or "after-queue": hold DATA until released
    hang_up: int = 0  # this many next messages are queued, then the connection is closed unanswered
    entered: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd's name
        self.seen += 1
        if self.stall == "before-queue":  # aiosmtpd cancels this wait when the client goes away
            await self._hold()
        reply = self.replies.pop(0) if self.replies else "250 OK queued"
        if reply.startswith("250"):  # queued, as an MTA does before it answers
            self.messages.append(message_from_bytes(envelope.original_content, policy=policy.default))  # type: ignore[arg-type]
        if self.stall == "after-queue":  # the reply is held back until the test lets it go
            await self._hold()
        if self.hang_up:  # queued, then the line drops before the client hears 250
            self.hang_up -= 1
            server.transport.close()
        return reply

    async def _hold(self) -> None:
        self.entered.set()
        await asyncio.get_running_loop().run_in_executor(None, self.release.wait, 60)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def smtp_server(**kwargs: Any) -> Iterator[tuple[Inbox, int]]:
    """An aiosmtpd server on 127.0.0.1 (``kwargs`` add TLS or AUTH) and what it received."""
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port(), **kwargs)
    controller.start()
    try:
        yield inbox, controller.port
    finally:
        inbox.release.set()
        controller.stop()


@pytest.fixture
def smtp_inbox() -> Iterator[tuple[Inbox, int]]:
    """A plain SMTP server (no TLS, no AUTH)."""
    with smtp_server() as server:
        yield server


def write_config(path: Path, db_url: str, port: int, **digest: Any) -> Path:
    """A TOML config for the CLI child: the test database and a [digest] table aimed at the test server."""
    values: dict[str, Any] = {
        "smtp_host": "127.0.0.1",
        "smtp_port": port,
        "smtp_timeout": 10,
        "sender": "rasid@desk.example.org",
        "recipients": ["analyst@desk.example.org"],
        "retry_times": 0,
        "retry_backoff": 0,
        "preview_dir": str(path.parent / "preview"),
    } | digest
    lines = [f"database_url = {json.dumps(db_url)}", "[digest]"]
    lines += [f"{key} = {json.dumps(value)}" for key, value in values.items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def run_cli(
    config: Path, *args: str, env: dict[str, str] | None = None, **kwargs: Any
) -> subprocess.CompletedProcess[str]:
    """``rasid --config FILE ...`` in a child process, as an operator or the daemon would run it."""
    return subprocess.run(
        [sys.executable, "-m", "rasid.cli", "--config", str(config), *args],
        cwd=REPO_ROOT,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
        **kwargs,
    )


def spawn_cli(config: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "rasid.cli", "--config", str(config), *args],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def parts(message: EmailMessage) -> tuple[str, str]:
    """The plain-text and HTML bodies of a received digest."""
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert text is not None and html is not None
    return str(text.get_content()), str(html.get_content())  # type: ignore[attr-defined]
