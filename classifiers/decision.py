"""The learned decision stage: logistic regression over the text around the Russia mentions and rule numbers.

The rules find candidates (Russia tied to a cooperation or meeting term) and explain them; this model, trained
on the labelled articles by ``rasid train`` (classifiers/training.py), decides. It ships as a small JSON file
of coefficients (classifiers/model/decision.json): plain numbers read back without executing anything, and
scored here with a dictionary lookup per word so that the classifier keeps its throughput. scikit-learn is
needed only to train it; tests check that this scoring equals scikit-learn's on the same model.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from classifiers.features import Reading
from config.keywords import Keywords

#: Format of the model file; a file of another format is refused rather than misread.
MODEL_FORMAT = 1
#: The model shipped with rasid, rebuilt by ``rasid train``.
MODEL_PATH = Path(__file__).resolve().parent / "model" / "decision.json"
#: Words: runs of letters and digits, single ones kept (the 400 of S-400).
_TOKEN = re.compile(r"\w+")
#: Sentences either side of a sentence naming Russia that the model reads: cooperation is often stated about
#: "the two countries" a sentence after Russia is named.
NEIGHBOURS = 1
#: Rule score from which an article is a candidate the model decides; below it, no hit. Half the articles the
#: rules tie to anything score under 0.1 (one weak tie deep in the body, damped by war talk) and hold 1 of the
#: 101 labelled hits: skipping them halves the model's work (bench/results/classify.md).
CANDIDATE_SCORE = 0.1


def is_candidate(reading: Reading) -> bool:
    """Whether the model decides this article (else it is no hit). Leaving out articles that name Russia only
    in the tail of the body (teasers of other stories) was tried: it cost 2 hits of F1 in CV."""
    return reading.score >= CANDIDATE_SCORE


class ModelError(Exception):
    """The model file is missing, of another format, or damaged: one line saying which."""


def passage(reading: Reading, neighbours: int = NEIGHBOURS) -> str:
    """The normalised title and body sentences naming Russia with their neighbours: what the model reads."""
    title, body = reading.parts
    spans = body.spans
    named = {f.index for f in reading.facts if f.part == "body"}
    wanted = sorted(
        {i + step for i in named for step in range(-neighbours, neighbours + 1)} & set(range(len(spans)))
    )
    return "\n".join([title.norm, *(body.norm[spans[i][0] : spans[i][1]] for i in wanted)])


def numbers(reading: Reading, keywords: Keywords) -> dict[str, float]:
    """The rule stage's findings as numbers (counts on a log scale), named so a model file can list them."""
    facts, found = reading.facts, reading.found
    rivals, blocs = keywords.rivals, keywords.blocs
    tied = any(i.group.role == "partner" for f in facts if f.value > 0 for i in f.items) or any(
        i.group.role == "partner" for i in reading.around
    )
    body_facts = [f for f in facts if f.part == "body"]
    valued = [f for f in facts if f.value > 0]
    roles = Counter(i.group.role for i in found)
    partners = {i.group.canonical for i in found if i.group.role == "partner"}
    sectors = {i.group.canonical for i in found if i.group.role == "sector"}
    negatives = Counter(i.group.canonical for i in found if i.group.role == "negative")
    out = {
        "rule_score": math.log1p(reading.score),
        "rule_hit": float(reading.score >= keywords.threshold and tied),
        "russia_title": float(any(f.part == "title" for f in facts)),
        "russia_sentences": math.log1p(len(body_facts)),
        "russia_share": len(body_facts) / max(len(reading.parts[1].spans), 1),
        "value_sentences": math.log1p(len(valued)),
        "max_value": math.log1p(max((f.value for f in valued), default=0.0)),
        "cooperation_near": math.log1p(sum(f.cooperation for f in facts)),
        "meeting_near": math.log1p(sum(f.meeting for f in facts)),
        "cooperation_terms": math.log1p(roles["cooperation"]),
        "partners": math.log1p(len(partners - rivals)),
        "rival": float(bool(partners & rivals)),
        "bloc": float(bool(partners & blocs)),
        "sectors": math.log1p(len(sectors)),
        "negatives": math.log1p(roles["negative"]),
        **{name: float(value) for name, value in reading.features.items()},
    }
    for name, count in negatives.items():
        out[f"negative:{name}"] = math.log1p(count)
    # Russia and exactly one partner in a sentence is a bilateral tie; Russia in a list of producers or
    # members is the commonest false alarm (oil-market stories). +0.012 F1 in CV (bench/results/classify.md).
    bilateral = sum(
        len({i.group.canonical for i in f.items if i.group.role == "partner"} - rivals) == 1 for f in facts
    )
    out["bilateral_sentences"] = math.log1p(bilateral)
    out["bilateral_share"] = bilateral / max(len(facts), 1)
    # What each sentence naming Russia holds together, counted without the rules' hand-set factors: the
    # model weighs "Russia + a partner + a cooperation term" against "Russia + a rival + war" itself.
    together: Counter[str] = Counter()
    for f in facts:
        own = {i.group.canonical for i in f.items if i.group.role == "partner"}
        flags = {
            "cooperation": f.cooperation,
            "meeting": f.meeting,
            "sector": f.sector,
            "partner": bool(own - rivals),
            "rival": bool(own & rivals),
            "negative": bool(f.negatives),
        }
        held = sorted(name for name, on in flags.items() if on)
        for i, first in enumerate(held):
            together[f"{f.where}:{first}"] += 1
            for second in held[i + 1 :]:
                together[f"{f.where}:{first}+{second}"] += 1
    for name, count in together.items():
        out[f"sentence:{name}"] = math.log1p(count)
    return out


def ngrams(text: str, sizes: tuple[int, int]) -> list[str]:
    """Word n-grams, space-joined, as training's vectorizer and the scoring below both read them."""
    words = _TOKEN.findall(text)
    low, high = sizes
    grams = list(words) if low == 1 else []
    for n in range(max(low, 2), high + 1):
        grams.extend(map(" ".join, zip(*(words[i:] for i in range(n)), strict=False)))
    return grams


@dataclass(frozen=True)
class DecisionModel:
    """Coefficients of a logistic regression over the words present in the passage and the rule numbers.

    Presence (0/1) rather than TF-IDF: the score is then a sum over the n-grams of the passage that the model
    knows (one set intersection), with no norm over every n-gram, which keeps the classifier at thousands of
    articles a second; cross-validation found no loss from it (bench/results/classify.md).
    """

    terms: dict[str, float]  # n-gram -> coefficient
    numbers: dict[str, float]  # rule number -> coefficient
    intercept: float
    threshold: float  # probability at or above which a candidate is a hit
    ngram_range: tuple[int, int] = (1, 2)
    neighbours: int = NEIGHBOURS
    trained: dict[str, Any] = field(default_factory=dict)  # what it was trained on: counts, seed, C...
    version: str = ""
    _known: frozenset[str] = field(default=frozenset(), init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_known", frozenset(self.terms))

    def contributions(self, model_input: ModelInput) -> dict[str, float]:
        """Each feature's share of the log-odds: n-grams of the passage and rule numbers (``#name``)."""
        terms = self.terms
        out = {
            gram: terms[gram] for gram in set(ngrams(model_input.passage, self.ngram_range)) if gram in terms
        }
        for name, value in model_input.numbers.items():
            coefficient = self.numbers.get(name)
            if coefficient and value:
                out[f"#{name}"] = coefficient * value
        return out

    def log_odds(self, model_input: ModelInput) -> float:
        """The intercept plus :meth:`contributions`, without building the dictionary (the hot path)."""
        numbers = self.numbers.get
        # A set intersection in C: most n-grams of a passage are not in the model.
        known = self._known & set(ngrams(model_input.passage, self.ngram_range))
        return (
            self.intercept
            + sum(map(self.terms.__getitem__, known))
            + sum([numbers(name, 0.0) * value for name, value in model_input.numbers.items()])
        )

    def probability_of(self, model_input: ModelInput) -> float:
        z = self.log_odds(model_input)
        return 1.0 / (1.0 + math.exp(-z)) if z > -700 else 0.0

    def explain(self, model_input: ModelInput, top: int = 10) -> list[tuple[str, float]]:
        """The features that moved the decision most, either way, largest first."""
        ranked = sorted(self.contributions(model_input).items(), key=lambda kv: (-abs(kv[1]), kv[0]))
        return [(name, round(value, 4)) for name, value in ranked[:top]]

    def to_json(self) -> str:
        """The model file's text: sorted keys and rounded numbers, so the same model is the same bytes."""
        body = _body(self)
        return json.dumps(
            {**body, "version": _version_of(body)}, ensure_ascii=False, sort_keys=True, indent=0
        )


@dataclass(frozen=True, slots=True)
class ModelInput:
    """What the model reads of one article."""

    passage: str
    numbers: dict[str, float]


def _r(value: float) -> float:
    return float(f"{value:.6g}")


def _body(model: DecisionModel) -> dict[str, Any]:
    return {
        "format": MODEL_FORMAT,
        "kind": "logistic-regression/word-ngram-presence+rule-numbers",
        "terms": {term: _r(coef) for term, coef in sorted(model.terms.items())},
        "numbers": {name: _r(coef) for name, coef in sorted(model.numbers.items())},
        "intercept": _r(model.intercept),
        "threshold": _r(model.threshold),
        "ngram_range": list(model.ngram_range),
        "neighbours": model.neighbours,
        "trained": model.trained,
    }


def _version_of(body: dict[str, Any]) -> str:
    digest = hashlib.sha256(json.dumps(body, ensure_ascii=False, sort_keys=True).encode("utf-8"))
    return f"lr{MODEL_FORMAT}-{digest.hexdigest()[:10]}"


def rounded(model: DecisionModel) -> DecisionModel:
    """The model as its file holds it (numbers rounded), with its version: what is saved and loaded."""
    return model_from_json(model.to_json(), "<memory>")


def model_from_json(text: str, source: str) -> DecisionModel:
    """A model from its file's text; ModelError naming ``source`` when it is no model file of this format."""
    try:
        raw = json.loads(text)
        if raw.get("format") != MODEL_FORMAT:
            raise ModelError(f"{source}: model format {raw.get('format')!r}, expected {MODEL_FORMAT}")
        model = DecisionModel(
            terms={str(t): float(c) for t, c in raw["terms"].items()},
            numbers={str(n): float(c) for n, c in raw["numbers"].items()},
            intercept=float(raw["intercept"]),
            threshold=float(raw["threshold"]),
            ngram_range=(int(raw["ngram_range"][0]), int(raw["ngram_range"][1])),
            neighbours=int(raw["neighbours"]),
            trained=dict(raw.get("trained") or {}),
            version=str(raw["version"]),
        )
    except ModelError:
        raise
    except (ValueError, KeyError, TypeError, IndexError, AttributeError) as exc:
        raise ModelError(f"{source}: not a decision model file ({type(exc).__name__}: {exc})") from None
    return model


def model_file(model: DecisionModel) -> tuple[str, str]:
    """The model file's text and the version it records (``rasid train`` writes it atomically)."""
    text = model.to_json()
    return text + "\n", str(json.loads(text)["version"])


def save_model(model: DecisionModel, path: Path) -> str:
    """Write the model file; returns its version."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text, version = model_file(model)
    path.write_text(text, encoding="utf-8")
    return version


def load_model(path: Path | None = None) -> DecisionModel:
    """The model in ``path`` (default: the one shipped with rasid)."""
    return _load(path or MODEL_PATH)


@lru_cache(maxsize=4)
def _load(path: Path) -> DecisionModel:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ModelError(f"{path}: cannot read the decision model: {exc.strerror or exc}") from None
    return model_from_json(text, str(path))
