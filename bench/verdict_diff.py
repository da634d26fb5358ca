"""The verdicts a candidate model changes on the unlabelled pool: ``python -m bench.verdict_diff NEW.json``.

Cross-validation scores a change on the ~2,000 labelled articles; the pool's 12,301 real articles, nearly all
unlabelled, show what it does to the rest of the news. Classifies ``articles.jsonl`` with the shipped model and
with ``NEW.json`` (``--rules`` for the rules alone in its place) and prints each article whose verdict differs,
with both probabilities, for reading against ``labelled/GUIDE.md``. Train the candidate with
``rasid train --out NEW.json`` from a checkout holding the change. The sixth pass's blend was dropped on this
check (bench/results/classify.md).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from classifiers.decision import ModelError, load_model
from classifiers.keyword import KeywordClassifier
from config.keywords import load_keywords
from config.settings import load_settings
from storage.safe_text import one_line


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", type=Path, nargs="?", help="the candidate model file")
    parser.add_argument("--rules", action="store_true", help="the rules alone as the candidate")
    parser.add_argument(
        "--articles", type=Path, default=None, help="JSONL with id/title/text (default: the pool)"
    )
    args = parser.parse_args(argv)
    if (args.model is None) == (not args.rules):
        parser.error("give a model file or --rules")
    settings = load_settings()
    shipped = KeywordClassifier(load_keywords(settings.keywords_file), model="shipped")
    try:
        candidate = shipped.with_model(None if args.rules else load_model(args.model))
    except ModelError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    path = args.articles or settings.shared_data / "articles.jsonl"
    gained = lost = total = 0
    print(f"{shipped.version} -> {candidate.version} on {path}")
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            record = json.loads(line)
            title, text = record.get("title") or "", record.get("text") or ""
            before, after = shipped.classify(title, text), candidate.classify(title, text)
            total += 1
            if before.is_hit == after.is_hit:
                continue
            gained += after.is_hit
            lost += before.is_hit
            print(
                f"{'+' if after.is_hit else '-'} {one_line(str(record.get('id', '')))}  "
                f"{_p(before.probability)} -> {_p(after.probability)}  {one_line(title)[:100]}"
            )
    print(f"{total} articles: {gained} newly flagged (+), {lost} no longer flagged (-)")
    return 0


def _p(probability: float | None) -> str:
    return "-" if probability is None else f"{probability:.2f}"


if __name__ == "__main__":
    sys.exit(main())
