"""Terms with clitics and suffixes, on word boundaries, found by one compiled pattern."""

from __future__ import annotations

import pytest

from classifiers.normalize import normalize
from classifiers.tokens import TermIndex, sentence_spans, trie_pattern

# روسيا Russia, روس Russ- (الروسي، الروسية، للروس), موسكو Moscow, قطر Qatar (no suffixes), مذكرة تفاهم MoU
TERMS = ("روسيا", "روس", "موسكو", "مذكرة تفاهم", "الكرملين", "قطر!")
INDEX = TermIndex((term, term) for term in TERMS)


def _found(sentence: str) -> list[str]:
    return [m.group(0) for m in INDEX.pattern.finditer(normalize(sentence)) if INDEX.payloads(m)]


def test_match_reports_the_term_it_stands_on() -> None:
    text = normalize("وقال للروس في بموسكو")
    assert [INDEX.payloads(m) for m in INDEX.pattern.finditer(text)] == [("روس",), ("موسكو",)]


@pytest.mark.parametrize(
    "sentence,expected",
    [
        ("زار روسيا أمس", ["روسيا"]),  # bare
        ("بين الصين وروسيا", ["وروسيا"]),  # conjunction wa-
        ("الحكومة الروسية", ["الروسيه"]),  # article + nisba feminine
        ("الرئيس الروسي", ["الروسي"]),  # article + nisba
        ("قال للروس", ["للروس"]),  # li- + article (lil-)
        ("وصل إلى موسكو", ["موسكو"]),
        ("اجتماع بموسكو", ["بموسكو"]),  # bi-
        ("والروسيين", ["والروسيين"]),  # wa- + al- + plural nisba
        ("بيان الكرملين", ["الكرملين"]),  # a term written with its article
        ("وقعا مذكرة  تفاهم", ["مذكره  تفاهم"]),  # multi-word term across two spaces
    ],
)
def test_term_matches_with_its_clitics_and_suffixes(sentence: str, expected: list[str]) -> None:
    assert _found(sentence) == expected


@pytest.mark.parametrize(
    "sentence",
    [
        "دروس مستفادة",  # durus "lessons" contains روس
        "فيروس كورونا",  # virus contains روس
        "عروسة جميلة",  # bride
        "قطرات المطر",  # drops: قطر takes no suffixes
        "بيلاروسيا",  # Belarus contains روسيا
    ],
)
def test_term_does_not_match_inside_an_unrelated_word(sentence: str) -> None:
    assert _found(sentence) == []


def test_term_marked_exact_takes_prefixes_but_not_suffixes() -> None:
    assert _found("من قطر ولقطر") == ["قطر", "ولقطر"]


def test_trie_pattern_matches_exactly_its_words() -> None:
    import re

    pattern = re.compile(f"^(?:{trie_pattern(['شركه', 'شريك', 'شر'])})$")
    assert [w for w in ("شركه", "شريك", "شر", "شرك", "شريكه") if pattern.match(w)] == ["شركه", "شريك", "شر"]


def test_sentences_split_on_stops_and_newlines_but_not_decimals() -> None:
    text = normalize("بلغ 11.5 مليار دولار. وقال بوتين؟ نعم\nسطر آخر")
    assert [text[a:b].strip() for a, b in sentence_spans(text)] == [
        "بلغ 11.5 مليار دولار.",
        "وقال بوتين?",
        "نعم",
        "سطر اخر",  # normalised text: آ folded
    ]
