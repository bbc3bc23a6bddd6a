"""End to end through the CLI: `calsync sync` against the Calendar API emulator.

The real google-api-python-client talks HTTP to the emulator; the runs are in the
emulated primary calendar, the sessions go to the calendar calsync creates. Each test
states a user-visible promise of the Google output (issue 6).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import icalendar
import pytest

from calsync.config import load_config
from calsync.google import events as gev
from calsync.google import ids
from calsync.sinks.google import GoogleSink
from calsync.state import StateStore
from tests.contracts import EditableSinkContract, Held
from tests.fakes.google_emulator import CalendarEmulator
from tests.fakes.google_fixtures import STRENGTH, GoogleWorld

NOW = "2026-11-22T20:00"  # a Sunday evening, Europe/Berlin: no session within freeze_hours

RUNS = [
    ("Intervals 6x800m", "2026-11-24T18:00:00+01:00", 60),
    ("Easy run 8 km", "2026-11-25T07:00:00+01:00", 50),
    ("Tempo run 40 min", "2026-11-26T18:00:00+01:00", 60),
    ("Long run 18 km", "2026-11-29T09:00:00+01:00", 110),
    ("Intervals 5x1000m", "2026-12-01T18:00:00+01:00", 60),
    ("Tempo 30 min", "2026-12-03T18:00:00+01:00", 60),
]
HARD = ("Intervals", "Tempo")


def seed(world: GoogleWorld) -> dict[str, str]:
    """The runner's plan in their primary calendar: summary -> event id."""
    return {s: world.add_run(s, start, minutes) for s, start, minutes in RUNS}


def when(t: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(t["dateTime"])


def hard_runs(world: GoogleWorld) -> list[tuple[datetime, datetime]]:
    return [
        (when(e["start"]), when(e["end"]))
        for e in world.emu.events("primary")
        if e.get("summary", "").startswith(HARD)
    ]


def assert_h1(world: GoogleWorld) -> None:
    """No session ends within 24 h before a hard run (RULES.md H1)."""
    for key, ev in world.sessions().items():
        end = when(ev["end"])
        for start, _ in hard_runs(world):
            assert not (start - timedelta(hours=24) < end <= start), (key, ev["start"], start)


def first_sync(world: GoogleWorld) -> dict[str, dict[str, Any]]:
    seed(world)
    out = world.sync(NOW)
    assert out.code == 0, out.err
    sessions = world.sessions()
    assert sessions, "the first sync placed no session"
    return sessions


# ---------------------------------------------------------------- the happy path


def test_first_sync_creates_the_calendar_and_every_session(gworld: GoogleWorld) -> None:
    seed(gworld)
    out = gworld.sync(NOW)
    assert out.code == 0, out.err
    cal = gworld.strength_id()  # exactly one calendar of that name
    sessions = gworld.sessions()
    assert f"google: {len(sessions)} created" in out.out
    assert len(sessions) >= 3
    for key, ev in sessions.items():
        assert ev["id"] == ids.event_id(key)
        private = ev["extendedProperties"]["private"]
        assert private["calsync"] == "1" and len(private["calsyncHash"]) >= 16
    inserts = [p for e in out.log for p in e.parts if p[0] == "POST"]
    assert len(inserts) == len(sessions)
    assert [e.path for e in out.log if e.path == "/calendar/v3/calendars"] == [
        "/calendar/v3/calendars"
    ]
    assert cal in gworld.emu.calendars and gworld.emu.calendars[cal].app_created
    assert_h1(gworld)


def test_second_sync_makes_no_writes_and_one_request_per_calendar(gworld: GoogleWorld) -> None:
    first_sync(gworld)
    again = gworld.sync(NOW)
    assert again.code == 0, again.err
    assert again.writes == 0
    # One read of the runs calendar (incremental), one of the strength calendar (in full:
    # calsync made it in the first sync, so it holds no sync token for it yet).
    assert again.requests == 2, [(e.method, e.path) for e in again.log]
    third = gworld.sync(NOW)
    assert (third.writes, third.requests) == (0, 2)
    assert all("syncToken" in e.query for e in third.log)


def test_a_moved_run_moves_its_session(gworld: GoogleWorld) -> None:
    ids_by_summary = {s: gworld.add_run(s, start, m) for s, start, m in RUNS}
    assert gworld.sync(NOW).code == 0
    before = {k: (e["start"], e["etag"]) for k, e in gworld.sessions().items()}
    # The coach moves next Tuesday's intervals to Monday evening, right after a session.
    gworld.emu.user_patch(
        "primary",
        ids_by_summary["Intervals 5x1000m"],
        {
            "start": {"dateTime": "2026-11-30T19:00:00+01:00"},
            "end": {"dateTime": "2026-11-30T20:00:00+01:00"},
        },
    )
    out = gworld.sync(NOW)
    assert out.code == 0, out.err
    after = gworld.sessions()
    moved = [k for k in after if k in before and after[k]["start"] != before[k][0]]
    assert moved, "no session moved with the run"
    assert out.writes >= 1
    assert_h1(gworld)
    # Moved in place (patched), not deleted and inserted again.
    assert all(after[k]["etag"] != before[k][1] for k in moved)
    assert all(after[k]["sequence"] >= 1 for k in moved)


def test_dry_run_writes_nothing_and_makes_no_calendar(gworld: GoogleWorld) -> None:
    seed(gworld)
    out = gworld.sync(NOW, "--dry-run")
    assert out.code == 0, out.err
    assert out.writes == 0
    assert gworld.emu.calendar_by_summary(STRENGTH) == []


# ---------------------------------------------------------------- the user's changes


def test_a_session_the_user_moved_is_pinned(gworld: GoogleWorld) -> None:
    sessions = first_sync(gworld)
    key = sorted(sessions)[-1]
    ev = sessions[key]
    new_start = when(ev["start"]) + timedelta(hours=2)
    new_end = when(ev["end"]) + timedelta(hours=2)
    moved = gworld.emu.user_patch(
        gworld.strength_id(),
        ev["id"],
        {"start": {"dateTime": new_start.isoformat()}, "end": {"dateTime": new_end.isoformat()}},
    )
    for _ in range(2):
        out = gworld.sync(NOW)
        assert out.code == 0, out.err
        now_ev = gworld.sessions()[key]
        assert now_ev["etag"] == moved["etag"]  # untouched
        assert when(now_ev["start"]) == new_start
    assert not any(ev["id"] in p for e in out.log for _, p, _ in e.parts)


def test_a_session_the_user_edited_is_kept_as_edited(gworld: GoogleWorld) -> None:
    sessions = first_sync(gworld)
    key = sorted(sessions)[0]
    edited = gworld.emu.user_patch(
        gworld.strength_id(), sessions[key]["id"], {"summary": "Gym with Sam"}
    )
    out = gworld.sync(NOW)
    assert out.code == 0, out.err
    assert gworld.sessions()[key]["etag"] == edited["etag"]
    assert gworld.sessions()[key]["summary"] == "Gym with Sam"


def test_a_session_the_user_deleted_stays_deleted(gworld: GoogleWorld) -> None:
    sessions = first_sync(gworld)
    key = sorted(sessions)[-1]
    gworld.emu.user_delete(gworld.strength_id(), sessions[key]["id"])
    for _ in range(2):
        out = gworld.sync(NOW)
        assert out.code == 0, out.err
        assert key not in gworld.sessions()
        assert not [p for e in out.log for p in e.parts if p[0] == "POST"]
        assert not [p for e in out.log for p in e.parts if p[0] == "PUT"]
    # `calsync plan` shows the plan the sync wrote: without the deleted session.
    plan = json.loads(gworld.run("plan", "--json", now=NOW).out)
    assert key not in {s["key"] for s in plan["sessions"]}
    assert {s["key"] for s in plan["sessions"] if not s["past"]} == set(gworld.sessions())


def test_foreign_events_in_the_strength_calendar_are_never_touched(gworld: GoogleWorld) -> None:
    ids_by_summary = {s: gworld.add_run(s, start, m) for s, start, m in RUNS}
    assert gworld.sync(NOW).code == 0
    cal = gworld.strength_id()
    mine = gworld.sessions()
    foreign = gworld.emu.user_insert(
        cal,
        {
            "summary": "Physio",
            "start": {"dateTime": "2026-11-30T17:00:00+01:00"},
            "end": {"dateTime": "2026-11-30T18:00:00+01:00"},
        },
    )
    # A copy the user made of one of ours: it carries the marker, under another id.
    original = next(iter(mine.values()))
    copy = gworld.emu.user_insert(
        cal,
        {k: original[k] for k in ("summary", "start", "end", "extendedProperties")},
    )
    # Runs move so that sessions are moved and removed around the foreign events.
    for summary in ("Intervals 5x1000m", "Tempo 30 min", "Long run 18 km"):
        gworld.emu.user_delete("primary", ids_by_summary[summary])
    out = gworld.sync(NOW, "--force")
    assert out.code == 0, out.err
    touched = [p for e in out.log for _, p, _ in e.parts]
    assert not any(foreign["id"] in p or copy["id"] in p for p in touched)
    events = {e["id"]: e for e in gworld.emu.events(cal)}
    assert events[foreign["id"]]["etag"] == foreign["etag"]
    assert events[copy["id"]]["etag"] == copy["etag"]


def test_an_edit_racing_the_sync_is_kept(gworld: GoogleWorld) -> None:
    """412 on a patch: calsync reads the event again and keeps the user's version."""
    ids_by_summary = {s: gworld.add_run(s, start, m) for s, start, m in RUNS}
    assert gworld.sync(NOW).code == 0
    cal = gworld.strength_id()
    gworld.emu.user_patch(
        "primary",
        ids_by_summary["Intervals 5x1000m"],
        {
            "start": {"dateTime": "2026-11-30T19:00:00+01:00"},
            "end": {"dateTime": "2026-11-30T20:00:00+01:00"},
        },
    )
    raced: dict[str, Any] = {}

    def user_edits_first(method: str, path: str) -> bool:
        if method == "PATCH" and not raced:
            eid = path.rsplit("/", 1)[-1]
            raced.update(gworld.emu.user_patch(cal, eid, {"summary": "Moved by me"}))
        return method == "PATCH"

    gworld.emu.add_fault("hook", scope="part", count=100, match=user_edits_first)
    out = gworld.sync(NOW)
    assert out.code == 0, out.err
    assert raced, "the sync patched nothing"
    assert 412 in [s for e in out.log for _, _, s in e.parts]
    kept = {e["id"]: e for e in gworld.emu.events(cal)}[raced["id"]]
    assert kept["summary"] == "Moved by me" and kept["etag"] == raced["etag"]
    # The next sync plans around the user's version (a pin) and leaves it alone.
    again = gworld.sync(NOW)
    assert again.code == 0, again.err
    assert {e["id"]: e for e in gworld.emu.events(cal)}[raced["id"]]["etag"] == raced["etag"]
    assert gworld.sync(NOW).writes == 0


# ---------------------------------------------------------------- faults


def test_a_429_storm_ends_in_the_right_calendar_without_duplicates(gworld: GoogleWorld) -> None:
    gworld.emu.add_fault("status", count=4, status=429, reason="rateLimitExceeded", retry_after=1)
    gworld.emu.add_fault(
        "status", scope="part", count=5, status=429, reason="userRateLimitExceeded", retry_after=2
    )
    sessions = first_sync(gworld)
    out = gworld.sync(NOW)
    assert out.writes == 0
    assert len(gworld.emu.calendar_by_summary(STRENGTH)) == 1
    assert sorted(gworld.sessions()) == sorted(sessions)


def test_500s_and_403_rate_limits_are_retried(gworld: GoogleWorld) -> None:
    gworld.emu.add_fault("status", count=2, status=503, match=lambda m, p: "batch" in p)
    gworld.emu.add_fault("status", scope="part", count=3, status=403, reason="rateLimitExceeded")
    gworld.emu.add_fault("status", count=2, status=500, match=lambda m, p: p.endswith("/events"))
    sessions = first_sync(gworld)
    assert all(f.fired == f.count for f in gworld.emu.faults)
    assert len(sessions) >= 3


def test_answers_lost_after_the_writes_make_no_duplicates(gworld: GoogleWorld) -> None:
    """The calendar insert and the insert batch succeed, but their answers never arrive."""
    gworld.emu.add_fault("drop_after", count=2, match=lambda m, p: p == "/calendar/v3/calendars")
    gworld.emu.add_fault("drop_after", count=2, match=lambda m, p: "batch" in p)
    seed(gworld)
    out = gworld.sync(NOW)
    assert out.code == 0, out.err
    assert len(gworld.emu.calendar_by_summary(STRENGTH)) == 1
    sessions = gworld.sessions()  # asserts one event per key
    inserts = [s for e in out.log for m, _, s in e.parts if m == "POST"]
    assert 409 in inserts  # the retried inserts were told "duplicate" ...
    assert f"google: {len(sessions)} created" in out.out  # ... and counted as done
    assert gworld.sync(NOW).writes == 0


def test_a_lost_answer_to_a_move_is_not_a_conflict(gworld: GoogleWorld) -> None:
    ids_by_summary = {s: gworld.add_run(s, start, m) for s, start, m in RUNS}
    assert gworld.sync(NOW).code == 0
    gworld.emu.user_patch(
        "primary",
        ids_by_summary["Intervals 5x1000m"],
        {
            "start": {"dateTime": "2026-11-30T19:00:00+01:00"},
            "end": {"dateTime": "2026-11-30T20:00:00+01:00"},
        },
    )
    gworld.emu.add_fault("drop_after", count=1, match=lambda m, p: "batch" in p)
    gworld.emu.add_fault("drop", count=1, match=lambda m, p: "batch" in p)
    out = gworld.sync(NOW)
    assert out.code == 0, out.err
    assert 412 in [s for e in out.log for _, _, s in e.parts]  # our own first patch
    assert "moved/updated" in out.out
    assert_h1(gworld)
    assert gworld.sync(NOW).writes == 0


def test_slow_answers_time_out_and_are_retried(gworld: GoogleWorld) -> None:
    gworld.write_config(timeout="0.5s")
    gworld.emu.add_fault("slow", count=1, delay=1.0, match=lambda m, p: "batch" in p)
    seed(gworld)
    out = gworld.sync(NOW)
    assert out.code == 0, out.err
    batches = [e for e in out.log if "batch" in e.path]
    assert len(batches) == 2  # the slow one timed out; its retry met 409s for what it did
    assert f"google: {len(gworld.sessions())} created" in out.out
    assert gworld.sync(NOW).writes == 0


def test_a_network_that_stays_down_fails_with_a_clear_message(gworld: GoogleWorld) -> None:
    seed(gworld)
    gworld.emu.add_fault("status", count=1000, status=503, reason="backendError")
    out = gworld.sync(NOW)
    assert out.code == 1
    assert "HTTP 503 backendError" in out.err
    assert "internal error" not in out.err


# ---------------------------------------------------------------- authorisation


def test_an_expired_access_token_is_refreshed_and_saved(gworld: GoogleWorld) -> None:
    first_sync(gworld)
    old = json.loads(gworld.token_path.read_text())["token"]
    gworld.emu.expire_access_tokens()
    out = gworld.sync(NOW)
    assert out.code == 0, out.err
    assert [e.path for e in out.log].count("/token") == 1
    saved = json.loads(gworld.token_path.read_text())
    assert saved["token"] != old and saved["token"] in gworld.emu.access_tokens
    assert gworld.token_path.stat().st_mode & 0o777 == 0o600
    # The next sync uses the saved token: no refresh again.
    assert "/token" not in [e.path for e in gworld.sync(NOW).log]


def test_a_revoked_authorisation_says_what_to_do(gworld: GoogleWorld) -> None:
    first_sync(gworld)
    gworld.emu.revoke(gworld.refresh)
    out = gworld.sync(NOW)
    assert out.code == 1
    assert "authorisation expired or revoked: run `calsync auth google" in out.err
    assert "7 days" in out.err
    assert "Traceback" not in out.err


def test_no_token_says_how_to_authorise(gworld: GoogleWorld) -> None:
    seed(gworld)
    gworld.token_path.unlink()
    out = gworld.sync(NOW)
    assert out.code == 1
    assert "no Google authorisation" in out.err
    assert "calsync auth google --client-secrets FILE" in out.err


# ---------------------------------------------------------------- reading


def test_an_expired_sync_token_means_a_full_read_and_still_no_writes(gworld: GoogleWorld) -> None:
    first_sync(gworld)
    assert gworld.sync(NOW).writes == 0  # now both calendars have a sync token
    gworld.emu.expire_sync_tokens()
    out = gworld.sync(NOW)
    assert out.code == 0, out.err
    assert out.writes == 0
    statuses = [(("syncToken" in e.query), e.status) for e in out.log]
    assert statuses.count((True, 410)) == 2  # both calendars started over
    assert gworld.sync(NOW).requests == 2


def test_busy_calendars_are_read_with_freebusy_queries(gworld: GoogleWorld) -> None:
    gworld.write_config(busy=True)
    sessions = first_sync(gworld)
    # A work meeting lands on top of a session: the next sync moves the session off it.
    key = sorted(sessions)[-1]
    start, end = when(sessions[key]["start"]), when(sessions[key]["end"])
    gworld.emu.user_insert(
        "work@example.com",
        {
            "summary": "Board meeting",
            "start": {"dateTime": (start - timedelta(minutes=30)).isoformat()},
            "end": {"dateTime": (end + timedelta(minutes=30)).isoformat()},
        },
    )
    out = gworld.sync(NOW)
    assert out.code == 0, out.err
    # The read window (about 7 weeks) in 30-day queries Google accepts (timeRangeTooLong)
    fb = [e for e in out.log if e.path == "/calendar/v3/freeBusy"]
    assert len(fb) == 2 and all(e.status == 200 for e in fb)
    moved = gworld.sessions().get(key)
    assert (
        moved is None
        or when(moved["end"]) <= start - timedelta(minutes=30)
        or when(moved["start"]) >= end + timedelta(minutes=30)
    )


def test_a_long_runs_calendar_is_read_page_by_page(gworld: GoogleWorld) -> None:
    gworld.emu.max_page = 2
    sessions = first_sync(gworld)
    pages = [e for e in gworld.emu.log if e.path == "/calendar/v3/calendars/primary/events"]
    assert sum("pageToken" in e.query for e in pages) >= 2
    assert len(sessions) >= 3
    assert_h1(gworld)


def test_doctor_shows_the_scopes_and_what_each_is_for(gworld: GoogleWorld) -> None:
    first_sync(gworld)
    out = gworld.run("doctor")
    assert f"calendar 'Strength training': {gworld.strength_id()}" in out.out
    assert "calendar.events.readonly: read the runs" in out.out
    assert "calendar.app.created: create the strength calendar" in out.out
    assert "(mode 0600)" in out.out


def test_a_weekly_recurring_run_is_read_as_its_instances(gworld: GoogleWorld) -> None:
    gworld.add_run(
        "Intervals 6x800m",
        "2026-11-17T18:00:00+01:00",
        recurrence=["RRULE:FREQ=WEEKLY;COUNT=6"],
    )
    gworld.add_run(
        "Easy run 8 km", "2026-11-21T09:00:00+01:00", 50, recurrence=["RRULE:FREQ=WEEKLY;COUNT=6"]
    )
    out = gworld.sync(NOW)
    assert out.code == 0, out.err
    sessions = gworld.sessions()
    assert len(sessions) >= 2
    first = datetime.fromisoformat("2026-11-17T18:00:00+01:00")
    tuesdays = [first + timedelta(weeks=i) for i in range(6)]
    for ev in sessions.values():  # H1 against every Tuesday's intervals, not the first only
        end = when(ev["end"])
        assert not any(t - timedelta(hours=24) < end <= t for t in tuesdays), ev["start"]
    lists = [e for e in out.log if e.path.endswith("/primary/events")]
    assert lists and all(e.query.get("singleEvents") == ["true"] for e in lists)


def test_a_strength_calendar_the_user_deleted_is_made_again(gworld: GoogleWorld) -> None:
    first = first_sync(gworld)
    del gworld.emu.calendars[gworld.strength_id()]
    out = gworld.sync(NOW)
    assert out.code == 0, out.err
    assert sorted(gworld.sessions()) == sorted(first)  # one new calendar, every session
    assert gworld.sync(NOW).writes == 0


def test_requests_per_sync(gworld: GoogleWorld) -> None:
    """What a sync costs in HTTP requests (the figures in the README / closing note)."""
    ids_by_summary = seed(gworld)
    first = gworld.sync(NOW)
    second = gworld.sync(NOW)
    noop = gworld.sync(NOW)
    gworld.emu.user_patch(
        "primary",
        ids_by_summary["Intervals 5x1000m"],
        {
            "start": {"dateTime": "2026-11-30T19:00:00+01:00"},
            "end": {"dateTime": "2026-11-30T20:00:00+01:00"},
        },
    )
    moved = gworld.sync(NOW)
    # first: runs, calendarList, calendars.insert, calendarList (duplicate check), 1 batch
    assert first.requests == 5, [(e.method, e.path) for e in first.log]
    assert (second.requests, second.writes) == (2, 0)
    assert (noop.requests, noop.writes) == (2, 0)
    # moved: runs (incremental), strength calendar (incremental), one batch of patches
    assert moved.requests == 3 and moved.writes >= 1


def test_a_session_the_user_moved_out_of_the_window_is_not_put_back(gworld: GoogleWorld) -> None:
    """A pinned event the snapshot cannot see: the insert's 409 finds it, and keeps it."""
    sessions = first_sync(gworld)
    key = sorted(sessions)[-1]
    far = {"dateTime": "2027-03-01T18:00:00+01:00"}
    moved = gworld.emu.user_patch(
        gworld.strength_id(), sessions[key]["id"], {"start": far, "end": far}
    )
    out = gworld.sync(NOW)
    assert out.code == 0, out.err
    assert gworld.sessions()[key]["etag"] == moved["etag"]
    assert ("POST", 409) in [(m, s) for e in out.log for m, _, s in e.parts]
    assert not [p for e in out.log for p in e.parts if p[0] in ("PUT", "PATCH")]


def test_a_wrong_runs_calendar_id_is_named_in_the_error(gworld: GoogleWorld) -> None:
    text = (gworld.dir / "config.toml").read_text()
    (gworld.dir / "config.toml").write_text(
        text.replace('calendar = "primary"', 'calendar = "nope"')
    )
    out = gworld.run("sync", now=NOW)
    assert out.code == 1
    assert "reading events of 'nope' failed: HTTP 404 notFound" in out.err
    assert "check the calendar id" in out.err


def test_a_sync_that_fails_after_making_the_calendar_does_not_make_another(
    gworld: GoogleWorld,
) -> None:
    """The state rolls back with the failed sync; the calendar id must not be lost."""
    seed(gworld)
    gworld.emu.add_fault("status", count=1000, status=503, match=lambda m, p: "batch" in p)
    assert gworld.sync(NOW).code == 1
    gworld.emu.faults.clear()
    # Even where Google will not list calendars for calsync's scopes:
    gworld.emu.add_fault(
        "status",
        count=1000,
        status=403,
        reason="insufficientPermissions",
        match=lambda m, p: p.endswith("/calendarList"),
    )
    out = gworld.sync(NOW)
    assert out.code == 0, out.err
    assert len(gworld.emu.calendar_by_summary(STRENGTH)) == 1
    assert gworld.sessions()


def test_a_sync_failing_after_its_deletes_does_not_take_them_for_the_users(
    gworld: GoogleWorld,
) -> None:
    """Google applies a delete at once; the state only commits with the whole sync. A
    failure after a delete must not make the next sync read calsync's own deletion as the
    runner's (which would drop that week's session for good)."""
    before = first_sync(gworld)
    # A race makes both weeks taper weeks: one session each, the others are deleted.
    gworld.add_run("City 10K race", "2026-12-06T09:00:00+01:00", 60)
    gworld.emu.add_fault(
        "status",
        scope="part",
        count=1,
        status=400,
        reason="badRequest",
        match=lambda method, path: method == "DELETE",
    )
    failed = gworld.sync(NOW)
    assert failed.code == 1, failed.out
    deleted_ok = [s for e in failed.log for m, _, s in e.parts if m == "DELETE" and s < 300]
    assert deleted_ok, "the failing sync made no delete: the scenario did not happen"

    again = gworld.sync(NOW)
    assert again.code == 0, again.err
    plan = json.loads(gworld.run("plan", "--json", now=NOW).out)
    planned = {s["key"]: (s["start"], s["end"]) for s in plan["sessions"] if not s["past"]}
    held = {
        k: (
            datetime.fromisoformat(e["start"]["dateTime"]),
            datetime.fromisoformat(e["end"]["dateTime"]),
        )
        for k, e in gworld.sessions().items()
    }
    assert {k: tuple(map(datetime.fromisoformat, v)) for k, v in planned.items()} == held
    assert len(held) < len(before)  # the taper really removed sessions
    weeks = {w["start"]: w["placed"] for w in plan["weeks"]}
    assert weeks["2026-11-23"] == weeks["2026-11-30"] == 1, plan["weeks"]  # taper: one each


@pytest.mark.parametrize(
    ("name", "holds"),
    [
        ("google-deleting.json", "the Google deletes calsync was making"),
        ("google-calendars.json", "the Google calendars calsync made"),
    ],
)
def test_a_damaged_side_file_stops_the_sync_naming_it(
    gworld: GoogleWorld, name: str, holds: str
) -> None:
    """Read as empty, a damaged record of deletes in flight makes calsync's own deletions
    look like the runner's; a damaged calendar record can make a second calendar. Each is
    an error naming the file, and nothing is written to Google."""
    first_sync(gworld)
    side = gworld.dir / "state" / name
    if not side.exists():  # not written by a clean first sync: make the record
        side.write_text('{"x": "y"}')
    side.write_bytes(side.read_bytes()[:5])  # cut short, as a crash could leave it
    mark = gworld.emu.mark()
    out = gworld.sync(NOW)
    assert out.code == 1
    assert f"{side}: cannot read {holds} (not JSON" in out.err and "Traceback" not in out.err
    assert sum(e.writes for e in gworld.emu.since(mark)) == 0


@pytest.mark.parametrize(
    "body",
    [
        '{"CAL": ["e1"]}',  # a list where the ids go: was dropped, read as "none of ours"
        '{"CAL": {"e1": 5}}',  # not a time: was a TypeError (exit 70) once a delete came
        '{"CAL": {"e1": "yesterday"}}',  # not a time: the entry was dropped quietly
    ],
)
def test_a_record_of_deletes_of_the_wrong_shape_stops_the_sync_naming_it(
    gworld: GoogleWorld, body: str
) -> None:
    """Valid JSON, but not {calendar: {event id: end time with offset}}: damage, named as
    such, never read as an empty record or turned into an internal error."""
    first_sync(gworld)
    side = gworld.dir / "state" / "google-deleting.json"
    side.write_text(body.replace("CAL", gworld.strength_id()))
    mark = gworld.emu.mark()
    out = gworld.sync(NOW)
    assert out.code == 1, out.err
    assert f"{side}: cannot read the Google deletes calsync was making" in out.err
    assert "Traceback" not in out.err
    assert sum(e.writes for e in gworld.emu.since(mark)) == 0


def test_a_google_failure_leaves_the_ics_file_as_it_was(gworld: GoogleWorld) -> None:
    """Both outputs: when Google refuses the writes, the ICS file keeps the last plan the
    state committed (the file is written last), and the next sync brings both up to date."""
    gworld.write_config(extra='\n[output.ics]\npath = "strength.ics"\n')
    first_sync(gworld)
    ics = gworld.dir / "strength.ics"
    before = ics.read_bytes()
    gworld.add_run("City 10K race", "2026-12-06T09:00:00+01:00", 60)
    gworld.emu.add_fault("status", scope="part", count=100, status=400, reason="badRequest")
    failed = gworld.sync(NOW)
    assert failed.code == 1
    assert ics.read_bytes() == before
    gworld.emu.faults.clear()
    assert gworld.sync(NOW).code == 0
    cal = icalendar.Calendar.from_ical(ics.read_bytes())
    written = {str(e["X-CALSYNC-KEY"]) for e in cal.walk("VEVENT")}
    assert written == set(gworld.sessions())


# --------------------------------------------------------------------------- the contract


class GoogleSinkBackend:
    """The Google sink against the Calendar API emulator, the user's hand in its UI."""

    def __init__(self, emu: CalendarEmulator, folder: Path) -> None:
        self.emu = emu
        self.world = GoogleWorld(emu, folder)
        self.world.write_token()
        self.config = load_config(self.world.write_config())
        self.store = StateStore(self.config.state_path)

    def make_sink(self) -> GoogleSink:
        return GoogleSink(self.config)

    def _calendar(self) -> str | None:
        found = self.emu.calendar_by_summary(STRENGTH)
        assert len(found) <= 1, found
        return found[0] if found else None

    def held(self) -> dict[str, Held]:
        if self._calendar() is None:
            return {}
        return {
            key: Held(
                datetime.fromisoformat(ev["start"]["dateTime"]).astimezone(UTC),
                datetime.fromisoformat(ev["end"]["dateTime"]).astimezone(UTC),
                ev["summary"],
            )
            for key, ev in self.world.sessions().items()
        }

    @contextlib.contextmanager
    def failing(self) -> Iterator[None]:
        """Every insert and patch in a batch answers 500 for good; deletes pass."""
        self.emu.add_fault(
            "status", status=500, count=1000, scope="part", match=lambda m, p: m != "DELETE"
        )
        try:
            yield
        finally:
            self.emu.faults.clear()

    def user_moves(self, key: str, hours: float) -> None:
        cal = self._calendar()
        assert cal is not None
        ev = self.world.sessions()[key]
        d = timedelta(hours=hours)
        body = {
            k: {"dateTime": (datetime.fromisoformat(ev[k]["dateTime"]) + d).isoformat()}
            for k in ("start", "end")
        }
        self.emu.user_patch(cal, ev["id"], body)

    def user_deletes(self, key: str) -> None:
        cal = self._calendar()
        assert cal is not None
        self.emu.user_delete(cal, self.world.sessions()[key]["id"])

    def user_adds(self, title: str, start: datetime, end: datetime) -> str:
        cal = self._calendar()
        assert cal is not None
        body = {
            "summary": title,
            "start": {"dateTime": start.isoformat()},
            "end": {"dateTime": end.isoformat()},
        }
        return str(self.emu.user_insert(cal, body)["id"])

    def foreign(self) -> dict[str, Any]:
        cal = self._calendar()
        events = self.emu.events(cal, include_cancelled=True) if cal is not None else []
        marked = {ev["id"] for ev in events if gev.calsync_key(ev) is not None}
        return {ev["id"]: ev for ev in events if ev["id"] not in marked}


class TestGoogleSinkContract(EditableSinkContract):
    @pytest.fixture
    def sink_backend(  # type: ignore[override]
        self, emulator: CalendarEmulator, tmp_path: Path, fast_retries: None
    ) -> GoogleSinkBackend:
        return GoogleSinkBackend(emulator, tmp_path)
