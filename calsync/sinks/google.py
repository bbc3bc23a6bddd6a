"""Google Calendar as an output: a calendar calsync creates and keeps in step with the plan.

The sink is three modules: `google_read` (which calendar, what it holds: the snapshot),
`google_write` (carrying out the actions) and `google_records` (the event body and the
typed record kept of each event). This one joins them behind the `Sink` interface.

- The calendar (`[output.google] calendar`) is created on the first sync that writes
  (`calendars.insert`, scope `calendar.app.created`), and its id kept in the state file.
  Before creating one, calsync looks for a calendar it made earlier (lost state file, or
  an insert whose answer was lost), so a retry never makes a second calendar.
- Reading it is incremental: one full read (with deleted events), then `syncToken` reads;
  what calsync knows of its events is kept in the state file between syncs.
- Only events with calsync's marker, under the id derived from their key, are ever
  touched. An event whose title, text or times no longer match what calsync wrote was
  moved or edited by the user: it is pinned. A cancelled one calsync did not delete was
  deleted by the user: the planner does not put it back in its week.
- Writes are the actions `calsync.diff` decided (this sink only executes them), sent
  in batches: inserts with the derived id (a 409 `duplicate` is read back and counts as
  done when it is ours), patches with `If-Match` (a 412 is read back: done when it
  already holds what we meant, pinned when the user edited it, else patched again on the
  fresh etag), deletes with `If-Match` (410/404: already gone).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime

from calsync.config import Config
from calsync.errors import SinkError
from calsync.google.client import GoogleApiError, GoogleClient, client_for
from calsync.model import Action, ActionKind, SinkSnapshot
from calsync.sinks.base import SinkReport
from calsync.sinks.google_read import GoogleCalendar
from calsync.sinks.google_records import OUTPUT, event_body, record
from calsync.sinks.google_write import GoogleWriter
from calsync.state import StateTx

log = logging.getLogger(__name__)

__all__ = ["OUTPUT", "GoogleSink", "event_body", "record"]


class GoogleSink:
    name = OUTPUT

    def __init__(self, config: Config) -> None:
        if config.output_google is None:
            raise SinkError("no [output.google] in the configuration")
        self.config = config
        self.calendar_name = config.output_google.calendar
        self.client: GoogleClient = client_for(config)
        self.calendar = GoogleCalendar(config, self.client, self.calendar_name)
        self.writer = GoogleWriter(self.calendar)
        self._count0 = 0

    @property
    def replan_needed(self) -> bool:
        """A write found the user had changed an event since the snapshot."""
        return self.writer.replan_needed

    def snapshot(self, tx: StateTx, window: tuple[datetime, datetime]) -> SinkSnapshot:
        self._count0 = self.client.requests
        try:
            self.calendar.read(tx)
        except GoogleApiError as e:
            raise SinkError(e.message, hint=e.hint) from None
        if self.calendar.id is None:
            return SinkSnapshot()
        return self.calendar.snapshot(window)

    def execute(
        self, actions: Sequence[Action], tx: StateTx, now: datetime, *, dry_run: bool = False
    ) -> SinkReport:
        report = SinkReport(name=self.name)
        if dry_run:
            for a in actions:
                {
                    ActionKind.CREATE: report.created,
                    ActionKind.UPDATE: report.updated,
                    ActionKind.DELETE: report.deleted,
                    ActionKind.KEEP: report.unchanged,
                }[a.kind].append(a.key)
            report.requests = self.client.requests - self._count0
            return report
        try:
            self.writer.execute(actions, tx, now, report)
        except GoogleApiError as e:
            raise SinkError(e.message, hint=e.hint) from None
        finally:
            report.requests = self.client.requests - self._count0
        return report
