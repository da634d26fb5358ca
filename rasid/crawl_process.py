"""One scheduled crawl in a child process: how the daemon starts it, and what the child runs.

Scrapy's reactor runs once per process, and a crash, leak or OOM kill in a crawl must not touch the
daemon, so each run is ``python -m rasid.crawl_process`` reading one JSON request on stdin: the
serialised settings (secrets stay off the command line), the run id the daemon recorded, the sources
file and the names to crawl. The child finishes the run row itself; when it dies instead, the daemon
records why from its exit status and the last line it wrote on stderr.
"""

from __future__ import annotations

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


@dataclass
class CrawlChild:
    """A running crawl child, with the last line it wrote on stderr (relayed to the daemon's stderr)."""

    process: subprocess.Popen[bytes]
    last_line: str = ""
    _relay: threading.Thread | None = field(default=None, repr=False)

    @property
    def pid(self) -> int:
        return self.process.pid

    def wait(self) -> int:
        code = self.process.wait()
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


def start_child(
    settings: Settings, run_id: int, sources_file: Path, names: Sequence[str], snapshot: bool
) -> CrawlChild:
    """Start the child of one run, in a session of its own: a terminal's Ctrl-C reaches only the daemon."""
    request = {
        "settings": json.loads(settings.to_json()),
        "run_id": run_id,
        "sources_file": str(sources_file),
        "sources": list(names),
        "snapshot": snapshot,
    }
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
    child._relay.start()
    try:
        process.stdin.write(json.dumps(request).encode())
        process.stdin.close()
    except BrokenPipeError:  # the child died at once; its exit status tells why
        pass
    return child


def _relay(stream: IO[bytes], child: CrawlChild) -> None:
    for raw in stream:
        line = raw.decode("utf-8", "replace").rstrip()
        if line:
            child.last_line = line
            sys.stderr.write(line + "\n")
            sys.stderr.flush()
    stream.close()


def main() -> int:
    """The child: read the request, crawl, and exit 0 when the run finished as "ok"."""
    from config.settings import ConfigError, Settings
    from config.sources import load_sources, select_sources
    from rasid.app import crawl
    from storage.errors import StorageError
    from storage.schema import SchemaError

    request = json.loads(sys.stdin.read())
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
    raise SystemExit(main())
