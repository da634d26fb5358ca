"""One article fetched on demand (``rasid explain URL``): the same polite Scrapy settings, in a child process.

Scrapy's reactor runs once per process, and the caller may already have used it (or may be the daemon),
so ``fetch_article`` runs ``python -m crawler.fetch`` and reads the article back as JSON.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from dataclasses import asdict
from datetime import datetime
from typing import TYPE_CHECKING

from crawler.article import Article

if TYPE_CHECKING:
    from config.settings import Settings

logger = logging.getLogger(__name__)


#: How the spider's and the URL policy's one-line reasons begin; the child's stderr is searched for them.
SPIDER_LINES = ("failed ", "not fetched ", "skipped ", "refused ")


class FetchError(RuntimeError):
    """The page could not be fetched or held no article; the message is one line saying why."""


def fetch_article(url: str, settings: Settings) -> Article | None:
    """The article at ``url``, or None (with one warning line saying why)."""
    try:
        return fetch_article_or_raise(url, settings)
    except FetchError as exc:
        logger.warning("fetch %s: %s", url, exc)
        return None


def time_limit(settings: Settings) -> float:
    """Seconds after which a fetch is given up: every try timing out, and a minute for robots.txt and start-up."""
    return settings.crawl.download_timeout * (settings.crawl.retry_times + 1) + 60


def fetch_article_or_raise(url: str, settings: Settings) -> Article:
    """The article at ``url``; raises ``FetchError`` with the reason there is none."""
    limit = time_limit(settings)
    try:
        done = subprocess.run(
            [sys.executable, "-m", "crawler.fetch", url],
            input=settings.model_dump_json(), capture_output=True, text=True, timeout=limit,
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        raise FetchError(f"no answer within {limit:.0f} seconds") from None
    if done.returncode != 0:
        lines = [line.strip() for line in done.stderr.strip().splitlines() if line.strip()]
        # The spider's own line ("failed URL (source ...): http 404") says more than the generic last one.
        said = [line for line in lines if line.startswith(SPIDER_LINES)]
        raise FetchError(
            said[0] if said else lines[-1] if lines else f"fetch process exited with {done.returncode}"
        )
    data = json.loads(done.stdout)
    for key in ("published", "fetched_at"):
        data[key] = datetime.fromisoformat(data[key]) if data[key] else None
    return Article(**data)


def main(argv: list[str] | None = None) -> int:
    """Child side: settings JSON on stdin, URL as argument; the article as JSON on stdout, or one error line."""
    from config.settings import Settings
    from crawler.extract import NoArticle, read_article
    from crawler.runner import fetch_pages

    args = sys.argv[1:] if argv is None else argv
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    logging.getLogger("crawler.spiders.news").setLevel(logging.INFO)  # robots.txt refusals are INFO
    settings = Settings.model_validate_json(sys.stdin.read())
    url = args[0]
    pages = fetch_pages(settings, [url], source="fetch")
    if not pages:
        sys.stderr.write("not fetched (unreachable, refused by robots.txt, an HTTP error or too large)\n")
        return 1
    try:
        article = read_article(pages[0])
    except NoArticle as exc:
        sys.stderr.write(f"no article: {exc}\n")
        return 1
    data = asdict(article)
    for key in ("published", "fetched_at"):
        data[key] = data[key].isoformat() if data[key] else None
    sys.stdout.write(json.dumps(data, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
