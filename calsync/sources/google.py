"""Google Calendar as a source: a runs calendar (events) or busy calendars (free/busy).

- role "runs": `events.list` with `singleEvents=True` (recurring runs come as instances).
  With the sync's state at hand the read is incremental: one full read over the window
  and eight weeks beyond it, then `syncToken` reads that return only what changed (a
  no-op costs one request). The events are kept in the state file between reads; a 410
  `fullSyncRequired` (or the 400 Google also gives), a window that has moved past what
  the full read covered, or a day since the last full read starts over with a full read.
  The cache keeps only the span the full read covered.
- role "busy": all busy Google calendars of the config are read together with
  `freebusy.query` (scope `calendar.freebusy`: times only, no titles): one query per
  30 days and 20 calendars, under Google's limits, the answers merged.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from calsync.config import Config, SourceSettings
from calsync.errors import SourceError
from calsync.google import events as gev
from calsync.google.client import GoogleApiError, GoogleClient, client_for, events_list
from calsync.model import Event, Role
from calsync.state import StateTx
from calsync.state_records import GoogleSourceCache

log = logging.getLogger(__name__)

# How far past the window a full read goes, so the window can slide for weeks on
# incremental reads before another full read is needed.
READ_AHEAD = timedelta(days=56)
PAGE_SIZE = 250
# Incremental singleEvents reads never report the instances a "this and following" edit
# cut off a series (only the instances it still has): a full read at least this often
# bounds how long such a phantom run can live in the cache.
FULL_EVERY = timedelta(days=1)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)  # a cache that never said when it was read
# freeBusy.query refuses long ranges (400 timeRangeTooLong; undocumented, reported from
# about 60 days) and more than 50 calendars (400 tooManyCalendarsRequested). Queries are
# split well under both, so a change on Google's side or a DST hour never reaches them.
FREEBUSY_SPAN = timedelta(days=30)
FREEBUSY_CALENDARS = 20


def _clock() -> datetime:
    """The wall clock, for the daily full read (not the plan's "now": time really passed)."""
    return datetime.now(UTC)


def _z(d: datetime) -> str:
    return d.astimezone().isoformat() if d.tzinfo is None else d.isoformat()


class GoogleSource:
    def __init__(self, settings: SourceSettings, config: Config) -> None:
        self.settings = settings
        self.config = config
        self.calendar = settings.calendar or "primary"
        self.label = settings.name or f"google:{self.calendar}"
        self.role = settings.role
        self.client: GoogleClient = client_for(config)

    def read(self, window: tuple[datetime, datetime], tx: StateTx | None = None) -> list[Event]:
        try:
            if self.role is Role.BUSY:
                return self._busy(window)
            return self._runs(window, tx)
        except GoogleApiError as e:
            raise SourceError(f"{self.label}: {e.message}", hint=e.hint) from None

    # ------------------------------------------------------------------ busy

    def _busy(self, window: tuple[datetime, datetime]) -> list[Event]:
        cals = tuple(
            sorted(
                {
                    s.calendar or "primary"
                    for s in self.config.sources
                    if s.type == "google" and s.role is Role.BUSY
                }
                | {self.calendar}
            )
        )
        key = (_z(window[0]), _z(window[1]), cals)
        data = self.client.freebusy_cache.get(key)
        if data is None:
            data = self._freebusy(window, cals)
            self.client.freebusy_cache.clear()  # a daemon's windows move: keep only the last
            self.client.freebusy_cache[key] = data
        entry = (data.get("calendars") or {}).get(self.calendar)
        if entry is None:
            raise SourceError(f"{self.label}: Google returned no free/busy for this calendar")
        if entry.get("errors"):
            reasons = ", ".join(str(e.get("reason")) for e in entry["errors"])
            raise SourceError(
                f"{self.label}: Google cannot tell the busy time of calendar "
                f"{self.calendar!r} ({reasons})",
                hint="check the calendar id in [[source]] calendar",
            )
        zone = self.config.schedule.zone
        out = []
        for b in entry.get("busy") or ():
            start, _ = gev.parse_when({"dateTime": b["start"]}, zone)
            end, _ = gev.parse_when({"dateTime": b["end"]}, zone)
            out.append(Event(uid=None, summary="busy", start=start, end=end, source=self.label))
        return out

    def _freebusy(self, window: tuple[datetime, datetime], cals: tuple[str, ...]) -> Any:
        """One answer for every calendar over the whole window, from queries Google
        accepts (see FREEBUSY_SPAN): busy lists are joined, errors kept."""
        merged: dict[str, dict[str, list[Any]]] = {}
        lo = window[0]
        while lo < window[1]:
            hi = min(lo + FREEBUSY_SPAN, window[1])
            for i in range(0, len(cals), FREEBUSY_CALENDARS):
                group = cals[i : i + FREEBUSY_CALENDARS]
                body = {"timeMin": _z(lo), "timeMax": _z(hi), "items": [{"id": c} for c in group]}
                data = self.client.execute(_freebusy_query(body), "free/busy query")
                for cal, entry in (data.get("calendars") or {}).items():
                    into = merged.setdefault(cal, {"busy": [], "errors": []})
                    into["busy"] += entry.get("busy") or []
                    into["errors"] += entry.get("errors") or []
            lo = hi
        return {"calendars": merged}

    # ------------------------------------------------------------------ runs

    def _list(self, params: dict[str, Any]) -> tuple[list[dict[str, Any]], str | None]:
        """Every page of one events.list; (items, nextSyncToken)."""
        items: list[dict[str, Any]] = []
        page: str | None = None
        while True:
            p = dict(params, calendarId=self.calendar, singleEvents=True, maxResults=PAGE_SIZE)
            if page:
                p["pageToken"] = page
            data = self.client.execute(events_list(p), f"reading events of {self.calendar!r}")
            items.extend(data.get("items") or ())
            page = data.get("nextPageToken")
            if not page:
                return items, data.get("nextSyncToken")

    def _runs(self, window: tuple[datetime, datetime], tx: StateTx | None) -> list[Event]:
        if tx is None:
            items, _ = self._list({"timeMin": _z(window[0]), "timeMax": _z(window[1])})
            return self._events(items, window)
        scope = f"google:events:{self.calendar}"
        cache = tx.google_source_cache(self.calendar)
        token = tx.sync_token(scope)
        now = _clock()
        cached: dict[str, dict[str, Any]] | None = None
        if token and cache is not None:
            read_at = cache.read_at or _EPOCH
            fresh = timedelta(0) <= now - read_at < FULL_EVERY
            if cache.lo <= window[0] and window[1] <= cache.hi and fresh:
                cached = cache.events
        new_token: str | None
        if cached is not None:
            assert cache is not None
            lo, hi, read_at = cache.lo, cache.hi, cache.read_at or _EPOCH
            try:
                changed, new_token = self._list({"syncToken": token})
                for ev in changed:
                    if ev.get("status") == "cancelled" or not self._overlaps(ev, lo, hi):
                        cached.pop(ev["id"], None)
                    else:
                        cached[ev["id"]] = gev.trim(ev)
            except GoogleApiError as e:
                # 410 is Google's documented answer to an expired sync token; it answers
                # some with 400 too. Either way: one full read (it sends no token).
                if e.status not in (400, 410):
                    raise
                log.info("%s: sync token refused (%s); reading in full", self.label, e.reason)
                cached = None
        if cached is None:
            lo_s, hi_s = _z(window[0]), _z(window[1] + READ_AHEAD)
            lo, hi, read_at = datetime.fromisoformat(lo_s), datetime.fromisoformat(hi_s), now
            items, new_token = self._list({"timeMin": lo_s, "timeMax": hi_s})
            cached = {ev["id"]: gev.trim(ev) for ev in items if ev.get("status") != "cancelled"}
        tx.set_google_source_cache(self.calendar, GoogleSourceCache(lo, hi, read_at, cached))
        tx.set_sync_token(scope, new_token)
        return self._events(list(cached.values()), window)

    def _overlaps(self, ev: dict[str, Any], lo: datetime, hi: datetime) -> bool:
        """Does a changed event fall in the cached span? (Incremental reads send changes
        for all time; the cache keeps only what a full read over its span would.)"""
        try:
            start, end, _ = gev.times(ev, self.config.schedule.zone)
        except (KeyError, ValueError):
            return True  # kept; _events skips it with a warning
        return end > lo and start < hi

    def _events(
        self, items: list[dict[str, Any]], window: tuple[datetime, datetime]
    ) -> list[Event]:
        zone = self.config.schedule.zone
        out = []
        for ev in items:
            if ev.get("status") == "cancelled" or gev.declined_by_me(ev):
                continue
            try:
                start, end, all_day = gev.times(ev, zone)
            except (KeyError, ValueError) as e:
                log.warning(
                    "%s: skipping event %s with unreadable times (%s)", self.label, ev.get("id"), e
                )
                continue
            if not (end > window[0] and start < window[1]):
                continue
            out.append(
                Event(
                    uid=str(ev.get("id")),
                    summary=str(ev.get("summary") or ""),
                    start=start,
                    end=end,
                    description=str(ev.get("description") or ""),
                    all_day=all_day,
                    busy=ev.get("transparency") != "transparent",
                    source=self.label,
                    calsync_key=gev.calsync_key(ev),
                )
            )
        out.sort(key=lambda e: (e.start, e.uid or ""))
        return out


def _freebusy_query(body: dict[str, Any]) -> Callable[[Any], Any]:
    return lambda service: service.freebusy().query(body=body)
