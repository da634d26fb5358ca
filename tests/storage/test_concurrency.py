"""Concurrent writers: crawls storing the same pages at once never make two articles of one canonical URL."""

from __future__ import annotations

import random
import threading

from sqlalchemy import func, select

from storage.db import make_engine
from storage.models import ArticleRow
from storage.repository import Repository
from tests.storage.conftest import outcome
from tests.storage.test_repository import TEXT_A, TEXT_B

WRITERS = 4
PAGES = 40


def test_concurrent_writers_never_make_two_articles_with_one_canonical_url(database_url: str) -> None:
    setup = Repository(make_engine(database_url))
    setup.prepare()
    run_id = setup.start_run(["wam"])
    # Each page is reached under a different spelling by each writer (tracking, AMP, mobile variants).
    spellings = [
        "https://wam.ae/ar/{i}?utm_source=x",
        "https://m.wam.ae/ar/{i}/amp",
        "https://www.wam.ae/ar/{i}/",
        "http://wam.ae/ar/{i}#top",
    ]
    barrier = threading.Barrier(WRITERS)
    errors: list[BaseException] = []

    def write(writer: int) -> None:
        engine = make_engine(database_url)
        repo = Repository(engine)
        pages = [
            outcome(
                spellings[writer].format(i=i), f"{TEXT_A if i % 2 else TEXT_B} رقم {i} " * 2, source="wam"
            )
            for i in range(PAGES)
        ]
        random.Random(writer).shuffle(pages)
        try:
            barrier.wait()
            for start in range(0, PAGES, 10):
                repo.store(pages[start : start + 10], run_id)
        except BaseException as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)
        finally:
            engine.dispose()

    threads = [threading.Thread(target=write, args=(w,)) for w in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    with setup.engine.connect() as conn:
        total = conn.execute(select(func.count()).select_from(ArticleRow)).scalar_one()
        distinct = conn.execute(select(func.count(func.distinct(ArticleRow.canonical_url)))).scalar_one()
    assert (total, distinct) == (PAGES, PAGES)
    assert setup.seen_urls([s.format(i=7) for s in spellings]) == {s.format(i=7) for s in spellings}
    setup.engine.dispose()
