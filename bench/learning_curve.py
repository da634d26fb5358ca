"""Learning curve of the decision model: ``python -m bench.learning_curve [--shares 0.2,0.4,...] [--k 5]``.

For each share, a K-fold cross-validation over all labelled files in which each fold's model is trained on
that share of its training part (drawn stratified, with the fold's seed): the training folds and, as in
``rasid eval --cv``, the pool labels (``--no-pool-labels``: without them); the held-out folds are always
whole. A curve still rising at 100 % says more labelled articles would help; a flat one says the features are
the limit.
"""

from __future__ import annotations

import argparse
import random
import sys
from collections.abc import Sequence

from classifiers.crossval import cross_validate
from classifiers.evaluate import LabelledRecord, read_labelled
from classifiers.keyword import KeywordClassifier
from classifiers.pool_labels import configured_pool
from classifiers.training import Trainer
from config.keywords import load_keywords
from config.settings import load_settings


def subsample(records: Sequence[LabelledRecord], share: float, seed: int) -> list[LabelledRecord]:
    """``share`` of the hits and ``share`` of the others, drawn with ``seed``, in their original order."""
    rng = random.Random(seed)
    keep: set[int] = set()
    for label in (True, False):
        group = [i for i, r in enumerate(records) if r.label == label]
        keep.update(rng.sample(group, max(1, round(share * len(group)))))
    return [r for i, r in enumerate(records) if i in keep]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shares", default="0.2,0.4,0.6,0.8,1.0", help="shares of the training folds")
    parser.add_argument("--k", type=int, default=5, help="folds (default 5)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-pool-labels", action="store_true", help="the labelled files alone")
    args = parser.parse_args(argv)
    settings = load_settings()
    records = [
        record
        for name in ("dev.jsonl", "train.jsonl")
        for record in read_labelled(settings.shared_data / "labelled" / name)
    ]
    pool = [] if args.no_pool_labels else configured_pool(settings)
    trainer = Trainer(KeywordClassifier(load_keywords(settings.keywords_file), model=None))
    print(
        f"command: python -m bench.learning_curve --shares {args.shares} --k {args.k} --seed {args.seed}"
        + (" --no-pool-labels" if args.no_pool_labels else "")
    )
    print(f"training parts take {len(pool)} pool-labelled articles besides the training folds")
    print("| share of training part | hits trained on (per fold) | F1 [95 % interval] | precision | recall |")
    print("|---|---|---|---|---|")
    for share in (float(s) for s in args.shares.split(",")):
        sizes: list[int] = []

        def fit(
            train: list[LabelledRecord], share: float = share, sizes: list[int] = sizes
        ) -> KeywordClassifier:
            part = subsample(train, share, args.seed + len(sizes))
            sizes.append(sum(r.label for r in part))
            return trainer.fit(part)

        report = cross_validate(records, fit, args.k, args.seed, extra=pool)
        print(
            f"| {share:.0%} | {sum(sizes) / len(sizes):.0f} | {report.f1} | {report.precision} "
            f"| {report.recall} |",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
