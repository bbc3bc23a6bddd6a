"""Helpers the test modules share: the CLI in-process, free ports, loopback HTTP servers.

(Network retries run with their waits scaled down for every test: tests/conftest.py.)
"""

from __future__ import annotations

import contextlib
import http.server
import socket
import threading
from collections.abc import Iterator

import pytest

# A runs calendar (plan.ics) and a busy one (work.ics) beside the config, into out.ics:
# the setup of the output golden files and of the UID tests.
RUNS_AND_WORK_CONFIG = """\
[schedule]
timezone = "Europe/Berlin"
horizon_days = 14
preferred_time = "18:00"

[[source]]
type = "ics"
url = "plan.ics"
name = "plan"

[[source]]
type = "ics"
url = "work.ics"
role = "busy"
name = "work"

[output.ics]
path = "out.ics"

[state]
path = "state/state.sqlite3"
"""


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """`calsync ARGS` in this process, through the CLI's own error handler:
    (exit code, stdout, stderr)."""
    from calsync.cli import main

    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def free_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on right now (for a server started next)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def serving(handler: type[http.server.BaseHTTPRequestHandler]) -> Iterator[str]:
    """A threaded HTTP server on 127.0.0.1 with `handler`; yields "http://127.0.0.1:PORT"."""
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
