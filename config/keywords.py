"""The classifier's term groups, read from ``keywords.yaml`` and validated so an analyst can edit them.

A mistake in the file stops the program with one line naming the file, the line and the reason
(``keywords.yaml:42: partners.UAE: term must be a non-empty string``), never a traceback.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from config.settings import ConfigError
from config.yaml_files import compose, safe_load

#: Group names the classifier reads; the roles are fixed in code, the terms are the analyst's.
ROLES = ("russia", "ignore", "cooperation", "meeting", "partners", "sectors", "negative")


def _check_term(term: str) -> str:
    if not term.strip("!").strip():
        raise ValueError("term must be a non-empty string")
    if term.rstrip("!").strip() != term.rstrip("!"):
        raise ValueError(f"term {term!r} has leading or trailing spaces")
    return term


#: One term as written by the analyst; pydantic reports a bad one with its exact position in the file.
Term = Annotated[str, AfterValidator(_check_term)]
Terms = Annotated[list[Term], Field(min_length=1)]


class _Rules(BaseModel):
    """The numbers of the decision; every one has a default so the file may leave them out."""

    model_config = ConfigDict(extra="forbid")

    window: int = Field(12, ge=1, le=200, description="tokens between a Russia term and a cooperation term")
    threshold: float = Field(4.0, gt=0, description="score at or above which an article is a hit")
    title_weight: float = Field(3.0, ge=0)
    lead_weight: float = Field(2.0, ge=0)
    body_weight: float = Field(1.0, ge=0)
    lead_chars: int = Field(400, ge=0, description="the first characters of the body that count as the lead")


class _File(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rules: _Rules = _Rules()
    russia: Terms
    ignore: list[Term] = []
    cooperation: Terms
    meeting: list[Term] = []
    partners: Annotated[dict[str, Terms], Field(min_length=1)]
    sectors: Annotated[dict[str, Terms], Field(min_length=1)]
    negative: dict[str, Terms] = {}
    rivals: list[str] = []
    blocs: list[str] = []

    @field_validator("rivals", "blocs")
    @classmethod
    def _are_partners(cls, names: list[str], info: ValidationInfo) -> list[str]:
        unknown = [name for name in names if name not in info.data.get("partners", {})]
        if unknown:
            raise ValueError(f"{unknown[0]!r} is not a partner name")
        return names


@dataclass(frozen=True, slots=True)
class TermGroup:
    """Terms that play one role; ``name`` is what a Match reports (``russia``, ``sector:energy``...)."""

    name: str
    role: str  # one of ROLES, singular for the named ones: "partner", "sector", "negative"
    canonical: str  # the English name for partners/sectors/negatives ("UAE", "energy"), else the role
    terms: tuple[str, ...]  # as written in the file; a trailing "!" means "no suffixes"


@dataclass(frozen=True, slots=True)
class Keywords:
    """Every term group plus the decision's numbers; ``fingerprint`` changes with the file's content."""

    groups: tuple[TermGroup, ...]
    window: int
    threshold: float
    title_weight: float
    lead_weight: float
    body_weight: float
    lead_chars: int
    fingerprint: str
    rivals: frozenset[str] = frozenset()
    blocs: frozenset[str] = frozenset()  # partners whose naming with Russia and a field is itself cooperation
    path: Path | None = None

    def by_role(self, role: str) -> tuple[TermGroup, ...]:
        return tuple(group for group in self.groups if group.role == role)


def load_keywords(path: Path) -> Keywords:
    """Read and validate a keywords file; raises ConfigError("<file>:<line>: <where>: <why>")."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read keywords file: {exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8")
        data = safe_load(text)
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: keywords file is not UTF-8") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f"{mark.line + 1}:" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"{path}:{line} invalid YAML: {problem}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}:1: keywords file must be a mapping of term groups")
    try:
        parsed = _File.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = tuple(first["loc"])
        where = ".".join(str(part) for part in loc) or "file"
        message = first["msg"].removeprefix("Value error, ")
        raise ConfigError(f"{path}:{_line_of(compose(text), loc)}: {where}: {message}") from None
    return _build(parsed, hashlib.sha256(raw).hexdigest()[:12], path)


def _build(parsed: _File, fingerprint: str, path: Path | None) -> Keywords:
    groups = [
        TermGroup("russia", "russia", "russia", tuple(parsed.russia)),
        TermGroup("ignore", "ignore", "ignore", tuple(parsed.ignore)),
        TermGroup("cooperation", "cooperation", "cooperation", tuple(parsed.cooperation)),
        TermGroup("meeting", "meeting", "meeting", tuple(parsed.meeting)),
    ]
    for role, named in (
        ("partner", parsed.partners),
        ("sector", parsed.sectors),
        ("negative", parsed.negative),
    ):
        groups.extend(TermGroup(f"{role}:{name}", role, name, tuple(terms)) for name, terms in named.items())
    rules = parsed.rules
    return Keywords(
        groups=tuple(group for group in groups if group.terms),
        window=rules.window,
        threshold=rules.threshold,
        title_weight=rules.title_weight,
        lead_weight=rules.lead_weight,
        body_weight=rules.body_weight,
        lead_chars=rules.lead_chars,
        fingerprint=fingerprint,
        rivals=frozenset(parsed.rivals),
        blocs=frozenset(parsed.blocs),
        path=path,
    )


def _line_of(node: Any, loc: tuple[Any, ...]) -> int:
    """1-based line of the YAML key or item at ``loc`` (or of its nearest existing parent)."""
    line = node.start_mark.line + 1 if node is not None else 1
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            pair = next(((k, v) for k, v in node.value if k.value == str(part)), None)
            if pair is None:
                break
            line, node = pair[0].start_mark.line + 1, pair[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            break
    return line
