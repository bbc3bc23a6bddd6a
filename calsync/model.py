"""The plain values that flow through calsync.

Sources turn the outside world into `Event`s; the classifier turns an event into a
`Verdict`; the planner turns runs, busy time and what was planned before into a `Plan`;
the diff turns a plan and what a sink holds into `Action`s. Everything here is an
immutable value with no behaviour that touches the clock, the disk or the network.

All datetimes are timezone-aware. Dates ("local days") are in the user's zone.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Literal

# How long past sessions stay in the plan, and so in the written calendar, after they
# stop mattering to any rule (a subscribed calendar drops what the feed drops).
HISTORY_DAYS = 90


class Intensity(enum.StrEnum):
    HARD = "hard"
    EASY = "easy"
    RACE = "race"


class Role(enum.StrEnum):
    """What a source is read for."""

    RUNS = "runs"  # every event is classified; runs drive the plan, the rest is busy time
    BUSY = "busy"  # only busy time; nothing is classified


class Phase(enum.StrEnum):
    BASE = "base"  # no hard run and no race in the week (or a configured base range)
    BUILD = "build"  # hard running in the week
    TAPER = "taper"  # the week holds a day of a race's taper window


class DayKind(enum.StrEnum):
    RACE = "race"
    HARD = "hard"
    EASY = "easy"
    REST = "rest"


@dataclass(frozen=True, slots=True)
class Event:
    """One occurrence of a calendar event, as a source read it.

    For all-day events `start`/`end` are local midnights of the first day and the day
    after the last (the planner decides when an all-day *run* happens).
    """

    uid: str | None
    summary: str
    start: datetime
    end: datetime
    description: str = ""
    all_day: bool = False
    categories: tuple[str, ...] = ()
    # Other properties worth classifying on (e.g. Runna's X-WORKOUT-*), upper-case names.
    extra: Mapping[str, str] = field(default_factory=dict)
    # False for TRANSP:TRANSPARENT (free) events: they never block a session.
    busy: bool = True
    source: str = ""
    # Where the event stands in its source (1-based line of BEGIN:VEVENT), for messages.
    line: int | None = None
    # Set when the event carries calsync's own marker (X-CALSYNC-KEY / Google private
    # extended property): it is one of ours and must never be read as the user's.
    calsync_key: str | None = None

    @property
    def duration(self) -> timedelta:
        return self.end - self.start


Confidence = Literal["high", "low"]


@dataclass(frozen=True, slots=True)
class Verdict:
    """The classifier's judgment on one event, with the words that decided it."""

    is_run: bool
    intensity: Intensity | None
    reason: str
    strength: bool = False  # the user's own strength/gym session: counts for spacing
    # The run's stated duration, when the text says it ("45 min", "1:30 h"); used for
    # all-day runs, which have no times of their own.
    minutes: int | None = None
    # "high": the words (or the user's tags and patterns) decide. "low": the classifier
    # could not settle the event (a run whose effort nothing states but a name, a bare title
    # in a calendar of runs); the planner takes the safe side (RULES.md, "Unsure events").
    confidence: Confidence = "high"
    # A low-confidence event that may be the user's own strength session (counts for H4).
    maybe_strength: bool = False


@dataclass(frozen=True, slots=True)
class Run:
    """A classified run, with the times the planner will use."""

    event: Event
    intensity: Intensity
    reason: str
    start: datetime
    end: datetime
    confidence: Confidence = "high"  # "low": planned on the safe side (RULES.md)

    @property
    def summary(self) -> str:
        return self.event.summary

    @property
    def is_hard(self) -> bool:
        """Hard for every rule: a race counts as hard (RULES.md)."""
        return self.intensity in (Intensity.HARD, Intensity.RACE)


@dataclass(frozen=True, slots=True)
class Interval:
    """A span of busy time, or a strength session the user made themself."""

    start: datetime
    end: datetime
    label: str = "busy"


@dataclass(frozen=True, slots=True)
class PriorSession:
    """A session calsync planned before (from the state store or the sink).

    `pinned` sessions were moved or edited by the user: they stay where the user put
    them. Sessions that start before "now" are history and are never moved.
    """

    key: str
    start: datetime
    end: datetime
    pinned: bool = False


@dataclass(frozen=True, slots=True)
class Exercise:
    name: str
    category: str  # "lower", "calves", "upper", "core", "explosive", "plyo"
    sets: int
    reps: str  # "8", "6 each leg", "30 s"
    load: str  # load guidance a person understands
    rest_seconds: int
    equipment: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Workout:
    template: str  # "A" or "B"
    warmup: str
    exercises: tuple[Exercise, ...]
    notes: tuple[str, ...] = ()
    minutes: int = 45


@dataclass(frozen=True, slots=True)
class Session:
    """A strength session in the plan."""

    key: str  # stable identity: "<week start date>/<slot>", e.g. "2026-11-23/1"
    start: datetime
    end: datetime
    title: str
    phase: Phase
    reason: str  # one line: why the session is on this day
    rules: tuple[str, ...] = ()  # the rules that allowed it, each in a few words
    pinned: bool = False
    past: bool = False  # started before "now": history, kept as it was
    workout: Workout | None = None
    # The event text a person reads (workout + why this day); set after planning by
    # workouts.describe(), and part of the content hash the sinks compare.
    description: str = ""


@dataclass(frozen=True, slots=True)
class SessionText:
    """What the last sync wrote for a session: its time and its words."""

    start: datetime
    end: datetime
    title: str
    description: str

    def same_time(self, s: Session) -> bool:
        return (self.start, self.end) == (s.start, s.end)


@dataclass(frozen=True, slots=True)
class RunInfo:
    """A run as the plan reports it for a day."""

    summary: str
    start: datetime
    end: datetime
    intensity: Intensity
    reason: str
    all_day: bool = False
    confidence: Confidence = "high"


@dataclass(frozen=True, slots=True)
class DayPlan:
    """The verdict for one local day of the horizon."""

    day: date
    kind: DayKind
    runs: tuple[RunInfo, ...]
    sessions: tuple[str, ...]  # keys of the sessions on this day
    # When no session is on the day: every rule that kept it empty, e.g.
    # "H1: 20 h before Thursday's tempo". Empty when a session is placed.
    blocked: tuple[str, ...] = ()
    note: str = ""


@dataclass(frozen=True, slots=True)
class WeekSummary:
    start: date  # first day of the week (week_start)
    phase: Phase
    target: int
    placed: int
    met: bool
    why_not: str = ""  # when the target was not met: why, in a sentence


@dataclass(frozen=True, slots=True)
class Plan:
    sessions: tuple[Session, ...]
    days: tuple[DayPlan, ...]
    weeks: tuple[WeekSummary, ...]
    now: datetime
    notes: tuple[str, ...] = ()  # plan-wide remarks, e.g. "no runs in the horizon"


class ActionKind(enum.StrEnum):
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"
    KEEP = "keep"


@dataclass(frozen=True, slots=True)
class Action:
    """One thing a sink is told to do, decided by `calsync.diff.diff` and nowhere else."""

    kind: ActionKind
    key: str
    session: Session | None  # None for DELETE
    # Sink-specific handle of the existing event (Google event id + etag, ...).
    remote_id: str | None = None
    etag: str | None = None
    reason: str = ""  # why, in a few words: "new session", "pinned by the user", ...


@dataclass(frozen=True, slots=True)
class StoredSession:
    """What calsync last wrote for one session key to one output (kept in the state
    file; here because the pure ICS renderer reads it)."""

    key: str
    start: datetime
    end: datetime
    content_hash: str
    sequence: int
    created: datetime
    modified: datetime
    remote_id: str | None = None
    etag: str | None = None
    status: str = "active"  # "active" | "deleted_by_user"


@dataclass(frozen=True, slots=True)
class ManagedEvent:
    """One of calsync's events as a sink (ICS file, Google, ...) holds it now."""

    key: str
    start: datetime
    end: datetime
    content_hash: str  # hash of what calsync last wrote for this key
    remote_id: str | None = None
    etag: str | None = None
    sequence: int = 0


@dataclass(frozen=True, slots=True)
class SinkSnapshot:
    """What a sink holds of calsync's events, and what the user did to them: facts the
    pure diff reads the same way for every sink."""

    managed: Mapping[str, ManagedEvent] = field(default_factory=dict)
    # Sessions the user moved or edited: the planner keeps them where they are.
    pins: Sequence[PriorSession] = ()
    # Sessions the user deleted: not put back in their week.
    deleted_by_user: Sequence[PriorSession] = ()
    # Can anyone but calsync change what this sink holds? An ICS file or feed is calsync's
    # alone (subscribers read it, nobody edits it): it mirrors the plan, history and the
    # pins other sinks reported included. A calendar the user can edit (Google, CalDAV)
    # is only ever changed where the plan and "now" allow (H7) and never where the user
    # pinned or deleted a session.
    user_editable: bool = True
