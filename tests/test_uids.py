"""UIDs unique per install (calsync.uids), and an install from before keeps its UIDs."""

from __future__ import annotations

import shutil
from pathlib import Path

import icalendar
import pytest

from calsync.cli import main
from calsync.state import StateStore
from calsync.uids import load
from tests.helpers import RUNS_AND_WORK_CONFIG as CONFIG

CALENDARS = Path(__file__).parent / "calendars"
STATES = Path(__file__).parent / "states"
NOW = "2026-11-30T07:00"


def install(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(CALENDARS / "display_width_titles.ics", folder / "plan.ics")
    shutil.copy(CALENDARS / "display_width_busy.ics", folder / "work.ics")
    (folder / "config.toml").write_text(CONFIG, encoding="utf-8")
    return folder / "config.toml"


def sync(capsys: pytest.CaptureFixture[str], cfg: Path, now: str = NOW) -> str:
    code = main(["--config", str(cfg), "--now", now, "sync"])
    out, err = capsys.readouterr()
    assert code == 0, err
    return out


def uids(path: Path) -> dict[str, str]:
    """X-CALSYNC-KEY -> UID of every event in an ICS file."""
    cal = icalendar.Calendar.from_ical(path.read_bytes())
    return {str(e["X-CALSYNC-KEY"]): str(e["UID"]) for e in cal.walk("VEVENT")}


def test_two_installs_write_uids_that_do_not_overlap(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a, b = install(tmp_path / "alice"), install(tmp_path / "bob")
    sync(capsys, a)
    sync(capsys, b)
    ua, ub = uids(a.parent / "out.ics"), uids(b.parent / "out.ics")
    assert ua.keys() == ub.keys() and len(ua) == 2  # the same plan, the same keys...
    assert not set(ua.values()) & set(ub.values())  # ...under UIDs of their own
    assert all(u.endswith(".calsync") and "@" in u for u in ua.values())
    # The busy feed too: its UIDs differ from the strength feed's and between installs.
    with StateStore(a.parent / "state" / "state.sqlite3").reader() as view:
        ns = view.uid_namespace()
        busy = view.feed("busy.ics")
    assert ns is not None and len(ns) == 16
    assert busy is not None and f".busy@{ns}.calsync".encode() in busy.body
    # Stable: a second sync keeps them, and writes nothing.
    assert "0 created, 0 moved/updated, 0 removed" in sync(capsys, a)
    assert uids(a.parent / "out.ics") == ua


def test_an_install_from_before_keeps_its_uids(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = install(tmp_path)
    (tmp_path / "state").mkdir()
    shutil.copy(STATES / "v2_before_uid_namespace.sqlite3", tmp_path / "state" / "state.sqlite3")
    out = sync(capsys, cfg)
    # No session re-created (subscribers would see them deleted and added again); the
    # titles' new scheme is an update in place.
    assert "ics: 0 created" in out and " 0 removed" in out
    assert uids(tmp_path / "out.ics") == {
        "2026-11-30/1": "2026-11-30-1@calsync",
        "2026-11-30/2": "2026-11-30-2@calsync",
    }
    # Sessions it plans from now on get the install's namespace: the coach adds a week.
    plan = tmp_path / "plan.ics"
    extra = "".join(
        f"BEGIN:VEVENT\nUID:later-{d}@test\nDTSTAMP:20261101T000000Z\nSUMMARY:Intervals 8 x 400m\n"
        f"DTSTART:202612{d}T063000\nDTEND:202612{d}T073000\nEND:VEVENT\n"
        for d in (15, 17)
    )
    plan.write_text(plan.read_text("utf-8").replace("END:VCALENDAR", extra + "END:VCALENDAR"))
    sync(capsys, cfg, "2026-12-08T07:00")
    with StateStore(tmp_path / "state" / "state.sqlite3").reader() as view:
        scheme = load(view)
    assert scheme is not None and scheme.legacy == {"2026-11-30/1", "2026-11-30/2"}
    later = uids(tmp_path / "out.ics")
    new = {k: u for k, u in later.items() if not k.startswith("2026-11-30/")}
    assert new and all(u.endswith(f"@{scheme.namespace}.calsync") for u in new.values())
    assert later["2026-11-30/1"] == "2026-11-30-1@calsync"  # history keeps its UID
