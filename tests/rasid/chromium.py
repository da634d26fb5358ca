"""Debian's chromium, headless, driven over the DevTools protocol on a pipe: nothing downloaded, no driver.

``--remote-debugging-pipe`` makes chromium read commands on fd 3 and answer on fd 4, as JSON messages
ended by a NUL byte; a page is emulated at a phone's width with ``Emulation.setDeviceMetricsOverride``
(headless windows are never narrower than 500 px, so ``--window-size=375,...`` is not a phone).
"""

from __future__ import annotations

import base64
import json
import os
import select
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

FLAGS = (
    "--headless",
    "--no-sandbox",  # tests run as root in CI
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",  # the machine has no network: no update or sync checks
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--remote-debugging-pipe",
)


def find_chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


class DevToolsError(Exception):
    pass


class Chromium:
    """One headless browser; ``page(...)`` opens a tab emulating a device of the given width."""

    def __init__(self, binary: str, profile: Path, timeout: float = 60.0) -> None:
        self.timeout = timeout
        to_child, self._writer = os.pipe()
        self._reader, from_child = os.pipe()

        def _on_fds_3_and_4() -> None:  # runs in the child before exec
            os.dup2(to_child, 100)
            os.dup2(from_child, 101)
            os.dup2(100, 3)
            os.dup2(101, 4)

        self.process = subprocess.Popen(
            [binary, *FLAGS, f"--user-data-dir={profile}", "about:blank"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            pass_fds=(3, 4),
            preexec_fn=_on_fds_3_and_4,
        )
        os.close(to_child)
        os.close(from_child)
        self._buffer = b""
        self._next_id = 0
        self.events: list[dict[str, Any]] = []

    def close(self) -> None:
        try:
            self.call("Browser.close")
        except (DevToolsError, OSError):
            pass
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        os.close(self._writer)
        os.close(self._reader)

    def call(self, method: str, session: str | None = None, **params: Any) -> dict[str, Any]:
        """Send one command and wait for its answer, keeping the events that arrive meanwhile."""
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params}
        if session:
            message["sessionId"] = session
        os.write(self._writer, json.dumps(message).encode() + b"\0")
        while True:
            reply = self._receive()
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise DevToolsError(f"{method}: {reply['error']}")
                return dict(reply.get("result", {}))
            self.events.append(reply)

    def wait_for(self, event: str, session: str) -> dict[str, Any]:
        for index, seen in enumerate(self.events):
            if seen.get("method") == event and seen.get("sessionId") == session:
                return dict(self.events.pop(index))
        while True:
            message = self._receive()
            if message.get("method") == event and message.get("sessionId") == session:
                return message
            self.events.append(message)

    def page(self, width: int, height: int, scale: float = 2.0) -> str:
        """A new tab emulating a phone screen ``width`` CSS pixels wide; returns its session id."""
        target = self.call("Target.createTarget", url="about:blank")["targetId"]
        session = str(self.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"])
        self.call(
            "Emulation.setDeviceMetricsOverride",
            session,
            width=width,
            height=height,
            deviceScaleFactor=scale,
            mobile=True,
        )
        self.call("Page.enable", session)
        return session

    def open(self, session: str, url: str) -> None:
        self.call("Page.navigate", session, url=url)
        self.wait_for("Page.loadEventFired", session)

    def evaluate(self, session: str, expression: str) -> Any:
        result = self.call(
            "Runtime.evaluate", session, expression=expression, returnByValue=True, awaitPromise=True
        )
        if "exceptionDetails" in result:
            raise DevToolsError(f"script failed: {result['exceptionDetails'].get('text')}")
        return result["result"].get("value")

    def screenshot(self, session: str, path: Path) -> Path:
        """The whole page, not only the first screen, as PNG."""
        data = self.call("Page.captureScreenshot", session, format="png", captureBeyondViewport=True)["data"]
        path.write_bytes(base64.b64decode(data))
        return path

    def _receive(self) -> dict[str, Any]:
        deadline = time.monotonic() + self.timeout
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._reader], [], [], left)[0]:
                raise DevToolsError(f"chromium did not answer within {self.timeout:.0f} s")
            chunk = os.read(self._reader, 1 << 20)
            if not chunk:
                raise DevToolsError("chromium closed the pipe")
            self._buffer += chunk
        raw, _, self._buffer = self._buffer.partition(b"\0")
        return dict(json.loads(raw))
