"""GoogleSource against the emulator: mapping to Event, incremental reads, free/busy."""

from __future__ import annotations

import contextlib
import dataclasses
import json
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from calsync.config import SourceSettings, load_config
from calsync.errors import SourceError
from calsync.google import ids
from calsync.model import Role
from calsync.sources.google import GoogleSource
from calsync.state import StateStore
from tests.contracts import SourceContract, Spec
from tests.fakes.google_fixtures import ZONE, GoogleWorld

BERLIN = ZoneInfo(ZONE)
WINDOW = (datetime(2026, 11, 16, tzinfo=BERLIN), datetime(2027, 1, 10, tzinfo=BERLIN))


def _source(world: GoogleWorld, calendar: str = "primary", role: Role = Role.RUNS) -> GoogleSource:
    config = load_config(world.dir / "config.toml")
    return GoogleSource(SourceSettings(type="google", calendar=calendar, role=role), config)


def test_events_map_to_calsync_events(gworld: GoogleWorld) -> None:
    emu = gworld.emu
    emu.user_insert(
        "primary",
        {
            "summary": "Long run 20 km",
            "start": {"date": "2026-11-29"},
            "end": {"date": "2026-11-30"},
        },
    )
    gworld.add_run("Massage", "2026-11-25T12:00:00+01:00", transparency="transparent")
    gworld.add_run(
        "Team run",
        "2026-11-26T19:00:00+01:00",
        attendees=[{"email": "me@x", "self": True, "responseStatus": "declined"}],
    )
    gworld.add_run(
        "Strength A",
        "2026-11-27T18:00:00+01:00",
        extendedProperties={"private": {"calsync": "1", "calsyncKey": "2026-11-23/2"}},
    )
    events = {e.summary: e for e in _source(gworld).read(WINDOW)}
    long_run = events["Long run 20 km"]
    assert long_run.all_day and long_run.start == datetime(2026, 11, 29, tzinfo=BERLIN)
    assert long_run.end - long_run.start == timedelta(days=1)
    assert events["Massage"].busy is False
    assert "Team run" not in events  # declined
    assert events["Strength A"].calsync_key == "2026-11-23/2"
    assert all(e.source == "google:primary" for e in events.values())


def test_incremental_reads_follow_changes_with_one_request(gworld: GoogleWorld) -> None:
    store = StateStore(gworld.dir / "state" / "state.sqlite3")
    src = _source(gworld)
    keep = gworld.add_run("Intervals 6x800m", "2026-11-24T18:00:00+01:00")
    gone = gworld.add_run("Tempo run", "2026-11-26T18:00:00+01:00")
    with store.writer() as tx:
        assert len(src.read(WINDOW, tx)) == 2
    first = gworld.emu.log[-1]
    assert "timeMin" in first.query and "syncToken" not in first.query
    gworld.emu.user_delete("primary", gone)
    gworld.emu.user_patch("primary", keep, {"summary": "Intervals 8x400m"})
    gworld.add_run("Easy run", "2026-11-25T07:00:00+01:00")
    mark = gworld.emu.mark()
    with store.writer() as tx:
        got = sorted(e.summary for e in src.read(WINDOW, tx))
    assert got == ["Easy run", "Intervals 8x400m"]
    log = gworld.emu.since(mark)
    assert len(log) == 1 and "syncToken" in log[0].query
    # A window beyond what the full read covered starts over with a full read.
    later = (WINDOW[0] + timedelta(days=70), WINDOW[1] + timedelta(days=70))
    mark = gworld.emu.mark()
    with store.writer() as tx:
        src.read(later, tx)
    assert "timeMin" in gworld.emu.since(mark)[0].query


def test_busy_calendars_share_their_freebusy_queries(gworld: GoogleWorld) -> None:
    gworld.emu.add_calendar("family@example.com", "Family")
    gworld.write_config(busy=True)
    config = load_config(gworld.dir / "config.toml")
    extra = SourceSettings(type="google", calendar="family@example.com", role=Role.BUSY)
    config = dataclasses.replace(config, sources=(*config.sources, extra))
    gworld.emu.user_insert(
        "work@example.com",
        {
            "summary": "Standup",
            "start": {"dateTime": "2026-11-24T09:00:00+01:00"},
            "end": {"dateTime": "2026-11-24T09:30:00+01:00"},
        },
    )
    gworld.emu.user_insert(
        "family@example.com",
        {
            "summary": "School run",
            "start": {"dateTime": "2026-11-25T08:00:00+01:00"},
            "end": {"dateTime": "2026-11-25T08:30:00+01:00"},
            "transparency": "transparent",
        },
    )
    sources = [GoogleSource(s, config) for s in config.sources if s.role is Role.BUSY]
    mark = gworld.emu.mark()
    work, family = (s.read(WINDOW) for s in sources)
    # Both calendars in each query; the 55-day window in two 30-day queries.
    assert [e.path for e in gworld.emu.since(mark)] == ["/calendar/v3/freeBusy"] * 2
    assert [(e.summary, e.start.astimezone(BERLIN).hour) for e in work] == [("busy", 9)]
    assert family == []  # free (transparent) time is not busy


def test_an_unknown_busy_calendar_is_named(gworld: GoogleWorld) -> None:
    with pytest.raises(SourceError, match="'nobody@example.com'"):
        _source(gworld, "nobody@example.com", Role.BUSY).read(WINDOW)


# --------------------------------------------------------------------------- the contract


class GoogleSourceBackend:
    """The runner's primary calendar in the emulator, filled through the user's hand."""

    def __init__(self, world: GoogleWorld) -> None:
        self.world, self.emu = world, world.emu
        self.store = StateStore(world.dir / "state" / "state.sqlite3")

    def put(self, specs: Sequence[Spec]) -> None:
        for ev in self.emu.events("primary"):
            self.emu.user_delete("primary", ev["id"])
        for s in specs:
            body: dict[str, Any] = {"summary": s.summary}
            if s.all_day:
                d = s.start.date()
                body["start"] = {"date": d.isoformat()}
                body["end"] = {"date": (d + timedelta(days=1)).isoformat()}
            else:
                body["start"] = {"dateTime": s.start.isoformat()}
                body["end"] = {"dateTime": s.end.isoformat()}
            if s.ours is not None:
                body["extendedProperties"] = {"private": {ids.MARK: "1", ids.KEY: s.ours}}
            self.emu.user_insert("primary", body)

    def make_source(self) -> GoogleSource:
        return _source(self.world)

    def fingerprint(self) -> Any:
        return self.emu.events("primary", include_cancelled=True)

    @contextlib.contextmanager
    def broken(self) -> Iterator[None]:
        self.emu.add_fault("status", status=500, count=1000)
        try:
            yield
        finally:
            self.emu.faults.clear()


class TestGoogleSourceContract(SourceContract):
    @pytest.fixture
    def source_backend(self, gworld: GoogleWorld) -> GoogleSourceBackend:  # type: ignore[override]
        return GoogleSourceBackend(gworld)


def test_freebusy_is_asked_in_chunks_google_accepts_and_merged(gworld: GoogleWorld) -> None:
    """Google refuses long ranges (timeRangeTooLong) and more than 50 calendars
    (tooManyCalendarsRequested): calsync splits both and merges the answers."""
    config = load_config(gworld.dir / "config.toml")
    busy = []
    for i in range(60):
        cal = gworld.emu.add_calendar(f"team{i:02d}@example.com", f"Team {i}")
        busy.append(SourceSettings(type="google", calendar=cal, role=Role.BUSY))
    config = dataclasses.replace(config, sources=(*config.sources, *busy))
    long_window = (WINDOW[0], WINDOW[0] + timedelta(days=150))
    for day in (3, 70, 140):  # one busy hour early, mid and late in the window
        start = WINDOW[0] + timedelta(days=day, hours=9)
        gworld.emu.user_insert(
            "team59@example.com",
            {
                "summary": "Meeting",
                "start": {"dateTime": start.isoformat()},
                "end": {"dateTime": (start + timedelta(hours=1)).isoformat()},
            },
        )
    mark = gworld.emu.mark()
    sources = [GoogleSource(s, config) for s in config.sources if s.role is Role.BUSY]
    read = {s.calendar: s.read(long_window) for s in sources}
    log = gworld.emu.since(mark)
    assert log and all(e.status == 200 for e in log), [(e.path, e.status) for e in log]
    assert [e.start.date() for e in read["team59@example.com"]] == [
        (WINDOW[0] + timedelta(days=d)).date() for d in (3, 70, 140)
    ]
    assert read["team00@example.com"] == []


def test_instances_a_this_and_following_edit_removed_live_at_most_a_day(
    gworld: GoogleWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An incremental singleEvents read sends the instances a series still has, never the
    ones a "this and following" edit cut off: the cache re-reads in full daily, and
    keeps only its read window (changes for all time must not pile up in it)."""
    from calsync.sources import google as gsrc

    clock = [datetime(2026, 11, 16, 8, tzinfo=BERLIN)]
    monkeypatch.setattr(gsrc, "_clock", lambda: clock[0])
    store = StateStore(gworld.dir / "state" / "state.sqlite3")
    src = _source(gworld)
    series = gworld.add_run(
        "Intervals 6x800m", "2026-11-24T18:00:00+01:00", recurrence=["RRULE:FREQ=WEEKLY;COUNT=6"]
    )
    with store.writer() as tx:
        assert len(src.read(WINDOW, tx)) == 6
    # The user ends the series after its second week (what the web UI's "this and
    # following" does to the original series), and adds a far-future run.
    gworld.emu.user_patch(
        "primary", series, {"recurrence": ["RRULE:FREQ=WEEKLY;UNTIL=20261202T000000Z"]}
    )
    gworld.add_run("Race in two years", "2028-11-24T10:00:00+01:00")
    clock[0] += timedelta(hours=2)
    with store.writer() as tx:
        src.read(WINDOW, tx)
        cached = tx.google_source_cache("primary")
    assert cached is not None
    assert all("2028" not in json.dumps(e["start"]) for e in cached.events.values())
    clock[0] += timedelta(hours=23)
    mark = gworld.emu.mark()
    with store.writer() as tx:
        runs = src.read(WINDOW, tx)
    assert "syncToken" not in gworld.emu.since(mark)[0].query  # the daily full read
    assert [e.start.date().isoformat() for e in runs] == ["2026-11-24", "2026-12-01"]
