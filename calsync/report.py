"""Plans and verdicts as JSON-ready values and as text a person reads.

Pure formatting: values in, strings and dicts out. `cli.py` prints what these return.
The JSON shapes are documented in the README ("JSON output"); change both together.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from calsync import term, workouts
from calsync.model import (
    Action,
    DayPlan,
    Event,
    Interval,
    ManagedEvent,
    Plan,
    Session,
    Verdict,
    WeekSummary,
)

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
    return term.elide(s, n)


def _hm(dt: datetime, zone: ZoneInfo) -> str:
    return dt.astimezone(zone).strftime("%H:%M")


@dataclass(frozen=True, slots=True)
class PlanView:
    """How `plan_text` lays the plan out, and the inputs it mentions besides the plan.

    `width`: display columns to fit (None: no limit, e.g. a pipe); `color`: SGR colours;
    `week`: only the week holding this day; `own`: the user's own strength sessions;
    `busy`: busy time, to name the event that shaped a session's time.
    """

    width: int | None = None
    color: bool = False
    week: date | None = None
    own: Sequence[Interval] = ()
    busy: Sequence[Interval] = ()


# A busy event that ends this close before a session (or starts this close after it)
# is what put the session where it is: the buffer (15 min) plus the 15-minute grid.
_SHAPED = timedelta(minutes=30)

_KIND_STYLE = {"race": "magenta", "hard": "red", "easy": "green", "rest": "dim"}

# "  Tue 01  hard  ": the day and its kind, before the runs column.
_LEFT = 16
_GAP = 2


def plan_text(
    plan: Plan, zone: ZoneInfo, *, explain: bool = False, view: PlanView | None = None
) -> str:
    """Week by week, a row a day: the runs with their start times, then the session
    placed (and the busy event that shaped its time) or the rule that decided the day
    stayed empty. Fits `view.width` display columns."""
    view = view or PlanView()
    paint = term.Paint(view.color)
    sessions = {s.key: s for s in plan.sessions}
    lines: list[str] = []
    for note in plan.notes:
        lines.extend(term.wrap(f"note: {note}", view.width, "      "))
    weeks = sorted(plan.weeks, key=lambda w: w.start)
    days_by_week: dict[date, list[DayPlan]] = {}
    for d in plan.days:
        owner = max((w for w in weeks if w.start <= d.day), key=lambda w: w.start, default=None)
        days_by_week.setdefault(owner.start if owner else d.day, []).append(d)
    if view.week is not None:
        weeks = [w for w in weeks if w.start <= view.week < w.start + timedelta(days=7)]
    own_by_day: dict[date, list[Interval]] = {}
    for o in view.own:
        own_by_day.setdefault(o.start.astimezone(zone).date(), []).append(o)
    shown = [d for w in weeks for d in days_by_week.get(w.start, [])]
    run_w = _runs_width(shown, own_by_day, zone, view.width)
    for w in weeks:
        days = days_by_week.get(w.start, [])
        if not days:
            continue
        in_week = [s for s in plan.sessions if _week_of(s.key) == w.start]
        lines.append("")
        header = f"Week of {w.start:%a %d %b %Y} · {w.phase.value} · {_week_status(w, in_week)}"
        lines.extend(paint("bold", ln) for ln in term.wrap(header, view.width, "  "))
        own_only = w.met and not in_week and w.placed > 0
        for d in days:
            lines.extend(
                _day_lines(d, sessions, zone, explain, view, paint, run_w, own_by_day, own_only)
            )
    if not plan.sessions:
        lines.append("")
        lines.append("No strength sessions placed in the horizon.")
    return "\n".join(lines).lstrip("\n") + "\n"


def _week_of(key: str) -> date | None:
    try:
        return date.fromisoformat(key.partition("/")[0])
    except ValueError:
        return None


def _week_status(w: WeekSummary, in_week: Sequence[Session]) -> str:
    """The week's count as the rows below show it: planned sessions and the user's own."""
    planned = len(in_week)
    own = max(0, w.placed - planned)
    done = sum(1 for s in in_week if s.past)
    if own and planned:
        count = f"{planned} planned + {own} of your own, target {w.target}"
    else:
        count = f"{w.placed} of {w.target} sessions"
    if done:
        count += f" ({done} already done)"
    if w.met:
        if own and not planned:
            return f"target {w.target} met by your own gym sessions ({own})"
        return f"{count} · target met"
    return f"{count} · target NOT met: {w.why_not}"


def _run_cells(d: DayPlan, own: Sequence[Interval], zone: ZoneInfo) -> list[tuple[str, str, str]]:
    """(time, title, suffix) per run, then the user's own strength sessions.

    The intensity is said once, in the day's kind, unless a run differs from it."""
    cells = [
        (
            "–" if r.all_day else _hm(r.start, zone),
            r.summary,
            "" if r.intensity.value == d.kind.value else f" ({r.intensity.value})",
        )
        for r in d.runs
    ]
    cells += [(_hm(o.start, zone), o.label, " (your own)") for o in own]
    return cells


def _runs_width(
    days: Sequence[DayPlan],
    own_by_day: dict[date, list[Interval]],
    zone: ZoneInfo,
    cols: int | None,
) -> int:
    natural = 6
    for d in days:
        for t, title, suffix in _run_cells(d, own_by_day.get(d.day, []), zone):
            natural = max(natural, term.width(f"{t:<6}{title}{suffix}"))
    if cols is None:
        return natural
    # The runs get at most 45% of what is left of the line; the session or reason the rest.
    return max(20, min(natural, int((cols - _LEFT - _GAP) * 0.45)))


def _right_cells(
    d: DayPlan,
    ss: Sequence[Session],
    zone: ZoneInfo,
    busy: Sequence[Interval],
    own_only: bool,
) -> list[tuple[str, str]]:
    """(style, text) for the right column: the sessions placed, or why there is none."""
    if ss:
        out = []
        for s in ss:
            text = f"→ {s.title} {_hm(s.start, zone)}–{_hm(s.end, zone)}"
            text += " [pinned]" if s.pinned else ""
            text += " [done]" if s.past else ""
            shaped = _shaped_by(s, busy, zone)
            out.append(("bold_cyan", text + (f" ({shaped})" if shaped else "")))
        return out
    return [("dim", "· " + deciding_reason(d, own_only=own_only))]


def deciding_reason(d: DayPlan, *, own_only: bool = False) -> str:
    """The one rule that decided an empty day stays empty.

    The planner lists every rule that closes the day, the decisive one first, and a rule
    of the day itself (a race, an easy day outside base phase) alone. When the week
    already holds its target, that decided, whatever else also blocks a slot: no session
    would be placed here anyway ("H2: not before 21:45" on a day of a week the runner's
    own gym sessions filled misleads).
    """
    full = next((b for b in d.blocked if b.startswith("H5:") and "reached" in b), None)
    if full is not None:
        if own_only:
            return "week target met by your own gym sessions"
        return full
    if d.blocked:
        return d.blocked[0]
    return d.note


def _shaped_by(s: Session, busy: Sequence[Interval], zone: ZoneInfo) -> str:
    """The busy event right before or after a session: what put it at that time."""
    if s.pinned or s.past:
        return ""
    before = [b for b in busy if b.end <= s.start and s.start - b.end <= _SHAPED]
    if before:
        b = max(before, key=lambda b: b.end)
        return f"after {_clip(b.label, 30)!r} until {_hm(b.end, zone)}"
    after = [b for b in busy if b.start >= s.end and b.start - s.end <= _SHAPED]
    if after:
        b = min(after, key=lambda b: b.start)
        return f"before {_clip(b.label, 30)!r} at {_hm(b.start, zone)}"
    return ""


def _day_lines(
    d: DayPlan,
    sessions: dict[str, Session],
    zone: ZoneInfo,
    explain: bool,
    view: PlanView,
    paint: term.Paint,
    run_w: int,
    own_by_day: dict[date, list[Interval]],
    own_only: bool,
) -> list[str]:
    kind = d.kind.value
    head = f"  {d.day:%a %d}  " + paint(_KIND_STYLE.get(kind, ""), f"{kind:<4}") + "  "
    blank = " " * _LEFT
    left: list[str] = []
    for t, title, suffix in _run_cells(d, own_by_day.get(d.day, []), zone):
        room = run_w - 6 - term.width(suffix)
        left.append(term.pad(f"{t:<6}{_clip(title, max(4, room))}{suffix}", run_w))
    if not left:
        left = [term.pad("no run", run_w)]
    ss = [sessions[k] for k in d.sessions if k in sessions]
    right_w = None if view.width is None else max(12, view.width - _LEFT - run_w - _GAP)
    right: list[str] = []
    for style, text in _right_cells(d, ss, zone, view.busy, own_only):
        right.extend(paint(style, ln) for ln in term.wrap(text, right_w, "  "))
    lines = []
    for i in range(max(len(left), len(right))):
        lcell = left[i] if i < len(left) else " " * run_w
        rcell = right[i] if i < len(right) else ""
        lines.append(((head if i == 0 else blank) + lcell + " " * _GAP + rcell).rstrip())
    if explain:
        lines.extend(_explain_lines(d, ss, zone, view.width, paint))
    return lines


def _explain_lines(
    d: DayPlan, ss: Sequence[Session], zone: ZoneInfo, cols: int | None, paint: term.Paint
) -> list[str]:
    """Every rule, as before, each wrapped under its own indent."""
    pad = " " * 6
    out: list[tuple[str, str, str]] = []  # (indent, text, style)
    for r in d.runs:
        out.append((pad, f"run {_hm(r.start, zone)} {r.summary}: {r.reason}", ""))
    for s in ss:
        out.append((pad, f"session: {s.reason}", ""))
        for rule in s.rules:
            out.append((pad + "  ", f"✓ {rule}", "green"))
    if not ss:
        for b in d.blocked:
            out.append((pad + "  ", f"✗ {b}", "red"))
    if d.note and ss:
        out.append((pad, d.note, ""))
    lines: list[str] = []
    for indent, text, style in out:
        avail = None if cols is None else max(20, cols - len(indent))
        for ln in term.wrap(text, avail, "  "):
            lines.append(indent + paint(style, ln))
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
        rows.append(f"{when:<20} {label:<9} {term.pad(_clip(ev.summary, 40), 40)}  {v.reason}")
    return "\n".join(rows) + ("\n" if rows else "")


@dataclass(frozen=True, slots=True)
class Change:
    """One session a sync created, moved or updated, or removed, as a person reads it."""

    kind: str  # "create" | "update" | "delete"
    key: str
    title: str
    start: datetime | None  # the session's time now (None: removed)
    end: datetime | None
    old_start: datetime | None  # where it was (None: new)
    old_end: datetime | None
    reason: str


def sync_changes(
    report: Any,
    actions: Sequence[Action],
    before: Mapping[str, ManagedEvent],
    old_titles: Mapping[str, str],
) -> list[Change]:
    """What a sink did, in time order: its report's keys, with the actions' sessions and
    reasons and the times the sink held before."""
    by_key = {a.key: a for a in actions}
    out: list[Change] = []
    for kind, keys in (("create", report.created), ("update", report.updated),
                       ("delete", report.deleted)):  # fmt: skip
        for key in keys:
            a = by_key.get(key)
            s = a.session if a is not None else None
            old = before.get(key) if kind != "create" else None
            title = s.title if s is not None else old_titles.get(key, "Strength session")
            out.append(
                Change(
                    kind=kind,
                    key=key,
                    title=title,
                    start=s.start if s is not None else None,
                    end=s.end if s is not None else None,
                    old_start=old.start if old is not None else None,
                    old_end=old.end if old is not None else None,
                    reason=a.reason if a is not None else "",
                )
            )
    out.sort(key=lambda c: (c.start or c.old_start or datetime.min.replace(tzinfo=UTC), c.key))
    return out


def _day_hm(dt: datetime, zone: ZoneInfo) -> str:
    return dt.astimezone(zone).strftime("%a %d %b %H:%M")


def _span(start: datetime, end: datetime, zone: ZoneInfo) -> str:
    """ "Tue 01 Dec 18:45–19:30" (the end's day too when it is another)."""
    a, b = start.astimezone(zone), end.astimezone(zone)
    last = b.strftime("%H:%M") if a.date() == b.date() else _day_hm(b, zone)
    return f"{_day_hm(a, zone)}–{last}"


def change_line(c: Change, zone: ZoneInfo) -> str:
    """ "+ Tue 01 Dec 18:45–19:30  Strength A", "~ Strength B: Thu 03 Dec 19:15 → Fri 04
    Dec 18:00 (moved)", "- Thu 10 Dec 19:15–20:00  Strength B (no longer in the plan)"."""
    why = f" ({c.reason})" if c.reason else ""
    if c.kind == "create" and c.start is not None and c.end is not None:
        return f"+ {_span(c.start, c.end, zone)}  {c.title}"
    if c.kind == "delete" and c.old_start is not None and c.old_end is not None:
        return f"- {_span(c.old_start, c.old_end, zone)}  {c.title}{why}"
    if c.start is not None and c.end is not None:
        if c.old_start is not None and c.old_start != c.start:
            return f"~ {c.title}: {_day_hm(c.old_start, zone)} → {_day_hm(c.start, zone)}{why}"
        return f"~ {c.title}: {_span(c.start, c.end, zone)}{why}"
    return f"{ {'create': '+', 'update': '~', 'delete': '-'}[c.kind] } {c.key}{why}"


def summary_line(report: Any, dry_run: bool) -> str:
    """The line CI and people grep: "ics: 0 created, 0 moved/updated, 0 removed, 8 unchanged"."""
    parts = [
        f"{len(report.created)} created",
        f"{len(report.updated)} moved/updated",
        f"{len(report.deleted)} removed",
        f"{len(report.unchanged)} unchanged",
    ]
    return f"{report.name}: " + ("(would be) " if dry_run else "") + ", ".join(parts)


def sync_text(
    reports: Sequence[Any],
    changes: Sequence[Sequence[Change]],
    zone: ZoneInfo,
    *,
    dry_run: bool,
    color: bool = False,
) -> str:
    """Per sink: its summary line, then one line per session it changed."""
    paint = term.Paint(color)
    style = {"create": "green", "update": "yellow", "delete": "red"}
    lines = []
    for r, cs in zip(reports, changes, strict=True):
        lines.append(summary_line(r, dry_run))
        for c in cs:
            lines.append("  " + paint(style[c.kind], change_line(c, zone)))
    return "\n".join(lines) + "\n"


def sync_json(
    reports: Sequence[Any],
    changes: Sequence[Sequence[Change]],
    zone: ZoneInfo,
    *,
    dry_run: bool,
    output: str | None,
    written: bool,
) -> dict[str, Any]:
    def t(dt: datetime | None) -> str | None:
        return _iso(dt, zone) if dt is not None else None

    return {
        "version": JSON_VERSION,
        "dry_run": dry_run,
        "sinks": [
            {
                "name": r.name,
                "created": len(r.created),
                "updated": len(r.updated),
                "deleted": len(r.deleted),
                "unchanged": len(r.unchanged),
                "changes": [
                    {
                        "action": c.kind,
                        "key": c.key,
                        "title": c.title,
                        "start": t(c.start),
                        "end": t(c.end),
                        "old_start": t(c.old_start),
                        "old_end": t(c.old_end),
                        "reason": c.reason,
                    }
                    for c in cs
                ],
            }
            for r, cs in zip(reports, changes, strict=True)
        ],
        "output": {"path": output, "written": written} if output is not None else None,
    }
