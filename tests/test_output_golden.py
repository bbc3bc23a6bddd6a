"""Golden output of `calsync sync`, `plan` and `classify`, as a runner reads it.

The calendars (tests/calendars/display_width_*.ics) hold emoji, Japanese and Chinese
titles, a day with two runs, an all-day run, a meeting that pushes a session later and a
week the runner filled with their own gym sessions. Besides the golden files
(tests/golden/, readable), each test checks what a golden would not say by itself:
every line fits the width, and the columns line up by display width.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from calsync.cli import main
from tests.goldens import check, cols, plain
from tests.helpers import RUNS_AND_WORK_CONFIG as CONFIG

CALENDARS = Path(__file__).parent / "calendars"
NOW = "2026-11-30T07:00"  # Monday morning, Europe/Berlin


@pytest.fixture()
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    shutil.copy(CALENDARS / "display_width_titles.ics", tmp_path / "plan.ics")
    shutil.copy(CALENDARS / "display_width_busy.ics", tmp_path / "work.ics")
    (tmp_path / "config.toml").write_text(CONFIG, encoding="utf-8")
    monkeypatch.delenv("COLUMNS", raising=False)
    monkeypatch.delenv("NO_COLOR", raising=False)
    return tmp_path


def run(capsys: pytest.CaptureFixture[str], world: Path, *args: str) -> tuple[int, str, str]:
    code = main(["--config", str(world / "config.toml"), "--now", NOW, *args])
    out, err = capsys.readouterr()
    return code, out.replace(str(world), "<tmp>"), err.replace(str(world), "<tmp>")


# --------------------------------------------------------------------------- sync


def test_sync_prints_sessions_as_days_and_times(
    world: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, first, err = run(capsys, world, "sync")
    assert code == 0, err
    check("sync_first.txt", first)
    # The key (2026-11-30/1, a Monday) never stands for the session (a Tuesday).
    assert "2026-11-30/" not in first
    assert "  + Tue 01 Dec 18:45–19:30  Strength A · build" in first

    # The coach drops Thursday's tempo and the Tuesday meeting runs late: one session
    # moves, one goes.
    plan = world / "plan.ics"
    text = plan.read_text(encoding="utf-8")
    start = text.index("BEGIN:VEVENT\nUID:dw-3@test")
    plan.write_text(text[:start] + text[text.index("END:VEVENT\n", start) + 11 :], "utf-8")
    work = world / "work.ics"
    work.write_text(work.read_text("utf-8").replace("T183000", "T193000"), "utf-8")
    code, second, err = run(capsys, world, "sync")
    assert code == 0, err
    check("sync_changed.txt", second)
    assert "~ Strength A · build: Tue 01 Dec 18:45 → " in second

    code, third, err = run(capsys, world, "sync")
    assert code == 0, err
    assert "ics: 0 created, 0 moved/updated, 0 removed" in third  # CI greps this line
    assert third.splitlines()[1:] == ["<tmp>/out.ics is up to date"]


def test_sync_json_for_programs(world: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, world, "sync", "--dry-run", "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["dry_run"] is True and doc["output"] == {"path": "<tmp>/out.ics", "written": False}
    (ics,) = doc["sinks"]
    assert ics["name"] == "ics" and ics["created"] == len(ics["changes"]) == 2
    first = ics["changes"][0]
    assert first == {
        "action": "create",
        "key": "2026-11-30/1",
        "title": "Strength A · build",
        "start": "2026-12-01T18:45:00+01:00",
        "end": "2026-12-01T19:30:00+01:00",
        "old_start": None,
        "old_end": None,
        "reason": "new session",
    }
    assert not (world / "out.ics").exists()


# --------------------------------------------------------------------------- plan


def _rows(text: str) -> list[str]:
    """The day rows and their continuation lines (not headers, not --explain)."""
    return [ln for ln in plain(text).splitlines() if ln.startswith("  ") and ln[2] != " "]


def _marker_cols(text: str) -> set[int]:
    """Display column where the right column ("→ ..." or "· ...") starts, per day row."""
    found = set()
    for ln in _rows(text):
        i = min((ln.find(m) for m in ("→ ", "· ") if m in ln), default=-1)
        if i >= 0:
            found.add(cols(ln[:i]))
    return found


@pytest.mark.parametrize("width", [80, 160])
def test_plan_fits_the_terminal(
    world: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, width: int
) -> None:
    monkeypatch.setenv("COLUMNS", str(width))
    code, out, err = run(capsys, world, "plan")
    assert code == 0, err
    check(f"plan_{width}.txt", out)
    assert max(cols(ln) for ln in out.splitlines()) <= width
    # Emoji and CJK titles take two columns each: padding by display width keeps the
    # right column in one place on every row.
    assert len(_marker_cols(out)) == 1, _marker_cols(out)
    assert "テンポ走" in out and "🏃‍♀️" in out
    assert "\x1b[" not in out  # not a terminal: no colour
    # The week the runner's own gym sessions filled says so, in the header and the rows.
    assert "target 2 met by your own gym sessions (2)" in out
    assert "H2:" not in out


def test_plan_colour_on_request_and_no_color(
    world: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    code, coloured, _ = run(capsys, world, "plan", "--color=always")
    assert code == 0
    check("plan_80_color.txt", coloured)
    assert plain(coloured) == run(capsys, world, "plan")[1]  # colour adds only codes
    assert max(cols(ln) for ln in coloured.splitlines()) <= 80
    # auto: colour on a terminal, unless NO_COLOR is set; --color=never wins everywhere.
    monkeypatch.setattr("sys.stdout.isatty", lambda: True)
    assert "\x1b[" in run(capsys, world, "plan")[1]
    assert "\x1b[" not in run(capsys, world, "plan", "--color=never")[1]
    monkeypatch.setenv("NO_COLOR", "1")
    assert "\x1b[" not in run(capsys, world, "plan")[1]
    assert "\x1b[" in run(capsys, world, "plan", "--color=always")[1]


def test_plan_one_week_explained_at_80_columns(
    world: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    code, out, err = run(capsys, world, "plan", "--week", "2026-12-03", "--explain")
    assert code == 0, err
    check("plan_week_explain_80.txt", out)
    assert max(cols(ln) for ln in out.splitlines()) <= 80
    assert out.count("Week of ") == 1 and "Week of Mon 30 Nov 2026" in out
    # --explain keeps every rule: the same words as without a width, only wrapped.
    monkeypatch.delenv("COLUMNS")
    wide = run(capsys, world, "plan", "--week", "2026-12-03", "--explain")[1]
    explained = [ln.strip() for ln in wide.splitlines() if ln.strip().startswith(("✓", "✗"))]
    joined = " ".join(out.split())
    assert explained and all(" ".join(e.split()) in joined for e in explained)


def test_plan_week_outside_the_horizon_is_a_usage_error(
    world: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, world, "plan", "--week", "2027-06-01")
    assert code == 2
    assert "2027-06-01 is not in the planned horizon (2026-11-30 to 2026-12-13)" in err


# --------------------------------------------------------------------------- classify


def test_classify_names_its_window_and_zone(
    world: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, world, "classify")
    assert code == 0
    assert out.splitlines()[0] == "Events from 2026-11-27 to 2026-12-30 (Europe/Berlin):"


def test_classify_an_empty_window_says_where_the_events_are(
    world: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, world, "classify", "--from", "2025-01-01", "--to", "2025-03-31")
    assert code == 1  # nothing found is not a success (like grep): scripts notice
    assert out == ""
    check("classify_empty.txt", err)
    # The suggested command covers the file: run it, and every event shows.
    suggestion = err.splitlines()[-1].split("try: calsync classify ")[1].split()
    code, out, _ = run(capsys, world, "classify", *suggestion)
    assert code == 0 and out.count("\n") == 1 + 10


def test_classify_of_calsyncs_own_output_says_so(
    world: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(capsys, world, "sync")[0] == 0
    code, out, err = run(capsys, world, "classify", str(world / "out.ics"))
    assert code == 1 and out == ""
    assert "holds only calsync's own sessions (X-CALSYNC-KEY)" in err
