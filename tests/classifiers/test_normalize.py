"""Arabic normalisation: letter folds, deletions, digits, and the way back to the original offsets."""

from __future__ import annotations

from classifiers.normalize import normalize, offset_map


def test_alef_variants_fold_to_bare_alef() -> None:
    assert normalize("أإآٱ") == "اااا"


def test_alef_maqsura_and_persian_yeh_fold_to_yeh() -> None:
    # موسى (Musa) with alef maqsura, and a Persian yeh as Iranian outlets type it
    assert normalize("موسى") == "موسي"
    assert normalize("ایران") == "ايران"


def test_ta_marbuta_folds_to_ha_and_keheh_to_kaf() -> None:
    assert normalize("الروسية") == "الروسيه"
    assert normalize("کرملین") == "كرملين"


def test_tashkeel_and_tatweel_are_removed() -> None:
    # رُوسِيَا with diacritics, مـوسـكو stretched with tatweel
    assert normalize("رُوسِيَا") == "روسيا"
    assert normalize("مـوسـكو") == "موسكو"


def test_arabic_indic_and_persian_digits_become_ascii() -> None:
    assert normalize("٢٠١٨ و۱۴۰۲") == "2018 و1402"


def test_guillemets_and_curly_quotes_become_straight_quotes() -> None:
    assert normalize("«روستيخ» “تاس”") == '"روستيخ" "تاس"'


def test_ascii_is_lower_cased_without_changing_length() -> None:
    assert normalize("S-400 Rosatom") == "s-400 rosatom"


def test_offset_map_is_none_when_nothing_was_deleted() -> None:
    text = "أبو ظبي"
    assert offset_map(text, normalize(text)) is None


def test_offset_map_points_back_past_deleted_diacritics() -> None:
    # "Putin said" fully vocalised, then "and Moscow" with a stretched letter
    original = "قالَ بُوتِينُ ومـوسكو"
    norm = normalize(original)
    offsets = offset_map(original, norm)
    assert offsets is not None
    for word, expected in (("قال", "قالَ"), ("بوتين", "بُوتِينُ"), ("وموسكو", "ومـوسكو")):
        start = norm.index(word)
        assert original[offsets(start) : offsets(start + len(word))] == expected
