"""What the CalDAV sink keeps of its calendar between syncs: plain typed values.

Kept apart from `caldav_wire` (which parses iCalendar) so that the state file's typed
tables (`state_records`) can name them without importing a calendar parser.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Remote:
    """What calsync keeps of one resource of the calendar."""

    etag: str | None
    key: str | None = None  # set only for calsync's own events
    start: datetime | None = None
    end: datetime | None = None
    content_hash: str = ""
    edited: bool = False  # the user changed what calsync wrote: a pin
    alarm: str = ""
    uid: str = ""  # kept on update: a resource's UID never changes


@dataclass(slots=True)
class CaldavCache:
    """What the CalDAV sink keeps of its calendar: its resources by path, the paths of
    its own the user deleted (`gone`) and those calsync itself deleted."""

    records: dict[str, Remote] = field(default_factory=dict)
    gone: set[str] = field(default_factory=set)
    ours_deleted: set[str] = field(default_factory=set)
