"""The snapshot's page index is data: an entry pointing outside the data folder is skipped, never served."""

from __future__ import annotations

import json
import logging
import shutil
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest

from snapshot.build import build_snapshot
from snapshot.replay import ReplayProcess

LEGIT = "alyaum.com/1784190729.html"


@pytest.fixture
def hostile_data(shared_data: Path, tmp_path: Path) -> tuple[Path, str]:
    """A data folder like the shared one whose pages/index.jsonl also lists files outside it."""
    data = tmp_path / "data"
    (data / "pages" / "alyaum.com").mkdir(parents=True)
    (data / "articles.jsonl").symlink_to(shared_data / "articles.jsonl")
    (data / "labelled").symlink_to(shared_data / "labelled")
    shutil.copy(shared_data / "pages" / LEGIT, data / "pages" / LEGIT)
    token = f"CANARY{uuid.uuid4().hex}"
    canary = tmp_path / "canary.html"
    canary.write_text(
        f"<html><head><title>{token}</title></head><body>{token}</body></html>", encoding="utf-8"
    )
    (data / "pages" / "alyaum.com" / "link.html").symlink_to(canary)
    depth = "../" * (len(data.resolve().parts) + 2)
    entries = [
        {"file": LEGIT, "url": "https://www.alyaum.com/articles/1", "site": "alyaum.com", "charset": "utf-8"},
        {"file": f"{depth}etc/passwd", "url": "http://evil-one.example/passwd", "site": "evil-one.example"},
        {"file": "/etc/passwd", "url": "http://evil-two.example/passwd", "site": "evil-two.example"},
        {
            "file": "../../canary.html",
            "url": "http://evil-three.example/c.html",
            "site": "evil-three.example",
        },
        {
            "file": "alyaum.com/link.html",
            "url": "http://evil-four.example/l.html",
            "site": "evil-four.example",
        },
    ]
    (data / "pages" / "index.jsonl").write_text(
        "\n".join(json.dumps(e) for e in entries) + "\n", encoding="utf-8"
    )
    return data, token


def test_index_entries_outside_the_data_folder_are_skipped_with_one_line_each(
    hostile_data: tuple[Path, str], caplog: pytest.LogCaptureFixture
) -> None:
    data, token = hostile_data
    with caplog.at_level(logging.WARNING, logger="snapshot.build"):
        snapshot = build_snapshot(data, size=20)
    outlets = {o.name for o in snapshot.outlets}
    assert "alyaum.com" in outlets
    assert not {"evil-one.example", "evil-two.example", "evil-three.example", "evil-four.example"} & outlets
    skipped = [r.getMessage() for r in caplog.records if "skipped page" in r.getMessage()]
    assert len(skipped) == 4, skipped
    bodies = b"".join(route.body for route in snapshot.routes("http://127.0.0.1:9").values())
    assert token.encode() not in bodies and b"root:x:0:0" not in bodies


def test_the_snapshot_server_never_serves_a_file_outside_the_data_folder(
    hostile_data: tuple[Path, str],
) -> None:
    data, token = hostile_data
    with ReplayProcess(data, size=20) as replay:
        for path in ("/evil-one.example/passwd", "/evil-two.example/passwd", "/evil-three.example/c.html",
                     "/evil-four.example/l.html"):  # fmt: skip
            with pytest.raises(urllib.error.HTTPError) as answer:
                urllib.request.urlopen(replay.url + path, timeout=10)
            assert answer.value.code == 404
            body = answer.value.read()
            assert token.encode() not in body and b"root:x:0:0" not in body
        real = urllib.request.urlopen(replay.url + "/alyaum.com/articles/1", timeout=10)
        assert real.status == 200
