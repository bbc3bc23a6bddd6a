"""The contracts every sink and every source keeps, written once.

The shape is vdirsyncer's `StorageTests`: a backend's test module subclasses
`SinkContract` or `SourceContract` and provides one fixture (`sink_backend` /
`source_backend`) returning an object with a few hooks (`SinkBackend`, `SourceBackend`);
every test below then runs on that backend. The in-memory backends
(`calsync.sinks.memory`, `calsync.sources.memory`) pass them first; a new backend is done
when its subclass passes too.

The sink tests drive the sink the way `calsync.sync` does: snapshot, the pure diff,
`execute`, all in one state transaction, so a failure rolls the state back while what
the backend already did stays done (a remote calendar does not roll back).
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

import pytest

from calsync.diff import diff
from calsync.errors import CalsyncError, SourceError
from calsync.model import Action, ActionKind, Event, Phase, Session, SinkSnapshot
from calsync.sinks.base import Sink, SinkReport
from calsync.sources.base import Source
from calsync.state import StateStore

NOW = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)  # a Wednesday morning
WINDOW = (NOW - timedelta(days=9), NOW + timedelta(days=40))


@dataclasses.dataclass(frozen=True)
class Held:
    """One of calsync's events as the backend itself holds it (read without calsync)."""

    start: datetime
    end: datetime
    title: str


def session(key: str, hours: float, title: str = "Strength A", minutes: int = 45) -> Session:
    start = NOW + timedelta(hours=hours)
    return Session(
        key=key,
        start=start,
        end=start + timedelta(minutes=minutes),
        title=title,
        phase=Phase.BUILD,
        reason="after Tuesday's intervals",
        description=f"{title}: squats, calf raises, push-ups, plank",
    )


def moved(s: Session, hours: float) -> Session:
    d = timedelta(hours=hours)
    return dataclasses.replace(s, start=s.start + d, end=s.end + d)


def as_held(sessions: Sequence[Session]) -> dict[str, Held]:
    return {s.key: Held(s.start.astimezone(UTC), s.end.astimezone(UTC), s.title) for s in sessions}


# ====================================================================== sinks


class SinkBackend(Protocol):
    """What a sink's test module supplies."""

    store: StateStore

    def make_sink(self) -> Sink:
        """A new sink over the same backend (each sync builds its sinks afresh)."""
        ...

    def held(self) -> dict[str, Held]:
        """calsync's events the backend holds (not deleted), by key, read directly."""
        ...

    def failing(self) -> contextlib.AbstractContextManager[None]:
        """While inside, some or all of the sink's writes fail (the backend's own way)."""
        ...


class EditableBackend(SinkBackend, Protocol):
    """A calendar the user edits too (Google, CalDAV, memory)."""

    def user_moves(self, key: str, hours: float) -> None: ...

    def user_deletes(self, key: str) -> None: ...

    def user_adds(self, title: str, start: datetime, end: datetime) -> str:
        """A foreign event; returns a handle for `foreign`."""
        ...

    def foreign(self) -> dict[str, Any]:
        """Each foreign event by handle, as something that changes when it is touched."""
        ...


def run(
    backend: SinkBackend, sessions: Sequence[Session], now: datetime = NOW, *, dry: bool = False
) -> tuple[SinkReport, list[Action]]:
    """One sync's part for this sink: snapshot, diff, execute, in one transaction."""
    sink = backend.make_sink()
    with backend.store.writer() as tx:
        actions = diff(sessions, sink.snapshot(tx, WINDOW), now)
        return sink.execute(actions, tx, now, dry_run=dry), actions


def snapshot(backend: SinkBackend) -> SinkSnapshot:
    sink = backend.make_sink()
    with backend.store.writer() as tx:
        return sink.snapshot(tx, WINDOW)


class SinkContract:
    """Every sink: round trips, idempotence, the past, dry runs, failures."""

    A = session("2026-11-30/1", 8)
    B = session("2026-11-30/2", 56)
    C = session("2026-12-07/1", 200, "Strength B")

    @pytest.fixture
    def sink_backend(self, tmp_path: Path) -> SinkBackend:
        raise NotImplementedError("a backend's test class provides this fixture")

    def test_create_round_trip(self, sink_backend: SinkBackend) -> None:
        report, _ = run(sink_backend, [self.A, self.B])
        assert sorted(report.created) == [self.A.key, self.B.key]
        assert sink_backend.held() == as_held([self.A, self.B])
        snap = snapshot(sink_backend)
        assert set(snap.managed) == {self.A.key, self.B.key}
        assert snap.managed[self.A.key].start == self.A.start
        assert not snap.pins and not snap.deleted_by_user

    def test_update_moves_and_rewords(self, sink_backend: SinkBackend) -> None:
        run(sink_backend, [self.A, self.B])
        a2 = moved(self.A, 2)
        b2 = dataclasses.replace(self.B, title="Strength B", description="lunges")
        report, _ = run(sink_backend, [a2, b2])
        assert sorted(report.updated) == [self.A.key, self.B.key] and not report.created
        assert sink_backend.held() == as_held([a2, b2])

    def test_delete_round_trip(self, sink_backend: SinkBackend) -> None:
        run(sink_backend, [self.A, self.B, self.C])
        report, _ = run(sink_backend, [self.A])
        assert sorted(report.deleted) == [self.B.key, self.C.key]
        assert sink_backend.held() == as_held([self.A])
        assert not snapshot(sink_backend).deleted_by_user  # calsync's deletions, not the user's

    def test_a_second_sync_changes_nothing(self, sink_backend: SinkBackend) -> None:
        run(sink_backend, [self.A, self.B, self.C])
        before = sink_backend.held()
        report, actions = run(sink_backend, [self.A, self.B, self.C])
        assert report.writes == 0 and all(a.kind is ActionKind.KEEP for a in actions)
        assert sorted(report.unchanged) == [self.A.key, self.B.key, self.C.key]
        assert sink_backend.held() == before

    def test_the_past_is_never_deleted(self, sink_backend: SinkBackend) -> None:
        run(sink_backend, [self.A, self.B])
        later = self.A.start + timedelta(minutes=5)  # A has started
        report, _ = run(sink_backend, [self.B], later)
        assert report.deleted == []
        # Still recorded as held (an ICS file shows what the plan shows, and the plan
        # keeps its history: sync.recent).
        assert set(snapshot(sink_backend).managed) == {self.A.key, self.B.key}

    def test_a_dry_run_writes_nothing(self, sink_backend: SinkBackend) -> None:
        report, _ = run(sink_backend, [self.A, self.B], dry=True)
        assert sorted(report.created) == [self.A.key, self.B.key]
        assert sink_backend.held() == {}
        assert run(sink_backend, [self.A, self.B])[0].created  # nothing was recorded either

    def test_a_failure_mid_execute_then_a_clean_sync(self, sink_backend: SinkBackend) -> None:
        """Creates, moves and deletes interrupted: the next sync ends where a clean one
        would, with one event per session, and nothing it did read as the user's."""
        run(sink_backend, [self.A, self.B, self.C])
        want = [moved(self.A, 3), self.B, session("2026-12-07/2", 250, "Strength A")]
        with sink_backend.failing(), pytest.raises(CalsyncError):
            run(sink_backend, want)
        report, _ = run(sink_backend, want)
        assert sink_backend.held() == as_held(want)
        snap = snapshot(sink_backend)
        assert set(snap.managed) == {s.key for s in want}
        assert not snap.deleted_by_user and not snap.pins
        assert run(sink_backend, want)[0].writes == 0


class EditableSinkContract(SinkContract):
    """A calendar the user edits: pins, user deletions, foreign events, H7."""

    @pytest.fixture
    def sink_backend(self, tmp_path: Path) -> EditableBackend:
        raise NotImplementedError("a backend's test class provides this fixture")

    def test_a_session_the_user_moved_is_a_pin_and_stays(
        self, sink_backend: EditableBackend
    ) -> None:
        run(sink_backend, [self.A, self.B])
        sink_backend.user_moves(self.A.key, 3)
        snap = snapshot(sink_backend)
        assert [(p.key, p.start) for p in snap.pins] == [
            (self.A.key, self.A.start + timedelta(hours=3))
        ]
        # The plan still puts it at the old time: the pin wins, nothing is written.
        report, actions = run(sink_backend, [self.A, self.B])
        assert report.writes == 0
        assert {a.key: a.kind for a in actions}[self.A.key] is ActionKind.KEEP
        assert sink_backend.held()[self.A.key].start == (self.A.start + timedelta(hours=3))
        # Nor is a pin deleted when the plan drops it.
        assert run(sink_backend, [self.B])[0].deleted == []
        assert self.A.key in sink_backend.held()

    def test_a_session_the_user_deleted_is_reported_and_not_put_back(
        self, sink_backend: EditableBackend
    ) -> None:
        run(sink_backend, [self.A, self.B])
        sink_backend.user_deletes(self.A.key)
        snap = snapshot(sink_backend)
        assert [(g.key, g.start) for g in snap.deleted_by_user] == [(self.A.key, self.A.start)]
        assert self.A.key not in snap.managed
        # The planner leaves a deleted session out (sync.merge_previous): nothing to do.
        report, _ = run(sink_backend, [self.B])
        assert report.writes == 0 and sink_backend.held() == as_held([self.B])
        assert [g.key for g in snapshot(sink_backend).deleted_by_user] == [self.A.key]

    def test_foreign_events_are_never_touched(self, sink_backend: EditableBackend) -> None:
        run(sink_backend, [self.A, self.B])
        handle = sink_backend.user_adds("Physio", self.A.start, self.A.end)
        before = sink_backend.foreign()
        run(sink_backend, [moved(self.A, 1), self.C])
        run(sink_backend, [])
        assert sink_backend.foreign() == before and handle in before
        assert set(snapshot(sink_backend).managed) == set()

    def test_history_is_not_moved(self, sink_backend: EditableBackend) -> None:
        run(sink_backend, [self.A])
        later = self.A.start + timedelta(minutes=5)
        report, _ = run(sink_backend, [moved(self.A, 1)], later)
        assert report.writes == 0 and sink_backend.held() == as_held([self.A])


# ====================================================================== sources


@dataclasses.dataclass(frozen=True)
class Spec:
    """An event to put in a source calendar. `ours`: calsync's marker with this key."""

    uid: str
    summary: str
    start: datetime
    end: datetime
    all_day: bool = False
    ours: str | None = None


class SourceBackend(Protocol):
    store: StateStore

    def put(self, specs: Sequence[Spec]) -> None:
        """Make the calendar hold exactly these events (the user's own hand)."""
        ...

    def make_source(self) -> Source: ...

    def fingerprint(self) -> Any:
        """The calendar's content, to show a read changed nothing."""
        ...

    def broken(self) -> contextlib.AbstractContextManager[None]:
        """While inside, the calendar cannot be read at all."""
        ...


def read(backend: SourceBackend, window: tuple[datetime, datetime] = WINDOW) -> list[Event]:
    source = backend.make_source()
    with backend.store.writer() as tx:
        return source.read(window, tx)


def seen(events: Sequence[Event]) -> set[tuple[str, datetime, datetime, bool]]:
    return {(e.summary, e.start.astimezone(UTC), e.end.astimezone(UTC), e.all_day) for e in events}


def at(hours: float) -> datetime:
    return NOW + timedelta(hours=hours)


class SourceContract:
    TEMPO = Spec("tempo@t", "Tempo run 40 min", at(22), at(23))
    EASY = Spec("easy@t", "Easy run 8 km", at(46), at(47))
    LATE = Spec("late@t", "Long run 20 km", at(24 * 60), at(24 * 60 + 2))  # after the window

    @pytest.fixture
    def source_backend(self, tmp_path: Path) -> SourceBackend:
        raise NotImplementedError("a backend's test class provides this fixture")

    def test_events_round_trip(self, source_backend: SourceBackend) -> None:
        source_backend.put([self.TEMPO, self.EASY])
        events = read(source_backend)
        assert seen(events) == {
            ("Tempo run 40 min", at(22), at(23), False),
            ("Easy run 8 km", at(46), at(47), False),
        }
        # Each event has an identity of its own (the backend's: a UID, a Google id).
        assert len({e.uid for e in events}) == 2 and all(e.uid for e in events)
        assert all(e.calsync_key is None for e in events)

    def test_only_the_window_is_read(self, source_backend: SourceBackend) -> None:
        edge = Spec(
            "edge@t",
            "Easy run 5 km",
            WINDOW[0] - timedelta(minutes=30),
            WINDOW[0] + timedelta(minutes=30),
        )
        source_backend.put([self.TEMPO, self.LATE, edge])
        assert {e.summary for e in read(source_backend)} == {"Tempo run 40 min", "Easy run 5 km"}

    def test_changes_and_deletions_are_seen(self, source_backend: SourceBackend) -> None:
        source_backend.put([self.TEMPO, self.EASY])
        read(source_backend)
        later = dataclasses.replace(
            self.TEMPO, summary="Intervals 6x800m", start=at(30), end=at(31)
        )
        source_backend.put([later])
        assert seen(read(source_backend)) == {("Intervals 6x800m", at(30), at(31), False)}

    def test_all_day_events_keep_their_days(self, source_backend: SourceBackend) -> None:
        day = Spec("race@t", "City 10K race", at(63), at(87), all_day=True)  # 5 Dec 00:00 UTC
        source_backend.put([day])
        [ev] = read(source_backend)
        assert ev.all_day and ev.summary == "City 10K race"
        assert ev.end - ev.start == timedelta(days=1)

    def test_reading_is_idempotent_and_writes_nothing(self, source_backend: SourceBackend) -> None:
        source_backend.put([self.TEMPO, self.EASY])
        before = source_backend.fingerprint()
        first, second = read(source_backend), read(source_backend)
        assert seen(first) == seen(second)
        assert sorted(str(e.uid) for e in first) == sorted(str(e.uid) for e in second)
        assert source_backend.fingerprint() == before

    def test_calsyncs_own_events_are_marked(self, source_backend: SourceBackend) -> None:
        ours = Spec("calsync-x", "Strength A", at(10), at(11), ours="2026-11-30/1")
        source_backend.put([self.TEMPO, ours])
        keys = {e.summary: e.calsync_key for e in read(source_backend)}
        assert keys == {"Tempo run 40 min": None, "Strength A": "2026-11-30/1"}

    def test_a_failed_read_is_a_source_error_and_the_next_read_works(
        self, source_backend: SourceBackend
    ) -> None:
        source_backend.put([self.TEMPO])
        with source_backend.broken(), pytest.raises(SourceError):
            read(source_backend)
        assert {e.summary for e in read(source_backend)} == {"Tempo run 40 min"}


def ics_event(s: Spec) -> str:
    """One VEVENT for a spec (times in UTC, all-day as DATE values)."""
    lines = ["BEGIN:VEVENT", f"UID:{s.uid}", "DTSTAMP:20261101T000000Z", f"SUMMARY:{s.summary}"]
    if s.all_day:
        day = s.start.date()
        lines += [
            f"DTSTART;VALUE=DATE:{day:%Y%m%d}",
            f"DTEND;VALUE=DATE:{day + timedelta(days=1):%Y%m%d}",
        ]
    else:
        lines += [
            f"DTSTART:{s.start.astimezone(UTC):%Y%m%dT%H%M%SZ}",
            f"DTEND:{s.end.astimezone(UTC):%Y%m%dT%H%M%SZ}",
        ]
    if s.ours is not None:
        lines.append(f"X-CALSYNC-KEY:{s.ours}")
    return "\r\n".join([*lines, "END:VEVENT"]) + "\r\n"


def ics_calendar(specs: Sequence[Spec]) -> str:
    head = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//calsync tests//contract//EN\r\n"
    return head + "".join(ics_event(s) for s in specs) + "END:VCALENDAR\r\n"
