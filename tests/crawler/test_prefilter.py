"""The prefilter never skips a page the classifier could call a hit, and costs a fraction of an extraction."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from classifiers.evaluate import read_labelled
from crawler.charset import decode_html
from crawler.prefilter import may_be_hit, page_text
from tests.crawler.outlets import RealArticle, article_html


@pytest.fixture(scope="module")
def classifier():
    from config.settings import Settings
    from rasid.app import build_classifier

    return build_classifier(Settings())


def _page(title: str, text: str) -> str:
    return article_html(RealArticle(title, text), datetime.now(UTC), "http://x/a-1")


def test_no_labelled_positive_or_classifier_hit_is_skipped(shared_data: Path, classifier) -> None:
    records = [
        record
        for name in ("train.jsonl", "dev.jsonl")
        for record in read_labelled(shared_data / "labelled" / name)
    ]
    positives = [r for r in records if r.label]
    assert len(positives) > 100, "the labelled set has too few positives to test with"
    skipped = [
        r.id for r in positives if not may_be_hit(_page(r.title, r.text), None, classifier.names_russia)
    ]
    assert skipped == []
    hits = [r for r in records if classifier.classify(r.title, r.text).is_hit]
    missed = [r.id for r in hits if not may_be_hit(_page(r.title, r.text), None, classifier.names_russia)]
    assert hits and missed == []


def test_every_real_page_whose_article_names_russia_is_kept(shared_data: Path, classifier) -> None:
    import trafilatura

    pages = sorted((shared_data / "pages").glob("*/*.html"))
    assert len(pages) >= 10
    named = 0
    prefilter_seconds = extract_seconds = 0.0
    for path in pages:
        document, _ = decode_html(path.read_bytes(), None)
        started = time.perf_counter()
        keep = may_be_hit(document, None, classifier.names_russia)
        prefilter_seconds += time.perf_counter() - started
        started = time.perf_counter()
        article = trafilatura.bare_extraction(document, with_metadata=True)
        extract_seconds += time.perf_counter() - started
        if article is not None and classifier.names_russia(f"{article.title or ''}\n{article.text or ''}"):
            named += 1
            assert keep, path.name
    assert named >= 1, "no real page names Russia: the test would prove nothing"
    # Measured at ~3 ms against ~50-100 ms per page; a fifth leaves room for a loaded machine.
    assert prefilter_seconds < extract_seconds / 5, (prefilter_seconds, extract_seconds)


def test_a_page_without_russia_is_skipped_and_one_word_of_it_anywhere_keeps_it(classifier) -> None:
    plain = (
        "<html><head><title>أخبار الطقس</title></head><body><p>أمطار غزيرة على الساحل غدا.</p></body></html>"
    )
    assert not may_be_hit(plain, None, classifier.names_russia)
    kept = {
        "body": plain.replace("غدا", "وفي روسيا غدا"),
        "title tag": plain.replace("أخبار الطقس", "طقس موسكو"),
        "meta title": plain.replace(
            "<head>", '<head><meta property="og:title" content="بوتين يزور القاهرة">'
        ),
        "numeric entities": plain.replace("غدا", "&#1585;&#1608;&#1587;&#1610;&#1575;"),
        "split by an inline tag": plain.replace("غدا", "رو<b>سيا</b>"),
        "json-ld": plain.replace(
            "</head>", '<script type="application/ld+json">{"headline": "الكرملين يعلن"}</script></head>'
        ),
    }
    for where, page in kept.items():
        assert may_be_hit(page, None, classifier.names_russia), where
    assert may_be_hit(plain, "روسيا ومصر توقعان اتفاقا", classifier.names_russia)  # the feed's title


def test_russia_only_in_code_or_a_comment_does_not_keep_a_page(classifier) -> None:
    page = (
        "<html><head><script>var menu = 'روسيا';</script><style>.روسيا{}</style></head>"
        "<body><!-- روسيا --><p>أمطار غزيرة على الساحل غدا.</p></body></html>"
    )
    assert "روسيا" not in page_text(page)
    assert not may_be_hit(page, None, classifier.names_russia)


def test_words_in_neighbouring_blocks_are_not_glued_together() -> None:
    assert "نهاية روسيا" in " ".join(page_text("<p>نهاية</p><p>روسيا</p>").split())
