"""Whole syncs driven by a hypothesis state machine, the way vdirsyncer tests its core.

Each step is something that happens in a runner's life: the plan (an ICS file calsync
reads) gains, moves or loses a run; time passes; calsync syncs, or syncs into a failure
(the ICS file's atomic replace fails; Google answers 500s or drops connections); in
Google the user moves or deletes one of calsync's events or adds one of their own.
Everything is real: `run_sync` reads a real ICS file, plans, writes a real ICS file and a
real SQLite state file, and talks HTTP to the Calendar API emulator.

After every successful sync the machine checks what a user relies on:
1. a second sync at once makes no writes, and the ICS file keeps every byte;
2. one event per session, every event carries calsync's marker, foreign events untouched;
3. every session satisfies the hard rules (`tests/planner_checker.py`, written from
   RULES.md apart from the planner);
4. H7: nothing that started before "now" was created, moved or deleted since the last
   successful sync;
5. a failed sync leaves the state as it was, and the clean sync after it ends where a
   clean sync from the pre-failure state would;
6. a Google event the user moved stays where the user put it; one the user deleted is
   not put back.

`CALSYNC_SM_SCALE=20 pytest --timeout 0 tests/test_sync_state_machine.py` runs 20 times
the examples (about 2.5 minutes per machine; the per-test timeout would cut it short).
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import os
import shutil
import sqlite3
import tempfile
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
import pytest
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    precondition,
    rule,
    run_state_machine_as_test,
)

from calsync.config import Config, load_config
from calsync.errors import CalsyncError, SafetyError
from calsync.ics_write import MARKER, uid_for
from calsync.model import Event, PriorSession
from calsync.sinks.memory import MemoryCalendar, MemoryEvent, MemorySink
from calsync.sources.memory import MemorySource
from calsync.state import StateStore
from calsync.state_schema import OUR_TABLES
from calsync.sync import SyncResult, read_window, run_sync
from tests.fakes.google_emulator import CalendarEmulator
from tests.fakes.google_fixtures import GoogleWorld
from tests.planner_checker import World, check_plan

# Long property / state-machine runs: `pytest -m "not slow"` leaves them out.
pytestmark = pytest.mark.slow

ZONE = ZoneInfo("Europe/Berlin")
T0 = datetime(2026, 11, 22, 20, 0, tzinfo=ZONE)  # a Sunday evening
DAY0 = date(2026, 11, 23)
SCALE = int(os.environ.get("CALSYNC_SM_SCALE", "1"))
# What the machines did, printed by the tests under `pytest -s` (to see they are not idle).
STATS: Counter[str] = Counter()


def note(what: str) -> None:
    event(what)
    STATS[what] += 1


TITLES = {
    "hard": ("Intervals 6x800m", "Tempo run 40 min", "Hill repeats 8 x 1 min"),
    "easy": ("Easy run 8 km", "Recovery run 5 km", "Long run 18 km easy"),
    "race": ("City 10K race", "Half marathon"),
}


@dataclasses.dataclass(frozen=True)
class RunSpec:
    """One run in the source calendar: a day (from DAY0), and a time unless all-day."""

    kind: str
    title: int
    day: int
    minute: int | None  # minutes after midnight, local; None: all-day
    length: int = 60

    @property
    def summary(self) -> str:
        names = TITLES[self.kind]
        return names[self.title % len(names)]


runs = st.builds(
    RunSpec,
    kind=st.sampled_from(["hard", "hard", "easy", "easy", "race"]),
    title=st.integers(0, 2),
    day=st.integers(-2, 45),
    minute=st.one_of(st.none(), st.integers(5 * 4, 21 * 4).map(lambda q: q * 15)),
    length=st.sampled_from([30, 45, 60, 90, 120]),
)


def render_source(specs: dict[str, RunSpec]) -> bytes:
    """The runner's plan as an ICS file, times in UTC (no VTIMEZONE needed)."""
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//calsync tests//state machine//EN"]
    for uid, r in sorted(specs.items()):
        d = DAY0 + timedelta(days=r.day)
        lines += ["BEGIN:VEVENT", f"UID:{uid}", "DTSTAMP:20261101T000000Z"]
        if r.minute is None:
            lines += [
                f"DTSTART;VALUE=DATE:{d:%Y%m%d}",
                f"DTEND;VALUE=DATE:{d + timedelta(days=1):%Y%m%d}",
            ]
        else:
            start = datetime(d.year, d.month, d.day, tzinfo=ZONE) + timedelta(minutes=r.minute)
            end = start + timedelta(minutes=r.length)
            lines += [
                f"DTSTART:{start.astimezone(UTC):%Y%m%dT%H%M%SZ}",
                f"DTEND:{end.astimezone(UTC):%Y%m%dT%H%M%SZ}",
            ]
        lines += [f"SUMMARY:{r.summary}", "END:VEVENT"]
    lines.append("END:VCALENDAR")
    return ("\r\n".join(lines) + "\r\n").encode()


@dataclasses.dataclass(frozen=True)
class Written:
    """One session as an output holds it."""

    start: datetime
    end: datetime
    sequence: int = 0


def read_ics(path: Path) -> dict[str, Written]:
    """calsync's ICS output by session key, checking invariant 2 on the way."""
    cal = icalendar.Calendar.from_ical(path.read_bytes())
    out: dict[str, Written] = {}
    uids: set[str] = set()
    domains: set[str] = set()
    for ev in cal.walk("VEVENT"):
        assert MARKER in ev, f"an event without calsync's marker: {ev.get('UID')}"
        key = str(ev[MARKER])
        uid = str(ev["UID"])
        # "<key>@<this install's namespace>.calsync" (calsync.uids)
        local, _, domain = uid.partition("@")
        assert local == uid_for(key).partition("@")[0] and domain.endswith(".calsync"), uid
        domains.add(domain)
        assert len(domains) == 1, domains
        assert uid not in uids and key not in out, f"duplicate session {key}"
        uids.add(uid)
        out[key] = Written(
            ev.decoded("DTSTART").astimezone(UTC),
            ev.decoded("DTEND").astimezone(UTC),
            int(ev.get("SEQUENCE", 0)),
        )
    return out


def state_rows(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Everything a sync commits (not the log of syncs, which records the failure)."""
    conn = sqlite3.connect(path)
    try:
        # Every table but the log of syncs and the HTTP cache of sources.
        tables = sorted(set(OUR_TABLES) - {"kv", "sync_log", "source_cache"})
        return {t: sorted(conn.execute(f"SELECT * FROM {t}").fetchall()) for t in tables}
    finally:
        conn.close()


def copy_state(src: Path, dst: Path) -> None:
    """A consistent copy of the SQLite state (WAL included) through the backup API."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    a, b = sqlite3.connect(src), sqlite3.connect(dst)
    try:
        a.backup(b)
    finally:
        a.close()
        b.close()


def planned(config: Config) -> list[PriorSession]:
    if not config.state_path.exists():
        return []
    with StateStore(config.state_path).reader() as view:
        return view.planned()


@contextlib.contextmanager
def replace_fails_once(target: Path) -> Iterator[list[int]]:
    """`os.replace` onto the output file fails once with EIO, as a full disk would."""
    real = os.replace
    fired: list[int] = []

    def failing(src: Any, dst: Any, *a: Any, **kw: Any) -> None:
        if Path(dst) == target and not fired:
            fired.append(1)
            raise OSError(errno.EIO, "Input/output error")
        real(src, dst, *a, **kw)

    os.replace = failing
    try:
        yield fired
    finally:
        os.replace = real


@contextlib.contextmanager
def output_is_a_directory(target: Path) -> Iterator[None]:
    """The output path is (for one sync) a directory: calsync cannot read or replace it."""
    aside = target.with_name(target.name + ".aside")
    had = target.exists()
    if had:
        os.replace(target, aside)
    target.mkdir()
    try:
        yield
    finally:
        shutil.rmtree(target)
        if had:
            os.replace(aside, target)


# ====================================================================== the machine


class SyncMachine(RuleBasedStateMachine):
    """The ICS output alone. `GoogleMachine` adds the Google sink and the user's edits."""

    def __init__(self) -> None:
        super().__init__()
        self.dir = Path(tempfile.mkdtemp(prefix="calsync-sm-"))
        self.source = self.dir / "plan.ics"
        self.output = self.dir / "out" / "strength.ics"
        self.runs: dict[str, RunSpec] = {}
        self.next_uid = 0
        self.now = T0
        self.prev_out: dict[str, Written] = {}  # the last successful sync's output
        self.syncs = 0
        self.config_path = self.write_config()
        self.config = load_config(self.config_path)

    def write_config(self) -> Path:
        path = self.dir / "config.toml"
        path.write_text(
            '[schedule]\ntimezone = "Europe/Berlin"\nhorizon_days = 14\n\n'
            f'[[source]]\ntype = "ics"\nurl = "{self.source}"\nrole = "runs"\n\n'
            '[output.ics]\npath = "out/strength.ics"\n\n'
            '[state]\npath = "state/state.sqlite3"\n'
        )
        return path

    def teardown(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)

    # ---------------------------------------------------------------- the runner's plan

    def write_source(self) -> None:
        self.source.write_bytes(render_source(self.runs))

    @initialize(first=st.lists(runs, min_size=1, max_size=8))
    def seed(self, first: list[RunSpec]) -> None:
        for r in first:
            self.add(r)
        self.sync()

    def add(self, r: RunSpec) -> None:
        """A run `r.day` days from today (the plan grows ahead as time passes)."""
        today = max((self.now.astimezone(ZONE).date() - DAY0).days, 0)
        self.runs[f"run-{self.next_uid}@test"] = dataclasses.replace(r, day=r.day + today)
        self.next_uid += 1
        self.write_source()

    @rule(r=runs)
    def add_run(self, r: RunSpec) -> None:
        self.add(r)

    @precondition(lambda self: bool(self.runs))
    @rule(data=st.data(), days=st.integers(-3, 3), minutes=st.integers(-16, 16))
    def move_run(self, data: st.DataObject, days: int, minutes: int) -> None:
        uid = data.draw(st.sampled_from(sorted(self.runs)))
        r = self.runs[uid]
        minute = None if r.minute is None else min(max(r.minute + minutes * 15, 0), 22 * 60)
        self.runs[uid] = dataclasses.replace(r, day=r.day + days, minute=minute)
        self.write_source()

    # A source with no event at all is refused as broken (SourceError): keep one.
    @precondition(lambda self: len(self.runs) > 1)
    @rule(data=st.data())
    def delete_run(self, data: st.DataObject) -> None:
        del self.runs[data.draw(st.sampled_from(sorted(self.runs)))]
        self.write_source()

    @rule(hours=st.integers(0, 72))
    def advance(self, hours: int) -> None:
        self.now += timedelta(hours=hours)

    @rule(weeks=st.integers(1, 2))
    def weeks_pass(self, weeks: int) -> None:
        """Long gaps between syncs, so that history older than the read window exists."""
        self.now += timedelta(weeks=weeks)

    # ---------------------------------------------------------------- syncing

    def run(self, *, force: bool = False, dry_run: bool = False) -> SyncResult:
        return run_sync(self.config, self.now, force=force, dry_run=dry_run, wait_seconds=1.0)

    @rule()
    def sync(self) -> None:
        before = planned(self.config)
        try:
            result = self.run()
        except SafetyError:
            # Only when the window holds no run: the user confirms with --force.
            w0, w1 = read_window(self.config, self.now)
            assert not self.runs_in(w0, w1), "refused a sync although the sources hold runs"
            result = self.run(force=True)
        self.check_success(result, before)

    def runs_in(self, w0: datetime, w1: datetime) -> list[RunSpec]:
        out = []
        for r in self.runs.values():
            day = datetime(*(DAY0 + timedelta(days=r.day)).timetuple()[:3], tzinfo=ZONE)
            if day + timedelta(days=1) > w0 and day < w1:
                out.append(r)
        return out

    @rule(how=st.sampled_from(["replace fails", "output is a directory"]))
    def sync_with_fault(self, how: str) -> None:
        """Invariant 5, on the ICS output: a failed write leaves the last committed file.

        An output path calsync cannot read is found on start: nothing changes. The file
        is put in place after the state's COMMIT (commit, then publish): a rename that
        fails leaves the state committed and the file as the last sync left it, which the
        next start rewrites from the state."""
        before_rows = state_rows(self.config.state_path)
        before = planned(self.config)
        ref = self.reference_copy()
        before_bytes = self.output.read_bytes()
        fault = replace_fails_once(self.output) if how == "replace fails" else None
        try:
            with fault or output_is_a_directory(self.output):
                result = self.run(force=True)
        except CalsyncError as e:
            assert "cannot" in str(e) and str(self.output) in str(e), str(e)
            note(f"ICS fault: {how}: the sync failed")
        else:
            # Nothing to write (the file was already right): the fault never fired.
            assert how == "replace fails"
            self.check_success(result, before)
            return
        if how == "output is a directory":
            assert state_rows(self.config.state_path) == before_rows
        assert self.output.read_bytes() == before_bytes
        assert not [p for p in self.output.parent.iterdir() if p.name.endswith("tmp")]
        # The next clean sync ends where a clean sync from the pre-failure state ends.
        result = self.run(force=True)
        run_sync(ref, self.now, force=True, wait_seconds=1.0)
        assert ref.output_ics is not None
        assert read_ics(self.output) == read_ics(ref.output_ics.path)
        assert self.output.read_bytes() == ref.output_ics.path.read_bytes()
        self.check_success(result, before)

    def reference_copy(self) -> Config:
        """The same config over a copy of the state and another output file."""
        ref_dir = Path(tempfile.mkdtemp(prefix="ref-", dir=self.dir))
        copy_state(self.config.state_path, ref_dir / "state.sqlite3")
        assert self.config.output_ics is not None
        shutil.copy(self.output, ref_dir / "strength.ics")
        return dataclasses.replace(
            self.config,
            state_path=ref_dir / "state.sqlite3",
            output_ics=dataclasses.replace(self.config.output_ics, path=ref_dir / "strength.ics"),
        )

    # ---------------------------------------------------------------- the invariants

    def check_success(self, result: SyncResult, before: list[PriorSession]) -> None:
        self.syncs += 1
        out = read_ics(self.output)  # invariant 2
        past = sum(1 for s in result.plan.sessions if s.past)
        note(f"sessions after a sync: {min(len(out), 6)}+, past ones: {min(past, 3)}+")
        # The file holds the plan, and the feed serves the file.
        assert {s.key for s in result.plan.sessions} == set(out)
        with StateStore(self.config.state_path).reader() as view:
            doc = view.feed("strength.ics")
        assert doc is not None and doc.body == self.output.read_bytes()
        self.check_rules(result, before)  # invariant 3
        self.check_history(self.current_output())  # invariant 4
        self.check_idempotent()  # invariant 1
        self.prev_out = self.current_output()

    def current_output(self) -> dict[str, Written]:
        return {k: dataclasses.replace(w, sequence=0) for k, w in read_ics(self.output).items()}

    def previous_for_checker(self, before: list[PriorSession]) -> list[PriorSession]:
        return before

    def skipped_for_checker(self) -> list[PriorSession]:
        return []

    def check_rules(self, result: SyncResult, before: list[PriorSession]) -> None:
        world = World(
            runs=result.inputs.runs,
            busy=result.inputs.busy,
            own_strength=result.inputs.own_strength,
            schedule=self.config.schedule,
            rules=self.config.rules,
            now=self.now,
            previous=self.previous_for_checker(before),
            skipped=self.skipped_for_checker(),
        )
        problems = check_plan(world, result.plan)
        assert not problems, (self.now, problems)

    def check_history(self, out: dict[str, Written]) -> None:
        """H7 against the last successful sync's output."""
        now = self.now.astimezone(UTC)
        for key, w in self.prev_out.items():
            if w.start < now:
                assert out.get(key) == w, f"past session {key} moved or deleted: {out.get(key)}"
        for key, w in out.items():
            if w.start < now:
                assert self.prev_out.get(key) == w, f"past session {key} created: {w}"

    def check_idempotent(self) -> None:
        data = self.output.read_bytes()
        stat = self.output.stat()
        again = self.run(force=True)
        assert [r.writes for r in again.reports] == [0] * len(again.reports), [
            (r.name, r.created, r.updated, r.deleted) for r in again.reports
        ]
        assert self.output.read_bytes() == data
        assert self.output.stat().st_mtime_ns == stat.st_mtime_ns  # not even rewritten


# ====================================================================== Google


@dataclasses.dataclass
class Moved:
    start: str
    end: str
    etag: str


class GoogleMachine(SyncMachine):
    """The ICS output and the Google sink, with the user editing the Google calendar."""

    def __init__(self) -> None:
        self.emu = CalendarEmulator().start()
        self.moved: dict[str, Moved] = {}  # key -> where the user put it
        self.moves_seen: set[str] = set()  # moves a successful sync has read
        self.deleted: dict[str, PriorSession] = {}  # key -> the session the user deleted
        self.foreign: dict[str, str] = {}  # event id -> etag
        super().__init__()

    def write_config(self) -> Path:
        self.world = GoogleWorld(self.emu, self.dir)
        self.world.write_token()
        return self.world.write_config(
            runs=str(self.source), extra='\n[output.ics]\npath = "out/strength.ics"\n'
        )

    def teardown(self) -> None:
        self.emu.stop()
        super().teardown()

    def calendar(self) -> str | None:
        found = self.emu.calendar_by_summary("Strength training")
        assert len(found) <= 1, f"{len(found)} strength calendars"
        return found[0] if found else None

    def google_sessions(self) -> dict[str, dict[str, Any]]:
        return self.world.sessions() if self.calendar() is not None else {}

    # ---------------------------------------------------------------- the user in Google

    def future_sessions(self) -> list[str]:
        now = self.now.astimezone(UTC)
        return sorted(
            k
            for k, ev in self.google_sessions().items()
            if datetime.fromisoformat(ev["start"]["dateTime"]) > now
        )

    @precondition(lambda self: bool(self.future_sessions()))
    @rule(data=st.data(), quarters=st.integers(-12, 12).filter(bool))
    def user_moves_a_session(self, data: st.DataObject, quarters: int) -> None:
        key = data.draw(st.sampled_from(self.future_sessions()))
        ev = self.google_sessions()[key]
        shift = timedelta(minutes=15 * quarters)
        start = datetime.fromisoformat(ev["start"]["dateTime"]) + shift
        end = datetime.fromisoformat(ev["end"]["dateTime"]) + shift
        cal = self.calendar()
        assert cal is not None
        body = {"start": {"dateTime": start.isoformat()}, "end": {"dateTime": end.isoformat()}}
        moved = self.emu.user_patch(cal, ev["id"], body)
        self.moved[key] = Moved(start.isoformat(), end.isoformat(), moved["etag"])
        self.moves_seen.discard(key)
        note("Google: the user moved a session")
        self.prev_out[key] = Written(start.astimezone(UTC), end.astimezone(UTC))

    @precondition(lambda self: bool(self.google_sessions()))
    @rule(data=st.data())
    def user_deletes_a_session(self, data: st.DataObject) -> None:
        sessions = self.google_sessions()
        key = data.draw(st.sampled_from(sorted(sessions)))
        ev = sessions[key]
        cal = self.calendar()
        assert cal is not None
        self.emu.user_delete(cal, ev["id"])
        start = datetime.fromisoformat(ev["start"]["dateTime"])
        end = datetime.fromisoformat(ev["end"]["dateTime"])
        self.deleted[key] = PriorSession(key, start, end)
        note("Google: the user deleted a session")
        self.moved.pop(key, None)
        self.prev_out.pop(key, None)

    @precondition(lambda self: self.calendar() is not None)
    @rule(day=st.integers(0, 20), quarter=st.integers(6 * 4, 21 * 4))
    def user_adds_an_event(self, day: int, quarter: int) -> None:
        cal = self.calendar()
        assert cal is not None
        d = self.now.astimezone(ZONE).date() + timedelta(days=day)
        start = datetime(d.year, d.month, d.day, tzinfo=ZONE) + timedelta(minutes=15 * quarter)
        ev = self.emu.user_insert(
            cal,
            {
                "summary": "Physio",
                "start": {"dateTime": start.isoformat()},
                "end": {"dateTime": (start + timedelta(hours=1)).isoformat()},
            },
        )
        self.foreign[ev["id"]] = ev["etag"]

    # ---------------------------------------------------------------- faults

    @rule(
        kind=st.sampled_from(["status", "drop", "drop_after"]),
        where=st.sampled_from(["batch", "any", "event list", "insert part"]),
        count=st.sampled_from([1, 2, 1000]),
        churn=st.one_of(st.none(), runs),
        data=st.data(),
    )
    def sync_with_fault(  # type: ignore[override]
        self, kind: str, where: str, count: int, churn: RunSpec | None, data: st.DataObject
    ) -> None:
        """Invariant 5 for Google: 500s and dropped connections, passing or for good.

        `churn` changes the plan first (a run replaced by another), so that the failing
        sync has sessions to create, move and delete. The emulator's calendar cannot be
        copied, so the reference is the plan a dry run made just before the failing
        sync: from the same state, the same calendar.
        """
        if churn is not None:
            if len(self.runs) > 1:
                del self.runs[data.draw(st.sampled_from(sorted(self.runs)))]
            self.add(churn)
        matches = {
            "batch": lambda m, p: "batch" in p,
            "any": None,
            "event list": lambda m, p: p.endswith("/events") and m == "GET",
            "insert part": lambda m, p: m == "POST",
        }
        reference = self.run(force=True, dry_run=True)
        before = planned(self.config)
        before_rows = state_rows(self.config.state_path)
        scope = "part" if where == "insert part" else "http"
        self.emu.add_fault(
            "status" if scope == "part" else kind,
            status=500,
            count=count,
            scope=scope,
            match=matches[where],
        )
        try:
            result = self.run(force=True)
        except CalsyncError:
            note(f"Google fault: {kind} {where} x{count}: the sync failed")
            self.emu.faults.clear()
            assert state_rows(self.config.state_path) == before_rows
            result = self.run(force=True)
        self.emu.faults.clear()
        assert [(s.key, s.start, s.end) for s in result.plan.sessions] == [
            (s.key, s.start, s.end) for s in reference.plan.sessions
        ]
        self.check_success(result, before)

    # ---------------------------------------------------------------- the invariants

    def run(self, *, force: bool = False, dry_run: bool = False) -> SyncResult:
        mark = self.emu.mark()
        result = super().run(force=force, dry_run=dry_run)
        self.last_log = self.emu.since(mark)
        return result

    def previous_for_checker(self, before: list[PriorSession]) -> list[PriorSession]:
        by_key = {p.key: p for p in before}
        w0, w1 = read_window(self.config, self.now)
        for key, m in self.moved.items():
            start, end = datetime.fromisoformat(m.start), datetime.fromisoformat(m.end)
            # A move is a pin once a successful sync has read it (inside its read window);
            # a move that slid out of the window before any sync read it is history calsync
            # never learnt of, so the last plan's record of the session stands (H7).
            if end > w0 and start < w1:
                self.moves_seen.add(key)
            if key in self.moves_seen:
                by_key[key] = PriorSession(key, start, end, pinned=True)
        # A deletion the sync can see (inside its read window) takes the session out of
        # the plan. One that has slid out of the window is history: the last plan's
        # record of it stands (H7), and Google is not asked to put it back (it is past).
        for key, gone in self.deleted.items():
            if gone.end > w0 and gone.start < w1:
                by_key.pop(key, None)
        return sorted(by_key.values(), key=lambda p: (p.start, p.key))

    def skipped_for_checker(self) -> list[PriorSession]:
        return list(self.deleted.values())

    def current_output(self) -> dict[str, Written]:
        out = {}
        for key, ev in self.google_sessions().items():
            start = datetime.fromisoformat(ev["start"]["dateTime"]).astimezone(UTC)
            end = datetime.fromisoformat(ev["end"]["dateTime"]).astimezone(UTC)
            out[key] = Written(start, end)
        return out

    def check_success(self, result: SyncResult, before: list[PriorSession]) -> None:
        read_ics(self.output)
        cal = self.calendar()
        events = {e["id"]: e for e in self.emu.events(cal)} if cal is not None else {}
        for eid, ev in events.items():  # invariant 2
            private = ev.get("extendedProperties", {}).get("private", {})
            assert eid in self.foreign or private.get("calsync") == "1", ev
        for eid, etag in self.foreign.items():
            assert events[eid]["etag"] == etag, f"foreign event {eid} touched"
        sessions = self.google_sessions()
        for key, m in self.moved.items():  # invariant 6
            ev = sessions.get(key)
            assert ev is not None, f"the session the user moved ({key}) is gone"
            assert (ev["start"]["dateTime"], ev["end"]["dateTime"], ev["etag"]) == (
                m.start,
                m.end,
                m.etag,
            ), f"the session the user moved ({key}) was changed"
        for key in self.deleted:
            assert key not in sessions, f"the session the user deleted ({key}) is back"
        # The future of the plan is what Google holds (pins included).
        now = self.now.astimezone(UTC)
        want = {s.key for s in result.plan.sessions if s.start >= now}
        have = {k for k, w in self.current_output().items() if w.start >= now}
        assert want == have, (sorted(want - have), sorted(have - want))
        super().check_success(result, before)

    def check_idempotent(self) -> None:
        super().check_idempotent()
        writes = [(e.method, e.path, e.parts) for e in self.last_log if e.writes]
        assert not writes, writes


# ====================================================================== memory


class MemoryMachine(SyncMachine):
    """The same life over the in-memory source and sink (calsync.sources.memory,
    calsync.sinks.memory): the real sync, planner and SQLite state, with no file or HTTP
    in between, so it runs many more examples. The user edits the memory calendar as
    `GoogleMachine`'s user edits Google, with the same promises checked."""

    def __init__(self) -> None:
        self.calendar = MemoryCalendar()
        self.source_events = MemorySource(label="plan")
        self.moved: dict[str, Moved] = {}  # key -> where the user put it
        self.moves_seen: set[str] = set()  # moves a successful sync has read
        self.deleted: dict[str, PriorSession] = {}
        self.foreign: dict[str, MemoryEvent] = {}
        super().__init__()

    def write_config(self) -> Path:
        path = self.dir / "config.toml"
        path.write_text(
            '[schedule]\ntimezone = "Europe/Berlin"\nhorizon_days = 14\n\n'
            '[state]\npath = "state/state.sqlite3"\n'
        )
        return path

    def write_source(self) -> None:
        self.source_events.events = [memory_event(uid, r) for uid, r in sorted(self.runs.items())]

    def run(self, *, force: bool = False, dry_run: bool = False) -> SyncResult:
        return run_sync(
            self.config,
            self.now,
            force=force,
            dry_run=dry_run,
            wait_seconds=1.0,
            sources=[self.source_events],
            sinks=[MemorySink(self.calendar)],
        )

    # ---------------------------------------------------------------- the user

    def future_sessions(self) -> list[str]:
        return sorted(k for k, ev in self.calendar.sessions().items() if ev.start > self.now)

    @precondition(lambda self: bool(self.future_sessions()))
    @rule(data=st.data(), quarters=st.integers(-12, 12).filter(bool))
    def user_moves_a_session(self, data: st.DataObject, quarters: int) -> None:
        key = data.draw(st.sampled_from(self.future_sessions()))
        ev = self.calendar.user_move(key, timedelta(minutes=15 * quarters))
        self.moved[key] = Moved(ev.start.isoformat(), ev.end.isoformat(), str(ev.etag))
        self.moves_seen.discard(key)
        note("memory: the user moved a session")
        self.prev_out[key] = Written(ev.start.astimezone(UTC), ev.end.astimezone(UTC))

    @precondition(lambda self: bool(self.calendar.sessions()))
    @rule(data=st.data())
    def user_deletes_a_session(self, data: st.DataObject) -> None:
        key = data.draw(st.sampled_from(sorted(self.calendar.sessions())))
        ev = self.calendar.user_delete(key)
        self.deleted[key] = PriorSession(key, ev.start, ev.end)
        note("memory: the user deleted a session")
        self.moved.pop(key, None)
        self.prev_out.pop(key, None)

    @rule(day=st.integers(0, 20), quarter=st.integers(6 * 4, 21 * 4))
    def user_adds_an_event(self, day: int, quarter: int) -> None:
        d = self.now.astimezone(ZONE).date() + timedelta(days=day)
        start = datetime(d.year, d.month, d.day, tzinfo=ZONE) + timedelta(minutes=15 * quarter)
        ev = self.calendar.user_add("Physio", start, start + timedelta(hours=1))
        self.foreign[ev.uid] = ev

    # ---------------------------------------------------------------- faults

    @rule(after=st.integers(0, 5), churn=st.one_of(st.none(), runs), data=st.data())
    def sync_with_fault(  # type: ignore[override]
        self, after: int, churn: RunSpec | None, data: st.DataObject
    ) -> None:
        """Invariant 5: the calendar fails after `after` writes; the state rolls back,
        the writes made stay, and the next clean sync ends where the dry run before it
        said a clean sync would."""
        if churn is not None:
            if len(self.runs) > 1:
                del self.runs[data.draw(st.sampled_from(sorted(self.runs)))]
            self.add(churn)
        reference = self.run(force=True, dry_run=True)
        before = planned(self.config)
        before_rows = state_rows(self.config.state_path)
        self.calendar.fail_after = after
        try:
            result = self.run(force=True)
        except CalsyncError:
            note("memory fault: the sync failed")
            assert state_rows(self.config.state_path) == before_rows
            result = self.run(force=True)
        finally:
            self.calendar.fail_after = None
        assert [(s.key, s.start, s.end) for s in result.plan.sessions] == [
            (s.key, s.start, s.end) for s in reference.plan.sessions
        ]
        self.check_success(result, before)

    # ---------------------------------------------------------------- the invariants

    previous_for_checker = GoogleMachine.previous_for_checker
    skipped_for_checker = GoogleMachine.skipped_for_checker

    def current_output(self) -> dict[str, Written]:
        return {
            k: Written(ev.start.astimezone(UTC), ev.end.astimezone(UTC))
            for k, ev in self.calendar.sessions().items()
        }

    def check_success(self, result: SyncResult, before: list[PriorSession]) -> None:
        self.syncs += 1
        for uid, ev in self.foreign.items():
            assert self.calendar.events[uid] == ev, f"foreign event {uid} touched"
        sessions = self.calendar.sessions()
        for key, m in self.moved.items():
            ev = sessions.get(key)
            assert ev is not None, f"the session the user moved ({key}) is gone"
            held = Moved(ev.start.isoformat(), ev.end.isoformat(), str(ev.etag))
            assert held == m, f"the session the user moved ({key}) was changed"
        for key in self.deleted:
            assert key not in sessions, f"the session the user deleted ({key}) is back"
        want = {s.key for s in result.plan.sessions if s.start >= self.now}
        have = {k for k, ev in sessions.items() if ev.start >= self.now}
        assert want == have, (sorted(want - have), sorted(have - want))
        past = sum(1 for s in result.plan.sessions if s.past)
        note(f"sessions after a sync: {min(len(sessions), 6)}+, past ones: {min(past, 3)}+")
        self.check_rules(result, before)
        self.check_history(self.current_output())
        self.check_idempotent()
        self.prev_out = self.current_output()

    def check_idempotent(self) -> None:
        writes = self.calendar.writes
        again = self.run(force=True)
        assert [r.writes for r in again.reports] == [0], [
            (r.name, r.created, r.updated, r.deleted) for r in again.reports
        ]
        assert self.calendar.writes == writes


def memory_event(uid: str, r: RunSpec) -> Event:
    """The run as an ICS source would read it (`render_source` + `parse_ics`)."""
    d = DAY0 + timedelta(days=r.day)
    midnight = datetime(d.year, d.month, d.day, tzinfo=ZONE)
    if r.minute is None:
        return Event(uid, r.summary, midnight, midnight + timedelta(days=1), all_day=True)
    start = midnight + timedelta(minutes=r.minute)
    return Event(uid, r.summary, start, start + timedelta(minutes=r.length))


# ====================================================================== the tests

ICS_SETTINGS = settings(
    max_examples=25 * SCALE,
    stateful_step_count=12,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
MEMORY_SETTINGS = settings(
    max_examples=25 * SCALE,
    stateful_step_count=12,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
GOOGLE_SETTINGS = settings(
    max_examples=10 * SCALE,
    stateful_step_count=8,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


def test_ics_syncs_keep_every_promise() -> None:
    STATS.clear()
    run_state_machine_as_test(SyncMachine, settings=ICS_SETTINGS)
    print(sorted(STATS.items()))


def test_memory_syncs_keep_every_promise() -> None:
    STATS.clear()
    run_state_machine_as_test(MemoryMachine, settings=MEMORY_SETTINGS)
    print(sorted(STATS.items()))


def test_google_syncs_keep_every_promise(fast_retries: None) -> None:
    STATS.clear()
    run_state_machine_as_test(GoogleMachine, settings=GOOGLE_SETTINGS)
    print(sorted(STATS.items()))


@pytest.mark.parametrize(
    "spec",
    [
        RunSpec(kind, title, 3, minute)
        for kind, names in TITLES.items()
        for title in range(len(names))
        for minute in (None, 18 * 60)
    ],
)
def test_the_source_writer_makes_runs_calsync_reads_as_meant(spec: RunSpec) -> None:
    """The machine's plan file says what it means: its runs classify as their kind."""
    from calsync.classify import classify
    from calsync.config import parse_config
    from calsync.sources.ics import parse_ics

    config = parse_config({"schedule": {"timezone": "Europe/Berlin"}})
    window = (T0 - timedelta(days=7), T0 + timedelta(days=30))
    events = parse_ics(render_source({"r@test": spec}), label="test", zone=ZONE, window=window)
    assert len(events) == 1
    verdict = classify(events[0], config.classify)
    assert verdict.intensity is not None and verdict.intensity.value == spec.kind
    assert events[0].all_day is (spec.minute is None)


def test_deletions_of_a_failed_sync_are_not_taken_for_the_users(gworld: GoogleWorld) -> None:
    """The state a failed sync wrote is rolled back, the deletes it made in Google are not:
    the next syncs must not read them as the user's ("not put back that week").

    The machine reaches this only rarely (a batch whose deletes pass and whose moves fail
    for good), so it is spelled out here.
    """
    plan = {
        "a@t": RunSpec("hard", 0, 1, 18 * 60),
        "b@t": RunSpec("hard", 1, 3, 18 * 60),
        "c@t": RunSpec("easy", 0, 6, 9 * 60),
        "d@t": RunSpec("hard", 0, 8, 18 * 60),
        "e@t": RunSpec("hard", 1, 10, 18 * 60),
    }
    source = gworld.dir / "plan.ics"
    source.write_bytes(render_source(plan))
    config = load_config(gworld.write_config(runs=str(source)))
    run_sync(config, T0)
    first = {k: (e["start"], e["end"]) for k, e in gworld.sessions().items()}
    # A race on 5 December: two taper weeks of one session each.
    source.write_bytes(render_source(dict(plan, race=RunSpec("race", 0, 12, 9 * 60))))
    dry = run_sync(config, T0, dry_run=True).reports[-1]
    assert dry.deleted and dry.updated  # the failing sync has both to do
    gworld.emu.add_fault(
        "status", status=500, count=1000, scope="part", match=lambda m, p: m != "DELETE"
    )
    with pytest.raises(CalsyncError, match="change"):
        run_sync(config, T0)
    gworld.emu.faults.clear()
    run_sync(config, T0)
    # The race is off again: every session of the first plan comes back.
    source.write_bytes(render_source(plan))
    run_sync(config, T0)
    assert {k: (e["start"], e["end"]) for k, e in gworld.sessions().items()} == first
