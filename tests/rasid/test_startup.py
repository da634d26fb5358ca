"""Start-up: an unchanged re-crawl is mostly start-up, so what it never needs is never loaded or compiled."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _run(code: str, tmp_path: Path) -> str:
    """``code`` in a fresh interpreter, on rasid's defaults (no configuration file of the user's)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RASID_")}
    env["XDG_CONFIG_HOME"] = str(tmp_path)
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.strip()


def test_the_cli_and_a_crawl_that_stores_nothing_do_not_load_datasketch_or_scipy(tmp_path: Path) -> None:
    # The crawl's modules, the repository and its writer, as `rasid crawl` loads them before any page.
    out = _run(
        """
        import sys
        import rasid.cli, rasid.app, crawler.runner, crawler.pipelines
        from storage.db import make_engine
        from storage.repository import Repository
        repository = Repository(make_engine("sqlite://"))
        print(sorted(m for m in ("datasketch", "scipy") if m in sys.modules))
        """,
        tmp_path,
    )
    assert out == "[]"


def test_the_classifier_compiles_its_full_patterns_only_for_an_article_naming_russia(tmp_path: Path) -> None:
    out = _run(
        """
        from config.settings import load_settings
        from rasid.app import build_classifier
        classifier = build_classifier(load_settings())
        compiled = lambda: sorted(k for k in ("_terms", "_ties") if k in vars(classifier))
        before = compiled()
        assert not classifier.names_russia("أعلنت الحكومة المصرية خطة جديدة للطرق")
        classifier.classify("خبر محلي", "أعلنت الحكومة المصرية خطة جديدة للطرق")
        after_local = compiled()
        verdict = classifier.classify("روسيا ومصر توقعان اتفاقية", "وقعت روسيا ومصر اتفاقية للتعاون في الطاقة النووية.")
        print(before, after_local, compiled(), verdict.is_hit)
        """,
        tmp_path,
    )
    assert out == "[] [] ['_terms', '_ties'] True"
