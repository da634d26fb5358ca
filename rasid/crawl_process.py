"""One scheduled crawl in a child process: how the daemon starts it, and what the child runs.

Scrapy's reactor runs once per process, and a crash, leak or OOM kill in a crawl must not touch the
daemon, so each run is ``python -m rasid.crawl_process`` reading one JSON request on stdin: the
serialised settings (secrets stay off the command line), the run id the daemon recorded, the sources
file and the names to crawl. The child finishes the run row itself; when it dies instead, the daemon
records why from its exit status and the last line it wrote on stderr.

A child imports what every crawl needs (Scrapy and its components, SQLAlchemy, trafilatura) before it
reads its request, so the daemon keeps one started ahead, the spare: a run that finds nothing new then
costs its few requests, not the second or two of start-up (most of an unchanged re-crawl's time). A spare
never given a request exits when its stdin closes, the daemon's own death included.
"""

from __future__ import annotations

import importlib
import json
import logging
import signal
import subprocess
import sys
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING

if TYPE_CHECKING:
    from config.settings import Settings
    from config.sources import Source

logger = logging.getLogger(__name__)

#: Child log lines as the daemon's own, so journald shows one stream.
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
#: Seconds a SIGKILLed spare is waited for before the daemon goes on without it.
DISCARD_WAIT = 5.0
#: The name (comm) a child shows in ``ps -e``, ``top`` and ``pgrep`` while it waits as the spare, and once it
#: crawls; ``ps aux`` shows the command line, the same for both.
SPARE_NAME, CRAWL_NAME = "rasid-spare", "rasid-crawl"
#: What every crawl imports, loaded before the request arrives. None of it installs Twisted's reactor:
#: the crawl installs the one its settings name.
PRELOAD = (
    "config.sources",
    "rasid.app",
    "crawler.runner",
    "crawler.pipelines",
    "crawler.spiders.news",
    "storage.repository",
    "datasketch",
    "scrapy.crawler",
)


@dataclass
class CrawlChild:
    """A running crawl child, with the last line it wrote on stderr (relayed to the daemon's stderr)."""

    process: subprocess.Popen[bytes]
    last_line: str = ""
    _relay: threading.Thread | None = field(default=None, repr=False)

    @property
    def pid(self) -> int:
        return self.process.pid

    def wait(self, timeout: float | None = None) -> int:
        """The exit code, once the child ended and its last stderr line is read (``TimeoutExpired`` after
        ``timeout`` seconds)."""
        code = self.process.wait(timeout)
        if self._relay is not None:
            self._relay.join(timeout=5)
        return code

    def reason(self, code: int) -> str:
        """Why a child that did not exit 0 ended, in one line."""
        if code < 0:
            try:
                name = signal.Signals(-code).name
            except ValueError:
                name = f"signal {-code}"
            return f"killed by signal {-code} ({name})"
        return f"exit code {code}" + (f": {self.last_line}" if self.last_line else "")

    def send(
        self, settings: Settings, run_id: int, sources_file: Path, names: Sequence[str], snapshot: bool
    ) -> None:
        """Give the child its run; it starts crawling once it has loaded what it needs."""
        request = {
            "settings": json.loads(settings.to_json()),
            "run_id": run_id,
            "sources_file": str(sources_file),
            "sources": list(names),
            "snapshot": snapshot,
        }
        assert self.process.stdin is not None
        try:
            self.process.stdin.write(json.dumps(request).encode())
            self.process.stdin.close()
        except BrokenPipeError:  # the child died; its exit status tells why
            pass

    def discard(self) -> None:
        """End a spare that will get no run (it holds no data, so SIGKILL loses nothing)."""
        try:
            self.process.kill()
            self.wait(DISCARD_WAIT)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:  # stuck in the kernel (a dead disk): not worth holding a stop for
            logger.warning("crawl child pid %d did not end within %gs of SIGKILL", self.pid, DISCARD_WAIT)


def spawn_child() -> CrawlChild:
    """Start a child that loads what a crawl needs and waits for its run on stdin, in a session of its own:
    a terminal's Ctrl-C reaches only the daemon."""
    process = subprocess.Popen(
        [sys.executable, "-m", "rasid.crawl_process"],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    assert process.stdin is not None and process.stderr is not None
    child = CrawlChild(process)
    child._relay = threading.Thread(target=_relay, args=(process.stderr, child), daemon=True)
    try:
        child._relay.start()
    except RuntimeError as exc:  # no thread can be started (the same exhaustion as a failed fork)
        child._relay = None
        child.discard()
        raise OSError(f"cannot start a thread for the crawl child: {exc}") from None
    return child


def _relay(stream: IO[bytes], child: CrawlChild) -> None:
    for raw in stream:
        line = raw.decode("utf-8", "replace").rstrip()
        if line:
            child.last_line = line
            sys.stderr.write(line + "\n")
            sys.stderr.flush()
    stream.close()


def preload() -> None:
    """Import what a crawl will, Scrapy's default components included (Scrapy imports each when a crawl
    starts). Best effort: a module that fails here fails again in the crawl, with the crawl's own line."""
    from scrapy.settings import default_settings
    from scrapy.utils.misc import load_object

    for name in PRELOAD:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001, S112 - see the docstring
            continue
    handlers = default_settings.DOWNLOAD_HANDLERS_BASE
    paths = [
        *default_settings.EXTENSIONS_BASE,  # the disabled ones too: Scrapy imports them to read EXTENSIONS
        *default_settings.DOWNLOADER_MIDDLEWARES_BASE,
        *default_settings.SPIDER_MIDDLEWARES_BASE,
        *(handlers[scheme] for scheme in ("http", "https") if scheme in handlers),
    ]
    for path in paths:
        try:
            load_object(path)
        except Exception:  # noqa: BLE001, S112 - see the docstring
            continue


def _name(name: str) -> None:
    """What ps and /proc call this process (Linux; elsewhere it keeps the interpreter's name)."""
    try:
        Path("/proc/self/comm").write_text(name)
    except OSError:
        pass


def main() -> int:
    """The child: load what a crawl needs, read the request, crawl, and exit 0 when the run ended "ok"."""
    _name(SPARE_NAME)
    preload()
    raw = sys.stdin.read()
    if not raw.strip():  # a spare that got no run: the daemon stopped or died
        return 0
    _name(CRAWL_NAME)
    from config.settings import ConfigError, Settings
    from config.sources import load_sources, select_sources
    from rasid.app import crawl
    from storage.errors import StorageError
    from storage.schema import SchemaError

    request = json.loads(raw)
    settings = Settings.model_validate(request["settings"])
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    logging.getLogger().handlers[:] = [handler]
    # The daemon logs the run's one summary line; the child adds only problems (or everything at DEBUG).
    level = logging.getLevelName(settings.schedule.log_level)
    logging.getLogger().setLevel(level if level <= logging.DEBUG else max(level, logging.WARNING))
    snapshot = bool(request["snapshot"])
    try:
        sources = select_sources(load_sources(Path(request["sources_file"])), request["sources"])
        if settings.schedule.seed_only and settings.crawl.redis_url is not None:
            return _seed_only(settings, sources, int(request["run_id"]))
        result = crawl(
            settings,
            sources,
            snapshot=snapshot,
            max_age_days=None if snapshot else settings.crawl.max_age_days,
            run_id=int(request["run_id"]),
        )
    except (ConfigError, SchemaError, StorageError) as exc:
        sys.stderr.write(f"crawl run {request['run_id']}: {exc}\n")
        return 2
    except Exception as exc:  # noqa: BLE001 - the run's one line (the daemon records it); traceback at DEBUG
        logging.getLogger(__name__).debug("crawl run %s failed", request["run_id"], exc_info=True)
        sys.stderr.write(f"crawl run {request['run_id']}: {type(exc).__name__}: {exc}\n")
        return 1
    return 0 if result.status == "ok" else 1


def _seed_only(settings: Settings, sources: tuple[Source, ...], run_id: int) -> int:
    """The daemon's run when workers crawl: the entry points go on the shared queue, and the run is "ok"."""
    from rasid.app import open_repository, seed
    from storage.records import RunSummary

    repository = open_repository(settings, create=True)
    pushed = seed(settings, sources, repository)
    repository.finish_run(run_id, RunSummary(), "ok")
    logging.getLogger(__name__).info("crawl run %d: seeded %d entry points for the workers", run_id, pushed)
    return 0


if __name__ == "__main__":
    try:
        code = main()
    finally:
        from rasid.app import end_process

        end_process()
    raise SystemExit(code)
