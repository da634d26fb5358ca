"""Classifier throughput on the real article pool: ``python -m bench.classify [--runs N] [--limit N]``.

Loads ``articles.jsonl`` first (parsing JSON is not the classifier's cost), builds the classifier once (the
rules and the shipped decision model; ``--rules`` for the rules alone), then classifies every article
``--runs`` times on one core and prints the best and median pass, in articles per second, with the share of
articles that name Russia, the share the model decided (the candidates) and the number of hits. The best
pass is the figure to quote: on a shared machine the slower passes measure the neighbours.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

from classifiers.keyword import KeywordClassifier
from config.keywords import load_keywords
from config.settings import load_settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="passes over the pool (default 5)")
    parser.add_argument("--limit", type=int, default=0, help="only the first N articles (default: all)")
    parser.add_argument(
        "--articles", type=Path, default=None, help="JSONL with title/text (default: the pool)"
    )
    parser.add_argument("--rules", action="store_true", help="the hand-written rules alone, no model")
    args = parser.parse_args(argv)

    settings = load_settings()
    path = args.articles or settings.shared_data / "articles.jsonl"
    articles = _load(path, args.limit)
    started = time.perf_counter()
    clf = KeywordClassifier(load_keywords(settings.keywords_file), model=None if args.rules else "shipped")
    build_s = time.perf_counter() - started

    rates, cpu_rates = [], []
    hits = russia = candidates = 0
    for _ in range(args.runs):
        hits = russia = candidates = 0
        started, cpu_started = time.perf_counter(), time.process_time()
        for title, text in articles:
            verdict = clf.classify(title, text)
            hits += verdict.is_hit
            russia += bool(verdict.matches)
            candidates += verdict.probability is not None
        rates.append(len(articles) / (time.perf_counter() - started))
        cpu_rates.append(len(articles) / max(time.process_time() - cpu_started, 1e-9))

    print(
        f"command: python -m bench.classify --runs {args.runs}"
        + (f" --limit {args.limit}" if args.limit else "")
        + (" --rules" if args.rules else "")
    )
    print(f"commit: {_commit()}  python {platform.python_version()}  {platform.machine()}")
    print(f"articles: {len(articles)} from {path}")
    print(f"classifier: {clf.version}, built in {build_s:.2f} s")
    print(
        f"naming Russia: {russia} ({russia / max(len(articles), 1):.0%}), decided by the model: {candidates} "
        f"({candidates / max(len(articles), 1):.0%}), hits: {hits}"
    )
    print(
        f"articles/s, one core: best {max(rates):,.0f}, median {statistics.median(rates):,.0f}"
        f" over {len(rates)} runs"
    )
    # CPU time of this process: the same work with the neighbours' load on a shared machine taken out.
    print(f"articles per CPU-second: best {max(cpu_rates):,.0f}, median {statistics.median(cpu_rates):,.0f}")
    return 0


def _load(path: Path, limit: int) -> list[tuple[str, str]]:
    articles = []
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            record = json.loads(line)
            articles.append((record.get("title") or "", record.get("text") or ""))
            if limit and len(articles) >= limit:
                break
    return articles


def _commit() -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
        )
        return out.stdout.strip() or "unknown"
    except OSError:
        return "unknown"


if __name__ == "__main__":
    sys.exit(main())
