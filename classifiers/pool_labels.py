"""Labels kept in the repository by article id, read with the texts of the shared pool (``articles.jsonl``).

The shared labelled files carry their texts; these labels carry only an id, a reader's answer and why, so the
repository holds no article text. They are training data only: ``rasid train`` adds them to the labelled
files, and ``rasid eval --cv`` adds them to the training folds alone (crossval.py), so the figures are still
those of the shared labelled files. A reader's "unsure" is left out, as the shared files leave theirs out.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict

from classifiers.evaluate import LabelledRecord, validated_line
from config.settings import ConfigError, Settings


class _Line(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    label: Literal["yes", "no", "unsure"]
    why: str = ""


def read_labels(path: Path) -> dict[str, bool | None]:
    """Article id -> True ("yes"), False ("no") or None ("unsure"); one error naming the file and line."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read labels: {getattr(exc, 'strerror', None) or exc}") from None
    labels: dict[str, bool | None] = {}
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        parsed = validated_line(_Line, line, f"{path}:{number}")
        if parsed.id in labels:
            raise ConfigError(f"{path}:{number}: id {parsed.id} is labelled twice")
        labels[parsed.id] = {"yes": True, "no": False, "unsure": None}[parsed.label]
    return labels


def read_pool_labels(path: Path, articles: Path) -> list[LabelledRecord]:
    """The "yes" and "no" labels of ``path`` as records with the title, text and outlet from ``articles``.

    Every labelled id must be in ``articles``: a label without its text would silently change the model.
    """
    labels = read_labels(path)
    found: dict[str, LabelledRecord] = {}
    try:
        with articles.open(encoding="utf-8") as handle:
            for number, line in enumerate(handle, 1):
                if not line.strip():
                    continue
                try:
                    raw = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise ConfigError(f"{articles}:{number}: not valid JSON: {exc.msg}") from None
                key = str(raw.get("id", "")) if isinstance(raw, dict) else ""
                label = labels.get(key)
                if label is None or key in found:
                    continue
                found[key] = LabelledRecord(
                    key,
                    str(raw.get("title") or ""),
                    str(raw.get("text") or ""),
                    label,
                    "positive" if label else "russia-no-cooperation",
                    str(raw.get("source") or ""),
                )
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(
            f"{articles}: cannot read the articles of {path.name}: {getattr(exc, 'strerror', None) or exc}"
        ) from None
    missing = [key for key, label in labels.items() if label is not None and key not in found]
    if missing:
        raise ConfigError(
            f"{path}: {len(missing)} labelled id(s) not in {articles} (first: {missing[0]}); "
            "the labels belong to another pool"
        )
    return [found[key] for key, label in labels.items() if label is not None]


def configured_pool(settings: Settings) -> list[LabelledRecord]:
    """The labels the ``pool_labels`` setting names, read against the shared pool; none when it is empty."""
    if settings.pool_labels is None:
        return []
    return read_pool_labels(settings.pool_labels, settings.shared_data / "articles.jsonl")
