"""Scrapy settings built from rasid's ``CrawlSettings``: politeness lives in Scrapy's own middlewares.

Robots.txt, AutoThrottle, per-domain concurrency and delay, timeouts, size caps, retries and redirects
are all Scrapy components switched on and tuned here; rasid adds only what Scrapy lacks (backoff before a
retry, loud redirect loops, a line for an unreadable robots.txt, and the URL policy that keeps the crawl on
http(s) and the sources' own hosts).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from crawler.robots import RECHECK_ORDER as ROBOTS_RECHECK_ORDER
from crawler.robots import REPORT_ORDER as ROBOTS_REPORT_ORDER
from crawler.urlpolicy import ORDER as URL_POLICY_ORDER

if TYPE_CHECKING:
    from config.settings import Settings

#: Retried: server errors, timeouts and rate limits. Never other 4xx: a 404 will not heal by asking again.
RETRY_HTTP_CODES = (500, 502, 503, 504, 522, 524, 408, 429)
#: Snapshot outlets all share 127.0.0.1, so one "domain" stands for many outlets there.
SNAPSHOT_CONCURRENCY_PER_DOMAIN = 16
#: The snapshot server is ours and local: a short pause still exercises the retry path without slowing the demo.
SNAPSHOT_RETRY_BACKOFF = 0.2
#: The item pipeline: extraction, classification and batched storage, in this one component.
PIPELINE = "crawler.pipelines.StorePipeline"
#: Only http(s) is ever fetched: Scrapy's handlers for local files, data: URIs, FTP and S3 are switched off,
#: so even a request the URL policy missed cannot read ``file:///etc/passwd`` (crawler.urlpolicy decides).
DISABLED_DOWNLOAD_HANDLERS = {"file": None, "data": None, "ftp": None, "s3": None}

#: No way into the crawling process: Scrapy's telnet console, and Scrapy 2.19's remote control (an HTTP server
#: on localhost that runs any Python code sent with the token it writes to a file in ~/.local/state/scrapy).
#: Switched off by their settings and left out of EXTENSIONS (Scrapy still imports their modules to read the dict).
DISABLED_EXTENSIONS = {
    "scrapy.extensions.telnet.TelnetConsole": None,
    "scrapy.extensions.remote_control.RemoteControl": None,
}


def to_scrapy(settings: Settings, *, snapshot: bool = False, shared: bool = True) -> dict[str, Any]:
    """The Scrapy settings dict for one crawl; ``snapshot`` relaxes limits meant for real outlets only.

    ``shared=False`` keeps even a configured Redis frontier out (a source check, a direct fetch).
    """
    crawl = settings.crawl
    per_domain = crawl.concurrent_requests_per_domain
    delay = crawl.download_delay
    backoff = crawl.retry_backoff
    if snapshot:
        per_domain = max(per_domain, SNAPSHOT_CONCURRENCY_PER_DOMAIN)
        delay = 0.0
        backoff = min(backoff, SNAPSHOT_RETRY_BACKOFF)
    values: dict[str, Any] = {
        "BOT_NAME": "rasid",
        "USER_AGENT": crawl.resolved_user_agent(),
        "ROBOTSTXT_OBEY": crawl.obey_robots,
        "ROBOTSTXT_USER_AGENT": "rasid",
        "CONCURRENT_REQUESTS": crawl.concurrent_requests,
        "CONCURRENT_REQUESTS_PER_DOMAIN": per_domain,
        "DOWNLOAD_DELAY": delay,
        "AUTOTHROTTLE_ENABLED": crawl.autothrottle and not snapshot,
        "AUTOTHROTTLE_START_DELAY": max(delay, 1.0),
        "AUTOTHROTTLE_MAX_DELAY": 60.0,
        "AUTOTHROTTLE_TARGET_CONCURRENCY": crawl.autothrottle_target_concurrency,
        "DOWNLOAD_TIMEOUT": crawl.download_timeout,
        "DOWNLOAD_MAXSIZE": crawl.download_maxsize,
        "DOWNLOAD_WARNSIZE": max(crawl.download_maxsize // 2, 1024),
        "RETRY_ENABLED": crawl.retry_times > 0,
        "RETRY_TIMES": crawl.retry_times,
        "RETRY_HTTP_CODES": list(RETRY_HTTP_CODES),
        # Scrapy's retry decision, with an exponential pause (and Retry-After) before each retry.
        "RETRY_PRIORITY_ADJUST": -1,
        "DOWNLOADER_MIDDLEWARES": {
            "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
            "crawler.retry.BackoffRetryMiddleware": 550,
            "crawler.robots.RobotsTxtReportMiddleware": ROBOTS_REPORT_ORDER,
            "crawler.redirects.RedirectLoopMiddleware": 610,
            "crawler.urlpolicy.UrlPolicyMiddleware": URL_POLICY_ORDER,
            # Scrapy lets requests that waited for robots.txt past unchecked (crawler/robots.py).
            "crawler.robots.RobotsRecheckMiddleware": ROBOTS_RECHECK_ORDER,
        },
        "DOWNLOAD_HANDLERS": DISABLED_DOWNLOAD_HANDLERS,
        # Scrapy 2.19 starts all of a host's queued requests at once; this one keeps the per-domain limit.
        "DOWNLOADER": "crawler.downloader.PoliteDownloader",
        # The snapshot is our own server on 127.0.0.1: its address is exempt from the internal-address check.
        "RASID_ALLOW_PRIVATE_ADDRESSES": crawl.allow_private_addresses or snapshot,
        "RASID_SITEMAP_INDEX_MAX_CHILDREN": crawl.sitemap_index_max_children,
        "RASID_EXTRACT_ALL": crawl.extract_all,
        "RASID_SITEMAP_MAX_DEPTH": crawl.sitemap_max_depth,
        "RASID_RETRY_BACKOFF": backoff,
        "RASID_RETRY_BACKOFF_MAX": crawl.retry_backoff_max,
        "REDIRECT_MAX_TIMES": crawl.max_redirects,
        "COOKIES_ENABLED": False,
        "TELNETCONSOLE_ENABLED": False,
        "REMOTE_CONTROL_ENABLED": False,
        "EXTENSIONS": DISABLED_EXTENSIONS,
        "LOG_LEVEL": "WARNING",
        "LOGSTATS_INTERVAL": 0,
        "ITEM_PIPELINES": {PIPELINE: 300},
        # Requests are processed depth-first per listing page, so articles come soon after their feed.
        "DEPTH_PRIORITY": 0,
        "DNS_TIMEOUT": min(crawl.download_timeout, 20.0),
    }
    if crawl.redis_url and shared:
        # A shared frontier: scrapy-redis's queue and dupefilter under the crawl's namespace, with
        # heartbeats and pending copies of in-flight requests (crawler.scheduler), so several workers on
        # several machines split one crawl and a dead worker's requests come back.
        namespace = crawl.redis_namespace
        values.update(
            {
                "SCHEDULER": "crawler.scheduler.SharedScheduler",
                "DUPEFILTER_CLASS": "scrapy_redis.dupefilter.RFPDupeFilter",
                "SCHEDULER_PERSIST": True,  # the queue outlives any one worker; seeding a new crawl resets it
                "SCHEDULER_QUEUE_KEY": f"{namespace}:requests",
                "SCHEDULER_DUPEFILTER_KEY": f"{namespace}:dupefilter",
                "REDIS_URL": crawl.redis_url.get_secret_value(),
                "SPIDER_MIDDLEWARES": {"crawler.scheduler.FrontierMiddleware": 50},
                "RASID_REDIS_NAMESPACE": namespace,
                "RASID_WORKER_HEARTBEAT": crawl.worker_heartbeat,
                "RASID_WORKER_IDLE_CLOSE": crawl.worker_idle_close,
            }
        )
    return values
