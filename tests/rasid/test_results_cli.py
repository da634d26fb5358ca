"""`rasid hits`, `rasid stories` and `rasid export` on a real database holding a syndicated story."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest
from typer.testing import CliRunner

from rasid.cli import app
from rasid.commands.results import parse_since
from storage.db import make_engine
from storage.repository import Repository
from storage.schema import head_revision, upgrade
from tests.storage.conftest import hit_verdict, miss_verdict, outcome
from tests.storage.test_repository import TEXT_B
from tests.storage.test_stories import RT_TEXT, SANA_TEXT, WAM_TEXT

ATOM = "{http://www.w3.org/2005/Atom}"
runner = CliRunner()


@pytest.fixture
def filled_url(database_url: str) -> str:
    """Three outlets running one Russia-UAE story, one unrelated hit and one miss."""
    engine = make_engine(database_url)
    repo = Repository(engine)
    repo.prepare()
    run_id = repo.start_run(["wam", "rt", "sana"])
    uae = hit_verdict(("UAE",), ("technology",))  # verdicts store the classifier's canonical names
    repo.store(
        [
            outcome(
                "https://wam.ae/ar/details/1",
                WAM_TEXT,
                source="wam",
                title="الإمارات وروسيا توقعان مذكرة تفاهم",
                verdict=uae,
            ),
            outcome(
                "https://arabic.rt.com/business/2/",
                RT_TEXT,
                source="rt",
                title="موسكو وأبوظبي: تعاون",
                verdict=uae,
            ),
            outcome(
                "https://sana.sy/?p=3",
                SANA_TEXT,
                source="sana",
                title="مذكرة تفاهم روسية إماراتية",
                verdict=uae,
            ),
            outcome(
                "https://sana.sy/?p=4",
                TEXT_B,
                source="sana",
                title="القمح في مصر",
                verdict=hit_verdict(("Egypt",), ("agriculture",)),
            ),
            outcome(
                "https://sana.sy/?p=5",
                TEXT_B + " مكرر",
                source="sana",
                title="خبر آخر",
                verdict=miss_verdict(),
            ),
        ],
        run_id,
    )
    engine.dispose()
    return database_url


def invoke(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout


def test_hits_table_shows_arabic_titles_and_story_ids(
    filled_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from rasid.context import console

    monkeypatch.setattr(console, "width", 200)  # wide enough that no title is folded
    code, out = invoke("hits", "--db", filled_url)
    assert code == 0
    assert "الإمارات وروسيا توقعان مذكرة تفاهم" in out and "القمح في مصر" in out
    assert "4 hits" in out


def test_hits_csv_has_a_header_and_one_row_per_hit(filled_url: str) -> None:
    code, out = invoke("hits", "--db", filled_url, "--format", "csv", "--source", "sana")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert code == 0
    assert sorted(r["title"] for r in rows) == ["القمح في مصر", "مذكرة تفاهم روسية إماراتية"]
    assert {r["partners"] for r in rows} == {"UAE", "Egypt"}


def test_hits_jsonl_filters_by_partner_and_normalised_search(filled_url: str) -> None:
    _, out = invoke("hits", "--db", filled_url, "--format", "jsonl", "--partner", "مصر")
    assert [json.loads(line)["title"] for line in out.splitlines()] == ["القمح في مصر"]
    # "الامارات" (no hamza) finds the three copies spelled "الإمارات"
    _, out = invoke("hits", "--db", filled_url, "--format", "jsonl", "--search", "الامارات")
    assert {json.loads(line)["source"] for line in out.splitlines()} == {"wam", "rt", "sana"}


def test_stories_list_the_syndicated_hit_once_with_all_its_sources(filled_url: str) -> None:
    _, out = invoke("stories", "--db", filled_url, "--format", "jsonl", "--sector", "technology")
    [story] = [json.loads(line) for line in out.splitlines()]
    assert story["sources"] == ["wam", "rt", "sana"]
    assert story["title"] == "الإمارات وروسيا توقعان مذكرة تفاهم"
    _, out = invoke("stories", "--db", filled_url, "--format", "jsonl")
    assert len(out.splitlines()) == 2  # the story of three and the wheat hit; the miss is no story


def test_export_into_a_folder_that_does_not_exist_is_one_line_and_makes_nothing(
    filled_url: str, tmp_path: Path
) -> None:
    target = tmp_path / "typo" / "stories.atom"
    done = _rasid("export", str(target), "--db", filled_url)
    assert (
        done.returncode == 2
        and done.stderr.strip() == f"error: {target}: no folder {target.parent} to write it in"
    )
    assert not target.parent.exists()


def test_export_writes_a_valid_rtl_atom_feed(filled_url: str, tmp_path: Path) -> None:
    target = tmp_path / "stories.atom"
    code, out = invoke("export", str(target), "--what", "stories", "--db", filled_url)
    assert code == 0 and "wrote 2 stories" in out
    feed = ET.parse(target).getroot()
    assert feed.tag == f"{ATOM}feed"
    assert feed.get("{http://www.w3.org/XML/1998/namespace}lang") == "ar"
    entries = feed.findall(f"{ATOM}entry")
    assert len(entries) == 2
    for entry in entries:  # RFC 4287 requires id, title and updated on every entry
        assert entry.find(f"{ATOM}id").text.startswith("tag:rasid.local,2026:story:")
        assert entry.find(f"{ATOM}title").text
        assert entry.find(f"{ATOM}updated").text
    story = next(e for e in entries if e.find(f"{ATOM}title").text == "الإمارات وروسيا توقعان مذكرة تفاهم")
    assert [a.find(f"{ATOM}name").text for a in story.findall(f"{ATOM}author")] == ["wam", "rt", "sana"]
    assert 'dir="rtl"' in story.find(f"{ATOM}content").text


def test_export_csv_equals_what_hits_prints(filled_url: str, tmp_path: Path) -> None:
    target = tmp_path / "hits.csv"
    invoke("export", str(target), "--db", filled_url)
    _, printed = invoke("hits", "--db", filled_url, "--format", "csv")
    assert target.read_text(encoding="utf-8") == printed


def _rasid(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "rasid.cli", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "COLUMNS": "200"},
    )


def test_unreadable_since_exits_2_with_one_line(sqlite_url: str) -> None:
    done = _rasid("hits", "--db", sqlite_url, "--since", "last tuesday")
    assert done.returncode == 2
    assert (
        done.stderr.strip() == "error: --since 'last tuesday': use 7d, 24h, 2w or a date such as 2026-11-01"
    )


@pytest.mark.parametrize("command", [("hits",), ("stories",), ("export", "x.csv")])
@pytest.mark.parametrize("since", ["99999999d", "99999999999999999999h", "5300w"])
def test_a_since_beyond_a_hundred_years_is_one_line_not_an_overflow(
    filled_url: str, tmp_path: Path, command: tuple[str, ...], since: str
) -> None:
    args = (*command[:1], *(str(tmp_path / name) for name in command[1:]))
    done = _rasid(*args, "--db", filled_url, "--since", since)
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip() == f"error: --since '{since}': reaches back at most 36500 days (100 years)"


def test_a_since_of_a_hundred_years_is_the_longest_accepted_in_days_or_hours() -> None:
    now = datetime.now(UTC)
    assert parse_since("36500d", now) == now - timedelta(days=36500)
    assert parse_since("876000h", now) == now - timedelta(days=36500)


def test_a_limit_beyond_a_billion_is_a_usage_error_not_an_overflow(filled_url: str) -> None:
    done = _rasid("hits", "--db", filled_url, "-n", "99999999999999999999")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    [line] = done.stderr.splitlines()
    assert "less than or equal to 1000000000" in line


def test_hits_on_a_database_at_an_older_revision_says_what_to_run(sqlite_url: str) -> None:
    engine = make_engine(sqlite_url)
    upgrade(engine, "0001")
    engine.dispose()
    done = _rasid("hits", "--db", sqlite_url)
    assert done.returncode == 2
    assert (
        done.stderr.strip()
        == f"error: database is at revision 0001, code needs {head_revision()}: run `rasid db upgrade`"
    )


def test_an_unknown_source_is_one_line_listing_the_known_ones(filled_url: str) -> None:
    done = _rasid("hits", "--db", filled_url, "--source", "rt-arabic")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    [line] = done.stderr.splitlines()
    assert line.startswith("error: --source 'rt-arabic': no source of that name in this database; known: ")
    assert {"rt", "sana", "wam"} <= set(line.split("known: ")[1].split(", "))


def _rasid_at(columns: int, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "rasid.cli", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "COLUMNS": str(columns)},
    )


@pytest.mark.parametrize("typed", ["مصر", "Egypt", "egypt", "القاهرة"])  # Egypt, and Cairo, one of its terms
def test_partner_filter_takes_the_classifiers_names_in_arabic_or_english(filled_url: str, typed: str) -> None:
    _, out = invoke("hits", "--db", filled_url, "--format", "jsonl", "--partner", typed)
    assert [json.loads(line)["title"] for line in out.splitlines()] == ["القمح في مصر"]


@pytest.mark.parametrize("typed", ["الإمارات", "الامارات", "UAE", "أبوظبي"])  # UAE, unhamzated, Abu Dhabi
def test_stories_partner_filter_resolves_arabic_spellings_to_the_canonical_name(
    filled_url: str, typed: str
) -> None:
    _, out = invoke("stories", "--db", filled_url, "--format", "jsonl", "--partner", typed)
    assert [json.loads(line)["sources"] for line in out.splitlines()] == [["wam", "rt", "sana"]]


@pytest.mark.parametrize("typed", ["technology", "Technology", "تكنولوجيا"])
def test_sector_filter_takes_arabic_or_english(filled_url: str, typed: str) -> None:
    _, out = invoke("hits", "--db", filled_url, "--format", "jsonl", "--sector", typed)
    assert {json.loads(line)["source"] for line in out.splitlines()} == {"wam", "rt", "sana"}


@pytest.mark.parametrize(("option", "typed"), [("--partner", "Chine"), ("--sector", "weather")])
def test_an_unknown_partner_or_sector_is_one_line_listing_the_known_ones(
    sqlite_url: str, option: str, typed: str
) -> None:
    done = _rasid("hits", "--db", sqlite_url, option, typed)
    role = option.removeprefix("--")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    [line] = done.stderr.splitlines()
    assert line.startswith(f"error: {option} {typed!r}: not a {role} the classifier knows; known: ")
    assert ("China (الصين)" if role == "partner" else "energy (الطاقة)") in line
    assert not Path(sqlite_url.removeprefix("sqlite:///")).exists()  # refused before the database was opened


@pytest.mark.parametrize("kind", ["hits", "stories"])
def test_at_80_columns_every_column_stays_beside_an_outlet_named_by_its_domain(
    filled_url: str, kind: str
) -> None:
    repo = Repository(make_engine(filled_url))
    run_id = repo.start_run(["arabic.sputniknews.com"])
    long_names = hit_verdict(("Switzerland",), ("agriculture",))
    page = outcome(
        "https://arabic.sputniknews.com/1", "روسيا وسويسرا " * 15, "arabic.sputniknews.com", "قمح", long_names
    )
    repo.store([page], run_id)
    done = _rasid_at(80, kind, "--db", filled_url)
    assert done.returncode == 0, done.stderr
    header = next(line for line in done.stdout.splitlines() if "published" in line).split()
    assert header[-1] == ("story" if kind == "hits" else "hit") and len(header) == (
        8 if kind == "hits" else 7
    )


@pytest.mark.parametrize("kind", ["hits", "stories"])
def test_at_80_columns_every_column_stays_and_no_short_word_is_broken(filled_url: str, kind: str) -> None:
    done = _rasid_at(80, kind, "--db", filled_url)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80
    header = next(line for line in lines if "published" in line).split()
    expected = ["id", "published", "source", "title", "partners", "sectors", "score", "story"]
    if kind == "stories":
        expected = ["story", "published", "sources", "title", "partners", "sectors", "hit"]
    assert header == expected
    words = {word.strip(",") for line in lines for word in line.split()}
    for name in ("technology", "agriculture", "wam", "sana", "UAE", "Egypt"):
        assert name in words, f"{name} was broken or dropped at 80 columns"
    # Every word of every title is there, whole (the title wraps at spaces, never inside a word).
    for title in ("الإمارات وروسيا توقعان مذكرة تفاهم", "القمح في مصر"):
        assert set(title.split()) <= words
