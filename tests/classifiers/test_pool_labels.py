"""Labels by article id, read with the pool's texts: unsure left out, every id found, bad lines named."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from classifiers.pool_labels import read_labels, read_pool_labels
from config.settings import ConfigError


def _write(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8")
    return path


@pytest.fixture
def articles(tmp_path: Path) -> Path:
    return _write(
        tmp_path / "articles.jsonl",
        [
            {"id": "a", "source": "one.example", "title": "روسيا والإمارات", "text": "مذكرة تفاهم"},
            {"id": "b", "source": "two.example", "title": "مباراة", "text": "كأس العالم في روسيا"},
            {"id": "c", "source": "two.example", "title": "غير مؤكد", "text": "نص"},
            {"id": "d", "source": "one.example", "title": "not labelled", "text": "x"},
        ],
    )


def test_yes_and_no_become_records_with_the_pool_text_and_unsure_is_left_out(
    tmp_path: Path, articles: Path
) -> None:
    labels = _write(
        tmp_path / "labels.jsonl",
        [
            {"id": "b", "label": "no", "why": "sport"},
            {"id": "a", "label": "yes", "why": "UAE memorandum"},
            {"id": "c", "label": "unsure", "why": "either way"},
        ],
    )
    records = read_pool_labels(labels, articles)
    assert [(r.id, r.label, r.kind, r.source) for r in records] == [
        ("b", False, "russia-no-cooperation", "two.example"),
        ("a", True, "positive", "one.example"),
    ]
    assert records[1].title == "روسيا والإمارات" and records[1].text == "مذكرة تفاهم"


def test_an_id_missing_from_the_pool_is_one_error(tmp_path: Path, articles: Path) -> None:
    labels = _write(tmp_path / "labels.jsonl", [{"id": "a", "label": "yes"}, {"id": "zz", "label": "no"}])
    with pytest.raises(ConfigError) as caught:
        read_pool_labels(labels, articles)
    assert str(caught.value) == (
        f"{labels}: 1 labelled id(s) not in {articles} (first: zz); the labels belong to another pool"
    )


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('{"id": "a", "label": "maybe"}', "label: Input should be 'yes', 'no' or 'unsure'"),
        ('{"id": "a", "label": "yes", "text": "smuggled"}', "text: Extra inputs are not permitted"),
        ('{"id": "a", ', "not valid JSON"),
    ],
)
def test_a_bad_line_is_one_error_naming_its_line(tmp_path: Path, line: str, message: str) -> None:
    labels = tmp_path / "labels.jsonl"
    labels.write_text('{"id": "b", "label": "no"}\n' + line + "\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        read_labels(labels)
    assert str(caught.value).startswith(f"{labels}:2: {message}")


def test_an_id_labelled_twice_is_refused(tmp_path: Path) -> None:
    labels = _write(tmp_path / "labels.jsonl", [{"id": "a", "label": "yes"}, {"id": "a", "label": "no"}])
    with pytest.raises(ConfigError, match="2: id a is labelled twice"):
        read_labels(labels)


def test_the_shipped_labels_all_stand_in_the_shared_pool(shared_data: Path) -> None:
    from config.settings import PACKAGE_DIR

    path = PACKAGE_DIR.parent / "classifiers" / "labels" / "pool-candidates.jsonl"
    labels = read_labels(path)
    records = read_pool_labels(path, shared_data / "articles.jsonl")
    assert len(records) == sum(label is not None for label in labels.values())
    assert sum(r.label for r in records) >= 50  # the reading found some 60 hits among ~590 candidates
    shared_ids = {
        json.loads(line)["id"]
        for name in ("dev.jsonl", "train.jsonl")
        for line in (shared_data / "labelled" / name).read_text(encoding="utf-8").splitlines()
    }
    assert shared_ids.isdisjoint(labels)  # never a second answer for an article the shared files label


def test_a_pool_that_is_not_utf8_is_one_error(tmp_path: Path) -> None:
    labels = _write(tmp_path / "labels.jsonl", [{"id": "a", "label": "yes"}])
    articles = tmp_path / "articles.jsonl"
    articles.write_bytes(b'{"id": "a", "title": "\xff\xfe", "text": "x"}\n')
    with pytest.raises(
        ConfigError, match=r"articles.jsonl: cannot read the articles of labels.jsonl: 'utf-8'"
    ):
        read_pool_labels(labels, articles)
