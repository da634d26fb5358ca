"""Stratified K-fold cross-validation of a classifier that is fitted on labelled articles.

Every fitted part (model, threshold) is fitted by ``fit`` on the training folds alone and scored on the
held-out fold, so the figures say how the classifier does on articles it has never seen. The figures are those
of the pooled out-of-fold verdicts, with a bootstrap 95 % interval over articles, and the mean of the folds.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from classifiers.evaluate import Classifier, Counts, EvalReport, LabelledRecord, evaluate

#: Bootstrap resamples behind each interval: enough for two stable decimals.
BOOTSTRAP_RESAMPLES = 1000


def stratified_folds(labels: Sequence[bool], k: int, seed: int) -> list[list[int]]:
    """Indices of ``k`` held-out folds, each with its share of hits; the same ``seed``, the same folds."""
    from sklearn.model_selection import StratifiedKFold

    positives = sum(labels)
    if k < 2:
        raise ValueError(f"{k} folds: cross-validation needs at least 2")
    if k > min(positives, len(labels) - positives):
        raise ValueError(f"{k} folds need at least {k} hits and {k} other articles (have {positives} hits)")
    splitter = StratifiedKFold(n_splits=k, shuffle=True, random_state=seed)
    return [sorted(test.tolist()) for _, test in splitter.split(np.zeros(len(labels)), list(labels))]


def source_folds(labels: Sequence[bool], sources: Sequence[str], k: int, seed: int) -> list[list[int]]:
    """Indices of ``k`` held-out folds that each hold whole sources, hits spread as evenly as they allow.

    No outlet is both trained on and scored, so the figures say how the classifier does on outlets it has
    never read (their wording, their boilerplate), as it will on a monitor's new sources. An article
    without a source is a source of its own.
    """
    from sklearn.model_selection import StratifiedGroupKFold

    groups = [source or f"#{i}" for i, source in enumerate(sources)]
    hit_sources = len({g for g, label in zip(groups, labels, strict=True) if label})
    if k < 2:
        raise ValueError(f"{k} folds: cross-validation needs at least 2")
    if k > hit_sources:
        raise ValueError(f"{k} folds by source need hits from at least {k} sources (have {hit_sources})")
    splitter = StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=seed)
    split = splitter.split(np.zeros(len(labels)), list(labels), groups)
    return [sorted(test.tolist()) for _, test in split]


@dataclass(frozen=True, slots=True)
class Interval:
    """A figure and its bootstrap 95 % interval."""

    value: float
    low: float
    high: float

    def as_dict(self) -> dict[str, float]:
        return {"value": round(self.value, 4), "low": round(self.low, 4), "high": round(self.high, 4)}

    def __str__(self) -> str:
        return f"{self.value:.3f} [{self.low:.3f}-{self.high:.3f}]"


@dataclass
class CVReport:
    """Out-of-fold figures of a K-fold cross-validation."""

    k: int
    seed: int
    pooled: EvalReport
    by_source: bool = False
    folds: list[EvalReport] = field(default_factory=list)
    extra_per_fold: list[int] = field(default_factory=list)  # extra records each fold trained on
    f1: Interval = Interval(0.0, 0.0, 0.0)
    precision: Interval = Interval(0.0, 0.0, 0.0)
    recall: Interval = Interval(0.0, 0.0, 0.0)

    def fold_mean(self, figure: str) -> float:
        return float(np.mean([getattr(fold, figure) for fold in self.folds]))

    def fold_std(self, figure: str) -> float:
        return float(np.std([getattr(fold, figure) for fold in self.folds]))

    def to_dict(self) -> dict[str, Any]:
        pooled = self.pooled.to_dict()
        return {
            "k": self.k,
            "seed": self.seed,
            "folds_by": "source" if self.by_source else "article",
            "extra_trained_per_fold": self.extra_per_fold,
            "articles": self.pooled.total,
            "f1": self.f1.as_dict(),
            "precision": self.precision.as_dict(),
            "recall": self.recall.as_dict(),
            "fold_mean": {f: round(self.fold_mean(f), 4) for f in ("f1", "precision", "recall")},
            "fold_std": {f: round(self.fold_std(f), 4) for f in ("f1", "precision", "recall")},
            "folds": [
                {f: round(getattr(fold, f), 4) for f in ("f1", "precision", "recall")} for fold in self.folds
            ],
            **{key: pooled[key] for key in ("tp", "fp", "fn", "tn", "hard_negative_fp_rate", "by_kind")},
            "false_positives": pooled["false_positives"],
            "false_negatives": pooled["false_negatives"],
        }


def cross_validate(
    records: Sequence[LabelledRecord],
    fit: Callable[[list[LabelledRecord]], Classifier],
    k: int = 5,
    seed: int = 0,
    by_source: bool = False,
    extra: Sequence[LabelledRecord] = (),
) -> CVReport:
    """Fit on k-1 folds, classify the held-out one, k times; the pooled verdicts cover every article once.

    ``by_source`` keeps each outlet's articles in one fold (:func:`source_folds`). ``extra`` records are
    training data only (pool_labels.py): added to every fold's training part, never scored, and left out
    of a fold whose held-out part holds their outlet (by source) or their id.
    """
    labels = [r.label for r in records]
    folds = (
        source_folds(labels, [r.source for r in records], k, seed)
        if by_source
        else stratified_folds(labels, k, seed)
    )
    pooled = EvalReport()
    reports = []
    extra_per_fold = []
    for held_out in folds:
        held = set(held_out)
        held_ids = {records[i].id for i in held_out}
        held_sources = {records[i].source for i in held_out} if by_source else set()
        added = [r for r in extra if r.id not in held_ids and not (r.source and r.source in held_sources)]
        extra_per_fold.append(len(added))
        clf = fit([r for i, r in enumerate(records) if i not in held] + added)
        report = evaluate(clf, [records[i] for i in held_out])
        reports.append(report)
        _add(pooled, report)
    predicted = np.array([p for p, _ in pooled.outcomes], dtype=bool)
    actual = np.array([a for _, a in pooled.outcomes], dtype=bool)
    f1, precision, recall = bootstrap(predicted, actual, seed)
    return CVReport(k, seed, pooled, by_source, reports, extra_per_fold, f1, precision, recall)


def _add(pooled: EvalReport, report: EvalReport) -> None:
    for name in ("tp", "fp", "fn", "tn"):
        setattr(pooled.counts, name, getattr(pooled.counts, name) + getattr(report.counts, name))
    for kind, counts in report.by_kind.items():
        into = pooled.by_kind.setdefault(kind, Counts())
        for name in ("tp", "fp", "fn", "tn"):
            setattr(into, name, getattr(into, name) + getattr(counts, name))
    pooled.false_positives.extend(report.false_positives)
    pooled.false_negatives.extend(report.false_negatives)
    pooled.outcomes.extend(report.outcomes)
    pooled.seconds += report.seconds


def bootstrap(
    predicted: np.ndarray, actual: np.ndarray, seed: int, resamples: int = BOOTSTRAP_RESAMPLES
) -> tuple[Interval, Interval, Interval]:
    """F1, precision and recall of the verdicts, with 2.5-97.5 percentiles over resampled articles."""
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(actual), size=(resamples, len(actual)))
    tp = (predicted & actual)[picks].sum(axis=1)
    flagged = predicted[picks].sum(axis=1)
    relevant = actual[picks].sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(flagged > 0, tp / np.maximum(flagged, 1), 0.0)
        recall = np.where(relevant > 0, tp / np.maximum(relevant, 1), 0.0)
        f1 = np.where(flagged + relevant > 0, 2 * tp / np.maximum(flagged + relevant, 1), 0.0)
    t, f, r = int((predicted & actual).sum()), int(predicted.sum()), int(actual.sum())
    point = (2 * t / (f + r) if f + r else 0.0, t / f if f else 0.0, t / r if r else 0.0)
    return tuple(  # type: ignore[return-value]
        Interval(value, float(np.percentile(sample, 2.5)), float(np.percentile(sample, 97.5)))
        for value, sample in zip(point, (f1, precision, recall), strict=True)
    )
