"""Charsets: every way Arabic outlets serve their bytes decodes to the right text, or is refused."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from crawler.charset import UndecodableError, decode_html, looks_like_mojibake

HANDWRITTEN = Path(__file__).resolve().parents[1] / "fixtures" / "pages" / "handwritten"
TITLE = "روسيا ومصر تبحثان التعاون في مجال الطاقة النووية"  # "Russia and Egypt discuss nuclear energy cooperation"


@pytest.fixture(scope="module")
def real_text(shared_data: Path) -> str:
    """A real Arabic article (title and body) from the corpus, as a small HTML page."""
    with (shared_data / "articles.jsonl").open(encoding="utf-8") as lines:
        for line in lines:
            row = json.loads(line)
            text = f"{row['title']}\n{row['text']}"
            if len(text) > 800:
                try:
                    text.encode("cp1256")
                except UnicodeEncodeError:
                    continue
                return f"<html><head>{{meta}}<title>{row['title']}</title></head><body><p>{row['text']}</p></body></html>"
    raise AssertionError("no cp1256-encodable article in the corpus")


@pytest.mark.parametrize(
    "meta,content_type",
    [
        ('<meta charset="windows-1256">', "text/html"),  # declared in <meta> only
        ("", "text/html; charset=windows-1256"),  # declared in the header only
        ("", "text/html"),  # declared nowhere
        ("", None),  # no Content-Type at all
        ('<meta charset="utf-8">', "text/html; charset=utf-8"),  # declared wrongly, twice
        ('<meta http-equiv="Content-Type" content="text/html; charset=iso-8859-1">', None),  # wrong Latin
    ],
)
def test_real_windows_1256_page_decodes_to_the_original_arabic(
    real_text: str, meta: str, content_type: str | None
) -> None:
    html = real_text.replace("{meta}", meta)
    text, encoding = decode_html(html.encode("cp1256"), content_type)
    assert text == html
    assert encoding == "cp1256"


def test_utf8_page_mis_declared_as_windows_1256_is_read_as_utf8(real_text: str) -> None:
    html = real_text.replace("{meta}", '<meta charset="windows-1256">')
    text, encoding = decode_html(html.encode("utf-8"), "text/html; charset=windows-1256")
    assert (text, encoding) == (html, "utf-8")


def test_handwritten_windows_1256_fixture_without_declaration_keeps_its_title() -> None:
    body = (HANDWRITTEN / "2026-11-23_russia-egypt-nuclear.cp1256.html").read_bytes()
    text, _ = decode_html(body, "text/html")
    assert f"<title>{TITLE}</title>" in text


def test_iso_8859_6_declared_in_the_header_decodes() -> None:
    body = (HANDWRITTEN / "2026-11-23_russia-egypt-nuclear.iso-8859-6.html").read_bytes()
    text, encoding = decode_html(body, "text/html; charset=ISO-8859-6")
    assert f"<title>{TITLE}</title>" in text
    assert encoding == "iso8859-6"


def test_iso_8859_6_declared_nowhere_is_not_misread_as_windows_1256() -> None:
    body = (HANDWRITTEN / "2026-11-23_russia-egypt-nuclear.iso-8859-6.html").read_bytes()
    text, encoding = decode_html(body, None)
    assert f"<title>{TITLE}</title>" in text
    assert encoding == "iso8859-6"


def test_bom_wins_over_a_wrong_header() -> None:
    text, encoding = decode_html("\ufeff<p>مرحبا</p>".encode("utf-8"), "text/html; charset=windows-1256")
    assert (text, encoding) == ("<p>مرحبا</p>", "utf-8")


def test_text_that_is_already_mojibake_is_refused(real_text: str) -> None:
    # A page whose own bytes hold UTF-8 Arabic that was once misread as windows-1256 and saved as UTF-8.
    garbled = real_text.replace("{meta}", "").encode("utf-8").decode("cp1256").encode("utf-8")
    with pytest.raises(UndecodableError, match="undecodable body, no charset declared; tried utf-8"):
        decode_html(garbled, "text/html")


@pytest.mark.parametrize(
    "sample,junk",
    [
        (
            "ط§ظ„ط±ظˆط³ظٹط© ط§ظ„ظ…طµط±ظٹط© ط§ظ„طھط¹ط§ظˆظ† ط§ظ„ظ†ظˆظˆظٹ ط§ظ„ط§طھظپط§ظ‚",
            True,
        ),  # UTF-8 read as windows-1256
        ("Ø§Ù„Ø±ÙˆØ³ÙŠØ© Ø§Ù„Ù…ØµØ±ÙŠØ© Ø§Ù„ØªØ¹Ø§ÙˆÙ† Ø§Ù„Ù†ÙˆÙˆÙŠ", True),  # UTF-8 read as Latin-1
        ("روسيا ومصر تبحثان التعاون في مجال الطاقة النووية والضبعة وقناة السويس والتبادل التجاري", False),
        ("Le président égyptien a reçu à Alger le ministre russe. " * 3, False),  # French, accents fine
    ],
)
def test_mojibake_detector_flags_misread_arabic_only(sample: str, junk: bool) -> None:
    assert looks_like_mojibake(sample) is junk
