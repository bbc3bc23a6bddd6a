"""A calendar on a CalDAV server (iCloud, Fastmail, Nextcloud, Radicale...) as an output.

The sink is four modules: `caldav_read` (which calendar, what it holds: the snapshot),
`caldav_write` (carrying out the actions, and the record of deletes in flight),
`caldav_connection` (the one connection both use) and `caldav_wire` (the requests and
answers), with `caldav_records` (what is kept between syncs). This one joins them behind
the `Sink` interface and answers `calsync doctor`.

- The calendar (`[output.caldav] calendar`) is found by the URL the state file keeps,
  else by its display name among the principal's calendars; only when neither finds it
  is it made, with MKCALENDAR at a URL derived from the name (`calsync-<name>/`), so a
  retry after a lost answer finds the first one instead of making a second. A server
  that refuses MKCALENDAR gets a message saying to make the calendar by hand.
- Each session is the resource `<key>.ics` (calsync.sinks.caldav_wire.resource_name),
  with the same UID and X-CALSYNC-KEY as the ICS file, plus the content hash and a
  fingerprint of what the user sees (X-CALSYNC-HASH / X-CALSYNC-FP). Only resources so
  named and so marked are ever touched; every other event of the calendar is foreign.
- Reading is incremental where the server offers sync-collection (RFC 6578): the
  changes since the last token, then one calendar-multiget of what changed. Elsewhere,
  a calendar-query over the window lists ETags and only changed resources are fetched.
  What calsync knows of the calendar is kept in the state file between syncs.
- The sink only executes the actions `calsync.diff` decided. Creates are
  `PUT If-None-Match: *`, updates `PUT If-Match: <etag>`, deletes `DELETE If-Match`, so
  a concurrent edit is never overwritten: a 412 is read back, and a user's edit stands
  (a pin). A write whose answer was lost (dropped connection, timeout, 5xx) is resolved
  by reading the resource back before anything is sent again, never by writing twice.
- calsync's own deletes are recorded in a small file beside the state before they are
  sent: the state only commits with the whole sync, and without that record a sync that
  fails after a delete would read its own deletion back as the user's.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from calsync import dav
from calsync.config import Config
from calsync.errors import CalsyncError, SinkError
from calsync.model import Action, ActionKind
from calsync.sinks import caldav_wire as wire
from calsync.sinks.base import SinkReport, SinkSnapshot
from calsync.sinks.caldav_connection import CaldavConnection
from calsync.sinks.caldav_read import (
    MULTIGET_CHUNK,
    OUTPUT,
    SYNC_REPORT,
    CaldavCalendar,
    calendar_state_key,
)
from calsync.sinks.caldav_write import DELETING_SIDECAR, CaldavWriter
from calsync.state import StateTx

log = logging.getLogger(__name__)

__all__ = ["DELETING_SIDECAR", "MULTIGET_CHUNK", "OUTPUT", "CaldavSink", "calendar_state_key"]


class CaldavSink:
    name = OUTPUT

    def __init__(self, config: Config) -> None:
        out = config.output_caldav
        if out is None:
            raise SinkError("no [output.caldav] in the configuration")
        self.config = config
        self.out = out
        self.label = out.label
        self.conn = CaldavConnection(out)
        self.calendar = CaldavCalendar(self.conn, out, config.schedule.zone)
        self.writer = CaldavWriter(self.calendar, config.state_dir)
        self._count0 = 0

    @property
    def requests(self) -> int:
        """HTTP answers received (auth round trips included)."""
        return self.conn.requests

    @property
    def replan_needed(self) -> bool:
        """A write found the user had changed the event since the snapshot."""
        return self.writer.replan_needed

    def close(self) -> None:
        self.conn.close()

    def snapshot(self, tx: StateTx, window: tuple[datetime, datetime]) -> SinkSnapshot:
        self._count0 = self.conn.requests
        cal = self.calendar
        self.conn.guard(lambda: cal.locate(tx))
        if cal.url is None:
            return SinkSnapshot()
        self.conn.guard(lambda: cal.read(tx, window, self.writer.deleting))
        return cal.snapshot(window)

    def execute(
        self, actions: Sequence[Action], tx: StateTx, now: datetime, *, dry_run: bool = False
    ) -> SinkReport:
        report = SinkReport(name=self.name)
        try:
            if dry_run:
                for a in actions:
                    _bucket(report, a.kind).append(a.key)
            else:
                self.writer.execute(actions, tx, now, report)
        finally:
            report.requests = self.conn.requests - self._count0
            self.close()
        return report

    # ------------------------------------------------------------------ doctor

    def doctor(self) -> list[str]:
        """Lines for `calsync doctor`: the connection, the calendar, the privileges."""
        lines: list[str] = []
        try:
            url = self.conn.guard(self._doctor_calendar)
        except CalsyncError as e:
            return [f"caldav:    FAILED: {e}"]
        finally:
            self.close()
        lines.extend(url)
        return lines

    def _doctor_calendar(self) -> list[str]:
        account, cal, read_call = self.conn.account, self.calendar, self.conn.read_call
        who = self.out.username or "anonymous"
        lines = [f"caldav:    connected to {account.url} as {who}"]
        explicit = account.calendar_url(self.out.calendar)
        url = explicit or read_call(lambda: dav.transient(cal.by_name, account.url))
        entry = cal.probe(url) if url else None
        if entry is None or url is None:
            home = explicit or read_call(lambda: dav.transient(cal.home, account.url))
            resp = cal.propfind(home, wire.propfind_privileges(), 0)
            privs = _privileges(resp)
            can = "{DAV:}bind" in privs or "{DAV:}all" in privs or "{DAV:}write" in privs
            lines.append(
                f"caldav:    calendar {self.out.calendar!r} not found; the first sync "
                + ("makes it (MKCALENDAR allowed)" if can else "cannot make it: create it by hand")
            )
            return lines
        privs = entry.privileges
        need = {"{DAV:}write-content", "{DAV:}bind", "{DAV:}unbind"}
        ok = "{DAV:}all" in privs or "{DAV:}write" in privs or need <= privs or not privs
        sync = "sync-collection" if SYNC_REPORT in entry.reports else "calendar-query"
        lines.append(f"caldav:    calendar {self.out.calendar!r} at {url}; reads by {sync}")
        lines.append(
            "caldav:    privileges: "
            + ("can write events" if ok else "MISSING write privileges on this calendar")
        )
        return lines


def _bucket(report: SinkReport, kind: ActionKind) -> list[str]:
    return {
        ActionKind.CREATE: report.created,
        ActionKind.UPDATE: report.updated,
        ActionKind.DELETE: report.deleted,
        ActionKind.KEEP: report.unchanged,
    }[kind]


def _privileges(resp: Any) -> frozenset[str]:
    if resp.status != 207:
        return frozenset()
    entries = wire.parse_multistatus(resp.tree).entries
    return entries[0].privileges if entries else frozenset()
