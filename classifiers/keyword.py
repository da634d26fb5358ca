"""The keyword classifier: Russia and cooperation together, with a partner, weighted by where they stand.

Build once per keywords file (compiling the one term pattern is the expensive part), then call
``classify(title, text)`` for each article; it is a pure function of its arguments.
"""

from __future__ import annotations

import logging
from collections import Counter

from classifiers.document import Found, Part
from classifiers.features import SentenceFacts, document_features, sentence_facts
from classifiers.tokens import compile_terms, core_of
from classifiers.verdict import Match, Verdict
from config.keywords import Keywords, TermGroup

logger = logging.getLogger(__name__)

#: Bumped whenever the decision logic changes; the keywords file's fingerprint is appended to it.
RULES_VERSION = "2"
#: Sentences shown as evidence, best first; more would bury the reason in a long article.
MAX_EVIDENCE = 6


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
        parts = Part("title", title), Part("body", text)
        found: list[Found] = []
        for part in parts:
            found.extend(self._find(part))
        return self._decide(parts, found)

    # -- matching --------------------------------------------------------------------------------------

    def _find(self, part: Part) -> list[Found]:
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

    def _decide(self, parts: tuple[Part, Part], found: list[Found]) -> Verdict:
        facts = sentence_facts(parts, found, self.keywords)
        features = document_features(parts, found, facts)
        score = self._score(facts, features)
        evidence = [f for f in facts if f.value > 0]
        evidence.sort(key=lambda f: -f.value)
        evidence = evidence[:MAX_EVIDENCE]
        evidence_found = [item for f in evidence for item in f.items]
        partners = Counter(i.group.canonical for i in evidence_found if i.group.role == "partner")
        sectors = Counter(i.group.canonical for i in evidence_found if i.group.role == "sector")
        is_hit = score >= self.keywords.threshold and bool(partners)
        shown = [i for i in evidence_found if i.group.role != "negative"] or [
            i for i in found if i.group.role == "russia"
        ][:5]
        return Verdict(
            is_hit=is_hit,
            score=round(score, 3),
            matches=tuple(self._match(parts, i) for i in shown),
            partners=tuple(name for name, _ in partners.most_common()),
            sectors=tuple(name for name, _ in sectors.most_common()),
            evidence=tuple(parts[0 if f.part == "title" else 1].sentence_text(f.index) for f in evidence),
            classifier_version=self.version,
        )

    def _score(self, facts: list[SentenceFacts], features: dict[str, float]) -> float:
        return sum(f.value for f in facts)

    @staticmethod
    def _match(parts: tuple[Part, Part], item: Found) -> Match:
        part = parts[0] if item.where == "title" else parts[1]
        return Match(
            group=item.group.name,
            term=item.term,
            surface=part.original(item.start, item.end),
            sentence=part.sentence_text(item.sentence),
            where=item.where,
        )
