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
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.fakes.radicale_server import free_port, read_log, stop_process

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
    last_error = ""
    for _attempt in range(3):  # another process may take the free port first
        port = free_port(host)
        with log_path.open("wb") as log:
            proc = subprocess.Popen(
                [
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
                ],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        server = XandikosServer(
            url=f"http://{host}:{port}/",
            host=host,
            port=port,
            storage=storage,
            log_path=log_path,
            process=proc,
        )
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline and proc.poll() is None:
            if _answers(host, port):
                return server
            time.sleep(0.05)
        server.stop()
        last_error = server.log()
    raise RuntimeError(f"Xandikos did not start on {host}:\n{last_error}")


@contextlib.contextmanager
def running_xandikos(folder: Path, host: str = "127.0.0.1") -> Iterator[XandikosServer]:
    server = start_xandikos(folder, host)
    try:
        yield server
    finally:
        server.stop()
