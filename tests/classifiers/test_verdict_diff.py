"""bench.verdict_diff: the articles whose verdict a candidate model changes, listed one per line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.verdict_diff import main
from classifiers.keyword import KeywordClassifier
from config.keywords import load_keywords
from config.settings import PACKAGE_DIR


def test_lists_exactly_the_articles_whose_verdict_differs(
    shared_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    records = [json.loads(line) for line in (shared_data / "labelled" / "dev.jsonl").open(encoding="utf-8")]
    # A hostile title: no ESC reaches the terminal.
    records[0]["title"] = "\x1b[31mعنوان\x1b[0m " + (records[0]["title"] or "")
    pool = tmp_path / "pool.jsonl"
    pool.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    shipped = KeywordClassifier(load_keywords(PACKAGE_DIR / "keywords.yaml"), model="shipped")
    rules = shipped.with_model(None)
    expected = {
        str(r["id"])
        for r in records
        if shipped.classify(r["title"] or "", r["text"] or "").is_hit
        != rules.classify(r["title"] or "", r["text"] or "").is_hit
    }
    assert expected  # the rules and the model disagree on some dev articles

    assert main(["--rules", "--articles", str(pool)]) == 0
    out = capsys.readouterr().out
    listed = {line.split()[1] for line in out.splitlines() if line[:2] in ("+ ", "- ")}
    assert listed == expected
    assert f"{len(records)} articles:" in out and "\x1b" not in out


def test_a_damaged_model_file_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text("not json", encoding="utf-8")
    assert main([str(broken)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1
