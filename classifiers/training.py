"""Training the decision model on labelled articles with scikit-learn, reproducibly (``rasid train``).

Only candidates (articles the rules tie Russia to something, rule score at least CANDIDATE_SCORE) are trained
on and decided by the model; the others are no hits whatever the model would say. The probability threshold
is chosen by an inner cross-validation on the training articles alone, so an outer cross-validation measures
it honestly.
Same articles, same settings, same seed: the same model file, byte for byte.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold

from classifiers.decision import NEIGHBOURS, DecisionModel, ModelInput, is_candidate, ngrams, rounded
from classifiers.evaluate import LabelledRecord
from classifiers.keyword import KeywordClassifier

#: Thresholds the inner cross-validation tries; coarse on purpose: a finer grid fits the noise of ~80 hits.
THRESHOLDS = tuple(round(t, 2) for t in np.arange(0.10, 0.91, 0.05))


@dataclass(frozen=True, slots=True)
class TrainSettings:
    """The model's settings, chosen by cross-validation (bench/results/classify.md), recorded in the file."""

    c: float = 0.3  # inverse regularisation strength of the logistic regression (CV: 0.1 < 0.3 > 1)
    min_df: int = 3  # an n-gram must stand in this many training passages
    max_features: int = 5000  # the most frequent n-grams kept
    ngram_max: int = 1  # word n-grams from 1 to this (bigrams: no better in CV, twice the scoring time)
    inner_folds: int = 5  # folds of the inner cross-validation that picks the threshold (3: same F1, P lower)
    neighbours: int = NEIGHBOURS  # sentences either side of each sentence naming Russia that the model reads
    seed: int = 0


@dataclass(frozen=True, slots=True)
class Example:
    """A labelled article as the model sees it; ``model_input`` is None when the rules leave it out."""

    model_input: ModelInput | None
    label: bool


def examples(
    clf: KeywordClassifier, records: Sequence[LabelledRecord], neighbours: int = NEIGHBOURS
) -> list[Example]:
    """Read each record with the rules once: cross-validation's folds then reuse the readings."""
    out = []
    for record in records:
        reading = clf.read(record.title, record.text)
        candidate = reading is not None and is_candidate(reading)
        model_input = clf.model_input(reading, neighbours) if candidate and reading else None
        out.append(Example(model_input, record.label))
    return out


def fit_model(
    found: Sequence[Example], settings: TrainSettings = TrainSettings(), extra: dict | None = None
) -> DecisionModel:
    """The model trained on the candidates among ``found``, with its threshold picked by inner CV."""
    inputs = [e.model_input for e in found if e.model_input is not None]
    labels = np.array([e.label for e in found if e.model_input is not None], dtype=bool)
    if labels.sum() < settings.inner_folds or (~labels).sum() < settings.inner_folds:
        raise ValueError(
            f"too few candidates to train on: {int(labels.sum())} hits and {int((~labels).sum())} others"
        )
    model = _fit(inputs, labels, settings, threshold=0.5)
    threshold = _pick_threshold(inputs, labels, settings)
    trained = {
        **asdict(settings),
        "candidates": len(inputs),
        "candidate_hits": int(labels.sum()),
        "articles": len(found),
        "hits": sum(e.label for e in found),
        **(extra or {}),
    }
    return rounded(
        DecisionModel(
            terms=model.terms,
            numbers=model.numbers,
            intercept=model.intercept,
            threshold=threshold,
            ngram_range=model.ngram_range,
            neighbours=settings.neighbours,
            trained=trained,
        )
    )


def _fit(
    inputs: Sequence[ModelInput], labels: np.ndarray, settings: TrainSettings, threshold: float
) -> DecisionModel:
    vectorizer, names, regression = fit_estimators(inputs, labels, settings)
    coefficients = regression.coef_[0]
    vocabulary = vectorizer.get_feature_names_out()
    width = len(vocabulary)
    return DecisionModel(
        terms={
            str(term): float(coef)
            for term, coef in zip(vocabulary, coefficients[:width], strict=True)
            if coef != 0.0
        },
        numbers={name: float(c) for name, c in zip(names, coefficients[width:], strict=True)},
        intercept=float(regression.intercept_[0]),
        threshold=threshold,
        ngram_range=(1, settings.ngram_max),
    )


def fit_estimators(
    inputs: Sequence[ModelInput], labels: np.ndarray, settings: TrainSettings
) -> tuple[CountVectorizer, list[str], LogisticRegression]:
    """scikit-learn's vectorizer and regression fitted on ``inputs``, with the names of the rule numbers."""
    analyzer = partial(ngrams, sizes=(1, settings.ngram_max))
    vectorizer = CountVectorizer(
        analyzer=analyzer, vocabulary=vocabulary(inputs, settings), binary=True, dtype=np.float64
    )
    regression = LogisticRegression(
        C=settings.c, class_weight="balanced", solver="liblinear", random_state=settings.seed, max_iter=1000
    )
    names = sorted({name for i in inputs for name in i.numbers})
    regression.fit(design_matrix(vectorizer, names, inputs, fit=True), labels)
    return vectorizer, names, regression


def vocabulary(inputs: Sequence[ModelInput], settings: TrainSettings) -> list[str]:
    """The ``max_features`` n-grams found in the most passages (at least ``min_df``), ties by the n-gram.

    Chosen here rather than by CountVectorizer's ``max_features``, whose cut among n-grams of equal count
    follows numpy's unstable sort: numpy 2.4 cut elsewhere, and the same files gave another model.
    """
    counter = CountVectorizer(
        analyzer=partial(ngrams, sizes=(1, settings.ngram_max)), min_df=settings.min_df, binary=True
    )
    found = counter.fit_transform([i.passage for i in inputs])
    counts = np.asarray(found.sum(axis=0)).ravel()
    ranked = sorted(zip(counter.get_feature_names_out(), counts, strict=True), key=lambda tc: (-tc[1], tc[0]))
    return sorted(str(term) for term, _ in ranked[: settings.max_features])


def design_matrix(
    vectorizer: CountVectorizer, names: list[str], inputs: Sequence[ModelInput], fit: bool = False
) -> sparse.csr_matrix:
    """The n-gram columns and then the rule-number columns, one row per input."""
    passages = [i.passage for i in inputs]
    text = vectorizer.fit_transform(passages) if fit else vectorizer.transform(passages)
    rules = sparse.csr_matrix(np.array([[i.numbers.get(n, 0.0) for n in names] for i in inputs]))
    return sparse.hstack([text, rules]).tocsr()


def _pick_threshold(inputs: Sequence[ModelInput], labels: np.ndarray, settings: TrainSettings) -> float:
    """The threshold with the best F1 on out-of-fold probabilities of the training candidates."""
    folds = StratifiedKFold(settings.inner_folds, shuffle=True, random_state=settings.seed)
    probabilities = np.zeros(len(inputs))
    for train, test in folds.split(np.zeros(len(labels)), labels):
        model = _fit([inputs[i] for i in train], labels[train], settings, threshold=0.5)
        for i in test:
            probabilities[i] = model.probability_of(inputs[i])
    scores = [_f1(probabilities >= t, labels) for t in THRESHOLDS]
    best = max(scores)
    tied = [t for t, s in zip(THRESHOLDS, scores, strict=True) if s == best]
    return tied[len(tied) // 2]  # the middle of a plateau is the least fitted to its edges


def _f1(predicted: np.ndarray, labels: np.ndarray) -> float:
    tp = int((predicted & labels).sum())
    flagged, relevant = int(predicted.sum()), int(labels.sum())
    return 2 * tp / (flagged + relevant) if flagged + relevant else 0.0


class Trainer:
    """Fits the decision stage over ``clf``'s rules, reading each labelled article with the rules only once.

    Cross-validation calls :meth:`fit` once per fold on overlapping training sets; the rule readings are
    the same in every fold (nothing in them is fitted), so they are cached by record id.
    """

    def __init__(self, clf: KeywordClassifier, settings: TrainSettings = TrainSettings()) -> None:
        self.rules = clf.with_model(None)
        self.settings = settings
        self._cache: dict[tuple[str | int, str, str], Example] = {}

    def examples(self, records: Sequence[LabelledRecord]) -> list[Example]:
        # Keyed by the text too: two labelled files may reuse an id.
        missing = [r for r in records if (r.id, r.title, r.text) not in self._cache]
        for record, example in zip(
            missing, examples(self.rules, missing, self.settings.neighbours), strict=True
        ):
            self._cache[record.id, record.title, record.text] = example
        return [self._cache[r.id, r.title, r.text] for r in records]

    def fit(self, records: Sequence[LabelledRecord]) -> KeywordClassifier:
        """The rules deciding with a model trained on ``records`` alone."""
        return self.rules.with_model(fit_model(self.examples(records), self.settings))


def train_model(
    rules: KeywordClassifier,
    records: Sequence[LabelledRecord],
    files: Sequence[str],
    settings: TrainSettings = TrainSettings(),
    pool: Sequence[LabelledRecord] = (),
    pool_file: Path | None = None,
) -> DecisionModel:
    """The model ``rasid train`` ships: trained on every record and every ``pool`` record (labels by id,
    pool_labels.py, read from ``pool_file``); it names its files, the labels' digest and the rules' version."""
    import hashlib

    import sklearn

    found = examples(rules, [*records, *pool], settings.neighbours)
    # The solver's last digits can differ between scikit-learn versions: the byte-identical rebuild test
    # compares only under the version recorded here.
    extra: dict = {"files": sorted(files), "rules": rules.version, "scikit_learn": sklearn.__version__}
    if pool_file:
        digest = hashlib.sha256(pool_file.read_bytes()).hexdigest()[:16]
        extra |= {"pool_labels": pool_file.name, "pool_labels_sha256": digest, "pool_articles": len(pool)}
    return fit_model(found, settings, extra)


def settings_of(model: DecisionModel) -> TrainSettings:
    """The settings a model was trained with, as its file records them: to rebuild it."""
    return TrainSettings(**{name: model.trained[name] for name in TrainSettings.__dataclass_fields__})
