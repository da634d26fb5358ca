"""Judgements become labelled data: `rasid feedback export` for `rasid eval`, and precision by week."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from classifiers.evaluate import read_labelled
from rasid.cli import app
from storage.db import make_engine
from storage.records import PageOutcome
from storage.repository import Repository
from tests.storage.conftest import FakeArticle, hit_verdict, miss_verdict
from tests.storage.test_repository import TEXT_B
from tests.storage.test_stories import RT_TEXT, WAM_TEXT

runner = CliRunner()
NOW = datetime.now(UTC)


def _page(
    url: str, text: str, title: str, published: datetime, verdict=None, source: str = "sana"
) -> PageOutcome:
    article = FakeArticle(
        url=url, canonical_url=url, source=source, title=title, text=text, published=published, fetched_at=NOW
    )
    return PageOutcome(source=source, urls=(url,), article=article, verdict=verdict or hit_verdict())


@pytest.fixture
def judged(database_url: str) -> tuple[str, Repository, dict[str, int]]:
    """A syndicated story (two outlets) three weeks ago, a wheat hit this week, and a stored miss."""
    repository = Repository(make_engine(database_url))
    repository.prepare()
    run_id = repository.start_run(["wam", "rt", "sana"])
    old = NOW - timedelta(days=21)
    repository.store(
        [
            _page("https://wam.ae/1", WAM_TEXT, "الإمارات وروسيا توقعان مذكرة تفاهم", old, source="wam"),
            _page("https://rt.com/2", RT_TEXT, "موسكو وأبوظبي: تعاون", old, source="rt"),
            _page(
                "https://sana.sy/3", TEXT_B, "القمح في مصر", NOW, hit_verdict(("Egypt",), ("agriculture",))
            ),
            _page("https://sana.sy/4", TEXT_B + " وزيت الزيتون في تونس", "زيت الزيتون", NOW, miss_verdict()),
        ],
        run_id,
    )
    ids = {h.url: h.article_id for h in repository.hits()}
    ids["miss"] = next(
        a.article_id for batch in repository.iter_articles() for a in batch if a.is_hit is False
    )
    return database_url, repository, ids


def _export(url: str, target: Path) -> tuple[int, str, str]:
    result = runner.invoke(app, ["feedback", "export", str(target), "--db", url])
    return result.exit_code, result.stdout, result.stderr


def test_export_labels_a_story_judged_wrong_and_an_article_judged_right_later(judged, tmp_path: Path) -> None:
    url, repository, ids = judged
    story_id = next(s.story_id for s in repository.stories() if "wam" in s.sources)
    repository.add_judgement("ليلى", "wrong", story_id=story_id, note="ليست اتفاقية")
    repository.add_judgement(
        "sami", "right", article_id=ids["https://rt.com/2"]
    )  # later: overrides the story
    code, out, _ = _export(url, tmp_path / "judged.jsonl")
    assert code == 0 and "wrote 2 judged articles (1 hits, 1 not)" in out
    records = {r.id: r for r in read_labelled(tmp_path / "judged.jsonl")}
    assert records[f"feedback-article-{ids['https://wam.ae/1']}"].label is False
    assert records[f"feedback-article-{ids['https://wam.ae/1']}"].kind == "russia-no-cooperation"
    assert records[f"feedback-article-{ids['https://rt.com/2']}"].label is True
    assert records[f"feedback-article-{ids['https://rt.com/2']}"].title == "موسكو وأبوظبي: تعاون"


def test_exported_lines_have_the_shape_of_the_shared_labelled_files(
    judged, tmp_path: Path, shared_data: Path
) -> None:
    url, repository, ids = judged
    repository.add_judgement("local", "wrong", article_id=ids["https://sana.sy/3"])
    _export(url, tmp_path / "judged.jsonl")
    [line] = (tmp_path / "judged.jsonl").read_text(encoding="utf-8").splitlines()
    shared = json.loads((shared_data / "labelled" / "dev.jsonl").open(encoding="utf-8").readline())
    mine = json.loads(line)
    assert list(mine) == list(shared) == ["id", "source", "url", "title", "text", "label", "kind"]
    assert (mine["url"], mine["label"], mine["source"]) == ("https://sana.sy/3", False, "sana")


def test_a_missed_article_and_missed_text_are_hits_and_a_bare_unknown_url_is_said(
    judged, tmp_path: Path
) -> None:
    url, repository, ids = judged
    repository.add_judgement("local", "missed", url="https://sana.sy/4")
    repository.add_judgement("local", "missed", title="روسيا وتونس توقعان اتفاقية زراعية", text="نص الخبر")
    repository.add_judgement("local", "missed", url="https://nowhere.example/x")
    code, _, err = _export(url, tmp_path / "judged.jsonl")
    records = list(read_labelled(tmp_path / "judged.jsonl"))
    assert code == 0
    assert [(r.id, r.label, r.kind) for r in records] == [
        (f"feedback-article-{ids['miss']}", True, "positive"),
        (records[1].id, True, "positive"),
    ]
    assert (
        records[1].id.startswith("feedback-missed-")
        and records[1].title == "روسيا وتونس توقعان اتفاقية زراعية"
    )
    assert "left out 1 missed hits given by URL only" in err


def test_rasid_eval_reads_the_exported_file(judged, tmp_path: Path) -> None:
    url, repository, ids = judged
    repository.add_judgement("local", "wrong", article_id=ids["https://sana.sy/3"])
    repository.add_judgement(
        "local",
        "missed",
        title="روسيا والصين توقعان اتفاقية للطاقة النووية",
        text="وقعت روسيا والصين اتفاقية تعاون في الطاقة النووية.",
    )
    _export(url, tmp_path / "judged.jsonl")
    result = runner.invoke(app, ["eval", str(tmp_path / "judged.jsonl"), "--json"])
    figures = json.loads(result.stdout)
    assert result.exit_code == 0
    assert figures["tp"] + figures["fp"] + figures["fn"] + figures["tn"] == 2
    assert figures["fp"] + figures["tn"] == 1  # the wheat story, judged not a hit


def test_eval_feedback_before_any_judgement_says_where_to_judge(judged) -> None:
    url, _, _ = judged
    result = runner.invoke(app, ["eval", "--feedback", "--db", url])
    assert result.exit_code == 0
    assert result.stdout.splitlines()[-1] == "no judgements yet: analysts judge hits in `rasid web`"


def test_eval_feedback_reports_precision_on_judged_hits_per_week(judged) -> None:
    url, repository, ids = judged
    story_id = next(s.story_id for s in repository.stories() if "wam" in s.sources)
    repository.add_judgement("local", "right", story_id=story_id)  # two hits three weeks ago, both right
    repository.add_judgement(
        "local", "wrong", article_id=ids["https://sana.sy/3"]
    )  # this week's hit is wrong
    repository.add_judgement("local", "missed", title="خبر فات", text="نص")
    result = runner.invoke(app, ["eval", "--feedback", "--json", "--db", url])
    assert result.exit_code == 0
    weeks = {w["week"]: w for w in json.loads(result.stdout)["weeks"]}

    def week(day: datetime) -> str:
        return f"{day.isocalendar()[0]}-W{day.isocalendar()[1]:02d}"

    old = weeks[week(NOW - timedelta(days=21))]
    assert (old["judged_hits"], old["right"], old["precision"]) == (2, 2, 1.0)
    now = weeks[week(NOW)]
    assert (now["judged_hits"], now["right"], now["precision"], now["missed"]) == (1, 0, 0.0, 1)
    table = runner.invoke(app, ["eval", "--feedback", "--db", url])
    assert "judged hits: 3, judged right: 2, precision 0.667" in table.stdout


def test_judging_an_unknown_story_stores_nothing(judged) -> None:
    _, repository, _ = judged
    assert repository.add_judgement("local", "wrong", story_id=999_999) is None
    assert repository.add_judgement("local", "right", article_id=999_999) is None
    assert repository.judgements() == []
