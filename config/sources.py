"""The outlets to crawl, declared as data in ``sources.yaml`` and validated on load.

Each entry point (feed, news sitemap, section page) is a URL, or a mapping that also says how sure we are
of it: ``verified: YYYY-MM`` with the ``evidence`` that confirmed it, or ``unverified`` (the default for a
plain URL); ``blocked: 403`` when the outlet refuses crawlers there, ``needs_browser: true`` when the page
only lists articles once JavaScript has run. ``examples`` are real article URLs of the outlet, which the
tests hold its ``allow``/``deny`` patterns to.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    HttpUrl,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)

from config.settings import ConfigError, Duration
from config.yaml_files import compose, safe_load

#: The confidence of an entry point nobody has confirmed from evidence yet.
UNVERIFIED = "unverified"
#: ``verified`` holds the month the evidence was read, e.g. ``2026-11``.
VERIFIED_RE = re.compile(r"^\d{4}-(?:0[1-9]|1[0-2])$")


@dataclass(frozen=True, slots=True)
class EntryPoint:
    """One way into an outlet, with how sure we are that it answers and what is known to stand in the way."""

    url: str
    kind: str  # "feed", "sitemap", "section" or "home"
    verified: str = UNVERIFIED  # "YYYY-MM" when public evidence confirmed it, else "unverified"
    evidence: str | None = None  # where that evidence came from, in a few words
    blocked: int | None = None  # the HTTP status the outlet answers crawlers with here (403)
    needs_browser: bool = False  # the page lists its articles only after JavaScript runs

    @property
    def is_verified(self) -> bool:
        return self.verified != UNVERIFIED


#: A host name or IP address, optionally with a port: ``cdn.example.com``, ``example.net:8080``.
HOST_PATTERN = r"^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?(:[0-9]{1,5})?$"


@dataclass(frozen=True, slots=True)
class Source:
    """One outlet and the entry points it offers.

    Any list may be empty; a source with none of them is crawled from its home page
    (feed autodiscovery through ``<link rel="alternate">``, then article-like links).
    """

    name: str
    url: str
    feeds: tuple[str, ...] = ()
    sitemaps: tuple[str, ...] = ()
    sections: tuple[str, ...] = ()
    allow: tuple[str, ...] = ()  # regexes an article URL must match (section crawling)
    deny: tuple[str, ...] = ()  # regexes that exclude a URL
    hosts: tuple[str, ...] = ()  # more hosts its articles live on (a CDN, a second domain): crawler.urlpolicy
    country: str | None = None
    lang: str = "ar"
    # feeds, sitemaps and sections (or the home page when there are none) with their evidence marks
    entry_points: tuple[EntryPoint, ...] = ()
    examples: tuple[str, ...] = ()  # real article URLs of this outlet
    interval: timedelta | None = None  # its own crawl interval in the daemon; None: [schedule] crawl_interval
    max_pages: int | None = None  # its own article budget per run; None: [crawl] max_pages_per_source

    def entry(self, url: str) -> EntryPoint:
        """The declared entry point at ``url``; an unknown one (found by autodiscovery) is unverified."""
        for entry in self.entry_points:
            if entry.url == url:
                return entry
        return EntryPoint(url, "feed")


class _EntryModel(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: HttpUrl
    verified: str = UNVERIFIED
    evidence: str | None = Field(None, min_length=3)
    blocked: int | None = Field(None, ge=400, le=599)
    needs_browser: bool = False

    @field_validator("verified", mode="before")
    @classmethod
    def _month_or_unverified(cls, value: object) -> object:
        text = str(value).strip()
        if text != UNVERIFIED and not VERIFIED_RE.match(text):
            raise ValueError(
                f"expected YYYY-MM (the month the evidence was read) or {UNVERIFIED!r}, got {text!r}"
            )
        return text

    @model_validator(mode="after")
    def _verified_has_evidence(self) -> _EntryModel:
        if self.verified != UNVERIFIED and not self.evidence:
            raise ValueError("a verified entry point needs 'evidence' (where it was confirmed)")
        return self

    def to_entry(self, kind: str) -> EntryPoint:
        return EntryPoint(str(self.url), kind, self.verified, self.evidence, self.blocked, self.needs_browser)


class _SourceModel(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]*$")
    url: HttpUrl
    feeds: list[_EntryModel] = []
    sitemaps: list[_EntryModel] = []
    sections: list[_EntryModel] = []
    allow: list[str] = []
    deny: list[str] = []
    #: Host names (optionally with :port) beyond the url's and the entry points' own; nothing else is fetched.
    hosts: list[Annotated[str, StringConstraints(pattern=HOST_PATTERN, to_lower=True)]] = []
    country: str | None = None
    lang: str = "ar"
    examples: list[str] = []

    @field_validator("feeds", "sitemaps", "sections", mode="before")
    @classmethod
    def _plain_url_is_unverified(cls, value: object) -> object:
        """A plain URL is an entry point with no marks, so both forms validate (and fail) alike."""
        if isinstance(value, list):
            return [{"url": item} if isinstance(item, str) else item for item in value]
        return value

    interval: Duration | None = None
    max_pages: int | None = Field(None, ge=1)

    @model_validator(mode="after")
    def _patterns_compile(self) -> _SourceModel:
        for pattern in (*self.allow, *self.deny):
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"bad URL pattern {pattern!r}: {exc}") from None
        return self

    @model_validator(mode="after")
    def _examples_are_this_outlets(self) -> _SourceModel:
        home = _site(str(self.url))
        for example in self.examples:
            if urlsplit(example).scheme not in {"http", "https"} or _site(example) != home:
                raise ValueError(f"example {example!r} is not an article URL of {home}")
        return self

    def to_source(self) -> Source:
        entries = (
            *(e.to_entry("feed") for e in self.feeds),
            *(e.to_entry("sitemap") for e in self.sitemaps),
            *(e.to_entry("section") for e in self.sections),
        )
        return Source(
            name=self.name,
            url=str(self.url),
            feeds=tuple(e.url for e in entries if e.kind == "feed"),
            sitemaps=tuple(e.url for e in entries if e.kind == "sitemap"),
            sections=tuple(e.url for e in entries if e.kind == "section"),
            allow=tuple(self.allow),
            deny=tuple(self.deny),
            hosts=tuple(self.hosts),
            country=self.country,
            lang=self.lang,
            entry_points=entries or (EntryPoint(str(self.url), "home"),),
            examples=tuple(self.examples),
            interval=self.interval,
            max_pages=self.max_pages,
        )


def _site(url: str) -> str:
    """Host without ``www.``/``m.``, so examples on ``outlet.com`` belong to ``www.outlet.com``."""
    return re.sub(r"^(?:www\d?|m|amp)\.", "", (urlsplit(url).hostname or "").lower())


def load_sources(path: Path) -> tuple[Source, ...]:
    """Read and validate a sources file; a mistake raises ``ConfigError`` naming file, line and source."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read sources file: {exc.strerror}") from None
    try:
        data = safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"{path}{line}: invalid YAML: {problem}") from None
    if not isinstance(data, dict) or not isinstance(data.get("sources"), list):
        raise ConfigError(f"{path}: expected a mapping with a 'sources' list")
    sources: list[Source] = []
    seen: set[str] = set()

    def where(index: int) -> str:  # the file's node tree is read only to point at a mistake
        lines = _item_lines(compose(text))
        return f"{path}:{lines[index]}" if index < len(lines) else str(path)

    for index, raw in enumerate(data["sources"]):
        name = raw.get("name", f"#{index + 1}") if isinstance(raw, dict) else f"#{index + 1}"
        try:
            source = _SourceModel.model_validate(raw).to_source()
        except ValidationError as exc:
            first = exc.errors()[0]
            field = ".".join(str(p) for p in first["loc"]) or "entry"
            raise ConfigError(f"{where(index)}: source '{name}': {field}: {first['msg']}") from None
        if source.name in seen:
            raise ConfigError(f"{where(index)}: source '{source.name}' is listed twice")
        seen.add(source.name)
        sources.append(source)
    return tuple(sources)


def select_sources(sources: tuple[Source, ...], names: list[str] | None) -> tuple[Source, ...]:
    """The named sources, in file order; an unknown name raises ``ConfigError``."""
    if not names:
        return sources
    known = {s.name for s in sources}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise ConfigError(f"unknown source(s): {', '.join(unknown)} (known: {', '.join(sorted(known))})")
    return tuple(s for s in sources if s.name in names)


def _item_lines(document: yaml.Node | None) -> list[int]:
    """1-based line of each entry of the 'sources' list, so errors can point into the file."""
    if not isinstance(document, yaml.MappingNode):
        return []
    for key, value in document.value:
        if getattr(key, "value", None) == "sources" and isinstance(value, yaml.SequenceNode):
            return [item.start_mark.line + 1 for item in value.value]
    return []
