"""Writing calsync's Google calendar: carrying out the actions `calsync.diff` decided.

Nothing here decides what to create, move or delete. What it does decide is how to make
a write land exactly once over an unreliable network:
- the calendar is created on the first write, after looking for one calsync made
  earlier (an insert whose answer was lost), and a duplicate it finds empty is removed;
- inserts carry the id derived from the key: a 409 `duplicate` is read back, and counts
  as done when it is ours and says what we meant;
- patches and deletes carry `If-Match`: a 412 is read back; done when it already holds
  what we meant, left alone (the user's now) when the user changed it, else sent again
  on the fresh etag; a delete answered 404/410 was already gone.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from calsync.config import Config
from calsync.diff import content_hash
from calsync.errors import CalsyncError, PausedError, SinkError, StateError
from calsync.google import events as gev
from calsync.google import ids
from calsync.google.client import GoogleApiError, Op
from calsync.model import Action, ActionKind, Session, StoredSession
from calsync.side_files import read_json_object, write_json
from calsync.sinks.base import SinkReport
from calsync.sinks.google_read import GoogleCalendar
from calsync.sinks.google_records import (
    CALENDAR_MARK,
    OUTPUT,
    GoogleRecord,
    event_body,
    record,
)
from calsync.state import StateTx

log = logging.getLogger(__name__)

# Google's "Calendar usage limits exceeded" (403 quotaExceeded) is not a burst: retrying
# soon only spends more of the quota. calsync stops writing for this long, recording
# the time at once in a file beside the state (the state itself rolls back with the
# failed sync), and `doctor` and the daemon's status say until when.
QUOTA_SIDECAR = "google-quota.json"
QUOTA_PAUSE = timedelta(hours=1)


def _clock() -> datetime:
    """The wall clock: a quota pause is real time, not the plan's "now"."""
    return datetime.now(UTC)


def quota_pause(config: Config) -> datetime | None:
    """Until when calsync does not write to Google (usage limits), or None."""
    path = config.state_dir / QUOTA_SIDECAR
    data = read_json_object(path, holds="Google's usage-limit pause")
    if not data:
        return None
    try:
        until = datetime.fromisoformat(str(data["until"]))
    except (ValueError, KeyError) as e:
        raise StateError(
            f"{path}: cannot read Google's usage-limit pause (no valid 'until': {e})",
            hint="move the file away: calsync then writes to Google again",
        ) from None
    return until if until.tzinfo is not None and until > _clock() else None


def _pause(config: Config) -> datetime:
    until = _clock() + QUOTA_PAUSE
    path = config.state_dir / QUOTA_SIDECAR
    try:
        write_json(path, {"until": until.isoformat()})
    except OSError as e:
        log.warning("could not write %s: %s", path, e)
    return until


def _paused(until: datetime) -> PausedError:
    return PausedError(
        "Google Calendar usage limits exceeded: calsync writes nothing to Google until "
        f"{until.astimezone(UTC):%Y-%m-%d %H:%M} UTC",
        until,
        hint="Google limits how much one account may write per day; calsync tries again "
        "after the pause (reads go on). Many writes at once usually mean many sessions "
        "changed: `calsync plan` shows why",
    )


class GoogleWriter:
    def __init__(self, calendar: GoogleCalendar) -> None:
        self.cal = calendar
        self.client = calendar.client
        self.zone = calendar.config.schedule.timezone
        # Set when a write found the user had changed the event since the snapshot
        # (412): what was written stands, but a new plan would place around it. The
        # next sync does.
        self.replan_needed = False

    def execute(
        self, actions: Sequence[Action], tx: StateTx, now: datetime, report: SinkReport
    ) -> None:
        """Send the writes in one batch, then settle each answer; raises GoogleApiError or
        SinkError (naming every change that failed)."""
        ops: list[Op] = []
        wanted: dict[str, Session] = {}
        deleting: dict[str, datetime] = {}
        for a in actions:
            if a.kind is ActionKind.KEEP:
                report.unchanged.append(a.key)
                continue
            if a.kind is ActionKind.CREATE:
                assert a.session is not None
                wanted[a.key] = a.session
                ops.append(Op(f"create {a.key}", self._insert_op(a.session)))
                continue
            eid = ids.event_id(a.key)
            if a.remote_id != eid or eid not in self.cal.records:
                # Not a decision but a refusal: an action naming an event this sink did
                # not report as calsync's own is a bug, and nothing is sent for it.
                raise SinkError(f"refusing to {a.kind} {a.key}: not an event calsync holds")
            if a.kind is ActionKind.UPDATE:
                assert a.session is not None
                wanted[a.key] = a.session
                ops.append(Op(f"update {a.key}", self._patch_op(a.session, a.etag)))
            elif a.kind is ActionKind.DELETE:
                deleting[eid] = self.cal.records[eid].end_at
                ops.append(Op(f"delete {a.key}", self._delete_op(a.key, a.etag)))
        if not ops:
            return
        until = quota_pause(self.cal.config)
        if until is not None:
            raise _paused(until)
        self.ensure_calendar(tx)
        if deleting:
            self.cal.note_deleting(deleting, now)
        results = self.client.batch(ops, f"writing calendar {self.cal.name!r}")
        if any(
            isinstance(r, GoogleApiError) and r.reason == "quotaExceeded" for r in results.values()
        ):
            self.cal.save(tx)
            raise _paused(_pause(self.cal.config))
        failures: list[str] = []
        for op in ops:
            verb, key = op.id.split(" ", 1)
            res = results[op.id]
            if isinstance(res, CalsyncError) and not isinstance(res, GoogleApiError):
                raise res  # e.g. a missing scope: nothing else will go better
            try:
                if verb == "create":
                    self._created(key, wanted[key], res, now, tx, report)
                elif verb == "update":
                    self._updated(key, wanted[key], res, now, tx, report)
                else:
                    self._deleted(key, res, tx, report)
            except CalsyncError as e:
                failures.append(f"{key}: {e.message}")
        self.cal.save(tx)
        if failures:
            raise SinkError(
                f"google calendar {self.cal.name!r}: {len(failures)} change(s) failed:\n"
                + "\n".join(f"  - {f}" for f in failures)
            )

    # ------------------------------------------------------------------ the calendar

    def ensure_calendar(self, tx: StateTx) -> str:
        if self.cal.id is not None:
            return self.cal.id
        attempts = 0
        body = {
            "summary": self.cal.name,
            "description": CALENDAR_MARK + " Edit or move a session and calsync keeps it there.",
            "timeZone": self.zone,
        }

        def find_or_create(service: Any) -> str:
            nonlocal attempts
            attempts += 1
            # A retry may follow an insert whose answer was lost: look before inserting.
            if attempts > 1 or not self.cal.searched:
                found = self.cal.find_in(service)
                if found:
                    return self._one_of(service, found) if attempts > 1 else found[0]
            made = str(service.calendars().insert(body=body).execute(num_retries=0)["id"])
            return self._one_of(service, self.cal.find_in(service) or [made])

        cal_id: str = self.client.run(find_or_create, f"creating calendar {self.cal.name!r}")
        log.info("google calendar %r is %s", self.cal.name, cal_id)
        self.cal.keep_id(tx, cal_id)
        self.cal.id = cal_id
        self.cal.records = {}
        self.cal.ours_deleted = set()
        return cal_id

    def _one_of(self, service: Any, found: list[str]) -> str:
        """Keep the first calendar; remove the others that are empty.

        httplib2 silently sends a request again when the connection drops before the
        answer, so one `calendars.insert` can make two calendars. Only empty ones go:
        a calendar holding events is never removed.
        """
        for extra in found[1:]:
            try:
                held = service.events().list(calendarId=extra, maxResults=1, showDeleted=True)
                if held.execute(num_retries=0).get("items"):
                    continue
                log.warning("removing an empty duplicate calendar %s", extra)
                service.calendars().delete(calendarId=extra).execute(num_retries=0)
            except Exception as e:  # a leftover empty calendar is no reason to fail
                log.warning("could not remove calendar %s: %s", extra, e)
        return found[0]

    # ------------------------------------------------------------------ the requests

    def _insert_op(self, s: Session) -> Any:
        body = dict(event_body(s, self.zone), id=ids.event_id(s.key))
        return lambda svc: svc.events().insert(calendarId=self.cal.id, body=body)

    def _patch_op(self, s: Session, etag: str | None) -> Any:
        body = event_body(s, self.zone)

        def make(svc: Any) -> Any:
            req = svc.events().patch(calendarId=self.cal.id, eventId=ids.event_id(s.key), body=body)
            if etag:
                req.headers["If-Match"] = etag
            return req

        return make

    def _delete_op(self, key: str, etag: str | None) -> Any:
        def make(svc: Any) -> Any:
            req = svc.events().delete(calendarId=self.cal.id, eventId=ids.event_id(key))
            if etag:
                req.headers["If-Match"] = etag
            return req

        return make

    def _put(self, key: str, s: Session, etag: str | None) -> dict[str, Any]:
        body = dict(event_body(s, self.zone), id=ids.event_id(key))

        def make(svc: Any) -> Any:
            req = svc.events().update(calendarId=self.cal.id, eventId=body["id"], body=body)
            if etag:
                req.headers["If-Match"] = etag
            return req

        ev: dict[str, Any] = self.client.execute(make, f"restoring event {key}")
        return ev

    def _get(self, key: str) -> dict[str, Any]:
        return self.cal.get(ids.event_id(key), f"reading event {key}")

    # ------------------------------------------------------------------ the answers

    def _record(self, ev: dict[str, Any]) -> GoogleRecord | None:
        return record(ev, self.cal.config.schedule.zone)

    def _remember(self, ev: dict[str, Any], s: Session, now: datetime, tx: StateTx) -> None:
        r = self._record(ev)
        if r is None:
            raise SinkError(f"event {ev.get('id')} came back without calsync's marker")
        eid = str(ev["id"])
        self.cal.records[eid] = r
        self.cal.ours_deleted.discard(eid)
        old = tx.sessions(OUTPUT).get(s.key)
        moved = old is not None and (old.start, old.end) != (s.start, s.end)
        tx.put_session(
            OUTPUT,
            StoredSession(
                key=s.key,
                start=s.start,
                end=s.end,
                content_hash=content_hash(s),
                sequence=(old.sequence + 1 if moved else old.sequence) if old else 0,
                created=old.created if old else now,
                modified=now,
                remote_id=eid,
                etag=r.etag,
            ),
        )

    def _holds(self, ev: dict[str, Any], s: Session) -> bool:
        """Does the event already say exactly what calsync means to write?"""
        r = self._record(ev)
        return r is not None and r.holds(s)

    def _created(
        self, key: str, s: Session, res: Any, now: datetime, tx: StateTx, report: SinkReport
    ) -> None:
        if isinstance(res, GoogleApiError):
            if res.status != 409:
                raise res
            # The id exists: our own earlier insert (a retry, or a run whose state was
            # lost), or an event of ours deleted before. Never a stranger's: ids are ours.
            try:
                ev = self._get(key)
            except GoogleApiError as e:
                if e.status != 404:
                    raise
                return self._stuck(key, s, report)
            r = self._record(ev)
            if r is None and ev.get("status") == "cancelled" and ev.get("id") == ids.event_id(key):
                # Our own deleted event: Google gives a deleted event back without its
                # private properties, so it is known by its id (derived from the key).
                r = self._deleted_record(key, ev, s)
            if r is None:
                raise SinkError(
                    f"event id {ev.get('id')} is taken by an event calsync did not write"
                )
            eid = str(ev["id"])
            users = r.edited if not r.cancelled else eid not in self.cal.ours_deleted
            if users and not r.holds(s):
                # Moved, edited or deleted by the user (outside what the snapshot saw):
                # theirs, never overwritten.
                self.cal.records[eid] = r
                log.info("session %s exists as the user left it; not overwritten", key)
                report.unchanged.append(key)
                return
            if not r.holds(s):
                ev = self._put(key, s, ev.get("etag"))
            res = ev
        self._remember(res, s, now, tx)
        report.created.append(key)

    def _deleted_record(self, key: str, ev: dict[str, Any], s: Session) -> GoogleRecord:
        """What calsync keeps of one of its deleted events Google returned bare."""
        try:
            start, end, _ = gev.times(ev, self.cal.config.schedule.zone)
        except (KeyError, ValueError):
            start, end = s.start, s.end
        etag = ev.get("etag")
        return GoogleRecord(
            key=key,
            status="cancelled",
            start=ids.utc_iso(start),
            end=ids.utc_iso(end),
            etag=None if etag is None else str(etag),
            hash="",
            edited=False,
        )

    def _stuck(self, key: str, s: Session, report: SinkReport) -> None:
        """Google refuses the id (409) and no longer returns the event under it (404):
        it purged a deleted event but keeps its id taken. calsync cannot write this
        session under its id; it says so once and leaves the slot empty, as for a
        session the user deleted, instead of failing every sync."""
        eid = ids.event_id(key)
        log.warning(
            "session %s cannot be written to Google: its event id %s is still taken by an "
            "event deleted earlier, which Google no longer shows; calsync leaves that "
            "session out of %r (the next plan places the week's sessions around it)",
            key,
            eid,
            self.cal.name,
        )
        self.cal.records[eid] = GoogleRecord(
            key=key,
            status="cancelled",
            start=ids.utc_iso(s.start),
            end=ids.utc_iso(s.end),
            etag=None,
            hash="",
            edited=False,
            stuck=True,
        )
        report.unchanged.append(key)

    def _updated(
        self, key: str, s: Session, res: Any, now: datetime, tx: StateTx, report: SinkReport
    ) -> None:
        if isinstance(res, GoogleApiError):
            if res.status == 404:
                log.warning("session %s vanished from Google before it could be moved", key)
                return
            if res.status != 412:
                raise res
            ev = self._get(key)
            r = self._record(ev)
            if r is not None and r.holds(s):
                res = ev  # our own earlier attempt got through
            elif r is not None and (r.edited or r.cancelled):
                # The user moved, edited or deleted it since we read it: theirs now.
                self._yield_to_user(key, ev, r, report)
                return
            else:
                res = self.client.execute(self._patch_op(s, ev.get("etag")), f"moving event {key}")
        self._remember(res, s, now, tx)
        report.updated.append(key)

    def _yield_to_user(
        self, key: str, ev: dict[str, Any], r: GoogleRecord, report: SinkReport
    ) -> None:
        """The user changed the event after the snapshot (a 412): their version stands,
        and the next plan places around it."""
        self.cal.records[str(ev["id"])] = r
        log.warning("session %s was changed in Google during the sync; kept as is", key)
        self.replan_needed = True
        report.unchanged.append(key)

    def _deleted(self, key: str, res: Any, tx: StateTx, report: SinkReport) -> None:
        eid = ids.event_id(key)
        if isinstance(res, GoogleApiError) and res.status == 412:
            ev = self._get(key)
            r = self._record(ev)
            if r is not None and r.edited:
                self._yield_to_user(key, ev, r, report)
                return
            try:
                res = self.client.execute(self._delete_op(key, ev.get("etag")), f"deleting {key}")
            except GoogleApiError as e:
                res = e
        if isinstance(res, GoogleApiError) and res.status not in (404, 410):
            raise res
        self.cal.ours_deleted.add(eid)
        if eid in self.cal.records:
            self.cal.records[eid] = dataclasses.replace(self.cal.records[eid], status="cancelled")
        tx.delete_session(OUTPUT, key)
        report.deleted.append(key)
