"""HTTP ICS sources under the one retry policy (calsync/retry.py), against a real server.

The server is a real `http.server` on 127.0.0.1 answering from a script: each test says
what the next answers are, and counts the requests that arrived. Waits run through the
real tenacity loop with `retry.TIME_SCALE` scaled down (the `fast_retries` fixture), so
the number of attempts, not the clock, is what the tests assert.
"""

from __future__ import annotations

import http.server
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest

from calsync.cli import main
from calsync.config import SourceSettings
from calsync.sources.ics_fetch import fetch, fetch_policy
from tests.helpers import serving

CAL = (Path(__file__).parent / "calendars" / "utc_times.ics").read_bytes()


class _Scripted(http.server.BaseHTTPRequestHandler):
    """Answers GETs from `script` (status, retry-after) in order; then 200 forever."""

    script: ClassVar[list[tuple[int, str | None]]] = []
    forever: ClassVar[tuple[int, str | None] | None] = None
    hits: ClassVar[int] = 0
    drop_first: ClassVar[int] = 0

    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802 - the http.server API
        cls = type(self)
        cls.hits += 1
        if cls.drop_first > 0:
            cls.drop_first -= 1
            self.close_connection = True  # hang up without an answer
            return
        if cls.script:
            status, retry_after = cls.script.pop(0)
        elif cls.forever is not None:
            status, retry_after = cls.forever
        else:
            status, retry_after = 200, None
        if status == 200:
            self.send_response(200)
            self.send_header("Content-Type", "text/calendar")
            self.send_header("Content-Length", str(len(CAL)))
            self.end_headers()
            self.wfile.write(CAL)
            return
        self.send_response(status)
        if retry_after is not None:
            self.send_header("Retry-After", retry_after)
        self.send_header("Content-Length", "0")
        self.end_headers()


@pytest.fixture()
def server() -> Iterator[str]:
    _Scripted.script, _Scripted.forever, _Scripted.hits = [], None, 0
    _Scripted.drop_first = 0
    with serving(_Scripted) as url:
        yield f"{url}/plan.ics"


def _settings(url: str) -> SourceSettings:
    return SourceSettings(type="ics", url=url, name="coach", timeout_seconds=5)


def _config(tmp_path: Path, url: str) -> str:
    cfg = tmp_path / "config.toml"
    cfg.write_text(
        '[schedule]\ntimezone = "UTC"\n'
        f'[[source]]\ntype = "ics"\nurl = "{url}"\nname = "coach"\n'
        '[output.ics]\npath = "out.ics"\n[state]\npath = "state/state.sqlite3"\n',
        encoding="utf-8",
    )
    return str(cfg)


def test_503_twice_then_200_syncs(
    server: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], fast_retries: None
) -> None:
    _Scripted.script = [(503, "1"), (503, "1")]
    code = main(["--config", _config(tmp_path, server), "--now", "2026-11-20T08:00", "sync"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert _Scripted.hits == 3
    assert (tmp_path / "out.ics").exists()
    assert "created" in out


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
def test_transient_statuses_are_retried(server: str, status: int, fast_retries: None) -> None:
    _Scripted.script = [(status, None)]
    assert fetch(_settings(server)) == CAL
    assert _Scripted.hits == 2


def test_a_dropped_connection_is_retried(server: str, fast_retries: None) -> None:
    _Scripted.drop_first = 2
    assert fetch(_settings(server)) == CAL
    assert _Scripted.hits == 3


@pytest.mark.parametrize("status", [401, 403, 404, 410])
def test_a_refusal_is_not_retried(
    server: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], status: int
) -> None:
    _Scripted.forever = (status, None)
    code = main(["--config", _config(tmp_path, server), "--now", "2026-11-20T08:00", "sync"])
    _, err = capsys.readouterr()
    assert code == 1, err
    assert _Scripted.hits == 1
    assert f"answered HTTP {status}" in err and "attempts" not in err


def test_always_503_fails_after_the_bounded_attempts_with_one_line(
    server: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], fast_retries: None
) -> None:
    _Scripted.forever = (503, "2")
    code = main(["--config", _config(tmp_path, server), "--now", "2026-11-20T08:00", "sync"])
    out, err = capsys.readouterr()
    assert code == 1, err
    policy = fetch_policy(_settings(server))
    assert _Scripted.hits == policy.max_attempts == 4
    # Apart from the retry log (one warning per wait), one line: the error.
    lines = [line for line in err.splitlines() if "network call failed" not in line]
    assert len(lines) == 1, err
    assert lines[0].startswith("calsync: error: coach (http://127.0.0.1:")
    tried = f"answered HTTP 503 Service Unavailable (gave up after {policy.max_attempts} attempts"
    assert tried in lines[0]
    assert "Traceback" not in err
    assert not (tmp_path / "out.ics").exists()


def test_a_retry_after_past_the_budget_is_not_waited_for(
    server: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], fast_retries: None
) -> None:
    # One hour, even scaled down a thousandfold, is past the budget: give up at once
    # rather than hang a timer run.
    _Scripted.forever = (503, "3600000")
    code = main(["--config", _config(tmp_path, server), "--now", "2026-11-20T08:00", "sync"])
    _, err = capsys.readouterr()
    assert code == 1, err
    assert _Scripted.hits == 1
    assert "asked to retry after 3600000 s, longer than calsync waits" in err


def test_the_budget_is_bounded_by_the_timeout() -> None:
    p = fetch_policy(SourceSettings(type="ics", url="http://x/", timeout_seconds=20))
    assert p.max_attempts == 4
    # total = waits (≤ max_seconds) + one more attempt's timeout: a timer run ends.
    assert p.max_seconds == 40.0
