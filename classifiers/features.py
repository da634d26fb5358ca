"""From the terms found in an article to the numbers the decision weighs.

Two levels: each sentence naming Russia gets its facts (cooperation nearby? a field? a partner? a war?)
and a value; the article gets a fixed vector of features (where the evidence stands, how much of the
article it fills, how much war/sanctions/sport surrounds it). The rules and the second-stage model
both read only these, so every verdict can be explained by the sentences behind them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from classifiers.document import Found, Part
from config.keywords import Keywords

#: A Russia term with only a meeting word (summit, talks, visit) counts this much of a cooperation term,
#: and only when the sentence names a field: summits about a war are the commonest false alarm.
MEETING_VALUE = 0.6
#: A meeting word with a partner but no field ("Sisi meets his Russian counterpart") counts less again.
MEETING_PARTNER_VALUE = 0.5
#: Factor for a sentence whose partner is named in the next or previous sentence, not in itself.
NEAR_PARTNER_FACTOR = 0.8
#: Factor for a sentence that names one of the rivals listed in keywords.yaml: next to the US, NATO or
#: Ukraine, Russia's "talks" and "agreements" are about the rivalry far more often than about a deal.
RIVAL_FACTOR = 0.3
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
#: Factor when the title announces a dispute (sanctions, a cancelled deal, sport, elections, tension, talks
#: about a conflict), whatever the body says about earlier cooperation; war is left out because joint
#: exercises and arms deals name it too.
DISPUTE_FACTOR = 0.5
#: Factor when Russia is named once before the tail and not in the title: a passing clause.
PASSING_FACTOR = 0.5
#: Factor when no Russia sentence holds ties of its own (a cooperation term or a field, without war or
#: conflict talk): visits, invitations and summits then count only when their content is developing ties.
CONTENTLESS_FACTOR = 0.5
DISPUTE_NEGATIVES = frozenset(
    {"sanctions", "cancellation", "sport", "politics", "conflict_diplomacy", "tension", "non_state"}
)

#: The article-level features the score weighs (see :func:`rule_score`).
FEATURE_NAMES = (
    "passing",
    "negative_load",
    "tail_only",
    "tail_side_value",
    "title_anchor",
    "title_dispute",
    "content",
)


@dataclass(frozen=True, slots=True)
class SentenceFacts:
    """One sentence that names Russia, and what else it holds; ``value`` is its share of the score."""

    part: str  # "title" or "body"
    index: int
    where: str  # "title", "lead", "body"
    cooperation: bool  # a cooperation term within the window of a Russia term
    ties: bool  # a cooperation term anywhere in the sentence ("... to discuss strengthening cooperation")
    meeting: bool  # a meeting/talks term within the window
    sector: bool
    partner: bool
    negatives: tuple[str, ...]  # negative contexts in the sentence (war, sanctions...)
    value: float
    items: tuple[Found, ...]


class Reading(NamedTuple):
    """What the rules make of one article that reaches the decision: the input of the score and the model."""

    parts: tuple[Part, Part]
    found: list[Found]  # terms of the title and of the sentences naming Russia
    facts: list[SentenceFacts]
    features: dict[str, float]  # document_features
    score: float  # rule_score, 0 when no sentence ties Russia to anything
    around: list[Found]  # partners named next to the evidence when the evidence names none


def sentence_facts(
    parts: tuple[Part, Part],
    found: list[Found],
    keywords: Keywords,
    partner_near: frozenset[tuple[str, int]] = frozenset(),
) -> list[SentenceFacts]:
    """The facts of every sentence that holds a Russia term, in text order.

    ``partner_near`` holds the (part, index) of sentences with no partner of their own but one in the
    sentence before or after (for the title: in the lead), which the caller looks up only when it matters.
    """
    weights = {"title": keywords.title_weight, "lead": keywords.lead_weight, "body": keywords.body_weight}
    by_sentence: dict[tuple[str, int], dict[str, list[Found]]] = {}
    for item in found:
        key = ("title" if item.where == "title" else "body", item.sentence)
        by_sentence.setdefault(key, {}).setdefault(item.group.role, []).append(item)
    facts = []
    window = keywords.window
    for (part_name, index), roles in by_sentence.items():
        russia = roles.get("russia")
        if not russia:
            continue
        items = tuple(item for role_items in roles.values() for item in role_items)
        part = parts[0] if part_name == "title" else parts[1]
        sector = "sector" in roles
        partners = {i.group.canonical for i in roles.get("partner", ())}
        # Russia with OPEC (BRICS...) and a field in one sentence is the bloc's joint work: OPEC+ output cuts.
        cooperation = _near(part, russia, roles.get("cooperation"), window) or (
            sector and not partners.isdisjoint(keywords.blocs)
        )
        meeting = _near(part, russia, roles.get("meeting"), window)
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
            elif partners & keywords.rivals:
                value *= RIVAL_FACTOR
            value *= NEGATIVE_FACTOR if negatives else 1.0
            value *= weights[russia[0].where]
        facts.append(
            SentenceFacts(
                part_name,
                index,
                russia[0].where,
                cooperation,
                "cooperation" in roles,
                meeting,
                sector,
                partner,
                negatives,
                value,
                items,
            )
        )
    return facts


def _near(part: Part, russia: list[Found], others: list[Found] | None, window: int) -> bool:
    """Whether one of ``others`` stands within ``window`` words of a Russia term."""
    return bool(others) and any(part.tokens_between(r, o) <= window for r in russia for o in others)  # type: ignore[union-attr]


def document_features(
    parts: tuple[Part, Part],
    found: list[Found],
    facts: list[SentenceFacts],
    rivals: frozenset[str] = frozenset(),
    blocs: frozenset[str] = frozenset(),
) -> dict[str, float]:
    """The article-level numbers of FEATURE_NAMES, read from the title and the sentences naming Russia."""
    body = parts[1]
    in_title = any(f.part == "title" for f in facts)
    tail_start = len(body.norm) * TAIL_SHARE
    negatives = sum(1 for i in found if i.group.role == "negative")
    title_found = [i for i in found if i.where == "title"]
    # A rival in the title (a US shale story) does not make Russia's tie with it the article's subject.
    title_partners = {i.group.canonical for i in title_found if i.group.role == "partner"} - rivals
    evidence_partners = {
        i.group.canonical for f in facts if f.value > 0 for i in f.items if i.group.role == "partner"
    }
    title_negatives = {i.group.canonical for i in title_found if i.group.role == "negative"}
    spans = body.spans
    # Value of tail sentences that share nothing with the title and lead (Russia not in the title, their
    # partners in neither): another story appended to the page ("in other news, Russia signs a pipeline deal
    # with Pakistan" under a title on US shale oil).
    side_value = 0.0
    if not in_title:
        top_partners = {
            i.group.canonical for i in found if i.where != "body" and i.group.role == "partner"
        } - rivals
        for f in facts:
            if f.value > 0 and spans[f.index][0] >= tail_start:
                partners = {i.group.canonical for i in f.items if i.group.role == "partner"}
                if partners and partners.isdisjoint(top_partners):
                    side_value += f.value
    # Russia named once before the tail and not in the title is a passing clause (GUIDE), unless with a bloc:
    # "OPEC and producers led by Russia cut output" is the OPEC+ deal itself, named once in an oil story.
    front_mentions = {
        i.start for i in found if i.where != "title" and i.group.role == "russia" and i.start < tail_start
    }
    passing = not in_title and len(front_mentions) <= 1 and evidence_partners.isdisjoint(blocs)
    return {
        "passing": float(passing),
        # War, sanctions and conflict talk per sentence naming Russia: the article's climate around Russia.
        "negative_load": negatives / (len(facts) + 1),
        "tail_only": float(not in_title and all(spans[f.index][0] >= tail_start for f in facts)),
        "tail_side_value": side_value,
        # The title is what the article is about: Russia in it, or a partner of the evidence in it.
        "title_anchor": float(in_title or bool(title_partners & evidence_partners)),
        "title_dispute": float(bool(title_negatives & DISPUTE_NEGATIVES)),
        # A visit or talks count when what they hold is ties: some sentence naming Russia with a cooperation
        # term (anywhere in it: "a summit ... to discuss strengthening cooperation") or a field next to its
        # meeting, and no war, dispute or conflict talk in it; a meeting about Iran in Syria has none.
        "content": float(any((f.ties or (f.value > 0 and f.sector)) and not f.negatives for f in facts)),
    }


def rule_score(facts: list[SentenceFacts], features: dict[str, float]) -> float:
    """Hand-written score: sentence values summed, damped by war talk, tail-only mentions and the title."""
    score = sum(f.value for f in facts)
    score /= 1.0 + NEGATIVE_LOAD_WEIGHT * features["negative_load"]
    if features["tail_only"]:
        score *= TAIL_FACTOR
    else:
        score -= (1.0 - TAIL_FACTOR) * features["tail_side_value"]
    if not features["title_anchor"]:
        score *= UNANCHORED_FACTOR
    if features["title_dispute"]:
        score *= DISPUTE_FACTOR
    if not features["content"]:
        score *= CONTENTLESS_FACTOR
    if features["passing"]:
        score *= PASSING_FACTOR
    return score
