"""``rasid sources check`` and ``rasid sources list``: what each entry point answers, and offline hosts."""

from __future__ import annotations

import re

from tests.crawler.conftest import rasid


def _row(stdout: str, source: str) -> str:
    rows = [line for line in stdout.splitlines() if line.startswith(f"│ {source} ")]
    assert len(rows) == 1, (source, stdout)
    return rows[0]


def test_check_counts_each_entry_points_links_and_newest_date(site) -> None:
    _, sources_file, _ = site
    result = rasid("sources", "check", "--sources", str(sources_file))
    assert result.returncode == 0, result.stderr[-2000:]
    rss = _row(result.stdout, "rss-outlet")
    assert "yes" in rss
    assert re.search(r"│\s+8\s+│", rss)  # eight items listed (the old one too: a check has no age window)
    assert re.search(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}", rss)
    assert re.search(r"│\s+3\s+│", _row(result.stdout, "section-outlet"))  # 2 articles + the robots-denied one
    assert "with errors: malformed feed" in _row(result.stdout, "broken-feed")


def test_check_says_a_refusing_host_is_unreachable_and_goes_on(site) -> None:
    _, sources_file, _ = site
    result = rasid("sources", "check", "--sources", str(sources_file))
    assert "unreachable: refused" in _row(result.stdout, "refusing")
    assert "yes" in _row(result.stdout, "atom-outlet")


def test_check_of_a_host_that_does_not_resolve_says_unreachable(tmp_path) -> None:
    # ".invalid" never resolves (RFC 2606), so this is "offline" on any machine and never reaches the internet.
    sources = tmp_path / "sources.yaml"
    sources.write_text(
        "sources:\n  - name: gone\n    url: https://rasid-test.invalid/\n"
        "    feeds: [https://rasid-test.invalid/rss]\n",
        encoding="utf-8",
    )
    result = rasid("sources", "check", "--sources", str(sources))
    assert result.returncode == 0, result.stderr[-2000:]
    assert "unreachable: dns: host not found" in _row(result.stdout, "gone")
    assert "every host is unreachable: is this machine offline?" in result.stdout
    assert "Traceback" not in result.stderr


def test_list_shows_every_default_source_with_its_entry_point_counts() -> None:
    result = rasid("sources", "list")
    assert result.returncode == 0
    assert re.search(r"│ rt-arabic\s+│ RU\s+│ https://arabic\.rt\.com/\s+│\s+1 │\s+0 │\s+3 │", result.stdout)
    assert "36 sources" in result.stdout
