"""A small real web server on 127.0.0.1: serves fixed routes plus named fault routes, and the offline snapshot.

``SiteServer(routes)`` runs in a thread for small test sites; ``python -m snapshot`` (and
``ReplayProcess``, which starts it) serves the offline snapshot built from the real data in a child
process that prints its base URL as the first line of stdout. This module imports nothing else of the
package: ``layouts`` and ``build`` import it, never the other way. Stdlib only, so importing it never starts
Scrapy.

Fault routes answer under any path that contains ``/_fault/`` (so an outlet can list
``/<outlet>/_fault/status/404`` in its feed):

- ``/_fault/status/<code>``          that status with a short HTML body
- ``/_fault/redirect-loop``          302 to ``/_fault/redirect-loop/2``, which redirects back
- ``/_fault/slow?seconds=N``         an HTML page sent after N seconds
- ``/_fault/big?mb=N``               an N MB HTML page, streamed in chunks, never held in memory
- ``/_fault/drop``                   the connection is closed without a response
- ``/_fault/partial``                headers promise more bytes than the body sends
- ``/_fault/endless``                a chunked HTML page that never ends (until the client hangs up)
- ``/_fault/drip?seconds=N``         one byte of a promised page every N seconds (default 1), never done
- ``/_fault/entity-bomb.xml``        an RSS feed with a "billion laughs" entity expansion
- ``/_fault/xxe.xml``                an RSS feed whose item title is an external entity (file:///etc/passwd)
- ``/_fault/malformed-feed.xml``     an RSS feed cut off mid-element
- ``/_fault/no-article.html``        a page of navigation and footer only

Every 200 answer carries an ETag (its bytes' hash, or the route's own), and a request whose
If-None-Match names it gets ``304 Not Modified``, as from a real web server.
"""

from __future__ import annotations

import gzip
import hashlib
import logging
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from urllib.parse import parse_qs, unquote, urlsplit

#: The default offline snapshot: the demo, the tests and the benchmarks all build and crawl this one.
SNAPSHOT_SIZE = 300
SNAPSHOT_SEED = 7

logger = logging.getLogger(__name__)

FAULT_MARK = "/_fault/"
#: Seconds a ``ReplayProcess`` waits for the child's URL line before giving up.
STARTUP_TIMEOUT = 60.0
_BIG_CHUNK = 64 * 1024
_SLOW_MAX_SECONDS = 600.0
_BIG_MAX_MB = 1024
_GZIP_MIN = 1024  # bytes; smaller answers go out as they are
_COMPRESSIBLE = re.compile(r"text/|application/(?:[\w.+-]*\+)?(?:xml|json)")  # not the .xml.gz sitemaps


@dataclass(frozen=True, slots=True)
class Route:
    """One fixed answer: the bytes as served, with their Content-Type, status and extra headers.

    ``content_type=None`` sends no Content-Type header at all (a server that declares nothing).
    """

    body: bytes = b""
    content_type: str | None = "text/html; charset=utf-8"
    status: int = 200
    headers: tuple[tuple[str, str], ...] = ()


def route_key(target: str) -> str:
    """The key a request target is looked up under: the percent-decoded path, plus ``?query`` as sent."""
    parts = urlsplit(target)
    path = unquote(parts.path or "/")
    return f"{path}?{parts.query}" if parts.query else path


def redirect(location: str, status: int = 301) -> Route:
    """A route that redirects to ``location`` (a path or a full URL)."""
    return Route(body=b"", content_type=None, status=status, headers=(("Location", location),))


# --------------------------------------------------------------------------------------------- faults

_ENTITY_BOMB = b"""<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE rss [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<rss version="2.0"><channel><title>&lol9;</title><link>http://127.0.0.1/</link>
<item><title>&lol9;</title><link>http://127.0.0.1/_fault/no-article.html</link></item>
</channel></rss>
"""

_XXE = b"""<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE rss [ <!ENTITY xxe SYSTEM "file:///etc/passwd"> ]>
<rss version="2.0"><channel><title>xxe</title><link>http://127.0.0.1/</link>
<item><title>&xxe;</title><link>http://127.0.0.1/_fault/no-article.html</link>
<description>&xxe;</description></item>
</channel></rss>
"""

_MALFORMED_FEED = (
    '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel><title>أخبار</title>\n'
    "<item><title>خبر أول</title><link>/_fault/no-article.html</link></item>\n"
    "<item><title>خبر بلا نهاية<link>/_fault/status/404</lin"
).encode()

_NO_ARTICLE = """<!DOCTYPE html>
<html lang="ar" dir="rtl"><head><meta charset="utf-8"><title>الرئيسية - أخبار</title></head>
<body><header><nav><ul>
<li><a href="/">الرئيسية</a></li><li><a href="/world/">العالم</a></li><li><a href="/economy/">اقتصاد</a></li>
<li><a href="/sport/">رياضة</a></li><li><a href="/about/">من نحن</a></li></ul></nav></header>
<main><ul class="menu"><li><a href="/tag/news/">أخبار</a></li><li><a href="/author/desk/">المحرر</a></li></ul></main>
<footer><p>جميع الحقوق محفوظة</p><a href="/privacy/">سياسة الخصوصية</a></footer></body></html>
""".encode()


def _html_page(title: str, text: str) -> bytes:
    return (
        f'<!DOCTYPE html><html lang="ar" dir="rtl"><head><meta charset="utf-8"><title>{title}</title>'
        f"</head><body><h1>{title}</h1><p>{text}</p></body></html>"
    ).encode()


# --------------------------------------------------------------------------------------------- server


class _Handler(BaseHTTPRequestHandler):
    """Answers from the server's route table, or from a fault route; never lets an error kill the server."""

    protocol_version = "HTTP/1.1"  # keep-alive, as Scrapy's HTTP/1.1 client expects
    server_version = "rasid-replay/0.1"
    server: _Server

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self._answer(head=False)

    def do_HEAD(self) -> None:  # noqa: N802
        self._answer(head=True)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib signature
        logger.debug("%s " + format, self.address_string(), *args)

    def _answer(self, head: bool) -> None:
        try:
            key = route_key(self.path)
            mark = key.find(FAULT_MARK)
            if mark >= 0:
                self._fault(key[mark + len(FAULT_MARK) :], head)
                return
            route = self.server.routes.get(key)
            if route is None and "?" in key:
                route = self.server.routes.get(key.split("?", 1)[0])  # tracking parameters, cache busters
            if route is None:
                route = Route(_html_page("غير موجود", "الصفحة غير موجودة (404)"), status=404)
            self._send(route, head)
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError):
            self.close_connection = True  # the client went away; nothing to answer
        except Exception:  # noqa: BLE001 - one bad request must never stop the server
            logger.debug("error answering %s", self.path, exc_info=True)
            self.close_connection = True

    def _send(self, route: Route, head: bool) -> None:
        etag = self._etag(route)
        if etag is not None and etag in self.headers.get("If-None-Match", ""):
            # As a web server answers a conditional re-read of an unchanged page: no body, nothing else.
            self.send_response(304)
            self.send_header("ETag", etag)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        body, compressed = self._maybe_gzipped(route)
        self.send_response(route.status)
        if etag is not None and not any(name.lower() == "etag" for name, _ in route.headers):
            self.send_header("ETag", etag)
        if route.content_type is not None:
            self.send_header("Content-Type", route.content_type)
        for name, value in route.headers:
            self.send_header(name, value)
        if compressed:
            self.send_header("Content-Encoding", "gzip")
            self.send_header("Vary", "Accept-Encoding")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def _etag(self, route: Route) -> str | None:
        """A strong ETag of a 200 answer's bytes (listings and pages alike), computed once per route."""
        if route.status != 200:
            return None
        for name, value in route.headers:
            if name.lower() == "etag":
                return value  # sent with the route's own headers; honoured all the same
        cached = self.server.etags.get(id(route))
        if cached is None or cached[0] is not route:
            cached = (route, '"' + hashlib.sha1(route.body).hexdigest()[:20] + '"')
            self.server.etags[id(route)] = cached
        return cached[1]

    def _maybe_gzipped(self, route: Route) -> tuple[bytes, bool]:
        """The body gzip-encoded when the server compresses, the client accepts it and it is worth it."""
        if (
            not self.server.compress
            or route.status != 200
            or len(route.body) < _GZIP_MIN
            or not _COMPRESSIBLE.match(route.content_type or "")
            or "gzip" not in self.headers.get("Accept-Encoding", "")
        ):
            return route.body, False
        key = id(route)
        cached = self.server.gzipped.get(key)
        if cached is None or cached[0] is not route:
            cached = (route, gzip.compress(route.body, compresslevel=5, mtime=0))
            self.server.gzipped[key] = cached
        return cached[1], True

    def _fault(self, name: str, head: bool) -> None:
        path, _, query = name.partition("?")
        params = parse_qs(query)
        if path.startswith("status/"):
            code = _int(path.removeprefix("status/"), 500, 100, 599)
            self._send(Route(_html_page(str(code), f"status {code}"), status=code), head)
        elif path == "redirect-loop":
            self._send(redirect(self.path.split("?")[0].rstrip("/") + "/2", 302), head)
        elif path == "redirect-loop/2":
            self._send(redirect(self.path.split("?")[0][: -len("/2")], 302), head)
        elif path == "slow":
            seconds = min(_float(params.get("seconds", ["5"])[0], 5.0), _SLOW_MAX_SECONDS)
            time.sleep(seconds)
            self._send(Route(_html_page("بطيء", f"after {seconds} seconds")), head)
        elif path == "big":
            self._big(_int(params.get("mb", ["50"])[0], 50, 1, _BIG_MAX_MB), head)
        elif path == "drop":
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
        elif path == "partial":
            body = _html_page("ناقص", "نص ناقص")
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body) * 4))
            self.end_headers()
            if not head:
                self.wfile.write(body)
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
        elif path == "endless":
            self._endless(head)
        elif path == "drip":
            self._drip(min(_float(params.get("seconds", ["1"])[0], 1.0), _SLOW_MAX_SECONDS), head)
        elif path == "entity-bomb.xml":
            self._send(Route(_ENTITY_BOMB, "application/rss+xml; charset=utf-8"), head)
        elif path == "xxe.xml":
            self._send(Route(_XXE, "application/rss+xml; charset=utf-8"), head)
        elif path == "malformed-feed.xml":
            self._send(Route(_MALFORMED_FEED, "application/rss+xml; charset=utf-8"), head)
        elif path == "no-article.html":
            self._send(Route(_NO_ARTICLE), head)
        else:
            self._send(Route(_html_page("غير موجود", "unknown fault"), status=404), head)

    def _endless(self, head: bool) -> None:
        """Chunked transfer with no end: only the client's size cap (or its going away) stops it."""
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.close_connection = True
        if head:
            return
        chunk = ("<p>" + "روسيا " * 2000 + "</p>\n").encode()
        framed = f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"
        deadline = time.monotonic() + _SLOW_MAX_SECONDS
        while time.monotonic() < deadline:
            self.wfile.write(framed)

    def _drip(self, seconds: float, head: bool) -> None:
        """Headers at once, then one byte every ``seconds``: each byte resets an idle timer, never a total one."""
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", "100000")
        self.end_headers()
        self.close_connection = True
        if head:
            return
        deadline = time.monotonic() + _SLOW_MAX_SECONDS
        while time.monotonic() < deadline:
            self.wfile.write(b" ")
            self.wfile.flush()
            time.sleep(seconds)

    def _big(self, megabytes: int, head: bool) -> None:
        """Streams a valid HTML page of exactly ``megabytes`` MiB, one chunk at a time."""
        total = megabytes * 1024 * 1024
        start = b'<!DOCTYPE html><html lang="ar"><head><meta charset="utf-8"><title>big</title></head><body>'
        end = b"</body></html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(total))
        self.end_headers()
        if head:
            return
        line = "<p>نص طويل جدا للاختبار</p>\n".encode()
        chunk = (line * (_BIG_CHUNK // len(line) + 1))[:_BIG_CHUNK]
        self.wfile.write(start)
        left = total - len(start) - len(end)
        while left > 0:
            piece = chunk if left >= len(chunk) else b" " * left
            self.wfile.write(piece)
            left -= len(piece)
        self.wfile.write(end)


def _int(text: str, default: int, low: int, high: int) -> int:
    try:
        return max(low, min(high, int(text)))
    except ValueError:
        return default


def _float(text: str, default: float) -> float:
    try:
        return max(0.0, float(text))
    except ValueError:
        return default


def _own(routes: Mapping[str, Route]) -> Mapping[str, Route]:
    """A dict is copied (its owner may change it); any other mapping is kept, e.g. one that renders pages
    on request (``snapshot.scaled.ScaledRoutes``), so a server need not hold thousands of pages at once."""
    return dict(routes) if isinstance(routes, dict) else routes


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256  # a crawl opens many connections at once

    def __init__(self, address: tuple[str, int], routes: Mapping[str, Route], compress: bool) -> None:
        self.routes = _own(routes)
        self.compress = compress
        self.gzipped: dict[int, tuple[Route, bytes]] = {}  # compressed once, on first request
        self.etags: dict[int, tuple[Route, str]] = {}
        super().__init__(address, _Handler)

    def handle_error(self, request: object, client_address: object) -> None:
        logger.debug("connection error from %s", client_address, exc_info=True)


class SiteServer:
    """A real HTTP server on 127.0.0.1 serving ``routes`` (keys as ``route_key`` makes them) and the faults.

    ``with SiteServer({"/feed.xml": Route(...)}) as site: fetch(site.url + "/feed.xml")``
    """

    def __init__(
        self, routes: Mapping[str, Route], port: int = 0, host: str = "127.0.0.1", compress: bool = False
    ) -> None:
        """``compress=True`` gzips text answers for clients that accept it, as outlets' servers do."""
        self._server = _Server((host, port), routes, compress)
        self._thread: threading.Thread | None = None
        self._serving = False

    @property
    def url(self) -> str:
        """Base URL without a trailing slash, e.g. ``http://127.0.0.1:41235``."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def set_routes(self, routes: Mapping[str, Route]) -> None:
        """Replace the route table (the snapshot's pages need the URL, known only once bound)."""
        self._server.routes = _own(routes)
        self._server.gzipped.clear()

    def start(self) -> SiteServer:
        self._serving = True
        # a short poll interval so stop() returns at once (tests start and stop many servers)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="site-server", daemon=True
        )
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve in the calling thread until ``request_stop()`` is called from another thread."""
        self._serving = True
        self._server.serve_forever()

    def request_stop(self) -> None:
        """Ask ``serve_forever`` to return; safe from a signal handler (the wait happens in a thread)."""
        threading.Thread(target=self._server.shutdown, daemon=True).start()

    def stop(self) -> None:
        if self._serving:
            self._server.shutdown()
            self._serving = False
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> SiteServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


# --------------------------------------------------------------------------------------------- snapshot process


class ReplayProcess:
    """Runs ``python -m snapshot`` in a child process: ``with ReplayProcess(dir) as replay: replay.url``."""

    def __init__(
        self, data_dir: Path, size: int = SNAPSHOT_SIZE, seed: int = SNAPSHOT_SEED, port: int = 0,
        scaled: bool = False, host_name: str | None = None,
    ) -> None:  # fmt: skip
        """``scaled`` serves ``snapshot.scaled`` of ``size`` pages; ``host_name`` goes in its URLs."""
        self.data_dir = Path(data_dir)
        self.scaled = scaled
        self.host_name = host_name
        self.size = size
        self.seed = seed
        self.port = port
        self.url = ""
        self._tmp = tempfile.TemporaryDirectory(prefix="rasid-replay-")
        self.sources_file = Path(self._tmp.name) / "sources.yaml"
        self._proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> ReplayProcess:
        command = [
            sys.executable, "-m", "snapshot", "--data", str(self.data_dir), "--size", str(self.size),
            "--seed", str(self.seed), "--port", str(self.port), "--sources-out", str(self.sources_file),
        ]  # fmt: skip
        command += ["--scaled"] if self.scaled else []
        command += ["--host-name", self.host_name] if self.host_name else []
        stderr_path = Path(self._tmp.name) / "stderr.log"
        self._stderr = stderr_path.open("wb")
        self._proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=self._stderr)
        line = _read_line(self._proc, STARTUP_TIMEOUT)
        if not line.startswith("http://"):
            self._stop()
            error = stderr_path.read_text(encoding="utf-8", errors="replace").strip()
            self._tmp.cleanup()
            raise RuntimeError(
                f"replay server did not start (exit {self._proc.returncode}; first line {line!r}): "
                f"{error[-2000:] or 'no stderr'}"
            )
        self.url = line
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stop()
        self._tmp.cleanup()

    def _stop(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        if self._proc is not None and self._proc.stdout is not None:
            self._proc.stdout.close()
        self._stderr.close()


def _read_line(proc: subprocess.Popen[bytes], timeout: float) -> str:
    """The child's first stdout line, or '' if it exits or stays silent for ``timeout`` seconds."""
    result: list[bytes] = []
    assert proc.stdout is not None
    reader = threading.Thread(target=lambda: result.append(proc.stdout.readline()), daemon=True)  # type: ignore[union-attr]
    reader.start()
    reader.join(timeout)
    return result[0].decode("utf-8", "replace").strip() if result else ""
