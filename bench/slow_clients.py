"""Slow clients against bare `calsync serve` and against the shipped nginx in front.

For each N in --counts, N connections from one address trickle one header line a second
and never finish; then normal requests (GET /healthz) are timed, each with --timeout.
Reports per setup and N: connections the server accepted, normal requests answered and
their median / max latency. Needs Debian's nginx for the second setup.

    .venv/bin/python bench/slow_clients.py --counts 400 1100 --requests 5
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from tests.service_support import calsync_args, child_env, start_server, write_config  # noqa: E402
from tests.slow_clients import NGINX, Slowloris, get, nginx_in_front  # noqa: E402


def measure(target: str, n: int, requests: int, timeout: float) -> str:
    with Slowloris(target, n, every=1.0) as slow:
        time.sleep(3.0)
        results = [get(target, "/healthz", timeout) for _ in range(requests)]
        held = len(slow.socks)
    ok = [t for status, t in results if status == 200]
    lat = (
        f"median {statistics.median(ok) * 1000:.0f} ms, max {max(ok) * 1000:.0f} ms"
        if ok
        else f"none within {timeout:g} s"
    )
    return f"{n:5d} slow: {held:5d} held open, {len(ok)}/{requests} answered ({lat})"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--counts", type=int, nargs="+", default=[400, 1100])
    ap.add_argument("--requests", type=int, default=5)
    ap.add_argument("--timeout", type=float, default=20.0)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        cfg = write_config(Path(tmp))
        subprocess.run(calsync_args(cfg, "sync"), env=child_env(), check=True,
                       capture_output=True)  # fmt: skip
        for n in args.counts:
            proc, addr = start_server(cfg)
            with proc:
                print("bare calsync serve:", measure(addr, n, args.requests, args.timeout))
                proc.stop()
            if NGINX is None:
                print("nginx not installed: no front measured")
                continue
            proc, addr = start_server(cfg)
            folder = Path(tmp) / f"nginx-{n}"
            folder.mkdir()
            with proc, nginx_in_front(folder, addr) as front:
                print("behind nginx:      ", measure(front, n, args.requests, args.timeout))
                proc.stop()


if __name__ == "__main__":
    main()
