"""An independent check of RULES.md's hard rules, and a brute-force optimum to compare with.

Written from RULES.md alone, on purpose slow and plain (loops over everything, no
indexes), and sharing no code with `calsync.planner`: when the planner and this file agree,
two readings of the rules agree. Only the model types and the config are shared.

Every instant is compared in UTC: Python compares and subtracts two datetimes that share
a tzinfo by their wall clocks, which is an hour off across a DST change.

Planner policies that RULES.md leaves open are restated here, as the planner documents
them: a week with no run at all gets no session unless `plan_without_runs`; a session the
user deleted (skipped) lowers its week's target by one; the user's own strength events
count toward the weekly total; runs belong to the local day they start on.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from calsync.config import Rules, Schedule
from calsync.model import Intensity, Interval, Plan, PriorSession, Run

H = timedelta(hours=1)


def u(dt: datetime) -> datetime:
    return dt.astimezone(UTC)


@dataclass(frozen=True)
class World:
    """Everything the planner was told."""

    runs: Sequence[Run]
    busy: Sequence[Interval]
    own_strength: Sequence[Interval]
    schedule: Schedule
    rules: Rules
    now: datetime
    previous: Sequence[PriorSession] = ()
    skipped: Sequence[PriorSession] = ()

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.schedule.timezone)

    def day_of(self, dt: datetime) -> date:
        return dt.astimezone(self.zone).date()

    def week_of(self, d: date) -> date:
        return d - timedelta(days=(d.weekday() - self.rules.week_start) % 7)

    def runs_on(self, d: date) -> list[Run]:
        return [r for r in self.runs if self.day_of(r.start) == d]

    def is_hard(self, r: Run) -> bool:
        return r.intensity in (Intensity.HARD, Intensity.RACE)

    def week_runs(self, ws: date) -> list[Run]:
        return [r for r in self.runs if self.week_of(self.day_of(r.start)) == ws]

    def is_taper_week(self, ws: date) -> bool:
        for r in self.runs:
            if r.intensity is Intensity.RACE:
                race_day = self.day_of(r.start)
                for k in range(7):
                    d = ws + timedelta(days=k)
                    if race_day - timedelta(days=self.rules.taper_days) <= d < race_day:
                        return True
        return False

    def is_base_week(self, ws: date) -> bool:
        if self.rules.phase == "base":
            return True
        if not any(self.is_hard(r) for r in self.week_runs(ws)):
            return True
        days = [ws + timedelta(days=k) for k in range(7)]
        return any(d in rng for rng in self.rules.base_ranges for d in days)

    def target(self, ws: date) -> int:
        t = (
            self.rules.taper_sessions_per_week
            if self.is_taper_week(ws)
            else self.rules.sessions_per_week
        )
        gone = sum(1 for p in self.skipped if self.week_of(self.day_of(p.start)) == ws)
        return max(0, t - gone)

    def horizon_days(self) -> list[date]:
        today = self.day_of(self.now)
        return [today + timedelta(days=k) for k in range(self.schedule.horizon_days)]


def single_violations(w: World, start: datetime, end: datetime) -> list[str]:
    """The rules (H1-H3, H5 race day, H6, H7) one session breaks on its own."""
    out: list[str] = []
    r = w.rules
    zone = w.zone
    d = w.day_of(start)
    start, end = u(start), u(end)
    if start < u(w.now):
        out.append("H7")
    # H6: allowed hours, on one local day, clear of busy time (runs too) with the buffer.
    ls, le = start.astimezone(zone), end.astimezone(zone)
    if ls.time() < w.schedule.earliest or le.date() != d or le.time() > w.schedule.latest:
        out.append("H6 hours")
    buf = timedelta(minutes=r.buffer_minutes)
    blocks = [(u(b.start), u(b.end)) for b in w.busy] + [(u(x.start), u(x.end)) for x in w.runs]
    blocks += [(u(b.start), u(b.end)) for b in w.own_strength]
    for bs, be in blocks:
        be = max(be, bs + timedelta(seconds=1))
        if start - buf < be and bs < end + buf:
            out.append("H6 busy")
            break
    # H1: every hard run starting at or after the session's start.
    for x in w.runs:
        xs = u(x.start)
        if xs >= start and w.is_hard(x):
            if xs - end < r.min_hours_before_hard * H:
                out.append("H1")
            if x.intensity is Intensity.RACE and xs - end < r.min_hours_before_race * H:
                out.append("H1 race")
    todays = w.runs_on(d)
    if todays:
        hard_day = any(w.is_hard(x) for x in todays)
        gap = r.min_hours_after_hard if hard_day else r.min_hours_after_easy
        last_end = max(u(x.end) for x in todays)
        if start < last_end + gap * H:
            out.append("H2")
        if any(x.intensity is Intensity.RACE for x in todays):
            out.append("H5 race day")
        if not hard_day:
            ws = w.week_of(d)
            if r.lift_on_easy_days == "never" or (
                r.lift_on_easy_days == "base" and not w.is_base_week(ws)
            ):
                out.append("H3")
    else:
        ws = w.week_of(d)
        week_has_run = bool(w.week_runs(ws))
        if not week_has_run and not r.plan_without_runs:
            out.append("policy: no runs this week")
        elif r.lift_on_rest_days == "never" and week_has_run:
            out.append("rest day: never")
    return out


def check_plan(w: World, p: Plan) -> list[str]:
    """Every hard-rule violation in the plan, as 'KEY: rule' strings. Empty when all is well.

    Past and pinned sessions are the user's (H7): they are checked only against H7's
    promise (kept exactly as they were), and still count for H4 and H5 of the others.
    """
    out: list[str] = []
    prev = {x.key: x for x in w.previous}
    session_len = timedelta(minutes=w.schedule.session_minutes)
    days = set(w.horizon_days())
    for s in p.sessions:
        old = prev.get(s.key)
        if s.past or s.pinned:
            if old is None or (old.start, old.end) != (s.start, s.end):
                out.append(f"{s.key}: H7 past/pinned session not kept as it was")
            continue
        if u(s.end) - u(s.start) != session_len:
            out.append(f"{s.key}: length {s.end - s.start}")
        if w.day_of(s.start) not in days:
            out.append(f"{s.key}: outside the horizon")
        out += [f"{s.key}: {v}" for v in single_violations(w, s.start, s.end)]
    # Nothing past was moved or deleted (H7).
    kept = {s.key for s in p.sessions}
    for x in w.previous:
        if u(x.start) < u(w.now) and x.key not in kept:
            out.append(f"{x.key}: H7 past session deleted")
    # H4 over every pair (the user's own events and pins included; two of the user's
    # own are the user's business).
    starts = [(u(s.start), s.key, s.past or s.pinned) for s in p.sessions]
    starts += [(u(b.start), f"own:{b.label}", True) for b in w.own_strength]
    gap = w.rules.min_hours_between_sessions * H
    for (a, ka, fa), (b, kb, fb) in itertools.combinations(starts, 2):
        if fa and fb:
            continue
        if abs(a - b) < gap:
            out.append(f"{ka}/{kb}: H4 {abs(a - b)}")
    # Planner policy: one session a day at most (the user's own aside).
    ours_days = [w.day_of(s.start) for s in p.sessions if not (s.past or s.pinned)]
    for d in sorted(set(ours_days)):
        if ours_days.count(d) > 1:
            out.append(f"{d}: two sessions on one day")
    # H5: per week, sessions + own strength events within the target (when we added any).
    per_week: dict[date, list[tuple[str, bool]]] = {}
    for s in p.sessions:
        per_week.setdefault(w.week_of(w.day_of(s.start)), []).append((s.key, s.past or s.pinned))
    for b in w.own_strength:
        per_week.setdefault(w.week_of(w.day_of(b.start)), []).append(("own", True))
    for ws, items in per_week.items():
        ours = [k for k, fixed in items if not fixed]
        if ours and len(items) > w.target(ws):
            out.append(f"{ws}: H5 {len(items)} sessions > target {w.target(ws)}")
    return out


def grid_slots(w: World, d: date) -> list[datetime]:
    """Starts on the local 15-minute wall-clock grid of day d (none in a DST gap)."""
    zone = w.zone
    out = []
    for m in range(0, 24 * 60, 15):
        t = time(m // 60, m % 60)
        dt = datetime.combine(d, t, tzinfo=zone)
        if dt.astimezone(ZoneInfo("UTC")).astimezone(zone).time() != t:
            continue
        out.append(dt)
    return out


def brute_force_max(w: World) -> int:
    """Most sessions the hard rules allow in the horizon, by trying every set of days.

    For one set of days (in order), picking each day's earliest slot that keeps H4 from the
    previous pick is optimal (exchange argument), so the search is exact on the grid.
    Fixed sessions (past, pinned) and own strength events are counted and spaced from.
    """
    gap = w.rules.min_hours_between_sessions * H
    length = timedelta(minutes=w.schedule.session_minutes)
    fixed = [u(x.start) for x in w.previous if u(x.start) < u(w.now) or x.pinned]
    fixed += [u(b.start) for b in w.own_strength]
    fixed_per_week: dict[date, int] = {}
    for t in fixed:
        ws = w.week_of(w.day_of(t))
        fixed_per_week[ws] = fixed_per_week.get(ws, 0) + 1
    options: list[tuple[date, list[datetime]]] = []
    for d in w.horizon_days():
        ok = [
            t
            for t in grid_slots(w, d)
            if not single_violations(w, t, t + length) and all(abs(u(t) - f) >= gap for f in fixed)
        ]
        if ok:
            options.append((d, ok))
    best = 0
    for n in range(len(options), 0, -1):
        if n <= best:
            break
        for combo in itertools.combinations(options, n):
            per_week: dict[date, int] = {}
            for d, _ in combo:
                ws = w.week_of(d)
                per_week[ws] = per_week.get(ws, 0) + 1
            if any(c + fixed_per_week.get(ws, 0) > w.target(ws) for ws, c in per_week.items()):
                continue
            last: datetime | None = None
            feasible = True
            for _, slots in combo:
                pick = next((t for t in slots if last is None or u(t) - last >= gap), None)
                if pick is None:
                    feasible = False
                    break
                last = u(pick)
            if feasible:
                best = n
                break
    return best
