"""Cross-validation on small hand-made sets with known answers: stratified folds, no leakage, bootstrap."""

from __future__ import annotations

import numpy as np
import pytest

from classifiers.crossval import bootstrap, cross_validate, source_folds, stratified_folds
from classifiers.evaluate import LabelledRecord
from classifiers.verdict import Verdict


def _records(hits: int, others: int) -> list[LabelledRecord]:
    return [LabelledRecord(f"h{i}", f"hit {i}", "", True, "positive") for i in range(hits)] + [
        LabelledRecord(f"o{i}", f"other {i}", "", False, "other") for i in range(others)
    ]


class _Memory:
    """Flags exactly the titles it was trained on as hits: a perfect cheat if a fold ever leaked."""

    def __init__(self, train: list[LabelledRecord]) -> None:
        self.hits = {r.title for r in train if r.label}

    def classify(self, title: str, text: str) -> Verdict:
        return Verdict(is_hit=title in self.hits, score=0.0)


class _ByTitle:
    """Flags titles starting with "hit", unfitted: its cross-validated figures are its plain figures."""

    def classify(self, title: str, text: str) -> Verdict:
        return Verdict(is_hit=title.startswith("hit") or title == "other 0", score=0.0)


def test_folds_partition_the_articles_and_keep_the_share_of_hits() -> None:
    labels = [True] * 10 + [False] * 40
    folds = stratified_folds(labels, 5, seed=0)
    assert sorted(i for fold in folds for i in fold) == list(range(50))
    assert [sum(labels[i] for i in fold) for fold in folds] == [2, 2, 2, 2, 2]
    assert [len(fold) for fold in folds] == [10] * 5


def test_same_seed_gives_the_same_folds_and_another_seed_others() -> None:
    labels = [True] * 10 + [False] * 40
    assert stratified_folds(labels, 5, seed=3) == stratified_folds(labels, 5, seed=3)
    assert stratified_folds(labels, 5, seed=3) != stratified_folds(labels, 5, seed=4)


def test_more_folds_than_hits_is_refused() -> None:
    with pytest.raises(ValueError, match="5 folds need at least 5 hits"):
        stratified_folds([True] * 3 + [False] * 20, 5, seed=0)


def test_fewer_than_two_folds_is_refused_as_such() -> None:
    with pytest.raises(ValueError, match="1 folds: cross-validation needs at least 2"):
        stratified_folds([True] * 10 + [False] * 20, 1, seed=0)


def test_source_folds_keep_each_outlet_whole_and_spread_the_hits() -> None:
    # Ten outlets of five articles, one hit each; an outlet-less article is a source of its own.
    labels = [i % 5 == 0 for i in range(50)] + [False]
    sources = [f"outlet-{i // 5}" for i in range(50)] + [""]
    folds = source_folds(labels, sources, 5, seed=0)
    assert sorted(i for fold in folds for i in fold) == list(range(51))
    for fold in folds:
        held = {sources[i] for i in fold if sources[i]}
        others = {sources[i] for other in folds if other is not fold for i in other}
        assert held.isdisjoint(others)
    assert [sum(labels[i] for i in fold) for fold in folds] == [2, 2, 2, 2, 2]
    assert source_folds(labels, sources, 5, seed=0) == folds


def test_source_folds_need_hits_from_as_many_outlets_as_folds() -> None:
    labels = [True, False] * 10
    with pytest.raises(ValueError, match=r"5 folds by source need hits from at least 5 sources \(have 2\)"):
        source_folds(labels, ["a", "b"] * 5 + ["c"] * 10, 5, seed=0)


def test_cross_validation_by_source_never_scores_an_outlet_it_trained_on() -> None:
    records = [
        LabelledRecord(f"{outlet}{i}", f"{outlet} {i}", "", i == 0, "other", source=outlet)
        for outlet in "abcdefgh"
        for i in range(4)
    ]
    trained: list[set[str]] = []

    def fit(train: list[LabelledRecord]) -> _ByTitle:
        trained.append({r.source for r in train})
        return _ByTitle()

    report = cross_validate(records, fit, k=4, seed=0, by_source=True)
    folds = source_folds([r.label for r in records], [r.source for r in records], 4, seed=0)
    for outlets, held_out in zip(trained, folds, strict=True):
        assert outlets.isdisjoint({records[i].source for i in held_out})
    assert report.to_dict()["folds_by"] == "source"
    assert report.pooled.total == 32


def test_each_fit_sees_only_the_training_folds() -> None:
    records = _records(10, 30)
    seen: list[set[str]] = []

    def fit(train: list[LabelledRecord]) -> _Memory:
        seen.append({str(r.id) for r in train})
        return _Memory(train)

    report = cross_validate(records, fit, k=5, seed=1)
    folds = stratified_folds([r.label for r in records], 5, seed=1)
    for trained_on, held_out in zip(seen, folds, strict=True):
        assert trained_on.isdisjoint({str(records[i].id) for i in held_out})
        assert len(trained_on) == 32
    # A classifier that only remembers its training hits finds none of the held-out ones.
    assert report.pooled.counts.tp == 0 and report.pooled.counts.fn == 10
    assert report.f1.value == 0.0


def test_unfitted_classifier_scores_its_plain_figures_with_every_article_once() -> None:
    records = _records(8, 16)
    report = cross_validate(records, lambda train: _ByTitle(), k=4, seed=0)
    assert report.pooled.counts.as_dict() == {"tp": 8, "fp": 1, "fn": 0, "tn": 15}
    assert report.precision.value == pytest.approx(8 / 9)
    assert report.recall.value == 1.0
    assert report.f1.value == pytest.approx(16 / 17)
    assert report.pooled.false_positives == [("o0", "other 0")]
    assert len(report.folds) == 4
    assert report.fold_mean("recall") == 1.0
    figures = report.to_dict()
    assert figures["articles"] == 24 and figures["by_kind"]["other"] == {"tp": 0, "fp": 1, "fn": 0, "tn": 15}


def test_bootstrap_interval_is_a_point_when_every_verdict_is_right() -> None:
    actual = np.array([True] * 5 + [False] * 20)
    f1, precision, recall = bootstrap(actual.copy(), actual, seed=0)
    assert (f1.value, f1.low, f1.high) == (1.0, 1.0, 1.0)
    assert (precision.low, recall.high) == (1.0, 1.0)


def test_bootstrap_interval_holds_the_figure_and_narrows_with_more_articles() -> None:
    rng = np.random.default_rng(7)
    actual = rng.random(400) < 0.2
    predicted = np.where(rng.random(400) < 0.8, actual, ~actual)  # a fifth of the verdicts wrong
    small = bootstrap(predicted[:100], actual[:100], seed=0)[0]
    large = bootstrap(predicted, actual, seed=0)[0]
    for interval in (small, large):
        assert interval.low <= interval.value <= interval.high
    assert large.high - large.low < small.high - small.low


def test_extra_records_are_trained_on_in_every_fold_and_never_scored() -> None:
    records = _records(10, 30)
    extra = [LabelledRecord(f"x{i}", f"hit extra {i}", "", True, "positive") for i in range(3)]
    seen: list[set[str]] = []

    def fit(train: list[LabelledRecord]) -> _Memory:
        seen.append({str(r.id) for r in train})
        return _Memory(train)

    report = cross_validate(records, fit, k=5, seed=1, extra=extra)
    assert all({"x0", "x1", "x2"} <= trained_on and len(trained_on) == 35 for trained_on in seen)
    assert report.pooled.total == 40  # the labelled records only, each once
    assert report.pooled.counts.tp == 0  # remembering the extra hits finds none of the held-out ones


def test_extra_records_of_a_held_out_outlet_or_id_stay_out_of_that_fold() -> None:
    records = [
        LabelledRecord(f"{outlet}{i}", f"{outlet} {i}", "", i == 0, "other", source=outlet)
        for outlet in "abcdefgh"
        for i in range(4)
    ]
    extra = [LabelledRecord(f"x-{outlet}", "", "", True, "positive", source=outlet) for outlet in "abcdefgh"]
    extra.append(LabelledRecord("a1", "a 1 again", "", True, "positive", source="elsewhere"))
    trained: list[list[LabelledRecord]] = []

    def fit(train: list[LabelledRecord]) -> _ByTitle:
        trained.append(train)
        return _ByTitle()

    cross_validate(records, fit, k=4, seed=0, by_source=True, extra=extra)
    folds = source_folds([r.label for r in records], [r.source for r in records], 4, seed=0)
    for train, held_out in zip(trained, folds, strict=True):
        held_outlets = {records[i].source for i in held_out}
        added = [r for r in train if str(r.id).startswith("x-")]
        assert {r.source for r in added} == set("abcdefgh") - held_outlets
        # "a1" is labelled again under another outlet: out of the fold that holds the labelled "a1".
        again = [r for r in train if r.title == "a 1 again"]
        assert len(again) == (0 if "a" in held_outlets else 1)
