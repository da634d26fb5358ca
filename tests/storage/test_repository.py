"""The repository on both engines: runs, seen URLs, one transaction per batch, hits and their filters."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select, update

from storage import owners
from storage.models import ArticleRow, CrawlRunRow, SeenUrlRow, VerdictRow
from storage.records import PageOutcome, RunSummary
from storage.repository import ORPHANED, Repository
from tests.storage.conftest import hit_verdict, miss_verdict, outcome

# "Russia and the UAE sign a memorandum on artificial intelligence" - a body long enough to get a signature.
TEXT_A = (
    "وقعت روسيا والإمارات العربية المتحدة مذكرة تفاهم للتعاون في تطوير الذكاء الاصطناعي "
    "وتقنيات القيادة الذاتية خلال زيارة الرئيس الإماراتي إلى موسكو حيث أكد الجانبان أهمية تبادل "
    "الخبرات وجذب الاستثمارات لتعزيز العلاقات الثنائية في إطار المنتدى الصناعي الاستثماري الأول "
    "في موسكو وقال الوزير إن حجم التبادل التجاري بلغ مليار دولار"
)
# "Egypt's harvest of wheat rose this year" - an unrelated article.
TEXT_B = (
    "ارتفع محصول القمح في مصر هذا العام بفضل الأمطار الغزيرة في الدلتا وقالت وزارة الزراعة "
    "إن المزارعين حصدوا كميات قياسية من الحبوب وإن الحكومة ستشتري المحصول بأسعار أعلى "
    "من العام الماضي لدعم الفلاحين في القرى"
)


def test_prepare_upgrades_an_empty_database_and_is_idempotent(repo: Repository) -> None:
    repo.prepare()
    assert repo.count_articles() == 0


def test_start_and_finish_run_keep_the_summary(repo: Repository) -> None:
    run_id = repo.start_run(["sana", "wam"], snapshot=True)
    summary = RunSummary(
        pages_fetched=12, articles_stored=5, hits=2, skipped=1, per_source={"sana": {"pages": 7}}
    )
    repo.finish_run(run_id, summary, status="ok")
    [run] = repo.runs()
    assert (run.run_id, run.status, run.sources, run.snapshot) == (run_id, "ok", ("sana", "wam"), True)
    assert run.summary == summary
    assert run.finished_at is not None and run.finished_at.tzinfo is not None


def test_runs_are_listed_newest_first(repo: Repository) -> None:
    first = repo.start_run(["sana"])
    second = repo.start_run(["wam"])
    assert [r.run_id for r in repo.runs(limit=5)] == [second, first]
    assert repo.runs()[0].status == "running"


def test_a_run_whose_process_is_gone_is_recorded_failed_when_the_next_run_starts(repo: Repository) -> None:
    ended = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    dead_pid, live_pid = int(ended.stdout), os.getpid()
    me = owners.owner_of_this_process()
    if me is None:
        pytest.skip("no /proc here: runs are not judged (storage/owners.py)")
    boot, namespace, tick = me.split(" ")
    cases = {  # (pid, owner, host) -> the status once the next run has started
        "killed": (dead_pid, me, None, ORPHANED),
        "pid reused by a newer process": (live_pid, f"{boot} {namespace} {int(tick) + 1}", None, ORPHANED),
        "before a reboot": (live_pid, f"another-boot {namespace} {tick}", None, ORPHANED),
        "still going": (live_pid, me, None, "running"),
        "another container's process": (dead_pid, f"{boot} pid:[1] {tick}", None, "running"),
        "another host": (dead_pid, me, "elsewhere", "running"),
    }
    ids = {name: repo.start_run(["sana"]) for name in cases}
    with repo.engine.begin() as conn:
        for name, (pid, owner, host, _) in cases.items():
            values = {"pid": pid, "owner": owner, **({"host": host} if host else {})}
            conn.execute(update(CrawlRunRow).where(CrawlRunRow.id == ids[name]).values(**values))
    following = repo.start_run(["sana"])
    status = {r.run_id: r.status for r in repo.runs()}
    assert {name: status[ids[name]] for name in cases} == {name: case[3] for name, case in cases.items()}
    assert status[following] == "running"


def test_stored_pages_are_seen_under_raw_and_canonical_spellings(repo: Repository) -> None:
    run_id = repo.start_run(["sana"])
    url = "https://www.sana.sy/?p=101&utm_source=feed"
    skipped = PageOutcome(source="sana", urls=("https://sana.sy/video/1",), skip_reason="no-article")
    repo.store([outcome(url, TEXT_A), skipped], run_id)
    asked = [
        url,
        "https://sana.sy/?p=101",
        "http://m.sana.sy/?p=101&fbclid=x",
        "https://sana.sy/video/1",
        "https://sana.sy/?p=102",
    ]
    assert repo.seen_urls(asked) == set(asked[:4])


def test_seen_urls_answers_for_thousands_of_urls(repo: Repository) -> None:
    run_id = repo.start_run(["sana"])
    pages = [
        PageOutcome(source="sana", urls=(f"https://sana.sy/?p={i}",), skip_reason="too-old")
        for i in range(3000)
    ]
    repo.store(pages, run_id)
    asked = [f"https://sana.sy/?p={i}" for i in range(2500, 4000)]
    assert repo.seen_urls(asked) == set(asked[:500])


def test_second_store_of_the_same_pages_stores_nothing_new(repo: Repository) -> None:
    run_id = repo.start_run(["sana"])
    batch = [
        outcome("https://sana.sy/?p=1", TEXT_A),
        outcome("https://sana.sy/?p=2", TEXT_B, verdict=miss_verdict()),
    ]
    first = repo.store(batch, run_id)
    second = repo.store(batch, repo.start_run(["sana"]))
    assert (first.new_articles, first.new_hits, first.already_stored, first.hits_seen_again) == (2, 1, 0, 0)
    assert (second.new_articles, second.new_hits, second.already_stored, second.hits_seen_again) == (
        0,
        0,
        2,
        1,
    )
    assert repo.count_articles() == 2


def test_tracking_and_amp_variants_are_one_article(repo: Repository) -> None:
    run_id = repo.start_run(["alarabiya"])
    base = "https://www.alarabiya.net/ar/politics/2026/11/23/russia-uae"
    result = repo.store(
        [
            outcome(base + "?utm_source=twitter", TEXT_A, source="alarabiya"),
            outcome(base.replace("/ar/", "/ar/amp/"), TEXT_A, source="alarabiya"),
            outcome(base.replace("www.", "m.") + "/", TEXT_A, source="alarabiya"),
        ],
        run_id,
    )
    assert (result.new_articles, result.already_stored) == (1, 2)
    [hit] = repo.hits()
    assert hit.url == base + "?utm_source=twitter"


def test_failed_batch_leaves_no_rows_and_no_seen_urls(repo: Repository) -> None:
    run_id = repo.start_run(["sana"])
    good = outcome("https://sana.sy/?p=1", TEXT_A)
    bad = outcome("https://sana.sy/?p=2", TEXT_B, source="sana")
    # A title of None breaks the NOT NULL constraint midway through the batch.
    bad = PageOutcome(
        source="sana",
        urls=bad.urls,
        article=type(bad.article)(**{**_fields(bad.article), "title": None}),
        verdict=bad.verdict,
    )
    with pytest.raises(Exception):  # noqa: B017 - the driver's IntegrityError class differs per engine
        repo.store([good, bad], run_id)
    with repo.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(ArticleRow)).scalar_one() == 0
        assert conn.execute(select(func.count()).select_from(SeenUrlRow)).scalar_one() == 0
    assert repo.seen_urls(["https://sana.sy/?p=1"]) == set()
    # the index forgot the rolled-back article, so storing it again is a new story, not a duplicate
    assert repo.store([good], run_id).duplicates == 0


def _fields(article: object) -> dict[str, object]:
    return {name: getattr(article, name) for name in article.__slots__}  # type: ignore[attr-defined]


def test_hits_are_only_articles_whose_verdict_is_a_hit(repo: Repository) -> None:
    run_id = repo.start_run(["sana"])
    repo.store(
        [
            outcome("https://sana.sy/?p=1", TEXT_A),
            outcome("https://sana.sy/?p=2", TEXT_B, verdict=miss_verdict()),
        ],
        run_id,
    )
    hits = repo.hits()
    assert [h.url for h in hits] == ["https://sana.sy/?p=1"]
    hit = hits[0]
    assert hit.terms == ("وروسيا",)
    assert hit.partners == ("الصين",) and hit.sectors == ("energy",)
    assert hit.evidence == ("وقعت الصين وروسيا اتفاقية.",)
    assert hit.story_id is not None
    assert hit.published == datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


def test_hit_filters_by_source_partner_sector_since_and_search(repo: Repository) -> None:
    run_id = repo.start_run(["sana", "wam"])
    repo.store(
        [
            outcome(
                "https://sana.sy/?p=1",
                TEXT_A,
                source="sana",
                verdict=hit_verdict(("الإمارات",), ("technology",)),
            ),
            outcome(
                "https://wam.ae/ar/1", TEXT_B, source="wam", verdict=hit_verdict(("مصر",), ("agriculture",))
            ),
        ],
        run_id,
    )
    assert [h.source for h in repo.hits(source="wam")] == ["wam"]
    assert [h.source for h in repo.hits(partner="الإمارات")] == ["sana"]
    assert [h.source for h in repo.hits(sector="agriculture")] == ["wam"]
    assert repo.hits(sector="defence") == []
    assert len(repo.hits(since=datetime(2026, 11, 23, tzinfo=UTC))) == 2
    assert repo.hits(since=datetime(2026, 11, 24, tzinfo=UTC)) == []
    # "الامارات" without hamza finds "الإمارات" in the text, as the classifier normalises
    assert [h.source for h in repo.hits(search="الامارات")] == ["sana"]
    assert [h.source for h in repo.hits(search="القمح")] == ["wam"]
    assert len(repo.hits(limit=1)) == 1


def test_replace_verdicts_retires_the_old_one_and_records_the_version(repo: Repository) -> None:
    run_id = repo.start_run(["sana"])
    repo.store([outcome("https://sana.sy/?p=1", TEXT_A, verdict=miss_verdict("kw-1"))], run_id)
    assert repo.hits() == []
    [[stored]] = list(repo.iter_articles())
    assert stored.classifier_version == "kw-1"
    repo.replace_verdicts([(stored.article_id, hit_verdict(version="kw-2"))])
    assert [h.article_id for h in repo.hits()] == [stored.article_id]
    with repo.engine.connect() as conn:
        rows = conn.execute(
            select(VerdictRow.classifier_version, VerdictRow.is_current).order_by(VerdictRow.id)
        ).all()
    assert [tuple(r) for r in rows] == [("kw-1", False), ("kw-2", True)]


def test_long_stop_reasons_skip_reasons_and_languages_are_kept(repo: Repository) -> None:
    run_id = repo.start_run(["sana"])
    reason = "undecodable body, declared windows-1256 but bytes are not (source sana, page 3 of the sitemap)"
    article = outcome("https://sana.sy/?p=1", TEXT_A).article
    long_lang = type(article)(**{**_fields(article), "lang": "ar-SA-u-nu-arab-x-some-cms-extension"})
    repo.store(
        [
            PageOutcome(source="sana", urls=("https://sana.sy/v/1",), skip_reason=reason),
            PageOutcome("sana", ("https://sana.sy/?p=1",), long_lang, hit_verdict()),
        ],
        run_id,
    )
    repo.finish_run(run_id, RunSummary(), status="stopped: closespider_itemcount")
    assert repo.runs()[0].status == "stopped: closespider_itemcount"
    with repo.engine.connect() as conn:
        assert (
            conn.execute(
                select(SeenUrlRow.skip_reason).where(SeenUrlRow.skip_reason.is_not(None))
            ).scalar_one()
            == reason
        )


def test_nul_characters_from_real_pages_are_dropped_not_fatal(repo: Repository) -> None:
    # a real corpus article (anc-ae) ends in "\x00"; PostgreSQL text refuses it
    run_id = repo.start_run(["wam"])
    result = repo.store(
        [outcome("https://wam.ae/1", TEXT_A + "\x00", source="wam", title="عنوان\x00")], run_id
    )
    assert result.new_articles == 1
    [hit] = repo.hits()
    assert hit.title == "عنوان"


def test_hits_attached_to_a_sent_digest_are_no_longer_pending(repo: Repository) -> None:
    run_id = repo.start_run(["sana"])
    repo.store([outcome("https://sana.sy/?p=1", TEXT_A), outcome("https://sana.sy/?p=2", TEXT_B)], run_id)
    first, second = sorted(h.article_id for h in repo.pending_hits())
    digest_id = repo.mark_digest_sent([first], ["analyst@example.org"])
    assert [h.article_id for h in repo.pending_hits()] == [second]
    # a retry that names both claims only the one still pending
    repo.mark_digest_sent([first, second], ["analyst@example.org"])
    assert repo.pending_hits() == []
    with repo.engine.connect() as conn:
        owner = conn.execute(select(ArticleRow.digest_id).where(ArticleRow.id == first)).scalar_one()
    assert owner == digest_id
    assert len(repo.hits()) == 2  # sent hits are still hits
