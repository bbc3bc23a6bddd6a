"""The week view: the plan as one self-contained HTML page a person would rather look at.

Pure: `render_page` takes the plan as `report.plan_json` gives it (the `plan --json`
schema, which is also what the sync stores for the feed server), the time to mark
"today" by, the last sync's record and, on the server's token page only, the feed URLs.
It returns the page; it reads no clock, file or network (the template and its CSS are
package data, read once).

The page needs no script. Its CSS is inline and allowed by its SHA-256 hash in the
Content-Security-Policy (the page's own <meta> tag, and the header the server sends),
so nothing else can run or load: every title and description comes from a calendar
someone else may control, and Jinja2's autoescaping turns them into text.

How the JSON becomes the page: one section per week of `weeks` (Monday..Sunday, or the
configured first day), a cell per day. Days of the plan (`days`) carry their runs, busy
time, the user's own strength sessions and the reasons; a day of a shown week the plan
does not hold (before "now" in the first week, past the horizon in the last) shows only
its sessions. Sessions before the first shown week (history) are listed under "Earlier".
Every session of `sessions` appears exactly once.
"""

from __future__ import annotations

import base64
import functools
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from importlib import resources
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    import jinja2

    from calsync.feed_urls import FeedUrls
    from calsync.state import SyncRecord

# The feed document the sync stores the plan JSON under, for `calsync serve`.
PLAN_DOC = "plan.json"

_TEMPLATE = "week.html.j2"
_CSS = "week.css"

# English names, looked up rather than strftime'd: strftime asks the C library for the
# locale and time zone on every call, which made it most of the page's rendering time.
DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
MONTH_NAMES = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

KIND_WORDS = {"hard": "hard day", "easy": "easy day", "race": "race day", "rest": "rest day"}
PHASE_WORDS = {"base": "base", "build": "build", "taper": "taper", "race": "race"}


# --------------------------------------------------------------------------- the view


@dataclass(frozen=True, slots=True)
class Item:
    """One thing in a day's cell, in time order: a run, busy time, own strength, a session."""

    kind: str  # "run" | "busy" | "own" | "session"
    sort: tuple[int, str]
    when: str  # "06:30–07:30", "all day", "…–09:00"
    title: str = ""
    intensity: str = ""  # runs: hard | easy | race
    unsure: bool = False  # runs: a low-confidence verdict
    reason: str = ""
    session: SessionView | None = None

    @property
    def css(self) -> str:
        if self.kind == "run":
            return f"item run int-{self.intensity}" + (" unsure" if self.unsure else "")
        return f"item {self.kind}"


@dataclass(frozen=True, slots=True)
class Exercise:
    name: str
    dose: str  # "3 × 6"
    load: str
    rest: str


@dataclass(frozen=True, slots=True)
class SessionView:
    key: str
    start_iso: str
    day: date
    day_label: str
    when: str
    title: str
    template: str  # "A" | "B" | ""
    phase: str
    reason: str
    rules: tuple[str, ...]
    pinned: bool
    past: bool
    minutes: int | None
    warmup: str
    exercises: tuple[Exercise, ...]
    notes: tuple[str, ...]


@dataclass(slots=True)
class DayView:
    day: date
    in_plan: bool
    kind: str
    today: bool
    past: bool
    items: list[Item] = field(default_factory=list)
    sessions: list[SessionView] = field(default_factory=list)
    blocked: tuple[str, ...] = ()
    note: str = ""
    run_reasons: tuple[tuple[str, str, str], ...] = ()  # (title, intensity, why)

    @property
    def label(self) -> str:
        return _day_label(self.day)

    @property
    def css(self) -> str:
        """The cell's classes: one attribute value instead of four template conditionals."""
        out = f"day kind-{self.kind or 'none'}"
        if self.today:
            out += " today"
        if self.past:
            out += " past"
        if not self.in_plan:
            out += " outside"
        return out

    @property
    def kind_word(self) -> str:
        return KIND_WORDS.get(self.kind, self.kind)


@dataclass(frozen=True, slots=True)
class WeekView:
    start: date
    iso_week: int
    span: str
    phase: str
    target: int
    placed: int
    met: bool
    why_not: str
    days: tuple[DayView, ...]


@dataclass(frozen=True, slots=True)
class SyncView:
    when: str
    ok: bool
    created: int
    updated: int
    deleted: int


# --------------------------------------------------------------------------- rendering


def render_page(
    plan: Mapping[str, Any],
    *,
    now: datetime,
    last_sync: SyncRecord | None = None,
    subscribe: FeedUrls | None = None,
) -> str:
    """The week view of `plan` (the `plan --json` object) as a complete HTML document."""
    zone = ZoneInfo(str(plan["timezone"]))
    local_now = now.astimezone(zone)
    weeks, earlier = _weeks(plan, local_now)
    planned_at = datetime.fromisoformat(str(plan["now"])).astimezone(zone)
    sync = None
    if last_sync is not None:
        sync = SyncView(
            _when(last_sync.at.astimezone(zone)),
            last_sync.ok,
            last_sync.created,
            last_sync.updated,
            last_sync.deleted,
        )
    return _template().render(
        css=_css_markup(),
        csp=meta_csp(),
        zone=str(zone.key),
        planned_at=_when(planned_at),
        today=local_now.date(),
        sync=sync,
        weeks=weeks,
        earlier=earlier,
        notes=[str(n) for n in plan.get("notes", ())],
        session_count=len(plan.get("sessions", ())),
        subscribe=subscribe,
    )


def content_security_policy() -> str:
    """The header the server sends with the page: nothing loads, only our own CSS applies."""
    return meta_csp() + "; frame-ancestors 'none'"


def meta_csp() -> str:
    """The policy the page carries itself (a <meta> tag cannot hold frame-ancestors)."""
    return (
        f"default-src 'none'; style-src 'sha256-{_css_hash()}'; img-src 'none'; "
        "base-uri 'none'; form-action 'none'"
    )


def _when(dt: datetime) -> str:
    return f"{_day_label(dt.date())} {dt.year}, {_hm(dt)}"


def _day_label(d: date) -> str:
    """ "Tue 1 Dec" """
    return f"{DAY_NAMES[d.weekday()]} {d.day} {MONTH_NAMES[d.month - 1]}"


def _hm(dt: datetime) -> str:
    return f"{dt.hour:02d}:{dt.minute:02d}"


def _weeks(plan: Mapping[str, Any], now: datetime) -> tuple[list[WeekView], list[SessionView]]:
    today = now.date()
    days_data = {date.fromisoformat(d["date"]): d for d in plan.get("days", ())}
    sessions = [_session(s, now) for s in plan.get("sessions", ())]
    by_day: dict[date, list[SessionView]] = {}
    for s in sessions:
        by_day.setdefault(s.day, []).append(s)

    weeks: list[WeekView] = []
    shown: set[date] = set()
    for w in sorted(plan.get("weeks", ()), key=lambda w: str(w["start"])):
        start = date.fromisoformat(w["start"])
        cells = []
        for i in range(7):
            d = start + timedelta(days=i)
            if d in shown:
                continue  # weeks never overlap; a malformed plan must not show a day twice
            shown.add(d)
            cells.append(_day(d, days_data.get(d), by_day.get(d, []), today))
        end = start + timedelta(days=6)
        span = (
            f"{start.day} {MONTH_NAMES[start.month - 1]} – {end.day} {MONTH_NAMES[end.month - 1]}"
            f" {end.year}"
            if (start.month, start.year) != (end.month, end.year)
            else f"{start.day}–{end.day} {MONTH_NAMES[end.month - 1]} {end.year}"
        )
        weeks.append(
            WeekView(
                start=start,
                iso_week=start.isocalendar().week,
                span=span,
                phase=str(w["phase"]),
                target=int(w["target"]),
                placed=int(w["placed"]),
                met=bool(w["met"]),
                why_not=str(w.get("why_not", "")),
                days=tuple(cells),
            )
        )
    earlier = sorted((s for s in sessions if s.day not in shown), key=lambda s: s.start_iso)
    return weeks, earlier


def _day(
    d: date, data: Mapping[str, Any] | None, sessions: Sequence[SessionView], today: date
) -> DayView:
    view = DayView(
        day=d,
        in_plan=data is not None,
        kind=str(data["kind"]) if data is not None else "",
        today=d == today,
        past=d < today,
    )
    items: list[Item] = []
    if data is not None:
        view.blocked = tuple(str(b) for b in data.get("blocked", ()))
        view.note = str(data.get("note", ""))
        reasons = []
        for r in data.get("runs", ()):
            start, end = _dt(r["start"]), _dt(r["end"])
            all_day = bool(r.get("all_day"))
            intensity = str(r["intensity"])
            items.append(
                Item(
                    kind="run",
                    sort=_sort(start, d, all_day),
                    when="all day" if all_day else _span(start, end, d),
                    title=str(r["summary"]),
                    intensity=intensity,
                    unsure=str(r.get("confidence", "high")) == "low",
                    reason=str(r.get("reason", "")),
                )
            )
            reasons.append((str(r["summary"]), intensity, str(r.get("reason", ""))))
        view.run_reasons = tuple(reasons)
        for b in data.get("busy", ()):
            start, end = _dt(b["start"]), _dt(b["end"])
            label = str(b.get("label", ""))
            shown = f"busy: {label}" if label and label.lower() != "busy" else "busy"
            items.append(Item("busy", _sort(start, d), _span(start, end, d), title=shown))
        for b in data.get("own_strength", ()):
            start, end = _dt(b["start"]), _dt(b["end"])
            items.append(
                Item("own", _sort(start, d), _span(start, end, d), title=str(b.get("title", "")))
            )
    for s in sessions:
        start = datetime.fromisoformat(s.start_iso)
        items.append(Item("session", _sort(start, d), s.when, title=s.title, session=s))
    view.sessions = list(sessions)
    view.items = sorted(items, key=lambda i: i.sort)
    return view


def _session(s: Mapping[str, Any], now: datetime) -> SessionView:
    start, end = _dt(s["start"]), _dt(s["end"])
    w = s.get("workout") or {}
    exercises = tuple(
        Exercise(
            name=str(e["name"]),
            dose=f"{e['sets']} × {e['reps']}",
            load=str(e.get("load", "")),
            rest=_rest(int(e.get("rest_seconds", 0))),
        )
        for e in w.get("exercises", ())
    )
    return SessionView(
        key=str(s["key"]),
        start_iso=str(s["start"]),
        day=start.date(),
        day_label=_day_label(start.date()),
        when=_span(start, end, start.date()),
        title=str(s["title"]),
        template=str(w.get("template", "")),
        phase=str(s["phase"]),
        reason=str(s.get("reason", "")),
        rules=tuple(str(r) for r in s.get("rules", ())),
        pinned=bool(s.get("pinned")),
        past=bool(s.get("past")) or end <= now,
        minutes=int(w["minutes"]) if "minutes" in w else None,
        warmup=str(w.get("warmup", "")),
        exercises=exercises,
        notes=tuple(str(n) for n in w.get("notes", ())),
    )


def _dt(value: object) -> datetime:
    # The JSON's times carry the plan zone's offset, so .date() and the hour are local.
    return datetime.fromisoformat(str(value))


def _sort(start: datetime, day: date, all_day: bool = False) -> tuple[int, str]:
    if all_day or start.date() < day:
        return (0, "")
    return (1, _hm(start))


def _span(start: datetime, end: datetime, day: date) -> str:
    """The times of an interval as seen on `day` ("…" where it runs over midnight)."""
    next_day = day + timedelta(days=1)
    starts_before = start.date() < day
    ends_after = end.date() > next_day or (end.date() == next_day and not _midnight(end))
    from_midnight = starts_before or (start.date() == day and _midnight(start))
    to_midnight = ends_after or (end.date() == next_day and _midnight(end))
    if from_midnight and to_midnight:
        return "all day"
    a = "…" if starts_before else _hm(start)
    b = "…" if ends_after else ("24:00" if to_midnight else _hm(end))
    return f"{a}–{b}"


def _midnight(dt: datetime) -> bool:
    return (dt.hour, dt.minute, dt.second) == (0, 0, 0)


def _rest(seconds: int) -> str:
    if seconds <= 0:
        return ""
    if seconds % 60 == 0:
        return f"rest {seconds // 60} min"
    if seconds > 60:
        return f"rest {seconds // 60} min {seconds % 60} s"
    return f"rest {seconds} s"


# --------------------------------------------------------------------------- the template


@functools.cache
def _css_text() -> str:
    return resources.files("calsync").joinpath("templates", _CSS).read_text(encoding="utf-8")


@functools.cache
def _css_hash() -> str:
    return base64.b64encode(hashlib.sha256(_css_text().encode("utf-8")).digest()).decode()


def _css_markup() -> object:
    from markupsafe import Markup

    # Our own file, not user input: it goes in verbatim (escaping would change its hash).
    return Markup(_css_text())


@functools.cache
def _template() -> jinja2.Template:
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("calsync", "templates"),
        autoescape=True,  # every title and reason comes from someone else's calendar
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return env.get_template(_TEMPLATE)
