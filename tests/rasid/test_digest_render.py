"""The digest's content as values: grouping, order, excerpts, hostile input, Arabic wording, the message."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy

from rasid.digest import build_message, render, subject
from rasid.digest_stories import group, highlight, summarise
from storage.records import Hit, StorySource
from storage.safe_text import http_url, one_line

NOW = datetime.now(UTC)


def _hit(article_id: int, story_id: int | None, score: float = 3.0, **fields: object) -> Hit:
    values: dict[str, object] = dict(
        url=f"https://sana.sy/?p={article_id}",
        source="sana",
        title="الإمارات وروسيا توقعان مذكرة تفاهم",  # "UAE and Russia sign a memorandum"
        published=NOW - timedelta(hours=article_id),
        score=score,
        terms=("وروسيا", "مذكرة تفاهم"),
        partners=("UAE",),
        sectors=("technology",),
        evidence=("وقعت الإمارات وروسيا مذكرة تفاهم في مجال الذكاء الاصطناعي.",),
        story_id=story_id,
    )
    values.update(fields)
    return Hit(article_id=article_id, **values)  # type: ignore[arg-type]


def test_hits_of_one_story_are_one_entry_listing_every_outlet_that_ran_it() -> None:
    hits = [_hit(1, 7), _hit(2, 7, source="wam", url="https://wam.ae/ar/1")]
    carried = {
        7: (
            StorySource("sana", "https://sana.sy/?p=1", NOW),
            StorySource("wam", "https://wam.ae/ar/1", NOW),
            StorySource("rt", "https://arabic.rt.com/x/", NOW),  # a copy that was not itself a hit
        )
    }
    [story] = group(hits, carried)
    assert story.article_ids == (1, 2)
    assert [link.source for link in story.links] == ["sana", "wam", "rt"]


def test_strongest_story_comes_first_then_the_one_more_outlets_carried() -> None:
    weak, strong = _hit(1, 1, score=1.5, title="ضعيف"), _hit(2, 2, score=4.0, title="قوي")
    wide = _hit(3, 3, score=1.5, title="واسع")
    carried = {
        3: (StorySource("a", "https://a.example/1", NOW), StorySource("b", "https://b.example/1", NOW))
    }
    assert [s.headline for s in group([weak, strong, wide], carried)] == ["قوي", "واسع", "ضعيف"]


def test_matched_terms_are_marked_in_the_excerpt_longest_first() -> None:
    segments = highlight("وقعت الإمارات وروسيا مذكرة تفاهم", ["مذكرة", "مذكرة تفاهم", "وروسيا"])
    assert [s.text for s in segments if s.marked] == ["وروسيا", "مذكرة تفاهم"]
    assert "".join(s.text for s in segments) == "وقعت الإمارات وروسيا مذكرة تفاهم"


def test_only_http_links_survive() -> None:
    assert http_url("https://sana.sy/?p=1") == "https://sana.sy/?p=1"
    assert http_url("javascript:alert(1)") is None
    assert http_url("data:text/html,<script>") is None
    assert http_url("//evil.example/x") is None
    assert http_url("https://sana.sy/\u202e/x") is None


def test_direction_overrides_and_controls_are_dropped_from_display_text() -> None:
    assert one_line("عنوان\u202e\u0000 خبيث\n\n جدا") == "عنوان خبيث جدا"


def test_hostile_headline_excerpt_and_link_are_escaped_or_dropped_in_html_and_plain_in_text() -> None:
    hostile = _hit(
        1,
        None,
        title='<script>alert("x")</script> روسيا & <b>',
        url="javascript:alert(1)",
        evidence=("<img src=x onerror=alert(1)> وروسيا",),
    )
    html, text = render(group([hostile], {}), NOW.date())
    assert "<script>" not in html and "<img" not in html and "javascript:" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; روسيا &amp; &lt;b&gt;" in html
    assert '<script>alert("x")</script> روسيا & <b>' in text  # plain text is not HTML-escaped
    assert "javascript:" not in text


def test_html_is_right_to_left_arabic_with_inline_styles_only() -> None:
    html, _ = render(group([_hit(1, 1)], {}), NOW.date())
    assert '<html lang="ar" dir="rtl">' in html
    assert "<style" not in html and "<link" not in html  # mail clients drop both; every style is inline
    assert "Noto Naskh Arabic" in html and "Tahoma" in html


def test_summary_counts_stories_per_partner_and_sector() -> None:
    stories = group([_hit(1, 1), _hit(2, 2, partners=("UAE", "China"), sectors=("energy",)), _hit(3, 2)], {})
    summary = summarise(stories)
    assert (summary.stories, summary.hits) == (2, 3)
    assert summary.partners == (("UAE", 2), ("China", 1))
    assert summary.sectors == (("technology", 2), ("energy", 1))
    html, text = render(stories, NOW.date(), partner_names={"UAE": "الإمارات", "China": "الصين"})
    assert "الشركاء: الإمارات (2)، الصين (1)" in text  # "partners: UAE (2), China (1)"
    assert "المجالات: التكنولوجيا (2)، الطاقة (1)" in text  # "sectors: technology (2), energy (1)"


def test_stories_past_the_limit_are_listed_as_headlines_and_none_is_dropped() -> None:
    hits = [_hit(n, n, title=f"خبر رقم {n}") for n in range(1, 6)]
    html, text = render(group(hits, {}), NOW.date(), max_stories=2)
    assert "أخبار أخرى (3)" in text  # "other stories (3)"
    assert all(f"خبر رقم {n}" in text and f"خبر رقم {n}" in html for n in range(1, 6))


def test_subject_names_the_day_and_counts_in_arabic() -> None:
    day = NOW.date()
    assert subject(1, day).startswith("راصد: خبر واحد جديد")  # one new story
    assert subject(2, day).startswith("راصد: خبران جديدان")  # two (dual)
    assert subject(7, day).startswith("راصد: 7 أخبار جديدة")  # 3-10: plural
    assert subject(11, day).startswith("راصد: 11 خبرًا جديدًا")  # 11-99: singular accusative
    assert subject(103, day).startswith("راصد: 103 أخبار جديدة")  # by the last two digits
    assert subject(100, day).startswith("راصد: 100 خبر جديد")  # hundreds: singular genitive
    assert subject(7, day).endswith(f" {day.year}") and str(day.day) in subject(7, day)


def test_message_is_multipart_alternative_with_encoded_headers() -> None:
    html, text = render(group([_hit(1, 1)], {}), NOW.date())
    message = build_message(
        html,
        text,
        subject(1, NOW.date()),
        "rasid@desk.example.org",
        ["a@desk.example.org", "b@desk.example.org"],
        "<digest-1@desk.example.org>",
        NOW,
        "<mailto:admin@desk.example.org>",
    )
    raw = message.as_bytes()
    assert raw.isascii()  # base64 parts and RFC 2047 headers: safe through any relay
    parsed = message_from_bytes(raw, policy=policy.default)
    assert parsed.get_content_type() == "multipart/alternative"
    assert parsed["Subject"] == subject(1, NOW.date())
    assert parsed["To"] == "a@desk.example.org, b@desk.example.org"
    assert parsed["List-Unsubscribe"] == "<mailto:admin@desk.example.org>"
    sent_html = parsed.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert sent_html.replace("\r\n", "\n") == html
