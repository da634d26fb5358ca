"""What the classifier says about one article, and why: the seam between classification and storage."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Match:
    """One term found in the article, reported in the article's own spelling."""

    group: str  # term group in keywords.yaml, e.g. "russia", "cooperation", "sector:energy", "partner"
    term: str  # the keyword as written in keywords.yaml
    surface: str  # the word as it stands in the original text, clitics included (e.g. "وروسيا")
    sentence: str  # the original sentence it stands in
    where: str = "body"  # "title", "lead" or "body"


@dataclass(frozen=True, slots=True)
class Verdict:
    """Hit or not, with the score and the evidence an analyst needs to trust it."""

    is_hit: bool
    score: float
    matches: tuple[Match, ...] = ()
    partners: tuple[str, ...] = ()  # partner countries/blocs, canonical names from keywords.yaml
    sectors: tuple[str, ...] = ()  # sector names from keywords.yaml, e.g. "energy", "defence"
    evidence: tuple[str, ...] = ()  # the sentences that decided the verdict, in original text
    classifier_version: str = field(default="")  # rules version + keywords fingerprint (+ model version)
    rule_hit: bool = False  # what the hand-written rules alone would say
    probability: float | None = None  # the trained model's probability of a hit; None when it did not run
