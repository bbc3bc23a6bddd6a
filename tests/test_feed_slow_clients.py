"""The feed against slow and odd clients (issue 17): `Expect: 100-continue` on a GET is
answered, waitress's queue warnings are rate-limited, serving beyond loopback without a
front is warned about, and with 400 slow connections from one address a normal request
through the shipped nginx config (deploy/nginx/calsync.conf, a real nginx) is still
answered, with the token in no nginx log."""

from __future__ import annotations

import logging
import re
import socket
import time
from pathlib import Path

import pytest

from calsync import feed_server
from tests.service_support import TOKEN, Proc, calsync_args, run_calsync, start_server, write_config
from tests.slow_clients import NGINX, Slowloris, ci, free_port, get, nginx_in_front


@pytest.fixture
def served(tmp_path: Path) -> tuple[Proc, str]:
    cfg = write_config(tmp_path)
    run_calsync(cfg, "sync")
    proc, addr = start_server(cfg)
    return proc, addr


def test_expect_100_continue_on_a_get_is_answered(served: tuple[Proc, str]) -> None:
    proc, addr = served
    with proc:
        host, port = addr.rsplit(":", 1)
        with socket.create_connection((host, int(port)), timeout=20) as s:
            s.sendall(
                f"GET /{TOKEN}/strength.ics HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
                "Connection: close\r\n\r\n".encode()
            )
            data = b""
            while chunk := s.recv(65536):  # waitress used to send 100, then nothing
                data += chunk
        assert data.startswith(b"HTTP/1.1 200 "), data[:200]
        assert b"BEGIN:VCALENDAR" in data
        proc.stop()


def test_queue_depth_warnings_are_rate_limited(caplog: pytest.LogCaptureFixture) -> None:
    feed_server._quiet_queue_warnings()
    feed_server._quiet_queue_warnings()  # installing twice is once
    queue_log = logging.getLogger("waitress.queue")
    with caplog.at_level(logging.WARNING, logger="waitress.queue"):
        for depth in range(1000):
            queue_log.warning("Task queue depth is %d", depth)
        queue_log.warning("something else")
    shown = [r.getMessage() for r in caplog.records]
    assert len([m for m in shown if m.startswith("Task queue depth")]) <= 1
    assert "something else" in shown


def test_exposure_warning_names_the_address_beyond_loopback() -> None:
    assert feed_server.exposure_warning(["127.0.0.1:8765", "[::1]:8765"], "") is None
    assert feed_server.exposure_warning(["localhost:8765"], "") is None
    warning = feed_server.exposure_warning(["0.0.0.0:8765"], "")
    assert warning is not None and "0.0.0.0:8765" in warning and "nginx" in warning
    assert feed_server.exposure_warning(["0.0.0.0:8765"], "https://cal.example.org") is None


def test_serve_beyond_loopback_warns_at_start(tmp_path: Path) -> None:
    cfg = write_config(tmp_path)
    port = free_port()
    with Proc(calsync_args(cfg, "serve", "--listen", f"0.0.0.0:{port}")) as proc:
        proc.wait_for(r"listening on http://0\.0\.0\.0:")
        proc.wait_for(r"WARNING.*beyond this machine, with no front")
        assert proc.stop() == 0


@pytest.mark.skipif(
    NGINX is None and not ci(),
    reason="nginx is not installed (CI installs it: apt-get install nginx-light)",
)
def test_400_slow_connections_behind_nginx_leave_room_for_a_normal_request(
    tmp_path: Path,
) -> None:
    """Bounded: 400 connections, a few seconds of trickling, one normal request."""
    assert NGINX is not None, "CI must have nginx (see .ci/run)"
    cfg = write_config(tmp_path)
    run_calsync(cfg, "sync")
    proc, addr = start_server(cfg)
    logs = tmp_path / "nginx"
    logs.mkdir()
    with proc, nginx_in_front(logs, addr) as front:
        with Slowloris(front, 400, every=1.0) as slow:
            assert len(slow.socks) == 400  # nginx took every one
            time.sleep(2.5)  # they are trickling
            status, _ = get(front, "/healthz", timeout=60)
            assert status == 200
            status, _ = get(front, f"/{TOKEN}/strength.ics", timeout=60)
            assert status == 200
        proc.stop()
    for log in logs.glob("*.log"):
        text = log.read_text(errors="replace")
        assert TOKEN not in text and TOKEN[:12] not in text, (log, text[-2000:])
    access = (logs / "calsync.access.log").read_text()
    assert re.search(r"127\.0\.0\.1 .* GET 200", access), access
