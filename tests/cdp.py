"""A minimal Chrome DevTools Protocol client over ``--remote-debugging-pipe`` (tests only).

Chromium reads protocol commands from file descriptor 3 and writes replies and events to
file descriptor 4, each message JSON followed by a NUL byte. That needs no websocket library
and no network port, and works with Debian's ``chromium`` package as it is.
"""
from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import tempfile
import threading
import time

#: Where the browser is looked for, in order; ``HASHFLEET_CHROMIUM`` names another.
CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def find_chromium() -> str | None:
    """The browser executable, or None."""
    named = os.environ.get("HASHFLEET_CHROMIUM")
    if named:
        return shutil.which(named) or (named if os.path.exists(named) else None)
    return next((path for path in map(shutil.which, CANDIDATES) if path), None)


class Browser:
    """A headless Chromium driven over the DevTools pipe; use as a context manager."""

    def __init__(self, executable: str, *, timeout_s: float = 60.0, width: int = 1280, height: int = 900):
        self.timeout_s = timeout_s
        self.profile = tempfile.mkdtemp(prefix="hashfleet-chromium-")
        cmd_r, self._cmd_w = os.pipe()
        self._out_r, out_w = os.pipe()
        # Chromium expects the pipe ends exactly at fds 3 and 4, whatever the parent has open
        # there: copy them above 10 (close-on-exec) and dup2 them into place in the child. The
        # dup2 copies are inheritable; every other descriptor Python opened is close-on-exec.
        high_cmd, high_out = (fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10) for fd in (cmd_r, out_w))

        def at_3_and_4():
            os.dup2(high_cmd, 3)
            os.dup2(high_out, 4)

        args = [executable, "--headless", "--remote-debugging-pipe", "--no-sandbox", "--disable-gpu",
                "--disable-dev-shm-usage", "--no-first-run", "--no-default-browser-check",
                "--disable-extensions", "--disable-background-networking", "--disable-sync",
                "--hide-scrollbars", "--mute-audio", f"--window-size={width},{height}",
                f"--user-data-dir={self.profile}", "about:blank"]
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL, preexec_fn=at_3_and_4, close_fds=False)
        for fd in (cmd_r, out_w, high_cmd, high_out):
            os.close(fd)
        self._next_id = 0
        self._replies: dict[int, dict] = {}
        self.events: list[dict] = []
        self._cond = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        buf = b""
        while True:
            chunk = os.read(self._out_r, 1 << 16)
            if not chunk:
                with self._cond:
                    self._closed = True
                    self._cond.notify_all()
                return
            buf += chunk
            *messages, buf = buf.split(b"\0")
            with self._cond:
                for raw in messages:
                    msg = json.loads(raw)
                    if "id" in msg:
                        self._replies[msg["id"]] = msg
                    else:
                        self.events.append(msg)
                self._cond.notify_all()

    _closed = False

    def send(self, method: str, params: dict | None = None, session: str | None = None) -> dict:
        """Send one command and wait for its reply; a protocol error raises RuntimeError."""
        self._next_id += 1
        msg = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self._cmd_w, json.dumps(msg).encode() + b"\0")
        reply = self._wait(lambda: self._replies.pop(msg["id"], None), f"reply to {method}")
        if "error" in reply:
            raise RuntimeError(f"{method}: {reply['error']}")
        return reply.get("result", {})

    def wait_event(self, method: str, session: str | None = None) -> dict:
        """Wait for the first event ``method`` (of ``session``) and return it."""
        def found():
            return next((e for e in self.events if e["method"] == method
                         and (session is None or e.get("sessionId") == session)), None)
        return self._wait(found, f"event {method}")

    def _wait(self, probe, what: str):
        deadline = time.monotonic() + self.timeout_s
        with self._cond:
            while True:
                hit = probe()
                if hit is not None:
                    return hit
                if self._closed:
                    raise RuntimeError(f"chromium exited while waiting for the {what}")
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"no {what} from chromium within {self.timeout_s:.0f} s")
                self._cond.wait(left)

    def open(self, url: str) -> str:
        """Open ``url`` in a new page with console, log and network events on; wait for load; its session."""
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.send(f"{domain}.enable", session=session)
        self.send("Page.navigate", {"url": url}, session=session)
        self.wait_event("Page.loadEventFired", session)
        return session

    def evaluate(self, session: str, expression: str):
        """The JSON value of a JavaScript expression in the page."""
        result = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True,
                                                "awaitPromise": True}, session=session)
        if "exceptionDetails" in result:
            raise RuntimeError(f"evaluate failed: {result['exceptionDetails']}")
        return result["result"].get("value")

    def screenshot_png(self, session: str) -> bytes:
        """A PNG of the whole page (beyond the viewport)."""
        import base64

        size = self.send("Page.getLayoutMetrics", session=session)["cssContentSize"]
        clip = {"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1}
        data = self.send("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True, "clip": clip},
                         session=session)["data"]
        return base64.b64decode(data)

    def problems(self, session: str) -> list[str]:
        """Console errors, uncaught exceptions, error log entries and requests that left the machine."""
        out = []
        for e in self.events:
            if e.get("sessionId") != session:
                continue
            p = e.get("params", {})
            if e["method"] == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
                out.append("console: " + " ".join(str(a.get("value", a.get("description"))) for a in p["args"]))
            elif e["method"] == "Runtime.exceptionThrown":
                out.append("exception: " + p["exceptionDetails"].get("text", ""))
            elif e["method"] == "Log.entryAdded" and p["entry"]["level"] == "error":
                out.append("log: " + p["entry"]["text"])
            elif e["method"] == "Network.requestWillBeSent" and not p["request"]["url"].startswith(("data:", "file:")):
                out.append("network request: " + p["request"]["url"])
            elif e["method"] == "Network.loadingFailed":
                out.append("failed to load: " + p.get("errorText", ""))
        return out

    def close(self) -> None:
        try:
            if self.proc.poll() is None:
                try:
                    self.send("Browser.close")
                except (RuntimeError, TimeoutError, OSError):
                    pass
                try:
                    self.proc.wait(10)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait()
        finally:
            os.close(self._cmd_w)
            self._reader.join(10)
            if not self._reader.is_alive():
                os.close(self._out_r)
            shutil.rmtree(self.profile, ignore_errors=True)

    def __enter__(self) -> "Browser":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
