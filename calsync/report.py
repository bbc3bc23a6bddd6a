"""Plans and verdicts as JSON-ready values and as text a person reads.

Pure formatting: values in, strings and dicts out. `cli.py` prints what these return.
The JSON shapes are documented in the README ("JSON output"); change both together.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from calsync import workouts
from calsync.model import DayPlan, Event, Interval, Plan, Session, Verdict, WeekSummary

JSON_VERSION = 1


def _iso(dt: datetime, zone: ZoneInfo) -> str:
    return dt.astimezone(zone).isoformat(timespec="seconds")


def session_json(s: Session, zone: ZoneInfo) -> dict[str, Any]:
    return {
        "key": s.key,
        "start": _iso(s.start, zone),
        "end": _iso(s.end, zone),
        "title": s.title,
        "phase": s.phase.value,
        "reason": s.reason,
        "rules": list(s.rules),
        "pinned": s.pinned,
        "past": s.past,
        "workout": workouts.workout_to_json(s.workout) if s.workout else None,
    }


def day_json(
    d: DayPlan,
    zone: ZoneInfo,
    busy: Sequence[Interval] = (),
    own_strength: Sequence[Interval] = (),
) -> dict[str, Any]:
    return {
        "date": d.day.isoformat(),
        "weekday": d.day.strftime("%A"),
        "kind": d.kind.value,
        "runs": [
            {
                "summary": r.summary,
                "start": _iso(r.start, zone),
                "end": _iso(r.end, zone),
                "intensity": r.intensity.value,
                "reason": r.reason,
                "all_day": r.all_day,
            }
            for r in d.runs
        ],
        "sessions": list(d.sessions),
        "blocked": list(d.blocked),
        "note": d.note,
        "busy": [_interval_json(b, zone, "label") for b in busy],
        "own_strength": [_interval_json(b, zone, "title") for b in own_strength],
    }


def _interval_json(iv: Interval, zone: ZoneInfo, name: str) -> dict[str, Any]:
    return {"start": _iso(iv.start, zone), "end": _iso(iv.end, zone), name: iv.label}


def _by_day(
    intervals: Sequence[Interval], days: Sequence[date], zone: ZoneInfo
) -> dict[date, list[Interval]]:
    """Each interval under every local day of `days` it overlaps (in start order)."""
    wanted = set(days)
    out: dict[date, list[Interval]] = {d: [] for d in days}
    if not wanted:
        return out
    first, last = min(wanted), max(wanted)
    for iv in sorted(intervals, key=lambda b: (b.start, b.end, b.label)):
        d = max(iv.start.astimezone(zone).date(), first)
        # The end is exclusive: an interval ending at midnight does not touch the next day.
        end_day = (iv.end - timedelta(microseconds=1)).astimezone(zone).date()
        while d <= min(end_day, last):
            if d in wanted:
                out[d].append(iv)
            d += timedelta(days=1)
    return out


def week_json(w: WeekSummary) -> dict[str, Any]:
    return {
        "start": w.start.isoformat(),
        "phase": w.phase.value,
        "target": w.target,
        "placed": w.placed,
        "met": w.met,
        "why_not": w.why_not,
    }


def plan_json(
    plan: Plan,
    zone: ZoneInfo,
    *,
    busy: Sequence[Interval] = (),
    own_strength: Sequence[Interval] = (),
) -> dict[str, Any]:
    """The plan for programs (and the week-view page, which is rendered from this).

    `busy` and `own_strength` are the planner's inputs (sync.Inputs): each day lists the
    busy time and the user's own strength sessions that touch it.
    """
    days = [d.day for d in plan.days]
    busy_by_day = _by_day(busy, days, zone)
    strength_by_day = _by_day(own_strength, days, zone)
    return {
        "version": JSON_VERSION,
        "now": _iso(plan.now, zone),
        "timezone": str(zone.key),
        "sessions": [session_json(s, zone) for s in plan.sessions],
        "days": [day_json(d, zone, busy_by_day[d.day], strength_by_day[d.day]) for d in plan.days],
        "weeks": [week_json(w) for w in plan.weeks],
        "notes": list(plan.notes),
    }


def verdict_json(ev: Event, v: Verdict, zone: ZoneInfo) -> dict[str, Any]:
    return {
        "uid": ev.uid,
        "summary": ev.summary,
        "start": ev.start.astimezone(zone).date().isoformat()
        if ev.all_day
        else _iso(ev.start, zone),
        "end": ev.end.astimezone(zone).date().isoformat() if ev.all_day else _iso(ev.end, zone),
        "all_day": ev.all_day,
        "is_run": v.is_run,
        "intensity": v.intensity.value if v.intensity else None,
        "strength": v.strength,
        "minutes": v.minutes,
        "reason": v.reason,
        "source": ev.source,
    }


# --------------------------------------------------------------------------- text


def _clip(s: str, n: int) -> str:
    s = " ".join(s.split())
    return s if len(s) <= n else s[: n - 1] + "…"


def _hm(dt: datetime, zone: ZoneInfo) -> str:
    return dt.astimezone(zone).strftime("%H:%M")


def plan_text(plan: Plan, zone: ZoneInfo, *, explain: bool = False) -> str:
    """Week by week, a row a day: the runs, then the session or why there is none."""
    sessions = {s.key: s for s in plan.sessions}
    lines: list[str] = []
    for note in plan.notes:
        lines.append(f"note: {note}")
    days_by_week: dict[Any, list[DayPlan]] = {}
    weeks = sorted(plan.weeks, key=lambda w: w.start)
    for d in plan.days:
        owner = max((w for w in weeks if w.start <= d.day), key=lambda w: w.start, default=None)
        days_by_week.setdefault(owner.start if owner else d.day, []).append(d)
    for w in weeks:
        days = days_by_week.get(w.start, [])
        if not days:
            continue
        status = "target met" if w.met else f"target NOT met: {w.why_not}"
        lines.append("")
        lines.append(
            f"Week of {w.start:%a %d %b %Y} · {w.phase.value} · "
            f"{w.placed}/{w.target} sessions · {status}"
        )
        for d in days:
            lines.extend(_day_lines(d, sessions, zone, explain))
    if not plan.sessions:
        lines.append("")
        lines.append("No strength sessions placed in the horizon.")
    return "\n".join(lines).lstrip("\n") + "\n"


def _day_lines(
    d: DayPlan, sessions: dict[str, Session], zone: ZoneInfo, explain: bool
) -> list[str]:
    head = f"  {d.day:%a %d}  {d.kind.value:<4}  "
    runs = "; ".join(f"{_clip(r.summary, 34)} ({r.intensity.value})" for r in d.runs) or "no run"
    ss = [sessions[k] for k in d.sessions if k in sessions]
    if ss:
        what = "; ".join(
            f"{s.title} {_hm(s.start, zone)}–{_hm(s.end, zone)}"
            + (" [pinned]" if s.pinned else "")
            + (" [done]" if s.past else "")
            for s in ss
        )
        right = f"→ {what}"
    else:
        right = f"· {d.blocked[0]}" if d.blocked else ("· " + d.note if d.note else "·")
    lines = [f"{head}{runs:<48} {right}"]
    if explain:
        pad = " " * 6
        for r in d.runs:
            lines.append(f"{pad}run {_hm(r.start, zone)} {_clip(r.summary, 40)}: {r.reason}")
        for s in ss:
            lines.append(f"{pad}session: {s.reason}")
            for rule in s.rules:
                lines.append(f"{pad}  ✓ {rule}")
        if not ss:
            for b in d.blocked:
                lines.append(f"{pad}  ✗ {b}")
        if d.note and ss:
            lines.append(f"{pad}{d.note}")
    return lines


def verdicts_text(items: Iterable[tuple[Event, Verdict]], zone: ZoneInfo) -> str:
    rows = []
    for ev, v in items:
        when = (
            ev.start.astimezone(zone).strftime("%a %Y-%m-%d")
            if ev.all_day
            else ev.start.astimezone(zone).strftime("%a %Y-%m-%d %H:%M")
        )
        label = (
            v.intensity.value
            if v.is_run and v.intensity
            else ("strength" if v.strength else "not a run")
        )
        rows.append(f"{when:<20} {label:<9} {_clip(ev.summary, 40):<40}  {v.reason}")
    return "\n".join(rows) + ("\n" if rows else "")


def sync_summary(reports: Sequence[Any], dry_run: bool) -> str:
    verb = "would be" if dry_run else ""
    lines = []
    for r in reports:
        parts = [
            f"{len(r.created)} created",
            f"{len(r.updated)} moved/updated",
            f"{len(r.deleted)} removed",
            f"{len(r.unchanged)} unchanged",
        ]
        prefix = f"{r.name}: " + (f"({verb}) " if dry_run else "")
        lines.append(prefix + ", ".join(parts))
        for k in r.created:
            lines.append(f"  + {k}")
        for k in r.updated:
            lines.append(f"  ~ {k}")
        for k in r.deleted:
            lines.append(f"  - {k}")
    return "\n".join(lines) + "\n"
