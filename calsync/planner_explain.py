"""The planner's explanations: why each session sits where it does, why each day is empty.

Every session gets its reason (the text of the event) and the rules it meets; every
day of the horizon says what kept it empty, decisive rule first: rules that close the
whole day on their own (phrased from the slot that came closest), then rules that close
it together, then the week's cap (H5) and the other sessions (H4); every week whose
target is not met says why. The words come from `_Facts.code_message` (planner_facts),
made only for the messages shown. Pure: no clock, no I/O.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from datetime import date, timedelta

from calsync.model import DayKind, DayPlan, PriorSession, RunInfo, Session, WeekSummary
from calsync.planner_facts import (
    DAY_NAMES,
    GRID_MINUTES,
    TITLE,
    _Cand,
    _clip,
    _DayInfo,
    _Facts,
    _Fixed,
    _grid,
    _hours,
    _minutes,
    _num,
    _session_label,
    _ts,
    _Week,
)


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
                        confidence=r.confidence,
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


def _plan_notes(f: _Facts, days: list[date], skipped: Sequence[PriorSession]) -> list[str]:
    """The plan's notes: no runs in the horizon, and each session the user deleted."""
    notes: list[str] = []
    horizon_runs = [r for r in f.runs if days[0] <= f.local_day(r.start) <= days[-1]]
    if not horizon_runs:
        notes.append(
            "no runs in the horizon: "
            + (
                "sessions are planned on rest days (plan_without_runs = true)"
                if f.rules.plan_without_runs
                else "nothing to plan around, no session placed "
                "(set rules.plan_without_runs = true to plan on rest days anyway)"
            )
        )
    for p in skipped:
        notes.append(
            f"you deleted {p.key} ({f.when(_ts(p.start))}): not replaced; "
            f"that week's target is lowered by one"
        )
    return notes


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
