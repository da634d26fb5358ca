"""The outlets to crawl, declared as data in ``sources.yaml`` and validated on load."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    HttpUrl,
    StringConstraints,
    ValidationError,
    model_validator,
)

from config.settings import ConfigError

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


class _SourceModel(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]*$")
    url: HttpUrl
    feeds: list[HttpUrl] = []
    sitemaps: list[HttpUrl] = []
    sections: list[HttpUrl] = []
    allow: list[str] = []
    deny: list[str] = []
    #: Host names (optionally with :port) beyond the url's and the entry points' own; nothing else is fetched.
    hosts: list[Annotated[str, StringConstraints(pattern=HOST_PATTERN, to_lower=True)]] = []
    country: str | None = None
    lang: str = "ar"

    @model_validator(mode="after")
    def _patterns_compile(self) -> _SourceModel:
        import re

        for pattern in (*self.allow, *self.deny):
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"bad URL pattern {pattern!r}: {exc}") from None
        return self

    def to_source(self) -> Source:
        return Source(
            name=self.name,
            url=str(self.url),
            feeds=tuple(str(u) for u in self.feeds),
            sitemaps=tuple(str(u) for u in self.sitemaps),
            sections=tuple(str(u) for u in self.sections),
            allow=tuple(self.allow),
            deny=tuple(self.deny),
            hosts=tuple(self.hosts),
            country=self.country,
            lang=self.lang,
        )


def load_sources(path: Path) -> tuple[Source, ...]:
    """Read and validate a sources file; a mistake raises ``ConfigError`` naming file, line and source."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read sources file: {exc.strerror}") from None
    try:
        document = yaml.compose(text)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"{path}{line}: invalid YAML: {problem}") from None
    if not isinstance(data, dict) or not isinstance(data.get("sources"), list):
        raise ConfigError(f"{path}: expected a mapping with a 'sources' list")
    lines = _item_lines(document)
    sources: list[Source] = []
    seen: set[str] = set()
    for index, raw in enumerate(data["sources"]):
        where = f"{path}:{lines[index]}" if index < len(lines) else str(path)
        name = raw.get("name", f"#{index + 1}") if isinstance(raw, dict) else f"#{index + 1}"
        try:
            source = _SourceModel.model_validate(raw).to_source()
        except ValidationError as exc:
            first = exc.errors()[0]
            field = ".".join(str(p) for p in first["loc"]) or "entry"
            raise ConfigError(f"{where}: source '{name}': {field}: {first['msg']}") from None
        if source.name in seen:
            raise ConfigError(f"{where}: source '{source.name}' is listed twice")
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
