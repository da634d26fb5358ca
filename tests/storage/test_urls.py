"""Canonical URLs: every variant of one article's address is one spelling."""

from __future__ import annotations

import pytest

from storage.urls import canonicalize_url, url_forms

BASE = "https://alarabiya.net/ar/arab-and-world/2026/11/23/russia-uae"


@pytest.mark.parametrize(
    "variant",
    [
        BASE,
        BASE + "/",
        BASE + "?utm_source=twitter&utm_medium=social&utm_campaign=x",
        BASE + "?fbclid=IwAR0abc",
        BASE + "?gclid=1&utm_content=a#comments",
        "HTTPS://WWW.ALARABIYA.NET/ar/arab-and-world/2026/11/23/russia-uae",
        "http://www.alarabiya.net:80/ar/arab-and-world/2026/11/23/russia-uae",
        "https://alarabiya.net:443/ar/arab-and-world/2026/11/23/russia-uae",
        "https://m.alarabiya.net/ar/arab-and-world/2026/11/23/russia-uae",
        "https://amp.alarabiya.net/ar/arab-and-world/2026/11/23/russia-uae",
        "https://www.alarabiya.net/ar/amp/arab-and-world/2026/11/23/russia-uae",
        "https://www.alarabiya.net/amp/ar/arab-and-world/2026/11/23/russia-uae",
        BASE + "/amp",
        BASE + "/amp/",
        BASE + "?amp=1",
        BASE + "?outputType=amp",
        BASE + "?amp",
    ],
)
def test_tracking_amp_mobile_and_case_variants_share_one_canonical_url(variant: str) -> None:
    assert canonicalize_url(variant) == BASE


def test_raw_and_percent_encoded_arabic_paths_are_one_url() -> None:
    raw = "https://www.aljazeera.net/news/2026/11/23/روسيا-والإمارات-توقعان"
    encoded = "https://aljazeera.net/news/2026/11/23/%d8%b1%d9%88%d8%b3%d9%8a%d8%a7-%D9%88%D8%A7%D9%84%D8%A5%D9%85%D8%A7%D8%B1%D8%A7%D8%AA-%D8%AA%D9%88%D9%82%D8%B9%D8%A7%D9%86"
    assert canonicalize_url(raw) == canonicalize_url(encoded)
    assert canonicalize_url(raw).startswith("https://aljazeera.net/news/2026/11/23/%D8%B1%D9%88")


def test_meaningful_query_parameters_are_kept_and_sorted() -> None:
    assert canonicalize_url("https://sana.sy/?p=2154321&utm_source=x") == "https://sana.sy/?p=2154321"
    assert canonicalize_url("https://x.com/news?id=7&cat=2") == "https://x.com/news?cat=2&id=7"


def test_different_articles_keep_different_canonical_urls() -> None:
    assert canonicalize_url("https://sana.sy/?p=1") != canonicalize_url("https://sana.sy/?p=2")
    assert canonicalize_url(BASE) != canonicalize_url(BASE + "-2")


def test_non_default_port_and_its_scheme_are_kept() -> None:
    assert (
        canonicalize_url("http://127.0.0.1:8765/sana/a.html?utm_source=x")
        == "http://127.0.0.1:8765/sana/a.html"
    )


def test_amp_inside_a_word_is_not_stripped() -> None:
    assert canonicalize_url("https://x.com/campaign/lamp") == "https://x.com/campaign/lamp"


def test_text_that_is_not_an_http_url_comes_back_stripped() -> None:
    assert canonicalize_url("  mailto:a@b.c ") == "mailto:a@b.c"
    assert canonicalize_url("") == ""


def test_url_forms_gives_raw_and_canonical_only_when_they_differ() -> None:
    assert url_forms(BASE) == (BASE,)
    assert url_forms(BASE + "?utm_source=x") == (BASE + "?utm_source=x", BASE)
