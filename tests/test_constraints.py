"""constraints.txt pins every dependency rasid declares, at a version its pyproject.toml accepts, and the
environment the tests run in was installed under it (scripts/venv), so CI tests the versions it names."""

from __future__ import annotations

import tomllib
from importlib.metadata import version
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]


def _pins() -> dict[str, str]:
    pins: dict[str, str] = {}
    for line in (ROOT / "constraints.txt").read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, pinned = line.partition("==")
            pins[canonicalize_name(name)] = pinned
    return pins


def _declared(*extras: str) -> list[Requirement]:
    """The dependencies with those of ``extras`` (all of them when none is named)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    texts = list(project["dependencies"])
    for extra, requirements in project["optional-dependencies"].items():
        if not extras or extra in extras:
            texts.extend(requirements)
    return [Requirement(text) for text in texts]


def test_every_line_is_an_exact_pin() -> None:
    pins = _pins()
    assert pins and all(pinned for pinned in pins.values())


@pytest.mark.parametrize("requirement", _declared(), ids=str)
def test_each_declared_dependency_is_pinned_where_pyproject_accepts_it(requirement: Requirement) -> None:
    pinned = _pins().get(canonicalize_name(requirement.name))
    assert pinned is not None, f"{requirement.name} is not in constraints.txt"
    assert requirement.specifier.contains(pinned, prereleases=True), (
        f"{requirement.name}=={pinned} ∉ {requirement}"
    )


@pytest.mark.parametrize("requirement", _declared("test"), ids=str)
def test_the_installed_version_is_the_pinned_one(requirement: Requirement) -> None:
    """What ./scripts/venv test installs: the dependencies and the test extra."""
    installed = version(requirement.name)
    assert installed == _pins()[canonicalize_name(requirement.name)], "install with ./scripts/venv test"
