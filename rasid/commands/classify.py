"""``rasid explain`` and ``rasid eval``: why the classifier said what it said, and how good it is."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table
from rich.text import Text

from config.settings import ConfigError, Settings
from rasid.app import build_classifier
from rasid.context import DbOption, console, settings_from

if TYPE_CHECKING:
    from classifiers.verdict import Verdict

#: Colours of the term groups when highlighted in a sentence (role prefix of Match.group).
STYLES = {
    "russia": "bold red",
    "cooperation": "bold green",
    "partner": "bold cyan",
    "sector": "bold yellow",
    "negative": "bold magenta",
}


def register(app: typer.Typer) -> None:
    """Add ``explain`` and ``eval`` to the CLI."""
    app.command("explain")(explain)
    app.command("eval")(eval_command)


def explain(
    ctx: typer.Context,
    source: Annotated[
        str,
        typer.Argument(metavar="FILE|URL|-", help=".txt (first line title), .html page, URL or - for stdin"),
    ],
    db: DbOption = None,
) -> None:
    """Classify one article and show the verdict with its terms highlighted in their sentences.

    Example: rasid explain ../shared/examples/000_3d49043149d6cedf.txt
    """
    settings = settings_from(ctx, db)
    title, text = _read_article(source, settings)
    verdict = build_classifier(settings).classify(title, text)
    _print_verdict(title, verdict)


def eval_command(
    ctx: typer.Context,
    file: Annotated[
        Path | None, typer.Argument(metavar="FILE.jsonl", help="labelled JSONL (default: the dev set)")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the figures as one JSON object")] = False,
    db: DbOption = None,
) -> None:
    """Score the classifier on labelled articles: precision, recall, F1, confusion counts, per kind, errors.

    Example: rasid eval ../shared/data/labelled/dev.jsonl --json
    """
    from classifiers.evaluate import evaluate, read_labelled

    settings = settings_from(ctx, db)
    path = file or settings.shared_data / "labelled" / "dev.jsonl"
    records = list(read_labelled(path))
    report = evaluate(build_classifier(settings), records)
    if as_json:
        sys.stdout.write(json.dumps(report.to_dict(), ensure_ascii=False) + "\n")
        return
    console.print(
        f"{path}: {report.total} articles, precision {report.precision:.3f}, recall {report.recall:.3f}, "
        f"F1 {report.f1:.3f}; hard negatives flagged {report.hard_negative_fp_rate:.1%}; "
        f"{report.docs_per_s:,.0f} articles/s",
        highlight=False,
    )
    table = Table("kind", "tp", "fp", "fn", "tn")
    table.add_row("all", *(str(v) for v in report.counts.as_dict().values()))
    for kind, counts in sorted(report.by_kind.items()):
        table.add_row(kind, *(str(v) for v in counts.as_dict().values()))
    console.print(table)
    for label, items in (
        ("false positives", report.false_positives),
        ("false negatives", report.false_negatives),
    ):
        console.print(f"{label} ({len(items)}):", highlight=False)
        for record_id, title in items:
            console.print(f"  {record_id}  {title}", markup=False, highlight=False)


def _read_article(source: str, settings: Settings) -> tuple[str, str]:
    """(title, text) of a text file, a saved HTML page, a URL, or stdin."""
    if source == "-":
        return _split_title(sys.stdin.read())
    if source.startswith(("http://", "https://")):
        try:
            from crawler.fetch import FetchError, fetch_article_or_raise
        except ImportError:
            raise ConfigError("explain URL needs crawler.fetch") from None
        try:
            article = fetch_article_or_raise(source, settings)
        except FetchError as exc:
            raise ConfigError(f"{source}: {exc}") from None
        return article.title, article.text
    path = Path(source)
    if not path.is_file():
        raise ConfigError(f"{path}: no such file")
    if path.suffix.lower() in (".html", ".htm"):
        try:
            from crawler.extract import extract_html
        except ImportError:
            raise ConfigError("explain of an .html page needs crawler.extract") from None
        page = extract_html(path.read_bytes(), path.resolve().as_uri())
        if page is None:
            raise ConfigError(f"{path}: no article could be extracted from this page")
        return page.title, page.text
    try:
        return _split_title(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text") from None


def _split_title(content: str) -> tuple[str, str]:
    title, _, text = content.strip().partition("\n")
    return title.strip(), text.strip()


def _print_verdict(title: str, verdict: Verdict) -> None:
    heading = Text()
    heading.append("HIT" if verdict.is_hit else "not a hit", style="bold green" if verdict.is_hit else "bold")
    heading.append(f"  score {verdict.score:g}  ({verdict.classifier_version})")
    console.print(heading)
    console.print(Text(f"title: {title}"))
    console.print(
        Text(f"partners: {', '.join(verdict.partners) or '-'}   sectors: {', '.join(verdict.sectors) or '-'}")
    )
    console.print(Text("evidence:" if verdict.evidence else "evidence: none"))
    for sentence in verdict.evidence:
        line = Text(sentence)
        for match in verdict.matches:
            if match.sentence == sentence:
                line.highlight_words([match.surface], style=STYLES.get(match.group.split(":")[0], "bold"))
        console.print(Text("  • ") + line)
    table = Table("group", "term", "as written", "where")
    for match in verdict.matches:
        table.add_row(match.group, match.term, match.surface, match.where)
    if verdict.matches:
        console.print(table)
