"""A page as fetched: bytes and where they came from, before any parsing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Page:
    """The spider's item: one fetched article page, with the hints its feed or sitemap gave."""

    source: str  # source name in sources.yaml
    url: str  # the URL requested (as listed in the feed, sitemap or section page)
    final_url: str  # after redirects
    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes
    fetched_at: datetime  # aware, UTC
    via: str = "feed"  # "feed", "sitemap" or "section"
    listed_title: str | None = None  # title given by the feed/sitemap, if any
    listed_published: datetime | None = None  # date given by the feed/sitemap, if any
