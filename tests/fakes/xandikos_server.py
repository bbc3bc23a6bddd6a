"""A real Xandikos CalDAV server in a subprocess, for the tests.

`running_xandikos(folder)` starts `xandikos serve` on 127.0.0.1 with a free port and a
storage folder of its own (`--autocreate`: the principal /user/ and its calendar home
/user/calendars/ are made on start, with no calendar in it), waits until it answers HTTP,
and stops it on exit. Xandikos serves one principal and has no login of its own (it
wants TLS for Basic auth), so the tests reach it anonymously.

Xandikos differs from Radicale where it matters to a sink: its ETags are git blob ids,
it stores each resource in a git repository, and it answers sync-collection with git
commit ids as tokens.
"""

from __future__ import annotations

import contextlib
import http.client
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.fakes.server_process import read_log, start_on_free_port, stop_process

START_TIMEOUT = 30.0
PRINCIPAL = "/user/"
HOME = "/user/calendars/"


@dataclass
class XandikosServer:
    url: str  # "http://127.0.0.1:PORT/"
    host: str
    port: int
    storage: Path
    log_path: Path
    process: subprocess.Popen[bytes]

    def stop(self) -> None:
        """Stop the server (idempotent)."""
        stop_process(self.process)

    def log(self) -> str:
        return read_log(self.log_path)


def _answers(host: str, port: int) -> bool:
    conn = http.client.HTTPConnection(host, port, timeout=1)
    try:
        conn.request("PROPFIND", HOME, headers={"Depth": "0"})
        return conn.getresponse().status == 207
    except OSError:
        return False
    finally:
        conn.close()


def start_xandikos(folder: Path, host: str = "127.0.0.1") -> XandikosServer:
    folder.mkdir(parents=True, exist_ok=True)
    storage = folder / "collections"
    log_path = folder / "xandikos.log"

    def command(port: int) -> list[str]:
        return [
            sys.executable,
            "-m",
            "xandikos",
            "serve",
            "--directory",
            str(storage),
            "--autocreate",
            "--current-user-principal",
            PRINCIPAL,
            "--listen-address",
            host,
            "--port",
            str(port),
            "--state-dir",
            str(folder / "state"),
            "--no-detect-systemd",
        ]

    proc, port = start_on_free_port(
        "Xandikos", host, log_path, command, lambda port: _answers(host, port), START_TIMEOUT
    )
    return XandikosServer(
        url=f"http://{host}:{port}/",
        host=host,
        port=port,
        storage=storage,
        log_path=log_path,
        process=proc,
    )


@contextlib.contextmanager
def running_xandikos(folder: Path, host: str = "127.0.0.1") -> Iterator[XandikosServer]:
    server = start_xandikos(folder, host)
    try:
        yield server
    finally:
        server.stop()
