"""Storage throughput on both engines: batched store() of real articles, seen-URL lookups, index rebuild.

    python -m bench.store [--data ../shared/data] [--postgres postgresql+psycopg://postgres@127.0.0.1:5432/test]
                          [--batch 100] [--rebuild 100000]

store() is the whole write path (seen marks, canonical URL check, content hash, MinHash signature, LSH
lookup, article, verdict, story) in one transaction per batch. The rebuild figure loads N stored
signatures from the database into a fresh Repository's near-duplicate index, as a new crawl process does.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import psycopg
from sqlalchemy import insert
from sqlalchemy.engine import make_url

from classifiers.verdict import Verdict
from config.settings import DEFAULT_SHARED_DATA
from crawler.article import Article
from storage import dedup
from storage.db import make_engine
from storage.models import ArticleRow, SignatureRow, SourceRow, StoryRow
from storage.records import PageOutcome
from storage.repository import Repository
from storage.urls import canonicalize_url

NOW = datetime.now(UTC)  # inside the near-duplicate window, which the rebuild figure reads


def outcomes(data: Path) -> list[PageOutcome]:
    pages = []
    with (data / "articles.jsonl").open(encoding="utf-8") as handle:
        for row in map(json.loads, handle):
            url = row["url"] or f"https://{row['source']}.invalid/{row['id']}"  # a few corpus rows lack a URL
            article = Article(url, url, row["source"], row["title"] or "", row["text"], None, None, "ar", NOW)
            verdict = Verdict(is_hit=False, score=0.0, classifier_version="bench")
            pages.append(PageOutcome(source=row["source"], urls=(url,), article=article, verdict=verdict))
    return pages


def bench_store(url: str, pages: list[PageOutcome], batch: int) -> dict[str, float]:
    engine = make_engine(url)
    repo = Repository(engine)
    repo.prepare()
    run_id = repo.start_run(sorted({p.source for p in pages}))
    start = time.perf_counter()
    stored = duplicates = 0
    for i in range(0, len(pages), batch):
        result = repo.store(pages[i : i + batch], run_id)
        stored += result.new_articles
        duplicates += result.duplicates
    elapsed = time.perf_counter() - start
    urls = [p.urls[0] for p in pages[:5000]]
    canonicalize_url.cache_clear()  # as a fresh crawl process would: every URL canonicalised cold
    t0 = time.perf_counter()
    seen = repo.seen_urls(urls)
    seen_elapsed = time.perf_counter() - t0
    t0 = time.perf_counter()
    again = sum(repo.store(pages[i : i + batch], run_id).already_stored for i in range(0, len(pages), batch))
    again_elapsed = time.perf_counter() - t0
    engine.dispose()
    return {
        "articles": stored,
        "duplicates": duplicates,
        "per_second": stored / elapsed,
        "seconds": elapsed,
        "seen_5000_ms": seen_elapsed * 1000,
        "seen_found": len(seen),
        "second_pass_per_second": again / again_elapsed,
    }


def bench_rebuild(url: str, size: int) -> dict[str, float]:
    """Bulk-load ``size`` minimal articles with random signatures, then time a fresh index load."""
    engine = make_engine(url)
    Repository(engine).prepare()
    rng = np.random.default_rng(7)
    with engine.begin() as conn:
        conn.execute(insert(SourceRow), [{"name": "bench", "first_seen": NOW}])
        conn.execute(insert(StoryRow), [{"id": 1, "title": "bench", "first_seen": NOW}])
        step = 10_000
        for base in range(0, size, step):
            n = min(step, size - base)
            conn.execute(
                insert(ArticleRow),
                [
                    {
                        "id": base + i + 1,
                        "canonical_hash": f"h{base + i}",
                        "canonical_url": f"https://b/{base + i}",
                        "url": f"https://b/{base + i}",
                        "source": "bench",
                        "title": "t",
                        "text": "x",
                        "fetched_at": NOW,
                        "story_id": 1,
                    }
                    for i in range(n)
                ],
            )
            values = rng.integers(0, 2**32 - 1, (n, dedup.NUM_PERM), dtype=np.uint32)
            conn.execute(
                insert(SignatureRow),
                [{"article_id": base + i + 1, "hashvalues": dedup.to_bytes(values[i])} for i in range(n)],
            )
    repo = Repository(engine)
    start = time.perf_counter()
    loaded = repo.load_index()
    elapsed = time.perf_counter() - start
    engine.dispose()
    return {"loaded": loaded, "seconds": elapsed}


def _admin(url: str) -> psycopg.Connection:
    """An autocommit connection to the database of ``url``, for creating and dropping schemas."""
    parsed = make_url(url)
    return psycopg.connect(
        host=parsed.host, port=parsed.port or 5432, user=parsed.username, dbname=parsed.database,
        autocommit=True,
    )  # fmt: skip


def fresh_postgres_schema(url: str) -> tuple[str, str]:
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    with _admin(url) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    scoped = make_url(url).update_query_dict({"options": f"-csearch_path={schema}"})
    return scoped.render_as_string(hide_password=False), schema


def drop_postgres_schema(url: str, schema: str) -> None:
    with _admin(url) as conn:
        conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_SHARED_DATA)
    parser.add_argument("--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--rebuild", type=int, default=100_000)
    args = parser.parse_args()
    pages = outcomes(args.data)
    print(f"{len(pages)} real articles, batches of {args.batch}")
    with tempfile.TemporaryDirectory() as tmp:
        engines = {"sqlite": (f"sqlite:///{tmp}/store.db", f"sqlite:///{tmp}/rebuild.db", None)}
        pg_store, s1 = fresh_postgres_schema(args.postgres)
        pg_rebuild, s2 = fresh_postgres_schema(args.postgres)
        engines["postgresql"] = (pg_store, pg_rebuild, (s1, s2))
        try:
            for name, (store_url, rebuild_url, _) in engines.items():
                r = bench_store(store_url, pages, args.batch)
                print(
                    f"{name:>10}: stored {r['articles']:.0f} ({r['duplicates']:.0f} joined a story)"
                    f" at {r['per_second']:.0f} articles/s"
                    f" ({r['seconds']:.1f} s); seen_urls(5000) {r['seen_5000_ms']:.0f} ms,"
                    f" {r['seen_found']} seen;"
                    f" second pass {r['second_pass_per_second']:.0f} pages/s"
                )
                rb = bench_rebuild(rebuild_url, args.rebuild)
                print(
                    f"{name:>10}: index rebuilt from {rb['loaded']:.0f} stored signatures"
                    f" in {rb['seconds']:.1f} s"
                )
        finally:
            for schema in engines["postgresql"][2]:
                drop_postgres_schema(args.postgres, schema)


if __name__ == "__main__":
    main()
