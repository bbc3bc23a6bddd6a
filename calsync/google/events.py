"""Reading Google Calendar event JSON: times, all-day days, calsync's marker."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from calsync.google import ids


def parse_when(t: dict[str, Any], zone: ZoneInfo) -> tuple[datetime, bool]:
    """(aware datetime, is all-day) of a `start`/`end` object; all-day days are local
    midnights in the user's zone."""
    if "dateTime" in t:
        d = datetime.fromisoformat(str(t["dateTime"]).replace("Z", "+00:00"))
        if d.tzinfo is None:  # Google always sends an offset; be lenient anyway
            d = d.replace(tzinfo=ZoneInfo(t.get("timeZone") or zone.key))
        return d, False
    return datetime.combine(date.fromisoformat(str(t["date"])), time(0), zone), True


def times(ev: dict[str, Any], zone: ZoneInfo) -> tuple[datetime, datetime, bool]:
    start, all_day = parse_when(ev["start"], zone)
    end, _ = parse_when(ev["end"], zone)
    return start, end, all_day


def private(ev: dict[str, Any]) -> dict[str, str]:
    props = ev.get("extendedProperties") or {}
    priv = props.get("private") or {}
    return {str(k): str(v) for k, v in priv.items()} if isinstance(priv, dict) else {}


def calsync_key(ev: dict[str, Any]) -> str | None:
    """The session key when the event carries calsync's marker, else None."""
    p = private(ev)
    return p.get(ids.KEY) if p.get(ids.MARK) == "1" and p.get(ids.KEY) else None


def declined_by_me(ev: dict[str, Any]) -> bool:
    return any(
        a.get("self") and a.get("responseStatus") == "declined"
        for a in ev.get("attendees") or ()
        if isinstance(a, dict)
    )


def trim(ev: dict[str, Any]) -> dict[str, Any]:
    """The fields calsync keeps of an event between incremental reads."""
    keep = ("id", "status", "summary", "description", "start", "end", "transparency")
    out = {k: ev[k] for k in keep if k in ev}
    if ev.get("extendedProperties"):
        out["extendedProperties"] = {"private": private(ev)}
    if declined_by_me(ev):
        out["attendees"] = [{"self": True, "responseStatus": "declined"}]
    return out
