"""Writing ICS: deterministic bytes, SEQUENCE history, atomic writes, the feed documents,
and round trips through icalendar, vobject (an independent parser) and our own reader."""

from __future__ import annotations

import contextlib
import errno
import os
import random
import re
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
import pytest
import vobject
from hypothesis import given, settings
from hypothesis import strategies as st

from calsync.config import Config, IcsOutput, Schedule
from calsync.diff import diff
from calsync.errors import DiskFullError, SinkError
from calsync.ics_write import render_calendar, uid_for
from calsync.model import Phase, Session, StoredSession
from calsync.sinks.ics import IcsSink, write_atomic
from calsync.sources.ics import parse_ics
from calsync.state import StateStore
from calsync.uids import load as load_uids
from tests.contracts import Held, SinkContract

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


def session(key: str, day: int, hour: int = 18, **kw: object) -> Session:
    start = datetime(2026, 11, day, hour, 0, tzinfo=BERLIN)
    fields: dict[str, object] = {
        "key": key,
        "start": start,
        "end": start + timedelta(minutes=45),
        "title": "Strength A",
        "phase": Phase.BUILD,
        "reason": "two days before Thursday's tempo",
        "description": "Back squat 3 x 8\nWhy: 48 h before the tempo, after an easy run.",
    }
    fields.update(kw)
    return Session(**fields)  # type: ignore[arg-type]


PLAN = [
    session("2026-11-23/1", 24),
    session("2026-11-23/2", 27, 7, title="Strength B"),
    session("2026-11-30/1", 30, 19),
]


def config(tmp_path: Path, *, output: bool = True, tz: str = "Europe/Berlin") -> Config:
    out = IcsOutput(path=tmp_path / "out" / "strength.ics") if output else None
    return Config(
        path=None,
        schedule=Schedule(timezone=tz),
        output_ics=out,
        state_path=tmp_path / "state.sqlite3",
    )


def sync(cfg: Config, sessions: list[Session], now: datetime, *, dry_run: bool = False) -> object:
    store = StateStore(cfg.state_path)
    sink = IcsSink(cfg)
    with store.writer() as tx:
        snap = sink.snapshot(tx, (now, now + timedelta(days=28)))
        return sink.execute(diff(sessions, snap, now), tx, now, dry_run=dry_run)


def vevents(data: bytes) -> dict[str, str]:
    """Each VEVENT's text by UID."""
    text = data.decode()
    blocks = re.findall(r"BEGIN:VEVENT\r\n.*?END:VEVENT\r\n", text, re.S)
    return {re.search(r"\r\nUID:(.*?)\r\n", b).group(1): b for b in blocks}  # type: ignore[union-attr]


# --------------------------------------------------------------------------- the sink


def test_first_sync_writes_every_session(tmp_path: Path) -> None:
    cfg = config(tmp_path)
    report = sync(cfg, PLAN, NOW)
    assert report.created == [s.key for s in PLAN]  # type: ignore[attr-defined]
    assert cfg.output_ics is not None
    data = cfg.output_ics.path.read_bytes()
    cal = icalendar.Calendar.from_ical(data)
    assert str(cal["PRODID"]) == "-//calsync//calsync 0.1//EN"
    assert str(cal["VERSION"]) == "2.0" and str(cal["METHOD"]) == "PUBLISH"
    assert str(cal["CALSCALE"]) == "GREGORIAN"
    assert str(cal["X-WR-CALNAME"]) == "Strength training"
    assert str(cal["X-WR-TIMEZONE"]) == "Europe/Berlin"
    assert cal.decoded("REFRESH-INTERVAL") == timedelta(minutes=60)
    assert b"REFRESH-INTERVAL;VALUE=DURATION:PT1H\r\n" in data
    assert b"X-PUBLISHED-TTL:PT1H\r\n" in data
    assert [str(t["TZID"]) for t in cal.walk("VTIMEZONE")] == ["Europe/Berlin"]
    evs = cal.walk("VEVENT")
    assert [str(e["UID"]) for e in evs] == [install_uid(cfg, s.key) for s in PLAN]
    for e, s in zip(evs, PLAN, strict=True):
        assert e.decoded("DTSTART") == s.start and e.decoded("DTEND") == s.end
        assert e["DTSTART"].params["TZID"] == "Europe/Berlin"
        assert str(e["SUMMARY"]) == s.title
        assert str(e["DESCRIPTION"]) == s.description
        assert str(e["X-CALSYNC-KEY"]) == s.key
        assert int(e["SEQUENCE"]) == 0
        assert e.decoded("DTSTAMP") == e.decoded("LAST-MODIFIED") == e.decoded("CREATED") == NOW
        assert str(e["TRANSP"]) == "OPAQUE"
        assert e["CATEGORIES"].cats == ["Strength"]
    assert data.endswith(b"END:VCALENDAR\r\n")


def test_second_sync_changes_no_byte_and_does_not_touch_the_file(tmp_path: Path) -> None:
    cfg = config(tmp_path)
    assert cfg.output_ics is not None
    path = cfg.output_ics.path
    sync(cfg, PLAN, NOW)
    first = path.read_bytes()
    os.utime(path, (1_000_000_000, 1_000_000_000))
    store = StateStore(cfg.state_path)
    with store.reader() as v:
        feeds = (v.feed("strength.ics"), v.feed("busy.ics"))
    report = sync(cfg, list(reversed(PLAN)), NOW + timedelta(hours=5))
    assert report.writes == 0 and report.unchanged == sorted(s.key for s in PLAN)  # type: ignore[attr-defined]
    assert path.read_bytes() == first
    assert path.stat().st_mtime == 1_000_000_000
    with store.reader() as v:
        assert (v.feed("strength.ics"), v.feed("busy.ics")) == feeds
    assert [p.name for p in path.parent.iterdir()] == ["strength.ics"]


def test_a_deleted_output_file_is_written_again(tmp_path: Path) -> None:
    cfg = config(tmp_path)
    assert cfg.output_ics is not None
    sync(cfg, PLAN, NOW)
    first = cfg.output_ics.path.read_bytes()
    cfg.output_ics.path.unlink()
    report = sync(cfg, PLAN, NOW + timedelta(hours=1))
    assert report.writes == 0  # type: ignore[attr-defined]
    assert cfg.output_ics.path.read_bytes() == first


def test_output_path_that_is_a_directory_is_a_sink_error(tmp_path: Path) -> None:
    cfg = config(tmp_path)
    assert cfg.output_ics is not None
    cfg.output_ics.path.mkdir(parents=True)
    with pytest.raises(SinkError, match=r"strength\.ics: cannot read the current file"):
        sync(cfg, PLAN, NOW)


def test_a_change_bumps_sequence_and_last_modified_of_that_event_only(tmp_path: Path) -> None:
    cfg = config(tmp_path)
    assert cfg.output_ics is not None
    sync(cfg, PLAN, NOW)
    before = vevents(cfg.output_ics.path.read_bytes())
    later = NOW + timedelta(days=1, hours=2, microseconds=1234)
    moved = [PLAN[0], replace(PLAN[1], start=PLAN[1].start + timedelta(hours=10)), PLAN[2]]
    moved[1] = replace(moved[1], end=moved[1].start + timedelta(minutes=45))
    report = sync(cfg, moved, later)
    assert report.updated == ["2026-11-23/2"]  # type: ignore[attr-defined]
    after = vevents(cfg.output_ics.path.read_bytes())
    uid = install_uid(cfg, "2026-11-23/2")
    assert {u: b for u, b in after.items() if u != uid} == {
        u: b for u, b in before.items() if u != uid
    }
    ev = icalendar.Event.from_ical(after[uid])
    assert int(ev["SEQUENCE"]) == 1
    assert ev.decoded("LAST-MODIFIED") == ev.decoded("DTSTAMP") == later.replace(microsecond=0)
    assert ev.decoded("CREATED") == NOW
    assert ev.decoded("DTSTART") == moved[1].start
    # a text-only change also counts, and SEQUENCE keeps rising
    retitled = [moved[0], replace(moved[1], description="Deadlift 3 x 5"), moved[2]]
    assert sync(cfg, retitled, later + timedelta(hours=1)).updated == ["2026-11-23/2"]  # type: ignore[attr-defined]
    ev = icalendar.Event.from_ical(vevents(cfg.output_ics.path.read_bytes())[uid])
    assert int(ev["SEQUENCE"]) == 2 and str(ev["DESCRIPTION"]) == "Deadlift 3 x 5"


def install_uid(cfg: Config, key: str) -> str:
    """The UID this install gives `key` (its namespace is in the state: calsync.uids)."""
    with StateStore(cfg.state_path).reader() as v:
        scheme = load_uids(v)
    assert scheme is not None
    return scheme(key)


def test_gone_future_sessions_are_deleted_but_the_past_stays_recorded(tmp_path: Path) -> None:
    cfg = config(tmp_path)
    assert cfg.output_ics is not None
    sync(cfg, PLAN, NOW)
    now = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)  # PLAN[0] (24th) is past now
    report = sync(cfg, [PLAN[2]], now)
    assert report.deleted == ["2026-11-23/2"]  # type: ignore[attr-defined]
    with StateStore(cfg.state_path).reader() as v:
        assert sorted(v.sessions("ics")) == ["2026-11-23/1", "2026-11-30/1"]
    assert list(vevents(cfg.output_ics.path.read_bytes())) == [install_uid(cfg, "2026-11-30/1")]
    # the past key comes back (the planner carries it again): its history continues
    report = sync(cfg, [PLAN[0], PLAN[2]], now)
    assert report.unchanged == ["2026-11-23/1", "2026-11-30/1"]  # type: ignore[attr-defined]


def test_dry_run_writes_nothing(tmp_path: Path) -> None:
    cfg = config(tmp_path)
    assert cfg.output_ics is not None
    report = sync(cfg, PLAN, NOW, dry_run=True)
    assert len(report.created) == 3  # type: ignore[attr-defined]
    assert not cfg.output_ics.path.exists()
    with StateStore(cfg.state_path).reader() as v:
        assert v.sessions("ics") == {} and v.feed("strength.ics") is None


def test_without_an_output_file_only_the_feeds_are_rendered(tmp_path: Path) -> None:
    cfg = config(tmp_path, output=False)
    sync(cfg, PLAN, NOW)
    with StateStore(cfg.state_path).reader() as v:
        doc = v.feed("strength.ics")
        assert doc is not None and doc.modified == NOW
        assert len(vevents(doc.body)) == 3 and doc.etag
    assert not (tmp_path / "out").exists()


def test_busy_feed_has_no_details(tmp_path: Path) -> None:
    cfg = config(tmp_path, output=False)
    sync(cfg, PLAN, NOW)
    with StateStore(cfg.state_path).reader() as v:
        busy = v.feed("busy.ics")
        full = v.feed("strength.ics")
    assert busy is not None and full is not None and busy.etag != full.etag
    cal = icalendar.Calendar.from_ical(busy.body)
    evs = cal.walk("VEVENT")
    assert [(e.decoded("DTSTART"), e.decoded("DTEND")) for e in evs] == [
        (s.start, s.end) for s in PLAN
    ]
    for e in evs:
        assert str(e["SUMMARY"]) == "Busy" and str(e["CLASS"]) == "PRIVATE"
        assert "DESCRIPTION" not in e and "CATEGORIES" not in e
        key = str(e["X-CALSYNC-KEY"])
        assert str(e["UID"]) == install_uid(cfg, key).replace("@", ".busy@", 1)
    for word in (b"Strength A", b"squat", b"tempo", b"Strength B"):
        assert word not in busy.body
    assert str(cal["X-WR-CALNAME"]) == "Strength training (busy)"


def test_failed_rename_keeps_the_old_file_and_the_next_start_rewrites_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The file is put in place after the state commits (commit, then publish): a rename
    that fails leaves the old file, no temp file, and the committed state; the next start
    rewrites the file from the state's committed render."""
    cfg = config(tmp_path)
    assert cfg.output_ics is not None
    sync(cfg, PLAN, NOW)
    path = cfg.output_ics.path
    old = path.read_bytes()

    def broken_replace(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(DiskFullError, match=r"disk full: cannot write .*strength\.ics"):
        sync(cfg, PLAN[:1], NOW)
    assert path.read_bytes() == old
    assert [p.name for p in path.parent.iterdir()] == ["strength.ics"]
    monkeypatch.undo()
    with StateStore(cfg.state_path).reader() as v:  # the state committed before the rename
        assert len(v.sessions("ics")) == 1
        committed = v.feed("strength.ics")
    assert committed is not None and committed.body != old
    store = StateStore(cfg.state_path)
    with store.writer() as tx:
        IcsSink(cfg).snapshot(tx, (NOW, NOW + timedelta(days=28)))
        assert path.read_bytes() == committed.body  # rewritten on start, before any change


def test_a_sync_that_fails_after_staging_leaves_the_file_and_no_temp(tmp_path: Path) -> None:
    cfg = config(tmp_path)
    assert cfg.output_ics is not None
    sync(cfg, PLAN, NOW)
    path = cfg.output_ics.path
    old = path.read_bytes()
    store = StateStore(cfg.state_path)
    with pytest.raises(RuntimeError, match="later sink"), store.writer() as tx:
        sink = IcsSink(cfg)
        snap = sink.snapshot(tx, (NOW, NOW + timedelta(days=28)))
        sink.execute(diff(PLAN[:1], snap, NOW), tx, NOW)
        assert [p.name for p in path.parent.iterdir() if p.name != "strength.ics"]  # staged
        assert path.read_bytes() == old  # but not in place before the COMMIT
        raise RuntimeError("a later sink failed")
    assert path.read_bytes() == old
    assert [p.name for p in path.parent.iterdir()] == ["strength.ics"]


def test_an_older_state_restored_never_lowers_a_sequence_in_the_file(tmp_path: Path) -> None:
    """A restored backup (or a file an older calsync renamed before its COMMIT) can hold a
    lower SEQUENCE than subscribers saw in the file: the file's SEQUENCE is a floor."""
    import sqlite3

    cfg = config(tmp_path)
    assert cfg.output_ics is not None
    path = cfg.output_ics.path
    sync(cfg, PLAN, NOW)
    backup = tmp_path / "state.bak"
    with sqlite3.connect(cfg.state_path) as src, sqlite3.connect(backup) as dst:
        src.backup(dst)
    first = PLAN[0]
    later = timedelta(hours=1)
    moved = [replace(first, start=first.start + later, end=first.end + later), *PLAN[1:]]
    sync(cfg, moved, NOW)
    seen = sequences(path.read_bytes())
    assert seen[first.key] == 1
    # The restore: the older state back in place, the file as subscribers last saw it.
    for extra in ("-wal", "-shm"):
        Path(str(cfg.state_path) + extra).unlink(missing_ok=True)
    backup.replace(cfg.state_path)
    sync(cfg, PLAN, NOW)  # the older state holds PLAN as it is, at SEQUENCE 0
    after = sequences(path.read_bytes())
    assert after[first.key] == 2  # past the 1 subscribers saw, not back to 0
    assert all(after[k] >= seen[k] for k in seen)
    with StateStore(cfg.state_path).reader() as v:
        doc = v.feed("strength.ics")
        assert v.sessions("ics")[first.key].sequence == 2
    assert doc is not None and doc.body == path.read_bytes()
    sync(cfg, PLAN, NOW)  # and it stays there
    assert sequences(path.read_bytes()) == after


def sequences(data: bytes) -> dict[str, int]:
    cal = icalendar.Calendar.from_ical(data)
    return {str(e["X-CALSYNC-KEY"]): int(e["SEQUENCE"]) for e in cal.walk("VEVENT")}


def test_write_atomic_keeps_mode_and_skips_equal_bytes(tmp_path: Path) -> None:
    p = tmp_path / "a.ics"
    assert write_atomic(p, b"one")
    os.chmod(p, 0o640)
    assert not write_atomic(p, b"one")
    assert write_atomic(p, b"two")
    assert p.read_bytes() == b"two" and (p.stat().st_mode & 0o777) == 0o640


def test_reading_our_own_output_marks_every_event_as_ours(tmp_path: Path) -> None:
    cfg = config(tmp_path)
    assert cfg.output_ics is not None
    sync(cfg, PLAN, NOW)
    evs = parse_ics(
        cfg.output_ics.path.read_bytes(),
        label="out",
        zone=BERLIN,
        window=(NOW, NOW + timedelta(days=30)),
    )
    assert [(e.calsync_key, e.start, e.end, e.summary) for e in evs] == [
        (s.key, s.start, s.end, s.title) for s in PLAN
    ]
    assert [e.categories for e in evs] == [("Strength",)] * 3


def test_utc_zone_writes_utc_times_without_vtimezone(tmp_path: Path) -> None:
    data = render_calendar(PLAN, {}, calendar_name="S", zone=ZoneInfo("UTC"), refresh_minutes=30)
    assert b"BEGIN:VTIMEZONE" not in data and b"DTSTART:20261124T170000Z" in data
    assert b"X-PUBLISHED-TTL:PT30M" in data


def test_rendering_ignores_input_order_and_is_repeatable() -> None:
    stored = {
        s.key: StoredSession(s.key, s.start, s.end, "h", 2, NOW, NOW + timedelta(hours=1))
        for s in PLAN
    }
    a = render_calendar(PLAN, stored, calendar_name="S", zone=BERLIN, refresh_minutes=60)
    shuffled = PLAN[:]
    random.Random(4).shuffle(shuffled)
    b = render_calendar(shuffled, stored, calendar_name="S", zone=BERLIN, refresh_minutes=60)
    assert a == b
    assert a.count(b"SEQUENCE:2\r\n") == 3


# --------------------------------------------------------------------------- round trip

texts = st.text(
    # no BOM: vobject drops a leading U+FEFF from any value
    st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\r\ufeff"),
    max_size=80,
).map(str.strip)


@st.composite
def plans(draw: st.DrawFn) -> tuple[ZoneInfo, list[Session]]:
    zone = ZoneInfo(draw(st.sampled_from(["Europe/Berlin", "America/New_York", "UTC"])))
    out = []
    for i in range(draw(st.integers(1, 6))):
        start = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(
            days=draw(st.integers(0, 400)), minutes=15 * draw(st.integers(0, 95))
        )
        title = draw(texts) or "Strength"
        desc = draw(texts) + "\n" + draw(texts)
        out.append(
            Session(
                key=f"2026-W{i:02d}/{draw(st.integers(1, 3))}",
                start=start,
                end=start + timedelta(minutes=draw(st.sampled_from([30, 45, 60]))),
                title=title,
                phase=Phase.BASE,
                reason="r",
                description=desc.strip() or "d",
            )
        )
    uniq = {s.key: s for s in out}
    return zone, list(uniq.values())


@settings(max_examples=40, deadline=None)
@given(plans())
def test_output_parses_back_with_two_independent_parsers(
    plan: tuple[ZoneInfo, list[Session]],
) -> None:
    zone, sessions = plan
    data = render_calendar(sessions, {}, calendar_name="S", zone=zone, refresh_minutes=60)
    want = sorted((uid_for(s.key), s.start, s.end, s.title, s.description) for s in sessions)
    cal = icalendar.Calendar.from_ical(data)
    got_icalendar = sorted(
        (
            str(e["UID"]),
            e.decoded("DTSTART").astimezone(UTC),
            e.decoded("DTEND").astimezone(UTC),
            str(e["SUMMARY"]),
            str(e["DESCRIPTION"]),
        )
        for e in cal.walk("VEVENT")
    )
    assert got_icalendar == want
    vcal = vobject.readOne(data.decode("utf-8"))
    got_vobject = sorted(
        (
            e.uid.value,
            e.dtstart.value.astimezone(UTC),
            e.dtend.value.astimezone(UTC),
            e.summary.value,
            e.description.value,
        )
        for e in vcal.vevent_list
    )
    assert got_vobject == want
    assert (
        render_calendar(
            list(reversed(sessions)), {}, calendar_name="S", zone=zone, refresh_minutes=60
        )
        == data
    )


@pytest.mark.parametrize(
    "text",
    [
        "Notes in C:\\New Folder",  # icalendar's own escaping read a backslash-N as a line break
        "a \\n that is not a line break",
        "ends in a backslash \\",
        "semi; comma, both\nand a line",
    ],
)
def test_text_with_backslashes_reads_back_exactly(text: str) -> None:
    s = session("2026-11-23/1", 24, title=text, description=text)
    data = render_calendar([s], {}, calendar_name=text, zone=BERLIN, refresh_minutes=60)
    ev = icalendar.Calendar.from_ical(data).walk("VEVENT")[0]
    assert (str(ev["SUMMARY"]), str(ev["DESCRIPTION"])) == (text, text)
    vev = vobject.readOne(data.decode("utf-8")).vevent
    assert (vev.summary.value, vev.description.value) == (text, text)
    window = (s.start - timedelta(days=1), s.end + timedelta(days=1))
    (read,) = parse_ics(data, label="out.ics", zone=BERLIN, window=window)
    assert (read.summary, read.description) == (text, text)


# --------------------------------------------------------------------------- VTIMEZONE

ZONES = [
    "Europe/Berlin",
    "America/New_York",
    "Australia/Sydney",
    "Pacific/Auckland",
    "America/Santiago",
    "Asia/Kolkata",
    "Europe/Dublin",  # "negative DST" in tzdata: winter is the daylight-saving period
    "Africa/Casablanca",  # no yearly rule (Ramadan): the explicit list of changes
]


@pytest.mark.parametrize("name", ZONES)
def test_vtimezone_reproduces_zoneinfo(name: str) -> None:
    """Both parsers, reading only our VTIMEZONE, find zoneinfo's offset at every hour."""
    zone = ZoneInfo(name)
    s = session("2026-11-23/1", 24)
    sessions = [s, replace(s, key="k2", start=s.start + timedelta(days=400), end=s.end)]
    sessions[1] = replace(sessions[1], end=sessions[1].start + timedelta(minutes=45))
    data = render_calendar(sessions, {}, calendar_name="S", zone=zone, refresh_minutes=60)
    # Under a made-up TZID, so neither parser can fall back on its own zone database.
    data = data.replace(name.encode(), f"Custom/{name}".encode())
    comp = icalendar.Calendar.from_ical(data).walk("VTIMEZONE")[0]
    ours = comp.to_tz(lookup_tzid=False)
    theirs = vobject.readOne(data.decode()).vtimezone.gettzinfo()
    assert all("RDATE" not in c for c in comp.subcomponents)
    if name == "Africa/Casablanca":  # no yearly rule: each change on its own
        assert len(comp.subcomponents) > 20
    else:
        assert len(comp.subcomponents) <= 2
    checks = [datetime(2026, 1, 1, 12, tzinfo=UTC) + timedelta(days=d) for d in range(730)]
    t = datetime(2026, 1, 1, tzinfo=UTC)
    while t < datetime(2028, 1, 1, tzinfo=UTC):  # hour by hour around each change
        if (t + timedelta(hours=6)).astimezone(zone).utcoffset() != t.astimezone(zone).utcoffset():
            checks += [t + timedelta(minutes=30 * i) for i in range(13)]
        t += timedelta(hours=6)
    assert len(checks) > 730 or name == "Asia/Kolkata"
    for t in checks:
        local = t.astimezone(zone)
        if local.replace(fold=1 - local.fold).utcoffset() != local.utcoffset():
            continue  # a repeated wall time: never written as one (see the test below)
        want = local.utcoffset()
        assert t.astimezone(ours).utcoffset() == want, t
        assert t.astimezone(theirs).utcoffset() == want, t


def test_times_in_a_repeated_hour_are_written_in_utc() -> None:
    ny = ZoneInfo("America/New_York")
    start = datetime(2026, 11, 1, 5, 30, tzinfo=UTC)  # 01:30 EDT, the first 01:30
    s = session("k", 1, start=start, end=start + timedelta(minutes=30))  # ends 01:00 EST
    data = render_calendar([s], {}, calendar_name="S", zone=ny, refresh_minutes=60)
    assert b"DTSTART:20261101T053000Z" in data and b"DTEND:20261101T060000Z" in data
    ok = session("k", 2, start=start + timedelta(days=1), end=start + timedelta(days=1, hours=1))
    data = render_calendar([ok], {}, calendar_name="S", zone=ny, refresh_minutes=60)
    assert b"DTSTART;TZID=America/New_York:20261102T003000" in data


# --------------------------------------------------------------------------- the contract


class IcsSinkBackend:
    def __init__(self, tmp_path: Path) -> None:
        self.config = config(tmp_path)
        self.store = StateStore(self.config.state_path)
        assert self.config.output_ics is not None
        self.path = self.config.output_ics.path

    def make_sink(self) -> IcsSink:
        return IcsSink(self.config)

    def held(self) -> dict[str, Held]:
        if not self.path.exists():
            return {}
        cal = icalendar.Calendar.from_ical(self.path.read_bytes())
        return {
            str(ev["X-CALSYNC-KEY"]): Held(
                ev.decoded("DTSTART").astimezone(UTC),
                ev.decoded("DTEND").astimezone(UTC),
                str(ev["SUMMARY"]),
            )
            for ev in cal.walk("VEVENT")
        }

    @contextlib.contextmanager
    def failing(self) -> Iterator[None]:
        """The file's atomic replace fails (a full disk): nothing of the sync stays."""
        real = os.replace

        def fail(src: Any, dst: Any, *a: Any, **kw: Any) -> None:
            if Path(dst) == self.path:
                raise OSError(errno.ENOSPC, "No space left on device")
            real(src, dst, *a, **kw)

        os.replace = fail
        try:
            yield
        finally:
            os.replace = real


class TestIcsSinkContract(SinkContract):
    """The ICS file is calsync's alone: no pins, user deletions or foreign events (a file
    calsync did not write is refused whole: tests/test_cli_regressions.py)."""

    @pytest.fixture
    def sink_backend(self, tmp_path: Path) -> IcsSinkBackend:  # type: ignore[override]
        return IcsSinkBackend(tmp_path)
