"""Sessions -> the bytes of an ICS calendar, deterministically.

The same sessions with the same stored history give the same bytes: DTSTAMP, CREATED and
LAST-MODIFIED come from what the state store recorded for each session (not the clock),
events are in a stable order, and the VTIMEZONE is the same whatever the sessions (the
classic two-RRULE form, checked against zoneinfo; an explicit list of changes over fixed
years for zones no yearly rule describes). That is what lets a sync with nothing changed
leave the file (and the feed's ETag) alone.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import icalendar

from calsync import __version__
from calsync.model import Session, StoredSession

PRODID = f"-//calsync//calsync {'.'.join(__version__.split('.')[:2])}//EN"
MARKER = "X-CALSYNC-KEY"
CATEGORY = "Strength"
TZ_FIRST = date(2020, 1, 1)
TZ_LAST = date(2038, 1, 1)
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")
_UTC_KEYS = frozenset({"UTC", "Etc/UTC", "Etc/UCT", "UCT", "Zulu", "Etc/Zulu", "GMT", "Etc/GMT"})


class _Text(icalendar.vText):
    """A TEXT value escaped exactly as RFC 5545 3.3.11 says.

    icalendar's own escaping first turns a literal backslash-N into a line break (its
    `\\N` -> newline step), so a title or note holding `C:\\New` came back from every
    reader as two lines. Backslash first, then ; , and line breaks: what each reader
    unescapes to the same text."""

    def to_ical(self) -> bytes:
        text = (
            str(self)
            .replace("\\", "\\\\")
            .replace(";", "\\;")
            .replace(",", "\\,")
            .replace("\r\n", "\\n")
            .replace("\n", "\\n")
            .replace("\r", "\\n")
        )
        return text.encode("utf-8")  # the encoding every calsync file is written in


def uid_for(key: str, *, busy: bool = False, namespace: str = "") -> str:
    """The stable UID of a session key: calendar apps update it in place when it moves.

    `namespace` is the install's (calsync.uids): "<key>@<namespace>.calsync"; without
    one, the UID every install wrote before namespaces, "<key>@calsync"."""
    domain = f"{namespace}.calsync" if namespace else "calsync"
    return f"{_UNSAFE.sub('-', key)}{'.busy' if busy else ''}@{domain}"


def _utc(d: datetime) -> datetime:
    return d.astimezone(UTC).replace(microsecond=0)


def _vtimezone(zone: ZoneInfo, sessions: Sequence[Session]) -> icalendar.Timezone | None:
    if zone.key in _UTC_KEYS or not sessions:
        return None
    first = min(s.start.astimezone(zone).year for s in sessions)
    last = max(s.end.astimezone(zone).year for s in sessions) + 1
    compact = vtimezone_rrule(zone, first, last)
    if compact is not None:
        return compact
    # Rules that no yearly RRULE describes (zones that changed them lately, Ramadan
    # time): every change as an observance of its own, over a fixed span, since clients
    # cache a VTIMEZONE by its TZID.
    return vtimezone_explicit(zone, TZ_FIRST.year, max(TZ_LAST.year, last))


_WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")


@dataclass(frozen=True)
class _Change:
    local: datetime  # naive wall time of the change, in the offset before it
    before: timedelta
    after: timedelta
    name: str


def _changes(zone: ZoneInfo, year: int) -> list[_Change]:
    """The offset changes of `zone` in `year`, found by bisection on whole seconds."""

    def offset(ts: int) -> timedelta | None:
        return datetime.fromtimestamp(ts, zone).utcoffset()

    out = []
    day = 86400
    t = int(datetime(year, 1, 1, tzinfo=UTC).timestamp())
    end = int(datetime(year + 1, 1, 1, tzinfo=UTC).timestamp())
    while t < end:
        before, after = offset(t), offset(t + day)
        if before != after and before is not None and after is not None:
            lo, hi = t, t + day  # offset(lo) == before, offset(hi) == after
            while hi - lo > 1:
                mid = (lo + hi) // 2
                if offset(mid) == before:
                    lo = mid
                else:
                    hi = mid
            at = datetime.fromtimestamp(hi, zone)
            local = (datetime.fromtimestamp(hi, UTC) + before).replace(tzinfo=None)
            out.append(_Change(local, before, after, at.tzname() or ""))
        t += day
    return out


def _byday(d: datetime) -> tuple[int, str]:
    """(month, BYDAY) naming the day as "2SU" or, when it is the month's last, "-1SU"."""
    nxt = d + timedelta(days=7)
    nth = -1 if nxt.month != d.month else (d.day - 1) // 7 + 1
    return d.month, f"{nth}{_WEEKDAYS[d.weekday()]}"


def _rule_day(year: int, month: int, byday: str) -> date:
    nth, wd = int(byday[:-2]), _WEEKDAYS.index(byday[-2:])
    if nth > 0:
        first = date(year, month, 1)
        return first + timedelta(days=(wd - first.weekday()) % 7 + 7 * (nth - 1))
    nxt = date(year + (month == 12), month % 12 + 1, 1)
    last = nxt - timedelta(days=1)
    return last - timedelta(days=(last.weekday() - wd) % 7)


def vtimezone_rrule(zone: ZoneInfo, first: int, last: int) -> icalendar.Timezone | None:
    """A VTIMEZONE in the classic two-observance RRULE form, or None if it would be wrong.

    This is the form every client understands (some ignore RDATE lists), and it does not
    change from one year to the next. It is only returned when it reproduces zoneinfo's
    every offset change in the years `first`..`last`.
    """
    yearly = [_changes(zone, y) for y in range(first, last + 1)]
    shape = [[(c.before, c.after, c.name, c.local.time()) for c in ys] for ys in yearly]
    if any(s != shape[0] for s in shape) or len(shape[0]) not in (0, 2):
        return None
    tz = icalendar.Timezone()
    tz.add("TZID", zone.key)
    if not yearly[0]:
        probe = datetime(first, 7, 1, tzinfo=zone)
        obs: icalendar.cal.Component = icalendar.TimezoneStandard()
        obs.add("DTSTART", datetime(1970, 1, 1))
        obs.add("TZOFFSETFROM", probe.utcoffset())
        obs.add("TZOFFSETTO", probe.utcoffset())
        obs.add("TZNAME", probe.tzname() or zone.key)
        tz.add_component(obs)
        return tz
    for i, change in enumerate(yearly[0]):
        month, byday = _byday(change.local)
        for ys in yearly:
            c = ys[i]
            if c.local.date() != _rule_day(c.local.year, month, byday):
                return None
        obs = (
            icalendar.TimezoneDaylight()
            if change.after > change.before
            else icalendar.TimezoneStandard()
        )
        start = datetime.combine(_rule_day(1970, month, byday), change.local.time())
        obs.add("DTSTART", start)
        obs.add("RRULE", {"FREQ": "YEARLY", "BYMONTH": month, "BYDAY": byday})
        obs.add("TZNAME", change.name)
        obs.add("TZOFFSETFROM", change.before)
        obs.add("TZOFFSETTO", change.after)
        tz.add_component(obs)
    return tz


def vtimezone_explicit(zone: ZoneInfo, first: int, last: int) -> icalendar.Timezone:
    """A VTIMEZONE listing each offset change of the years `first`..`last` on its own.

    One DTSTART per observance and no RDATE lists: dateutil (behind vobject and
    icalendar's own reading) misreads RDATE-listed observances.
    """
    tz = icalendar.Timezone()
    tz.add("TZID", zone.key)
    begin = datetime(first, 1, 1, tzinfo=zone)
    obs: icalendar.cal.Component = icalendar.TimezoneStandard()
    obs.add("DTSTART", begin.replace(tzinfo=None))
    obs.add("TZNAME", begin.tzname() or zone.key)
    obs.add("TZOFFSETFROM", begin.utcoffset())
    obs.add("TZOFFSETTO", begin.utcoffset())
    tz.add_component(obs)
    for year in range(first, last + 1):
        for c in _changes(zone, year):
            obs = (
                icalendar.TimezoneDaylight() if c.after > c.before else icalendar.TimezoneStandard()
            )
            obs.add("DTSTART", c.local)
            obs.add("TZNAME", c.name)
            obs.add("TZOFFSETFROM", c.before)
            obs.add("TZOFFSETTO", c.after)
            tz.add_component(obs)
    return tz


def render_calendar(
    sessions: Sequence[Session],
    stored: Mapping[str, StoredSession],
    *,
    calendar_name: str,
    zone: ZoneInfo,
    refresh_minutes: int,
    busy_only: bool = False,
    uid: Callable[[str, bool], str] | None = None,
) -> bytes:
    """The ICS document for `sessions`; `stored` supplies each key's SEQUENCE and times.

    A session with no stored record (a preview) gets SEQUENCE 0 and its own start as
    DTSTAMP, which keeps the output deterministic. `busy_only` renders opaque "Busy"
    blocks with no title or description (for sharing), under UIDs of their own.
    `uid(key, busy)` names each event (the install's namespace, calsync.uids); default:
    `uid_for` without one.
    """
    cal = icalendar.Calendar()
    cal.add("PRODID", PRODID)
    cal.add("VERSION", "2.0")
    cal.add("CALSCALE", "GREGORIAN")
    cal.add("METHOD", "PUBLISH")
    cal.add("X-WR-CALNAME", _Text(f"{calendar_name} (busy)" if busy_only else calendar_name))
    cal.add("X-WR-TIMEZONE", zone.key)
    refresh = timedelta(minutes=refresh_minutes)
    cal.add("REFRESH-INTERVAL", refresh, parameters={"VALUE": "DURATION"})
    ttl: bytes = icalendar.vDuration(refresh).to_ical()  # type: ignore[no-untyped-call]
    cal.add("X-PUBLISHED-TTL", ttl.decode())
    ordered = sorted(sessions, key=lambda s: (s.start, s.key))
    tz = _vtimezone(zone, ordered)
    if tz is not None:
        cal.add_component(tz)
    for s in ordered:
        name = uid(s.key, busy_only) if uid is not None else uid_for(s.key, busy=busy_only)
        cal.add_component(_event(s, stored.get(s.key), zone, busy_only, name))
    data: bytes = cal.to_ical()
    return data


def _event(
    s: Session, rec: StoredSession | None, zone: ZoneInfo, busy_only: bool, uid: str
) -> icalendar.Event:
    created = rec.created if rec is not None else s.start
    modified = rec.modified if rec is not None else s.start
    ev = icalendar.Event()
    ev.add("UID", uid)
    ev.add("SEQUENCE", rec.sequence if rec is not None else 0)
    ev.add("DTSTAMP", _utc(modified))
    ev.add("CREATED", _utc(created))
    ev.add("LAST-MODIFIED", _utc(modified))
    ev.add("DTSTART", _local(s.start, zone))
    ev.add("DTEND", _local(s.end, zone))
    if busy_only:
        ev.add("SUMMARY", "Busy")
        ev.add("CLASS", "PRIVATE")
    else:
        ev.add("SUMMARY", _Text(s.title))
        ev.add("DESCRIPTION", _Text(s.description or s.reason))
        ev.add("CATEGORIES", [CATEGORY])
    ev.add("TRANSP", "OPAQUE")
    ev.add(MARKER, s.key)
    return ev


def _local(d: datetime, zone: ZoneInfo) -> datetime:
    """Wall time in `zone`, or UTC where a wall time would not name one instant.

    In the hour a DST change repeats (or skips), a TZID wall time is ambiguous and
    parsers pick one reading; a UTC time is not.
    """
    local = d.astimezone(zone).replace(microsecond=0)
    if zone.key in _UTC_KEYS or local.replace(fold=1 - local.fold).utcoffset() != local.utcoffset():
        return local.astimezone(UTC)
    return local


def feed_etag(body: bytes) -> str:
    """A validator for a rendered document: equal bytes, equal tag."""
    return hashlib.sha256(body).hexdigest()[:32]


def render_object(
    s: Session,
    rec: StoredSession | None,
    zone: ZoneInfo,
    *,
    alarm_minutes: int | None = None,
    extra: Mapping[str, str] | None = None,
    uid: str | None = None,
) -> bytes:
    """One session as a CalDAV calendar object resource (RFC 4791 4.1).

    The same VEVENT as in the ICS file (UID, X-CALSYNC-KEY, SEQUENCE, times, text) with
    its VTIMEZONE, and no METHOD, which calendar collections must not hold. `extra`
    adds X- properties to the event; `alarm_minutes` a display alarm before the start.
    `uid`: the install's UID for the key (calsync.uids); default `uid_for` without one.
    """
    cal = icalendar.Calendar()
    cal.add("PRODID", PRODID)
    cal.add("VERSION", "2.0")
    cal.add("CALSCALE", "GREGORIAN")
    tz = _vtimezone(zone, [s])
    if tz is not None:
        cal.add_component(tz)
    ev = _event(s, rec, zone, False, uid or uid_for(s.key))
    for name, value in (extra or {}).items():
        ev.add(name, value)
    if alarm_minutes is not None:
        alarm = icalendar.Alarm()
        alarm.add("ACTION", "DISPLAY")
        alarm.add("DESCRIPTION", _Text(s.title))
        alarm.add("TRIGGER", timedelta(minutes=-alarm_minutes))
        ev.add_component(alarm)
    cal.add_component(ev)
    data: bytes = cal.to_ical()
    return data
