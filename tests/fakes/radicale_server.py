"""A real Radicale CalDAV server in a subprocess, for the tests.

`running_radicale(folder, users)` starts `python -m radicale` on 127.0.0.1 with a free
port, a storage folder and an htpasswd file (plain-text passwords: no bcrypt needed, works
offline) inside `folder`, waits until the server answers HTTP, and stops it on exit.
Nothing of the user's own Radicale configuration is read: the server gets a config file
of its own. Failed logins are answered at once (`auth delay = 0`) so the tests stay fast.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import socket
import subprocess
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from tests.fakes.server_process import read_log, start_on_free_port, stop_process

START_TIMEOUT = 20.0


@dataclass
class RadicaleServer:
    url: str  # "http://127.0.0.1:PORT/"
    host: str
    port: int
    users: Mapping[str, str]
    storage: Path
    log_path: Path
    process: subprocess.Popen[bytes]

    def stop(self) -> None:
        """Stop the server (idempotent); its port refuses connections afterwards."""
        stop_process(self.process)

    def log(self) -> str:
        return read_log(self.log_path)


def _config_text(host: str, port: int, storage: Path, htpasswd: Path, log_level: str) -> str:
    return f"""\
[server]
hosts = {host}:{port}

[auth]
type = htpasswd
htpasswd_filename = {htpasswd}
htpasswd_encryption = plain
delay = 0

[rights]
type = owner_only

[storage]
filesystem_folder = {storage}

[web]
type = none

[logging]
level = {log_level}
mask_passwords = True
"""


def _answers(host: str, port: int) -> bool:
    conn = http.client.HTTPConnection(host, port, timeout=1)
    try:
        conn.request("GET", "/.web/")
        conn.getresponse().read()
        return True
    except OSError:
        return False
    finally:
        conn.close()


def start_radicale(
    folder: Path, users: Mapping[str, str], host: str = "127.0.0.1", log_level: str = "warning"
) -> RadicaleServer:
    """Start Radicale under `folder` with the given user -> password logins."""
    folder.mkdir(parents=True, exist_ok=True)
    storage = folder / "collections"
    htpasswd = folder / "users"
    htpasswd.write_text("".join(f"{u}:{p}\n" for u, p in users.items()))
    os.chmod(htpasswd, 0o600)
    config = folder / "radicale.conf"
    log_path = folder / "radicale.log"

    def command(port: int) -> list[str]:
        config.write_text(_config_text(host, port, storage, htpasswd, log_level))
        return [sys.executable, "-m", "radicale", "--config", str(config)]

    proc, port = start_on_free_port(
        "Radicale", host, log_path, command, lambda port: _answers(host, port), START_TIMEOUT
    )
    return RadicaleServer(
        url=f"http://{host}:{port}/",
        host=host,
        port=port,
        users=dict(users),
        storage=storage,
        log_path=log_path,
        process=proc,
    )


@contextlib.contextmanager
def running_radicale(
    folder: Path, users: Mapping[str, str], host: str = "127.0.0.1"
) -> Iterator[RadicaleServer]:
    server = start_radicale(folder, users, host)
    try:
        yield server
    finally:
        server.stop()


@contextlib.contextmanager
def black_hole(host: str = "127.0.0.1") -> Iterator[str]:
    """A port that accepts TCP connections and never answers: every request times out.

    The listening socket's backlog completes the handshakes in the kernel; nobody reads.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        s.listen(16)
        yield f"http://{host}:{s.getsockname()[1]}/"
