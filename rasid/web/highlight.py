"""The verdict's terms highlighted in their sentences: text cut into plain and marked segments.

Segments, not HTML: the template marks them with ``<mark>`` and escapes every piece itself, so a
hostile sentence can never inject markup through a highlight.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from storage.records import Term

#: CSS class per term group role (the part of Match.group before ":").
ROLES = ("russia", "cooperation", "partner", "sector", "negative")


@dataclass(frozen=True, slots=True)
class Segment:
    """A piece of a sentence; ``role`` names the term group when it is a matched term, else is empty."""

    text: str
    role: str = ""


@dataclass(frozen=True, slots=True)
class Evidence:
    """One sentence of the verdict, cut into segments."""

    segments: tuple[Segment, ...]


def segments(sentence: str, terms: Iterable[Term]) -> tuple[Segment, ...]:
    """Cut ``sentence`` at every surface form matched in it, longest first so phrases beat their words."""
    roles: dict[str, str] = {}
    for term in terms:
        if term.sentence == sentence and term.surface:
            role = term.group.split(":")[0]
            roles.setdefault(term.surface, role if role in ROLES else "other")
    if not roles:
        return (Segment(sentence),)
    pattern = re.compile("|".join(re.escape(s) for s in sorted(roles, key=len, reverse=True)))
    pieces: list[Segment] = []
    last = 0
    for match in pattern.finditer(sentence):
        if match.start() > last:
            pieces.append(Segment(sentence[last : match.start()]))
        pieces.append(Segment(match.group(0), roles[match.group(0)]))
        last = match.end()
    if last < len(sentence):
        pieces.append(Segment(sentence[last:]))
    return tuple(pieces)


def evidence(sentences: Sequence[str], terms: Sequence[Term]) -> tuple[Evidence, ...]:
    """Each evidence sentence with its terms marked; sentences with matches but no evidence role too."""
    chosen = list(dict.fromkeys(sentences)) or list(dict.fromkeys(t.sentence for t in terms))
    return tuple(Evidence(segments(sentence, terms)) for sentence in chosen)
