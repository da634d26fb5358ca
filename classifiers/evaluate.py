"""Scoring a classifier on labelled articles: precision, recall, F1, confusion counts overall and per kind.

Labelled JSONL is untrusted input: each line is validated, and a bad line stops the load with one
error naming the file and line, because a silently skipped record would change the figures.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from classifiers.verdict import Verdict
from config.settings import ConfigError

#: The kinds of dev.jsonl (see labelled/GUIDE.md); the two "hard negatives" are the ones the targets name.
KINDS = ("positive", "russia-no-cooperation", "cooperation-no-russia", "other")
HARD_NEGATIVES = ("russia-no-cooperation", "cooperation-no-russia")


class _Line(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: str | int
    title: str | None = ""
    text: str | None = ""
    label: bool
    kind: Literal["positive", "russia-no-cooperation", "cooperation-no-russia", "other"] = "other"
    source: str | None = ""


@dataclass(frozen=True, slots=True)
class LabelledRecord:
    """One labelled article: ``label`` True means a hit."""

    id: str | int
    title: str
    text: str
    label: bool
    kind: str = "other"
    source: str = ""  # the outlet: cross-validation by source keeps each outlet in one fold


class Classifier(Protocol):
    def classify(self, title: str, text: str) -> Verdict: ...


Line = TypeVar("Line", bound=BaseModel)


def validated_line(model: type[Line], line: str, where: str) -> Line:
    """One JSONL line checked against ``model``; ConfigError("<where>: <field>: <why>") when it is not."""
    try:
        return model.model_validate(json.loads(line))
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{where}: not valid JSON: {exc.msg}") from None
    except ValidationError as exc:
        first = exc.errors()[0]
        field_name = ".".join(str(part) for part in first["loc"]) or "line"
        raise ConfigError(f"{where}: {field_name}: {first['msg']}") from None


def read_labelled(path: Path) -> Iterator[LabelledRecord]:
    """The records of a labelled JSONL file; raises ConfigError("<file>:<line>: <why>") on a bad line."""
    try:
        handle = path.open(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read labelled file: {exc.strerror or exc}") from None
    with handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            parsed = validated_line(_Line, line, f"{path}:{number}")
            yield LabelledRecord(
                str(parsed.id),
                parsed.title or "",
                parsed.text or "",
                parsed.label,
                parsed.kind,
                parsed.source or "",
            )


@dataclass
class Counts:
    """A confusion matrix."""

    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0

    def add(self, predicted: bool, actual: bool) -> None:
        if predicted and actual:
            self.tp += 1
        elif predicted:
            self.fp += 1
        elif actual:
            self.fn += 1
        else:
            self.tn += 1

    def as_dict(self) -> dict[str, int]:
        return {"tp": self.tp, "fp": self.fp, "fn": self.fn, "tn": self.tn}


@dataclass
class EvalReport:
    """Figures of one evaluation run, plus the misclassified articles by id and title."""

    counts: Counts = field(default_factory=Counts)
    by_kind: dict[str, Counts] = field(default_factory=dict)
    false_positives: list[tuple[str, str]] = field(default_factory=list)
    false_negatives: list[tuple[str, str]] = field(default_factory=list)
    seconds: float = 0.0
    outcomes: list[tuple[bool, bool]] = field(default_factory=list)  # (predicted, actual) per article

    @property
    def total(self) -> int:
        c = self.counts
        return c.tp + c.fp + c.fn + c.tn

    @property
    def precision(self) -> float:
        flagged = self.counts.tp + self.counts.fp
        return self.counts.tp / flagged if flagged else 0.0

    @property
    def recall(self) -> float:
        relevant = self.counts.tp + self.counts.fn
        return self.counts.tp / relevant if relevant else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    @property
    def docs_per_s(self) -> float:
        return self.total / self.seconds if self.seconds > 0 else 0.0

    @property
    def hard_negative_fp_rate(self) -> float:
        """Share of hard negatives (Russia without cooperation, cooperation without Russia) flagged."""
        hard = [self.by_kind[k] for k in HARD_NEGATIVES if k in self.by_kind]
        total = sum(c.fp + c.tn for c in hard)
        return sum(c.fp for c in hard) / total if total else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "precision": round(self.precision, 4),
            "recall": round(self.recall, 4),
            "f1": round(self.f1, 4),
            **self.counts.as_dict(),
            "docs_per_s": round(self.docs_per_s, 1),
            "hard_negative_fp_rate": round(self.hard_negative_fp_rate, 4),
            "by_kind": {kind: counts.as_dict() for kind, counts in sorted(self.by_kind.items())},
            "false_positives": [{"id": i, "title": t} for i, t in self.false_positives],
            "false_negatives": [{"id": i, "title": t} for i, t in self.false_negatives],
        }


def evaluate(clf: Classifier, records: Iterable[LabelledRecord]) -> EvalReport:
    """Classify every record and compare with its label; the time counts classification only."""
    report = EvalReport()
    for record in records:
        started = time.perf_counter()
        verdict = clf.classify(record.title, record.text)
        report.seconds += time.perf_counter() - started
        report.counts.add(verdict.is_hit, record.label)
        report.outcomes.append((verdict.is_hit, record.label))
        report.by_kind.setdefault(record.kind, Counts()).add(verdict.is_hit, record.label)
        if verdict.is_hit and not record.label:
            report.false_positives.append((str(record.id), record.title))
        elif record.label and not verdict.is_hit:
            report.false_negatives.append((str(record.id), record.title))
    return report
