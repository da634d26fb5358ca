"""Fixtures of the CLI and web view tests (the web view's live in web_fixtures.py)."""

import logging
from collections.abc import Iterator

import pytest

from tests.rasid.web_fixtures import crawled_url, serve  # noqa: F401 - fixtures for test_web*.py


@pytest.fixture(autouse=True)
def root_logging_restored() -> Iterator[None]:
    """An in-process CLI run sets the root logger's handler on the stream it had, which the test runner
    closes afterwards; a later test's log line would then print a "Logging error" traceback of its own."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
