"""The application assembled from one ``Settings``: the repository, the classifier, the sources.

The CLI calls these (the daemon and the digest next) instead of building the parts themselves, so a
database that cannot be used or a file that cannot be read fails the same way everywhere: one
``StorageError`` or ``ConfigError`` line, which the caller prints.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from classifiers.keyword import KeywordClassifier
    from config.settings import Settings
    from config.sources import Source
    from crawler.runner import CrawlResult, Progress
    from storage.repository import Repository


def open_repository(settings: Settings, *, create: bool = False) -> Repository:
    """The repository of the configured database at the schema revision the code needs.

    ``create=False`` (reading commands) makes nothing: no folder, no file, no tables; a missing or
    empty database is one line saying how to make one. ``create=True`` (crawl, db upgrade) brings a
    brand-new database to head. A database at an older revision is refused either way.
    """
    from storage.db import make_engine
    from storage.repository import Repository

    engine = make_engine(
        settings.database_url.get_secret_value(), create=create, busy_timeout=settings.database_busy_timeout
    )
    repository = Repository(engine, near_dup_window=settings.near_duplicate_window)
    repository.prepare(create=create)
    return repository


def build_classifier(settings: Settings, rules_only: bool = False) -> KeywordClassifier:
    """The classifier of the configured keywords file, deciding with the configured model (or the rules)."""
    from classifiers.decision import ModelError, load_model
    from classifiers.keyword import KeywordClassifier
    from config.keywords import load_keywords
    from config.settings import ConfigError

    model = None
    if settings.classifier_model and not rules_only:
        try:
            model = load_model(settings.classifier_model)
        except ModelError as exc:
            raise ConfigError(str(exc)) from None
    return KeywordClassifier(load_keywords(settings.keywords_file), model=model)


def load_sources(
    settings: Settings, sources_file: Path | None, names: list[str] | None
) -> tuple[Source, ...]:
    """The configured sources (or those of ``sources_file``), narrowed to ``names`` when given."""
    from config.sources import load_sources as load
    from config.sources import select_sources

    return select_sources(load(sources_file or settings.sources_file), names)


def crawl(
    settings: Settings,
    sources: tuple[Source, ...],
    repository: Repository | None = None,
    *,
    snapshot: bool = False,
    max_age_days: float | None = None,
    on_progress: Callable[[Progress], None] | None = None,
    run_id: int | None = None,
    classifier: KeywordClassifier | None = None,
    worker: bool = False,
) -> CrawlResult:
    """One crawl run of ``sources`` into ``repository``, by default the configured database (made if new).

    ``run_id`` is a run the daemon already recorded as started; without it the crawl records its own.
    ``classifier`` is one the caller built already (to refuse a broken keywords file before anything else).
    ``worker``: with a shared frontier, only take from its queue (another process seeds it).
    """
    from crawler.runner import run_crawl

    repository = repository or open_repository(settings, create=True)
    return run_crawl(
        settings,
        sources,
        repository,
        classifier or build_classifier(settings),
        snapshot=snapshot,
        max_age_days=max_age_days,
        on_progress=on_progress,
        run_id=run_id,
        worker=worker,
    )


def seed(settings: Settings, sources: tuple[Source, ...], repository: Repository | None = None) -> int:
    """Put the sources' entry points on the shared queue (``crawl.redis_url``) for the workers to crawl."""
    from config.settings import ConfigError
    from crawler.frontier import seed as seed_queue
    from crawler.runner import check_redis

    if settings.crawl.redis_url is None:
        raise ConfigError("seeding needs a shared queue: set crawl.redis_url (RASID_CRAWL__REDIS_URL)")
    check_redis(settings)
    repository = repository or open_repository(settings, create=True)
    return seed_queue(settings, sources, repository.seen_urls)


def end_process() -> None:
    """What a rasid process does last (the CLI, a crawl child): close its databases, then spare the
    interpreter's last garbage collection over every object Scrapy, SQLAlchemy and the rest made, which
    took 0.3-0.4 s of a 1.6 s unchanged re-crawl (bench/RESULTS.md)."""
    import gc

    db = sys.modules.get("storage.db")  # a process that opened no database imports no SQLAlchemy here
    if db is not None:
        db.dispose_all()
    gc.freeze()
