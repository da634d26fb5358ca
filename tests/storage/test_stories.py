"""De-duplication into stories: exact copies, edited agency copy, and unrelated articles kept apart."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from storage.records import HitQuery, PageOutcome
from storage.repository import Repository
from tests.storage.conftest import FakeArticle, hit_verdict, miss_verdict, outcome
from tests.storage.test_repository import TEXT_A, TEXT_B

# Agency copy as three outlets ran it: the same body with a new first clause, a dropped last sentence,
# diacritics and hamza spelled differently, and an extra closing line (all real habits of Arabic outlets).
WAM_TEXT = "أبوظبي في 23 نوفمبر / وام / " + TEXT_A
RT_TEXT = (
    TEXT_A.replace("وقال الوزير إن حجم التبادل التجاري بلغ مليار دولار", "")
    + " وتعد روسيا شريكا تجاريا مهما للإمارات"
)
SANA_TEXT = TEXT_A.replace("الإمارات", "الامارات").replace("روسيا", "رُوسيا")


def test_story_from_three_outlets_is_one_story_with_three_sources(repo: Repository) -> None:
    run_id = repo.start_run(["wam", "rt", "sana"])
    result = repo.store(
        [
            outcome(
                "https://wam.ae/ar/details/1395303",
                WAM_TEXT,
                source="wam",
                title="الإمارات وروسيا توقعان مذكرة تفاهم",
            ),
            outcome(
                "https://arabic.rt.com/business/1612345-روسيا-الإمارات/",
                RT_TEXT,
                source="rt",
                title="موسكو وأبوظبي: تعاون في الذكاء الاصطناعي",
            ),
            outcome(
                "https://sana.sy/?p=2154321", SANA_TEXT, source="sana", title="مذكرة تفاهم روسية إماراتية"
            ),
        ],
        run_id,
    )
    assert (result.new_articles, result.duplicates) == (3, 2)
    [story] = repo.stories()
    assert story.sources == ("wam", "rt", "sana")
    assert len(story.urls) == 3
    assert story.title == "الإمارات وروسيا توقعان مذكرة تفاهم"
    assert story.is_hit
    hits = repo.hits()
    assert len(hits) == 3 and {h.story_id for h in hits} == {story.story_id}


def test_same_text_under_another_url_is_an_exact_duplicate_in_the_same_story(repo: Repository) -> None:
    run_id = repo.start_run(["wam", "aawsat"])
    repo.store([outcome("https://wam.ae/ar/1", TEXT_A, source="wam")], run_id)
    result = repo.store([outcome("https://aawsat.com/node/9", TEXT_A + "  ", source="aawsat")], run_id)
    assert (result.new_articles, result.duplicates) == (1, 1)
    [story] = repo.stories()
    assert story.sources == ("wam", "aawsat")


def test_unrelated_articles_are_separate_stories(repo: Repository) -> None:
    run_id = repo.start_run(["wam"])
    result = repo.store(
        [
            outcome("https://wam.ae/ar/1", TEXT_A, source="wam"),
            outcome("https://wam.ae/ar/2", TEXT_B, source="wam"),
        ],
        run_id,
    )
    assert result.duplicates == 0
    assert len(repo.stories()) == 2


def test_story_of_a_hit_and_a_copy_classified_miss_is_listed_once_as_a_hit(repo: Repository) -> None:
    run_id = repo.start_run(["wam", "rt"])
    repo.store(
        [
            outcome("https://wam.ae/ar/1", WAM_TEXT, source="wam"),
            outcome("https://rt.com/a", RT_TEXT, source="rt", verdict=miss_verdict()),
        ],
        run_id,
    )
    [story] = repo.stories()
    assert story.is_hit and story.sources == ("wam", "rt")
    assert repo.stories(source="rt") == []  # the rt copy is not itself a hit
    assert len(repo.stories(source="rt", hits_only=False)) == 1


def test_near_duplicate_index_survives_a_restart(repo: Repository) -> None:
    run_id = repo.start_run(["wam", "rt"])
    repo.store([outcome("https://wam.ae/ar/1", WAM_TEXT, source="wam")], run_id)
    restarted = Repository(repo.engine)
    assert restarted.load_index() == 1
    result = restarted.store([outcome("https://rt.com/a", RT_TEXT, source="rt")], run_id)
    assert result.duplicates == 1
    [story] = restarted.stories()
    assert story.sources == ("wam", "rt")


def test_a_second_writer_sees_signatures_stored_by_the_first(repo: Repository) -> None:
    other = Repository(repo.engine)
    run_id = repo.start_run(["wam", "rt"])
    other.store(
        [outcome("https://sana.sy/?p=5", TEXT_B, source="sana")], run_id
    )  # other's index is now loaded
    repo.store([outcome("https://wam.ae/ar/1", WAM_TEXT, source="wam")], run_id)
    assert other.store([outcome("https://rt.com/a", RT_TEXT, source="rt")], run_id).duplicates == 1


def test_one_outlets_same_text_under_a_second_url_is_the_stored_article(repo: Repository) -> None:
    # e.g. the offline snapshot served on a new port, or /news/123 and /news/123/slug
    run_id = repo.start_run(["rt"])
    repo.store([outcome("http://127.0.0.1:8001/rt/news/1", TEXT_A, source="rt")], run_id)
    result = repo.store([outcome("http://127.0.0.1:8002/rt/news/1", TEXT_A, source="rt")], run_id)
    assert (result.new_articles, result.already_stored) == (0, 1)
    assert repo.count_articles() == 1


def test_pages_too_short_to_compare_are_never_merged(repo: Repository) -> None:
    run_id = repo.start_run(["rt"])
    result = repo.store(
        [
            outcome("https://rt.com/v/1", "فيديو", source="rt"),
            outcome("https://rt.com/v/2", "فيديو", source="rt"),
        ],
        run_id,
    )
    assert (result.new_articles, result.duplicates, result.already_stored) == (2, 0, 0)
    assert len(repo.stories()) == 2


def test_stories_are_listed_newest_event_first(repo: Repository) -> None:
    run_id = repo.start_run(["rt"])
    old = FakeArticle(
        "https://rt.com/a",
        "https://rt.com/a",
        "rt",
        "قديم",
        TEXT_A,
        published=datetime(2020, 1, 1, tzinfo=UTC),
    )
    new = FakeArticle(
        "https://rt.com/b",
        "https://rt.com/b",
        "rt",
        "جديد",
        TEXT_B,
        published=datetime(2026, 1, 1, tzinfo=UTC),
    )
    repo.store(
        [
            PageOutcome("rt", (new.url,), new, hit_verdict()),
            PageOutcome("rt", (old.url,), old, hit_verdict()),
        ],
        run_id,
    )
    assert [s.title for s in repo.stories()] == ["جديد", "قديم"]


def test_a_copy_of_an_article_older_than_the_window_starts_a_new_story(repo: Repository) -> None:
    run_id = repo.start_run(["wam", "rt"])
    month_ago = datetime.now(UTC) - timedelta(days=31)
    repo.store([outcome("https://wam.ae/ar/1", WAM_TEXT, source="wam", fetched_at=month_ago)], run_id)
    later = Repository(repo.engine, near_dup_window=timedelta(days=30))
    assert later.load_index() == 0  # the month-old article is not held in memory
    assert later.store([outcome("https://rt.com/a", RT_TEXT, source="rt")], run_id).duplicates == 0
    assert len(later.stories()) == 2


def test_a_copy_of_an_article_inside_the_window_joins_its_story(repo: Repository) -> None:
    run_id = repo.start_run(["wam", "rt"])
    days_ago = datetime.now(UTC) - timedelta(days=29)
    repo.store([outcome("https://wam.ae/ar/1", WAM_TEXT, source="wam", fetched_at=days_ago)], run_id)
    later = Repository(repo.engine, near_dup_window=timedelta(days=30))
    assert later.load_index() == 1
    assert later.store([outcome("https://rt.com/a", RT_TEXT, source="rt")], run_id).duplicates == 1
    [story] = later.stories()
    assert story.sources == ("wam", "rt")


def _stories_published_on_days(repo: Repository, days: int) -> None:
    """One short story a day (too short to merge), day 0 the newest; every third names Iran."""
    run_id = repo.start_run(["sana"])
    now = datetime.now(UTC)
    repo.store(
        [
            outcome(
                f"https://sana.sy/?p={day}",
                f"خبر اليوم {day}" + (" عن إيران" if day % 3 == 0 else ""),
                title=f"يوم {day}",
                published=now - timedelta(days=day),
            )
            for day in range(days)
        ],
        run_id,
    )


def test_a_page_of_stories_is_the_same_slice_of_the_newest_first_list_with_the_count(
    repo: Repository,
) -> None:
    _stories_published_on_days(repo, 12)
    everything = [s.title for s in repo.stories()]
    assert everything == [f"يوم {day}" for day in range(12)]
    pages = [repo.story_page(HitQuery(offset=offset, limit=5)) for offset in (0, 5, 10, 15)]
    assert [[s.title for s in found] for found, _ in pages] == [
        everything[:5],
        everything[5:10],
        everything[10:],
        [],
    ]
    assert {total for _, total in pages} == {12}


def test_until_and_search_narrow_the_page_and_its_count(repo: Repository) -> None:
    _stories_published_on_days(repo, 12)
    until = datetime.now(UTC) - timedelta(days=3, hours=12)  # days 4 to 11
    found, total = repo.story_page(HitQuery(until=until, offset=1, limit=3))
    assert ([s.title for s in found], total) == (["يوم 5", "يوم 6", "يوم 7"], 8)
    found, total = repo.story_page(HitQuery(search="ايران", offset=1, limit=2))  # days 0, 3, 6, 9
    assert ([s.title for s in found], total) == (["يوم 3", "يوم 6"], 4)
