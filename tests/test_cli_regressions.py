"""Bugs found by driving the real CLI as a runner would; one test per bug, end to end."""

from __future__ import annotations

import http.server
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest

from calsync.cli import main

ROOT = Path(__file__).resolve().parents[1]
# Daily runs and rest days with Chinese titles and floating times, June to August 2025
# (written for these tests after a real plan of that shape).
SAW = ROOT / "tests" / "calendars" / "floating_daily_plan_chinese_titles.ics"
SAW_NOW = "2025-07-10T08:00"


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


class _Feed(http.server.BaseHTTPRequestHandler):
    """Serves SAW whole, or announces it whole and hangs up halfway (`cut`)."""

    cut: ClassVar[bool] = False

    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802 - the http.server API
        body = SAW.read_bytes()
        self.send_response(200)
        self.send_header("Content-Type", "text/calendar")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body[: len(body) // 2] if type(self).cut else body)
        self.close_connection = True


@pytest.fixture()
def feed() -> Iterator[str]:
    _Feed.cut = False
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Feed)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/plan.ics"
    finally:
        httpd.shutdown()
        httpd.server_close()


def _config(tmp_path: Path, url: str, zone: str = "Asia/Shanghai", extra: str = "") -> str:
    cfg = tmp_path / "config.toml"
    cfg.write_text(
        f'[schedule]\ntimezone = "{zone}"\n{extra}\n'
        f'[[source]]\ntype = "ics"\nurl = "{url}"\n'
        '[output.ics]\npath = "out.ics"\n[state]\npath = "state/state.sqlite3"\n',
        encoding="utf-8",
    )
    return str(cfg)


def test_a_download_cut_short_fails_and_keeps_every_session(
    feed: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Found: a server that hung up halfway gave half a calendar, read with a warning, and
    # the sync removed every session after the cut.
    cfg = _config(tmp_path, feed)
    code, out, err = run(capsys, "--config", cfg, "--now", SAW_NOW, "sync")
    assert code == 0, err
    written = (tmp_path / "out.ics").read_bytes()
    _Feed.cut = True
    code, out, err = run(capsys, "--config", cfg, "--now", SAW_NOW, "sync")
    assert code == 1
    assert "removed" not in out
    assert f"{feed}: the download was cut short" in err
    assert "Traceback" not in err
    assert (tmp_path / "out.ics").read_bytes() == written
    # The state kept the last good plan: with the whole feed back, nothing changes.
    _Feed.cut = False
    code, out, err = run(capsys, "--config", cfg, "--now", SAW_NOW, "sync")
    assert code == 0, err
    assert "0 created, 0 moved/updated, 0 removed" in out
    assert (tmp_path / "out.ics").read_bytes() == written


def test_classify_reads_a_pipe(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Found: `calsync classify <(curl ...)` said "file not found" (the path was resolved
    # to /proc/.../pipe:[n]), and a pipe or device was read with no size cap at all.
    r, w = os.pipe()
    body = SAW.read_bytes()

    def write() -> None:
        with os.fdopen(w, "wb") as f:
            f.write(body)

    writer = threading.Thread(target=write)
    writer.start()
    try:
        code, out, err = run(
            capsys, "classify", f"/dev/fd/{r}", "--from", "2025-07-02", "--to", "2025-07-02"
        )
    finally:
        writer.join()
        os.close(r)
    assert code == 0, err
    assert "3.5公里慢跑" in out and "easy" in out


def test_a_device_source_stops_at_max_bytes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # /dev/zero has st_size 0: the cap used to be checked against that, then read forever.
    cfg = tmp_path / "config.toml"
    cfg.write_text(
        '[schedule]\ntimezone = "UTC"\n'
        '[[source]]\ntype = "ics"\nurl = "/dev/zero"\nmax_bytes = 4096\n',
        encoding="utf-8",
    )
    code, _, err = run(capsys, "--config", str(cfg), "--now", SAW_NOW, "classify")
    assert code == 1
    assert "/dev/zero is more than max_bytes (4096) bytes" in err


@pytest.mark.parametrize(
    ("table", "update"),
    [
        ("planned", "UPDATE planned SET start = 'garbage'"),
        ("planned", "UPDATE planned SET start = '2025-07-20T08:00'"),  # no offset
        ("sessions", "UPDATE sessions SET sequence = 'x'"),
    ],
)
def test_a_damaged_state_row_is_a_state_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], table: str, update: str
) -> None:
    # Found: a state file with a hand-edited or damaged row made `sync` and `plan` die with
    # "internal error: ValueError" (exit 70) instead of naming the file.
    import sqlite3

    cfg = _config(tmp_path, str(SAW))
    code, _, err = run(capsys, "--config", cfg, "--now", SAW_NOW, "sync")
    assert code == 0, err
    written = (tmp_path / "out.ics").read_bytes()
    db = tmp_path / "state" / "state.sqlite3"
    with sqlite3.connect(db) as conn:
        conn.execute(update)
    conn.close()
    code, out, err = run(capsys, "--config", cfg, "--now", SAW_NOW, "sync")
    assert code == 1, err
    assert f"{db}: a row of table '{table}' cannot be read" in err
    assert "internal error" not in err and "Traceback" not in err
    assert (tmp_path / "out.ics").read_bytes() == written


def test_another_programs_sqlite_file_is_refused_untouched(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Found: [state] path pointing at another program's SQLite database (schema version 0)
    # was "migrated": calsync added its tables to it and switched it to WAL.
    import sqlite3

    db = tmp_path / "state" / "state.sqlite3"
    db.parent.mkdir()
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE bookmarks (url TEXT)")
    conn.close()
    before = db.read_bytes()
    cfg = _config(tmp_path, str(SAW))
    code, _, err = run(capsys, "--config", cfg, "--now", SAW_NOW, "sync")
    assert code == 1
    assert f"{db}: not a calsync state file (it holds other tables: bookmarks)" in err
    assert db.read_bytes() == before
    assert not (tmp_path / "out.ics").exists()


class _Loop(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802 - the http.server API
        self.send_response(302)
        self.send_header("Location", self.path)
        self.send_header("Content-Length", "0")
        self.end_headers()


def test_a_redirect_loop_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    # Found: urllib's redirect-loop reason is three lines ("...infinite loop.\nThe last
    # 30x error message was:\nFound"), printed as the error.
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Loop)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{httpd.server_address[1]}/plan.ics"
    try:
        code, _, err = run(capsys, "classify", url)
    finally:
        httpd.shutdown()
        httpd.server_close()
    assert code == 1
    assert err == f"calsync: error: {url} redirects in a loop or too often (last: HTTP 302)\n"


def test_an_output_path_holding_the_runners_own_calendar_is_not_replaced(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Found: [output.ics] path set to an existing calendar (here the training plan itself)
    # replaced it with calsync's sessions: the runner's events were gone.
    mine = SAW.read_bytes()
    (tmp_path / "out.ics").write_bytes(mine)
    cfg = _config(tmp_path, str(SAW))
    for extra in (["--dry-run"], []):
        code, out, err = run(capsys, "--config", cfg, "--now", SAW_NOW, "sync", *extra)
        assert code == 1
        assert f"{tmp_path / 'out.ics'} exists and was not written by calsync" in err
        assert (tmp_path / "out.ics").read_bytes() == mine
    # An empty file (`touch out.ics`) is fine, and calsync's own file is rewritten in place.
    (tmp_path / "out.ics").write_bytes(b"")
    code, out, err = run(capsys, "--config", cfg, "--now", SAW_NOW, "sync")
    assert code == 0, err
    assert b"X-CALSYNC-KEY" in (tmp_path / "out.ics").read_bytes()
    code, out, err = run(capsys, "--config", cfg, "--now", SAW_NOW, "sync")
    assert code == 0, err
    assert "0 created, 0 moved/updated, 0 removed" in out


@pytest.mark.parametrize(
    "args",
    [
        ["--now", "9999-12-31T23:00", "plan"],
        ["--now", "0001-01-10T00:00", "plan"],
        ["classify", str(SAW), "--from", "0001-01-01"],
        ["classify", str(SAW), "--to", "9999-12-31"],
    ],
)
def test_years_out_of_reach_are_usage_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str]
) -> None:
    # Found: --now or --from/--to near year 1 or 9999 ended in "internal error:
    # OverflowError: date value out of range" (exit 70).
    cfg = _config(tmp_path, str(SAW))
    code, _, err = run(capsys, "--config", cfg, *args)
    assert code == 2, err
    assert "is outside the years 1900..9000" in err
    assert "internal error" not in err


RUNAWAY = ROOT / "tests" / "calendars" / "rrule_secondly_minutely_runaway.ics"


@pytest.mark.timeout(60)
def test_a_secondly_or_minutely_rrule_is_skipped_not_expanded(
    capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    # Found: one event with RRULE:FREQ=SECONDLY (from 2020) made classify and sync spin
    # for minutes expanding it up to the window; MINUTELY gave thousands of "runs".
    code, out, err = run(
        capsys, "classify", str(RUNAWAY), "--from", "2026-12-01", "--to", "2026-12-14"
    )
    assert code == 0, err
    # (warnings go to the log; the CLI's stderr handler is bound to the first test's stderr)
    assert "UID 'every-second@test': RRULE repeats secondly" in caplog.text
    assert "UID 'every-minute@test': RRULE repeats minutely" in caplog.text
    assert out.count("Tempo run 6 mi") == 2  # the rest of the calendar is still read
    assert "Easy run" not in out and "Recovery jog" not in out


@pytest.mark.parametrize("listen", ["999.1.1.1:8765", "256.0.0.1:8765"])
def test_serve_on_an_impossible_address_is_a_config_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], listen: str
) -> None:
    # Found: `calsync serve --listen 999.1.1.1:80` (or that [feed] listen) passed the
    # HOST:PORT check, then waitress's ValueError came out as an internal error (exit 70).
    cfg = _config(tmp_path, str(SAW))
    code, _, err = run(capsys, "--config", cfg, "serve", "--listen", listen)
    assert code == 1, err
    assert f"cannot listen on {listen}" in err
    assert "internal error" not in err


def test_errors_do_not_print_a_feed_token_or_password(
    feed: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Found: the source label redacts the URL, but every fetch error then added the raw
    # URL in parentheses ("http://host/….ics?… (http://host/private-….ics?token=...)"),
    # and `classify URL` used the raw URL as the source's name: the secret was printed.
    _Feed.cut = True  # any fetch error will do
    secret = "private-abcdefghijklmnopqrstuvwxyz0123456789"
    url = feed.replace("/plan.ics", f"/{secret}.ics?token=SECRET42")
    cfg = _config(tmp_path, url)
    for args in (["--config", cfg, "--now", SAW_NOW, "classify"], ["classify", url]):
        code, _, err = run(capsys, *args)
        assert code == 1
        assert "the download was cut short" in err
        assert secret not in err and "SECRET42" not in err
        assert "/….ics?…" in err


def test_a_config_saved_with_a_byte_order_mark_is_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Found: a config saved by a Windows editor (UTF-8 with BOM) was refused with
    # "not valid TOML: Invalid statement (at line 1, column 1)": an invisible cause.
    cfg = Path(_config(tmp_path, str(SAW)))
    cfg.write_bytes(b"\xef\xbb\xbf" + cfg.read_bytes())
    code, out, err = run(capsys, "--config", str(cfg), "--now", SAW_NOW, "plan", "--json")
    assert code == 0, err
    assert '"timezone": "Asia/Shanghai"' in out


def test_a_password_in_a_feed_url_gets_a_clear_message(
    feed: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Found: http://user:password@host/plan.ics failed with "cannot reach the server:
    # Name or service not known" (urllib took "user:password@host" for the host name).
    url = feed.replace("http://", "http://alice:s3cret@")
    code, _, err = run(capsys, "--config", _config(tmp_path, url), "--now", SAW_NOW, "classify")
    assert code == 1
    assert "a user name or password in the URL is not supported" in err
    assert "s3cret" not in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--to", "2020-01-01"], "--to is before the default start (2025-07-04)"),
        (["--from", "2030-01-01"], "the default end (2025-08-24) is before --from"),
        (["--from", "2025-08-01", "--to", "2025-07-01"], "--to is before --from"),
    ],
)
def test_an_empty_classify_window_names_the_ends_given(
    capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    # Found: `classify --to 2020-01-01` alone said "--to is before --from".
    code, _, err = run(capsys, "--now", SAW_NOW, "classify", str(SAW), *args)
    assert code == 2
    assert message in err
