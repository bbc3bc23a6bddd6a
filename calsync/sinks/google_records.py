"""What the Google sink writes for a session, and what it keeps of each of its events.

Plain values and pure functions: the event body calsync sends (marker and bookkeeping in
private extended properties), the typed record it keeps of one of its events between
syncs, and the cache of those records (the state file keeps it: state_records).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from calsync.diff import content_hash
from calsync.google import events as gev
from calsync.google import ids
from calsync.model import Session

CALENDAR_MARK = "Strength sessions placed by calsync."


# The output's name, under which the state keeps its sessions and its calendar's id.
OUTPUT = "google"


def event_body(s: Session, zone: str) -> dict[str, Any]:
    """What calsync writes for a session, marker and bookkeeping included."""
    return {
        "summary": s.title,
        "description": s.description,
        "start": {"dateTime": s.start.isoformat(), "timeZone": zone},
        "end": {"dateTime": s.end.isoformat(), "timeZone": zone},
        "status": "confirmed",
        "transparency": "opaque",
        "extendedProperties": {
            "private": {
                ids.MARK: "1",
                ids.KEY: s.key,
                ids.HASH: content_hash(s),
                ids.START: ids.utc_iso(s.start),
                ids.END: ids.utc_iso(s.end),
                ids.FP: ids.fingerprint(s.title, s.description, s.start, s.end),
            }
        },
    }


@dataclass(frozen=True, slots=True)
class GoogleRecord:
    """What calsync keeps of one of its events in Google."""

    key: str
    status: str  # Google's: "confirmed", "tentative" or "cancelled"
    start: str  # UTC, ISO 8601 (ids.utc_iso)
    end: str
    etag: str | None
    hash: str  # the content hash calsync wrote with it
    edited: bool  # moved or edited by the user since calsync wrote it
    # Google refuses the id (409) yet no longer returns its event (404): see
    # google_write's `_stuck`. The session is left out, as if the user deleted it.
    stuck: bool = False

    @property
    def cancelled(self) -> bool:
        return self.status == "cancelled"

    @property
    def start_at(self) -> datetime:
        return datetime.fromisoformat(self.start)

    @property
    def end_at(self) -> datetime:
        return datetime.fromisoformat(self.end)

    def holds(self, s: Session) -> bool:
        """Does the event already say exactly what calsync means to write?"""
        return not self.cancelled and not self.edited and self.hash == content_hash(s)


def record(ev: dict[str, Any], zone: ZoneInfo) -> GoogleRecord | None:
    """What calsync keeps of one of its events; None for anyone else's event."""
    key = gev.calsync_key(ev)
    if key is None or ids.event_id(key) != ev.get("id"):
        return None  # no marker, or a copy the user made of one of ours: not ours
    p = gev.private(ev)
    try:
        start, end, _ = gev.times(ev, zone)
    except (KeyError, ValueError):
        start = datetime.fromisoformat(p[ids.START])
        end = datetime.fromisoformat(p[ids.END])
    fp = ids.fingerprint(str(ev.get("summary") or ""), str(ev.get("description") or ""), start, end)
    etag = ev.get("etag")
    return GoogleRecord(
        key=key,
        status=str(ev.get("status") or "confirmed"),
        start=ids.utc_iso(start),
        end=ids.utc_iso(end),
        etag=None if etag is None else str(etag),
        hash=p.get(ids.HASH, ""),
        edited=fp != p.get(ids.FP),
    )


@dataclass(slots=True)
class RecordCache:
    """The records by event id, and the ids of the events calsync itself deleted."""

    events: dict[str, GoogleRecord]
    ours_deleted: set[str]
