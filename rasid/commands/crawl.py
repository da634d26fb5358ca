"""``rasid crawl`` and ``rasid sources list/check``: one-off crawls and a look at the outlets."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from config.settings import MAX_AGE_DAYS, ConfigError, mask_url
from crawler.stats import ARTICLES, COUNTERS, ERRORS, HITS, NEW, PAGES, SKIPPED
from rasid.commands.snapshot import (
    SNAPSHOT_PORT,
    SizeOption,
    SnapshotDirOption,
    data_folder,
    snapshot_server_url,
)
from rasid.context import DbOption, console, err_console, settings_from
from rasid.safe_output import cell
from rasid.source_check import REPORT_NAME
from snapshot.replay import SNAPSHOT_SEED, SNAPSHOT_SIZE
from storage.safe_text import one_line

if TYPE_CHECKING:
    from classifiers.keyword import KeywordClassifier
    from config.settings import Settings
    from config.sources import Source
    from crawler.runner import CrawlResult
    from snapshot.replay import ReplayProcess
    from storage.repository import Repository

logger = logging.getLogger(__name__)


SourcesOption = Annotated[
    Path | None,
    typer.Option("--sources", metavar="FILE", help="sources YAML to use instead of the configured one"),
]
SourceOption = Annotated[
    list[str] | None, typer.Option("--source", metavar="NAME", help="crawl only this source (repeatable)")
]

#: How ``sources check`` colours each finding's status.
STATUS_COLOURS = {
    "ok": "green",
    "unreachable": "red",
    "failed": "red",
    "blocked": "magenta",
    "needs-browser": "cyan",
}

sources_app = typer.Typer(
    help="List the configured sources, or check that their entry points answer.", no_args_is_help=True
)


#: What the snapshot's first line says about it, before the warnings its broken pages cause.
SNAPSHOT_NOTE = (
    "age window off (its articles are up to years old); the bbc outlet also lists broken links on purpose "
    "(a 404, a 503, a redirect loop, a page too large), each one warning below"
)


def register(app: typer.Typer) -> None:
    """Add ``crawl`` and the ``sources`` group to the CLI."""
    app.command("crawl")(crawl)
    app.add_typer(sources_app, name="sources")


def crawl(
    ctx: typer.Context,
    sources_file: SourcesOption = None,
    source: SourceOption = None,
    snapshot: Annotated[
        bool, typer.Option("--snapshot", help="crawl the offline snapshot of real news served on 127.0.0.1")
    ] = False,
    snapshot_dir: SnapshotDirOption = None,
    size: SizeOption = SNAPSHOT_SIZE,
    snapshot_url: Annotated[
        str | None,
        typer.Option(
            "--snapshot-url", metavar="URL", help="crawl a snapshot already served (rasid snapshot serve)"
        ),
    ] = None,
    snapshot_port: Annotated[
        int,
        typer.Option(
            "--snapshot-port", min=0, max=65535, help="port of the snapshot server (0: any free port)"
        ),
    ] = SNAPSHOT_PORT,
    max_age_days: Annotated[
        float | None,
        typer.Option(
            "--max-age-days", help=f"skip articles older than this (default 3, at most {MAX_AGE_DAYS})"
        ),
    ] = None,
    worker: Annotated[
        bool,
        typer.Option(
            "--worker", help="only work the shared queue (crawl.redis_url) that another crawl seeds"
        ),
    ] = False,
    seed_only: Annotated[
        bool,
        typer.Option("--seed-only", help="only put the entry points on the shared queue, for the workers"),
    ] = False,
    db: DbOption = None,
) -> None:
    """Crawl the sources once: new articles are extracted, classified and stored, with a summary per source.

    With crawl.redis_url set the crawl is shared: it seeds the Redis queue and works it, and every
    `rasid crawl --worker` (here or on other machines) takes from the same queue until it is empty.

    Example: rasid crawl --source rt-arabic --db sqlite:///rasid.db
    """
    from rasid.app import build_classifier, open_repository

    if snapshot_url is not None and not snapshot:
        raise ConfigError("--snapshot-url needs --snapshot: without it the live outlets would be crawled")
    if snapshot_url is not None:
        snapshot_url = snapshot_server_url(snapshot_url)
    if max_age_days is not None and not 0 <= max_age_days <= MAX_AGE_DAYS:  # NaN fails this too
        raise ConfigError(f"--max-age-days {max_age_days:g}: between 0 and {MAX_AGE_DAYS} days (100 years)")
    settings = settings_from(ctx, db, snapshot=snapshot)
    if (worker or seed_only) and settings.crawl.redis_url is None:
        flag = "--worker" if worker else "--seed-only"
        raise ConfigError(f"{flag} needs a shared queue: set crawl.redis_url (RASID_CRAWL__REDIS_URL)")
    if worker and seed_only:
        raise ConfigError("--worker and --seed-only exclude each other: a worker never seeds")
    if not snapshot:
        window = max_age_days if max_age_days is not None else settings.crawl.max_age_days
        sources = _sources(settings, sources_file, source)
        # A broken keywords file stops here, before a database is made; a database it cannot use stops
        # at open_repository, in one line.
        classifier = build_classifier(settings)
        repository = open_repository(settings, create=True)
        _exit_for(
            _crawl(
                settings,
                sources,
                repository,
                snapshot=False,
                max_age_days=window,
                classifier=classifier,
                worker=worker,
                seed_only=seed_only,
            )
        )
        return

    data_dir = data_folder(snapshot_dir, settings.shared_data)
    repository = open_repository(settings, create=True)
    if snapshot_url:  # one already served (rasid snapshot serve): its sources follow from data, size and URL
        from config.sources import select_sources
        from snapshot.build import build_snapshot

        served = build_snapshot(data_dir, size=size, seed=SNAPSHOT_SEED).sources(snapshot_url)
        console.print(
            f"snapshot: crawling the one served at {snapshot_url}; {SNAPSHOT_NOTE}; "
            f"database {mask_url(settings.database_url.get_secret_value())}",
            soft_wrap=True,
        )
        _exit_for(_crawl(settings, select_sources(served, source), repository, snapshot=True,
                         max_age_days=max_age_days, worker=worker, seed_only=seed_only))  # fmt: skip
        return
    with _replay(data_dir, size, snapshot_port) as replay:
        console.print(
            f"snapshot: {size} articles served at {replay.url}; {SNAPSHOT_NOTE}; "
            f"database {mask_url(settings.database_url.get_secret_value())}",
            soft_wrap=True,
        )
        sources = _sources(settings, sources_file or replay.sources_file, source)
        result = _crawl(
            settings,
            sources,
            repository,
            snapshot=True,
            max_age_days=max_age_days,
            worker=worker,
            seed_only=seed_only,
        )
    _exit_for(result)


@sources_app.command("list")
def sources_list(ctx: typer.Context, sources_file: SourcesOption = None, db: DbOption = None) -> None:
    """Show each configured source and the feeds, news sitemaps and section pages it offers.

    Example: rasid sources list
    """
    settings = settings_from(ctx, db)
    sources = _sources(settings, sources_file, None)
    health = _last_runs(settings)
    table = Table(title=f"{len(sources)} sources ({sources_file or settings.sources_file})")
    for column in ("source", "country", "home", "feeds", "sitemaps", "sections", "verified", "last crawl"):
        table.add_column(column, justify="right" if column in {"feeds", "sitemaps", "sections"} else "left")
    for s in sources:
        counts = (str(len(s.feeds)), str(len(s.sitemaps)), str(len(s.sections)))
        table.add_row(
            cell(s.name),
            cell(s.country or ""),
            cell(s.url),
            *counts,
            _confidence(s),
            cell(health.get(s.name, "")),
        )
    console.print(table)


@sources_app.command("check")
def sources_check(
    ctx: typer.Context,
    sources_file: SourcesOption = None,
    source: SourceOption = None,
    write: Annotated[
        Path | None,
        typer.Option(
            "--write", metavar="FILE", help=f"JSON report to update (default: {REPORT_NAME} in the data home)"
        ),
    ] = None,
    db: DbOption = None,
) -> None:
    """Fetch each entry point once and tell, in one line each, whether it answers, how many article links it
    lists and the newest date; the findings are merged into a JSON report for whoever edits the sources next.

    Example: rasid sources check --source kuna --write sources-check.json
    """
    from datetime import UTC, datetime

    from config.settings import DEFAULT_DATA_DIR
    from crawler.runner import check_sources
    from rasid.source_check import judge, summarize, write_report

    settings = settings_from(ctx, db)
    sources = _sources(settings, sources_file, source)
    by_name = {s.name: s for s in sources}
    checked_at = datetime.now(UTC)
    with err_console.status(f"checking {sum(_entry_count(s) for s in sources)} entry points..."):
        reports = check_sources(settings, sources)
    findings = [judge(r, by_name[r.source].entry(r.url)) for r in reports if r.source in by_name]
    table = Table(title="entry points")
    for column in ("source", "kind", "url", "answers", "links", "newest article"):
        table.add_column(column, justify="right" if column == "links" else "left", overflow="fold")
    for f in findings:
        colour = STATUS_COLOURS.get(f.status, "yellow")
        newest = f"{f.newest:%Y-%m-%d %H:%M}" if f.newest else ""
        answer = f"[{colour}]{escape(one_line(f.message))}[/{colour}]"
        table.add_row(cell(f.source), f.kind, cell(f.url), answer, str(f.links), newest)
    console.print(table)
    console.print(summarize(findings))
    report = write or DEFAULT_DATA_DIR / REPORT_NAME
    if findings and all(f.status == "unreachable" for f in findings):
        # An offline run must not overwrite what a connected one found.
        console.print(f"every host is unreachable: is this machine offline? ({report} left as it was)")
        raise typer.Exit(1)  # a script or a cron job checking the sources must see that nothing answered
    held = write_report(report, findings, sources_file or settings.sources_file, checked_at)
    console.print(f"report: {report} ({held} entry points)", markup=False, highlight=False, soft_wrap=True)


# ---------------------------------------------------------------------------------------------- helpers


def _sources(settings: Settings, sources_file: Path | None, names: list[str] | None) -> tuple[Source, ...]:
    from rasid.app import load_sources

    return load_sources(settings, sources_file, names)


def _last_runs(settings: Settings) -> dict[str, str]:
    """Each source's counters in the latest stored run that crawled it; nothing if there is no database yet."""
    from rasid.app import open_repository
    from storage.errors import StorageError

    try:
        runs = open_repository(settings).runs(limit=50)  # listing sources never creates a database
    except StorageError as exc:
        logger.info("no crawl history: %s", exc)
        return {}
    health: dict[str, str] = {}
    for run in runs:  # newest first
        for name, counts in run.summary.per_source.items():
            if name not in health:
                health[name] = (
                    f"{run.started_at:%Y-%m-%d %H:%M}: {counts.get('articles', 0)} articles, "
                    f"{counts.get('new', 0)} new, {counts.get('errors', 0)} errors"
                )
    return health


@contextmanager
def _replay(data_dir: Path, size: int, port: int) -> Iterator[ReplayProcess]:
    """The snapshot server, started on ``port``, or on any free port when that one is taken."""
    from snapshot.replay import ReplayProcess

    replay = None
    if port and _port_is_free(port):
        try:
            replay = ReplayProcess(data_dir, size=size, seed=SNAPSHOT_SEED, port=port).__enter__()
        except RuntimeError:  # taken between the probe and the bind (another demo starting)
            logger.debug("snapshot server could not bind port %d", port, exc_info=True)
    if replay is None and port:
        err_console.print(
            f"snapshot: port {port} is busy; serving on another port, so pages seen by earlier "
            "snapshot runs are fetched again (storage still keeps one copy)"
        )
    if replay is None:
        try:
            replay = ReplayProcess(data_dir, size=size, seed=SNAPSHOT_SEED, port=0).__enter__()
        except RuntimeError as exc:
            raise ConfigError(f"snapshot server did not start: {str(exc).splitlines()[-1]}") from None
    try:
        yield replay
    finally:
        replay.__exit__(None, None, None)


def _port_is_free(port: int) -> bool:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _confidence(source: Source) -> str:
    """How many entry points public evidence confirmed, and what is known to stand in the way."""
    entries = source.entry_points
    marks = [f"{e.kind} blocked {e.blocked}" for e in entries if e.blocked]
    marks += [f"{e.kind} needs a browser" for e in entries if e.needs_browser]
    text = f"{sum(e.is_verified for e in entries)}/{len(entries)}"
    return f"{text} ({', '.join(marks)})" if marks else text


def _entry_count(source: Source) -> int:
    return len(source.feeds) + len(source.sitemaps) + len(source.sections) or 1


def _crawl(
    settings: Settings,
    sources: tuple[Source, ...],
    repository: Repository,
    *,
    snapshot: bool,
    max_age_days: float | None,
    classifier: KeywordClassifier | None = None,
    worker: bool = False,
    seed_only: bool = False,
) -> CrawlResult | None:
    """Run the crawl under a live progress bar, then print the per-source summary table."""
    from crawler.runner import INTERRUPTED
    from crawler.runner import Progress as CrawlProgress
    from rasid.app import crawl as run_crawl
    from rasid.app import seed

    if seed_only:
        pushed = seed(settings, sources, repository)
        console.print(f"seeded the shared queue: {pushed} entry points of {len(sources)} sources")
        return None

    window = f"articles of the last {max_age_days:g} days" if max_age_days is not None else "no age window"
    err_console.print(f"crawling {len(sources)} sources ({window})")
    counters = " · ".join(f"{name} {{task.fields[{name}]}}" for name in COUNTERS)
    columns = (SpinnerColumn(), TextColumn("crawl"), BarColumn(), TextColumn(counters), TimeElapsedColumn())
    with Progress(*columns, console=err_console, transient=False) as bar:
        zero: dict[str, Any] = dict.fromkeys(COUNTERS, 0)  # the counters are the bar's text fields
        task = bar.add_task("crawl", total=None, **zero)

        def update(p: CrawlProgress) -> None:
            fetched = p.counts[PAGES]
            counts: dict[str, Any] = dict(p.counts)
            bar.update(task, completed=fetched, total=max(p.queued, fetched, 1), **counts)

        result = run_crawl(
            settings, sources, repository, snapshot=snapshot, max_age_days=max_age_days, on_progress=update,
            classifier=classifier,
            worker=worker,
        )  # fmt: skip
    if result.status == INTERRUPTED:
        from rasid.__main__ import interrupted

        summary = result.summary
        interrupted(
            f"crawl run {result.run_id} stopped after {summary.pages_fetched} pages; "
            f"{summary.articles_stored} new articles stored, the rest is fetched next run"
        )
    _print_summary(result)
    return result


def _print_summary(result: CrawlResult) -> None:
    """Per source and in total, the same counters under the same names as the progress bar."""
    summary = result.summary
    table = Table(title=f"crawl run {result.run_id}: {result.status}")
    table.add_column("source")
    for column in COUNTERS:
        table.add_column(column, justify="right")
    for name, counts in summary.per_source.items():
        table.add_row(cell(name), *(str(counts.get(c, 0)) for c in COUNTERS))
    table.add_section()
    totals = {
        PAGES: summary.pages_fetched,
        ARTICLES: summary.articles_extracted,
        HITS: summary.hits,
        NEW: summary.articles_stored,
        SKIPPED: summary.skipped,
        ERRORS: summary.errors,
    }
    table.add_row("total", *(str(totals[c]) for c in COUNTERS), style="bold")
    console.print(table)
    if result.hits_seen_again:  # flagged again, not listed again: `rasid hits` shows the stored article
        seen = result.hits_seen_again
        console.print(
            f"{seen} more {'article flagged as a hit was' if seen == 1 else 'articles flagged as hits were'} "
            "stored before (the same URL, or the same outlet's text under another URL): not new hits",
            markup=False,
        )
    if result.not_modified or result.over_budget:
        console.print(
            f"{result.not_modified} listings not modified since the last run (nothing re-read); "
            f"{result.over_budget} new links over the per-source page budget wait for the next run",
            markup=False,
        )
    if result.refused:
        console.print(
            f"refused {result.refused} listed or redirected URLs: not http(s), not the source's own host, "
            "or an internal address (each is one log line)",
            markup=False,
        )


def _exit_for(result: CrawlResult | None) -> None:
    if result is not None and result.status != "ok":
        raise typer.Exit(1)
