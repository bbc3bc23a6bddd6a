"""The span of dates an ICS file covers, read from its DTSTART lines alone.

For `calsync classify` when no event falls in the window asked for: "the file holds
2024-03-01 .. 2024-10-27; try --from 2024-03-01 --to 2024-10-27". A cheap scan, not a
parse: it must work on any file the reader accepted, and an unbounded RRULE only needs
to be noticed, never expanded.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

_DTSTART = re.compile(rb"^DTSTART[^:\r\n]*:(\d{4})(\d{2})(\d{2})", re.M | re.I)
_VEVENT = re.compile(rb"^BEGIN:VEVENT\b.*?^END:VEVENT\b", re.M | re.I | re.S)
_RRULE = re.compile(rb"^RRULE:([^\r\n]*)", re.M | re.I)
_OURS = re.compile(rb"^X-CALSYNC-KEY[;:]", re.M | re.I)


@dataclass(frozen=True, slots=True)
class Span:
    first: date
    last: date
    events: int
    repeats_forever: bool  # an RRULE with neither UNTIL nor COUNT
    calsync_own: int  # events carrying calsync's own marker


def span_of(data: bytes) -> Span | None:
    """First and last DTSTART date in `data`, or None when it has none."""
    days: list[date] = []
    events = _VEVENT.findall(data)  # not VTIMEZONE's DTSTARTs (1970...)
    for m in (m for ev in events for m in _DTSTART.finditer(ev)):
        try:
            days.append(date(int(m[1]), int(m[2]), int(m[3])))
        except ValueError:
            continue  # a broken date: the reader skips that event too
    if not days:
        return None
    forever = any(
        b"UNTIL=" not in r.upper() and b"COUNT=" not in r.upper()
        for ev in events
        for r in _RRULE.findall(ev)
    )
    return Span(min(days), max(days), len(days), forever, len(_OURS.findall(data)))
