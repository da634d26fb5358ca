"""An article as extracted from a page: the seam between extraction and classification/storage."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Article:
    """Title, body and metadata of one news article; ``None`` means the page does not say."""

    url: str  # URL the page was fetched from (final URL after redirects)
    canonical_url: str  # <link rel=canonical>/og:url, else the normalised URL
    source: str  # source name in sources.yaml
    title: str
    text: str
    published: datetime | None  # aware, UTC
    author: str | None
    lang: str | None
    fetched_at: datetime  # aware, UTC
