"""``rasid explain`` and ``rasid eval`` through the real CLI entry point (a subprocess)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

# "Russia and Egypt sign a nuclear energy cooperation agreement" / "Moscow and Cairo signed a deal..."
EGYPT_DEAL = (
    "روسيا ومصر توقعان اتفاقية للتعاون في مجال الطاقة النووية\n"
    "وقعت موسكو والقاهرة اتفاقية تعاون لبناء محطة الضبعة.\n"
)


def _run(
    *args: str, stdin: str | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from rasid.cli import main; main()", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        env={"COLUMNS": "200", "PATH": "/usr/bin:/bin", "HOME": "/nonexistent-home", **(env or {})},
    )


def test_explain_text_file_prints_hit_partner_and_highlighted_evidence(tmp_path: Path) -> None:
    path = tmp_path / "article.txt"
    path.write_text(EGYPT_DEAL, encoding="utf-8")
    result = _run("explain", str(path))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("HIT")
    assert "partners: Egypt" in result.stdout
    assert "energy" in result.stdout
    assert "وقعت موسكو والقاهرة اتفاقية تعاون لبناء محطة الضبعة." in result.stdout


def test_explain_reads_stdin_and_says_not_a_hit(tmp_path: Path) -> None:
    result = _run("explain", "-", stdin="أمطار في جدة\nهطلت أمطار غزيرة اليوم.")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("not a hit")
    assert "evidence: none" in result.stdout


def test_explain_of_a_missing_file_is_one_line_and_exit_2(tmp_path: Path) -> None:
    result = _run("explain", str(tmp_path / "nope.txt"))
    assert result.returncode == 2
    assert result.stderr.strip() == f"error: {tmp_path / 'nope.txt'}: no such file"


def test_eval_json_prints_one_object_with_the_promised_keys(tmp_path: Path) -> None:
    path = tmp_path / "labelled.jsonl"
    title, _, body = EGYPT_DEAL.partition("\n")
    lines = [
        {"id": "p1", "title": title, "text": body, "label": True, "kind": "positive"},
        {"id": "n1", "title": "أمطار في جدة", "text": "هطلت أمطار.", "label": False, "kind": "other"},
        {
            "id": "n2",
            "title": "غارات روسية على إدلب",
            "text": "قصف روسي على إدلب.",
            "label": False,
            "kind": "russia-no-cooperation",
        },
    ]
    path.write_text("".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines), encoding="utf-8")
    result = _run("eval", str(path), "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert {"precision", "recall", "f1", "tp", "fp", "fn", "tn", "docs_per_s", "by_kind"} <= set(report)
    assert (report["tp"], report["fp"], report["fn"], report["tn"]) == (1, 0, 0, 2)
    assert report["by_kind"]["russia-no-cooperation"] == {"tp": 0, "fp": 0, "fn": 0, "tn": 1}


def test_eval_table_lists_counts_and_errors_by_id(tmp_path: Path) -> None:
    path = tmp_path / "labelled.jsonl"
    line = {
        "id": "missed-1",
        "title": "أمطار في جدة",
        "text": "هطلت أمطار.",
        "label": True,
        "kind": "positive",
    }
    path.write_text(json.dumps(line, ensure_ascii=False) + "\n", encoding="utf-8")
    result = _run("eval", str(path))
    assert result.returncode == 0, result.stderr
    assert "false negatives (1):" in result.stdout
    assert "missed-1  أمطار في جدة" in result.stdout
    assert "note: the model decided articles it was trained on" not in result.stdout  # not its files


def test_eval_of_the_files_the_model_was_trained_on_says_to_quote_cross_validation() -> None:
    result = _run("eval")
    assert result.returncode == 0, result.stderr
    assert "note: the model decided articles it was trained on; `rasid eval --cv 5`" in " ".join(
        result.stdout.split()
    )


def test_eval_of_a_bad_labelled_line_is_one_line_and_exit_2(tmp_path: Path) -> None:
    path = tmp_path / "labelled.jsonl"
    path.write_text('{"id": "x", "label": true}\n{"title": "no id", "label": false}\n', encoding="utf-8")
    result = _run("eval", str(path))
    assert result.returncode == 2
    assert result.stderr.strip() == f"error: {path}:2: id: Field required"


def test_explain_html_page_extracts_the_article_first() -> None:
    page = Path(__file__).resolve().parents[1] / "fixtures" / "classifiers" / "egypt_russia_deal.html"
    result = _run("explain", str(page))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("HIT")
    assert "partners: Egypt" in result.stdout
    assert "روساتوم" in result.stdout


def test_explain_url_fetches_the_page_from_a_real_local_server(site_server) -> None:  # noqa: ANN001
    from snapshot.replay import Route

    page = (
        Path(__file__).resolve().parents[1] / "fixtures" / "classifiers" / "egypt_russia_deal.html"
    ).read_bytes()
    site = site_server({"/news/egypt-russia.html": Route(body=page)})
    # The server is on 127.0.0.1, an internal address the URL policy refuses unless told otherwise.
    allow = {"RASID_CRAWL__ALLOW_PRIVATE_ADDRESSES": "1"}
    result = _run("explain", f"{site.url}/news/egypt-russia.html", env=allow)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("HIT")
    assert "partners: Egypt" in result.stdout


def test_explain_url_that_answers_404_is_one_line_and_exit_2(site_server) -> None:  # noqa: ANN001
    site = site_server({})
    result = _run("explain", f"{site.url}/missing.html")
    assert result.returncode == 2
    assert result.stderr.startswith(f"error: {site.url}/missing.html: ")
    assert len(result.stderr.strip().splitlines()) == 1


# A small labelled set the rules find candidates in: deals (hits), Russia's war with cooperation words (not).
PARTNERS = ["مصر", "الهند", "الصين", "الجزائر", "إيران", "البرازيل", "فيتنام", "تركيا"]


def _small_labelled(tmp_path: Path) -> Path:
    lines = []
    for i, partner in enumerate(PARTNERS):
        lines.append(
            {
                "id": f"deal-{i}",
                "title": f"روسيا و{partner} توقعان اتفاقية للتعاون في مجال الطاقة",
                "text": f"وقعت موسكو و{partner} اتفاقية تعاون في الطاقة النووية والتجارة.",
                "label": True,
                "kind": "positive",
                "source": f"outlet-{i}",
            }
        )
        lines.append(
            {
                "id": f"war-{i}",
                "title": f"قصف روسي في سوريا و{partner} تنتقد",
                "text": f"قالت {partner} إن التعاون العسكري الروسي مع دمشق يعني قصف إدلب وقتلى مدنيين.",
                "label": False,
                "kind": "russia-no-cooperation",
                "source": f"outlet-{i}",
            }
        )
        lines.append(
            {"id": f"rain-{i}", "title": "أمطار", "text": "هطلت أمطار.", "label": False, "kind": "other"}
        )
    path = tmp_path / "small.jsonl"
    path.write_text("".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines), encoding="utf-8")
    return path


def test_eval_cv_trains_in_each_fold_and_reports_intervals(tmp_path: Path) -> None:
    result = _run("eval", str(_small_labelled(tmp_path)), "--cv", "4", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["k"] == 4 and report["articles"] == 24 and len(report["folds"]) == 4
    assert report["tp"] + report["fn"] == 8 and report["fp"] + report["tn"] == 16
    assert report["f1"]["low"] <= report["f1"]["value"] <= report["f1"]["high"]
    assert report["by_kind"]["other"] == {"tp": 0, "fp": 0, "fn": 0, "tn": 8}
    assert "model trained in each fold" in report["classifier"]


def test_eval_cv_by_source_holds_out_whole_outlets(tmp_path: Path) -> None:
    result = _run("eval", str(_small_labelled(tmp_path)), "--cv", "4", "--by-source", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["folds_by"] == "source" and report["articles"] == 24
    assert report["tp"] + report["fn"] == 8


def test_eval_by_source_without_cv_is_one_line_and_exit_2(tmp_path: Path) -> None:
    result = _run("eval", str(_small_labelled(tmp_path)), "--by-source")
    assert result.returncode == 2
    assert result.stderr.strip().startswith("error: --by-source needs --cv K")


def test_eval_cv_with_more_folds_than_hits_is_one_line_and_exit_2(tmp_path: Path) -> None:
    result = _run("eval", str(_small_labelled(tmp_path)), "--cv", "9")
    assert result.returncode == 2
    assert result.stderr.strip() == "error: 9 folds need at least 9 hits and 9 other articles (have 8 hits)"


@pytest.mark.parametrize("folds", ["0", "1"])
def test_eval_cv_of_zero_or_one_fold_is_refused_alike_not_a_plain_score(tmp_path: Path, folds: str) -> None:
    result = _run("eval", str(_small_labelled(tmp_path)), "--cv", folds)
    assert result.returncode == 2
    assert result.stderr.strip() == f"error: {folds} folds: cross-validation needs at least 2"


def test_train_twice_writes_the_same_model_file(tmp_path: Path) -> None:
    labelled = _small_labelled(tmp_path)
    first, second = tmp_path / "a.json", tmp_path / "b.json"
    for out in (first, second):
        result = _run("train", str(labelled), "--out", str(out))
        assert result.returncode == 0, result.stderr
        assert "trained on 16 candidates (8 hits) of 24 articles" in result.stdout
    assert first.read_bytes() == second.read_bytes()


def test_explain_shows_the_models_probability_and_what_drove_it(tmp_path: Path) -> None:
    path = tmp_path / "article.txt"
    path.write_text(EGYPT_DEAL, encoding="utf-8")
    result = _run("explain", str(path))
    assert result.returncode == 0, result.stderr
    assert "model lr1-" in result.stdout and "probability" in result.stdout
    assert "what drove it" in result.stdout
    assert re.search(r"[+-]\d+\.\d{3}", result.stdout)  # signed weights of the features


def _some_pool_labels(tmp_path: Path) -> Path:
    """Three lines of the shipped pool labels: a yes, a no and an unsure (left out of training)."""
    shipped = Path(__file__).parents[2] / "classifiers" / "labels" / "pool-candidates.jsonl"
    rows = [json.loads(line) for line in shipped.read_text(encoding="utf-8").splitlines()]
    picked = [next(row for row in rows if row["label"] == label) for label in ("yes", "no", "unsure")]
    path = tmp_path / "some-pool.jsonl"
    path.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in picked), encoding="utf-8")
    return path


def test_train_without_files_adds_the_pool_labels_and_records_them(tmp_path: Path) -> None:
    env = {"RASID_POOL_LABELS": str(_some_pool_labels(tmp_path))}
    result = _run("train", "--out", str(tmp_path / "m.json"), env=env)
    assert result.returncode == 0, result.stderr
    assert "of 2036 articles (2 of them pool-labelled, some-pool.jsonl)" in " ".join(result.stdout.split())
    trained = json.loads((tmp_path / "m.json").read_text(encoding="utf-8"))["trained"]
    assert (trained["pool_labels"], trained["pool_articles"]) == ("some-pool.jsonl", 2)
    assert len(trained["pool_labels_sha256"]) == 16

    alone = _run("train", "--out", str(tmp_path / "alone.json"), "--no-pool-labels", env=env)
    assert alone.returncode == 0, alone.stderr
    assert "of 2034 articles" in " ".join(alone.stdout.split()) and "pool-labelled" not in alone.stdout
    assert "pool_labels" not in json.loads((tmp_path / "alone.json").read_text(encoding="utf-8"))["trained"]


def test_eval_cv_trains_on_the_pool_labels_and_scores_only_the_labelled_files(tmp_path: Path) -> None:
    env = {"RASID_POOL_LABELS": str(_some_pool_labels(tmp_path))}
    result = _run("eval", "--cv", "5", "--json", env=env)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["extra_trained_per_fold"] == [2, 2, 2, 2, 2]  # the pool labels reached every fold
    assert report["articles"] == 643 + 1391


def test_pool_labels_naming_an_article_the_pool_lacks_are_one_line_and_exit_2(tmp_path: Path) -> None:
    labels = tmp_path / "other-pool.jsonl"
    labels.write_text('{"id": "not-in-the-pool-1", "label": "yes", "why": "x"}\n', encoding="utf-8")
    result = _run("train", "--out", str(tmp_path / "m.json"), env={"RASID_POOL_LABELS": str(labels)})
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"error: {labels}: 1 labelled id(s) not in {_pool_path()} (first: not-in-the-pool-1); "
        "the labels belong to another pool"
    ]
    assert not (tmp_path / "m.json").exists()


def _pool_path() -> Path:
    from config.settings import load_settings

    return load_settings().shared_data / "articles.jsonl"


def test_pool_labels_without_a_yes_or_no_say_that_nothing_was_added(tmp_path: Path) -> None:
    labels = tmp_path / "unsure-only.jsonl"
    labels.write_text('{"id": "anc-ae-12", "label": "unsure"}\n', encoding="utf-8")
    result = _run("train", "--out", str(tmp_path / "m.json"), env={"RASID_POOL_LABELS": str(labels)})
    assert result.returncode == 0, result.stderr
    assert f"note: {labels} holds no yes or no label: nothing added" in " ".join(result.stdout.split())


def test_pool_labels_join_files_given_only_when_asked(tmp_path: Path) -> None:
    env = {"RASID_POOL_LABELS": str(_some_pool_labels(tmp_path))}
    small = str(_small_labelled(tmp_path))
    result = _run("train", small, "--pool-labels", "--out", str(tmp_path / "m.json"), env=env)
    assert result.returncode == 0, result.stderr
    assert "of 26 articles (2 of them pool-labelled, some-pool.jsonl)" in " ".join(result.stdout.split())


# ------------------------------------------------------------------ where `rasid train` writes the model


def _limited_file_size(limit: int) -> None:
    """In the child: files may grow to ``limit`` bytes, and a bigger write fails (EFBIG) instead of a kill."""
    import resource
    import signal

    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))


def test_train_refuses_an_existing_out_without_force_and_overwrites_it_with_force(tmp_path: Path) -> None:
    labelled, out = str(_small_labelled(tmp_path)), tmp_path / "m.json"
    out.write_text("keep me\n", encoding="utf-8")
    refused = _run("train", labelled, "--out", str(out))
    assert refused.returncode == 2
    assert refused.stderr.strip() == f"error: {out}: already exists; pass --force to overwrite it"
    assert out.read_text(encoding="utf-8") == "keep me\n"
    forced = _run("train", labelled, "--out", str(out), "--force")
    assert forced.returncode == 0, forced.stderr
    assert json.loads(out.read_text(encoding="utf-8"))["version"].startswith("lr1-")


def test_train_rebuilds_the_configured_model_in_place_without_force(tmp_path: Path) -> None:
    labelled, model = str(_small_labelled(tmp_path)), tmp_path / "decision.json"
    model.write_text("{}\n", encoding="utf-8")  # stands for the shipped model (not rewritten by a test)
    result = _run("train", labelled, env={"RASID_CLASSIFIER_MODEL": str(model)})
    assert result.returncode == 0, result.stderr
    assert json.loads(model.read_text(encoding="utf-8"))["version"].startswith("lr1-")
    again = _run("train", labelled, "--out", str(model), env={"RASID_CLASSIFIER_MODEL": str(model)})
    assert again.returncode == 0, again.stderr


def test_train_never_writes_through_a_symbolic_link(tmp_path: Path) -> None:
    victim, link = tmp_path / "victim.txt", tmp_path / "m.json"
    victim.write_text("precious\n", encoding="utf-8")
    link.symlink_to(victim)
    result = _run("train", str(_small_labelled(tmp_path)), "--out", str(link), "--force")
    assert result.returncode == 2
    assert result.stderr.strip() == f"error: {link}: is a symbolic link; refusing to write through it"
    assert victim.read_text(encoding="utf-8") == "precious\n"


def test_train_out_to_a_folder_or_an_unwritable_place_is_one_line_and_exit_2(tmp_path: Path) -> None:
    labelled = str(_small_labelled(tmp_path))
    folder = _run("train", labelled, "--out", str(tmp_path))
    assert (folder.returncode, folder.stderr.strip()) == (
        2,
        f"error: {tmp_path}: exists and is not a regular file",
    )
    proc = _run("train", labelled, "--out", "/proc/m.json")  # /proc takes no new files, even from root
    assert proc.returncode == 2
    assert proc.stderr.strip() == "error: /proc/m.json: cannot write it: No such file or directory"
    missing = _run("train", labelled, "--out", str(tmp_path / "no" / "m.json"))
    assert missing.returncode == 2
    assert (
        missing.stderr.strip()
        == f"error: {tmp_path / 'no' / 'm.json'}: no folder {tmp_path / 'no'} to write it in"
    )


def test_a_write_that_fails_midway_leaves_no_model_and_no_temporary_file(tmp_path: Path) -> None:
    labelled, out = _small_labelled(tmp_path), tmp_path / "out" / "m.json"
    out.parent.mkdir()
    result = subprocess.run(
        [sys.executable, "-c", "from rasid.cli import main; main()", "train", str(labelled), "--out", str(out)],
        capture_output=True, text=True, timeout=120, preexec_fn=lambda: _limited_file_size(1000),
        env={"COLUMNS": "200", "PATH": "/usr/bin:/bin", "HOME": "/nonexistent-home", "PYTHONDONTWRITEBYTECODE": "1"},
    )  # fmt: skip
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip() == f"error: {out}: cannot write it: File too large"
    assert list(out.parent.iterdir()) == []
