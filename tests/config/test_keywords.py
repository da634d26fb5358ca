"""keywords.yaml: the shipped file loads; a broken file stops with one line naming file, line and reason."""

from __future__ import annotations

from pathlib import Path

import pytest

from config.keywords import load_keywords
from config.settings import PACKAGE_DIR, ConfigError

MINIMAL = """\
russia: [روسيا]
cooperation: [تعاون]
partners:
  UAE: [الإمارات]
sectors:
  energy: [النفط]
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "keywords.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_shipped_keywords_file_loads_with_every_role() -> None:
    keywords = load_keywords(PACKAGE_DIR / "keywords.yaml")
    roles = {group.role for group in keywords.groups}
    assert {"russia", "cooperation", "partner", "sector", "negative"} <= roles
    assert "UAE" in {g.canonical for g in keywords.by_role("partner")}
    assert "ai" in {g.canonical for g in keywords.by_role("sector")}


def test_minimal_file_loads_with_default_rules(tmp_path: Path) -> None:
    keywords = load_keywords(_write(tmp_path, MINIMAL))
    assert [g.name for g in keywords.groups] == ["russia", "cooperation", "partner:UAE", "sector:energy"]
    assert keywords.window == 12


def test_fingerprint_changes_when_the_file_changes(tmp_path: Path) -> None:
    first = load_keywords(_write(tmp_path, MINIMAL)).fingerprint
    second = load_keywords(_write(tmp_path, MINIMAL + "negative:\n  war: [حرب]\n")).fingerprint
    assert first != second


def test_empty_term_names_its_line_and_group(tmp_path: Path) -> None:
    path = _write(tmp_path, MINIMAL.replace("UAE: [الإمارات]", 'UAE: [الإمارات, ""]'))
    with pytest.raises(ConfigError) as caught:
        load_keywords(path)
    assert str(caught.value) == f"{path}:4: partners.UAE.1: term must be a non-empty string"


def test_unknown_top_level_group_is_an_error_on_its_line(tmp_path: Path) -> None:
    path = _write(tmp_path, MINIMAL + "partnres:\n  Iran: [إيران]\n")
    with pytest.raises(ConfigError) as caught:
        load_keywords(path)
    assert str(caught.value) == f"{path}:7: partnres: Extra inputs are not permitted"


def test_missing_russia_group_is_an_error(tmp_path: Path) -> None:
    path = _write(tmp_path, MINIMAL.replace("russia: [روسيا]\n", ""))
    with pytest.raises(ConfigError) as caught:
        load_keywords(path)
    assert str(caught.value) == f"{path}:1: russia: Field required"


def test_bad_rule_value_names_the_rule(tmp_path: Path) -> None:
    path = _write(tmp_path, "rules:\n  window: -3\n" + MINIMAL)
    with pytest.raises(ConfigError) as caught:
        load_keywords(path)
    assert str(caught.value) == f"{path}:2: rules.window: Input should be greater than or equal to 1"


def test_invalid_yaml_gives_the_line_of_the_problem(tmp_path: Path) -> None:
    path = _write(tmp_path, MINIMAL + "negative: [unclosed\n")
    with pytest.raises(ConfigError) as caught:
        load_keywords(path)
    assert str(caught.value).startswith(f"{path}:8: invalid YAML:")


def test_a_list_instead_of_a_mapping_is_an_error(tmp_path: Path) -> None:
    path = _write(tmp_path, "- روسيا\n")
    with pytest.raises(ConfigError) as caught:
        load_keywords(path)
    assert str(caught.value) == f"{path}:1: keywords file must be a mapping of term groups"


def test_missing_file_is_an_error_naming_it(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_keywords(tmp_path / "nope.yaml")
    assert str(caught.value).startswith(f"{tmp_path / 'nope.yaml'}: cannot read keywords file")


def test_a_bloc_that_is_not_a_partner_is_an_error_naming_it(tmp_path: Path) -> None:
    path = _write(tmp_path, MINIMAL + "blocs: [OPEC]\n")
    with pytest.raises(ConfigError) as caught:
        load_keywords(path)
    assert str(caught.value) == f"{path}:7: blocs: 'OPEC' is not a partner name"


def test_shipped_blocs_are_partners() -> None:
    keywords = load_keywords(PACKAGE_DIR / "keywords.yaml")
    assert "OPEC" in keywords.blocs
    assert keywords.blocs <= {g.canonical for g in keywords.by_role("partner")}
