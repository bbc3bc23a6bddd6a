"""The command line, end to end on real files: the example sync, errors, exit codes."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import icalendar
import pytest

from calsync.cli import main

ROOT = Path(__file__).resolve().parents[1]
NOW = "2026-11-30T07:00"  # a Monday morning in the example's zone (America/New_York)


@pytest.fixture
def example(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The shipped example config and calendars, copied so outputs land in tmp_path."""
    shutil.copy(ROOT / "config.example.toml", tmp_path / "config.toml")
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))  # no user config can leak in
    monkeypatch.delenv("CALSYNC_CONFIG", raising=False)
    return tmp_path


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_example_sync_writes_sessions_then_changes_nothing(
    example: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = str(example / "config.toml")
    code, out, err = run(capsys, "--config", cfg, "--now", NOW, "sync")
    assert code == 0, err
    assert "created" in out
    out_file = example / "strength.ics"
    first = out_file.read_bytes()
    cal = icalendar.Calendar.from_ical(first)
    events = list(cal.walk("VEVENT"))
    assert len(events) >= 6  # 28 days at two a week, less a taper week
    assert all(e.get("X-CALSYNC-KEY") for e in events)
    mtime = out_file.stat().st_mtime_ns

    code, out, err = run(capsys, "--config", cfg, "--now", NOW, "sync")
    assert code == 0, err
    assert "0 created, 0 moved/updated, 0 removed" in out
    assert out_file.read_bytes() == first
    assert out_file.stat().st_mtime_ns == mtime


def test_dry_run_writes_nothing(example: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys, "--config", str(example / "config.toml"), "--now", NOW, "sync", "--dry-run"
    )
    assert code == 0
    assert "would be" in out
    assert not (example / "strength.ics").exists()


def test_plan_json_follows_the_documented_schema(
    example: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(
        capsys, "--config", str(example / "config.toml"), "--now", NOW, "plan", "--json"
    )
    assert code == 0, err
    doc = json.loads(out)
    assert doc["timezone"] == "America/New_York"
    assert {"version", "now", "sessions", "days", "weeks", "notes"} <= doc.keys()
    assert len(doc["days"]) == 28
    for s in doc["sessions"]:
        assert {"key", "start", "end", "title", "phase", "reason", "rules", "workout"} <= s.keys()
        assert s["start"].endswith(("-05:00", "-04:00"))  # ISO 8601 with the offset
        assert s["workout"]["exercises"]
    day_keys = {k for d in doc["days"] for k in d["sessions"]}
    assert day_keys == {s["key"] for s in doc["sessions"] if not s["past"]}
    for d in doc["days"]:
        if not d["sessions"]:
            assert d["blocked"] or d["note"], d  # every empty day says why
    # Tuesdays hold intervals: hard days get the sessions, after the run.
    tuesdays = [d for d in doc["days"] if d["weekday"] == "Tuesday"]
    assert all(d["kind"] == "hard" for d in tuesdays)
    assert any(d["sessions"] for d in tuesdays)


def test_plan_text_is_a_week_table(example: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys, "--config", str(example / "config.toml"), "--now", NOW, "plan", "--explain"
    )
    assert code == 0
    assert "Week of Mon 30 Nov 2026" in out
    assert "  Tue 01  hard  06:30 Intervals: 6 x 800m @ 5K pace  " in out
    assert "✗ H3" in out and "✓ H1" in out


def test_classify_a_file_without_any_config(
    example: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(
        capsys,
        "--now",
        NOW,
        "classify",
        str(example / "examples" / "plan.ics"),
        "--from",
        "2026-11-30",
        "--to",
        "2026-12-06",
        "--json",
    )
    assert code == 0, err
    rows = json.loads(out)
    by_summary = {r["summary"]: r for r in rows}
    assert by_summary["Intervals: 6 x 800m @ 5K pace"]["intensity"] == "hard"
    assert by_summary["Recovery run 4 mi"]["intensity"] == "easy"
    assert by_summary["Rest day"]["is_run"] is False
    assert by_summary["Rest day"]["all_day"] is True
    for r in rows:
        assert {"uid", "summary", "start", "end", "is_run", "intensity", "strength", "reason"} <= (
            r.keys()
        )
        assert r["reason"]
    assert len(rows) == 7  # Mon rest, Tue, Wed, Thu, Fri rest, Sat, Sun: 5 runs + 2 rest days


def test_config_errors_are_one_message_and_exit_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text("[schedule]\ntimezon = 'UTC'\n[rules]\nsessions_per_week = 9\n")
    code, out, err = run(capsys, "--config", str(cfg), "plan")
    assert code == 1
    assert str(cfg) in err
    assert "schedule.timezon: unknown key (did you mean 'timezone'?)" in err
    assert "rules.sessions_per_week" in err
    assert "Traceback" not in err

    code, _, err = run(capsys, "--config", str(cfg), "-v", "plan")
    assert code == 1
    assert "Traceback" in err


def test_a_broken_source_names_the_file_and_writes_nothing(
    example: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plan = example / "examples" / "plan.ics"
    plan.write_text("this is not a calendar\n")
    code, _, err = run(capsys, "--config", str(example / "config.toml"), "--now", NOW, "sync")
    assert code == 1
    assert str(plan) in err or "plan.ics" in err
    assert "Traceback" not in err
    assert not (example / "strength.ics").exists()


def test_a_bad_now_is_a_usage_error(example: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "--config", str(example / "config.toml"), "--now", "tuesday", "plan")
    assert code == 2
    assert "ISO 8601" in err


def test_the_sync_refuses_to_wipe_every_session_when_runs_vanish(
    example: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = str(example / "config.toml")
    assert run(capsys, "--config", cfg, "--now", NOW, "sync")[0] == 0
    before = (example / "strength.ics").read_bytes()
    # The feed now only holds an old event: the window has no runs at all.
    (example / "examples" / "plan.ics").write_text(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//t//EN\r\nBEGIN:VEVENT\r\n"
        "UID:old@t\r\nDTSTAMP:20200101T000000Z\r\nDTSTART:20200101T070000Z\r\n"
        "DTEND:20200101T080000Z\r\nSUMMARY:Easy run\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    code, _, err = run(capsys, "--config", cfg, "--now", NOW, "sync")
    assert code == 1
    assert "--force" in err
    assert (example / "strength.ics").read_bytes() == before
    code, out, err = run(capsys, "--config", cfg, "--now", NOW, "sync", "--force")
    assert code == 0, err
    assert "removed" in out


def test_python_dash_m_calsync_runs(example: Path) -> None:
    env = {**os.environ, "HOME": str(example / "home")}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "calsync",
            "--config",
            str(example / "config.toml"),
            "--now",
            NOW,
            "plan",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "Week of" in proc.stdout


@pytest.mark.parametrize("later", ["2026-12-02T07:00", "2026-12-03T12:00", "2026-12-08T20:00"])
def test_time_passing_rewrites_nothing(
    example: Path, capsys: pytest.CaptureFixture[str], later: str
) -> None:
    """Sessions becoming history, or frozen near their start, keep the words they had."""
    cfg = str(example / "config.toml")
    assert run(capsys, "--config", cfg, "--now", NOW, "sync")[0] == 0
    code, out, err = run(capsys, "--config", cfg, "--now", later, "sync")
    assert code == 0, err
    assert ", 0 moved/updated, 0 removed" in out, out


def _keys(path: Path) -> set[str]:
    return {
        str(e["X-CALSYNC-KEY"])
        for e in icalendar.Calendar.from_ical(path.read_bytes()).walk("VEVENT")
    }


def test_history_is_let_go_after_its_retention(
    example: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Past sessions stay in the calendar for a while, then leave the file and the state."""
    import sqlite3

    cfg = str(example / "config.toml")
    out_file = example / "strength.ics"
    assert run(capsys, "--config", cfg, "--now", NOW, "sync")[0] == 0
    first_keys = _keys(out_file)
    assert run(capsys, "--config", cfg, "--now", "2026-12-30T07:00", "sync")[0] == 0
    assert first_keys <= _keys(out_file)  # a month on, the first sessions are still there
    for later in ("2027-01-30T07:00", "2027-03-30T07:00", "2027-05-30T07:00"):
        assert run(capsys, "--config", cfg, "--now", later, "sync")[0] == 0
    assert not first_keys & _keys(out_file)  # six months on, they are gone from the file
    db = sqlite3.connect(example / "calsync-state" / "state.sqlite3")
    stored = {k for (k,) in db.execute("SELECT key FROM sessions")}
    db.close()
    assert not first_keys & stored  # ... and from the state


def test_an_empty_busy_calendar_is_a_warning_an_empty_plan_an_error(
    example: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    empty = (ROOT / "tests" / "calendars" / "empty_calendar.ics").read_bytes()
    cfg = str(example / "config.toml")
    (example / "examples" / "work.ics").write_bytes(empty)  # a quiet work calendar
    code, out, err = run(capsys, "--config", cfg, "--now", NOW, "sync")
    assert code == 0, err
    assert "holds no events" in err and "work" in err
    (example / "examples" / "plan.ics").write_bytes(empty)  # a training plan gone empty
    code, _, err = run(capsys, "--config", cfg, "--now", NOW, "sync")
    assert code == 1
    assert "training plan" in err and "holds no events" in err


ONE_HARD_DAY = """BEGIN:VCALENDAR\r
VERSION:2.0\r
PRODID:-//t//one hard day a week//EN\r
BEGIN:VEVENT\r
UID:tue@t\r
DTSTAMP:20260101T000000Z\r
DTSTART;TZID=America/New_York:20260106T063000\r
DTEND;TZID=America/New_York:20260106T073000\r
RRULE:FREQ=WEEKLY;BYDAY=TU\r
SUMMARY:Hill repeats 8 x 90 s\r
END:VEVENT\r
BEGIN:VEVENT\r
UID:easy@t\r
DTSTAMP:20260101T000000Z\r
DTSTART;TZID=America/New_York:20260107T063000\r
DTEND;TZID=America/New_York:20260107T071500\r
RRULE:FREQ=WEEKLY;BYDAY=MO,WE,TH,FR,SA,SU\r
SUMMARY:Easy run 5 mi\r
END:VEVENT\r
END:VCALENDAR\r
"""


def test_templates_alternate_when_only_one_session_fits_a_week(
    example: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """One hard day a week and no rest day: one session a week, and still A, B, A, B."""
    (example / "examples" / "plan.ics").write_text(ONE_HARD_DAY, newline="")
    code, out, err = run(
        capsys, "--config", str(example / "config.toml"), "--now", NOW, "plan", "--json"
    )
    assert code == 0, err
    sessions = sorted(json.loads(out)["sessions"], key=lambda s: s["start"])
    templates = [s["workout"]["template"] for s in sessions]
    assert len(templates) >= 3, sessions
    assert all(a != b for a, b in zip(templates, templates[1:], strict=False)), templates


def test_sync_says_whether_it_wrote_the_file(
    example: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = str(example / "config.toml")
    out_file = example / "strength.ics"
    assert f"wrote {out_file}" in run(capsys, "--config", cfg, "--now", NOW, "sync")[1]
    assert f"{out_file} is up to date" in run(capsys, "--config", cfg, "--now", NOW, "sync")[1]
    before = out_file.read_bytes()
    out_file.unlink()  # deleted by hand: the next sync puts the same calendar back
    assert f"wrote {out_file}" in run(capsys, "--config", cfg, "--now", NOW, "sync")[1]
    assert out_file.read_bytes() == before
