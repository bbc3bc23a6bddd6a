"""Reading the Google calendar calsync writes to: which calendar, and what it holds.

- The calendar's id is kept in the state file and, at once, in a small file beside it
  (`google-calendars.json`): the state commits only with the whole sync, the side file
  survives a sync that fails after the calendar was made. With neither, calsync looks for
  a calendar it made earlier (by name and the mark in its description).
- Events are read in full once (deleted ones included), then with `syncToken`; what
  calsync knows of its events (`RecordCache`) is kept in the state file between syncs.
- The ids of the events calsync is deleting are written, before the deletes are sent, to
  `google-deleting.json`: Google applies a delete at once while the state file commits
  with the whole sync, and without this record a sync that fails after a delete would
  read calsync's own deletion back as the user's.
"""

from __future__ import annotations

import dataclasses
import logging
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from calsync import retry
from calsync.config import Config
from calsync.errors import SinkError
from calsync.google.client import GoogleApiError, GoogleClient, events_list
from calsync.model import ManagedEvent, PriorSession, SinkSnapshot
from calsync.side_files import note_deletes, read_deletes, read_json_object, write_json
from calsync.sinks.google_records import (
    CALENDAR_MARK,
    OUTPUT,
    GoogleRecord,
    RecordCache,
    record,
)
from calsync.state import StateTx

log = logging.getLogger(__name__)

PAGE_SIZE = 250
SIDECAR = "google-calendars.json"  # name -> id of the calendars calsync made
DELETING_SIDECAR = "google-deleting.json"  # calendar id -> {event id: end}
DELETING_KEEP_DAYS = 120
_DELETING_HOLDS = "the Google deletes calsync was making"


class GoogleCalendar:
    """What calsync knows of its Google calendar: its id and its events' records.

    The writer (`google_write.GoogleWriter`) updates the same records as it writes.
    """

    def __init__(self, config: Config, client: GoogleClient, name: str) -> None:
        self.config = config
        self.client = client
        self.name = name
        self.id: str | None = None
        self.searched = False  # looked for an earlier calendar in this sync
        self.records: dict[str, GoogleRecord] = {}  # by event id
        self.ours_deleted: set[str] = set()  # event ids calsync deleted

    # ------------------------------------------------------------------ the snapshot

    def read(self, tx: StateTx) -> None:
        """Find the calendar and bring the records up to date (raises GoogleApiError)."""
        self.id = tx.calendar(OUTPUT, self.name) or self.sidecar().get(self.name)
        if self.id is None:
            self.id = self.find()
            self.searched = True
        if self.id is not None:
            self.keep_id(tx, self.id)
            self._read_events(tx)

    def snapshot(self, window: tuple[datetime, datetime]) -> SinkSnapshot:
        managed: dict[str, ManagedEvent] = {}
        pins: list[PriorSession] = []
        deleted: list[PriorSession] = []
        for eid, r in sorted(self.records.items(), key=lambda kv: kv[1].start):
            start, end = r.start_at, r.end_at
            if not (end > window[0] and start < window[1]):
                continue
            if r.cancelled:
                # Deleted by the user, or a stuck id: not put back that week.
                if eid not in self.ours_deleted or r.stuck:
                    deleted.append(PriorSession(r.key, start, end))
                continue
            managed[r.key] = ManagedEvent(r.key, start, end, r.hash, remote_id=eid, etag=r.etag)
            if r.edited:
                pins.append(PriorSession(r.key, start, end, pinned=True))
        return SinkSnapshot(managed=managed, pins=pins, deleted_by_user=deleted)

    def _scope(self) -> str:
        return f"google:sink:{self.id}"

    def _read_events(self, tx: StateTx) -> None:
        cache = tx.google_records(str(self.id))
        token = tx.sync_token(self._scope())
        self.ours_deleted = set(cache.ours_deleted) if cache else set()
        self.ours_deleted |= set(self.deleting().get(str(self.id), {}))
        new_token: str | None = None
        full = True
        if token and cache is not None:
            self.records = cache.events
            try:
                # The same parameters as the full read (Google: they must match); with
                # showDeleted a deleted event keeps its data, not just its id.
                changed, new_token = self._list({"syncToken": token, "showDeleted": True})
                full = False
                for ev in changed:
                    self.merge(ev)
            except GoogleApiError as e:
                if e.status == 404:
                    return self._gone(tx)
                if e.status not in (400, 410):  # expired token: 410, or sometimes 400
                    raise
                log.info("google calendar %r: full read (%s)", self.name, e.reason)
        if full:
            try:
                items, new_token = self._list({"showDeleted": True})
            except GoogleApiError as e:
                if e.status == 404:
                    return self._gone(tx)
                raise
            self.records = {}
            for ev in items:
                self.merge(ev)
        tx.set_sync_token(self._scope(), new_token)
        self.save(tx)

    def merge(self, ev: dict[str, Any]) -> GoogleRecord | None:
        """Take in an event as Google returned it; its record, None if not calsync's."""
        eid = str(ev.get("id"))
        r = record(ev, self.config.schedule.zone)
        if r is not None:
            self.records[eid] = r
        elif ev.get("status") == "cancelled" and eid in self.records:
            # Incremental reads may send only the id of a deleted event.
            self.records[eid] = dataclasses.replace(self.records[eid], status="cancelled")
        return r

    def save(self, tx: StateTx) -> None:
        tx.set_google_records(str(self.id), RecordCache(self.records, self.ours_deleted))

    def _gone(self, tx: StateTx) -> None:
        log.warning(
            "google calendar %r (%s) no longer exists; a new one will be made", self.name, self.id
        )
        tx.set_google_records(str(self.id), None)
        tx.set_sync_token(self._scope(), None)
        self.keep_id(tx, None)
        self.id = None
        self.records = {}

    def _list(self, params: dict[str, Any]) -> tuple[list[dict[str, Any]], str | None]:
        items: list[dict[str, Any]] = []
        page: str | None = None
        while True:
            p = dict(params, calendarId=self.id, maxResults=PAGE_SIZE)
            if page:
                p["pageToken"] = page
            data = self.client.execute(events_list(p), f"reading the calendar {self.name!r}")
            items.extend(data.get("items") or ())
            page = data.get("nextPageToken")
            if not page:
                return items, data.get("nextSyncToken")

    def get(self, eid: str, what: str) -> dict[str, Any]:
        ev: dict[str, Any] = self.client.execute(
            lambda s: s.events().get(calendarId=self.id, eventId=eid), what
        )
        return ev

    # ------------------------------------------------------------------ which calendar

    def find_in(self, service: Any) -> list[str] | None:
        """Calendars calsync made under this name; None when Google will not list them."""
        found: list[str] = []
        page = None
        while True:
            try:
                req = service.calendarList().list(maxResults=250, pageToken=page)
                data = req.execute(num_retries=0)
            except Exception as e:
                failure = retry.http_failure(e)
                if failure is not None and failure.status == 403 and not retry.is_retryable(e):
                    return None  # not allowed to list calendars: nothing to adopt
                raise
            for item in data.get("items") or ():
                desc = str(item.get("description") or "")
                if item.get("summary") == self.name and desc.startswith(CALENDAR_MARK):
                    found.append(str(item["id"]))
            page = data.get("nextPageToken")
            if not page:
                return found

    def find(self) -> str | None:
        found = self.client.run(self.find_in, "looking for calsync's calendar")
        return found[0] if found else None

    def _sidecar_path(self) -> Path:
        return self.config.state_dir / SIDECAR

    def sidecar(self) -> dict[str, str]:
        data = read_json_object(self._sidecar_path(), holds="the Google calendars calsync made")
        return {str(k): str(v) for k, v in data.items()}

    def keep_id(self, tx: StateTx, cal_id: str | None) -> None:
        """In the state file, and at once in a small file beside it.

        The state commits only when the whole sync does; the side file survives a sync
        that fails after the calendar was made, so the next sync finds it even where
        Google does not let calsync list calendars.
        """
        if tx.calendar(OUTPUT, self.name) != cal_id:
            tx.set_calendar(OUTPUT, self.name, cal_id)
        known = self.sidecar()
        if known.get(self.name) == cal_id:
            return
        if cal_id is None:
            known.pop(self.name, None)
        else:
            known[self.name] = cal_id
        path = self._sidecar_path()
        try:
            write_json(path, known)
        except OSError as e:
            log.warning("could not write %s: %s", path, e)

    # ------------------------------------------------------------------ deletes in flight

    def deleting(self) -> dict[str, dict[str, str]]:
        return read_deletes(self.config.state_dir / DELETING_SIDECAR, holds=_DELETING_HOLDS)

    def note_deleting(self, ends: dict[str, datetime], now: datetime) -> None:
        """Record, durably and before sending them, the deletes calsync is about to make."""
        path = self.config.state_dir / DELETING_SIDECAR
        oldest = now - timedelta(days=DELETING_KEEP_DAYS)
        try:
            note_deletes(path, holds=_DELETING_HOLDS, scope=str(self.id), ends=ends, oldest=oldest)
        except OSError as e:
            # Not being able to keep the record is worth stopping for: without it a
            # failure later in this sync would lose the runner's sessions.
            raise SinkError(f"cannot write {path}: {e.strerror or e}") from None
