"""ICS files and URLs -> `Event`s in the planning window.

Layers, each small:

    fetch (file | http(s) | webcal, cached validators)      -> bytes      (ics_fetch)
    pre-filter (regex over the text): skip VEVENTs that cannot reach the window (ics_text)
    split (lines): unfold, repair defects, VEVENT blocks     -> header + blocks (ics_text)
    parse (icalendar) -> drop broken events, naming UID and line
    x-wr-timezone -> recurring-ical-events over the window  -> occurrences
    occurrences -> Events (aware, in the configured zone), sorted

The pre-filter is why a calendar of years of runs costs little: only the few key lines of
each VEVENT are read, and only events near the window are ever parsed by icalendar. It
is conservative (it keeps anything recurring, with an alarm, with folded or doubled or
quoted time properties, every event whose UID appears twice, and whole files it finds
irregular), and a property test proves it yields exactly what the full parse yields.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import icalendar
import x_wr_timezone
from recurring_ical_events.adapters.event import EventAdapter
from recurring_ical_events.series import Series

from calsync.config import Config, SourceSettings
from calsync.errors import CalsyncError, EmptyCalendarError, SourceError
from calsync.model import Event, Role
from calsync.sources import ics_warnings
from calsync.sources.ics_fetch import fetch
from calsync.sources.ics_text import (
    _LINE_PROP,
    _Block,
    _logical_lines,
    _name,
    _near_window,
    _split,
    _text,
)
from calsync.sources.limits import DEFAULT_LIMITS, Budget, Interrupted, ParseLimits

if TYPE_CHECKING:
    from calsync.state import StateTx

log = logging.getLogger(__name__)
ics_warnings.install(log)  # the same logger as ics_text's and ics_fetch's


# Properties (besides X-*) kept in Event.extra for the classifier.
_EXTRA = frozenset({"LOCATION", "STATUS", "URL", "COMMENT", "CLASS", "PRIORITY"})

# Properties whose damage makes an event unusable: it is skipped, not guessed at.
_VITAL = frozenset({"DTSTART", "DTEND", "DURATION", "RRULE", "RDATE", "EXDATE", "RECURRENCE-ID"})


# --------------------------------------------------------------------------- source


class IcsSource:
    """An ICS calendar from a file path, file://, http(s):// or webcal:// URL."""

    def __init__(self, settings: SourceSettings, config: Config) -> None:
        self.settings = settings
        self.label: str = settings.label
        self.role: Role = settings.role
        self.zone = config.schedule.zone

    def read(self, window: tuple[datetime, datetime], tx: StateTx | None = None) -> list[Event]:
        data = fetch(self.settings, tx)
        try:
            return parse_ics(
                data,
                label=self.label,
                zone=self.zone,
                window=window,
                limits=self.settings.limits,
            )
        except EmptyCalendarError as e:
            if self.role is Role.RUNS:
                raise
            log.warning("%s (no busy time from it)", e)
            return []


# --------------------------------------------------------------------------- parse


def _calendar_text(header: Iterable[str], blocks: Iterable[_Block]) -> str:
    parts = ["BEGIN:VCALENDAR", *header]
    for b in blocks:
        parts.extend(b.lines)
        if not b.closed:
            parts.append("END:VEVENT")
    parts.append("END:VCALENDAR")
    return "\r\n".join(parts) + "\r\n"


def _parse(header: list[str], blocks: list[_Block], label: str) -> icalendar.Calendar:
    """One icalendar parse of header + blocks; blocks that break the parse are skipped."""
    for b in blocks:
        if b.problem is not None:
            log.warning("%s:%d: skipped event %s: %s", label, b.line, _uid_of(b), b.problem)
    blocks = [b for b in blocks if b.problem is None]
    try:
        return icalendar.Calendar.from_ical(_calendar_text(header, blocks))
    except Exception as e:  # noqa: BLE001 - any parser failure: find the culprit below
        log.debug("%s: whole-calendar parse failed (%s); parsing event by event", label, e)
    try:
        cal = icalendar.Calendar.from_ical(_calendar_text(header, []))
    except Exception:  # noqa: BLE001 - one calendar property line, or the time zones
        header = _without_broken_properties(header, label)
    try:
        cal = icalendar.Calendar.from_ical(_calendar_text(header, []))
    except Exception as e:  # noqa: BLE001
        log.warning("%s: ignored its time zone definitions, they do not parse (%s)", label, e)
        header = [h for h in header if not h.upper().startswith(("BEGIN:", "END:"))]
        header = [h for h in header if _name(h).startswith(("X-", "VERSION", "PRODID"))]
        cal = icalendar.Calendar.from_ical(_calendar_text(header, []))
    for comp in _parse_halves(header, blocks, label):
        cal.add_component(comp)
    return cal


def _without_broken_properties(header: list[str], label: str) -> list[str]:
    """The header without the calendar property lines (outside its time zones) that
    icalendar cannot parse on their own, each ignored with a warning: a garbled
    X-property in the header is no reason to lose the calendar."""
    kept: list[str] = []
    depth = 0
    for line in header:
        upper = line.upper()
        if upper.startswith("BEGIN:"):
            depth += 1
        elif upper.startswith("END:"):
            depth = max(depth - 1, 0)
        elif depth == 0:
            try:
                icalendar.Calendar.from_ical(_calendar_text([line], []))
            except Exception as e:  # noqa: BLE001 - whatever the parser raises
                log.warning(
                    "%s: ignored the calendar property %s, it does not parse (%s)",
                    label, _name(line) or repr(line[:40]), f"{type(e).__name__}: {e}"[:200],
                )  # fmt: skip
                continue
        kept.append(line)
    return kept


def _parse_halves(
    header: list[str], blocks: list[_Block], label: str
) -> list[icalendar.cal.Component]:
    """The events of `blocks` that parse, found by halving: a file with a few broken
    events among thousands costs a few parses per broken one, not one per event (each
    parse repeats the header's time zones)."""
    try:
        one = icalendar.Calendar.from_ical(_calendar_text(header, blocks))
    except Exception as e:  # noqa: BLE001 - any parser failure: one of these blocks
        if len(blocks) == 1:
            b = blocks[0]
            log.warning("%s:%d: skipped event %s: %s", label, b.line, _uid_of(b), e)
            return []
        mid = len(blocks) // 2
        return _parse_halves(header, blocks[:mid], label) + _parse_halves(
            header, blocks[mid:], label
        )
    return [comp for comp in one.subcomponents if comp.name == "VEVENT"]


def _uid_of(b: _Block) -> str:
    uids = [ln.partition(":")[2].strip() for ln in b.lines if _name(ln) == "UID"]
    return f"UID {uids[0]!r}" if uids else "(no UID)"


def _who(comp: icalendar.cal.Component) -> str:
    uid = comp.get("UID")
    return f"UID {str(uid)!r}" if uid is not None and not isinstance(uid, list) else "(no UID)"


def _check_scale(cal: icalendar.Calendar, label: str) -> None:
    """CALSCALE: GREGORIAN (once or more) is the only one calsync (and RFC 5545 readers)
    know; anything else is a whole-calendar problem, said once."""
    raw = cal.get("CALSCALE")
    if raw is None:
        return
    values = {str(v).strip().upper() for v in (raw if isinstance(raw, list) else [raw])}
    del cal["CALSCALE"]  # read here once; the expander would trip on a doubled one
    if values - {"GREGORIAN", ""}:
        scale = ", ".join(sorted(values))
        raise SourceError(
            f"{label}: uses the calendar scale {scale}; only GREGORIAN dates can be read",
            hint="export the calendar with Gregorian dates",
        )


def _drop_broken(cal: icalendar.Calendar, label: str, zone: ZoneInfo) -> None:
    """Remove events whose times cannot be read, warning with their UID and line."""
    good = []
    unknown_zones: set[str] = set()
    for comp in cal.subcomponents:
        if comp.name != "VEVENT":
            good.append(comp)
            continue
        try:
            problem = _problem(comp)
        except Exception as e:  # noqa: BLE001 - whatever the library raises: one event lost
            problem = f"{type(e).__name__}: {e}"
        if problem is None:
            good.append(comp)
            dtstart = comp.decoded("DTSTART")
            tzid = comp["DTSTART"].params.get("TZID")
            if tzid and isinstance(dtstart, datetime) and dtstart.tzinfo is None:
                unknown_zones.add(str(tzid))
            continue
        line = comp.get(_LINE_PROP)
        log.warning("%s:%s: skipped event %s: %s", label, line, _who(comp), problem)
    cal.subcomponents[:] = good
    for tzid in sorted(unknown_zones):
        log.warning("%s: unknown time zone %r: its times are read in %s", label, tzid, zone.key)


# RRULE parts RFC 5545 bounds; a value outside makes the expander loop or fail.
_RULE_BOUNDS = {"INTERVAL": (1, None), "COUNT": (1, None), "BYSETPOS": (-366, 366)}


def _problem(comp: icalendar.cal.Component) -> str | None:
    for name, message in comp.errors:
        if str(name).upper() in _VITAL:
            return f"{name}: {message}"
    if "DTSTART" not in comp:
        return "no DTSTART"
    for name in ("UID", "DTSTART", "DTEND", "DURATION", "RECURRENCE-ID"):
        if isinstance(comp.get(name), list):
            return f"{name} appears more than once"
    rules = comp.get("RRULE")
    for rule in rules if isinstance(rules, list) else [] if rules is None else [rules]:
        if not hasattr(rule, "get"):
            return f"RRULE cannot be read: {rule!r}"
        freq = rule.get("FREQ")
        freq = freq[0] if isinstance(freq, list) and freq else freq
        # Expanding these up to the window can take minutes (or forever): no training
        # plan repeats a workout more than hourly, so the event is broken, not a plan.
        if str(freq).upper() in ("SECONDLY", "MINUTELY"):
            return f"RRULE repeats {str(freq).lower()}: not a training plan"
        for part, (lo, hi) in _RULE_BOUNDS.items():
            for v in rule.get(part) or []:
                if not isinstance(v, int) or v < lo or (hi is not None and v > hi) or v == 0:
                    return f"RRULE {part}={v} is out of range"
    start = comp.decoded("DTSTART")
    if not isinstance(start, date):
        return f"DTSTART is not a date or a date-time ({type(start).__name__})"
    for name in ("DTEND", "DUE"):
        if name in comp:
            end = comp.decoded(name)
            if not isinstance(end, date):
                return f"{name} is not a date or a date-time ({type(end).__name__})"
            if _naive(end) < _naive(start):
                return f"{name} {end} is before DTSTART {start}"
    if "DURATION" in comp:
        length = comp.decoded("DURATION")
        if not isinstance(length, timedelta):
            return f"DURATION is not a duration ({type(length).__name__})"
        start + length  # noqa: B018 - raises OverflowError for a duration past year 9999
    return None


def _naive(d: date) -> datetime:
    """A date or date-time on one comparable scale (UTC wall time, or as written)."""
    if isinstance(d, datetime):
        if d.tzinfo is not None:
            return d.astimezone(UTC).replace(tzinfo=None)
        return d
    return datetime(d.year, d.month, d.day)


def _standardise(cal: icalendar.Calendar, label: str) -> icalendar.Calendar:
    """Apply X-WR-TIMEZONE (Google exports): UTC and floating times move into that zone."""
    wr = cal.get("X-WR-TIMEZONE")
    if wr is None:
        return cal
    # Removed once applied (or found unusable): recurring-ical-events would apply it again.
    del cal["X-WR-TIMEZONE"]
    try:
        zone = ZoneInfo(str(wr).strip())
    except (ZoneInfoNotFoundError, ValueError):
        log.warning("%s: ignored X-WR-TIMEZONE %r: not a known time zone", label, str(wr))
        return cal
    try:
        result: icalendar.Calendar = x_wr_timezone.to_standard(cal, timezone=zone)
    except Exception:  # noqa: BLE001 - one event's times, most likely: find it below
        _drop_unmovable(cal, zone, label)
        result = x_wr_timezone.to_standard(cal, timezone=zone)  # else a calendar problem
    return result


def _drop_unmovable(cal: icalendar.Calendar, zone: ZoneInfo, label: str) -> None:
    """Skip, with a warning each, the events whose times cannot be moved into the
    X-WR-TIMEZONE (a RECURRENCE-ID in year 1 overflows): the conversion runs over the
    whole calendar, so one of them would otherwise cost every event."""
    for comp in [c for c in cal.subcomponents if c.name == "VEVENT"]:
        probe = icalendar.Calendar()
        probe.add_component(comp)
        try:
            x_wr_timezone.to_standard(probe, timezone=zone)
        except Exception as e:  # noqa: BLE001 - whatever the conversion raises
            log.warning(
                "%s:%s: skipped event %s: its times cannot be moved into X-WR-TIMEZONE %s (%s)",
                label, comp.get(_LINE_PROP), _who(comp), zone.key, f"{type(e).__name__}: {e}",
            )  # fmt: skip
            cal.subcomponents.remove(comp)


def _series_of(
    cal: icalendar.Calendar,
) -> dict[str, list[icalendar.cal.Component]]:
    """The events grouped by UID (a series: the rule and its moved instances), in order."""
    groups: dict[str, list[icalendar.cal.Component]] = {}
    for i, comp in enumerate(cal.subcomponents):
        if comp.name == "VEVENT":
            uid = comp.get("UID")
            key = str(uid) if uid is not None else f"\0no-uid-{i}"
            groups.setdefault(key, []).append(comp)
    return groups


class _TooMany(Exception):
    pass


def _expand(
    comps: list[icalendar.cal.Component], a: datetime, b: datetime, most: int
) -> list[icalendar.cal.Component]:
    """One series' occurrences in [a, b); _TooMany past `most`."""
    found: list[icalendar.cal.Component] = []
    for occurrence in Series([EventAdapter(c) for c in comps]).between(a, b):
        found.append(occurrence.as_component(False))
        if len(found) > most:
            raise _TooMany
    return found


def _occurrences(
    cal: icalendar.Calendar, a: datetime, b: datetime, label: str, limits: ParseLimits
) -> list[icalendar.cal.Component]:
    """Every occurrence in [a, b), each series expanded on its own: a series that fails
    (whatever the expander raises), yields more than `max_occurrences` in the window or
    takes longer than its share of the time budget is skipped with one warning naming
    its line and UID; the rest of the calendar stands."""
    out: list[icalendar.cal.Component] = []
    for comps in _series_of(cal).values():
        first = comps[0]
        budget = Budget(limits.series_seconds)
        try:
            found = budget.run(_expand, comps, a, b, limits.max_occurrences)
        except budget.exceeded:
            problem = f"expanding it took longer than {limits.series_seconds:g} s"
        except _TooMany:
            problem = f"more than {limits.max_occurrences} occurrences in the read window"
        except Exception as e:  # noqa: BLE001 - whatever the expander raises: one series lost
            problem = f"cannot expand its repetitions ({type(e).__name__}: {e})"
        else:
            out.extend(found)
            continue
        line = first.get(_LINE_PROP)
        log.warning("%s:%s: skipped event %s: %s", label, line, _who(first), problem)
    return out


def parse_ics(
    data: bytes,
    *,
    label: str,
    zone: ZoneInfo,
    window: tuple[datetime, datetime],
    prefilter_events: bool = True,
    limits: ParseLimits = DEFAULT_LIMITS,
) -> list[Event]:
    """Every event occurrence overlapping `window`, from ICS bytes.

    Floating times are read in `zone` (or the calendar's X-WR-TIMEZONE); all-day events
    span local midnights in `zone`. Raises SourceError for data that is not a calendar,
    holds no event at all, or costs more than `limits` allow; skips broken events with a
    warning naming UID and line. `prefilter_events=False` parses every event (the
    reference the pre-filter is tested against).
    """
    with ics_warnings.capped(log, label):
        return _budgeted(data, label, zone, window, prefilter_events, limits)


def _budgeted(
    data: bytes,
    label: str,
    zone: ZoneInfo,
    window: tuple[datetime, datetime],
    prefilter_events: bool,
    limits: ParseLimits,
) -> list[Event]:
    budget = Budget(limits.parse_seconds)
    try:
        return budget.run(_parse_ics, data, label, zone, window, prefilter_events, limits)
    except budget.exceeded:
        raise SourceError(
            f"{label}: reading the calendar took longer than {limits.parse_seconds:g} s"
            " (parse_seconds); stopped",
            hint="raise parse_seconds for this source if the calendar is right",
        ) from None
    except Interrupted:
        raise SourceError(f"{label}: reading stopped: calsync was asked to stop") from None
    except (CalsyncError, KeyboardInterrupt):
        raise
    except (RecursionError, MemoryError) as e:
        raise SourceError(
            f"{label}: the calendar is too large or too deeply nested to read ({type(e).__name__})"
        ) from None
    except Exception as e:
        # Every event and series is read on its own; what is left is the calendar as a
        # whole. Say so in one message, never a traceback (that is -v's job).
        log.debug("%s: cannot be read", label, exc_info=True)
        raise SourceError(
            f"{label}: the calendar cannot be read ({type(e).__name__}: {e})"
        ) from None


def _parse_ics(
    data: bytes,
    label: str,
    zone: ZoneInfo,
    window: tuple[datetime, datetime],
    prefilter_events: bool,
    limits: ParseLimits,
) -> list[Event]:
    w0, w1 = window
    text = _text(data, label)
    fast = _near_window(text, window) if prefilter_events else None
    if fast is not None:
        total, lines = fast
        split = _split(lines, label, limits)
        blocks = split.blocks
    else:  # asked to, or the file is too irregular for the pre-filter: parse it all
        split = _split(_logical_lines(text), label, limits)
        total = len(split.blocks)
        blocks = split.blocks
    del text
    if not total:
        raise EmptyCalendarError(f"{label}: the calendar holds no events (no VEVENT)")
    for b in blocks:
        if not b.closed and b.problem is None:
            log.warning("%s:%d: event %s has no END:VEVENT (cut short?)", label, b.line, _uid_of(b))
    cal = _parse(split.header, blocks, label)
    _check_scale(cal, label)
    _drop_broken(cal, label, zone)
    cal = _standardise(cal, label)
    events = []
    for comp in _occurrences(cal, w0 - timedelta(days=1), w1 + timedelta(days=1), label, limits):
        try:
            ev = _event(comp, zone, label)
        except Exception as e:  # noqa: BLE001 - an occurrence past year 9999, say
            log.warning(
                "%s:%s: skipped an occurrence of %s: %s",
                label, comp.get(_LINE_PROP), _who(comp), f"{type(e).__name__}: {e}",
            )  # fmt: skip
            continue
        if ev is not None and _overlaps(ev, w0, w1):
            events.append(ev)
    events.sort(key=lambda e: (e.start, e.end, e.uid or "", e.summary, e.line or 0))
    return events


# Characters of a SUMMARY kept: a title longer than this is not one. A fuzzed SUMMARY
# folded over 10,000 lines (740 kB) cost the classifier 8 s and 150 MB per occurrence set.
MAX_TITLE = 1_000


def _title(comp: icalendar.cal.Component, label: str) -> str:
    title = str(comp.get("SUMMARY", "")).strip()
    if len(title) > MAX_TITLE:
        log.warning(
            "%s:%s: event %s: SUMMARY cut to its first %d of %d characters",
            label, comp.get(_LINE_PROP), _who(comp), MAX_TITLE, len(title),
        )  # fmt: skip
        title = title[:MAX_TITLE].rstrip()
    return title


def _overlaps(ev: Event, w0: datetime, w1: datetime) -> bool:
    if ev.end <= ev.start:
        return w0 <= ev.start < w1
    return ev.start < w1 and ev.end > w0


def _aware(value: date | datetime, zone: ZoneInfo) -> datetime:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            return value.replace(tzinfo=zone)
        return value.astimezone(zone)
    return datetime.combine(value, dtime(0), zone)


def _event(comp: icalendar.cal.Component, zone: ZoneInfo, label: str) -> Event | None:
    status = str(comp.get("STATUS", "")).upper()
    if status == "CANCELLED":
        return None
    raw_start = comp.decoded("DTSTART")
    raw_end = comp.decoded("DTEND") if "DTEND" in comp else None
    all_day = not isinstance(raw_start, datetime)
    start = _aware(raw_start, zone)
    if raw_end is None and "DURATION" in comp:
        raw_end = raw_start + comp.decoded("DURATION")
    if all_day:
        end_day = raw_end if isinstance(raw_end, date) else None
        if isinstance(end_day, datetime):
            end_day = end_day.date()
        if end_day is None or end_day <= raw_start:
            end_day = raw_start + timedelta(days=1)
        end = _aware(end_day, zone)
    else:
        end = _aware(raw_end, zone) if raw_end is not None else start
        if end < start:
            end = start
    transp = str(comp.get("TRANSP", "")).strip().upper()
    busy = transp == "OPAQUE" if transp in ("OPAQUE", "TRANSPARENT") else not all_day
    line_prop = comp.get(_LINE_PROP)
    uid = comp.get("UID")
    key = comp.get("X-CALSYNC-KEY")
    return Event(
        uid=str(uid) if uid is not None else None,
        summary=_title(comp, label),
        start=start,
        end=end,
        description=str(comp.get("DESCRIPTION", "")),
        all_day=all_day,
        categories=_categories(comp),
        extra=_extra(comp),
        busy=busy,
        source=label,
        line=int(str(line_prop)) if line_prop is not None else None,
        calsync_key=str(key) if key is not None else None,
    )


def _categories(comp: icalendar.cal.Component) -> tuple[str, ...]:
    raw = comp.get("CATEGORIES")
    if raw is None:
        return ()
    items = raw if isinstance(raw, list) else [raw]
    out: list[str] = []
    for item in items:
        cats = getattr(item, "cats", None)
        values = cats if cats is not None else str(item).split(",")
        out.extend(str(c).strip() for c in values if str(c).strip())
    return tuple(out)


def _extra(comp: icalendar.cal.Component) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, value in comp.items():
        up = str(name).upper()
        if up == _LINE_PROP or not (up.startswith("X-") or up in _EXTRA):
            continue
        if isinstance(value, list):
            out[up] = ",".join(str(v) for v in value)
        else:
            out[up] = str(value)
    return out
