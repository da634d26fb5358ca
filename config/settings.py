"""The one configuration object: defaults in code, then a TOML file, then ``RASID_*`` variables.

Built once by the CLI (or the daemon) and handed down; nothing deeper reads the environment.
Secrets (database URL, SMTP password) are ``SecretStr`` so they never print in full.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

PACKAGE_DIR = Path(__file__).resolve().parent


def _find_shared_data() -> Path:
    """The real news corpora beside the checkout (``../shared/data``), or beside one of its parents.

    Never copied into the repository; a clone made elsewhere sets ``RASID_SHARED_DATA``.
    """
    checkout = PACKAGE_DIR.parent
    for folder in checkout.parents:
        candidate = folder / "shared" / "data"
        if (candidate / "articles.jsonl").is_file():
            return candidate
    return checkout.parent / "shared" / "data"


DEFAULT_SHARED_DATA = _find_shared_data()
DEFAULT_CONFIG_FILE = Path(os.environ.get("XDG_CONFIG_HOME", Path.home() / ".config")) / "rasid" / "rasid.toml"
DEFAULT_DATA_DIR = Path(os.environ.get("XDG_DATA_HOME", Path.home() / ".local" / "share")) / "rasid"


class CrawlSettings(BaseModel):
    """How politely and how far the crawler goes; each maps onto a Scrapy setting."""

    model_config = ConfigDict(extra="forbid")  # a misspelt key in [crawl] is an error, not ignored

    contact: str = Field("rasid-operator@example.org", description="e-mail or URL put in the User-Agent")
    user_agent: str = Field(
        "rasid/0.1 (Arabic news monitor; +{contact})", description="'{contact}' is filled in from contact"
    )
    max_age_days: float | None = Field(3.0, description="skip articles older than this; None = no window")
    concurrent_requests: int = Field(32, ge=1, description="across all sites")
    concurrent_requests_per_domain: int = Field(4, ge=1, description="never more at once on one outlet")
    download_delay: float = Field(0.5, ge=0, description="seconds between requests to one outlet")
    download_timeout: float = Field(30.0, gt=0, description="seconds before a request is given up")
    download_maxsize: int = Field(10 * 1024 * 1024, ge=1024, description="bytes; larger pages are dropped")
    retry_times: int = Field(2, ge=0, description="retries of 5xx and timeouts (never of 4xx)")
    retry_backoff: float = Field(2.0, ge=0, description="seconds before the first retry, doubled for each next")
    retry_backoff_max: float = Field(60.0, ge=0, description="longest pause before a retry, Retry-After included")
    obey_robots: bool = Field(True, description="honour robots.txt")
    autothrottle: bool = Field(True, description="Scrapy AutoThrottle adapts the delay to the server")
    autothrottle_target_concurrency: float = Field(2.0, gt=0)
    max_redirects: int = Field(5, ge=0)
    redis_url: str | None = Field(None, description="scrapy-redis shared frontier for crawling from many machines")

    def resolved_user_agent(self) -> str:
        return self.user_agent.replace("{contact}", self.contact)


class DigestSettings(BaseModel):
    """Where and when the daily digest goes."""

    model_config = ConfigDict(extra="forbid")

    smtp_host: str = "127.0.0.1"
    smtp_port: int = 25
    smtp_user: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = False
    sender: str = "rasid@localhost"
    recipients: tuple[str, ...] = ()
    send_at: str = Field("07:00", pattern=r"^\d{2}:\d{2}$", description="local time of the daily send")


class Settings(BaseSettings):
    """Every setting of rasid, with its default."""

    model_config = SettingsConfigDict(
        env_prefix="RASID_", env_nested_delimiter="__", extra="forbid", validate_default=True
    )

    database_url: SecretStr = Field(
        SecretStr(f"sqlite:///{DEFAULT_DATA_DIR / 'rasid.db'}"),
        description="SQLAlchemy URL; SQLite file by default, postgresql+psycopg://... on a server",
    )
    snapshot_database_url: SecretStr = Field(
        SecretStr(f"sqlite:///{DEFAULT_DATA_DIR / 'snapshot.db'}"),
        description="where `--snapshot` crawls and reads go unless --db says otherwise, apart from real runs",
    )
    database_busy_timeout: float = Field(
        30.0, gt=0, description="seconds to wait for another process's lock (SQLite) or a connection (PostgreSQL)"
    )
    sources_file: Path = Field(PACKAGE_DIR / "sources.yaml", description="the outlets to crawl")
    keywords_file: Path = Field(PACKAGE_DIR / "keywords.yaml", description="the classifier's term groups")
    shared_data: Path = Field(DEFAULT_SHARED_DATA, description="real news corpora the offline snapshot serves")
    timezone: str = Field("UTC", description="time zone of schedules and of dates shown to the analyst")
    crawl: CrawlSettings = CrawlSettings()
    digest: DigestSettings = DigestSettings()

    # Set by load_settings() before construction; pydantic-settings reads it in settings_customise_sources.
    _toml_file: ClassVar[Path | None] = None

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if cls._toml_file is not None:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=cls._toml_file))
        return tuple(sources)

    def masked(self) -> dict[str, Any]:
        """Effective values for display, secrets masked (pydantic prints SecretStr as '**********')."""
        data = self.model_dump(mode="json")
        data["database_url"] = mask_url(self.database_url.get_secret_value())
        data["snapshot_database_url"] = mask_url(self.snapshot_database_url.get_secret_value())
        return data


class ConfigError(Exception):
    """A configuration file or value that rasid cannot use; the message names file and reason."""


def mask_url(url: str) -> str:
    """Hide the password of a database URL so it can be logged."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - an unparsable URL is shown as its scheme only
        return url.split(":", 1)[0] + ":***"


def load_settings(config_file: Path | None = None, **overrides: Any) -> Settings:
    """Build the settings from a TOML file (explicit, ``RASID_CONFIG`` or the XDG default) and the environment."""
    from pydantic import ValidationError

    path = config_file or (Path(os.environ["RASID_CONFIG"]) if os.environ.get("RASID_CONFIG") else None)
    if path is None and DEFAULT_CONFIG_FILE.is_file():
        path = DEFAULT_CONFIG_FILE
    if path is not None and not path.is_file():
        raise ConfigError(f"{path}: config file not found")

    class _FileSettings(Settings):
        _toml_file: ClassVar[Path | None] = path

    try:
        built = _FileSettings(**overrides)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        if first["type"] == "extra_forbidden":
            raise ConfigError(f"{path or 'environment'}: unknown key {where}") from None
        raise ConfigError(f"{path or 'environment'}: {where}: {first['msg']}") from None
    except ValueError as exc:  # tomllib.TOMLDecodeError is a ValueError
        raise ConfigError(f"{path}: {exc}") from None
    return Settings.model_validate(built.model_dump())
