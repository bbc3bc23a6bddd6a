"""An in-memory calendar as a sink: the smallest complete sink calsync has.

Why it is in the package and not in tests/: it is the reference a new backend is written
against (the contract suite, tests/contracts.py, runs on it first, and it is type-checked
with the rest of calsync under mypy --strict), and it lets the whole-sync state machine
run without HTTP or files, so it can run many more examples. It is not selectable from
a config file: `run_sync(..., sinks=[MemorySink(calendar)])` uses it.

The calendar (`MemoryCalendar`) lives apart from the sink and from the state
transaction, as a remote calendar does: what `execute` wrote stays when the sync's
transaction rolls back. A user can move, edit or delete calsync's events and add their
own; `snapshot` reports the first as pins and the second as user deletions, the same
facts the Google sink reports. A deletion calsync made itself is marked as calsync's in
the calendar, so a sync that failed after deleting never reads it back as the user's.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from calsync.diff import content_hash
from calsync.errors import SinkError
from calsync.model import Action, ActionKind, ManagedEvent, PriorSession, Session, SinkSnapshot
from calsync.sinks.base import SinkReport

if TYPE_CHECKING:
    from calsync.state import StateTx

USER = "user"
CALSYNC = "calsync"


@dataclass(frozen=True, slots=True)
class MemoryEvent:
    """One event of the calendar, calsync's (`key` set) or the user's own."""

    uid: str
    start: datetime
    end: datetime
    title: str
    description: str = ""
    key: str | None = None
    # calsync's bookkeeping, as Google keeps it in private extended properties.
    content_hash: str = ""
    written: tuple[datetime, datetime, str, str] | None = None  # what calsync wrote
    etag: int = 1
    cancelled_by: str | None = None  # None while it stands; USER or CALSYNC

    @property
    def edited(self) -> bool:
        """Moved or edited since calsync wrote it."""
        return self.written != (self.start, self.end, self.title, self.description)


class MemoryCalendar:
    """The remote calendar: events by uid, with the user's hands and injected failures."""

    def __init__(self) -> None:
        self.events: dict[str, MemoryEvent] = {}
        self.writes = 0  # every write calsync made (create, update, delete)
        # Writes calsync may still make before the next one fails; None: no failure.
        self.fail_after: int | None = None
        self._uids = itertools.count(1)

    # ------------------------------------------------------------------ calsync's writes

    def write(self, ev: MemoryEvent) -> MemoryEvent:
        if self.fail_after is not None:
            if self.fail_after <= 0:
                self.fail_after = None
                raise SinkError("memory calendar: the write failed (an injected failure)")
            self.fail_after -= 1
        self.writes += 1
        old = self.events.get(ev.uid)
        ev = dataclasses.replace(ev, etag=(old.etag + 1) if old is not None else 1)
        self.events[ev.uid] = ev
        return ev

    # ------------------------------------------------------------------ the user

    def ours(self, key: str) -> MemoryEvent:
        return self.events[uid_for(key)]

    def user_move(self, key: str, by: timedelta) -> MemoryEvent:
        ev = self.ours(key)
        return self._user_put(dataclasses.replace(ev, start=ev.start + by, end=ev.end + by))

    def user_edit(self, key: str, title: str) -> MemoryEvent:
        return self._user_put(dataclasses.replace(self.ours(key), title=title))

    def user_delete(self, key: str) -> MemoryEvent:
        return self._user_put(dataclasses.replace(self.ours(key), cancelled_by=USER))

    def user_add(self, title: str, start: datetime, end: datetime) -> MemoryEvent:
        return self._user_put(MemoryEvent(f"user-{next(self._uids)}", start, end, title))

    def _user_put(self, ev: MemoryEvent) -> MemoryEvent:
        old = self.events.get(ev.uid)
        ev = dataclasses.replace(ev, etag=(old.etag + 1) if old is not None else 1)
        self.events[ev.uid] = ev
        return ev

    def sessions(self) -> dict[str, MemoryEvent]:
        """calsync's events that stand, by key."""
        return {
            ev.key: ev
            for ev in self.events.values()
            if ev.key is not None and ev.cancelled_by is None
        }


def uid_for(key: str) -> str:
    """The event id derived from a session key: a retry can never make a second event."""
    return f"calsync-{key}"


class MemorySink:
    name = "memory"

    def __init__(self, calendar: MemoryCalendar, name: str = "memory") -> None:
        self.calendar = calendar
        self.name = name

    def snapshot(self, tx: StateTx, window: tuple[datetime, datetime]) -> SinkSnapshot:
        managed: dict[str, ManagedEvent] = {}
        pins: list[PriorSession] = []
        deleted: list[PriorSession] = []
        for ev in sorted(self.calendar.events.values(), key=lambda e: (e.start, e.uid)):
            if ev.key is None or ev.uid != uid_for(ev.key):
                continue  # the user's own event, or a copy of one of ours: not ours
            if not (ev.end > window[0] and ev.start < window[1]):
                continue
            if ev.cancelled_by is not None:
                if ev.cancelled_by == USER:
                    deleted.append(PriorSession(ev.key, ev.start, ev.end))
                continue
            managed[ev.key] = ManagedEvent(
                ev.key, ev.start, ev.end, ev.content_hash, ev.uid, str(ev.etag)
            )
            if ev.edited:
                pins.append(PriorSession(ev.key, ev.start, ev.end, pinned=True))
        return SinkSnapshot(managed=managed, pins=pins, deleted_by_user=deleted)

    def execute(
        self, actions: Sequence[Action], tx: StateTx, now: datetime, *, dry_run: bool = False
    ) -> SinkReport:
        report = SinkReport(self.name)
        for a in actions:
            if a.kind is ActionKind.KEEP:
                report.unchanged.append(a.key)
                continue
            if dry_run:
                {
                    ActionKind.CREATE: report.created,
                    ActionKind.UPDATE: report.updated,
                    ActionKind.DELETE: report.deleted,
                }[a.kind].append(a.key)
                continue
            current = self.calendar.events.get(uid_for(a.key))
            if a.kind is ActionKind.CREATE:
                if current is not None and _users(current):
                    # The id exists outside what the snapshot saw, as the user left it
                    # (moved, edited or deleted): theirs, never overwritten.
                    report.unchanged.append(a.key)
                    continue
            else:
                if a.remote_id != uid_for(a.key) or current is None or current.key != a.key:
                    raise SinkError(f"refusing to {a.kind} {a.key}: not an event calsync holds")
                if str(current.etag) != a.etag:
                    # If-Match failed: the user changed it since the snapshot. Theirs.
                    report.unchanged.append(a.key)
                    continue
            if a.kind is ActionKind.DELETE:
                gone = self.calendar.events[uid_for(a.key)]
                self.calendar.write(dataclasses.replace(gone, cancelled_by=CALSYNC))
                report.deleted.append(a.key)
                continue
            assert a.session is not None
            self.calendar.write(_event(a.session))
            (report.created if a.kind is ActionKind.CREATE else report.updated).append(a.key)
        return report


def _users(ev: MemoryEvent) -> bool:
    return ev.cancelled_by == USER or (ev.cancelled_by is None and ev.edited)


def _event(s: Session) -> MemoryEvent:
    return MemoryEvent(
        uid=uid_for(s.key),
        start=s.start,
        end=s.end,
        title=s.title,
        description=s.description,
        key=s.key,
        content_hash=content_hash(s),
        written=(s.start, s.end, s.title, s.description),
    )
