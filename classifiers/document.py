"""An article as the classifier sees it: title and body, normalised, cut into sentences, with terms found.

Offsets are kept in normalised text and mapped back to the original only for what is reported,
so evidence always quotes the article as published.
"""

from __future__ import annotations

import bisect
from typing import NamedTuple

from classifiers.normalize import OffsetMap, normalize, offset_map
from classifiers.tokens import sentence_spans
from config.keywords import TermGroup


class Found(NamedTuple):
    """One term occurrence, in normalised offsets, before it is turned into a Match.

    A named tuple rather than a frozen dataclass: a Russia article yields ~50 of these, and a frozen
    dataclass's ``__init__`` costs three times as much, a tenth of the whole classification.
    """

    group: TermGroup
    term: str
    start: int
    end: int
    where: str  # "title", "lead", "body"
    sentence: int  # index into the sentences of its part (the title is one sentence)


class Part:
    """The title or the body: original text, its normalised form, and its sentences."""

    __slots__ = ("kind", "orig", "norm", "_spans", "_starts", "_offsets")

    def __init__(self, kind: str, orig: str) -> None:
        self.kind = kind
        self.orig = orig
        self.norm = normalize(orig)
        self._spans: list[tuple[int, int]] | None = None
        self._starts: list[int] = []
        self._offsets: OffsetMap | None | bool = False  # False: not computed yet (most texts never need it)

    @property
    def spans(self) -> list[tuple[int, int]]:
        """The sentences, computed on first use: an article that never names Russia is never split."""
        if self._spans is None:
            # The title is one sentence even when outlets glue two headlines together.
            self._spans = [(0, len(self.norm))] if self.kind == "title" else sentence_spans(self.norm)
            self._starts = [start for start, _ in self._spans]
        return self._spans

    def sentence_at(self, pos: int) -> int:
        if self._spans is None:
            self.spans  # noqa: B018 - computes the sentence starts
        return max(bisect.bisect_right(self._starts, pos) - 1, 0)

    def tokens_between(self, a: Found, b: Found) -> int:
        """Words strictly between two occurrences (0 when adjacent or overlapping)."""
        lo, hi = (a.end, b.start) if a.start < b.start else (b.end, a.start)
        return 0 if hi <= lo else self.norm.count(" ", lo, hi)

    def original(self, start: int, end: int) -> str:
        if self._offsets is False:
            self._offsets = offset_map(self.orig, self.norm)
        if self._offsets is None or self._offsets is True:
            return self.orig[start:end]
        return self.orig[self._offsets(start) : self._offsets(end)]

    def sentence_text(self, index: int) -> str:
        if not self.spans:
            return ""
        start, end = self.spans[index]
        return self.original(start, end).strip()
