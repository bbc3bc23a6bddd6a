"""Helpers for the service tests (feed, daemon, crash): real processes, real HTTP.

Not a test module itself. Everything here talks to 127.0.0.1 only.
"""

from __future__ import annotations

import http.client
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType

REPO = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
TOKEN = "test-token-0123456789abcdefghij"
# A fixed "now" (a Tuesday morning) so plans are the same on every run.
NOW = "2026-12-01T07:00"
PLAN_MONDAY = date(2026, 11, 30)


# --------------------------------------------------------------------------- calendars


def training_ics(hard_day: int = 1, *, first_monday: date = PLAN_MONDAY, weeks: int = 6) -> str:
    """A weekly plan: intervals on `hard_day` (0=Mon), recovery Wed/Fri, tempo Thu, long Sat.

    Moving `hard_day` moves the hard workout, which moves the strength sessions.
    """
    tue = first_monday + timedelta(days=hard_day)
    days = {
        "intervals": (tue, "063000", "073000", "Intervals: 6 x 800m @ 5K pace"),
        "recovery": (first_monday + timedelta(days=2), "063000", "071500", "Recovery run 4 mi"),
        "tempo": (first_monday + timedelta(days=3), "063000", "073000", "Tempo run 6 mi"),
        "long": (first_monday + timedelta(days=5), "073000", "093000", "Long run 14 mi"),
    }
    out = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//calsync tests//service//EN",
        "X-WR-CALNAME:Service test plan",
    ]
    for key, (d, start, end, summary) in days.items():
        if key == "recovery" and d == tue:
            continue
        ds = d.strftime("%Y%m%d")
        out += [
            "BEGIN:VEVENT",
            f"UID:service-{key}@calsync.test",
            "DTSTAMP:20260101T000000Z",
            f"DTSTART;TZID=Europe/Berlin:{ds}T{start}",
            f"DTEND;TZID=Europe/Berlin:{ds}T{end}",
            f"RRULE:FREQ=WEEKLY;COUNT={weeks}",
            f"SUMMARY:{summary}",
            "END:VEVENT",
        ]
    out.append("END:VCALENDAR")
    return "\r\n".join(out) + "\r\n"


def write_config(
    folder: Path,
    *,
    source_url: str | None = None,
    token: str | None = TOKEN,
    interval: str = "1s",
    max_backoff: str = "4s",
    listen: str = "127.0.0.1:8765",
    extra: str = "",
) -> Path:
    """A config in `folder`: the plan at plan.ics (or `source_url`), ICS output, state."""
    folder.mkdir(parents=True, exist_ok=True)
    if source_url is None and not (folder / "plan.ics").exists():
        (folder / "plan.ics").write_text(training_ics(), encoding="utf-8")
    url = source_url or "plan.ics"
    token_line = f'token = "{token}"' if token else ""
    text = f"""
[schedule]
timezone = "Europe/Berlin"
horizon_days = 21

[[source]]
type = "ics"
url = "{url}"
timeout_seconds = 5

[output.ics]
path = "out/strength.ics"

[state]
path = "state/state.sqlite3"

[feed]
listen = "{listen}"
{token_line}

[daemon]
interval = "{interval}"
max_backoff = "{max_backoff}"
{extra}
"""
    path = folder / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


# --------------------------------------------------------------------------- processes


def calsync_args(config: Path, *args: str, now: str | None = NOW) -> list[str]:
    out = [PYTHON, "-m", "calsync", "--config", str(config)]
    if now:
        out += ["--now", now]
    return out + list(args)


def child_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NOTIFY_", "WATCHDOG_"))}
    env.pop("JOURNAL_STREAM", None)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    env["PYTHONUNBUFFERED"] = "1"
    env["CALSYNC_RETRY_TIME_SCALE"] = "0.001"  # as conftest does in-process
    env.update(extra or {})
    return env


class Proc:
    """A child process whose stdout and stderr lines are collected as they come."""

    def __init__(
        self, args: Sequence[str], *, env: Mapping[str, str] | None = None, cwd: Path | None = None
    ) -> None:
        self.args = list(args)
        self.p = subprocess.Popen(
            self.args,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=dict(env) if env is not None else child_env(),
            cwd=cwd,
        )
        self.lines: list[str] = []
        self._cv = threading.Condition()
        self._pumps = [
            threading.Thread(target=self._pump, args=(s,), daemon=True)
            for s in (self.p.stdout, self.p.stderr)
        ]
        for t in self._pumps:
            t.start()

    def _pump(self, stream: object) -> None:
        for line in stream:  # type: ignore[attr-defined]
            with self._cv:
                self.lines.append(line.rstrip("\n"))
                self._cv.notify_all()

    @property
    def output(self) -> str:
        with self._cv:
            return "\n".join(self.lines)

    def wait_for(self, pattern: str, timeout: float = 30.0, *, start: int = 0) -> re.Match[str]:
        """The first output line (from index `start`) matching `pattern`; fails after timeout."""
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        with self._cv:
            while True:
                for line in self.lines[start:]:
                    m = rx.search(line)
                    if m:
                        return m
                left = deadline - time.monotonic()
                if left <= 0 or (self.p.poll() is not None and not self._pumping()):
                    raise AssertionError(
                        f"no line matching {pattern!r} within {timeout}s "
                        f"(exit {self.p.poll()}); output:\n" + "\n".join(self.lines)
                    )
                self._cv.wait(min(left, 0.2))

    def count(self, pattern: str) -> int:
        rx = re.compile(pattern)
        with self._cv:
            return sum(1 for line in self.lines if rx.search(line))

    def _pumping(self) -> bool:
        return any(t.is_alive() for t in self._pumps)

    def send(self, sig: int) -> None:
        self.p.send_signal(sig)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15.0) -> int:
        if self.p.poll() is None:
            self.p.send_signal(sig)
        try:
            rc = self.p.wait(timeout)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait(5)
            raise AssertionError(
                f"did not exit within {timeout}s of {sig}:\n{self.output}"
            ) from None
        for t in self._pumps:
            t.join(5)
        return rc

    def __enter__(self) -> Proc:
        return self

    def __exit__(
        self,
        et: type[BaseException] | None,
        ev: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait(5)


def run_calsync(config: Path, *args: str, timeout: float = 60, now: str | None = NOW) -> str:
    """Run a calsync command to the end; return its output; fail with it on error."""
    r = subprocess.run(
        calsync_args(config, *args, now=now),
        capture_output=True,
        text=True,
        env=child_env(),
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )
    assert r.returncode == 0, f"calsync {' '.join(args)} exited {r.returncode}:\n{r.stderr}"
    return r.stdout


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(config: Path, *args: str) -> tuple[Proc, str]:
    """`calsync serve` on a free loopback port; returns the process and "127.0.0.1:PORT"."""
    proc = Proc(calsync_args(config, "serve", "--listen", "127.0.0.1:0", *args))
    m = proc.wait_for(r"listening on http://(127\.0\.0\.1:\d+)/")
    return proc, m.group(1)


# --------------------------------------------------------------------------- HTTP


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes


def request(
    hostport: str,
    method: str,
    path: str,
    headers: Mapping[str, str] | None = None,
    body: bytes | None = None,
    timeout: float = 10.0,
) -> Response:
    """One request on a fresh connection; the path is sent exactly as given."""
    host, port = hostport.rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=timeout)
    try:
        conn.putrequest(method, path, skip_accept_encoding=True)
        for k, v in (headers or {}).items():
            conn.putheader(k, v)
        if body is not None:
            conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body)
        r = conn.getresponse()
        data = r.read()
        return Response(r.status, {k.lower(): v for k, v in r.getheaders()}, data)
    finally:
        conn.close()


# --------------------------------------------------------------------------- a source


@dataclass
class SourceServer:
    """An ICS source over HTTP whose body and status the test changes as it goes."""

    body: bytes = b""
    status: int = 200
    fail_times: int = 0  # answer the next N requests with 500
    delay: float = 0.0  # seconds to wait before answering (a slow source)
    requests: int = 0
    in_flight: int = 0
    max_in_flight: int = 0
    hostport: str = ""
    _server: ThreadingHTTPServer | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def url(self) -> str:
        return f"http://{self.hostport}/plan.ics"

    def __enter__(self) -> SourceServer:
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                with outer._lock:
                    outer.requests += 1
                    outer.in_flight += 1
                    outer.max_in_flight = max(outer.max_in_flight, outer.in_flight)
                try:
                    time.sleep(outer.delay)
                    self._answer()
                finally:
                    with outer._lock:
                        outer.in_flight -= 1

            def _answer(self) -> None:
                if outer.fail_times > 0 or outer.status != 200:
                    if outer.fail_times > 0:
                        outer.fail_times -= 1
                    self.send_response(500 if outer.status == 200 else outer.status)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Type", "text/calendar; charset=utf-8")
                self.send_header("Content-Length", str(len(outer.body)))
                self.end_headers()
                self.wfile.write(outer.body)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.hostport = f"127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.shutdown()
        self._server.server_close()


def wait_until(pred: object, timeout: float = 20.0, interval: float = 0.05) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():  # type: ignore[operator]
            return
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s")


def lines_after(lines: list[str], marker: str) -> Iterator[str]:
    seen = False
    for line in lines:
        if seen:
            yield line
        elif marker in line:
            seen = True
