"""Fixtures of the CLI and web view tests (the web view's live in web_fixtures.py)."""

from tests.rasid.web_fixtures import crawled_url, serve  # noqa: F401 - fixtures for test_web*.py
