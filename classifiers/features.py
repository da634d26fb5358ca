"""From the terms found in an article to the numbers the decision weighs.

Two levels: each sentence naming Russia gets its facts (cooperation nearby? a field? a partner? a war?)
and a value; the article gets a fixed vector of features (where the evidence stands, how much of the
article it fills, how much war/sanctions/sport surrounds it). The rules and the second-stage model
both read only these, so every verdict can be explained by the sentences behind them.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass

from classifiers.document import Found, Part
from config.keywords import Keywords

#: A Russia term with only a meeting word (summit, talks, visit) counts this much of a cooperation term,
#: and only when the sentence names a field: summits about a war are the commonest false alarm.
MEETING_VALUE = 0.6
#: A meeting word with a partner but no field ("Sisi meets his Russian counterpart") counts less again.
MEETING_PARTNER_VALUE = 0.4
#: Factor for a sentence whose partner is named in the next or previous sentence, not in itself.
NEAR_PARTNER_FACTOR = 0.8
#: Factor for a sentence whose only partners are the rivals listed in keywords.yaml.
RIVAL_FACTOR = 0.5
#: Extra value of a sentence that names a field of cooperation (energy, trade, defence...).
SECTOR_BONUS = 1.0
#: Factor for a sentence with Russia and cooperation but no partner named in it.
NO_PARTNER_FACTOR = 0.4
#: Factor for a sentence that also speaks of war, sanctions, sport or conflict talks.
NEGATIVE_FACTOR = 0.4
#: Russia named only in this last share of the body (and not in title or lead) is a passing mention:
#: typically teaser headlines of other stories that outlets such as CNN Arabic append to a page.
TAIL_SHARE = 0.6

#: How much the article's war/sanctions/conflict talk per Russia sentence damps the score.
NEGATIVE_LOAD_WEIGHT = 0.5
#: Factor of a score whose Russia mentions all sit in the tail of the body.
TAIL_FACTOR = 0.2

#: Factor of a score when neither Russia nor a partner of the evidence is in the title: Russia's deal is
#: then a side story (a paragraph on a pipeline in an article on US shale oil, a teaser of another story).
UNANCHORED_FACTOR = 0.5
#: Factor when the title announces a dispute (sanctions, a cancelled deal, sport, elections), whatever the body
#: says about earlier cooperation; war is left out because joint exercises and arms deals name it too.
DISPUTE_FACTOR = 0.5
DISPUTE_NEGATIVES = frozenset({"sanctions", "cancellation", "sport", "politics"})

#: The article-level features, in the order the model's weights are stored.
FEATURE_NAMES = (
    "title_cooperation",
    "title_meeting",
    "title_russia",
    "title_partner",
    "title_sector",
    "title_negative",
    "lead_evidence",
    "body_evidence",
    "value",
    "evidence_share",
    "russia_share",
    "russia_in_lead",
    "tail_only",
    "partner_focus",
    "partners_distinct",
    "sector_sentences",
    "negative_in_evidence",
    "neg_war",
    "neg_sanctions",
    "neg_sport",
    "neg_politics",
    "neg_conflict_diplomacy",
    "neg_cancellation",
    "negative_load",
    "title_anchor",
    "title_dispute",
)


@dataclass(frozen=True, slots=True)
class SentenceFacts:
    """One sentence that names Russia, and what else it holds; ``value`` is its share of the score."""

    part: str  # "title" or "body"
    index: int
    where: str  # "title", "lead", "body"
    cooperation: bool  # a cooperation term within the window of a Russia term
    meeting: bool  # a meeting/talks term within the window
    sector: bool
    partner: bool
    negatives: tuple[str, ...]  # negative contexts in the sentence (war, sanctions...)
    value: float
    items: tuple[Found, ...]


def sentence_facts(
    parts: tuple[Part, Part], found: list[Found], keywords: Keywords, partner_near: frozenset[tuple[str, int]] = frozenset()
) -> list[SentenceFacts]:
    """The facts of every sentence that holds a Russia term, in text order.

    ``partner_near`` holds the (part, index) of sentences with no partner of their own but one in the
    sentence before or after (for the title: in the lead), which the caller looks up only when it matters.
    """
    weights = {"title": keywords.title_weight, "lead": keywords.lead_weight, "body": keywords.body_weight}
    by_sentence: dict[tuple[str, int], list[Found]] = {}
    for item in found:
        by_sentence.setdefault(("title" if item.where == "title" else "body", item.sentence), []).append(item)
    facts = []
    for (part_name, index), items in by_sentence.items():
        roles: dict[str, list[Found]] = {}
        for item in items:
            roles.setdefault(item.group.role, []).append(item)
        russia = roles.get("russia")
        if not russia:
            continue
        part = parts[0] if part_name == "title" else parts[1]

        def near(others: list[Found] | None) -> bool:
            return bool(others) and any(
                part.tokens_between(r, o) <= keywords.window for r in russia for o in others  # type: ignore[union-attr]
            )

        cooperation, meeting = near(roles.get("cooperation")), near(roles.get("meeting"))
        sector = "sector" in roles
        partners = {i.group.canonical for i in roles.get("partner", ())}
        partner = bool(partners)
        negatives = tuple(sorted({i.group.canonical for i in roles.get("negative", ())}))
        value = 0.0
        if cooperation:
            value = 1.0
        elif meeting and sector:
            value = MEETING_VALUE
        elif meeting and partner:
            value = MEETING_PARTNER_VALUE
        if value:
            value += SECTOR_BONUS if sector else 0.0
            if not partner:
                value *= NEAR_PARTNER_FACTOR if (part_name, index) in partner_near else NO_PARTNER_FACTOR
            elif partners <= keywords.rivals:
                value *= RIVAL_FACTOR
            value *= NEGATIVE_FACTOR if negatives else 1.0
            value *= weights[items[0].where]
        facts.append(
            SentenceFacts(
                part_name, index, items[0].where, cooperation, meeting, sector, partner, negatives, value, tuple(items)
            )
        )
    return facts


def document_features(parts: tuple[Part, Part], found: list[Found], facts: list[SentenceFacts]) -> dict[str, float]:
    """The article's feature vector (keys = FEATURE_NAMES); counts are log-scaled so long texts do not dominate."""
    body_sentences = max(len(parts[1].spans), 1)
    title = [f for f in facts if f.part == "title"]
    title_found = [i for i in found if i.where == "title"]
    evidence = [f for f in facts if f.value > 0]
    body_facts = [f for f in facts if f.part == "body"]
    partner_counts = Counter(
        i.group.canonical for f in facts for i in f.items if i.group.role == "partner"
    )
    negatives = Counter(i.group.canonical for i in found if i.group.role == "negative")
    tail_start = len(parts[1].norm) * TAIL_SHARE
    tail_only = bool(facts) and not title and all(parts[1].spans[f.index][0] >= tail_start for f in body_facts)
    roles_in_title = {i.group.role for i in title_found}
    title_partners = {i.group.canonical for i in title_found if i.group.role == "partner"}
    evidence_partners = {i.group.canonical for f in evidence for i in f.items if i.group.role == "partner"}
    title_negatives = {i.group.canonical for i in title_found if i.group.role == "negative"}
    features = {
        "title_cooperation": float(any(f.cooperation for f in title)),
        "title_meeting": float(any(f.meeting and not f.cooperation for f in title)),
        "title_russia": float(bool(title)),
        "title_partner": float("partner" in roles_in_title),
        "title_sector": float("sector" in roles_in_title),
        "title_negative": float("negative" in roles_in_title),
        "lead_evidence": math.log1p(sum(1 for f in evidence if f.where == "lead")),
        "body_evidence": math.log1p(sum(1 for f in evidence if f.where == "body")),
        "value": math.log1p(sum(f.value for f in evidence)),
        "evidence_share": min(sum(1 for f in evidence if f.part == "body") / body_sentences, 1.0),
        "russia_share": min(len(body_facts) / body_sentences, 1.0),
        "russia_in_lead": float(any(f.where == "lead" for f in facts)),
        "tail_only": float(tail_only),
        "partner_focus": (partner_counts.most_common(1)[0][1] / len(facts)) if partner_counts else 0.0,
        "partners_distinct": math.log1p(len(partner_counts)),
        "sector_sentences": math.log1p(sum(1 for f in facts if f.sector)),
        "negative_in_evidence": (sum(1 for f in evidence if f.negatives) / len(evidence)) if evidence else 0.0,
    }
    for name in ("war", "sanctions", "sport", "politics", "conflict_diplomacy", "cancellation"):
        features[f"neg_{name}"] = math.log1p(negatives.get(name, 0))
    features["negative_load"] = sum(negatives.values()) / (len(facts) + 1)
    # The title is what the article is about: Russia in it, or a partner of the evidence in it.
    features["title_anchor"] = float(bool(title) or bool(title_partners & evidence_partners))
    features["title_dispute"] = float(bool(title_negatives & DISPUTE_NEGATIVES))
    return features


def rule_score(facts: list[SentenceFacts], features: dict[str, float]) -> float:
    """The hand-written score: sentence values summed, damped by surrounding war talk and by tail-only mentions."""
    score = sum(f.value for f in facts)
    score /= 1.0 + NEGATIVE_LOAD_WEIGHT * features["negative_load"]
    if features["tail_only"]:
        score *= TAIL_FACTOR
    if not features["title_anchor"]:
        score *= UNANCHORED_FACTOR
    if features["title_dispute"]:
        score *= DISPUTE_FACTOR
    return score
