"""The [schedule] table: durations ("10s", "15m", "2h"), digest time, overrides, intervals per source."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from config.settings import ConfigError, Settings, format_duration, load_settings, parse_duration
from config.sources import load_sources


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("RASID_CONFIG", "RASID_SCHEDULE__CRAWL_INTERVAL", "RASID_SCHEDULE__DIGEST_TIME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "no-config-here"))


@pytest.mark.parametrize(
    ("text", "seconds"), [("10s", 10), ("15m", 900), ("2h", 7200), ("1d", 86400), ("1.5m", 90), (" 30s ", 30)]
)
def test_durations_are_read_in_seconds_minutes_hours_and_days(text: str, seconds: float) -> None:
    assert parse_duration(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["15", "15 minutes", "m", "-5m", "1w"])
def test_anything_else_is_not_a_duration(text: str) -> None:
    with pytest.raises(ValueError, match="is not a duration"):
        parse_duration(text)


def test_a_duration_is_written_back_as_it_is_spelled() -> None:
    assert [format_duration(parse_duration(t)) for t in ("10s", "15m", "2h", "90s", "1d", "1.5s")] == [
        "10s", "15m", "2h", "90s", "1d", "1.5s",
    ]  # fmt: skip


def test_the_default_schedule_crawls_every_15_minutes_and_sends_at_seven() -> None:
    schedule = load_settings().schedule
    assert schedule.crawl_interval == timedelta(minutes=15)
    assert schedule.digest_time == "07:00"
    assert load_settings().masked()["schedule"]["crawl_interval"] == "15m"


def test_the_environment_overrides_the_crawl_interval(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RASID_SCHEDULE__CRAWL_INTERVAL", "10s")
    assert load_settings().schedule.crawl_interval == timedelta(seconds=10)


def test_a_toml_schedule_table_sets_interval_and_digest_time(tmp_path: Path) -> None:
    path = tmp_path / "rasid.toml"
    path.write_text('[schedule]\ncrawl_interval = "2h"\ndigest_time = "18:30"\n')
    schedule = load_settings(path).schedule
    assert (schedule.crawl_interval, schedule.digest_time) == (timedelta(hours=2), "18:30")


@pytest.mark.parametrize(
    ("key", "value"), [("crawl_interval", "0s"), ("crawl_interval", "often"), ("digest_time", "25:00")]
)
def test_a_bad_schedule_value_is_one_error_naming_it(tmp_path: Path, key: str, value: str) -> None:
    path = tmp_path / "rasid.toml"
    path.write_text(f'[schedule]\n{key} = "{value}"\n')
    with pytest.raises(ConfigError, match=rf"^{path}:2: schedule\.{key}: "):
        load_settings(path)


def test_settings_survive_the_trip_to_a_crawl_child_with_their_secrets() -> None:
    settings = load_settings(database_url="postgresql+psycopg://rasid:s3cret@db/rasid")
    again = Settings.from_json(settings.to_json())
    assert again.database_url.get_secret_value() == "postgresql+psycopg://rasid:s3cret@db/rasid"
    assert again.schedule == settings.schedule and again.crawl == settings.crawl


def test_a_source_may_have_its_own_interval(tmp_path: Path) -> None:
    path = tmp_path / "sources.yaml"
    path.write_text(
        "sources:\n  - name: kuna\n    url: https://www.kuna.net.kw/\n    interval: 2h\n"
        "  - name: wam\n    url: https://www.wam.ae/ar\n"
    )
    assert [s.interval for s in load_sources(path)] == [timedelta(hours=2), None]


def test_a_bad_source_interval_names_file_line_and_source(tmp_path: Path) -> None:
    path = tmp_path / "sources.yaml"
    path.write_text("sources:\n  - name: kuna\n    url: https://www.kuna.net.kw/\n    interval: soon\n")
    with pytest.raises(ConfigError, match=rf"^{path}:2: source 'kuna': interval: .*'soon' is not a duration"):
        load_sources(path)


@pytest.mark.parametrize("value", ["100000000000d", "99999999d", "99999999999999999999h", "367d"])
def test_a_duration_longer_than_a_year_and_a_day_is_refused_not_an_overflow(value: str) -> None:
    with pytest.raises(ValueError, match="a duration is at most 366d"):
        parse_duration(value)


@pytest.mark.parametrize("value", [float("inf"), float("nan"), 10**400, -1e200, -(10**400)])
def test_an_infinite_or_huge_number_of_seconds_is_not_a_duration(value: float) -> None:
    with pytest.raises(ValueError, match="a duration is at most 366d"):
        parse_duration(value)


def test_a_year_and_a_day_is_still_a_duration() -> None:
    assert parse_duration("366d") == timedelta(days=366)


@pytest.mark.parametrize("key", ["crawl_interval", "backoff_max"])
def test_a_huge_interval_in_the_environment_is_one_error_naming_it(
    monkeypatch: pytest.MonkeyPatch, key: str
) -> None:
    monkeypatch.setenv(f"RASID_SCHEDULE__{key.upper()}", "100000000000d")
    with pytest.raises(ConfigError, match=rf"^environment: schedule\.{key}: .*at most 366d"):
        load_settings()


@pytest.mark.parametrize(("table", "key"), [("schedule", "crawl_interval"), ("", "near_duplicate_window")])
def test_a_huge_duration_in_the_toml_file_names_file_and_line(tmp_path: Path, table: str, key: str) -> None:
    path = tmp_path / "rasid.toml"
    path.write_text((f"[{table}]\n" if table else "\n") + f'{key} = "99999999d"\n')
    dotted = f"{table}.{key}" if table else key
    with pytest.raises(ConfigError, match=rf"^{path}:2: {dotted}: .*at most 366d"):
        load_settings(path)
