"""What a digest says, as values: pending hits grouped into stories, strongest first, with excerpts marked.

Pure functions of ``Hit`` and ``StorySource`` values; nothing here reads the database or the clock,
so the digest's content is tested without either. Every string from a crawled page is hostile: control
and bidirectional-override characters are dropped (an RLO in a headline would reverse what follows it)
and only http(s) links are kept, by the same functions as every other output (``storage/safe_text.py``);
escaping is the templates' job (Jinja2 autoescape).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from storage.records import Hit, StorySource
from storage.safe_text import http_url, one_line

#: About three lines on a phone: enough to see why the story is a hit, short enough to scan a dozen.
EXCERPT_CHARS = 320


@dataclass(frozen=True, slots=True)
class Segment:
    """A piece of an excerpt; ``marked`` pieces are the matched terms, highlighted."""

    text: str
    marked: bool = False


@dataclass(frozen=True, slots=True)
class Link:
    """One outlet that carried a story; ``url`` is None when the stored link is not http(s)."""

    source: str
    url: str | None
    published: datetime | None


@dataclass(frozen=True, slots=True)
class DigestStory:
    """One entry of the digest: a story and the new hits it carries."""

    headline: str
    published: datetime | None
    partners: tuple[str, ...]
    sectors: tuple[str, ...]
    links: tuple[Link, ...]
    excerpt: tuple[Segment, ...]
    score: float
    article_ids: tuple[int, ...]

    @property
    def url(self) -> str | None:
        """The headline's link: the first outlet with an http(s) link."""
        return next((link.url for link in self.links if link.url), None)


@dataclass(frozen=True, slots=True)
class Summary:
    """Counts of stories per partner and per sector, largest first."""

    stories: int
    hits: int
    partners: tuple[tuple[str, int], ...]
    sectors: tuple[tuple[str, int], ...]


def highlight(text: str, terms: Iterable[str]) -> tuple[Segment, ...]:
    """Split ``text`` into plain and marked segments, the longest term winning where terms overlap."""
    wanted = sorted({t for t in (one_line(term) for term in terms) if t}, key=len, reverse=True)
    if not wanted:
        return (Segment(text),) if text else ()
    pattern = re.compile("|".join(re.escape(term) for term in wanted))
    segments: list[Segment] = []
    at = 0
    for match in pattern.finditer(text):
        if match.start() > at:
            segments.append(Segment(text[at : match.start()]))
        segments.append(Segment(match.group(), marked=True))
        at = match.end()
    if at < len(text):
        segments.append(Segment(text[at:]))
    return tuple(segments)


def excerpt(sentences: Sequence[str], limit: int = EXCERPT_CHARS) -> str:
    """The deciding sentences joined, cut at a word boundary near ``limit`` characters."""
    text = one_line(" ".join(sentences))
    if len(text) <= limit:
        return text
    cut = text.rfind(" ", 0, limit)
    return text[: cut if cut > limit // 2 else limit].rstrip(" ،,.:؛") + " …"


def group(hits: Sequence[Hit], sources: Mapping[int, tuple[StorySource, ...]]) -> tuple[DigestStory, ...]:
    """One entry per story (a hit without a story is its own), strongest first.

    Strength is the best score of the story's new hits, then how many outlets carried it, then recency.
    ``sources`` lists every article of each story, including ones mailed before and copies that were
    not hits, because the analyst wants every outlet that ran it.
    """
    by_story: dict[tuple[str, int], list[Hit]] = {}
    for hit in hits:
        key = ("story", hit.story_id) if hit.story_id is not None else ("article", hit.article_id)
        by_story.setdefault(key, []).append(hit)
    stories = [
        _story(members, sources.get(key[1], ()) if key[0] == "story" else ())
        for key, members in by_story.items()
    ]
    stories.sort(key=lambda s: (-s.score, -len(s.links), -(s.published.timestamp() if s.published else 0.0)))
    return tuple(stories)


def _story(members: list[Hit], carried: tuple[StorySource, ...]) -> DigestStory:
    best = max(members, key=lambda h: (h.score, -h.article_id))
    dates = [h.published for h in members if h.published] + [s.published for s in carried if s.published]
    listed = carried or tuple(StorySource(h.source, h.url, h.published) for h in members)
    links = tuple(
        dict.fromkeys(Link(one_line(s.source), http_url(s.url), s.published) for s in listed if s.source)
    )
    return DigestStory(
        headline=one_line(best.title) or one_line(best.evidence[0] if best.evidence else ""),
        published=min(dates) if dates else None,
        partners=tuple(dict.fromkeys(p for h in members for p in h.partners)),
        sectors=tuple(dict.fromkeys(s for h in members for s in h.sectors)),
        links=links,
        excerpt=highlight(excerpt(best.evidence), best.terms),
        score=best.score,
        article_ids=tuple(sorted(h.article_id for h in members)),
    )


def summarise(stories: Sequence[DigestStory]) -> Summary:
    """How many stories name each partner and each sector."""
    partners = Counter(p for s in stories for p in s.partners)
    sectors = Counter(s for story in stories for s in story.sectors)
    return Summary(
        stories=len(stories),
        hits=sum(len(s.article_ids) for s in stories),
        partners=tuple(sorted(partners.items(), key=lambda kv: (-kv[1], kv[0]))),
        sectors=tuple(sorted(sectors.items(), key=lambda kv: (-kv[1], kv[0]))),
    )
