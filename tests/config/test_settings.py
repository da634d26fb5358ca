"""Settings: defaults, then a TOML file, then RASID_* variables; bad files are one clear error."""

from __future__ import annotations

from pathlib import Path

import pytest

from config.settings import ConfigError, load_settings, mask_url


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in (
        "RASID_CONFIG",
        "RASID_DATABASE_URL",
        "RASID_CRAWL__MAX_AGE_DAYS",
        "RASID_TIMEZONE",
        "RASID_CLASSIFIER_MODEL",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "no-config-here"))


def test_defaults_use_an_sqlite_file_and_a_three_day_window() -> None:
    settings = load_settings()
    assert settings.database_url.get_secret_value().startswith("sqlite:///")
    assert settings.crawl.max_age_days == 3.0
    assert settings.crawl.obey_robots is True


def test_toml_file_overrides_defaults(tmp_path: Path) -> None:
    path = tmp_path / "rasid.toml"
    path.write_text('timezone = "Asia/Riyadh"\n[crawl]\nmax_age_days = 7\ncontact = "desk@example.net"\n')
    settings = load_settings(path)
    assert settings.timezone == "Asia/Riyadh"
    assert settings.crawl.max_age_days == 7
    assert "desk@example.net" in settings.crawl.resolved_user_agent()


def test_environment_overrides_the_toml_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "rasid.toml"
    path.write_text("[crawl]\nmax_age_days = 7\n")
    monkeypatch.setenv("RASID_CRAWL__MAX_AGE_DAYS", "1.5")
    assert load_settings(path).crawl.max_age_days == 1.5


def test_broken_toml_is_one_line_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "rasid.toml"
    path.write_text("[crawl\nmax_age_days = 7\n")
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    message = str(caught.value)
    assert message.startswith(str(path))
    assert "\n" not in message


def test_wrong_value_names_the_setting(tmp_path: Path) -> None:
    path = tmp_path / "rasid.toml"
    path.write_text('[crawl]\nconcurrent_requests_per_domain = "many"\n')
    with pytest.raises(ConfigError, match=r"crawl\.concurrent_requests_per_domain"):
        load_settings(path)


def test_an_empty_model_setting_means_the_rules_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert load_settings().classifier_model is not None  # the shipped model by default
    path = tmp_path / "rasid.toml"
    path.write_text('classifier_model = ""\n')
    assert load_settings(path).classifier_model is None
    monkeypatch.setenv("RASID_CLASSIFIER_MODEL", "")
    assert load_settings().classifier_model is None
    monkeypatch.setenv("RASID_CLASSIFIER_MODEL", str(tmp_path / "new.json"))
    assert load_settings().classifier_model == tmp_path / "new.json"


def test_unknown_time_zone_is_rejected(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RASID_TIMEZONE", "Mars/Olympus")
    with pytest.raises(ConfigError, match="unknown time zone 'Mars/Olympus'"):
        load_settings()


def test_missing_config_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        load_settings(tmp_path / "absent.toml")


def test_database_password_never_shows_in_the_masked_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RASID_DATABASE_URL", "postgresql+psycopg://rasid:s3cr3t@db.internal/rasid")
    shown = load_settings().masked()
    assert "s3cr3t" not in str(shown)
    assert shown["database_url"] == "postgresql+psycopg://rasid:***@db.internal/rasid"


def test_smtp_password_is_masked_in_the_dump(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RASID_DIGEST__SMTP_PASSWORD", "hunter2")
    settings = load_settings()
    assert settings.digest.smtp_password is not None
    assert settings.digest.smtp_password.get_secret_value() == "hunter2"
    assert "hunter2" not in str(settings.masked())


def test_mask_url_leaves_a_passwordless_sqlite_url_alone() -> None:
    assert mask_url("sqlite:////var/lib/rasid/rasid.db") == "sqlite:////var/lib/rasid/rasid.db"
