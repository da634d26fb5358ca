"""``rasid db upgrade``, ``rasid db current``, ``rasid reclassify``: the schema, and verdicts anew."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from config.settings import ConfigError, mask_url
from rasid.app import build_classifier, open_repository
from rasid.context import DbOption, SnapshotDbOption, console, err_console, settings_from
from rasid.safe_output import cell

if TYPE_CHECKING:
    from classifiers.verdict import Verdict
    from storage.repository import StoredArticle

db_app = typer.Typer(help="The database schema: upgrade it, or show its revision.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    """Add the ``db`` group and ``reclassify`` to the CLI."""
    app.add_typer(db_app, name="db")
    app.command("reclassify")(reclassify)


@db_app.command("upgrade")
def upgrade(ctx: typer.Context, db: DbOption = None, snapshot: SnapshotDbOption = False) -> None:
    """Bring the database schema to the revision this code needs (safe to run again).

    Example: rasid db upgrade --db postgresql+psycopg://rasid@localhost/rasid
    """
    from storage.db import make_engine
    from storage.schema import checked_revision, current_revision, head_revision
    from storage.schema import upgrade as upgrade_schema

    settings = settings_from(ctx, db, snapshot)
    url = settings.database_url.get_secret_value()
    engine = make_engine(url, busy_timeout=settings.database_busy_timeout)
    before = checked_revision(engine)  # another application's tables: refused, nothing added beside them
    upgrade_schema(engine)
    after = current_revision(engine)
    engine.dispose()
    if before == after:
        console.print(f"{mask_url(url)}: already at {after} (head)", soft_wrap=True)
    else:
        console.print(
            f"{mask_url(url)}: upgraded from {before or 'empty'} to {after} (head {head_revision()})",
            soft_wrap=True,
        )


@db_app.command("current")
def current(ctx: typer.Context, db: DbOption = None, snapshot: SnapshotDbOption = False) -> None:
    """Show the database's schema revision and whether it is the one this code needs (exit 1 if not).

    Example: rasid db current
    """
    from storage.db import make_engine
    from storage.schema import checked_revision, head_revision

    settings = settings_from(ctx, db, snapshot)
    url = settings.database_url.get_secret_value()
    engine = make_engine(url, create=False, busy_timeout=settings.database_busy_timeout)
    revision, head = checked_revision(engine), head_revision()
    engine.dispose()
    if revision == head:
        console.print(f"{mask_url(url)}: {revision} (head)", soft_wrap=True)
        return
    console.print(
        f"{mask_url(url)}: {revision or 'empty'}, code needs {head}: run `rasid db upgrade`", soft_wrap=True
    )
    raise typer.Exit(1)


def reclassify(
    ctx: typer.Context,
    everything: Annotated[
        bool,
        typer.Option("--all", help="also articles whose verdict already comes from the current classifier"),
    ] = False,
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="write nothing: list the articles whose verdict would change"),
    ] = False,
    batch_size: Annotated[int, typer.Option("--batch-size", min=1, help="articles per transaction")] = 500,
    db: DbOption = None,
) -> None:
    """Run the current classifier over stored articles without fetching, recording its version per verdict.

    --dry-run writes nothing and lists each article whose verdict a new model or keywords file would change.

    Example: rasid reclassify; RASID_CLASSIFIER_MODEL=new.json rasid reclassify --dry-run
    """
    settings = settings_from(ctx, db)
    classifier = build_classifier(settings)
    repository = open_repository(settings)
    total = repository.count_articles()
    if total == 0:
        raise ConfigError("no stored articles to reclassify: run `rasid crawl` first")
    done = gained = lost = skipped = 0
    changed: list[tuple[StoredArticle, Verdict]] = []  # kept for --dry-run only: a real run needs the counts
    columns = (TextColumn("reclassifying"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=err_console, transient=True) as progress:
        task = progress.add_task("reclassify", total=total)
        for batch in repository.iter_articles(batch_size):
            verdicts = []
            for article in batch:
                if not everything and article.classifier_version == classifier.version:
                    skipped += 1
                    continue
                verdict = classifier.classify(article.title, article.text)
                gained += bool(verdict.is_hit and not article.is_hit)
                lost += bool(article.is_hit and not verdict.is_hit)
                if dry_run and verdict.is_hit != bool(article.is_hit):
                    changed.append((article, verdict))
                verdicts.append((article.article_id, verdict))
            done += len(verdicts) if dry_run else repository.replace_verdicts(verdicts)
            progress.advance(task, len(batch))
    if dry_run:
        _print_changes(changed)
        console.print(
            f"dry run, nothing written: {done} articles classified with {classifier.version}: {gained} would "
            f"become hits, {lost} would no longer be hits"
            + (f"; {skipped} already current" if skipped else ""),
            soft_wrap=True,
        )
        return
    console.print(
        f"reclassified {done} articles with {classifier.version}: {gained} new hits, {lost} no longer hits"
        + (f"; {skipped} already current" if skipped else ""),
        soft_wrap=True,
    )


def _print_changes(changed: list[tuple[StoredArticle, Verdict]]) -> None:
    """The articles whose verdict would change, in stored order; titles as inert cells (crawled text)."""
    if not changed:
        return
    table = Table("id", "source", "title", "would be", "probability", title="verdicts that would change")
    for article, verdict in changed:
        table.add_row(
            str(article.article_id),
            cell(article.source),
            cell(article.title),
            "hit" if verdict.is_hit else "no longer a hit",
            "-" if verdict.probability is None else f"{verdict.probability:.3f}",
        )
    console.print(table)
