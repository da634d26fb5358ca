"""Every page and form of `rasid web` over HTTP, against a snapshot crawl on SQLite and PostgreSQL."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from xml.etree import ElementTree as ET

import pytest

from classifiers.normalize import normalize
from config.keywords import load_keywords
from storage.records import Story
from tests.rasid.web_fixtures import Browser

ATOM = "{http://www.w3.org/2005/Atom}"
STORY_LINK_RE = re.compile(r'<a class="title" href="/stories/(\d+)">')
DATE_RE = re.compile(r'<li class="story">.*?<time>([\d-]+)</time>', re.S)


@pytest.fixture
def site(crawled_url: str, serve: Callable[..., Browser]) -> Browser:
    return serve(crawled_url, page_size=500)


def _listed(page: str) -> list[int]:
    return [int(n) for n in STORY_LINK_RE.findall(page)]


def _day(story: Story) -> str:
    return (story.published or story.first_seen).astimezone(UTC).strftime("%Y-%m-%d")


def test_stories_page_lists_every_hit_story_newest_first_right_to_left(site: Browser) -> None:
    page = site.get("/")
    assert page.status_code == 200
    assert '<html dir="rtl" lang="ar">' in page.text
    stories = site.repository.stories()
    assert len(stories) >= 5, "the snapshot crawl found too few stories to test with"
    assert _listed(page.text) == [s.story_id for s in stories]
    days = DATE_RE.findall(page.text)
    assert days == sorted(days, reverse=True)


def test_partner_filter_lists_only_stories_with_that_partner(site: Browser) -> None:
    partners = [p for s in site.repository.stories() for p in s.partners]
    partner = max(set(partners), key=partners.count)
    listed = _listed(site.get("/", params={"partner": partner}).text)
    everything = _listed(site.get("/").text)
    by_id = {s.story_id: s for s in site.repository.stories()}
    assert listed and len(listed) < len(everything)
    assert all(partner in by_id[i].partners for i in listed)
    assert sorted(listed) == sorted(i for i, s in by_id.items() if partner in s.partners)


def test_sector_and_source_filters_narrow_the_list(site: Browser) -> None:
    stories = site.repository.stories()
    source = stories[0].sources[0]
    listed = _listed(site.get("/", params={"source": source}).text)
    assert stories[0].story_id in listed and all(i in {s.story_id for s in stories} for i in listed)
    sector = stories[0].sectors[0]
    listed = _listed(site.get("/", params={"sector": sector}).text)
    assert stories[0].story_id in listed
    assert sorted(listed) == sorted(s.story_id for s in site.repository.stories(sector=sector))


def test_search_matches_arabic_spelled_without_hamza(site: Browser) -> None:
    words = [
        w for s in site.repository.stories() for w in s.title.split() if re.search("[أإآ]", w) and len(w) > 3
    ]
    assert words, "no title with a hamza on alef to search for"
    word = words[0]
    bare = re.sub("[أإآ]", "ا", word)
    listed = _listed(site.get("/", params={"q": bare}).text)
    titles = {s.story_id: s.title for s in site.repository.stories()}
    assert any(word in titles[i] for i in listed)
    assert sorted(listed) == sorted(s.story_id for s in site.repository.stories(search=bare))
    assert normalize(bare) == normalize(word)


def test_date_range_keeps_the_days_asked_for(site: Browser) -> None:
    stories = site.repository.stories()
    day = _day(stories[len(stories) // 2])
    listed = _listed(site.get("/", params={"since": day, "until": day}).text)
    by_id = {s.story_id: s for s in stories}
    assert listed and all(_day(by_id[i]) == day for i in listed)
    assert sorted(listed) == sorted(s.story_id for s in stories if _day(s) == day)
    tomorrow = (datetime.now(UTC) + timedelta(days=2)).strftime("%Y-%m-%d")
    assert _listed(site.get("/", params={"since": tomorrow}).text) == []


def test_an_unreadable_date_is_said_and_ignored(site: Browser) -> None:
    page = site.get("/", params={"since": "last tuesday"})
    assert page.status_code == 200
    assert "تاريخ غير مفهوم: last tuesday" in page.text
    assert len(_listed(page.text)) == len(site.repository.stories())


def test_paging_splits_the_list_and_links_the_pages(crawled_url: str, serve: Callable[..., Browser]) -> None:
    site = serve(crawled_url, page_size=3)
    first, second = site.get("/").text, site.get("/", params={"page": "2"}).text
    ids = [s.story_id for s in site.repository.stories()]
    assert _listed(first) == ids[:3] and _listed(second) == ids[3:6]
    assert 'rel="next" href="/?page=2"' in first
    assert 'rel="prev"' not in first and 'rel="prev" href="/?"' in second
    last_page = -(-len(ids) // 3)
    for past_the_end in ("99", str(10**20)):  # a page past the last one, even one no database offset takes
        page = site.get("/", params={"page": past_the_end})
        assert page.status_code == 200 and _listed(page.text) == ids[(last_page - 1) * 3 :]


def test_story_page_shows_articles_links_highlighted_terms_score_and_version(site: Browser) -> None:
    story = next(s for s in site.repository.stories() if s.partners)
    _, articles = site.repository.story(story.story_id)
    page = site.get(f"/stories/{story.story_id}").text
    for article in articles:
        assert f'id="article-{article.article_id}"' in page
        assert f'href="{article.url}"' in page or article.url.replace("&", "&amp;") in page
        assert article.source in page
    hit = next(a for a in articles if a.is_hit)
    assert f'<span class="score">{hit.score:.1f}</span>' in page
    assert hit.classifier_version and f'<code class="version">{hit.classifier_version}</code>' in page
    marked = re.findall(r'<mark class="(\w+)">([^<]+)</mark>', page)
    assert {"russia", "partner"} <= {role for role, _ in marked}
    assert {surface for _, surface in marked} <= {t.surface for a in articles for t in a.terms}
    arabic = {
        g.canonical: g.terms[0].rstrip("!")
        for g in load_keywords(site.settings.keywords_file).by_role("partner")
    }
    shown = re.search(r'<dd class="partners">([^<]*)</dd>', page)
    assert shown and shown.group(1) == "، ".join(arabic.get(p, p) for p in story.partners)


@pytest.mark.parametrize("number", ["987654321", "99999999999999999999999"])  # the second: past 64 bits
def test_unknown_story_is_a_404_page_in_arabic(site: Browser, number: str) -> None:
    page = site.get(f"/stories/{number}")
    assert page.status_code == 404
    assert "لا توجد قصة بهذا الرقم" in page.text and 'dir="rtl"' in page.text


@pytest.mark.parametrize(
    "path", ["/stories/99999999999999999999999/judge", "/articles/99999999999999999999999/judge"]
)
def test_judging_an_id_past_64_bits_is_a_404_page_in_arabic(site: Browser, path: str) -> None:
    answer = site.post(path, {"csrf": site.csrf(), "judgement": "right"})
    assert answer.status_code == 404
    assert "لا توجد قصة أو مقالة بهذا الرقم" in answer.text


def test_sources_page_shows_each_sources_last_run(site: Browser) -> None:
    page = site.get("/sources").text
    run = site.repository.runs(1)[0]
    for source in run.sources:
        assert f"<td>{source}</td>" in page
    busiest = max(run.summary.per_source.items(), key=lambda item: item[1]["pages"])
    row = re.search(rf"<tr><td>{re.escape(busiest[0])}</td>(.*?)</tr>", page, re.S)
    assert row and f"<td>{busiest[1]['pages']}</td>" in row.group(1)


def test_atom_feed_holds_the_filtered_stories(site: Browser) -> None:
    partners = [p for s in site.repository.stories() for p in s.partners]
    partner = max(set(partners), key=partners.count)
    response = site.get("/feed.atom", params={"partner": partner})
    assert response.headers["content-type"].startswith("application/atom+xml")
    feed = ET.fromstring(response.content)
    entries = feed.findall(f"{ATOM}entry")
    expected = site.repository.stories(partner=partner)
    assert [e.find(f"{ATOM}id").text for e in entries] == [
        f"tag:rasid.local,2026:story:{s.story_id}" for s in expected
    ]


def test_judging_a_story_wrong_is_stored_with_who_when_and_note_and_shown(site: Browser) -> None:
    story = site.repository.stories()[0]
    note = f"ليس تعاونًا {uuid.uuid4().hex[:6]}"
    before = datetime.now(UTC)
    answer = site.post(
        f"/stories/{story.story_id}/judge",
        {"csrf": site.csrf(f"/stories/{story.story_id}"), "judgement": "wrong", "note": note},
    )
    assert answer.status_code == 303 and answer.headers["location"] == f"/stories/{story.story_id}#judgements"
    stored = next(j for j in site.repository.judgements(story.story_id) if j.note == note)
    assert (stored.judgement, stored.author, stored.label, stored.verdict_hit) == (
        "wrong",
        "local",
        False,
        True,
    )
    assert before - timedelta(seconds=5) <= stored.created_at <= datetime.now(UTC) + timedelta(seconds=5)
    assert note in site.get(f"/stories/{story.story_id}").text


def test_judging_one_article_right_keeps_its_label_a_hit(site: Browser) -> None:
    story = site.repository.stories()[1]
    _, articles = site.repository.story(story.story_id)
    article = next(a for a in articles if a.is_hit)
    note = uuid.uuid4().hex
    answer = site.post(
        f"/articles/{article.article_id}/judge", {"csrf": site.csrf(), "judgement": "right", "note": note}
    )
    assert answer.status_code == 303
    stored = next(j for j in site.repository.judgements(story.story_id) if j.note == note)
    assert (stored.article_id, stored.judgement, stored.label) == (article.article_id, "right", True)


def test_missed_url_of_a_stored_article_is_linked_to_its_story(site: Browser) -> None:
    story = site.repository.stories()[-1]
    _, articles = site.repository.story(story.story_id)
    answer = site.post(
        "/missed", {"csrf": site.csrf("/missed"), "url": articles[0].url, "note": "missed-link"}
    )
    assert answer.status_code == 303 and answer.headers["location"].startswith(f"/stories/{story.story_id}")
    stored = next(j for j in site.repository.judgements(story.story_id) if j.note == "missed-link")
    assert (stored.judgement, stored.article_id, stored.label) == ("missed", articles[0].article_id, True)


def test_missed_text_is_stored_and_listed_on_the_judgements_page(site: Browser) -> None:
    title = f"روسيا والمغرب يوقعان اتفاقية للصيد البحري {uuid.uuid4().hex[:6]}"
    answer = site.post("/missed", {"csrf": site.csrf("/missed"), "title": title, "text": "نص الخبر"})
    assert answer.status_code == 303 and answer.headers["location"] == "/judgements"
    assert title in site.get("/judgements").text


def test_missed_with_a_javascript_url_is_refused_with_the_reason(site: Browser) -> None:
    answer = site.post("/missed", {"csrf": site.csrf("/missed"), "url": "javascript:alert(1)"})
    assert answer.status_code == 400
    assert "الرابط يجب أن يبدأ بـ http:// أو https://" in answer.text
    assert not [j for j in site.repository.judgements() if j.url == "javascript:alert(1)"]


def test_a_judgement_that_is_neither_right_nor_wrong_is_refused(site: Browser) -> None:
    story = site.repository.stories()[0]
    count = len(site.repository.judgements(story.story_id))
    answer = site.post(f"/stories/{story.story_id}/judge", {"csrf": site.csrf(), "judgement": "maybe"})
    assert answer.status_code == 400
    assert len(site.repository.judgements(story.story_id)) == count
