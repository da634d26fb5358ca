"""news-please as a user runs it on a list of feeds: ``python -m bench.newsplease_peer FEEDS_FILE OUT_DIR``.

Its own crawler (``news-please -c DIR`` with ``RssCrawler``) starts from a host's root page and follows
the first feed it links, one site per host, which a snapshot of many outlets on one host and port cannot
give it. So this reads every feed with feedparser (a news-please dependency) and hands the article links
to ``NewsPlease.from_urls``: its own threaded downloader, then its extractors (newspaper, readability,
dates, language) in a process pool over all cores. Images are not fetched (they point at the real outlets).
Each article with a main text is written to ``OUT_DIR`` as JSON, as news-please's JSON storage does; the
counts are printed.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    import feedparser
    from newsplease import NewsPlease

    feeds_file, out_dir = (Path(a) for a in (argv if argv is not None else sys.argv[1:]))
    out_dir.mkdir(parents=True, exist_ok=True)
    links: list[str] = []
    for feed in feeds_file.read_text(encoding="utf-8").split():
        links += [entry.link for entry in feedparser.parse(feed).entries if entry.get("link")]
    # request_args must be given: from_urls reads its "timeout" for each result, and with the default None
    # every article comes back as {} (news-please 1.6.16).
    articles = NewsPlease.from_urls(
        list(dict.fromkeys(links)), request_args={"timeout": 30}, fetch_images=False
    )
    stored = 0
    for number, (url, article) in enumerate(articles.items()):
        if article is None or not getattr(article, "maintext", None):
            continue
        record = {
            "url": url,
            "title": article.title,
            "date": str(article.date_publish),
            "text": article.maintext,
        }
        (out_dir / f"{number}.json").write_text(json.dumps(record, ensure_ascii=False), encoding="utf-8")
        stored += 1
    print(f"links {len(links)} fetched {len(articles)} stored {stored}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
