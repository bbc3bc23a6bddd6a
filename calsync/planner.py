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

Where the layers live: the facts and the slot checks in planner_facts.py, the candidates
and the choice here (with `plan()`, the one entry point), the reasons and explanations
in planner_explain.py.
"""

from __future__ import annotations

import bisect
import logging
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from calsync.model import (
    DayKind,
    Event,
    Intensity,
    Interval,
    Plan,
    PriorSession,
    Run,
    Session,
    Verdict,
)
from calsync.planner_explain import (
    _explain_days,
    _explain_weeks,
    _fixed_session,
    _new_session,
    _plan_notes,
)
from calsync.planner_facts import (
    GRID_MINUTES,
    _Cand,
    _clip,
    _DayInfo,
    _Facts,
    _Fixed,
    _grid,
    _minutes,
    _session_label,
    _ts,
    _Week,
)
from calsync.settings import Rules, Schedule

log = logging.getLogger(__name__)

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
    return Run(
        event=event,
        intensity=intensity,
        reason=verdict.reason,
        start=start,
        end=end,
        confidence=verdict.confidence,
    )


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
    for p in skipped:
        w = f.week(f.local_day(p.start))
        w.skipped += 1
        w.target = max(0, w.full_target - w.skipped)

    fixed, movable = _fix(f, prev, own_strength)
    infos = _candidates(f, days, movable)
    chosen = _choose(f, infos)
    sessions = _sessions(f, infos, fixed, movable, chosen, {p.key for p in skipped})

    day_plans = _explain_days(f, infos, sessions, chosen, skipped)
    weeks = _explain_weeks(f, days, sessions, day_plans, fixed)
    return Plan(
        sessions=tuple(sessions),
        days=tuple(day_plans),
        weeks=tuple(weeks),
        now=now,
        notes=tuple(_plan_notes(f, days, skipped)),
    )


def _fix(
    f: _Facts, prev: Sequence[PriorSession], own_strength: Sequence[Interval]
) -> tuple[list[_Fixed], list[PriorSession]]:
    """What the plan must go around (fixed), and the previous sessions it may move.

    Fixed: past and pinned sessions, the user's own strength events, and frozen sessions.
    Also sets `f.fixed` and each week's count of fixed sessions.
    """
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
    freeze_until = f.now_ts + int(f.rules.freeze_hours * 3600)
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
    return fixed, movable


def _sessions(
    f: _Facts,
    infos: list[_DayInfo],
    fixed: list[_Fixed],
    movable: Sequence[PriorSession],
    chosen: list[_Cand],
    skipped_keys: set[str],
) -> list[Session]:
    """The plan's sessions in time order: fixed ones first, then the chosen ones with their keys."""
    sessions: list[Session] = []
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
    return sessions


def _dedupe(previous: Sequence[PriorSession]) -> list[PriorSession]:
    by_key: dict[str, PriorSession] = {}
    for p in sorted(previous, key=lambda p: (_ts(p.start), p.key, p.pinned)):
        by_key[p.key] = p
    return sorted(by_key.values(), key=lambda p: (_ts(p.start), p.key))


def _set_fixed(f: _Facts, fixed: list[_Fixed]) -> None:
    fixed.sort(key=lambda x: (x.ts, x.label))
    f.fixed = list(fixed)
    f.fixed_ts = [x.ts for x in fixed]


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
    # Over 80 lines on purpose (tests/test_module_sizes.py): one pass reads and extends
    # the prefix tables (g_*, day_*) together; split up, they would travel as seven
    # arguments and the invariant between them would be harder to see.
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
