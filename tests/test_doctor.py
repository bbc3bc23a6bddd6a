"""`calsync doctor` tests what it lists: each broken part gets a ✗ line with its fix,
and any ✗ makes the exit status 1. Real servers: a local HTTP feed, Radicale."""

from __future__ import annotations

import http.server
import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from calsync.cli import main
from tests.fakes.radicale_server import running_radicale
from tests.goldens import check
from tests.helpers import serving

CALENDARS = Path(__file__).parent / "calendars"
NOW = "2026-11-30T07:00"


class _Feed(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802 - the http.server API
        if self.path != "/plan.ics":
            self.send_error(404, "Not Found")
            return
        body = (CALENDARS / "display_width_titles.ics").read_bytes()
        if self.headers.get("If-None-Match") == '"v1"':
            self.send_response(304)
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("ETag", '"v1"')
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture()
def feed() -> Iterator[str]:
    with serving(_Feed) as url:
        yield url


def _config(tmp_path: Path, source: str, extra: str = "") -> Path:
    cfg = tmp_path / "config.toml"
    cfg.write_text(
        f'[schedule]\ntimezone = "Europe/Berlin"\n[[source]]\n{source}\n'
        f'[output.ics]\npath = "out/strength.ics"\n[state]\npath = "state/state.sqlite3"\n'
        f"{extra}",
        encoding="utf-8",
    )
    return cfg


def doctor(capsys: pytest.CaptureFixture[str], cfg: Path) -> tuple[int, str]:
    code = main(["--config", str(cfg), "--now", NOW, "doctor"])
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    text = out.replace(str(cfg.parent), "<tmp>")
    return code, re.sub(r"127\.0\.0\.1:\d+", "127.0.0.1:<port>", text)


def crosses(text: str) -> list[str]:
    return [ln for ln in text.splitlines() if ln.startswith("✗")]


def test_all_good_after_a_sync_exits_0(
    tmp_path: Path, feed: str, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = _config(tmp_path, f'type = "ics"\nurl = "{feed}/plan.ics"\nname = "plan"')
    assert main(["--config", str(cfg), "--now", NOW, "sync"]) == 0
    capsys.readouterr()
    code, out = doctor(capsys, cfg)
    check("doctor_ok.txt", out)
    assert code == 0 and not crosses(out)
    # The source was fetched for real, with the validator the sync kept: a 304.
    assert "plan (http://127.0.0.1:<port>/plan.ics) (runs): 10 events in the window" in out
    assert "(not modified since the last sync)" in out


def test_every_broken_part_is_a_cross_with_its_fix(
    tmp_path: Path, feed: str, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = _config(
        tmp_path,
        f'type = "ics"\nurl = "{feed}/gone.ics"\nname = "coach"',
        '[feed]\nlisten = "127.0.0.1:8765"\n[output.google]\ncalendar = "Strength"\n'
        '[google]\napi_endpoint = "http://127.0.0.1:9/"\n',
    )
    # A sync that failed (the 404), a token file others can read, an output path
    # under a file.
    assert main(["--config", str(cfg), "--now", NOW, "sync"]) == 1
    (tmp_path / "state" / "feed-token").write_text("0123456789abcdefghijkl\n")
    os.chmod(tmp_path / "state" / "feed-token", 0o644)
    (tmp_path / "out").write_text("not a folder")
    capsys.readouterr()
    code, out = doctor(capsys, cfg)
    check("doctor_broken.txt", out)
    assert code == 1
    names = [ln.split()[1] for ln in crosses(out)]
    assert names == ["source", "output", "google", "feed", "last"]
    # Every ✗ is followed by its fix.
    lines = out.splitlines()
    for i, ln in enumerate(lines):
        if ln.startswith("✗"):
            assert lines[i + 1].strip().startswith("fix: "), ln
    assert out.rstrip().endswith("5 problems found.")


@pytest.mark.parametrize("case", ["404", "not ics", "output", "token mode", "last sync"])
def test_each_cross_alone_exits_1(
    tmp_path: Path, feed: str, capsys: pytest.CaptureFixture[str], case: str
) -> None:
    url = {"404": f"{feed}/gone.ics", "not ics": str(CALENDARS / "not_an_ics_file.ics")}.get(
        case, str(CALENDARS / "display_width_titles.ics")
    )
    cfg = _config(tmp_path, f'type = "ics"\nurl = "{url}"')
    if case == "output":
        (tmp_path / "out").mkdir()
        (tmp_path / "out" / "strength.ics").write_text("BEGIN:VCALENDAR\nPRODID:-//Other//\n")
    if case == "token mode":
        (tmp_path / "state").mkdir()
        (tmp_path / "state" / "feed-token").write_text("0123456789abcdefghijkl\n")
        os.chmod(tmp_path / "state" / "feed-token", 0o640)
    if case == "last sync":
        shutil.copy(CALENDARS / "empty_calendar.ics", tmp_path / "plan.ics")
        bad = _config(tmp_path, 'type = "ics"\nurl = "plan.ics"')
        assert main(["--config", str(bad), "--now", NOW, "sync"]) == 1
        cfg = _config(tmp_path, f'type = "ics"\nurl = "{url}"')
    capsys.readouterr()
    code, out = doctor(capsys, cfg)
    assert code == 1
    assert len(crosses(out)) == 1, out
    assert out.rstrip().endswith("1 problem found.")


def test_caldav_wrong_password_is_a_cross(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with running_radicale(tmp_path / "dav", {"alice": "right"}) as server:
        pw = tmp_path / "pw"
        pw.write_text("wrong\n")
        os.chmod(pw, 0o600)
        cfg = _config(
            tmp_path,
            f'type = "caldav"\nurl = "{server.url}"\nusername = "alice"\n'
            f'password_file = "pw"\ncalendar = "Training"',
        )
        code, out = doctor(capsys, cfg)
    assert code == 1
    (cross,) = crosses(out)
    assert cross.startswith("✗ source")
    assert "fix: " in out.split(cross, 1)[1].splitlines()[1]


@pytest.mark.parametrize(
    ("content", "fix"),
    [
        (None, "write the password into"),
        ("", "write the password as the first line"),
        (b"\xff\xfe\n", "UTF-8 text file"),
    ],
)
def test_caldav_password_file_problem_names_the_file_not_the_network(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    content: str | bytes | None,
    fix: str,
) -> None:
    # The password file is read before any request: no server is needed to see the cross,
    # and "check the network" would send the runner the wrong way.
    pw = tmp_path / "pw"
    if content is not None:
        pw.write_bytes(content if isinstance(content, bytes) else content.encode())
        os.chmod(pw, 0o600)
    cfg = _config(
        tmp_path,
        'type = "caldav"\nurl = "http://127.0.0.1:9/dav/"\nusername = "alice"\n'
        'password_file = "pw"\ncalendar = "Training"',
    )
    code, out = doctor(capsys, cfg)
    assert code == 1
    (cross,) = crosses(out)
    assert cross.startswith("✗ source") and "password_file" in cross
    fix_line = out.split(cross, 1)[1].splitlines()[1]
    assert fix in fix_line and "network" not in fix_line


def test_a_symlinked_output_is_checked_where_it_points(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], feed: str
) -> None:
    # The calendar is written through the link, next to its target: a target under a
    # plain file can never be written, though the link's own folder is fine.
    (tmp_path / "not-a-folder").write_text("x")
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "strength.ics").symlink_to(tmp_path / "not-a-folder" / "strength.ics")
    cfg = _config(tmp_path, f'type = "ics"\nurl = "{feed}/plan.ics"')
    code, out = doctor(capsys, cfg)
    assert code == 1
    (cross,) = crosses(out)
    assert cross.startswith("✗ output") and "not-a-folder is not a folder" in cross
