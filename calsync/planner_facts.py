"""The planner's facts: its inputs indexed by local day and by time, and the hard-rule checks.

`_Facts` holds runs and busy time as sorted arrays (bisect, so nothing is quadratic in
the calendar), day kinds, weeks with their phases and targets, and the fixed sessions;
`slot_codes` checks one start against the hard rules H1-H7 cheaply as codes, and
`code_message` turns a code into words only for the messages shown. planner.py builds
on it to choose sessions, planner_explain.py to say why. Pure: no clock, no I/O.

The names keep their leading underscore: they are the planner's own, shared by the
three planner modules and by nothing else.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from calsync import term
from calsync.model import DayKind, Intensity, Interval, Phase, PriorSession, Run
from calsync.settings import Rules, Schedule

GRID_MINUTES = 15
TITLE = "Strength session"
DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


# --------------------------------------------------------------------------- small helpers


def _ts(dt: datetime) -> int:
    return int(dt.timestamp())


def _hours(seconds: float) -> str:
    h = seconds / 3600
    return f"{h:.0f}" if abs(h - round(h)) < 0.05 else f"{h:.1f}"


def _num(x: float) -> str:
    return f"{x:g}"


def _clip(s: str, n: int = 40) -> str:
    """At most n display columns, cut between words (no "thresh…" in a reason)."""
    return term.elide(s, n)


def week_start_of(d: date, week_start: int) -> date:
    return d - timedelta(days=(d.weekday() - week_start) % 7)


@dataclass(slots=True)
class _Fixed:
    """A session (or the user's own strength event) the planner must plan around."""

    ts: int
    end_ts: int
    label: str  # "Monday's session", "your strength event 'Gym'"
    prior: PriorSession | None = None
    own: bool = False
    frozen: bool = False


@dataclass(slots=True)
class _Week:
    start: date
    start_ts: int
    has_run: bool = False
    has_hard: bool = False
    taper: bool = False
    base: bool = False
    target: int = 0
    full_target: int = 0
    skipped: int = 0
    fixed: int = 0  # fixed sessions + own strength events in the week

    @property
    def phase(self) -> Phase:
        if self.taper:
            return Phase.TAPER
        return Phase.BASE if self.base else Phase.BUILD

    @property
    def cap(self) -> int:
        return max(0, self.target - self.fixed)


@dataclass(slots=True)
class _Cand:
    ts: int
    day: int  # index into the horizon's days
    week: date
    node: int  # score of the session itself (without coverage / spread)


@dataclass(slots=True)
class _DayInfo:
    day: date
    idx: int
    kind: DayKind
    runs: list[Run]
    week: _Week
    blockers: list[str] = field(default_factory=list)  # day-level rules that forbid it
    kind_pen: int = 0
    cands: list[_Cand] = field(default_factory=list)


# --------------------------------------------------------------------------- the facts


class _Facts:
    """Indexes over the inputs, and the per-slot rule checks shared by every layer."""

    def __init__(
        self,
        runs: Sequence[Run],
        busy: Sequence[Interval],
        own_strength: Sequence[Interval],
        schedule: Schedule,
        rules: Rules,
        now: datetime,
    ) -> None:
        self.rules = rules
        self.schedule = schedule
        self.zone = ZoneInfo(schedule.timezone)
        self.now = now
        self.now_ts = _ts(now)
        self.session_s = schedule.session_minutes * 60
        self.buffer_s = rules.buffer_minutes * 60
        self.between_s = int(rules.min_hours_between_sessions * 3600)
        self.runs = sorted(
            runs, key=lambda r: (_ts(r.start), _ts(r.end), r.summary, r.intensity.value)
        )
        self.runs_by_day: dict[date, list[Run]] = {}
        for r in self.runs:
            self.runs_by_day.setdefault(self.local_day(r.start), []).append(r)
        hard = [r for r in self.runs if r.is_hard]
        self.hard_ts = [_ts(r.start) for r in hard]
        self.hard = hard
        races = [r for r in self.runs if r.intensity is Intensity.RACE]
        self.race_ts = [_ts(r.start) for r in races]
        self.races = races
        self.race_days: dict[date, Run] = {}
        self.taper_days: set[date] = set()
        for r in races:
            d = self.local_day(r.start)
            self.race_days.setdefault(d, r)
            for k in range(1, rules.taper_days + 1):
                self.taper_days.add(d - timedelta(days=k))
        # Busy time (runs and own strength events included) as disjoint sorted intervals.
        spans: list[tuple[int, int, str]] = [(_ts(b.start), _ts(b.end), b.label) for b in busy]
        spans += [(_ts(r.start), _ts(r.end), f"run '{_clip(r.summary, 30)}'") for r in self.runs]
        spans += [(_ts(s.start), _ts(s.end), f"'{_clip(s.label, 30)}'") for s in own_strength]
        self.busy_start, self.busy_end, self.busy_label = _merge(spans)
        self.weeks: dict[date, _Week] = {}
        self.fixed: list[_Fixed] = []
        self.fixed_ts: list[int] = []
        self._windows: dict[date, tuple[int, int, int, Run | None, float]] = {}

    # ---- time
    def local_day(self, dt: datetime) -> date:
        return dt.astimezone(self.zone).date()

    def local(self, ts: int) -> datetime:
        return datetime.fromtimestamp(ts, self.zone)

    def wall(self, d: date, minutes: int) -> int | None:
        """The instant of local wall time `minutes` after midnight of d; None in a DST gap."""
        t = time(minutes // 60, minutes % 60)
        dt = datetime.combine(d, t, tzinfo=self.zone)
        ts = _ts(dt)
        if self.local(ts).time() != t:
            return None
        return ts

    def when(self, ts: int) -> str:
        dt = self.local(ts)
        return f"{DAY_NAMES[dt.weekday()][:3]} {dt:%H:%M}"

    def hm(self, ts: int) -> str:
        return f"{self.local(ts):%H:%M}"

    # ---- days and weeks
    def kind(self, d: date) -> DayKind:
        rs = self.runs_by_day.get(d, ())
        if not rs:
            return DayKind.REST
        if any(r.intensity is Intensity.RACE for r in rs):
            return DayKind.RACE
        if any(r.is_hard for r in rs):
            return DayKind.HARD
        return DayKind.EASY

    def week(self, d: date) -> _Week:
        ws = week_start_of(d, self.rules.week_start)
        w = self.weeks.get(ws)
        if w is not None:
            return w
        start_ts = _ts(datetime.combine(ws, time(0), tzinfo=self.zone))
        w = _Week(start=ws, start_ts=start_ts)
        days = [ws + timedelta(days=k) for k in range(7)]
        for x in days:
            k = self.kind(x)
            w.has_run |= k is not DayKind.REST
            w.has_hard |= k in (DayKind.HARD, DayKind.RACE)
            w.taper |= x in self.taper_days
        w.base = (
            self.rules.phase == "base"
            or not w.has_hard
            or any(x in rng for rng in self.rules.base_ranges for x in days)
        )
        w.full_target = (
            self.rules.taper_sessions_per_week if w.taper else self.rules.sessions_per_week
        )
        w.target = w.full_target
        self.weeks[ws] = w
        return w

    # ---- rule checks on one slot (start instant); each returns a reason or None
    def h2_bound(self, d: date) -> tuple[int, Run | None, float]:
        """The earliest start H2 allows on day d, the run it counts from, and the gap."""
        rs = self.runs_by_day.get(d)
        if not rs:
            return 0, None, 0.0
        last = max(rs, key=lambda r: (_ts(r.end), _ts(r.start)))
        hard = any(r.is_hard for r in rs)
        gap = self.rules.min_hours_after_hard if hard else self.rules.min_hours_after_easy
        return _ts(last.end) + int(gap * 3600), last, gap

    def next_hard(self, ts: int) -> tuple[int, Run] | None:
        k = bisect.bisect_left(self.hard_ts, ts)
        return (self.hard_ts[k], self.hard[k]) if k < len(self.hard_ts) else None

    def next_race(self, ts: int) -> tuple[int, Run] | None:
        k = bisect.bisect_left(self.race_ts, ts)
        return (self.race_ts[k], self.races[k]) if k < len(self.race_ts) else None

    def h4_text(self, ts: int, other_ts: int, label: str) -> str:
        side = "after" if other_ts <= ts else "before"
        return (
            f"H4: {_hours(abs(ts - other_ts))} h {side} {label} "
            f"(needs ≥ {_num(self.rules.min_hours_between_sessions)} h)"
        )

    def run_name(self, r: Run) -> str:
        """ "Thursday's hard run 'Tempo 8 km' (07:00)", "Sunday's race 'City 10K' (09:00)"."""
        day = DAY_NAMES[self.local(_ts(r.start)).weekday()]
        what = "race" if r.intensity is Intensity.RACE else f"{r.intensity.value} run"
        return f"{day}'s {what} '{_clip(r.summary, 30)}' ({self.hm(_ts(r.start))})"

    def day_blockers(self, d: date, week: _Week) -> list[str]:
        """Rules that forbid every session on day d, whatever the time."""
        out: list[str] = []
        kind = self.kind(d)
        plan_anyway = self.rules.plan_without_runs and not week.has_run
        if kind is DayKind.RACE:
            out.append(f"H5: race day ({self.run_name(self.race_days[d])}): no session")
        elif kind is DayKind.EASY:
            mode = self.rules.lift_on_easy_days
            if mode == "never" or (mode == "base" and not week.base):
                why = "lift_on_easy_days = never" if mode == "never" else "not a base week"
                out.append(f"H3: easy day ({why})")
        elif kind is DayKind.REST:
            if not week.has_run and not self.rules.plan_without_runs:
                out.append("no runs this week: nothing to plan around (plan_without_runs = false)")
            elif self.rules.lift_on_rest_days == "never" and not plan_anyway:
                out.append("rest day: lift_on_rest_days = never")
        return out

    def window(self, d: date) -> tuple[int, int, int, Run | None, float]:
        """Cached per day: allowed-hours bounds (instants), H2's bound, its run and gap."""
        got = self._windows.get(d)
        if got is None:
            lo = self.wall(d, _minutes(self.schedule.earliest))
            hi = self.wall(d, _minutes(self.schedule.latest))
            h2, last, gap = self.h2_bound(d)
            got = (lo if lo is not None else 0, hi if hi is not None else 1 << 62, h2, last, gap)
            self._windows[d] = got
        return got

    def slot_codes(self, d: date, ts: int, ignore: _Fixed | None = None) -> list[str]:
        """Cheaply, the hard rules a session starting at ts on day d breaks, as codes.

        Codes: H7, H2, H6h (hours), H6:<busy index>, H1, H1r (race), H4:<fixed index>.
        `code_message` turns one into words; day-level rules are `day_blockers`.
        """
        end_ts = ts + self.session_s
        out: list[str] = []
        lo, hi, h2, last, _ = self.window(d)
        if ts < self.now_ts:
            out.append("H7")
        if last is not None and ts < h2:
            out.append("H2")
        if ts < lo or end_ts > hi:
            out.append("H6h")
        k = bisect.bisect_left(self.hard_ts, ts)
        if (
            k < len(self.hard_ts)
            and self.hard_ts[k] - end_ts < self.rules.min_hours_before_hard * 3600
        ):
            out.append("H1")
        k = bisect.bisect_left(self.race_ts, ts)
        if (
            k < len(self.race_ts)
            and self.race_ts[k] - end_ts < self.rules.min_hours_before_race * 3600
        ):
            out.append("H1r")
        k = bisect.bisect_right(self.busy_start, end_ts + self.buffer_s - 1) - 1
        if k >= 0 and self.busy_end[k] > ts - self.buffer_s:
            out.append(f"H6:{k}")
        # Never overlapping a fixed session either, however small H4's setting.
        reach = max(self.between_s, self.session_s + self.buffer_s)
        k = bisect.bisect_left(self.fixed_ts, ts - reach + 1)
        while k < len(self.fixed) and self.fixed[k].ts < ts + reach:
            if self.fixed[k] is not ignore:
                out.append(f"H4:{k}")
            k += 1
        return out

    def code_message(self, code: str, d: date, ts: int) -> str:
        end_ts = ts + self.session_s
        if code == "H7":
            return f"H7: before now ({self.when(self.now_ts)})"
        if code == "H2":
            _, _, h2, last, gap = self.window(d)
            assert last is not None
            return (
                f"H2: not before {self.hm(h2)} ({_num(gap)} h after '{_clip(last.summary, 30)}'"
                f" ends {self.hm(_ts(last.end))})"
            )
        if code == "H6h":
            return f"H6: outside {self.schedule.earliest:%H:%M}–{self.schedule.latest:%H:%M}"
        if code == "H1":
            ts_r, r = self.next_hard(ts) or (0, None)
            assert r is not None
            return (
                f"H1: {_hours(ts_r - end_ts)} h before {self.run_name(r)} "
                f"(needs ≥ {_num(self.rules.min_hours_before_hard)} h)"
            )
        if code == "H1r":
            ts_r, r = self.next_race(ts) or (0, None)
            assert r is not None
            return (
                f"H1: {_hours(ts_r - end_ts)} h before {self.run_name(r)} "
                f"(needs ≥ {_num(self.rules.min_hours_before_race)} h)"
            )
        rid, _, idx = code.partition(":")
        k = int(idx)
        if rid == "H6":
            return (
                f"H6: {self.busy_label[k]} {self.hm(self.busy_start[k])}–"
                f"{self.hm(self.busy_end[k])} (±{self.rules.buffer_minutes} min)"
            )
        fx = self.fixed[k]
        return self.h4_text(ts, fx.ts, fx.label)

    def slot_fails(self, d: date, ts: int, *, ignore: _Fixed | None = None) -> list[str]:
        """Every hard rule a session starting at ts on day d breaks, in words."""
        return [self.code_message(c, d, ts) for c in self.slot_codes(d, ts, ignore)]


def _minutes(t: time) -> int:
    return t.hour * 60 + t.minute


def _merge(spans: Iterable[tuple[int, int, str]]) -> tuple[list[int], list[int], list[str]]:
    starts: list[int] = []
    ends: list[int] = []
    labels: list[str] = []
    for s, e, label in sorted(spans):
        if e <= s:
            e = s + 1  # an instant still blocks its buffer
        if starts and s <= ends[-1]:
            if e > ends[-1]:
                ends[-1] = e
            if label not in labels[-1] and labels[-1].count(",") < 1:
                labels[-1] += f", {label}"
            continue
        starts.append(s)
        ends.append(e)
        labels.append(label)
    return starts, ends, labels


# --------------------------------------------------------------------------- the plan


def _session_label(f: _Facts, p: PriorSession) -> str:
    dt = p.start.astimezone(f.zone)
    what = "session (pinned)" if p.pinned else "session"
    return f"{DAY_NAMES[dt.weekday()]}'s {what} ({dt:%H:%M})"


def _grid(f: _Facts, d: date, grid: Sequence[int]) -> list[tuple[int, int]]:
    """(instant, wall minutes) of each grid start on day d; wall times in a DST gap skipped.

    On a day with one UTC offset from midnight to `latest` (almost every day) the instants
    are plain arithmetic from midnight; otherwise each wall time goes through zoneinfo.
    """
    base = f.wall(d, 0)
    top = f.wall(d, grid[-1]) if grid else None
    out: list[tuple[int, int]] = []
    if base is not None and top is not None and top - base == grid[-1] * 60:
        return [(base + m * 60, m) for m in grid]
    for m in grid:
        ts = f.wall(d, m)
        if ts is not None:
            out.append((ts, m))
    return out
