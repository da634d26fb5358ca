"""The web view while another process holds the SQLite write lock: its own 503 page, one log line."""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from config.settings import load_settings
from rasid.web.app import BUSY, build_app
from storage.db import make_engine
from storage.repository import Repository
from tests.rasid.web_fixtures import Browser, LiveServer
from tests.storage.conftest import hit_verdict, outcome
from tests.storage.test_stories import WAM_TEXT


@pytest.fixture(params=[0.3])
def site(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[tuple[Browser, Path]]:
    """The web view over a one-hit SQLite database, giving up on a lock after 0.3 s (or ``param`` s)."""
    path = tmp_path / "rasid.db"
    url = f"sqlite:///{path}"
    engine = make_engine(url, busy_timeout=request.param)
    repository = Repository(engine)
    repository.prepare()
    run_id = repository.start_run(["wam"])
    repository.store([outcome("https://wam.ae/ar/1", WAM_TEXT, source="wam", verdict=hit_verdict())], run_id)
    settings = load_settings(None, database_url=url)
    with LiveServer(build_app(settings, repository)) as server:
        yield Browser(server.url, repository, settings), path
    engine.dispose()


def test_a_judgement_while_the_database_is_locked_is_an_arabic_503_and_one_log_line(
    site: tuple[Browser, Path], caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    browser, path = site
    story = browser.repository.stories()[0]
    token = browser.csrf(f"/stories/{story.story_id}")
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # a crawl writing a batch, or a stuck sqlite3 shell
    holder.execute("UPDATE crawl_runs SET status = status")
    try:
        with caplog.at_level(logging.WARNING, logger="rasid.web"):
            answer = browser.post(f"/stories/{story.story_id}/judge", {"csrf": token, "judgement": "right"})
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert answer.status_code == 503
    assert BUSY in answer.text and 'dir="rtl"' in answer.text
    assert answer.headers["retry-after"] == "10"
    said = [r for r in caplog.records if r.name.startswith("rasid.web")]
    assert [(r.levelname, r.exc_info) for r in said] == [("WARNING", None)]
    assert said[0].getMessage() == (
        f"POST /stories/{story.story_id}/judge: sqlite:///{path}: locked by another process (gave up waiting)"
    )
    assert "Traceback" not in capfd.readouterr().err
    assert browser.repository.judgements(story.story_id) == []  # nothing half-written: tried again later


@pytest.mark.parametrize("site", [10.0], indirect=True)
def test_a_request_waiting_on_the_lock_holds_up_no_other_page(site: tuple[Browser, Path]) -> None:
    browser, path = site
    story = browser.repository.stories()[0]
    token = browser.csrf(f"/stories/{story.story_id}")
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    holder.execute("UPDATE crawl_runs SET status = status")
    answers: dict[str, float] = {}
    started = time.monotonic()
    judging = threading.Thread(
        target=lambda: browser.post(f"/stories/{story.story_id}/judge", {"csrf": token, "judgement": "right"})
    )
    try:
        judging.start()
        time.sleep(0.5)  # the judgement is now waiting on the lock
        for page in ("/sources", "/judgements", f"/stories/{story.story_id}"):
            asked = time.monotonic()
            assert browser.get(page).status_code == 200
            answers[page] = time.monotonic() - asked
    finally:
        holder.execute("ROLLBACK")
        holder.close()
        judging.join(timeout=30)
    assert time.monotonic() - started < 10.0, "the pages were read before the judgement gave up"
    assert max(answers.values()) < 5.0, answers
