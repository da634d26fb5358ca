"""The default sources file: real Arabic outlets, each with a way in, and errors that name file and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from config.settings import ConfigError, Settings
from config.sources import load_sources, select_sources

DEFAULT = Settings().sources_file


def test_default_sources_list_at_least_25_real_outlets() -> None:
    sources = load_sources(DEFAULT)
    assert len(sources) >= 25
    assert all(not s.url.startswith(("http://127.", "http://localhost")) for s in sources)


def test_default_sources_include_the_agencies_and_services_the_issue_names() -> None:
    names = {s.name for s in load_sources(DEFAULT)}
    wanted = {"rt-arabic", "sputnik-arabic", "xinhua-arabic", "wam", "spa", "qna", "kuna", "mena", "sana"}
    assert wanted <= names


def test_most_default_sources_declare_a_feed_sitemap_or_section() -> None:
    sources = load_sources(DEFAULT)
    bare = [s.name for s in sources if not (s.feeds or s.sitemaps or s.sections)]
    assert len(bare) <= 2, bare  # crawled from the home page by autodiscovery


def test_section_patterns_of_default_sources_compile_and_are_not_empty() -> None:
    for source in load_sources(DEFAULT):
        if source.sections:
            assert source.allow, f"{source.name} lists sections but no allow pattern"


def test_broken_yaml_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "sources.yaml"
    path.write_text("sources:\n  - name: a\n    url: https://a.example/\n    feeds: [https://a.example/?x\n", "utf-8")
    with pytest.raises(ConfigError, match=rf"^{path}:\d+: invalid YAML"):
        load_sources(path)


def test_unknown_source_name_is_refused_with_the_known_ones() -> None:
    with pytest.raises(ConfigError, match=r"unknown source\(s\): nope \(known: "):
        select_sources(load_sources(DEFAULT), ["nope"])
