"""Place strength sessions by the rules of RULES.md: a pure function with its reasons.

`plan()` takes classified runs, busy time, the user's own strength events, what calsync
planned before (with the user's pins), the settings and "now", and returns the sessions,
a verdict for every local day of the horizon and a summary for every week. No clock, no
I/O, no randomness: the same input always gives the same plan.

How it works, in three layers:

1. **Facts** (`_Facts`): runs and busy time indexed by local day and by time (sorted
   arrays + bisect, so nothing is quadratic in the calendar); day kinds; week phases
   (base / build / taper) and targets; the fixed sessions (past ones, pins, frozen ones,
   the user's own strength events).
2. **Candidates**: every start on the local 15-minute wall-clock grid (plus the times
   of previous sessions) that passes every hard rule H1-H3, H5 (race day), H6, H7 and H4
   against the fixed sessions. Wall-clock times are turned into instants with zoneinfo,
   so 18:00 stays 18:00 local across a DST change.
3. **Choice** (`_choose`): an exact dynamic programme over the candidates in time order.
   It enforces the rest of H4 (48 h between chosen sessions, transitive because sessions
   are chosen in time order) and H5 (the weekly cap), and maximises the soft preferences
   lexicographically, in RULES.md's order: number of sessions, then weeks with at least
   one ("some is better than none"), then the kind of day (hard < easy in a base week <
   rest < rest just after a hard day), then >= `preferred_hours_before_hard` before the
   next hard run, then stability (a previous session's exact time), then nearness to
   `preferred_time` (or to the day's earliest allowed start), then spread within a week.
   The lexicographic score is one integer in a mixed radix, so the DP stays additive.

Interpretations of RULES.md (where it is silent or ambiguous):

- H1 "next hard run": every hard run or race that starts at or after the session's start
  (runs earlier the same day are governed by H2). A race needs `min_hours_before_race`.
- H2: counted from the end of the day's last run (runs belong to the local day they
  start on); the gap is `min_hours_after_hard` when any run that day is hard or a race.
- H3 applies to easy days. Rest days follow `lift_on_rest_days`: "fallback" makes them
  merely worse than hard days in the score, so they are used exactly when hard days
  cannot hold the target; "never" forbids them; "always" ranks them like easy base days.
- A week with no run at all gets no session unless `plan_without_runs` is set (then its
  rest days are allowed): calsync has nothing to plan around, and weeks after the end of
  a plan or before its start are usually unknown, not rest weeks.
- Base week: `phase = "base"` makes every week a base week; otherwise a week with no hard
  run and no race, or a week with at least one day inside a configured base range.
- Taper week: a week holding a day of D-`taper_days` .. D-1 of a race on day D. Its cap is
  `taper_sessions_per_week`. A taper week with no hard run is also a base week for H3.
- The user's own strength events count like sessions for H4 and toward the weekly cap
  (RULES: "counts as a strength session for spacing and weekly totals"), and in
  `WeekSummary.placed`.
- Sessions must lie fully inside `earliest`..`latest`; H6's buffer applies on both sides
  against every busy interval, runs and the user's own strength events included.
- A skipped session (deleted by the user) lowers its week's target by one and its key is
  never reused.
- Horizon: the local days `today .. today + horizon_days - 1`; today only after "now".
- At most one session a day, even when `min_hours_between_sessions` is set below a day:
  two strength sessions on one day help no runner.
- "Some is better than none" is read per week: after the total count, the plan prefers
  more weeks with at least one session (a week already holding a fixed one counts).

Memory of earlier syncs (`previous`, `skipped`):

- Past sessions (start < now) are history: returned as they were (`past=True`), counted
  in their week and for H4, never checked against today's calendar.
- Pinned sessions (moved or edited by the user) are kept where the user put them and
  planned around; any rule they break is listed in their `rules` ("note, your choice
  breaks H3: ...").
- Frozen: a planned session starting within `freeze_hours` of now stays unless it now
  breaks a hard rule (H1-H6 against runs, busy time and the fixed sessions, or the week's
  cap); otherwise it is re-planned like the rest.
- Stability: any other previous session earns a bonus at its exact time, ranked below
  the kind of day and the 48 h preference and above the preferred time, so re-planning an
  unchanged calendar returns the same sessions, and a change moves only sessions whose
  rules it touches. A session kept at its time keeps its key; new ones take the lowest
  slot number free in their week (keys of past, pinned, kept and skipped sessions are
  taken), so a session that moves within its week usually keeps its key too.

Explanations: every day of the horizon says what kept it empty, decisive rule first:
rules that close the whole day on their own (phrased from the slot that came closest),
then rules that close it together, then the week's cap (H5) and the other sessions (H4).
Slot checks are cheap codes (`_Facts.slot_codes`); words are made only for the messages
shown (`_Facts.code_message`).
"""

from __future__ import annotations

import bisect
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from calsync import term
from calsync.config import Rules, Schedule
from calsync.model import (
    DayKind,
    DayPlan,
    Event,
    Intensity,
    Interval,
    Phase,
    Plan,
    PriorSession,
    Run,
    RunInfo,
    Session,
    Verdict,
    WeekSummary,
)

log = logging.getLogger(__name__)

GRID_MINUTES = 15
TITLE = "Strength session"
DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

# Score levels, most important first; one integer in radix 2**24 keeps the DP additive.
_RADIX = 1 << 24
_L_COUNT, _L_COVER, _L_KIND, _L_PREF, _L_STABLE, _L_TIME, _L_SPREAD = (
    _RADIX**k for k in range(6, -1, -1)
)
_NEG = -(1 << 400)  # "impossible"


def make_run(event: Event, verdict: Verdict, rules: Rules, zone: ZoneInfo) -> Run:
    """An event the classifier called a run (or the user's own strength event) -> Run.

    Timed events keep their times (an event with no duration lasts its stated minutes, else
    `all_day_run_minutes`). All-day events start at `all_day_run_start[weekday]` local time
    on their first day and last `verdict.minutes` or `all_day_run_minutes`. A verdict with
    no intensity (a strength event) is kept as easy; only its times matter then.
    """
    intensity = verdict.intensity or Intensity.EASY
    minutes = verdict.minutes or rules.all_day_run_minutes
    if event.all_day:
        day = event.start.date()  # the date as written: all-day dates are zone-free
        start = datetime.combine(day, rules.all_day_run_start[day.weekday()], tzinfo=zone)
        end = start + timedelta(minutes=minutes)
    else:
        start, end = event.start, event.end
        if end <= start:
            end = start + timedelta(minutes=minutes)
    return Run(event=event, intensity=intensity, reason=verdict.reason, start=start, end=end)


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


def plan(
    *,
    runs: Sequence[Run],
    busy: Sequence[Interval],
    own_strength: Sequence[Interval],
    previous: Sequence[PriorSession],
    schedule: Schedule,
    rules: Rules,
    now: datetime,
    skipped: Sequence[PriorSession] = (),
) -> Plan:
    """Place sessions by RULES.md and explain every day and week (see the module doc).

    Pass every run, busy interval and own strength event you know, also those just past
    the horizon (H1 looks ahead to the next hard run) and earlier in the current week
    (weekly totals and phases count the whole week).
    """
    f = _Facts(runs, busy, own_strength, schedule, rules, now)
    today = f.local_day(now)
    days = [today + timedelta(days=k) for k in range(schedule.horizon_days)]
    for d in days:
        f.week(d)

    prev = _dedupe(previous)
    skipped_keys = {p.key for p in skipped}
    for p in skipped:
        w = f.week(f.local_day(p.start))
        w.skipped += 1
        w.target = max(0, w.full_target - w.skipped)

    sessions: list[Session] = []
    fixed: list[_Fixed] = []
    for p in prev:
        if _ts(p.start) < f.now_ts or p.pinned:
            fixed.append(_Fixed(_ts(p.start), _ts(p.end), _session_label(f, p), prior=p))
    for s in own_strength:
        fixed.append(
            _Fixed(
                _ts(s.start),
                _ts(s.end),
                f"your strength event '{_clip(s.label, 30)}' ({f.when(_ts(s.start))})",
                own=True,
            )
        )
    _set_fixed(f, fixed)
    for x in fixed:
        f.week(f.local_day(f.local(x.ts))).fixed += 1

    # Frozen: a previous session starting within freeze_hours stays unless a hard rule
    # now forbids it. Checked in time order against what is already fixed.
    freeze_until = f.now_ts + int(rules.freeze_hours * 3600)
    movable: list[PriorSession] = []
    for p in prev:
        if _ts(p.start) < f.now_ts or p.pinned:
            continue
        if _ts(p.start) < freeze_until:
            d = f.local_day(p.start)
            w = f.week(d)
            ok = (
                not f.day_blockers(d, w)
                and not f.slot_fails(d, _ts(p.start))
                and w.fixed < w.target
                and _ts(p.end) - _ts(p.start) == f.session_s
            )
            if ok:
                fixed.append(_Fixed(_ts(p.start), _ts(p.end), _session_label(f, p), p, frozen=True))
                _set_fixed(f, fixed)
                w.fixed += 1
                continue
        movable.append(p)

    infos = _candidates(f, days, movable)
    chosen = _choose(f, infos)

    # Sessions: fixed ones first, then the chosen ones with their keys.
    used_keys: dict[date, set[str]] = {}
    for x in fixed:
        if x.prior is not None:
            used_keys.setdefault(f.week(f.local_day(x.prior.start)).start, set()).add(x.prior.key)
    for k in skipped_keys:
        used_keys.setdefault(_key_week(k) or date.min, set()).add(k)
    prev_by_ts = {_ts(p.start): p for p in movable}
    chosen_ts = {c.ts for c in chosen}
    for p in movable:
        # A previous session kept at its exact time keeps its key.
        if _ts(p.start) in chosen_ts and (_key_week(p.key) == f.week(f.local_day(p.start)).start):
            used_keys.setdefault(f.week(f.local_day(p.start)).start, set()).add(p.key)

    for x in fixed:
        if x.prior is not None:
            sessions.append(_fixed_session(f, x))
    new_sessions: list[Session] = []
    for c in chosen:
        w = f.weeks[c.week]
        kept = prev_by_ts.get(c.ts)
        if kept is not None and _key_week(kept.key) == w.start:
            key = kept.key
        else:
            key = _free_key(w.start, used_keys.setdefault(w.start, set()))
        new_sessions.append(_new_session(f, infos[c.day], c, key, kept is not None))
    sessions += new_sessions
    sessions.sort(key=lambda s: (_ts(s.start), s.key))

    day_plans = _explain_days(f, infos, sessions, chosen, skipped)
    weeks = _explain_weeks(f, days, sessions, day_plans, fixed)
    notes: list[str] = []
    horizon_runs = [r for r in f.runs if days[0] <= f.local_day(r.start) <= days[-1]]
    if not horizon_runs:
        notes.append(
            "no runs in the horizon: "
            + (
                "sessions are planned on rest days (plan_without_runs = true)"
                if rules.plan_without_runs
                else "nothing to plan around, no session placed "
                "(set rules.plan_without_runs = true to plan on rest days anyway)"
            )
        )
    for p in skipped:
        notes.append(
            f"you deleted {p.key} ({f.when(_ts(p.start))}): not replaced; "
            f"that week's target is lowered by one"
        )
    return Plan(
        sessions=tuple(sessions),
        days=tuple(day_plans),
        weeks=tuple(weeks),
        now=now,
        notes=tuple(notes),
    )


def _dedupe(previous: Sequence[PriorSession]) -> list[PriorSession]:
    by_key: dict[str, PriorSession] = {}
    for p in sorted(previous, key=lambda p: (_ts(p.start), p.key, p.pinned)):
        by_key[p.key] = p
    return sorted(by_key.values(), key=lambda p: (_ts(p.start), p.key))


def _set_fixed(f: _Facts, fixed: list[_Fixed]) -> None:
    fixed.sort(key=lambda x: (x.ts, x.label))
    f.fixed = list(fixed)
    f.fixed_ts = [x.ts for x in fixed]


def _session_label(f: _Facts, p: PriorSession) -> str:
    dt = p.start.astimezone(f.zone)
    what = "session (pinned)" if p.pinned else "session"
    return f"{DAY_NAMES[dt.weekday()]}'s {what} ({dt:%H:%M})"


def _key_week(key: str) -> date | None:
    head = key.split("/", 1)[0]
    try:
        return date.fromisoformat(head)
    except ValueError:
        return None


def _free_key(ws: date, used: set[str]) -> str:
    n = 1
    while f"{ws.isoformat()}/{n}" in used:
        n += 1
    key = f"{ws.isoformat()}/{n}"
    used.add(key)
    return key


# --------------------------------------------------------------------------- candidates


def _candidates(f: _Facts, days: list[date], movable: Sequence[PriorSession]) -> list[_DayInfo]:
    """Every allowed start per day, with the session's own score."""
    rules, sched = f.rules, f.schedule
    prev_ts_by_day: dict[date, list[int]] = {}
    for p in movable:
        prev_ts_by_day.setdefault(f.local_day(p.start), []).append(_ts(p.start))
    e_min, l_min = _minutes(sched.earliest), _minutes(sched.latest)
    first = -(-e_min // GRID_MINUTES) * GRID_MINUTES
    grid = list(range(first, l_min - sched.session_minutes + 1, GRID_MINUTES))
    pref_min = _minutes(sched.preferred_time) if sched.preferred_time is not None else None
    pref_s = int(rules.preferred_hours_before_hard * 3600)
    infos: list[_DayInfo] = []
    for i, d in enumerate(days):
        w = f.week(d)
        kind = f.kind(d)
        info = _DayInfo(d, i, kind, f.runs_by_day.get(d, []), w)
        info.blockers = f.day_blockers(d, w)
        info.kind_pen = _kind_penalty(f, d, kind, w)
        infos.append(info)
        if info.blockers or w.cap == 0:
            continue
        _, _, h2, _, _ = f.window(d)
        lo_ts = max(f.now_ts, h2)
        starts = [(ts, m) for ts, m in _grid(f, d, grid) if ts >= lo_ts]
        for pts in prev_ts_by_day.get(d, ()):
            if pts >= lo_ts and all(pts != s for s, _ in starts):
                dt = f.local(pts)
                starts.append((pts, dt.hour * 60 + dt.minute))
        starts.sort()
        first_ok: int | None = None
        for ts, m in starts:
            end_ts = ts + f.session_s
            if f.slot_codes(d, ts):
                continue
            if first_ok is None:
                first_ok = m
            nh = f.next_hard(ts)
            short = nh is not None and nh[0] - end_ts < pref_s
            time_pen = abs(m - pref_min) if pref_min is not None else m - first_ok
            stable = ts in prev_ts_by_day.get(d, ())
            node = (
                _L_COUNT
                - info.kind_pen * _L_KIND
                - int(short) * _L_PREF
                + int(stable) * _L_STABLE
                - time_pen * _L_TIME
            )
            info.cands.append(_Cand(ts, i, w.start, node))
    return infos


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


def _kind_penalty(f: _Facts, d: date, kind: DayKind, w: _Week) -> int:
    """Soft preference 2: hard days first, rest days as a fallback, after-hard worst."""
    if kind is DayKind.HARD:
        return 0
    if kind is DayKind.EASY:
        return 1
    if f.rules.lift_on_rest_days == "always" or (f.rules.plan_without_runs and not w.has_run):
        return 1
    after_hard = f.kind(d - timedelta(days=1)) in (DayKind.HARD, DayKind.RACE)
    return 3 if after_hard else 2


# --------------------------------------------------------------------------- the choice


def _choose(f: _Facts, infos: list[_DayInfo]) -> list[_Cand]:
    """The best set of candidates: exact DP over candidates in time order.

    State (candidate i, c sessions so far in i's week, i included). A predecessor is the
    previous chosen session: in an earlier week (any count), or the same week with c-1,
    and at least H4's spacing (and never overlapping) before. Since the chosen sessions
    are in time order, spacing between neighbours gives spacing between all of them.
    """
    gap = max(f.between_s, f.session_s + f.buffer_s)
    cands = [c for info in infos for c in info.cands]
    if not cands:
        return []
    n = len(cands)
    best: list[list[int]] = []  # best[i][c] for c = 0..cap (0 unused)
    pred: list[list[tuple[int, int] | None]] = []
    # Global prefix over processed candidates: best over any count, and where.
    g_ts: list[int] = []
    g_val: list[int] = []
    g_arg: list[tuple[int, int] | None] = []
    # Per day of the current week: times and prefix bests per count.
    day_ts: dict[int, list[int]] = {}
    day_pref: dict[int, list[list[tuple[int, int]]]] = {}  # day -> c -> [(val, i)] prefix
    current_week: date | None = None
    week_days: list[int] = []
    for i, c in enumerate(cands):
        w = f.weeks[c.week]
        cap = w.cap
        if c.week != current_week:
            current_week = c.week
            week_days = []
            day_ts.clear()
            day_pref.clear()
        row = [_NEG] * (cap + 1)
        prow: list[tuple[int, int] | None] = [None] * (cap + 1)
        if cap >= 1:
            bound = min(c.ts - gap, w.start_ts - 1)
            k = bisect.bisect_right(g_ts, bound)
            start_val, start_pred = 0, None
            if k > 0 and g_val[k - 1] > 0:
                start_val, start_pred = g_val[k - 1], g_arg[k - 1]
            # "Some is better than none": a week's first session is worth more, unless the
            # week already holds a fixed one.
            row[1] = start_val + c.node + (_L_COVER if w.fixed == 0 else 0)
            prow[1] = start_pred
        for cc in range(2, cap + 1):
            for dd in week_days:
                if dd == c.day:
                    continue  # one session a day at most, whatever H4's setting
                ts_list = day_ts[dd]
                k = bisect.bisect_right(ts_list, c.ts - gap)
                if k == 0:
                    continue
                val, j = day_pref[dd][cc - 1][k - 1]
                if val == _NEG:
                    continue
                spread = max(0, 3 - (c.day - dd)) * _L_SPREAD
                v = val + c.node - spread
                if v > row[cc]:
                    row[cc] = v
                    prow[cc] = (j, cc - 1)
        best.append(row)
        pred.append(prow)
        # Update the per-day prefix structures of this week.
        if c.day not in day_ts:
            day_ts[c.day] = []
            day_pref[c.day] = [[] for _ in range(cap + 1)]
            week_days.append(c.day)
        day_ts[c.day].append(c.ts)
        for cc in range(cap + 1):
            lst = day_pref[c.day][cc]
            cur = (row[cc], i)
            lst.append(cur if not lst or cur[0] > lst[-1][0] else lst[-1])
        top, top_c = max((row[cc], cc) for cc in range(cap + 1)) if cap else (_NEG, 0)
        g_ts.append(c.ts)
        if g_val and g_val[-1] >= top:
            g_val.append(g_val[-1])
            g_arg.append(g_arg[-1])
        else:
            g_val.append(top)
            g_arg.append((i, top_c))
    assert len(best) == n
    if not g_val or g_val[-1] <= 0:
        return []
    out: list[_Cand] = []
    at = g_arg[-1]
    while at is not None:
        i, cc = at
        out.append(cands[i])
        at = pred[i][cc]
    out.reverse()
    return out


# --------------------------------------------------------------------------- explanations


def _fixed_session(f: _Facts, x: _Fixed) -> Session:
    p = x.prior
    assert p is not None
    w = f.week(f.local_day(p.start))
    if _ts(p.start) < f.now_ts:
        reason = "done: in the past, kept as it was (H7)"
        rules: tuple[str, ...] = ("H7: the past is history",)
    elif p.pinned:
        reason = "pinned: you moved or edited it, so it stays where you put it (H7)"
        d = f.local_day(p.start)
        warn = f.day_blockers(d, w) + f.slot_fails(d, _ts(p.start), ignore=x)
        rules = ("H7: pinned by you",) + tuple(f"note, your choice breaks {r}" for r in warn)
    else:
        reason = (
            f"within freeze_hours ({_num(f.rules.freeze_hours)} h) of its start and still "
            "allowed by every hard rule: kept"
        )
        rules = ("H1–H7: still met", f"freeze: starts within {_num(f.rules.freeze_hours)} h")
    return Session(
        key=p.key,
        start=p.start,
        end=p.end,
        title=TITLE,
        phase=w.phase,
        reason=reason,
        rules=rules,
        pinned=p.pinned,
        past=_ts(p.start) < f.now_ts,
    )


def _new_session(f: _Facts, info: _DayInfo, c: _Cand, key: str, kept: bool) -> Session:
    ts, end_ts = c.ts, c.ts + f.session_s
    d, w, rules = info.day, info.week, f.rules
    h2, last, gap = f.h2_bound(d)
    parts: list[str] = []
    allowed: list[str] = []
    nh, nr = f.next_hard(ts), f.next_race(ts)
    if nh is not None:
        allowed.append(
            f"H1: {_hours(nh[0] - end_ts)} h before {f.run_name(nh[1])} "
            f"≥ {_num(rules.min_hours_before_hard)} h"
        )
    else:
        allowed.append("H1: no hard run ahead")
    if nr is not None:
        allowed.append(
            f"H1: {_hours(nr[0] - end_ts)} h before {f.run_name(nr[1])} "
            f"≥ {_num(rules.min_hours_before_race)} h"
        )
    if last is not None:
        allowed.append(
            f"H2: {_hours(ts - _ts(last.end))} h after '{_clip(last.summary, 30)}' ends "
            f"≥ {_num(gap)} h"
        )
    else:
        allowed.append("H2: no run this day")
    if info.kind is DayKind.HARD:
        hard_run = next(r for r in info.runs if r.is_hard)
        parts.append(f"hard day: after {f.run_name(hard_run)}")
        allowed.append("H3: hard day")
    elif info.kind is DayKind.EASY:
        parts.append("easy day in a base week")
        allowed.append(f"H3: easy day, lift_on_easy_days = {rules.lift_on_easy_days}")
    else:
        if rules.plan_without_runs and not w.has_run:
            parts.append("rest day (no runs this week, plan_without_runs = true)")
        elif rules.lift_on_rest_days == "always":
            parts.append("rest day (lift_on_rest_days = always)")
        else:
            parts.append("rest day as a fallback: hard days could not hold the week's target")
            before = f.runs_by_day.get(d - timedelta(days=1), [])
            hard_before = [r for r in before if r.is_hard]
            if hard_before:
                parts.append(f"the day after {f.run_name(hard_before[-1])}, no better day left")
        allowed.append("H3: rest day")
    allowed.append(f"H4: ≥ {_num(rules.min_hours_between_sessions)} h from every other session")
    allowed.append(f"H5: within the week's target of {w.target} ({w.phase.value} week)")
    allowed.append(
        f"H6: {f.hm(ts)}–{f.hm(end_ts)} inside {f.schedule.earliest:%H:%M}–"
        f"{f.schedule.latest:%H:%M}, clear of busy time ±{rules.buffer_minutes} min"
    )
    allowed.append("H7: in the future")
    if nh is not None:
        parts.append(f"{_hours(nh[0] - end_ts)} h before {f.run_name(nh[1])}")
    if kept:
        # Not in the reason: the reason is part of the event text, and a session that
        # stays put must render the same bytes on every sync.
        allowed.append("stability: kept at its planned time")
    else:
        why = _why_this_time(f, d, ts)
        if why:
            allowed.append(why)
    return Session(
        key=key,
        start=f.local(ts),
        end=f.local(end_ts),
        title=TITLE,
        phase=w.phase,
        reason=", ".join(parts),
        rules=tuple(allowed),
    )


def _why_this_time(f: _Facts, d: date, ts: int) -> str:
    """Why a new session is not at the preferred time, for the explanation."""
    pref = f.schedule.preferred_time
    if pref is None:
        return ""
    want = f.wall(d, _minutes(pref))
    if want is None or want == ts:
        return ""
    head = f"time: not at {pref:%H:%M}, "
    codes = f.slot_codes(d, want)
    if codes:
        return head + f.code_message(codes[0], d, want)
    nh = f.next_hard(want)
    if nh is not None and nh[0] - (want + f.session_s) < f.rules.preferred_hours_before_hard * 3600:
        return head + (
            f"to end ≥ {_num(f.rules.preferred_hours_before_hard)} h before "
            f"{f.run_name(nh[1])} (preferred)"
        )
    gap = _num(f.rules.min_hours_between_sessions)
    return head + f"to keep {gap} h from the other sessions (H4)"


def _explain_days(
    f: _Facts,
    infos: list[_DayInfo],
    sessions: list[Session],
    chosen: list[_Cand],
    skipped: Sequence[PriorSession],
) -> list[DayPlan]:
    by_day: dict[date, list[Session]] = {}
    for s in sessions:
        by_day.setdefault(f.local_day(s.start), []).append(s)
    per_week: dict[date, int] = {}
    for s in sessions:
        ws = f.week(f.local_day(s.start)).start
        per_week[ws] = per_week.get(ws, 0) + 1
    for x in f.fixed:
        if x.own:
            ws = f.week(f.local_day(f.local(x.ts))).start
            per_week[ws] = per_week.get(ws, 0) + 1
    session_ts = sorted(
        (_ts(s.start), _session_label(f, PriorSession(s.key, s.start, s.end, s.pinned)))
        for s in sessions
    )
    sts = [t for t, _ in session_ts]
    skipped_by_day: dict[date, list[PriorSession]] = {}
    for p in skipped:
        skipped_by_day.setdefault(f.local_day(p.start), []).append(p)
    e_min, l_min = _minutes(f.schedule.earliest), _minutes(f.schedule.latest)
    out: list[DayPlan] = []
    for info in infos:
        d, w = info.day, info.week
        here = by_day.get(d, [])
        notes: list[str] = []
        if w.taper:
            notes.append("taper week")
        elif w.base:
            notes.append("base week")
        for p in skipped_by_day.get(d, ()):
            notes.append(f"you deleted {p.key} here: not replaced")
        blocked: tuple[str, ...] = ()
        if not here:
            blocked = tuple(_why_empty(f, info, per_week, sts, session_ts, e_min, l_min))
        out.append(
            DayPlan(
                day=d,
                kind=info.kind,
                runs=tuple(
                    RunInfo(
                        summary=r.summary,
                        start=r.start,
                        end=r.end,
                        intensity=r.intensity,
                        reason=r.reason,
                        all_day=r.event.all_day,
                    )
                    for r in info.runs
                ),
                sessions=tuple(s.key for s in here),
                blocked=blocked,
                note="; ".join(notes),
            )
        )
    return out


def _why_empty(
    f: _Facts,
    info: _DayInfo,
    per_week: dict[date, int],
    sts: list[int],
    session_ts: list[tuple[int, str]],
    e_min: int,
    l_min: int,
) -> list[str]:
    """Every rule that kept the day empty, the decisive one first."""
    d, w = info.day, info.week
    if info.blockers:
        return list(info.blockers)
    h5: list[str] = []
    placed = per_week.get(w.start, 0)
    if placed >= w.target:
        if w.skipped and w.target < w.full_target:
            h5.append(
                f"H5: week target {w.target} reached ({w.full_target} less {w.skipped} you deleted)"
            )
        elif w.taper:
            h5.append(f"H5: taper week target {w.target} reached")
        else:
            h5.append(f"H5: week target {w.target} reached")
    # Every slot of the day against every static rule, then H4 against the sessions.
    first = -(-e_min // GRID_MINUTES) * GRID_MINUTES
    grid = range(first, l_min - f.schedule.session_minutes + 1, GRID_MINUTES)
    slots = _grid(f, d, grid)
    static = [f.slot_codes(d, ts) for ts, _ in slots]
    if not static:
        return ["H6: no slot inside the allowed hours"] + h5
    if all(static):
        # The day is closed whatever the other sessions do: the rules that alone close it
        # first (phrased from the slots that came closest), then those that together do.
        order = sorted(range(len(static)), key=lambda i: len(static[i]))
        everywhere = set.intersection(*({_code_rule(c) for c in codes} for codes in static))
        msgs: dict[str, str] = {}
        for i in order:
            for c in static[i]:
                key = _code_key(c)
                if key not in msgs:
                    msgs[key] = f.code_message(c, d, slots[i][0])
        alone = [m for k, m in msgs.items() if _code_rule(k) in everywhere]
        rest = [m for k, m in msgs.items() if _code_rule(k) not in everywhere]
        if "H6" in everywhere:
            alone.insert(
                0,
                f"H6: no free slot {f.schedule.earliest:%H:%M}–{f.schedule.latest:%H:%M}"
                " clear of busy time",
            )
        return alone + rest[:3] + h5
    # Some slot passes every static rule: the other sessions (H4) or the week's cap (H5)
    # kept it empty. Name each session too close, from the slot least hemmed in.
    near: list[tuple[int, int, list[int]]] = []
    for (ts, _), codes in zip(slots, static, strict=True):
        if codes:
            continue
        k = bisect.bisect_left(sts, ts - f.between_s + 1)
        hits: list[int] = []
        while k < len(sts) and sts[k] < ts + f.between_s:
            hits.append(k)
            k += 1
        near.append((len(hits), ts, hits))
    h4: dict[int, str] = {}
    for _, ts, hits in sorted(near):
        for k in hits:
            if k not in h4:
                h4[k] = f.h4_text(ts, session_ts[k][0], session_ts[k][1])
    reasons = h5 + list(h4.values())
    if not reasons:
        if info.kind is DayKind.REST and f.rules.lift_on_rest_days == "fallback":
            reasons.append("rest day: only a fallback, and the week's sessions fit elsewhere")
        else:
            reasons.append("allowed, but other days suit the week better (soft preferences)")
    return reasons


def _code_rule(code: str) -> str:
    """The rule id of a slot code (H6h, H6:<k> -> H6; H1r -> H1)."""
    return code.split(":", 1)[0].rstrip("hr")


def _code_key(code: str) -> str:
    """One message per rule, except H4: one per other session it is too close to."""
    return code if code.startswith("H4") else code.split(":", 1)[0]


def _explain_weeks(
    f: _Facts,
    days: list[date],
    sessions: list[Session],
    day_plans: list[DayPlan],
    fixed: list[_Fixed],
) -> list[WeekSummary]:
    counts: dict[date, int] = {}
    for s in sessions:
        ws = f.week(f.local_day(s.start)).start
        counts[ws] = counts.get(ws, 0) + 1
    for x in fixed:
        if x.own:
            ws = f.week(f.local_day(f.local(x.ts))).start
            counts[ws] = counts.get(ws, 0) + 1
    plans_by_week: dict[date, list[DayPlan]] = {}
    for dp in day_plans:
        plans_by_week.setdefault(f.week(dp.day).start, []).append(dp)
    out: list[WeekSummary] = []
    for ws in sorted({f.week(d).start for d in days}):
        w = f.weeks[ws]
        placed = counts.get(ws, 0)
        met = placed >= w.target
        why = ""
        if not met:
            why = _why_week(w, plans_by_week.get(ws, []), days)
        out.append(
            WeekSummary(
                start=ws, phase=w.phase, target=w.target, placed=placed, met=met, why_not=why
            )
        )
    return out


def _why_week(w: _Week, dps: list[DayPlan], days: list[date]) -> str:
    if not w.has_run:
        return "no runs this week: nothing to plan around (plan_without_runs = false)"
    parts: list[str] = []
    if w.start < days[0]:
        parts.append(f"the week began before today ({len(dps)} of its days are left)")
    if w.start + timedelta(days=6) > days[-1]:
        parts.append("the week runs past the horizon; its last days are planned in a later sync")
    empty = [dp for dp in dps if not dp.sessions and dp.blocked]
    if empty:
        parts.append(
            "; ".join(f"{DAY_NAMES[dp.day.weekday()][:3]}: {dp.blocked[0]}" for dp in empty)
        )
    return ". ".join(parts) if parts else "no allowed day left"
