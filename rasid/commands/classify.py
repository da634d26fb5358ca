"""``rasid explain``, ``rasid eval`` and ``rasid train``: why the classifier said what it said, how good it is
on articles it has never seen (cross-validation), and rebuilding its trained decision model."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from config.settings import ConfigError, Settings
from rasid.app import build_classifier
from rasid.context import DbOption, console, err_console, settings_from
from rasid.safe_output import cell, check_writable, message, write_atomically
from storage.safe_text import one_line, strip_controls

if TYPE_CHECKING:
    from classifiers.evaluate import LabelledRecord
    from classifiers.keyword import KeywordClassifier
    from classifiers.verdict import Verdict

#: A URL of any scheme (``ftp://``, ``file://``): ``explain`` fetches only http(s) ones.
URL_SCHEME_RE = re.compile(r"[a-zA-Z][a-zA-Z0-9+.-]*://")
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
    app.command("train")(train_command)


def _labelled_files(files: list[Path] | None, settings: Settings) -> list[Path]:
    """The labelled files given, or all of the shared ones (dev and train)."""
    if files:
        return files
    return [settings.shared_data / "labelled" / name for name in ("dev.jsonl", "train.jsonl")]


def _read_all(paths: list[Path]) -> list[LabelledRecord]:
    from classifiers.evaluate import read_labelled

    return [record for path in paths for record in read_labelled(path)]


def _wants_pool(flag: bool | None, files: list[Path] | None) -> bool:
    """--pool-labels / --no-pool-labels as given, else the pool labels go with the default files only."""
    return flag if flag is not None else not files


PoolOption = Annotated[
    bool | None,
    typer.Option(
        "--pool-labels/--no-pool-labels",
        help="add the pool labels (setting pool_labels) to the training data; default: only with no FILE",
        show_default=False,
    ),
]


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
    clf = build_classifier(settings)
    verdict = clf.classify(title, text)
    _print_verdict(title, verdict)
    reading = clf.read(title, text)
    if clf.model is not None and reading is not None and verdict.probability is not None:
        drivers = clf.model.explain(clf.model_input(reading))
        console.print(
            Text(
                f"model {clf.model.version}: probability {verdict.probability:.3f} "
                f"(hit at {clf.model.threshold:g}); the rules alone: "
                + ("hit" if verdict.rule_hit else "not a hit")
            )
        )
        table = Table("feature (n-gram of the Russia passage, #rule number)", "weight", title="what drove it")
        for name, weight in drivers:
            table.add_row(name, f"{weight:+.3f}")
        console.print(table)


def eval_command(
    ctx: typer.Context,
    files: Annotated[
        list[Path] | None,
        typer.Argument(metavar="FILE.jsonl...", help="labelled JSONL (default: dev.jsonl and train.jsonl)"),
    ] = None,
    cv: Annotated[  # None, not 0, when absent: --cv 0 is refused like --cv 1, never a silent plain score
        int | None,
        typer.Option(
            "--cv", metavar="K", help="K-fold cross-validation (K >= 2), the model trained in each fold"
        ),
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="seed of the folds and the bootstrap")] = 0,
    by_source: Annotated[
        bool,
        typer.Option(
            "--by-source",
            help="with --cv: each outlet's articles in one fold (figures on outlets never read)",
        ),
    ] = False,
    rules_only: Annotated[bool, typer.Option("--rules", help="the hand-written rules alone")] = False,
    pool_labels: PoolOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the figures as one JSON object")] = False,
    feedback: Annotated[
        bool,
        typer.Option(
            "--feedback", help="precision of the stored verdicts on the hits analysts judged, by week"
        ),
    ] = False,
    db: DbOption = None,
) -> None:
    """Score the classifier on labelled articles: precision, recall, F1, confusion counts, per kind, errors.

    Without --cv it scores the shipped model, which was trained on the shared labelled files: quote --cv
    figures, which fit the model on K-1 folds and score the held-out fold.

    --cv K --by-source keeps each outlet in one fold: the figure for outlets the model has never read.

    With --cv and no FILE, the pool labels (setting pool_labels) join each fold's training part, never scored.

    Example: rasid eval --cv 5 --json; rasid eval --cv 5 --by-source; rasid eval --feedback (judged hits by week)
    """
    from classifiers.evaluate import evaluate

    settings = settings_from(ctx, db)
    if feedback:
        _feedback_precision(settings, as_json)
        return
    if by_source and cv is None:
        raise ConfigError("--by-source needs --cv K: it says how the cross-validation's folds are drawn")
    paths = _labelled_files(files, settings)
    records = _read_all(paths)
    clf = build_classifier(settings, rules_only)
    if cv is not None:
        from classifiers.pool_labels import configured_pool

        pool = configured_pool(settings) if _wants_pool(pool_labels, files) and not rules_only else []
        _cross_validate(clf, records, paths, cv, seed, rules_only, as_json, by_source, pool)
        return
    report = evaluate(clf, records)
    if as_json:
        sys.stdout.write(json.dumps(report.to_dict(), ensure_ascii=False) + "\n")
        return
    console.print(
        f"{', '.join(map(str, paths))}: {report.total} articles, precision {report.precision:.3f}, "
        f"recall {report.recall:.3f}, F1 {report.f1:.3f}; hard negatives flagged "
        f"{report.hard_negative_fp_rate:.1%}; {report.docs_per_s:,.0f} articles/s ({clf.version})",
        markup=False,
        highlight=False,
    )
    _print_counts(report.counts.as_dict(), {k: c.as_dict() for k, c in report.by_kind.items()})
    _print_errors(report.false_positives, report.false_negatives)
    trained_on = {Path(str(name)).name for name in (clf.model.trained.get("files", ()) if clf.model else ())}
    if trained_on & {path.name for path in paths}:
        console.print(
            "note: the model decided articles it was trained on; `rasid eval --cv 5` gives the figures on "
            "articles it has not seen",
            markup=False,
            highlight=False,
        )


def _cross_validate(
    clf: KeywordClassifier,
    records: list[LabelledRecord],
    paths: list[Path],
    k: int,
    seed: int,
    rules_only: bool,
    as_json: bool,
    by_source: bool = False,
    pool: list[LabelledRecord] | None = None,
) -> None:
    from classifiers.crossval import cross_validate
    from classifiers.training import Trainer, TrainSettings

    rules = clf.with_model(None)
    trainer = Trainer(rules, TrainSettings(seed=seed))
    fit = (lambda _: rules) if rules_only else trainer.fit
    try:
        report = cross_validate(records, fit, k, seed, by_source, pool or ())
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    figures = report.to_dict()
    figures["classifier"] = rules.version + ("" if rules_only else " + model trained in each fold")
    if as_json:
        sys.stdout.write(json.dumps(figures, ensure_ascii=False) + "\n")
        return
    console.print(
        f"{k}-fold cross-validation (seed {seed}{', whole outlets per fold' if by_source else ''}) over "
        f"{report.pooled.total} articles of "
        f"{', '.join(map(str, paths))}; {figures['classifier']}"
        + (_pool_share(report.extra_per_fold, len(pool)) if pool else ""),
        highlight=False,
    )
    console.print(
        f"F1 {report.f1}  precision {report.precision}  recall {report.recall}  (out-of-fold verdicts, "
        f"bootstrap 95 % interval); mean of the folds: F1 {report.fold_mean('f1'):.3f} "
        f"± {report.fold_std('f1'):.3f}",
        highlight=False,
    )
    _print_counts(report.pooled.counts.as_dict(), {k: c.as_dict() for k, c in report.pooled.by_kind.items()})
    _print_errors(report.pooled.false_positives, report.pooled.false_negatives)


def _pool_share(per_fold: list[int], total: int) -> str:
    low, high = min(per_fold), max(per_fold)
    took = f"{high}" if low == high else f"{low}-{high}"
    return f"; each training part also took {took} of the {total} pool-labelled articles (never scored)"


def _print_counts(counts: dict[str, int], by_kind: dict[str, dict[str, int]]) -> None:
    table = Table("kind", "tp", "fp", "fn", "tn")
    table.add_row("all", *(str(v) for v in counts.values()))
    for kind, kind_counts in sorted(by_kind.items()):
        table.add_row(kind, *(str(v) for v in kind_counts.values()))
    console.print(table)


def _print_errors(false_positives: list[tuple[str, str]], false_negatives: list[tuple[str, str]]) -> None:
    for label, items in (("false positives", false_positives), ("false negatives", false_negatives)):
        console.print(f"{label} ({len(items)}):", highlight=False)
        for record_id, title in items:
            console.print(f"  {record_id}  {one_line(title)}", markup=False, highlight=False)


def _feedback_precision(settings: Settings, as_json: bool) -> None:
    """The analysts' judgements per ISO week of the hits: judged hits, right ones, precision, misses."""
    from rasid.commands.results import open_repository

    weeks = open_repository(settings).feedback_precision()
    rows: list[dict[str, Any]] = [
        {
            "week": w.week,
            "judged_hits": w.judged_hits,
            "right": w.right,
            "precision": None if w.precision is None else round(w.precision, 4),
            "missed": w.missed,
        }
        for w in weeks
    ]
    if as_json:
        sys.stdout.write(json.dumps({"weeks": rows}, ensure_ascii=False) + "\n")
        return
    judged = sum(w.judged_hits for w in weeks)
    right = sum(w.right for w in weeks)
    overall = f"precision {right / judged:.3f}" if judged else "no judged hits yet"
    console.print(f"judged hits: {judged}, judged right: {right}, {overall}", highlight=False)
    if not rows:
        console.print("no judgements yet: analysts judge hits in `rasid web`", highlight=False)
        return
    table = Table("week", "judged hits", "right", "precision", "missed")
    for row in rows:
        precision = "-" if row["precision"] is None else f"{row['precision']:.3f}"
        table.add_row(row["week"], str(row["judged_hits"]), str(row["right"]), precision, str(row["missed"]))
    console.print(table)


def train_command(
    ctx: typer.Context,
    files: Annotated[
        list[Path] | None,
        typer.Argument(metavar="FILE.jsonl...", help="labelled JSONL (default: dev.jsonl and train.jsonl)"),
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="model file to write (default: the configured one)")
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="overwrite an existing --out (the configured model needs none)")
    ] = False,
    seed: Annotated[int, typer.Option("--seed", help="seed of the training and its inner folds")] = 0,
    pool_labels: PoolOption = None,
    db: DbOption = None,
) -> None:
    """Rebuild the decision model from labelled articles; the same files and seed give the same file.

    With no FILE it trains on the shared labelled files and the pool labels (setting pool_labels: ids of
    articles.jsonl, each with a language-model reader's answer; classifiers/labels/README.md).

    The file is written as `rasid export` writes: whole or not at all, never through a link; an existing
    --out other than the configured model is kept unless --force (rebuilding that one in place is the
    command's normal use). Example: rasid train --out /tmp/decision.json
    """
    from classifiers.decision import model_file
    from classifiers.pool_labels import configured_pool
    from classifiers.training import TrainSettings, train_model

    settings = settings_from(ctx, db)
    target = out or settings.classifier_model
    if target is None:
        raise ConfigError("no model file: give --out or set classifier_model")
    configured = settings.classifier_model
    force = force or (configured is not None and target.absolute() == configured.absolute())
    check_writable(target, force=force)  # before training, so a refusal costs nothing
    paths = _labelled_files(files, settings)
    records = _read_all(paths)
    pool_file = settings.pool_labels if _wants_pool(pool_labels, files) else None
    pool = configured_pool(settings) if pool_file else []
    rules = build_classifier(settings, rules_only=True)
    names = [path.name for path in paths]
    try:
        model = train_model(rules, records, names, TrainSettings(seed=seed), pool, pool_file)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    text, version = model_file(model)
    write_atomically(target, text, force=force)
    console.print(
        f"{message(str(target))}: model {version}, {len(model.terms)} n-grams and "
        f"{len(model.numbers)} rule numbers, "
        f"threshold {model.threshold:g}; trained on {model.trained['candidates']} candidates "
        f"({model.trained['candidate_hits']} hits) of {len(records) + len(pool)} articles"
        + (f" ({len(pool)} of them pool-labelled, {pool_file.name})" if pool_file else ""),
        highlight=False,
        markup=False,
    )
    if pool_file and not pool:
        console.print(f"note: {pool_file} holds no yes or no label: nothing added", highlight=False)


def _read_article(source: str, settings: Settings) -> tuple[str, str]:
    """(title, text) of a text file, a saved HTML page, a URL, or stdin."""
    if source == "-":
        return _split_title(sys.stdin.read())
    if source.startswith(("http://", "https://")):
        try:
            from crawler.fetch import FetchError, fetch_article_or_raise, time_limit
        except ImportError:
            raise ConfigError("explain URL needs crawler.fetch") from None
        # A server that accepts and never answers holds the fetch until every try has timed out.
        waiting = f"fetching {one_line(source)} (gives up after {time_limit(settings):.0f} s)..."
        try:
            with err_console.status(waiting):
                article = fetch_article_or_raise(source, settings)
        except FetchError as exc:
            raise ConfigError(f"{source}: {exc}") from None
        return article.title, article.text
    if URL_SCHEME_RE.match(source):
        raise ConfigError(f"{one_line(source)}: only http(s) URLs can be fetched")
    path = Path(source)
    if not path.is_file():
        raise ConfigError(f"{one_line(source)}: no such file")
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
    console.print(cell(f"title: {title}"))
    console.print(
        Text(f"partners: {', '.join(verdict.partners) or '-'}   sectors: {', '.join(verdict.sectors) or '-'}")
    )
    console.print(Text("evidence:" if verdict.evidence else "evidence: none"))
    for sentence in verdict.evidence:
        line = Text(strip_controls(sentence))
        for match in verdict.matches:
            if match.sentence == sentence:
                line.highlight_words([match.surface], style=STYLES.get(match.group.split(":")[0], "bold"))
        console.print(Text("  • ") + line)
    table = Table("group", "term", "as written", "where")
    for match in verdict.matches:
        table.add_row(cell(match.group), cell(match.term), cell(match.surface), cell(match.where))
    if verdict.matches:
        console.print(table)
