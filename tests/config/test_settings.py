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


@pytest.mark.parametrize("value", ["inf", "1e6", "-1", "nan"])
def test_an_unbounded_age_window_is_refused_at_startup(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("RASID_CRAWL__MAX_AGE_DAYS", value)
    with pytest.raises(ConfigError, match=r"^environment: crawl\.max_age_days: "):
        load_settings()


def test_a_hundred_years_is_the_longest_age_window(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RASID_CRAWL__MAX_AGE_DAYS", "36500")
    assert load_settings().crawl.max_age_days == 36500


@pytest.mark.parametrize(
    ("name", "value", "error"),
    [
        (
            "RASID_DIGEST__RECIPIENTS",
            '["a@b.c\\r\\nBcc: e@x.y"]',
            r"digest\.recipients: .*address 1 holds a line break",
        ),
        ("RASID_DIGEST__SENDER", "a@b.c\r\nBcc: e@x.y", r"digest\.sender: .*holds a line break"),
        (
            "RASID_DIGEST__LIST_UNSUBSCRIBE",
            "<mailto:u@x.y>\nBcc: e@x.y",
            r"digest\.list_unsubscribe: .*line break",
        ),
        ("RASID_DIGEST__SMTP_HOST", "u:PW@mail.example", r"digest\.smtp_host: .*host name or address alone"),
    ],
)
def test_a_mail_setting_that_would_inject_a_header_or_show_a_password_is_refused(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, error: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=rf"^environment: {error}") as caught:
        load_settings()
    assert "PW" not in str(caught.value) and "Bcc" not in str(caught.value)


@pytest.mark.parametrize(
    ("url", "error"),
    [
        ("redis://:PW@127.0.0.1:notaport/0", "Port could not be cast to integer"),
        ("http://127.0.0.1/0", "Redis URL must specify one of the following schemes"),
    ],
)
def test_an_unusable_redis_url_is_refused_at_startup_without_its_password(
    monkeypatch: pytest.MonkeyPatch, url: str, error: str
) -> None:
    pytest.importorskip("redis")
    monkeypatch.setenv("RASID_CRAWL__REDIS_URL", url)
    with pytest.raises(
        ConfigError, match=rf"^environment: crawl\.redis_url: .*cannot use Redis: {error}"
    ) as caught:
        load_settings()
    assert "PW" not in str(caught.value)


@pytest.mark.parametrize(
    ("url", "error"),
    [
        ("postgresql+psycopg://u:pa@SECRETX@127.0.0.1:1/x", "holds a raw '@': write it as %40"),
        ("postgresql+psycopg://u:SECRETX@127.0.0.1:notaport/x", "the port is not a number"),
    ],
)
def test_a_database_url_the_driver_would_misread_is_refused_without_echoing_it(url: str, error: str) -> None:
    with pytest.raises(ConfigError, match=rf"^command line: database_url: .*{error}") as caught:
        load_settings(database_url=url)
    assert "SECRETX" not in str(caught.value)


@pytest.mark.parametrize(
    ("name", "value"), [("RASID_DIGEST__RECIPIENTS", "notalist"), ("RASID_CRAWL", "{bad")]
)
def test_a_variable_that_is_not_json_is_named_in_the_error(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv("RASID_DIGEST__SMTP_HOST", "mail.example")  # a plain string, never read as JSON
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=rf"^environment: {name}: not valid JSON \("):
        load_settings()
