"""Extraction from real saved Arabic pages: title, date, body without navigation; pages that give nothing."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from crawler.extract import NoArticle, extract, extract_html, read_article, without_non_xml_references
from crawler.page import Page

# file under pages/, title start, day (from the URL or the dataset's metadata), a navigation string
# of that page that must not reach the body, and a phrase of the body that must.
REAL_PAGES = [
    ("albayan.ae/1623715966.html", "القائم بأعمال السفارة الأفغانية يثمّن جهود الإمارات", date(2020, 6, 3),
     "تخطى قائمة التنقل", "ساير داودزي"),
    ("arabic.sputniknews.com/1550981615.html", "مصر تسجل 30 إصابة جديدة وحالتي وفاة بفيروس كورونا",
     date(2020, 3, 17), "رصد عسكري", "خالد مجاهد"),
    ("youm7.com/1691196862.html", "وزير الرى يشهد توقيع عقد دراسة تحديد السحب الآمن", date(2020, 8, 24),
     "الزمالك يرفض اعتذار وليد سليمان", "محمد عبد العاطي"),
    ("almadenahnews.com/1588107198.html", "المدينة نيوز - أميركا :50 الفا حصيلة الوفيات", date(2020, 4, 24),
     "زاوية د.فطين البداد", "فيروس كورونا"),
    ("akhbarelyom.com/1731695567.html", "36 عامًا.. سر رحيل نعيمة عاكف في سن مبكر", date(2020, 10, 7),
     "رئيس مجلس الإدارة : أحمد جلال", "نعيمة عاكف"),
    ("lbcgroup.tv/LBCGroup_2026_01_08.html", "شعر وردي يُشعل السخرية", date(2026, 1, 8),
     "تقارير نشرة الاخبار", "دونالد ترامب"),
]  # fmt: skip


@pytest.fixture(scope="module")
def page_index(shared_data: Path) -> dict[str, dict]:
    rows = [
        json.loads(line) for line in (shared_data / "pages" / "index.jsonl").read_text("utf-8").splitlines()
    ]
    return {row["file"]: row for row in rows}


@pytest.mark.parametrize(
    "file,title,day,nav,phrase", REAL_PAGES, ids=[p[0].split("/")[0] for p in REAL_PAGES]
)
def test_real_page_gives_title_date_and_body_without_navigation(
    shared_data: Path, page_index: dict[str, dict], file: str, title: str, day: date, nav: str, phrase: str
) -> None:
    body = (shared_data / "pages" / file).read_bytes()
    article = extract_html(body, page_index[file]["url"], source="x")
    assert article is not None
    assert article.title.startswith(title)
    assert article.published is not None and article.published.date() == day
    assert phrase in article.text
    assert nav not in article.text
    assert article.lang == "ar"


def test_canonical_url_comes_from_the_page_and_is_normalised(
    shared_data: Path, page_index: dict[str, dict]
) -> None:
    file = "albayan.ae/1623715966.html"
    article = extract_html(
        (shared_data / "pages" / file).read_bytes(), "http://127.0.0.1:8000/albayan/x.html"
    )
    assert article is not None
    # The page's own <link rel=canonical>, not the local address it was served from.
    assert article.canonical_url == "https://albayan.ae/across-the-uae/news-and-reports/2020-06-03-1.3874341"


def test_real_page_re_encoded_as_windows_1256_without_charset_keeps_arabic_title(shared_data: Path) -> None:
    html = (shared_data / "pages" / "albayan.ae/1623715966.html").read_text("utf-8")
    html = html.replace('charset="utf-8"', "").replace("charset=utf-8", "").replace('charset="UTF-8"', "")
    body = html.encode("cp1256", errors="xmlcharrefreplace")
    page = Page(
        "albayan", "http://x/a", "http://x/a", 200, (("Content-Type", "text/html"),), body, datetime.now(UTC)
    )
    article = read_article(page)
    assert article.title == "القائم بأعمال السفارة الأفغانية يثمّن جهود الإمارات"
    assert "ساير داودزي" in article.text


@pytest.mark.parametrize("reference", ["&#27;", "&#x1B;", "&#1", "&#xFFFE;", "&#55296;"])
def test_reference_to_a_character_xml_cannot_hold_costs_nothing_but_itself(
    shared_data: Path, reference: str
) -> None:
    # A hostile or careless page: lxml turns the reference into the character, and trafilatura's XML
    # stage then threw the whole article away.
    html = (shared_data / "pages" / "albayan.ae/1623715966.html").read_text("utf-8")
    title = "القائم بأعمال السفارة الأفغانية"
    assert title in html
    article = extract_html(html.replace(title, f"القائم {reference}بأعمال السفارة الأفغانية"), "http://x/a")
    assert article is not None
    assert article.title.startswith("القائم بأعمال السفارة")
    assert "ساير داودزي" in article.text


def test_references_to_ordinary_characters_are_kept() -> None:
    html = "<p>&#1585;&#1608;&#1587;&#1610;&#1575; &amp; &#x645;&#x635;&#x631; &#9; &#128512;</p>"
    assert without_non_xml_references(html) == html


def test_page_of_navigation_only_is_no_article_with_the_reason() -> None:
    html = "<html><body><nav><a href='/'>الرئيسية</a><a href='/world/'>العالم</a></nav><footer>حقوق</footer></body></html>"
    page = Page("s", "http://x/", "http://x/", 200, (), html.encode(), datetime.now(UTC))
    with pytest.raises(NoArticle) as raised:
        read_article(page)
    assert raised.value.reason == "no-article"
    assert extract(page) is None


def test_mojibake_page_is_refused_as_undecodable() -> None:
    text = (
        "<html><body><h1>روسيا ومصر</h1><p>"
        + "تعاون روسي مصري في مجال الطاقة النووية. " * 30
        + "</p></body></html>"
    )
    garbled = text.encode("utf-8").decode("cp1256").encode("utf-8")
    page = Page(
        "s", "http://x/", "http://x/", 200, (("Content-Type", "text/html"),), garbled, datetime.now(UTC)
    )
    with pytest.raises(NoArticle) as raised:
        read_article(page)
    assert raised.value.reason == "undecodable"


def test_pdf_is_not_html() -> None:
    page = Page(
        "s",
        "http://x/a.pdf",
        "http://x/a.pdf",
        200,
        (("Content-Type", "application/pdf"),),
        b"%PDF-1.4",
        datetime.now(UTC),
    )
    with pytest.raises(NoArticle) as raised:
        read_article(page)
    assert raised.value.reason == "not-html"


def test_feed_date_fills_in_the_time_when_the_page_gives_the_same_day(shared_data: Path) -> None:
    body = (shared_data / "pages" / "albayan.ae/1623715966.html").read_bytes()
    listed = datetime(2020, 6, 3, 9, 41, tzinfo=UTC)
    page = Page(
        "albayan", "http://x/a", "http://x/a", 200, (), body, datetime.now(UTC), listed_published=listed
    )
    assert read_article(page).published == listed
