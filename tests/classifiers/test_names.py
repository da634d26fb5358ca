"""What an analyst may type for a sector or partner: the names the digest and the web view show are accepted."""

from __future__ import annotations

import pytest

from classifiers.names import SECTOR_NAMES, UnknownName, arabic_name, resolve_name
from config.keywords import load_keywords
from config.settings import PACKAGE_DIR

KEYWORDS = load_keywords(PACKAGE_DIR / "keywords.yaml")


def test_every_sector_of_the_keywords_has_an_arabic_name_that_resolves_back_to_it() -> None:
    sectors = KEYWORDS.by_role("sector")
    assert {group.canonical for group in sectors} == set(SECTOR_NAMES)
    for group in sectors:
        assert resolve_name(KEYWORDS, "sector", arabic_name(group)) == group.canonical


@pytest.mark.parametrize(
    ("typed", "sector"), [("المال والمصارف", "finance"), ("الثقافة والسياحة", "culture")]
)
def test_the_digests_two_word_sector_names_are_filters(typed: str, sector: str) -> None:
    assert resolve_name(KEYWORDS, "sector", typed) == sector


def test_every_partner_resolves_from_the_arabic_name_shown() -> None:
    for group in KEYWORDS.by_role("partner"):
        assert resolve_name(KEYWORDS, "partner", arabic_name(group)) == group.canonical


def test_an_unknown_sector_lists_the_arabic_names_shown() -> None:
    with pytest.raises(UnknownName, match=r"finance \(المال والمصارف\)"):
        resolve_name(KEYWORDS, "sector", "weather")
