"""Slow clients (slowloris) and a real nginx in front of `calsync serve`: shared by
tests/test_feed_slow_clients.py and bench/slow_clients.py."""

from __future__ import annotations

import contextlib
import os
import re
import resource
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHIPPED = REPO / "deploy" / "nginx" / "calsync.conf"
NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Slowloris:
    """`n` connections from one address that each send a request line and then one
    header line every `every` seconds, never finishing the header."""

    def __init__(self, hostport: str, n: int, every: float = 2.0) -> None:
        host, port = hostport.rsplit(":", 1)
        self.addr = (host, int(port))
        self.n = n
        self.every = every
        self.socks: list[socket.socket] = []
        self.closed_by_server = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> Slowloris:
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        need = self.n + 256
        if soft < need:
            resource.setrlimit(resource.RLIMIT_NOFILE, (min(need, hard), hard))
        for i in range(self.n):
            s = socket.socket()
            s.settimeout(5)
            try:
                s.connect(self.addr)
                s.sendall(f"GET /slow-{i} HTTP/1.1\r\nHost: x\r\n".encode())
            except OSError:
                s.close()
                continue  # the server (or its backlog) refused: that is its choice
            s.setblocking(False)
            self.socks.append(s)
        self._thread = threading.Thread(target=self._trickle, daemon=True)
        self._thread.start()
        return self

    def _trickle(self) -> None:
        while not self._stop.wait(self.every):
            for s in list(self.socks):
                try:
                    s.sendall(b"X-Slow: 1\r\n")
                except OSError:
                    self.socks.remove(s)
                    self.closed_by_server += 1
                    s.close()

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)
        for s in self.socks:
            s.close()


def get(hostport: str, path: str, timeout: float) -> tuple[int, float]:
    """A normal GET on a new connection: (status or 0 when none came, seconds)."""
    host, port = hostport.rsplit(":", 1)
    t0 = time.monotonic()
    try:
        with socket.create_connection((host, int(port)), timeout=timeout) as s:
            s.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
            data = b""
            while b"\r\n" not in data:
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
    except OSError:
        return 0, time.monotonic() - t0
    m = re.match(rb"HTTP/1\.[01] (\d{3})", data)
    return (int(m.group(1)) if m else 0), time.monotonic() - t0


def nginx_conf(folder: Path, listen_port: int, upstream: str) -> Path:
    """A main nginx.conf of its own (prefix, pid, logs, temp dirs in `folder`; one
    process, no user switch) that includes the shipped server block, pointed at
    `upstream` and listening on 127.0.0.1:`listen_port`."""
    shipped = SHIPPED.read_text()
    shipped = re.sub(r"^\s*listen \[::\]:80;\n", "", shipped, flags=re.M)
    shipped = re.sub(r"listen 80;", f"listen 127.0.0.1:{listen_port};", shipped)
    shipped = shipped.replace("server 127.0.0.1:8765;", f"server {upstream};")
    shipped = shipped.replace("/var/log/nginx/", f"{folder}/")
    (folder / "calsync.conf").write_text(shipped)
    for d in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (folder / d).mkdir(exist_ok=True)
    main = folder / "nginx.conf"
    main.write_text(
        f"""
daemon off;
master_process off;
worker_processes 1;
pid {folder}/nginx.pid;
error_log {folder}/main.error.log warn;
events {{ worker_connections 4096; }}
worker_rlimit_nofile 8192;
http {{
    client_body_temp_path {folder}/client_body;
    proxy_temp_path {folder}/proxy;
    fastcgi_temp_path {folder}/fastcgi;
    uwsgi_temp_path {folder}/uwsgi;
    scgi_temp_path {folder}/scgi;
    access_log off;
    include {folder}/calsync.conf;
}}
"""
    )
    return main


@contextlib.contextmanager
def nginx_in_front(folder: Path, upstream: str) -> Iterator[str]:
    """A real nginx with the shipped config in front of `upstream`; yields its address."""
    assert NGINX is not None
    port = free_port()
    conf = nginx_conf(folder, port, upstream)
    check = subprocess.run(
        [NGINX, "-t", "-p", str(folder), "-c", str(conf)], capture_output=True, text=True
    )
    assert check.returncode == 0, check.stderr
    p = subprocess.Popen(
        [NGINX, "-p", str(folder), "-c", str(conf)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
                break
            assert p.poll() is None, p.stderr.read() if p.stderr else ""
            assert time.monotonic() < deadline, "nginx did not start listening"
            time.sleep(0.05)
        yield f"127.0.0.1:{port}"
    finally:
        p.terminate()
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(5)


def ci() -> bool:
    return bool(os.environ.get("CI"))
