"""The CalDAV sink end to end, through `calsync.cli.main`, on Radicale and on Xandikos.

Every test runs on both servers (the `dav_server` fixture's parameters). calsync reads
runs from one calendar of the server and writes sessions into another, through a proxy
that counts the requests (tests/fakes/fault_proxy.py); the "user" edits the calendar
with their own client, straight to the server.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import icalendar
import pytest

from tests.caldav_sink_support import (
    NOW,
    DavServer,
    World,
    dav_server,
    foreign_event,
    make_world,
)
from tests.fakes.fault_proxy import FaultProxy, fault_proxy

__all__ = ["dav_server"]


@pytest.fixture
def proxy(dav_server: DavServer) -> Iterator[FaultProxy]:
    with fault_proxy(dav_server.url) as p:
        yield p


@pytest.fixture
def world(dav_server: DavServer, proxy: FaultProxy, tmp_path: Path) -> World:
    return make_world(dav_server, proxy, tmp_path)


def ics_uids(path: Path) -> dict[str, str]:
    cal = icalendar.Calendar.from_ical(path.read_bytes())
    return {str(e["X-CALSYNC-KEY"]): str(e["UID"]) for e in cal.walk("VEVENT")}


def caldav_line(out: str) -> str:
    m = re.search(r"^caldav: .*$", out, re.M)
    assert m, out
    return m.group(0)


def test_first_sync_creates_the_calendar_and_the_sessions_then_a_second_writes_nothing(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = world.sync(capsys)
    assert code == 0, err
    first = dict(world.proxy.counts())
    sessions = world.sessions()
    assert len(sessions) >= 3, out
    assert world.calendars_named() == 1
    assert ("MKCALENDAR" in first) and first["PUT"] == len(sessions)
    assert "created" in caldav_line(out)
    names = set(world.resources())
    assert names == {k.replace("/", "-") + ".ics" for k in sessions}
    # The same UID and marker as the ICS file, event for event.
    assert world.uid_by_key() == ics_uids(world.folder / "strength.ics")
    world.proxy.reset()
    code, out, err = world.sync(capsys)
    assert code == 0, err
    assert world.proxy.writes() == []
    assert "0 created, 0 moved/updated, 0 removed" in caldav_line(out)
    noop = world.proxy.counts()
    assert sum(noop.values()) <= 3, noop  # PROPFIND the calendar + one REPORT
    print(f"\n{world.server.kind}: first sync {first}, no-op {noop}")


def test_a_moved_run_moves_its_session(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    assert world.sync(capsys)[0] == 0
    before = world.sessions()
    # The Thursday 3 December run moves to the evening: the session after it must follow
    # (H2: three hours after a hard run) or go elsewhere.
    day3 = [k for k, (s, _e) in before.items() if s.date().day == 3]
    assert day3, before
    world.move_run(3, 20)
    world.proxy.reset()
    code, out, err = world.sync(capsys)
    assert code == 0, err
    after = world.sessions()
    assert after != before
    assert "PUT" in world.proxy.counts() or "DELETE" in world.proxy.counts()
    for key in day3:
        if key in after:
            assert after[key] != before[key]
    assert len(world.uids()) == len(set(world.uids()))
    print(f"\n{world.server.kind}: one run moved {world.proxy.counts()}")


def test_a_session_the_user_moved_is_pinned_where_they_put_it(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    assert world.sync(capsys)[0] == 0
    key, (start, end) = sorted(world.sessions().items())[-1]
    name = key.replace("/", "-") + ".ics"

    def later(ev: Any) -> None:
        ev["DTSTART"].dt += timedelta(hours=1)
        ev["DTEND"].dt += timedelta(hours=1)

    world.edit(name, later)
    edited = world.resources()[name]
    world.proxy.reset()
    code, out, err = world.sync(capsys)
    assert code == 0, err
    assert world.resources()[name] == edited  # not written back
    assert world.sessions()[key] == (start + timedelta(hours=1), end + timedelta(hours=1))
    assert ("PUT", f"{name}") not in [(m, p.rsplit("/", 1)[-1]) for m, p in world.proxy.writes()]
    # and again: a pin stays a pin
    assert world.sync(capsys)[0] == 0
    assert world.resources()[name] == edited


def test_a_session_the_user_deleted_is_not_put_back(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    assert world.sync(capsys)[0] == 0
    key = sorted(world.sessions())[-1]
    name = key.replace("/", "-") + ".ics"
    world.delete(name)
    for _ in range(2):
        world.proxy.reset()
        code, out, err = world.sync(capsys)
        assert code == 0, err
        assert key not in world.sessions()
        assert name not in [p.rsplit("/", 1)[-1] for _m, p in world.proxy.writes()]


def test_foreign_events_are_never_touched(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    assert world.sync(capsys)[0] == 0
    key = sorted(world.sessions())[0]
    # A stranger's event, and a copy of one of ours under another name (marker and all).
    world.add_foreign("dentist.ics", foreign_event("dentist-1", 2))
    ours = world.resources()[key.replace("/", "-") + ".ics"][1]
    world.add_foreign("copy.ics", re.sub(r"^UID:", "UID:copy-", ours, flags=re.M))
    before = {n: r for n, r in world.resources().items() if n in ("dentist.ics", "copy.ics")}
    world.move_run(3, 20)  # a sync that has work to do
    code, out, err = world.sync(capsys, "--force")
    assert code == 0, err
    after = world.resources()
    assert {n: after[n] for n in before} == before
    assert not [p for _m, p in world.proxy.writes() if p.endswith(("dentist.ics", "copy.ics"))]


def test_a_user_edit_racing_calsyncs_update_wins(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    assert world.sync(capsys)[0] == 0
    world.move_run(3, 20)
    edited: dict[str, Any] = {}

    def user_edits_first(method: str, path: str) -> None:
        # The user's app saves the event just before calsync's conditional write lands.
        if method == "PUT" and not edited:
            name = path.rsplit("/", 1)[-1]
            edited[name] = True
            world.edit(name, lambda ev: ev.__setitem__("SUMMARY", "Strength at my gym 6 pm"))

    world.proxy.reset()
    world.proxy.before = user_edits_first
    code, out, err = world.sync(capsys)
    assert code == 0, err
    (name,) = edited
    text = world.resources()[name][1]
    assert "Strength at my gym 6 pm" in text  # the user's version is kept
    puts = [p for m, p in world.proxy.writes() if m == "PUT" and p.endswith(name)]
    assert len(puts) == 1  # the one 412'd write; never a second over the user's edit
    world.proxy.before = None
    assert world.sync(capsys)[0] == 0
    assert "Strength at my gym 6 pm" in world.resources()[name][1]


def test_a_lost_mkcalendar_answer_makes_no_second_calendar(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    world.proxy.method_faults["MKCALENDAR"] = ["drop_after"]
    code, out, err = world.sync(capsys)
    assert code == 0, err
    assert world.calendars_named() == 1
    assert [f for _m, _p, f in world.proxy.log if f] == ["drop_after"]


def test_a_refused_mkcalendar_says_to_make_the_calendar_by_hand(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    world.proxy.method_faults["MKCALENDAR"] = ["403"]
    code, out, err = world.sync(capsys)
    assert code == 1
    assert "refused to create the calendar" in err and "by hand" in err, err
    assert world.calendar_name in err
    assert world.calendars_named() == 0


def test_the_calendar_is_found_again_by_name_when_the_state_is_lost(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    assert world.sync(capsys)[0] == 0
    sessions = world.sessions()
    for p in world.state_dir().iterdir():
        p.unlink()
    world.proxy.reset()
    # The ICS file beside it still holds the sessions: a lost state is refused until the
    # runner starts afresh on purpose (tests/test_state_guard.py); then CalDAV finds all.
    code, out, err = world.sync(capsys)
    assert code == 1 and "holds no history" in err, err
    code, out, err = world.sync(capsys, "--new-state")
    assert code == 0, err
    assert world.calendars_named() == 1
    assert world.sessions() == sessions
    assert "MKCALENDAR" not in world.proxy.counts()
    assert "PUT" not in world.proxy.counts()  # every session was already there, as meant


def test_without_sync_collection_the_query_fallback_sees_deletions_and_writes_nothing(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    world.proxy.hide_sync_collection = True
    assert world.sync(capsys)[0] == 0
    world.proxy.reset()
    world.proxy.hide_sync_collection = True
    code, out, err = world.sync(capsys)
    assert code == 0, err
    assert world.proxy.writes() == []
    assert not any(b"sync-collection" in b"" for _ in ())  # (the proxy refuses it)
    key = sorted(world.sessions())[-1]
    world.delete(key.replace("/", "-") + ".ics")
    assert world.sync(capsys)[0] == 0
    assert key not in world.sessions()


def test_alarm_minutes_adds_a_valarm(
    dav_server: DavServer, proxy: FaultProxy, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    w = make_world(dav_server, proxy, tmp_path, alarm_minutes=30)
    assert w.sync(capsys)[0] == 0
    texts = [t for _e, t in w.resources().values()]
    assert texts and all("BEGIN:VALARM" in t and "TRIGGER:-PT30M" in t for t in texts)


def test_doctor_checks_connection_calendar_and_privileges(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    from calsync.cli import main

    capsys.readouterr()
    assert main(["--config", str(world.config), "doctor"]) == 0
    out = capsys.readouterr().out
    assert "not found; the first sync makes it" in out, out
    assert world.sync(capsys)[0] == 0
    assert main(["--config", str(world.config), "doctor"]) == 0
    out = capsys.readouterr().out
    assert f"calendar {world.calendar_name!r} at" in out and "sync-collection" in out, out
    assert "can write events" in out, out


# ("delay" is in the fault property: a request still in flight when the read-back looks is
# written again, conditionally, and so never twice over.)
@pytest.mark.parametrize("fault", ["drop_after"])
def test_a_lost_put_answer_is_read_back_never_written_twice(
    dav_server: DavServer,
    proxy: FaultProxy,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    fault: str,
) -> None:
    w = make_world(dav_server, proxy, tmp_path, timeout=2)
    proxy.method_faults["PUT"] = [fault]  # the server stores the first session; we never hear
    code, out, err = w.sync(capsys)
    assert code == 0, err
    log = [(m, p.rsplit("/", 1)[-1]) for m, p, _f in proxy.log]
    lost = next(p for (m, p), (_, _, f) in zip(log, proxy.log, strict=True) if f == fault)
    after = log[log.index(("PUT", lost)) + 1 :]
    assert after[0] == ("GET", lost)  # read back first...
    assert ("PUT", lost) not in after  # ...and found done: not written again
    assert len(w.uids()) == len(set(w.uids())) == len(w.sessions())


def test_a_503_with_retry_after_is_retried(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    world.proxy.faults = ["503", "503"]
    code, out, err = world.sync(capsys)
    assert code == 0, err
    assert [f for _m, _p, f in world.proxy.log[:2]] == ["503", "503"]
    assert world.sessions()


def test_calsyncs_own_deletes_in_a_failed_sync_are_not_read_as_the_users(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    assert world.sync(capsys)[0] == 0
    everything = world.sessions()
    text = world.config.read_text()
    # A shorter horizon drops the later sessions: calsync deletes them. The first delete
    # goes through, the second meets a server that stays unavailable: the sync fails and
    # its state rolls back, with one of calsync's deletions already made.
    world.config.write_text(text.replace("horizon_days = 14", "horizon_days = 6"))
    world.proxy.reset()
    world.proxy.method_faults["DELETE"] = ["", *["503"] * 10]
    code, out, err = world.sync(capsys)
    deletes = [p for m, p, f in world.proxy.log if m == "DELETE" and not f]
    assert code == 1 and len(deletes) == 1, (code, err, world.proxy.log)
    assert len(world.sessions()) == len(everything) - 1
    # Back to the old horizon: the session calsync deleted is calsync's to put back.
    world.config.write_text(text)
    world.proxy.reset()
    code, out, err = world.sync(capsys)
    assert code == 0, err
    assert world.sessions() == everything


def test_a_damaged_record_of_deletes_in_flight_stops_the_sync_naming_it(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    """caldav-deleting.json remembers which deletions were calsync's own; read as empty
    when damaged, calsync would take its own deletion for the user's and never put the
    session back. It is an error naming the file, and nothing is written."""
    from calsync.config import load_config

    assert world.sync(capsys)[0] == 0
    everything = world.sessions()
    text = world.config.read_text()
    world.config.write_text(text.replace("horizon_days = 14", "horizon_days = 6"))
    world.proxy.reset()
    world.proxy.method_faults["DELETE"] = ["", *["503"] * 10]
    assert world.sync(capsys)[0] == 1
    record = load_config(world.config).state_dir / "caldav-deleting.json"
    good = record.read_bytes()
    assert good.strip()
    record.write_bytes(good[: len(good) // 2])  # cut short, as a crash could leave it
    world.config.write_text(text)
    world.proxy.reset()
    code, _out, err = world.sync(capsys)
    assert code == 1
    assert f"{record}: cannot read the CalDAV deletes calsync was making (not JSON" in err
    assert "Traceback" not in err
    assert [m for m, _p, _f in world.proxy.log if m in ("PUT", "DELETE")] == []
    record.write_bytes(good)
    world.proxy.reset()
    assert world.sync(capsys)[0] == 0
    assert world.sessions() == everything


def test_an_action_the_sink_cannot_honour_is_refused_not_dropped(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    """The sink only executes: an action naming a resource it does not hold, or the past,
    is a SinkError with nothing sent (as in the Google sink), never a silent skip that
    vanishes from the report."""
    import dataclasses
    from datetime import datetime

    from calsync.config import load_config
    from calsync.errors import SinkError
    from calsync.model import Action, ActionKind, Phase, Session
    from calsync.sinks.caldav import CaldavSink
    from calsync.state import StateStore

    assert world.sync(capsys)[0] == 0
    config = load_config(world.config)
    now = datetime.fromisoformat(NOW).replace(tzinfo=config.schedule.zone)
    window = (now - timedelta(days=30), now + timedelta(days=30))
    with StateStore(config.state_path).writer() as tx:
        sink = CaldavSink(config)
        snap = sink.snapshot(tx, window)
        key, held = sorted(snap.managed.items())[-1]
        assert held.start > now
        session = Session(key, held.start, held.end, "Strength A", Phase.BUILD, "")
        bad = [
            Action(ActionKind.UPDATE, key, session, remote_id="/elsewhere/x.ics", etag="e"),
            Action(ActionKind.DELETE, "2026-11-30/9", None, remote_id="/nowhere.ics"),
            Action(
                ActionKind.CREATE,
                "2026-11-23/1",
                dataclasses.replace(session, key="2026-11-23/1", start=now - timedelta(days=3)),
            ),
        ]
        world.proxy.reset()
        for a in bad:
            with pytest.raises(SinkError, match="refusing to"):
                sink.execute([a], tx, now)
        assert world.proxy.writes() == []
