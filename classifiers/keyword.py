"""The keyword classifier: Russia and cooperation together, with a partner, weighted by where they stand.

Build once per keywords file (compiling the one term pattern is the expensive part), then call
``classify(title, text)`` for each article; it is a pure function of its arguments.
"""

from __future__ import annotations

import bisect
import logging
from collections import Counter
from dataclasses import dataclass

from classifiers.normalize import normalize, offset_map
from classifiers.tokens import compile_terms, core_of, sentence_spans
from classifiers.verdict import Match, Verdict
from config.keywords import Keywords, TermGroup

logger = logging.getLogger(__name__)

#: Bumped whenever the decision logic changes; the keywords file's fingerprint is appended to it.
RULES_VERSION = "1"


@dataclass(frozen=True, slots=True)
class Found:
    """One term occurrence, in normalised offsets, before it is turned into a Match."""

    group: TermGroup
    term: str
    start: int
    end: int
    where: str  # "title", "lead", "body"
    sentence: int  # index into the sentence list of its part (title is sentence 0 of the title)


class KeywordClassifier:
    """Decides whether an article is about Russia cooperating with another country, and says why."""

    def __init__(self, keywords: Keywords) -> None:
        self.keywords = keywords
        self.version = f"kw{RULES_VERSION}-{keywords.fingerprint}"
        self._lookup: dict[str, list[tuple[TermGroup, str]]] = {}
        affixed, exact = [], []
        for group in keywords.groups:
            for term in group.terms:
                core, takes_suffixes = core_of(term)
                (affixed if takes_suffixes else exact).append(core)
                entries = self._lookup.setdefault(core, [])
                # Two spellings of one name in a group (اكسبورت/إكسبورت) fold to one core: report it once.
                if all(known is not group for known, _ in entries):
                    entries.append((group, term))
        self._pattern = compile_terms(affixed, exact)

    def classify(self, title: str, text: str) -> Verdict:
        """The verdict on one article; never raises on odd text (empty, non-Arabic, huge)."""
        title, text = title or "", text or ""
        parts = _Part.of("title", title), _Part.of("body", text)
        found: list[Found] = []
        for part in parts:
            found.extend(self._find(part))
        return self._decide(parts, found)

    # -- matching --------------------------------------------------------------------------------------

    def _find(self, part: _Part) -> list[Found]:
        out = []
        lead_chars = self.keywords.lead_chars
        for match in self._pattern.finditer(part.norm):
            core = match.group("core") or match.group("exact") or ""
            core = " ".join(core.split())
            entries = self._lookup.get(core)
            if not entries:
                continue
            start, end = match.span()
            sentence = part.sentence_at(start)
            where = part.kind if part.kind == "title" else ("lead" if start < lead_chars else "body")
            out.extend(Found(group, term, start, end, where, sentence) for group, term in entries)
        return out

    # -- decision --------------------------------------------------------------------------------------

    def _decide(self, parts: tuple[_Part, _Part], found: list[Found]) -> Verdict:
        kw = self.keywords
        weights = {"title": kw.title_weight, "lead": kw.lead_weight, "body": kw.body_weight}
        by_sentence: dict[tuple[str, int], list[Found]] = {}
        for item in found:
            part = "title" if item.where == "title" else "body"
            by_sentence.setdefault((part, item.sentence), []).append(item)

        score = 0.0
        evidence_keys: list[tuple[str, int]] = []
        for key, items in by_sentence.items():
            russia = [f for f in items if f.group.role == "russia"]
            coop = [f for f in items if f.group.role == "cooperation"]
            if not russia or not coop:
                continue
            part = parts[0] if key[0] == "title" else parts[1]
            if not any(part.tokens_between(r, c) <= kw.window for r in russia for c in coop):
                continue
            score += weights[russia[0].where]
            evidence_keys.append(key)

        evidence_found = [f for key in evidence_keys for f in by_sentence[key]]
        partners = Counter(f.group.canonical for f in evidence_found if f.group.role == "partner")
        sectors = Counter(f.group.canonical for f in evidence_found if f.group.role == "sector")
        is_hit = score >= kw.threshold and bool(partners)
        shown = evidence_found or [f for f in found if f.group.role == "russia"][:5]
        return Verdict(
            is_hit=is_hit,
            score=round(score, 3),
            matches=tuple(self._match(parts, f) for f in shown),
            partners=tuple(name for name, _ in partners.most_common()),
            sectors=tuple(name for name, _ in sectors.most_common()),
            evidence=tuple(parts[0 if k[0] == "title" else 1].sentence_text(k[1]) for k in evidence_keys),
            classifier_version=self.version,
        )

    @staticmethod
    def _match(parts: tuple[_Part, _Part], item: Found) -> Match:
        part = parts[0] if item.where == "title" else parts[1]
        return Match(
            group=item.group.name,
            term=item.term,
            surface=part.original(item.start, item.end),
            sentence=part.sentence_text(item.sentence),
            where=item.where,
        )


class _Part:
    """The title or the body: original text, its normalised form, and its sentences."""

    __slots__ = ("kind", "orig", "norm", "spans", "_starts", "_offsets")

    def __init__(self, kind: str, orig: str, norm: str) -> None:
        self.kind = kind
        self.orig = orig
        self.norm = norm
        # The title is one sentence even when outlets glue two headlines together.
        self.spans = [(0, len(norm))] if kind == "title" else sentence_spans(norm)
        self._starts = [start for start, _ in self.spans]
        self._offsets = offset_map(orig, norm)

    @classmethod
    def of(cls, kind: str, orig: str) -> _Part:
        return cls(kind, orig, normalize(orig))

    def sentence_at(self, pos: int) -> int:
        return max(bisect.bisect_right(self._starts, pos) - 1, 0)

    def tokens_between(self, a: Found, b: Found) -> int:
        lo, hi = (a.end, b.start) if a.start < b.start else (b.end, a.start)
        return 0 if hi <= lo else self.norm.count(" ", lo, hi)

    def original(self, start: int, end: int) -> str:
        if self._offsets is None:
            return self.orig[start:end]
        return self.orig[self._offsets[start] : self._offsets[end]]

    def sentence_text(self, index: int) -> str:
        if not self.spans:
            return ""
        start, end = self.spans[index]
        return self.original(start, end)
