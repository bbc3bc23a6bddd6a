"""Load benchmark of the ICS feed server against a static-file baseline, loopback only.

    .venv/bin/python bench/bench_feed.py [--requests 2000] [--cap 20]

Starts, in this one run:
- `calsync serve` (waitress, the real app, the real state file) in a subprocess;
- a baseline: the same waitress with the same threads and limits serving the same bytes
  from a file through a minimal static-file WSGI app (ETag + If-None-Match only).
Then for 200s and for 304s (If-None-Match), with 1, 10 and 100 concurrent clients on
keep-alive connections, it sends a fixed number of requests (or stops at a time cap)
and prints requests/s and p50/p99 latency for both, with the ratio feed/baseline.

Bounded: every target is 127.0.0.1, every loop stops by count and by time. The load
generator runs in this process (Python threads) on the same machine, so absolute
figures are a floor; the ratios are the point.
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

TOKEN = "bench-token-0123456789abcdefghij"
PATH = f"/{TOKEN}/strength.ics"


# --------------------------------------------------------------------------- fixtures


def realistic_feed(weeks: int = 26) -> bytes:
    """Two sessions a week with full workout descriptions, like the ICS sink writes."""
    import icalendar

    cal = icalendar.Calendar()
    cal.add("prodid", "-//calsync//bench//EN")
    cal.add("version", "2.0")
    cal.add("x-wr-calname", "Strength training")
    start = datetime(2026, 11, 30, 17, 0, tzinfo=UTC)
    desc = "\n".join(
        f"{n}. {ex} {sets}"
        for n, (ex, sets) in enumerate(
            [
                ("Back squat", "3 x 5 @ RPE 8"),
                ("Romanian deadlift", "3 x 8"),
                ("Single-leg calf raise", "3 x 12 each"),
                ("Pull-ups", "3 x 6"),
                ("Pallof press", "3 x 10 each"),
                ("Box jumps", "3 x 5"),
            ],
            1,
        )
    )
    for w in range(weeks):
        for d in (1, 4):
            s = start + timedelta(weeks=w, days=d)
            ev = icalendar.Event()
            ev.add("uid", f"calsync-{w}-{d}@calsync")
            ev.add("dtstamp", start)
            ev.add("dtstart", s)
            ev.add("dtend", s + timedelta(minutes=45))
            ev.add("sequence", 0)
            ev.add("summary", "Strength A" if d == 1 else "Strength B")
            ev.add("description", desc)
            ev.add("x-calsync-key", f"{w}-{d}")
            cal.add_component(ev)
    return cal.to_ical()


# --------------------------------------------------------------------------- baseline


def static_app(path: Path) -> Any:
    """A minimal static-file WSGI app: read the file, strong ETag, 304 on If-None-Match."""
    body = path.read_bytes()
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'

    def app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        if environ.get("PATH_INFO") != PATH:
            start_response("404 Not Found", [("Content-Length", "0")])
            return []
        if environ.get("HTTP_IF_NONE_MATCH") == etag:
            start_response("304 Not Modified", [("ETag", etag)])
            return []
        start_response(
            "200 OK",
            [
                ("Content-Type", "text/calendar; charset=utf-8"),
                ("Content-Length", str(len(body))),
                ("ETag", etag),
            ],
        )
        return [body]

    return app


def run_static_server(path: str, threads: int) -> None:
    from waitress import create_server

    from calsync.feed_server import WAITRESS_LIMITS

    server = create_server(
        static_app(Path(path)), listen="127.0.0.1:0", threads=threads, **WAITRESS_LIMITS
    )
    print(f"listening on http://127.0.0.1:{server.effective_port}/", flush=True)
    server.run()


# --------------------------------------------------------------------------- load


@dataclass
class Result:
    requests: int
    seconds: float
    latencies: list[float]
    errors: int

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def pct(self, p: float) -> float:
        if not self.latencies:
            return float("nan")
        xs = sorted(self.latencies)
        return xs[min(len(xs) - 1, int(p * len(xs)))]


def load(
    hostport: str, clients: int, total: int, cap: float, headers: dict[str, str], expect: int
) -> Result:
    host, port = hostport.rsplit(":", 1)
    per = [total // clients + (1 if i < total % clients else 0) for i in range(clients)]
    lats: list[list[float]] = [[] for _ in range(clients)]
    errors = [0] * clients
    start_gate = threading.Barrier(clients + 1)
    deadline = [0.0]

    def worker(i: int) -> None:
        conn = http.client.HTTPConnection(host, int(port), timeout=10)
        start_gate.wait()
        for _ in range(per[i]):
            if time.perf_counter() > deadline[0]:
                break
            t0 = time.perf_counter()
            try:
                conn.request("GET", PATH, headers=headers)
                r = conn.getresponse()
                r.read()
                if r.status != expect:
                    errors[i] += 1
            except (OSError, http.client.HTTPException):
                errors[i] += 1
                conn.close()
                conn = http.client.HTTPConnection(host, int(port), timeout=10)
                continue
            lats[i].append(time.perf_counter() - t0)
        conn.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    deadline[0] = time.perf_counter() + cap
    t0 = time.perf_counter()
    start_gate.wait()
    for t in threads:
        t.join()
    took = time.perf_counter() - t0
    flat = [x for xs in lats for x in xs]
    return Result(len(flat), took, flat, sum(errors))


@dataclass
class Summary:
    rps: float
    p50: float
    p99: float
    errors: int

    @staticmethod
    def of(results: list[Result]) -> Summary:
        return Summary(
            statistics.median(r.rps for r in results),
            statistics.median(r.pct(0.5) for r in results),
            statistics.median(r.pct(0.99) for r in results),
            sum(r.errors for r in results),
        )


# --------------------------------------------------------------------------- processes


def start(args: list[str], env: dict[str, str]) -> tuple[subprocess.Popen[str], str]:
    p = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    assert p.stdout is not None
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        line = p.stdout.readline()
        if not line:
            break
        m = re.search(r"listening on http://(127\.0\.0\.1:\d+)/", line)
        if m:
            # Keep draining its output so it never blocks on a full pipe.
            threading.Thread(target=lambda: [None for _ in p.stdout], daemon=True).start()  # type: ignore[union-attr]
            return p, m.group(1)
    p.kill()
    raise SystemExit(f"server did not start: {' '.join(args)}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--requests", type=int, default=2000, help="requests per measurement")
    ap.add_argument("--cap", type=float, default=20.0, help="seconds per measurement, at most")
    ap.add_argument("--threads", type=int, default=8, help="server threads (both servers)")
    ap.add_argument("--clients", default="1,10,100")
    ap.add_argument("--rounds", type=int, default=3, help="alternating rounds per row (median)")
    ap.add_argument("--static-server", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.static_server:
        run_static_server(a.static_server, a.threads)
        return

    from calsync.config import load_config
    from calsync.state import FeedDoc, StateStore

    body = realistic_feed()
    with tempfile.TemporaryDirectory(prefix="calsync-bench-") as tmp:
        folder = Path(tmp)
        (folder / "plan.ics").write_text("BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n")
        cfg = folder / "config.toml"
        cfg.write_text(
            '[[source]]\ntype = "ics"\nurl = "plan.ics"\n'
            '[state]\npath = "state/state.sqlite3"\n'
            f'[feed]\ntoken = "{TOKEN}"\n'
        )
        store = StateStore(load_config(cfg).state_path)
        with store.writer() as tx:
            tx.put_feed(FeedDoc("strength.ics", body, "x", datetime.now(UTC)))
        static = folder / "strength.ics"
        static.write_bytes(body)

        env = dict(os.environ)
        env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
        py = sys.executable
        feed_p, feed_at = start(
            [
                py,
                "-m",
                "calsync",
                "--config",
                str(cfg),
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--threads",
                str(a.threads),
            ],
            env,
        )
        base_p, base_at = start(
            [py, __file__, "--static-server", str(static), "--threads", str(a.threads)], env
        )
        try:
            etag_feed = _etag(feed_at)
            etag_base = _etag(base_at)
            print(
                f"feed body {len(body)} bytes; {a.rounds} x {a.requests} requests per row"
                f" (cap {a.cap:.0f}s each);"
                f" server threads {a.threads}; python {sys.version.split()[0]},"
                f" {os.cpu_count()} cores"
            )
            print(
                f"{'response':8} {'clients':>7} | {'feed req/s':>10} {'p50 ms':>7} {'p99 ms':>7}"
                f" | {'base req/s':>10} {'p50 ms':>7} {'p99 ms':>7} | {'req/s x':>7} {'p99 x':>6}"
                f" | errors"
            )
            for kind in ("200", "304"):
                for clients in (int(c) for c in a.clients.split(",")):
                    hf = {"If-None-Match": etag_feed} if kind == "304" else {}
                    hb = {"If-None-Match": etag_base} if kind == "304" else {}
                    # Warm both, then alternate baseline and feed for a few rounds so a
                    # burst of load from elsewhere on the machine hits both alike; each
                    # figure is the median over the rounds.
                    load(feed_at, min(clients, 4), 50, 5, hf, int(kind))
                    load(base_at, min(clients, 4), 50, 5, hb, int(kind))
                    bs: list[Result] = []
                    fs: list[Result] = []
                    for _ in range(a.rounds):
                        bs.append(load(base_at, clients, a.requests, a.cap, hb, int(kind)))
                        fs.append(load(feed_at, clients, a.requests, a.cap, hf, int(kind)))
                    f, b = Summary.of(fs), Summary.of(bs)
                    print(
                        f"{kind:8} {clients:>7} | {f.rps:>10.0f} {f.p50 * 1e3:>7.2f}"
                        f" {f.p99 * 1e3:>7.2f} | {b.rps:>10.0f} {b.p50 * 1e3:>7.2f}"
                        f" {b.p99 * 1e3:>7.2f} | {f.rps / b.rps:>7.2f}"
                        f" {f.p99 / b.p99:>6.2f} | {f.errors}/{b.errors}"
                    )
            print("req/s x: feed/baseline throughput (>1 is faster); p99 x: feed/baseline p99")
        finally:
            for p in (feed_p, base_p):
                p.terminate()
                try:
                    p.wait(10)
                except subprocess.TimeoutExpired:
                    p.kill()


def _etag(hostport: str) -> str:
    host, port = hostport.rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    conn.request("GET", PATH)
    r = conn.getresponse()
    r.read()
    conn.close()
    if r.status != 200:
        raise SystemExit(f"{hostport}{PATH} answered {r.status}")
    return str(r.getheader("ETag"))


if __name__ == "__main__":
    main()
