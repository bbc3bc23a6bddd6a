"""Starting and stopping a real server in a subprocess on a free port (Radicale, Xandikos)."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from tests.helpers import free_port


def start_on_free_port(
    what: str,
    host: str,
    log_path: Path,
    command: Callable[[int], list[str]],
    ready: Callable[[int], bool],
    timeout: float,
) -> tuple[subprocess.Popen[bytes], int]:
    """Run `command(port)` with its output in `log_path` until `ready(port)`; the process
    and its port. Three tries: another process may take the free port before the server."""
    last_error = ""
    for _attempt in range(3):
        port = free_port(host)
        with log_path.open("wb") as log:
            proc = subprocess.Popen(
                command(port), stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and proc.poll() is None:
            if ready(port):
                return proc, port
            time.sleep(0.05)
        stop_process(proc)
        last_error = read_log(log_path)
    raise RuntimeError(f"{what} did not start on {host}:\n{last_error}")


def stop_process(process: subprocess.Popen[bytes]) -> None:
    """Terminate a server process (idempotent), killing it if it does not stop."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def read_log(path: Path) -> str:
    try:
        return path.read_text(errors="replace")
    except OSError:
        return ""
