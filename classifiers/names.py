"""What an analyst may type for a partner or a sector: the classifier's own names, in English or Arabic.

Verdicts store the canonical English name of ``keywords.yaml`` ("China", "energy"); a filter such as
``rasid hits --partner الصين`` is resolved to that name first, by the group's canonical name (any case)
or any of its Arabic terms after the classifier's normalisation (so "الامارات" finds "UAE").
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from classifiers.tokens import core_of

if TYPE_CHECKING:
    from config.keywords import Keywords, TermGroup


#: The Arabic names an analyst reads for the sectors (the digest, the web view, error lines); a partner's Arabic
#: name is its first term. Each is also accepted as a filter.
SECTOR_NAMES = {
    "ai": "الذكاء الاصطناعي", "technology": "التكنولوجيا", "industry": "الصناعة", "trade": "التجارة",
    "investment": "الاستثمار", "energy": "الطاقة", "defence": "الدفاع", "science": "العلوم", "space": "الفضاء",
    "education": "التعليم", "culture": "الثقافة والسياحة", "health": "الصحة", "agriculture": "الزراعة",
    "transport": "النقل", "finance": "المال والمصارف",
}  # fmt: skip


def arabic_name(group: TermGroup) -> str:
    """What the analyst reads for a partner or sector group."""
    if group.role == "sector" and group.canonical in SECTOR_NAMES:
        return SECTOR_NAMES[group.canonical]
    return group.terms[0].rstrip("!") if group.terms else group.canonical


class UnknownName(ValueError):
    """A partner or sector the classifier does not know; the message lists the ones it does."""


def resolve_name(keywords: Keywords, role: str, value: str) -> str:
    """The canonical name of the ``role`` ("partner" or "sector") group that ``value`` names."""
    groups = keywords.by_role(role)
    for group in groups:
        if value.strip().casefold() == group.canonical.casefold():
            return group.canonical
    wanted = core_of(value)[0].casefold()  # the way terms are matched: normalised, article dropped
    for group in groups:
        if any(wanted == core_of(term)[0].casefold() for term in (*group.terms, arabic_name(group))):
            return group.canonical
    known = ", ".join(f"{group.canonical} ({arabic_name(group)})" for group in groups)
    raise UnknownName(f"--{role} {value!r}: not a {role} the classifier knows; known: {known}")
