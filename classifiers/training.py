"""Training the decision model on labelled articles with scikit-learn, reproducibly (``rasid train``).

Only candidates (articles the rules tie Russia to something, rule score above 0) are trained on and decided by
the model; the others are no hits whatever the model would say. The probability threshold is chosen by an
inner cross-validation on the training articles alone, so an outer cross-validation measures it honestly.
Same articles, same settings, same seed: the same model file, byte for byte.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from functools import partial

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold

from classifiers.decision import DecisionModel, ModelInput, ngrams, rounded
from classifiers.evaluate import LabelledRecord
from classifiers.keyword import KeywordClassifier

#: Thresholds the inner cross-validation tries; coarse on purpose: a finer grid fits the noise of ~80 hits.
THRESHOLDS = tuple(round(t, 2) for t in np.arange(0.10, 0.91, 0.05))


@dataclass(frozen=True, slots=True)
class TrainSettings:
    """The model's settings, chosen by cross-validation (bench/results/classify.md) and recorded in the file."""

    c: float = 1.0  # inverse regularisation strength of the logistic regression
    min_df: int = 2  # an n-gram must stand in this many training passages
    max_features: int = 20000  # the most frequent n-grams kept
    ngram_max: int = 2  # word n-grams from 1 to this
    inner_folds: int = 3  # folds of the inner cross-validation that picks the threshold
    seed: int = 0


@dataclass(frozen=True, slots=True)
class Example:
    """A labelled article as the model sees it; ``model_input`` is None when the rules leave it out."""

    model_input: ModelInput | None
    label: bool


def examples(clf: KeywordClassifier, records: Sequence[LabelledRecord]) -> list[Example]:
    """Read each record with the rules once: cross-validation's folds then reuse the readings."""
    out = []
    for record in records:
        reading = clf.read(record.title, record.text)
        candidate = reading is not None and reading.score > 0
        out.append(Example(clf.model_input(reading) if candidate and reading else None, record.label))
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
            trained=trained,
        )
    )


def _fit(
    inputs: Sequence[ModelInput], labels: np.ndarray, settings: TrainSettings, threshold: float
) -> DecisionModel:
    sizes = (1, settings.ngram_max)
    vectorizer = TfidfVectorizer(
        analyzer=partial(ngrams, sizes=sizes),
        min_df=settings.min_df,
        max_features=settings.max_features,
        sublinear_tf=True,
        dtype=np.float64,
    )
    text = vectorizer.fit_transform([i.passage for i in inputs])
    names = sorted({name for i in inputs for name in i.numbers})
    rules = sparse.csr_matrix(np.array([[i.numbers.get(n, 0.0) for n in names] for i in inputs]))
    regression = LogisticRegression(
        C=settings.c, class_weight="balanced", solver="liblinear", random_state=settings.seed, max_iter=1000
    )
    regression.fit(sparse.hstack([text, rules]).tocsr(), labels)
    coefficients = regression.coef_[0]
    vocabulary = vectorizer.get_feature_names_out()
    width = len(vocabulary)
    return DecisionModel(
        terms={
            str(term): (float(idf), float(coef))
            for term, idf, coef in zip(vocabulary, vectorizer.idf_, coefficients[:width], strict=True)
            if coef != 0.0
        },
        numbers={name: float(c) for name, c in zip(names, coefficients[width:], strict=True)},
        intercept=float(regression.intercept_[0]),
        threshold=threshold,
        ngram_range=sizes,
    )


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


def train_classifier(
    clf: KeywordClassifier, records: Sequence[LabelledRecord], settings: TrainSettings = TrainSettings()
) -> KeywordClassifier:
    """``clf``'s rules deciding with a model trained on ``records``: what a cross-validation fold fits."""
    return clf.with_model(fit_model(examples(clf, records), settings))
