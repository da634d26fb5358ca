"""The README is the manual: every command has help with an example, and the README names it."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import typer.main

from rasid.cli import app

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


def _commands() -> list[tuple[str, Any]]:
    root = typer.main.get_command(app)
    found: list[tuple[str, Any]] = []

    def walk(prefix: str, command: Any) -> None:
        if hasattr(command, "commands"):  # a group (Typer vendors its own click)
            for name, sub in command.commands.items():
                walk(f"{prefix} {name}".strip(), sub)
        else:
            found.append((prefix, command))

    walk("", root)
    return found


COMMANDS = _commands()


def test_the_cli_has_the_commands_the_issues_ask_for() -> None:
    names = {name for name, _ in COMMANDS}
    assert {"crawl", "hits", "config"} <= names


@pytest.mark.parametrize("name,command", COMMANDS, ids=[name for name, _ in COMMANDS])
def test_every_command_has_help_with_an_example(name: str, command: Any) -> None:
    assert command.help, f"rasid {name} has no help"
    assert re.search(rf"Example: rasid {re.escape(name)}\b", command.help), (
        f"rasid {name} help lacks an example"
    )


@pytest.mark.parametrize("name", [name for name, _ in COMMANDS])
def test_every_command_is_in_the_readme(name: str) -> None:
    assert f"rasid {name}" in README, f"README does not mention `rasid {name}`"


def test_readme_gives_the_two_fresh_machine_commands() -> None:
    blocks = re.findall(r"```(?:sh|bash)?\n(.*?)```", README, flags=re.S)
    commands = [line for block in blocks for line in block.splitlines()]
    assert "./scripts/demo" in commands
    assert "./scripts/test" in commands
