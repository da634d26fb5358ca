"""The keyword classifier: Russia and cooperation together, with a partner, weighted by where they stand.

Build once per keywords file (compiling the one term pattern is the expensive part), then call
``classify(title, text)`` for each article; it is a pure function of its arguments. The rules find the
candidates and the evidence; for a candidate the trained decision model (classifiers/decision.py, shipped
with rasid) makes the call, and ``Verdict.rule_hit`` keeps what the rules alone would have said.
"""

from __future__ import annotations

import copy
import logging
import re
from collections import Counter
from functools import cached_property
from typing import Literal

from classifiers.decision import (
    NEIGHBOURS,
    DecisionModel,
    ModelInput,
    is_candidate,
    load_model,
    numbers,
    passage,
)
from classifiers.document import Found, Part
from classifiers.features import Reading, SentenceFacts, document_features, rule_score, sentence_facts
from classifiers.tokens import TermIndex, compile_terms, core_of
from classifiers.verdict import Match, Verdict
from config.keywords import Keywords, TermGroup

logger = logging.getLogger(__name__)

#: Bumped whenever the decision logic changes; the keywords file's fingerprint is appended to it.
RULES_VERSION = "5"
#: Sentences shown as evidence, best first; more would bury the reason in a long article.
MAX_EVIDENCE = 6
#: Russia words reported for an article without evidence: enough to show where Russia is named.
MAX_RUSSIA_SHOWN = 5


class KeywordClassifier:
    """Decides whether an article is about Russia cooperating with another country, and says why."""

    def __init__(
        self, keywords: Keywords, model: DecisionModel | None | Literal["shipped"] = "shipped"
    ) -> None:
        """``model``: the trained decision stage; "shipped" loads the one packaged with rasid, None keeps
        the hand-written rules alone (as a baseline, and for a keywords file the model was not built on)."""
        self.keywords = keywords
        self.rules_version = f"kw{RULES_VERSION}-{keywords.fingerprint}"
        self.model = load_model() if model == "shipped" else model
        self.version = self.rules_version + (f"+{self.model.version}" if self.model else "")
        terms: list[tuple[str, tuple[TermGroup, str]]] = []
        for group in keywords.groups:
            seen: set[str] = set()
            for term in group.terms:
                core = core_of(term)[0]
                # Two spellings of one name in a group (اكسبورت/إكسبورت) fold to one core: report it once.
                if core not in seen:
                    seen.add(core)
                    terms.append((term, (group, term)))
        self._term_list = terms
        # Russia (with the phrases that hide it) alone: most of the text is read only by this small pattern,
        # and the full one runs only over the title and the sentences that name Russia.
        self._russia = TermIndex(t for t in terms if t[1][0].role in ("russia", "ignore"))
        self._russia_words = self._russia.flags(lambda payload: payload[0].role == "russia")
        self._no_russia = Verdict(is_hit=False, score=0.0, classifier_version=self.version)

    # The two larger patterns take 0.6 s to compile, longer than an unchanged re-crawl takes to run: they are
    # compiled when the first article naming Russia needs them, and a crawl that extracts nothing never does.

    @cached_property
    def _terms(self) -> TermIndex[tuple[TermGroup, str]]:
        """Every term: read over the title and the sentences that name Russia."""
        return TermIndex(self._term_list)

    @cached_property
    def _ties(self) -> re.Pattern[str]:
        """What can give a Russia sentence value (cooperation and meeting terms, blocs), and any longer term
        holding a Russia word (القوات الروسية): an article with none of them in its title or Russia
        sentences scores 0, so the full pattern and the decision are skipped (most Russia articles)."""
        russia_cores = {core_of(term)[0] for term, (group, _) in self._term_list if group.role == "russia"}
        return compile_terms(
            core_of(term)[0]
            for term, (group, _) in self._term_list
            if group.role in ("cooperation", "meeting")
            or (group.role == "partner" and group.canonical in self.keywords.blocs)
            or (
                group.role not in ("russia", "ignore")
                and any(core in core_of(term)[0] for core in russia_cores)
            )
        )

    def with_model(self, model: DecisionModel | None) -> KeywordClassifier:
        """The same rules (patterns compiled once) deciding with another model: cross-validation's folds."""
        self._terms, self._ties  # noqa: B018 - compiled here, once, not in every clone
        clone = copy.copy(self)
        clone.model = model
        clone.version = self.rules_version + (f"+{model.version}" if model else "")
        clone._no_russia = Verdict(is_hit=False, score=0.0, classifier_version=clone.version)
        return clone

    def classify(self, title: str, text: str) -> Verdict:
        """The verdict on one article; never raises on odd text (empty, non-Arabic, huge)."""
        parts = Part("title", title or ""), Part("body", text or "")
        title_words, body_words = self._russia_in(parts[0]), self._russia_in(parts[1])
        if not title_words and not body_words:
            return self._no_russia
        sentences = self._sentences(parts[1], body_words)
        if not self._may_tie(parts, sentences):
            return self._russia_only(parts, title_words, body_words)
        return self._decide(parts, self._found(parts, sentences))

    def names_russia(self, text: str) -> bool:
        """Whether ``text`` names Russia as ``classify`` reads it: without that, no verdict can be a hit.

        The crawl's prefilter (crawler/prefilter.py) asks this of a whole page's text before extracting,
        so it and the classifier share one term list and one normaliser and cannot disagree.
        """
        return bool(self._russia_in(Part("body", text)))

    def scan(self, title: str, text: str) -> tuple[tuple[Part, Part], list[Found]]:
        """The article's parts and the terms found in its title and in its sentences naming Russia.

        Nothing is found (an empty list) when Russia is not named at all: most articles stop here.
        """
        parts = Part("title", title or ""), Part("body", text or "")
        title_words, body_words = self._russia_in(parts[0]), self._russia_in(parts[1])
        if not title_words and not body_words:
            return parts, []
        return parts, self._found(parts, self._sentences(parts[1], body_words))

    # -- matching --------------------------------------------------------------------------------------

    def _is_russia(self, match: re.Match[str]) -> bool:
        word, suffix = match.groups()
        flags = self._russia_words.get(word)
        if flags is None:  # a multi-word phrase across a line break or double space
            return any(group.role == "russia" for group, _ in self._russia.payloads(match))
        return flags[1] if suffix else flags[0]

    def _russia_in(self, part: Part) -> list[re.Match[str]]:
        """The Russia words of a part, in order (phrases holding one, like Russia Today, left out)."""
        # _is_russia inlined: this loop sees every Russia word of every article.
        words = self._russia_words
        out = []
        for match in self._russia.pattern.finditer(part.norm):
            word, suffix = match.groups()
            flags = words.get(word)
            if flags is None:
                if self._is_russia(match):
                    out.append(match)
            elif flags[1] if suffix else flags[0]:
                out.append(match)
        return out

    def _sentences(self, body: Part, words: list[re.Match[str]]) -> list[tuple[int, int, int]]:
        """(index, start, end) of the body sentences holding one of ``words``, in order, each once."""
        if not words:  # Russia only in the title: the body is never split into sentences
            return []
        spans = body.spans
        return [(index, *spans[index]) for index in sorted({body.sentence_at(m.start()) for m in words})]

    def _may_tie(self, parts: tuple[Part, Part], sentences: list[tuple[int, int, int]]) -> bool:
        """Whether the title or a Russia sentence holds anything that can give a sentence value.

        False means every sentence is worth 0 and the verdict is known without the full pattern: no
        cooperation or meeting term, no bloc, no longer term that could swallow a Russia word.
        """
        search = self._ties.search
        if search(parts[0].norm):
            return True
        norm = parts[1].norm
        return any(search(norm, start, end) for _, start, end in sentences)

    def _russia_only(
        self, parts: tuple[Part, Part], title_words: list[re.Match[str]], body_words: list[re.Match[str]]
    ) -> Verdict:
        """The verdict of an article that names Russia without any tie: its first Russia words, score 0."""
        title_part, body = parts
        lead_chars = self.keywords.lead_chars
        matches: list[Match] = []
        for part, words in ((title_part, title_words), (body, body_words)):
            for match in words:
                start, end = match.span()
                if part is title_part:
                    where, sentence = "title", title_part.sentence_text(0)
                else:
                    where = "lead" if start < lead_chars else "body"
                    sentence = body.sentence_text(body.sentence_at(start))
                for group, term in self._russia.payloads(match):
                    if group.role == "russia" and len(matches) < MAX_RUSSIA_SHOWN:
                        matches.append(Match(group.name, term, part.original(start, end), sentence, where))
        return Verdict(is_hit=False, score=0.0, matches=tuple(matches), classifier_version=self.version)

    def _found(self, parts: tuple[Part, Part], sentences: list[tuple[int, int, int]]) -> list[Found]:
        title_part, body = parts
        found = self._find(title_part, 0, len(title_part.norm), 0)
        for index, start, end in sentences:
            found.extend(self._find(body, start, end, index))
        return found

    def _find(self, part: Part, start: int, end: int, sentence: int) -> list[Found]:
        """Every term in ``part.norm[start:end]``, which is sentence number ``sentence`` of the part."""
        out = []
        lead_chars = self.keywords.lead_chars
        kind = part.kind
        payloads = self._terms.payloads
        for match in self._terms.pattern.finditer(part.norm, start, end):
            entries = payloads(match)
            if entries:
                pos, stop = match.span()
                where = kind if kind == "title" else ("lead" if pos < lead_chars else "body")
                for group, term in entries:
                    out.append(Found(group, term, pos, stop, where, sentence))
        return out

    # -- decision --------------------------------------------------------------------------------------

    def read(self, title: str, text: str) -> Reading | None:
        """What the rules make of an article, or None when it never reaches a decision (no Russia, no tie)."""
        parts = Part("title", title or ""), Part("body", text or "")
        title_words, body_words = self._russia_in(parts[0]), self._russia_in(parts[1])
        if not title_words and not body_words:
            return None
        sentences = self._sentences(parts[1], body_words)
        if not self._may_tie(parts, sentences):
            return None
        return self._read(parts, self._found(parts, sentences))

    def model_input(self, reading: Reading, neighbours: int | None = None) -> ModelInput:
        """What the decision model reads of an article the rules read (by default its own passage width)."""
        if neighbours is None:
            neighbours = self.model.neighbours if self.model else NEIGHBOURS
        return ModelInput(passage(reading, neighbours), numbers(reading, self.keywords))

    def _read(self, parts: tuple[Part, Part], found: list[Found]) -> Reading:
        facts = sentence_facts(parts, found, self.keywords)
        around: list[Found] = []
        if any(f.value > 0 for f in facts) and not any(f.partner for f in facts if f.value > 0):
            # No evidence sentence names a partner: one named next to the Russia sentences (or in the title)
            # still makes it a tie, as when a summit's host city stands in the sentence after Russia's part.
            around = [i for i in self._around(parts, facts, found) if i.group.role == "partner"]
            if around:
                facts = sentence_facts(
                    parts, found, self.keywords, frozenset((f.part, f.index) for f in facts if f.value > 0)
                )
        features = document_features(parts, found, facts, self.keywords.rivals, self.keywords.blocs)
        # An article with no Russia-cooperation sentence scores 0 whatever else it says.
        score = self._score(facts, features) if any(f.value for f in facts) else 0.0
        return Reading(parts, found, facts, features, score, around)

    def _decide(self, parts: tuple[Part, Part], found: list[Found]) -> Verdict:
        reading = self._read(parts, found)
        parts, found, facts, _, score, around = reading
        evidence = sorted((f for f in facts if f.value > 0), key=lambda f: -f.value)
        evidence_found = [item for f in evidence for item in f.items]
        partners = Counter(i.group.canonical for i in evidence_found if i.group.role == "partner")
        sectors = Counter(i.group.canonical for i in evidence_found if i.group.role == "sector")
        if not partners:
            partners = Counter(i.group.canonical for i in around)
        is_hit = rule_hit = score >= self.keywords.threshold and bool(partners)
        probability = None
        if self.model is not None and is_candidate(reading):
            # A candidate: the rules found Russia tied to something; the trained model decides.
            probability = self.model.probability_of(self.model_input(reading))
            is_hit = probability >= self.model.threshold
        evidence = evidence[:MAX_EVIDENCE]
        evidence_found = [item for f in evidence for item in f.items]
        if around and not any(i.group.role == "partner" for i in evidence_found):
            # The partner came from a neighbouring sentence: show it, and that sentence, as evidence too.
            evidence_found = evidence_found + around
        shown = [i for i in evidence_found if i.group.role != "negative"] or [
            i for i in found if i.group.role == "russia"
        ][:MAX_RUSSIA_SHOWN]
        shown.sort(key=lambda i: (i.where != "title", i.start))
        sentences: dict[tuple[str, int], str] = {}  # each reported sentence cut out of the original once

        def sentence(part: Part, index: int) -> str:
            key = (part.kind, index)
            if key not in sentences:
                sentences[key] = part.sentence_text(index)
            return sentences[key]

        title_part, body = parts
        return Verdict(
            is_hit=is_hit,
            score=round(score, 3),
            matches=tuple(
                Match(
                    group=i.group.name,
                    term=i.term,
                    surface=(title_part if i.where == "title" else body).original(i.start, i.end),
                    sentence=sentence(title_part if i.where == "title" else body, i.sentence),
                    where=i.where,
                )
                for i in shown
            ),
            partners=tuple(name for name, _ in partners.most_common()),
            sectors=tuple(name for name, _ in sectors.most_common()),
            evidence=tuple(
                dict.fromkeys(
                    [sentence(title_part if f.part == "title" else body, f.index) for f in evidence]
                    + [
                        sentence(title_part if i.where == "title" else body, i.sentence)
                        for i in around
                        if is_hit
                    ]
                )
            ),
            classifier_version=self.version,
            rule_hit=rule_hit,
            probability=None if probability is None else round(probability, 4),
        )

    def _around(
        self, parts: tuple[Part, Part], facts: list[SentenceFacts], found: list[Found]
    ) -> list[Found]:
        """Terms of the title and of the body sentences just before and after those naming Russia."""
        body = parts[1]
        named = {f.index for f in facts if f.part == "body"}
        indices = {f.index + step for f in facts if f.part == "body" for step in (-1, 1)} - named
        around = [i for i in found if i.where == "title"]
        for index in sorted(indices):
            if 0 <= index < len(body.spans):
                around.extend(self._find(body, *body.spans[index], index))
        return around

    def _score(self, facts: list[SentenceFacts], features: dict[str, float]) -> float:
        return rule_score(facts, features)
