"""Politeness is Scrapy's: the settings dict switches its middlewares on with rasid's values."""

from __future__ import annotations

import pytest

from config.settings import CrawlSettings, Settings
from crawler.settings import to_scrapy


def test_user_agent_names_rasid_and_the_operators_contact() -> None:
    values = to_scrapy(Settings(crawl=CrawlSettings(contact="desk@example.net")))
    assert values["USER_AGENT"] == "rasid/0.1 (Arabic news monitor; +desk@example.net)"


def test_politeness_settings_follow_the_configuration() -> None:
    crawl = CrawlSettings(
        concurrent_requests_per_domain=2, download_delay=1.5, download_timeout=12, download_maxsize=2_000_000,
        retry_times=4, max_redirects=3,
    )  # fmt: skip
    values = to_scrapy(Settings(crawl=crawl))
    assert values["ROBOTSTXT_OBEY"] is True
    assert values["AUTOTHROTTLE_ENABLED"] is True
    assert values["CONCURRENT_REQUESTS_PER_DOMAIN"] == 2
    assert values["DOWNLOAD_DELAY"] == 1.5
    assert values["DOWNLOAD_TIMEOUT"] == 12
    assert values["DOWNLOAD_MAXSIZE"] == 2_000_000
    assert values["RETRY_TIMES"] == 4
    assert values["REDIRECT_MAX_TIMES"] == 3


def test_retries_cover_server_errors_and_rate_limits_but_no_other_4xx() -> None:
    codes = set(to_scrapy(Settings())["RETRY_HTTP_CODES"])
    assert {500, 502, 503, 504, 408, 429} <= codes
    assert not {code for code in codes if 400 <= code < 500} - {408, 429}


def test_snapshot_raises_per_domain_concurrency_but_still_obeys_robots() -> None:
    normal, snapshot = to_scrapy(Settings()), to_scrapy(Settings(), snapshot=True)
    assert snapshot["CONCURRENT_REQUESTS_PER_DOMAIN"] > normal["CONCURRENT_REQUESTS_PER_DOMAIN"]
    assert snapshot["DOWNLOAD_DELAY"] == 0
    assert snapshot["ROBOTSTXT_OBEY"] is True


def test_redis_url_switches_to_the_shared_scrapy_redis_frontier() -> None:
    assert "SCHEDULER" not in to_scrapy(Settings())
    values = to_scrapy(Settings(crawl=CrawlSettings(redis_url="redis://127.0.0.1:6379/3")))
    assert values["SCHEDULER"] == "crawler.scheduler.SharedScheduler"  # scrapy-redis's, plus heartbeats
    assert values["DUPEFILTER_CLASS"] == "scrapy_redis.dupefilter.RFPDupeFilter"
    assert values["REDIS_URL"] == "redis://127.0.0.1:6379/3"
    assert values["SCHEDULER_PERSIST"] is True  # no worker may clear the queue the others still use


def test_redis_keys_carry_the_namespace_so_two_deployments_never_meet() -> None:
    crawl = CrawlSettings(redis_url="redis://127.0.0.1:6379/3", redis_namespace="desk-b")
    values = to_scrapy(Settings(crawl=crawl))
    assert (values["SCHEDULER_QUEUE_KEY"], values["SCHEDULER_DUPEFILTER_KEY"]) == (
        "desk-b:requests",
        "desk-b:dupefilter",
    )


def test_a_source_check_never_takes_from_the_shared_queue() -> None:
    values = to_scrapy(Settings(crawl=CrawlSettings(redis_url="redis://127.0.0.1:6379/3")), shared=False)
    assert "SCHEDULER" not in values and "REDIS_URL" not in values


def test_every_setting_is_one_scrapy_knows() -> None:
    from scrapy.settings import default_settings

    ours = {
        "REDIS_URL",
        "SCHEDULER_PERSIST",
        "SCHEDULER_QUEUE_KEY",
        "SCHEDULER_DUPEFILTER_KEY",
    }  # scrapy-redis
    ours |= {
        "RASID_REDIS_NAMESPACE",
        "RASID_WORKER_HEARTBEAT",
        "RASID_WORKER_IDLE_CLOSE",
    }  # crawler.scheduler
    ours |= {"RASID_RETRY_BACKOFF", "RASID_RETRY_BACKOFF_MAX"}  # read by crawler.retry
    ours |= {"RASID_ALLOW_PRIVATE_ADDRESSES"}  # read by crawler.urlpolicy
    ours |= {"RASID_SITEMAP_INDEX_MAX_CHILDREN", "RASID_SITEMAP_MAX_DEPTH"}  # read by the spider
    ours |= {"RASID_EXTRACT_ALL"}  # read by the item pipeline
    values = to_scrapy(Settings(crawl=CrawlSettings(redis_url="redis://127.0.0.1:6379/3")))
    unknown = {key for key in values if not hasattr(default_settings, key)} - ours
    assert not unknown


def test_retries_go_through_the_backoff_middleware_instead_of_scrapys() -> None:
    middlewares = to_scrapy(Settings(crawl=CrawlSettings(retry_backoff=3.0)))["DOWNLOADER_MIDDLEWARES"]
    assert middlewares["scrapy.downloadermiddlewares.retry.RetryMiddleware"] is None
    assert middlewares["crawler.retry.BackoffRetryMiddleware"] == 550


def test_the_snapshot_keeps_retry_pauses_short() -> None:
    settings = Settings(crawl=CrawlSettings(retry_backoff=3.0))
    assert to_scrapy(settings)["RASID_RETRY_BACKOFF"] == 3.0
    assert to_scrapy(settings, snapshot=True)["RASID_RETRY_BACKOFF"] <= 0.2


@pytest.mark.parametrize("snapshot", [False, True])
def test_only_http_download_handlers_are_left_on(snapshot: bool) -> None:
    handlers = to_scrapy(Settings(), snapshot=snapshot)["DOWNLOAD_HANDLERS"]
    assert handlers == {"file": None, "data": None, "ftp": None, "s3": None}


def test_the_url_policy_runs_before_robots_txt_and_exempts_only_the_snapshot() -> None:
    from scrapy.settings import default_settings

    middlewares = to_scrapy(Settings())["DOWNLOADER_MIDDLEWARES"]
    base = default_settings.DOWNLOADER_MIDDLEWARES_BASE
    robots = base["scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware"]
    assert middlewares["crawler.urlpolicy.UrlPolicyMiddleware"] < robots
    assert to_scrapy(Settings())["RASID_ALLOW_PRIVATE_ADDRESSES"] is False
    assert to_scrapy(Settings(), snapshot=True)["RASID_ALLOW_PRIVATE_ADDRESSES"] is True


def test_the_redis_url_is_a_secret_that_only_scrapy_redis_sees_in_full() -> None:
    settings = Settings(crawl=CrawlSettings(redis_url="redis://:hunter2@127.0.0.1:6379/3"))
    assert "hunter2" not in repr(settings) and "hunter2" not in str(settings.masked())
    assert to_scrapy(settings)["REDIS_URL"] == "redis://:hunter2@127.0.0.1:6379/3"
