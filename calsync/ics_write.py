"""Sessions -> the bytes of an ICS calendar, deterministically.

The same sessions with the same stored history give the same bytes: DTSTAMP, CREATED and
LAST-MODIFIED come from what the state store recorded for each session (not the clock),
events are in a stable order, and the VTIMEZONE covers whole years around the sessions.
That is what lets a sync with nothing changed leave the file (and the feed's ETag) alone.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import icalendar

from calsync import __version__
from calsync.model import Session
from calsync.state import StoredSession

PRODID = f"-//calsync//calsync {'.'.join(__version__.split('.')[:2])}//EN"
MARKER = "X-CALSYNC-KEY"
CATEGORY = "Strength"
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")
_UTC_KEYS = frozenset({"UTC", "Etc/UTC", "Etc/UCT", "UCT", "Zulu", "Etc/Zulu", "GMT", "Etc/GMT"})


def uid_for(key: str, *, busy: bool = False) -> str:
    """The stable UID of a session key: calendar apps update it in place when it moves."""
    return f"{_UNSAFE.sub('-', key)}{'.busy' if busy else ''}@calsync"


def _utc(d: datetime) -> datetime:
    return d.astimezone(UTC).replace(microsecond=0)


def _vtimezone(zone: ZoneInfo, sessions: Sequence[Session]) -> icalendar.Timezone | None:
    if zone.key in _UTC_KEYS or not sessions:
        return None
    # Whole years, so the component only changes when the sessions cross a new year.
    first = min(s.start.astimezone(zone).year for s in sessions)
    last = max(s.end.astimezone(zone).year for s in sessions)
    return icalendar.Timezone.from_tzinfo(
        zone, tzid=zone.key, first_date=date(first, 1, 1), last_date=date(last + 1, 1, 1)
    )


def render_calendar(
    sessions: Sequence[Session],
    stored: Mapping[str, StoredSession],
    *,
    calendar_name: str,
    zone: ZoneInfo,
    refresh_minutes: int,
    busy_only: bool = False,
) -> bytes:
    """The ICS document for `sessions`; `stored` supplies each key's SEQUENCE and times.

    A session with no stored record (a preview) gets SEQUENCE 0 and its own start as
    DTSTAMP, which keeps the output deterministic. `busy_only` renders opaque "Busy"
    blocks with no title or description (for sharing), under UIDs of their own.
    """
    cal = icalendar.Calendar()
    cal.add("PRODID", PRODID)
    cal.add("VERSION", "2.0")
    cal.add("CALSCALE", "GREGORIAN")
    cal.add("METHOD", "PUBLISH")
    cal.add("X-WR-CALNAME", f"{calendar_name} (busy)" if busy_only else calendar_name)
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
        cal.add_component(_event(s, stored.get(s.key), zone, busy_only))
    data: bytes = cal.to_ical()
    return data


def _event(
    s: Session, rec: StoredSession | None, zone: ZoneInfo, busy_only: bool
) -> icalendar.Event:
    created = rec.created if rec is not None else s.start
    modified = rec.modified if rec is not None else s.start
    ev = icalendar.Event()
    ev.add("UID", uid_for(s.key, busy=busy_only))
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
        ev.add("SUMMARY", s.title)
        ev.add("DESCRIPTION", s.description or s.reason)
        ev.add("CATEGORIES", [CATEGORY])
    ev.add("TRANSP", "OPAQUE")
    ev.add(MARKER, s.key)
    return ev


def _local(d: datetime, zone: ZoneInfo) -> datetime:
    local = d.astimezone(zone).replace(microsecond=0)
    if zone.key in _UTC_KEYS:
        return local.astimezone(UTC)
    return local


def feed_etag(body: bytes) -> str:
    """A validator for a rendered document: equal bytes, equal tag."""
    return hashlib.sha256(body).hexdigest()[:32]
