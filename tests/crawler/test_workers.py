"""Several crawl workers split one crawl through the shared Redis queue into one PostgreSQL database.

The offline snapshot is served once, in a thread of this process, so its request log shows which pages
each crawl asked for. A one-worker crawl (no Redis) is the reference: two workers must store the same
articles once each, group them into the same stories, and between them ask for each article page once;
a worker killed with SIGKILL midway must lose nothing.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from sqlalchemy import select

from storage.db import make_engine
from storage.models import ArticleRow, SeenUrlRow, VerdictRow
from tests.crawler.conftest import FAST_ENV, ROOT, RequestLog, rasid
from tests.servers import SNAPSHOT_SEED, SNAPSHOT_SIZE

pytestmark = [pytest.mark.redis, pytest.mark.postgres]

#: Short beats so a killed worker is known dead within seconds, and workers close soon after the queue empties.
WORKER_ENV = {"RASID_CRAWL__WORKER_HEARTBEAT": "1", "RASID_CRAWL__WORKER_IDLE_CLOSE": "2"}


def _redis_reason() -> str | None:
    from tests.conftest import REDIS_URL

    try:
        import redis

        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except Exception as exc:  # noqa: BLE001 - any failure means "cannot reach", and we say why
        return f"Redis not reachable at {REDIS_URL}: {exc}"
    return None


@pytest.fixture(scope="module")
def served(shared_data: Path) -> Iterator[tuple[str, set[str], RequestLog]]:
    """The snapshot served in a thread: its URL, its public article paths, and the log of paths asked for."""
    import logging

    from snapshot.build import build_snapshot
    from snapshot.replay import SiteServer

    reason = _redis_reason()
    if reason:
        pytest.skip(reason)
    from tests.conftest import postgres_unavailable

    if postgres_unavailable():
        pytest.skip(postgres_unavailable() or "")
    snapshot = build_snapshot(shared_data, size=SNAPSHOT_SIZE, seed=SNAPSHOT_SEED)
    log = RequestLog()
    replay_logger = logging.getLogger("snapshot.replay")
    replay_logger.addHandler(log)
    replay_logger.setLevel(logging.DEBUG)
    with SiteServer({}, port=0, compress=True) as server:
        server.set_routes(snapshot.routes(server.url))
        yield server.url, {a.path for a in snapshot.articles if not a.is_private}, log
    replay_logger.removeHandler(log)


@pytest.fixture
def namespace() -> Iterator[str]:
    """A Redis key prefix of this test alone; its keys are deleted afterwards."""
    import redis

    from tests.conftest import REDIS_URL

    name = f"test-{uuid.uuid4().hex[:10]}"
    yield name
    client = redis.Redis.from_url(REDIS_URL)
    keys = list(client.scan_iter(match=f"{name}:*"))
    if keys:
        client.delete(*keys)


def _schema_url() -> str:
    """A fresh schema in the PostgreSQL test database (dropped at interpreter exit is not needed: unique)."""
    import psycopg
    from sqlalchemy.engine import make_url

    from tests.conftest import POSTGRES_URL

    schema = f"t_{uuid.uuid4().hex[:12]}"
    url = make_url(POSTGRES_URL)
    with psycopg.connect(host=url.host, port=url.port or 5432, user=url.username, dbname=url.database,
                         autocommit=True) as conn:  # fmt: skip
        conn.execute(f'CREATE SCHEMA "{schema}"')
    return url.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(hide_password=False)


def _drop(url: str) -> None:
    import psycopg
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    schema = parsed.query["options"].split("=", 1)[1]  # type: ignore[union-attr]
    with psycopg.connect(host=parsed.host, port=parsed.port or 5432, user=parsed.username,
                         dbname=parsed.database, autocommit=True) as conn:  # fmt: skip
        conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture
def database() -> Iterator[str]:
    url = _schema_url()
    yield url
    _drop(url)


def _start(*args: str, env: dict[str, str]) -> subprocess.Popen[str]:
    full = {**os.environ, **FAST_ENV, "COLUMNS": "200", **env}
    full.pop("RASID_CONFIG", None)
    return subprocess.Popen([sys.executable, "-m", "rasid.cli", *args], cwd=ROOT, env=full, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip


def _shared_env(namespace: str) -> dict[str, str]:
    from tests.conftest import REDIS_URL

    return {"RASID_CRAWL__REDIS_URL": REDIS_URL, "RASID_CRAWL__REDIS_NAMESPACE": namespace, **WORKER_ENV}


#: A stored article: canonical URL, outlet, content hash, story, URL.
Row = tuple[str, str, str, int, str]


def _stored(url: str) -> tuple[list[Row], int]:
    """The stored articles and the number of verdict rows."""
    engine = make_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(
            select(
                ArticleRow.canonical_url,
                ArticleRow.source,
                ArticleRow.content_hash,
                ArticleRow.story_id,
                ArticleRow.url,
            )
        ).all()
        verdicts = len(conn.execute(select(VerdictRow.article_id)).all())
    engine.dispose()
    return [tuple(row) for row in rows], verdicts  # type: ignore[misc]


def _same_articles_and_stories(ours: list[Row], reference: list[Row]) -> tuple[set[str], set[str], bool]:
    """(ours unmatched, reference unmatched, same stories), matching each article to the reference's.

    Which of two near-identical pages is stored depends on which is fetched first, on one worker as on
    two: one outlet's one text under two URLs (the first URL wins), or one canonical URL behind two pages
    (a tracking-parameter or AMP copy: the first text wins). So an article matches the reference article
    with its canonical URL, else the one with its outlet and text.
    """
    by_url = {row[0]: row for row in reference}
    by_text = {(row[1], row[2]): row for row in reference}
    matched: dict[str, str] = {}
    for row in ours:
        twin = by_url.get(row[0]) or by_text.get((row[1], row[2]))
        if twin is not None:
            matched[row[0]] = twin[0]
    unmatched = {row[0] for row in ours} - set(matched)
    missing = {row[0] for row in reference} - set(matched.values())
    ours_stories: dict[int, set[str]] = {}
    for row in ours:
        ours_stories.setdefault(row[3], set()).add(matched.get(row[0], row[0]))
    reference_stories: dict[int, set[str]] = {}
    for row in reference:
        reference_stories.setdefault(row[3], set()).add(row[0])
    same = {frozenset(v) for v in ours_stories.values()} == {frozenset(v) for v in reference_stories.values()}
    return unmatched, missing, same


def _article_requests(log: RequestLog, paths: set[str]) -> Counter[str]:
    return Counter(p for p in log.paths if unquote(urlsplit(p).path) in paths)


@pytest.fixture(scope="module")
def one_worker(served) -> Iterator[tuple[list[Row], int, Counter[str]]]:
    """The reference: one ordinary crawl of the snapshot, without Redis, into its own schema."""
    url, paths, log = served
    db = _schema_url()
    log.paths.clear()
    result = rasid("crawl", "--snapshot", "--snapshot-url", url, "--db", db, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    yield (*_stored(db), _article_requests(log, paths))
    _drop(db)


def test_two_workers_fetch_each_page_once_and_store_what_one_worker_stores(
    served, one_worker, namespace, database
) -> None:
    url, paths, log = served
    reference, reference_verdicts, reference_requests = one_worker
    env = _shared_env(namespace)
    log.paths.clear()
    seeder = _start("crawl", "--snapshot", "--snapshot-url", url, "--db", database, env=env)
    time.sleep(1)
    worker = _start("crawl", "--worker", "--snapshot", "--snapshot-url", url, "--db", database, env=env)
    worker_out, worker_err = worker.communicate(timeout=300)
    seeder_out, seeder_err = seeder.communicate(timeout=300)
    assert seeder.returncode == 0, seeder_err[-3000:]
    assert worker.returncode == 0, worker_err[-3000:]
    requests = _article_requests(log, paths)
    assert set(requests) == set(reference_requests)
    assert [p for p, n in requests.items() if n > 1] == []  # each article page fetched by one worker only
    stored, verdicts = _stored(database)
    assert len(stored) == len(reference)
    assert len({row[0] for row in stored}) == len(stored)  # each article once
    assert verdicts == reference_verdicts == len(reference)  # and its verdict (hit or not) once
    unmatched, missing, same_stories = _same_articles_and_stories(stored, reference)
    assert (unmatched, missing) == (set(), set())
    assert same_stories
    # Both really worked: each stored pages of its own (the summary's "pages" total).
    for out in (seeder_out, worker_out):
        total = next(line for line in out.splitlines() if "total" in line)
        assert int(total.split("│")[2]) > 20, total


def test_a_killed_workers_in_flight_requests_are_crawled_by_the_other(
    served, one_worker, namespace, database
) -> None:
    import json

    import redis

    from crawler.frontier import Keys
    from tests.conftest import REDIS_URL

    url, paths, log = served
    reference = one_worker[0]
    env = _shared_env(namespace)
    log.paths.clear()
    seeder = _start("crawl", "--snapshot", "--snapshot-url", url, "--db", database, env=env)
    time.sleep(1)
    victim = _start("crawl", "--worker", "--snapshot", "--snapshot-url", url, "--db", database, env=env)
    client = redis.Redis.from_url(REDIS_URL)
    keys = Keys(namespace)
    victim_id = None
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:  # until the victim holds requests and the crawl is well on its way
        for member in client.smembers(keys.workers):
            beat = client.get(keys.beat(member.decode()))
            if beat and json.loads(beat)["pid"] == victim.pid:
                victim_id = member.decode()
        if victim_id and client.hlen(keys.pending(victim_id)) >= 5 and len(log.paths) >= 80:
            break
        time.sleep(0.05)
    assert victim_id is not None, "the worker never announced itself"
    status = rasid("status", "--json", "--db", database, env=env)
    shown = {w["worker"]: w for w in json.loads(status.stdout)["frontier"]["workers"]}
    assert victim_id in shown and shown[victim_id]["pid"] == victim.pid, status.stdout[-2000:]
    victim.send_signal(signal.SIGKILL)
    victim.communicate(timeout=30)
    in_flight = {_url_of(data) for data in client.hvals(keys.pending(victim_id))}
    assert in_flight, "the worker held no requests when it was killed"
    seeder_out, seeder_err = seeder.communicate(timeout=300)
    assert seeder.returncode == 0, seeder_err[-3000:]
    stored, _ = _stored(database)
    missing = _same_articles_and_stories(stored, reference)[1]
    pages = {row[0]: row[4] for row in reference}
    asked = {pages[m]: _article_requests(log, {unquote(urlsplit(pages[m]).path)}) for m in missing}
    held = {pages[m] in in_flight for m in missing}
    assert missing == set(), f"{asked} in flight: {held} {seeder_err[-3000:]}"
    assert len(stored) == len(reference)  # nothing lost, nothing twice
    engine = make_engine(database)
    with engine.connect() as conn:
        seen = set(conn.execute(select(SeenUrlRow.url)).scalars())
    engine.dispose()
    # Every request the dead worker held was crawled to the end by the other: its URL is in the seen store
    # (article pages) or was asked for again after the kill (listings, failures).
    lost = {u for u in in_flight if u not in seen and unquote(urlsplit(u).path) in paths}
    assert lost == set()
    assert not client.exists(keys.pending(victim_id))  # its pending copies were claimed


def _url_of(data: bytes) -> str:
    import pickle

    return str(pickle.loads(data)["url"])  # noqa: S301 - the test's own Redis


def test_seeding_fills_the_queue_that_status_shows_and_seeding_again_adds_nothing(
    served, namespace, tmp_path
) -> None:
    import json

    url = served[0]
    db = f"sqlite:///{tmp_path / 'rasid.db'}"
    env = _shared_env(namespace)
    first = rasid("crawl", "--seed-only", "--snapshot", "--snapshot-url", url, "--db", db, env=env)
    assert first.returncode == 0, first.stderr[-2000:]
    pushed = int(first.stdout.split("seeded the shared queue: ")[1].split()[0])
    assert pushed >= 25  # at least one entry point per snapshot outlet
    status = rasid("status", "--json", "--db", db, env=env)
    assert status.returncode == 0, status.stderr[-2000:]
    frontier = json.loads(status.stdout)["frontier"]
    assert (frontier["namespace"], frontier["queued"], frontier["workers"]) == (namespace, pushed, [])
    # The crawl is still to do (its queue is full): a second seeding joins it instead of starting over.
    again = rasid("crawl", "--seed-only", "--snapshot", "--snapshot-url", url, "--db", db, env=env)
    assert "seeded the shared queue: 0 entry points" in again.stdout
    shown = rasid("status", "--db", db, env=env)
    assert f"shared queue {namespace}: {pushed} requests queued, 0 workers" in shown.stdout


def test_the_daemons_crawl_child_only_seeds_when_seed_only_is_set(served, namespace, tmp_path) -> None:
    import json

    import redis

    from config.settings import CrawlSettings, ScheduleSettings, Settings
    from crawler.frontier import Keys
    from snapshot.build import build_snapshot
    from storage.repository import Repository
    from tests.conftest import REDIS_URL

    url = served[0]
    db = f"sqlite:///{tmp_path / 'rasid.db'}"
    sources_file = tmp_path / "sources.yaml"
    build_snapshot(served_data(), size=SNAPSHOT_SIZE, seed=SNAPSHOT_SEED).write_sources_yaml(
        sources_file, url
    )
    settings = Settings(
        database_url=db,
        crawl=CrawlSettings(redis_url=REDIS_URL, redis_namespace=namespace, allow_private_addresses=True),
        schedule=ScheduleSettings(seed_only=True),
    )
    repository = Repository(make_engine(db, create=True))
    repository.prepare(create=True)
    run_id = repository.start_run(["bbc", "skynews"], job="crawl")
    request = {"settings": json.loads(settings.to_json()), "run_id": run_id, "sources_file": str(sources_file),
               "sources": ["bbc", "skynews"], "snapshot": True}  # fmt: skip
    child = subprocess.run([sys.executable, "-m", "rasid.crawl_process"], input=json.dumps(request), text=True,
                           capture_output=True, cwd=ROOT, timeout=120)  # fmt: skip
    assert child.returncode == 0, child.stderr[-2000:]
    queued = redis.Redis.from_url(REDIS_URL).zcard(Keys(namespace).queue)
    assert queued >= 2  # each source's entry points, and nothing fetched
    run = next(r for r in repository.runs(limit=5) if r.run_id == run_id)
    assert (run.outcome, run.summary.pages_fetched) == ("ok", 0)


def served_data() -> Path:
    from tests.conftest import SHARED_DATA

    return SHARED_DATA


def test_a_worker_without_a_shared_queue_is_one_line_and_exit_code_2(tmp_path) -> None:
    result = rasid("crawl", "--worker", "--db", f"sqlite:///{tmp_path / 'x.db'}")
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "error: --worker needs a shared queue: set crawl.redis_url (RASID_CRAWL__REDIS_URL)"
    )


def test_a_new_crawl_is_seeded_whole_while_idle_workers_wait_but_joins_a_busy_one(served, namespace) -> None:
    from config.settings import CrawlSettings, Settings
    from crawler.frontier import open_frontier, seed
    from crawler.spiders.news import NewsSpider
    from snapshot.build import build_snapshot
    from tests.conftest import REDIS_URL

    sources = build_snapshot(served_data(), size=SNAPSHOT_SIZE, seed=SNAPSHOT_SEED).sources(served[0])
    settings = Settings(crawl=CrawlSettings(redis_url=REDIS_URL, redis_namespace=namespace))
    first = seed(settings, sources, None)
    assert first >= len(sources)
    frontier = open_frontier(settings, NewsSpider(sources=sources))
    frontier.queue.clear()  # the crawl took everything; its fingerprints stay in the duplicate filter
    frontier.beat("waiting-worker", busy=False, fetched=first)
    assert seed(settings, sources, None) == first  # a new crawl: yesterday's fingerprints forgotten
    frontier.queue.clear()
    frontier.beat("waiting-worker", busy=True, fetched=first)
    assert seed(settings, sources, None) == 0  # a crawl in progress: its entry points are in already


def test_workers_started_together_on_a_new_database_all_start(database) -> None:
    script = "import sys; from storage.db import make_engine; from storage.repository import Repository; "
    script += "Repository(make_engine(sys.argv[1])).prepare(create=True)"
    starts = [subprocess.Popen([sys.executable, "-c", script, database], cwd=ROOT, stderr=subprocess.PIPE,
                               text=True) for _ in range(4)]  # fmt: skip
    errors = [start.communicate(timeout=120)[1] for start in starts]
    assert [start.returncode for start in starts] == [0, 0, 0, 0], errors


def test_workers_share_each_sources_page_budget_and_a_new_crawl_starts_it_afresh(served, namespace) -> None:
    from config.settings import CrawlSettings, Settings
    from crawler.frontier import open_frontier
    from crawler.spiders.news import NewsSpider
    from tests.conftest import REDIS_URL

    settings = Settings(crawl=CrawlSettings(redis_url=REDIS_URL, redis_namespace=namespace))
    first, second = (open_frontier(settings, NewsSpider(sources=())) for _ in range(2))  # two workers
    first.seed([], {"wam": 4})
    assert (first.take_budget("wam", 3), second.take_budget("wam", 3), first.take_budget("wam", 3)) == (
        3,
        1,
        0,
    )
    assert second.take_budget("sana", 7) == 7  # no shared budget: each worker's own cap applies
    first.beat("busy-worker", busy=True, fetched=1)
    first.seed([], {"wam": 4})  # a crawl in progress keeps what is left of its budget
    assert second.take_budget("wam", 1) == 0
    first.beat("busy-worker", busy=False, fetched=1)
    first.seed([], {"wam": 4})  # a new crawl
    assert second.take_budget("wam", 9) == 4


def test_a_worker_fetches_only_what_the_other_workers_left_of_a_sources_budget(
    served, namespace, database
) -> None:
    from config.settings import CrawlSettings, Settings
    from crawler.frontier import open_frontier
    from crawler.spiders.news import NewsSpider
    from tests.conftest import REDIS_URL

    url, paths, log = served
    env = {**_shared_env(namespace), "RASID_CRAWL__MAX_PAGES_PER_SOURCE": "2"}
    seeded = rasid("crawl", "--seed-only", "--snapshot", "--snapshot-url", url, "--db", database, env=env)
    assert seeded.returncode == 0, seeded.stderr[-3000:]
    settings = Settings(crawl=CrawlSettings(redis_url=REDIS_URL, redis_namespace=namespace))
    other = open_frontier(settings, NewsSpider(sources=()))
    assert other.take_budget("aawsat", 1) == 1  # another worker spent one of aawsat's two pages
    log.paths.clear()
    worker = rasid("crawl", "--worker", "--snapshot", "--snapshot-url", url, "--db", database, env=env)
    assert worker.returncode == 0, worker.stderr[-3000:]
    per_source = Counter(urlsplit(p).path.split("/")[1] for p in _article_requests(log, paths).elements())
    assert per_source["aawsat"] == 1 and max(per_source.values()) == 2, per_source
