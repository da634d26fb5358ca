"""The one configuration object: defaults in code, then a TOML file, then ``RASID_*`` variables.

Built once by the CLI (or the daemon) and handed down; nothing deeper reads the environment.
Secrets (database and Redis URLs, SMTP password) are ``SecretStr`` so they never print in full, and
``mask_secrets`` hides any password that a URL or a message still carries.
"""

from __future__ import annotations

import json
import os
import re
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    SecretStr,
    field_validator,
)
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
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
DEFAULT_CONFIG_FILE = (
    Path(os.environ.get("XDG_CONFIG_HOME", Path.home() / ".config")) / "rasid" / "rasid.toml"
)
DEFAULT_DATA_DIR = Path(os.environ.get("XDG_DATA_HOME", Path.home() / ".local" / "share")) / "rasid"


#: Longest ``max_age_days`` and ``--since``: older than any news site, and far from the date arithmetic's
#: year-1 limit.
MAX_AGE_DAYS = 36_500
#: Longest duration setting (intervals, windows, backoff): a year and a day. The daemon hands
#: intervals to APScheduler, whose date arithmetic overflows far beyond; nothing rasid schedules is longer.
MAX_DURATION = timedelta(days=366)


class CrawlSettings(BaseModel):
    """How politely and how far the crawler goes; each maps onto a Scrapy setting."""

    model_config = ConfigDict(extra="forbid")  # a misspelt key in [crawl] is an error, not ignored

    contact: str = Field("rasid-operator@example.org", description="e-mail or URL put in the User-Agent")
    user_agent: str = Field(
        "rasid/0.1 (Arabic news monitor; +{contact})", description="'{contact}' is filled in from contact"
    )
    max_age_days: float | None = Field(
        3.0,
        ge=0,
        le=MAX_AGE_DAYS,
        description=f"skip articles older than this; None = no window; at most {MAX_AGE_DAYS} (100 years)",
    )
    concurrent_requests: int = Field(32, ge=1, description="across all sites")
    concurrent_requests_per_domain: int = Field(4, ge=1, description="never more at once on one outlet")
    download_delay: float = Field(0.5, ge=0, description="seconds between requests to one outlet")
    download_timeout: float = Field(30.0, gt=0, description="seconds before a request is given up")
    download_maxsize: int = Field(10 * 1024 * 1024, ge=1024, description="bytes; larger pages are dropped")
    retry_times: int = Field(2, ge=0, description="retries of 5xx and timeouts (never of 4xx)")
    retry_backoff: float = Field(
        2.0, ge=0, description="seconds before the first retry, doubled for each next"
    )
    retry_backoff_max: float = Field(
        60.0, ge=0, description="longest pause before a retry, Retry-After included"
    )
    obey_robots: bool = Field(True, description="honour robots.txt")
    autothrottle: bool = Field(True, description="Scrapy AutoThrottle adapts the delay to the server")
    autothrottle_target_concurrency: float = Field(2.0, gt=0)
    max_redirects: int = Field(5, ge=0)
    redis_url: SecretStr | None = Field(
        None,
        description="scrapy-redis shared frontier for crawling from many machines; a secret (it may hold a"
        " password)",
    )
    redis_namespace: str = Field(
        "rasid",
        pattern=r"^[A-Za-z0-9_.-]{1,64}$",
        description="prefix of every Redis key of the shared frontier: two deployments on one Redis differ here",
    )
    worker_heartbeat: float = Field(
        10.0, gt=0, description="seconds between a shared-frontier worker's heartbeats; 3 missed = dead"
    )
    worker_idle_close: float = Field(
        15.0,
        ge=0,
        description="seconds a worker waits on an empty shared queue, no worker busy, before it stops",
    )
    allow_private_addresses: bool = Field(
        False,
        description="fetch loopback, private and link-local addresses; only for servers of our own on"
        " 127.0.0.1 (the offline snapshot turns it on itself, the tests set it)",
    )
    sitemap_index_max_children: int = Field(
        100, ge=1, description="sitemaps followed per sitemap index, newest first; the rest are skipped"
    )
    sitemap_max_depth: int = Field(
        3, ge=1, description="sitemap hops from an entry point (robots.txt -> index -> index -> urlset is 3)"
    )
    extract_workers: int | None = Field(
        None,
        ge=0,
        le=32,
        description="processes extracting pages beside the crawl; None: one per core but one (at most 4),"
        " 0: extract in the crawl process (less memory, one core)",
    )
    max_pages_per_source: int = Field(
        500,
        ge=1,
        description="article pages fetched per source and run, newest listed first; the rest wait for the"
        " next run (a source's own `max_pages` in sources.yaml wins)",
    )
    extract_all: bool = Field(
        False,
        description="extract every page; off, a page naming no Russia term anywhere is recorded as seen"
        " (no-russia-term) without extraction, and `rasid reclassify` never sees it",
    )

    def resolved_user_agent(self) -> str:
        return self.user_agent.replace("{contact}", self.contact)

    @field_validator("redis_url")
    @classmethod
    def _usable_redis_url(cls, value: SecretStr | None) -> SecretStr | None:
        """The check ``rasid crawl`` makes before it pings (redis-py's own parser), made at startup instead."""
        if value is None:
            return None
        try:
            from redis.connection import parse_url
        except ImportError:  # the redis extra is not installed: the crawl says so when it needs it
            return value
        try:
            parse_url(value.get_secret_value())
        except ValueError as exc:
            raise ValueError(f"cannot use Redis: {mask_secrets(str(exc))}") from None
        return value


_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d)\s*$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(value: object) -> timedelta:
    """``"10s"``, ``"15m"``, ``"2h"``, ``"1d"`` (or seconds as a number) as a timedelta; else ValueError.

    Never longer than ``MAX_DURATION``: a huge number would overflow timedelta or a date built from it.
    """
    if isinstance(value, timedelta):
        seconds = value.total_seconds()
    elif isinstance(value, int | float) and not isinstance(value, bool):
        seconds = float(value) if abs(value) < 1e300 else float("inf")  # a huge int overflows float()
    else:
        match = _DURATION.match(str(value))
        if not match:
            raise ValueError(f"{value!r} is not a duration like '10s', '15m', '2h' or '1d'")
        seconds = float(match[1]) * _UNIT_SECONDS[match[2]]
    if not abs(seconds) <= MAX_DURATION.total_seconds():  # NaN fails this too
        raise ValueError(f"{value!r}: a duration is at most {format_duration(MAX_DURATION)}")
    return value if isinstance(value, timedelta) else timedelta(seconds=seconds)


def format_duration(value: timedelta) -> str:
    """The shortest exact spelling of a duration (``timedelta(minutes=15)`` -> ``"15m"``): it round-trips."""
    seconds = value.total_seconds()
    for unit in ("d", "h", "m"):
        if seconds and seconds % _UNIT_SECONDS[unit] == 0:
            return f"{int(seconds // _UNIT_SECONDS[unit])}{unit}"
    return f"{seconds:g}s"


def _positive_duration(value: object) -> timedelta:
    duration = parse_duration(value)
    if duration.total_seconds() <= 0:
        raise ValueError(f"{value!r}: a duration must be longer than zero")
    return duration


#: A duration setting: written "15m" in TOML and environment variables, a timedelta in code.
Duration = Annotated[
    timedelta, BeforeValidator(_positive_duration), PlainSerializer(format_duration, return_type=str)
]


class ScheduleSettings(BaseModel):
    """When the daemon crawls and sends the digest, and how it treats late, long and failing runs."""

    model_config = ConfigDict(extra="forbid")

    crawl_interval: Duration = Field(timedelta(minutes=15), description="time between two crawls of a source")
    digest_time: str = Field(
        "07:00",
        pattern=r"^([01]\d|2[0-3]):[0-5]\d(:[0-5]\d)?$",
        description="HH:MM[:SS] of the daily digest, in `timezone`",
    )
    misfire_grace: Duration = Field(
        timedelta(hours=1), description="a run missed by less than this (daemon down, asleep) runs, once"
    )
    shutdown_grace: Duration = Field(
        timedelta(seconds=30), description="on SIGTERM, how long a running crawl may go on before it is ended"
    )
    backoff_max: Duration = Field(
        timedelta(hours=6), description="longest pause of a source failing run after run (doubling)"
    )
    heartbeat: Duration = Field(
        timedelta(seconds=10), description="how often the daemon writes it is alive, for `rasid status`"
    )
    seed_only: bool = Field(
        False,
        description="with crawl.redis_url: a scheduled crawl only seeds the shared queue, and `rasid crawl"
        " --worker` processes crawl it",
    )
    log_level: str = Field(
        "INFO", pattern=r"^(DEBUG|INFO|WARNING|ERROR)$", description="the daemon's log level on stderr"
    )


#: CR, LF and the other C0/C1 control characters, which no mail header or host name holds.
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f-\x9f]")


class DigestSettings(BaseModel):
    """Where, how and when the daily digest e-mail goes; the SMTP password never prints."""

    model_config = ConfigDict(extra="forbid")

    smtp_host: str = Field("127.0.0.1", description="SMTP server (the relay or submission host)")
    smtp_port: int = Field(25, ge=0, le=65535, description="25 or 587 for starttls, 465 for tls")
    smtp_security: Literal["starttls", "tls", "none"] = Field(
        "none", description="starttls upgrades a plain connection, tls is implicit TLS (port 465)"
    )
    smtp_user: str | None = Field(None, description="log in as this user; None = no authentication")
    smtp_password: SecretStr | None = Field(
        None, description="from RASID_DIGEST__SMTP_PASSWORD, never a file in the repo"
    )
    smtp_password_file: Path | None = Field(
        None, description="a file holding the password (first line), e.g. a secret mount"
    )
    smtp_timeout: float = Field(30.0, gt=0, description="seconds for connecting and for each SMTP reply")
    smtp_ca_file: Path | None = Field(
        None, description="PEM file of the CA certificates to trust for the server, instead of the system's"
    )
    smtp_verify_tls: bool = Field(
        True, description="check the server's certificate (off only for a self-signed test server)"
    )
    sender: str = Field("rasid@localhost", description="From: address, also the domain of the Message-ID")
    recipients: tuple[str, ...] = Field(
        (), description="To: addresses; sending with none is a configuration error"
    )
    list_unsubscribe: str | None = Field(
        None, description="List-Unsubscribe value (<mailto:...> or <https://...>); None = no header"
    )
    send_empty: bool = Field(False, description="on a day with no new hit, send a short 'nothing new' mail")
    max_stories: int = Field(40, ge=1, description="stories shown in full; the rest are listed as headlines")
    retry_times: int = Field(
        2, ge=0, description="retries of a failed send within one run (4xx, refused, timeout)"
    )
    retry_backoff: float = Field(
        10.0, ge=0, description="seconds before the first retry, doubled for each next"
    )
    sending_lease: float = Field(
        300.0, ge=0, description="seconds a send in progress is left to its process before another resends it"
    )
    preview_dir: Path = Field(DEFAULT_DATA_DIR / "digest", description="where `rasid digest preview` writes")

    @field_validator("sender", "list_unsubscribe")
    @classmethod
    def _one_header_line(cls, value: str | None) -> str | None:
        """A line break in a header value would start a new header (``Bcc:``): refused before any mail."""
        if value is not None and _CONTROL_RE.search(value):
            raise ValueError("holds a line break or control character; a mail header is one line")
        return value

    @field_validator("recipients")
    @classmethod
    def _one_line_each(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for number, address in enumerate(value, start=1):
            if _CONTROL_RE.search(address):
                raise ValueError(
                    f"address {number} holds a line break or control character; a mail header is one line"
                )
        return value

    @field_validator("smtp_host")
    @classmethod
    def _bare_host(cls, value: str) -> str:
        """A host alone: a ``user:password@`` or URL here would print wherever the host does."""
        if not value or any(char in value for char in "@/") or _CONTROL_RE.search(value) or " " in value:
            raise ValueError(
                "is a host name or address alone; the user goes in smtp_user, the password in smtp_password"
            )
        return value

    def password(self) -> str | None:
        """The SMTP password: the variable, else the first line of the file; ConfigError if unreadable."""
        if self.smtp_password is not None:
            return self.smtp_password.get_secret_value()
        if self.smtp_password_file is None:
            return None
        try:
            lines = self.smtp_password_file.read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise ConfigError(
                f"{self.smtp_password_file}: cannot read the SMTP password: {exc.strerror or exc}"
            ) from None
        return lines[0] if lines else ""


class WebSettings(BaseModel):
    """The analyst's web view (`rasid web`): where it listens, who may use it, whether it takes judgements."""

    model_config = ConfigDict(extra="forbid")

    host: str = Field("127.0.0.1", description="address to bind; beyond loopback it needs the secrets below")
    port: int = Field(8390, ge=0, le=65535, description="TCP port; 0 picks a free one")
    secret_key: SecretStr | None = Field(
        None, description="signs session cookies (login, CSRF token); RASID_WEB__SECRET_KEY or config file"
    )
    password_hash: SecretStr | None = Field(
        None, description="login password as `rasid web --hash-password` prints it (pbkdf2_sha256$...)"
    )
    token: SecretStr | None = Field(None, description="a login token, instead of or beside the password")
    read_only: bool = Field(False, description="hide and refuse every form: browse only, no judgements")
    page_size: int = Field(30, ge=1, le=500, description="stories per page")

    def login_required(self) -> bool:
        """A password or token is configured, so every page asks who is there."""
        return self.password_hash is not None or self.token is not None


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
        30.0,
        gt=0,
        description="seconds to wait for another process's lock (SQLite) or a connection (PostgreSQL)",
    )
    near_duplicate_window: Duration = Field(
        timedelta(days=30),
        description="a new article is compared with the articles fetched within this time to join their story;"
        " older ones are not held in memory, so a crawl's memory follows this window, not the database",
    )
    sources_file: Path = Field(PACKAGE_DIR / "sources.yaml", description="the outlets to crawl")
    keywords_file: Path = Field(PACKAGE_DIR / "keywords.yaml", description="the classifier's term groups")
    classifier_model: Path | None = Field(
        PACKAGE_DIR.parent / "classifiers" / "model" / "decision.json",
        description="the trained decision model `rasid train` writes; empty: the hand-written rules alone",
    )
    pool_labels: Path | None = Field(
        PACKAGE_DIR.parent / "classifiers" / "labels" / "pool-candidates.jsonl",
        description="labels by id of the shared pool's articles that `rasid train` and the training folds of"
        " `rasid eval --cv` add to the labelled files; empty: the labelled files alone",
    )
    shared_data: Path = Field(
        DEFAULT_SHARED_DATA, description="real news corpora the offline snapshot serves"
    )
    timezone: str = Field("UTC", description="time zone of schedules and of dates shown to the analyst")
    crawl: CrawlSettings = CrawlSettings()
    digest: DigestSettings = DigestSettings()
    schedule: ScheduleSettings = ScheduleSettings.model_validate({})
    web: WebSettings = WebSettings()

    # Set by load_settings() before construction; pydantic-settings reads it in settings_customise_sources.
    _toml_file: ClassVar[Path | None] = None

    @field_validator("classifier_model", "pool_labels", mode="before")
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        """``RASID_CLASSIFIER_MODEL=`` or ``classifier_model = ""`` turns the model off (a path would be "."),
        and the same for ``pool_labels``."""
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("database_url", "snapshot_database_url")
    @classmethod
    def _parsable_database_url(cls, value: SecretStr) -> SecretStr:
        """Refuse, without echoing it, a URL the driver would misread: a raw ``@`` in the password (SQLAlchemy
        would take its tail for the host and print it in errors) or a port that is not a number."""
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError

        url = value.get_secret_value()
        try:
            host = make_url(url).host or ""
        except ArgumentError:  # no or unknown scheme: storage.db.check_url says which, in its words
            return value
        except ValueError:
            raise ValueError(
                "the port is not a number (the URL is not shown: it may hold a password)"
            ) from None
        authority = re.split(r"[?#]", url.partition("://")[2], maxsplit=1)[0]
        if "@" in host or (not authority.startswith("/") and authority.count("@") > 1):
            raise ValueError(
                "the user name or password holds a raw '@': write it as %40 (the URL is not shown: it holds a"
                " password)"
            )
        return value

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
        redis_url = self.crawl.redis_url
        data["crawl"]["redis_url"] = mask_url(redis_url.get_secret_value()) if redis_url else None
        data["snapshot_database_url"] = mask_url(self.snapshot_database_url.get_secret_value())
        return data

    def to_json(self) -> str:
        """Every value, secrets included, for a crawl child's stdin (not argv, not a log); see ``from_json``."""
        data = self.model_dump(mode="json")
        data["database_url"] = self.database_url.get_secret_value()
        password = self.digest.smtp_password
        data["digest"]["smtp_password"] = password.get_secret_value() if password is not None else None
        data["snapshot_database_url"] = self.snapshot_database_url.get_secret_value()
        redis_url = self.crawl.redis_url
        data["crawl"]["redis_url"] = redis_url.get_secret_value() if redis_url is not None else None
        for name in ("secret_key", "password_hash", "token"):
            secret = getattr(self.web, name)
            data["web"][name] = secret.get_secret_value() if secret is not None else None
        return json.dumps(data, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> Settings:
        """The settings ``to_json`` wrote, as they were (the child's environment does not change them)."""
        return cls.model_validate_json(text)


class ConfigError(Exception):
    """A configuration file or value that rasid cannot use; the message names file and reason."""


#: ``scheme://USERINFO@host``: up to the LAST ``@`` of the run, because a raw ``@`` in a password
#: (``u:pa@ss@host``) is where parsers disagree (SQLAlchemy takes ``pa`` and shows ``ss@host`` as the host).
#: A run starting with ``/`` has no authority (``sqlite:////srv/a@b.db`` is a path, left alone).
_USERINFO_RE = re.compile(r"(?P<head>\b[A-Za-z][A-Za-z0-9+.-]*://)(?P<userinfo>(?!/)\S*)@")
#: ``password=...`` (and its kin) in a query string or a libpq key=value string.
_SECRET_PARAM_RE = re.compile(
    # The value: not "***" (masked already), and without trailing punctuation of the sentence around it.
    r"(?P<head>\b(?:password|passwd|pwd|pass|secret|token|api_?key|access_?key)=)"
    r"(?P<secret>(?!\*\*\*)[^&;\s'\"]*[^&;\s'\":,.])",
    re.IGNORECASE,
)
_SCHEME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://\S*$")
_NO_AUTHORITY_RE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:///")
MASK = "***"


def _masked_userinfo(match: re.Match[str]) -> str:
    """``user:***@`` when the user name is plain, else ``***@``; a bare user name (no password) is kept."""
    user, colon, _ = match["userinfo"].partition(":")
    if "@" in user or (not colon and "@" in match["userinfo"]):
        return f"{match['head']}{MASK}@"
    return f"{match['head']}{user}{colon and ':' + MASK}@"


def mask_secrets(text: str) -> str:
    """``text`` with every URL password and ``password=`` value replaced by ``***``, for output and logs.

    The one masking of rasid: ``mask_url``, storage errors and the log filter all come here.
    """
    text = _USERINFO_RE.sub(_masked_userinfo, text)
    return _SECRET_PARAM_RE.sub(lambda m: m["head"] + MASK, text)


def mask_url(url: str) -> str:
    """A database or Redis URL with its password hidden (userinfo or a ``?password=`` parameter).

    Masked as written, never parsed first: a URL a parser misreads must not show its secret misread.
    Something that is not a URL at all is shown as ``***``.
    """
    if _NO_AUTHORITY_RE.match(url):  # ``sqlite:////srv/x y.db``: a path, with no user or password in it
        return mask_secrets(url)
    return mask_secrets(url) if _SCHEME_RE.match(url) else MASK


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
        line = _toml_line(path, first["loc"]) if path is not None else None
        origin = f"{path}:{line}" if line else f"{path or 'environment'}"
        if first["loc"] and first["loc"][0] in overrides:  # --db and other command options
            origin = "command line"
        if first["type"] == "extra_forbidden":
            raise ConfigError(f"{origin}: unknown key {where}") from None
        raise ConfigError(f"{origin}: {where}: {first['msg']}") from None
    except SettingsError as exc:  # a RASID_* variable that should hold JSON does not
        raise ConfigError(f"environment: {_unparsable_variable(exc)}") from None
    except ValueError as exc:  # tomllib.TOMLDecodeError is a ValueError
        raise ConfigError(f"{path}: {exc}") from None
    return Settings.model_validate(built.model_dump())


#: pydantic-settings' words for a variable it could not decode: it names the field, not the variable.
_SOURCE_ERROR_RE = re.compile(r'field "(?P<field>\w+)" from source "EnvSettingsSource"')


def _unparsable_variable(exc: ValueError) -> str:
    """Name the ``RASID_*`` variable that is not the JSON its setting needs (a table or a list)."""
    found = _SOURCE_ERROR_RE.search(str(exc))
    if found is None:
        return str(exc)
    field = found["field"]
    prefix = f"RASID_{field}".upper()
    for name in sorted(os.environ):
        key = name.upper().removeprefix(prefix)
        if key and not key.startswith("__"):
            continue
        try:
            json.loads(os.environ[name])
        except ValueError:
            if not key or _holds_json(field, key[2:].lower()):
                return (
                    f'{name}: not valid JSON (a list or table is JSON here: \'["a", "b"]\', \'{{"key": 1}}\')'
                )
    return f"RASID_{field.upper()}: cannot be read as JSON"


def _holds_json(field: str, key: str) -> bool:
    """Whether ``RASID_FIELD__KEY`` is read as JSON by pydantic-settings: a list, tuple or table value."""
    from typing import get_origin

    model = Settings.model_fields[field].annotation
    sub = getattr(model, "model_fields", {}).get(key)
    return sub is not None and get_origin(sub.annotation) in (tuple, list, dict)


_TOML_TABLE_RE = re.compile(r"^\s*\[\s*([A-Za-z0-9_.\s\"']+?)\s*\]\s*(?:#.*)?$")
_TOML_KEY_RE = re.compile(r"^\s*([A-Za-z0-9_\"'-]+)\s*=")


def _toml_line(path: Path, loc: tuple[int | str, ...]) -> int | None:
    """The line of ``loc`` (``("crawl", "download_timeout")``) in a TOML file, so an error can name it.

    Plain tables and keys only (what rasid's config uses); None when the value came from elsewhere.
    """
    *table, key = (str(part) for part in loc)
    current: list[str] = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return None
    for number, text in enumerate(lines, start=1):
        header = _TOML_TABLE_RE.match(text)
        if header:
            current = [part.strip().strip("\"'") for part in header.group(1).split(".")]
            continue
        found = _TOML_KEY_RE.match(text)
        if found and current == table and found.group(1).strip("\"'") == key:
            return number
    return None
