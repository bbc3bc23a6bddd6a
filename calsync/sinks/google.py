"""Google Calendar as an output: a calendar calsync creates and keeps in step with the plan.

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

import json
import logging
import os
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from calsync import retry
from calsync.config import Config
from calsync.diff import content_hash
from calsync.errors import CalsyncError, SinkError
from calsync.google import events as gev
from calsync.google import ids
from calsync.google.client import GoogleApiError, GoogleClient, Op, client_for, events_list
from calsync.model import Action, ActionKind, PriorSession, Session
from calsync.sinks.base import ManagedEvent, SinkReport, SinkSnapshot
from calsync.state import StateTx, StoredSession

log = logging.getLogger(__name__)

OUTPUT = "google"
CALENDAR_MARK = "Strength sessions placed by calsync."
PAGE_SIZE = 250
SIDECAR = "google-calendars.json"  # name -> id of the calendars calsync made
# calendar id -> {event id: end} of the events calsync is deleting, written before the
# deletes are sent: Google applies a delete at once, while the state file only commits
# with the whole sync. Without this record a sync that fails after a delete would read
# calsync's own deletion back as the user's, and drop that week's session for good.
DELETING_SIDECAR = "google-deleting.json"
DELETING_KEEP_DAYS = 120


def calendar_state_key(name: str) -> str:
    """Where the state file keeps the id of the calendar calsync made under `name`."""
    return f"google.sink.calendar:{name}"


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


def record(ev: dict[str, Any], config: Config) -> dict[str, Any] | None:
    """What calsync keeps of one of its events; None for anyone else's event."""
    key = gev.calsync_key(ev)
    if key is None or ids.event_id(key) != ev.get("id"):
        return None  # no marker, or a copy the user made of one of ours: not ours
    p = gev.private(ev)
    try:
        start, end, _ = gev.times(ev, config.schedule.zone)
    except (KeyError, ValueError):
        start = datetime.fromisoformat(p[ids.START])
        end = datetime.fromisoformat(p[ids.END])
    fp = ids.fingerprint(str(ev.get("summary") or ""), str(ev.get("description") or ""), start, end)
    return {
        "key": key,
        "status": str(ev.get("status") or "confirmed"),
        "start": ids.utc_iso(start),
        "end": ids.utc_iso(end),
        "etag": ev.get("etag"),
        "hash": p.get(ids.HASH, ""),
        "edited": fp != p.get(ids.FP),
    }


class GoogleSink:
    name = OUTPUT

    def __init__(self, config: Config) -> None:
        if config.output_google is None:
            raise SinkError("no [output.google] in the configuration")
        self.config = config
        self.calendar_name = config.output_google.calendar
        self.client: GoogleClient = client_for(config)
        self._cal_key = calendar_state_key(self.calendar_name)
        self._cal_id: str | None = None
        self._searched = False
        self._records: dict[str, dict[str, Any]] = {}
        self._ours_deleted: set[str] = set()
        self._count0 = 0
        # Set by apply() when a write found the user had changed the event since the
        # snapshot (412): what was written stands, but a new plan would place around it.
        # The sync may snapshot and plan again; otherwise the next sync does.
        self.replan_needed = False

    # ------------------------------------------------------------------ reading

    def snapshot(self, tx: StateTx, window: tuple[datetime, datetime]) -> SinkSnapshot:
        self._count0 = self.client.requests
        try:
            self._cal_id = tx.get(self._cal_key) or self._sidecar().get(self.calendar_name)
            if self._cal_id is None:
                self._cal_id = self._find_calendar()
                self._searched = True
            if self._cal_id is not None:
                self._keep_calendar_id(tx, self._cal_id)
            if self._cal_id is None:
                return SinkSnapshot()
            self._read(tx)
        except GoogleApiError as e:
            raise SinkError(e.message, hint=e.hint) from None
        return self._snapshot(window)

    def _snapshot(self, window: tuple[datetime, datetime]) -> SinkSnapshot:
        managed: dict[str, ManagedEvent] = {}
        pins: list[PriorSession] = []
        deleted: list[PriorSession] = []
        for eid, r in sorted(self._records.items(), key=lambda kv: kv[1]["start"]):
            start, end = datetime.fromisoformat(r["start"]), datetime.fromisoformat(r["end"])
            if not (end > window[0] and start < window[1]):
                continue
            if r["status"] == "cancelled":
                if eid not in self._ours_deleted:
                    deleted.append(PriorSession(r["key"], start, end))
                continue
            managed[r["key"]] = ManagedEvent(
                r["key"], start, end, r["hash"], remote_id=eid, etag=r["etag"]
            )
            if r["edited"]:
                pins.append(PriorSession(r["key"], start, end, pinned=True))
        return SinkSnapshot(managed=managed, pins=pins, deleted_by_user=deleted)

    def _cache_name(self) -> str:
        return f"google.sink.cache:{self._cal_id}"

    def _scope(self) -> str:
        return f"google:sink:{self._cal_id}"

    def _read(self, tx: StateTx) -> None:
        cache = _load(tx.get(self._cache_name()))
        token = tx.sync_token(self._scope())
        self._ours_deleted = set(cache["ours_deleted"]) if cache else set()
        self._ours_deleted |= set(self._deleting().get(str(self._cal_id), {}))
        new_token: str | None = None
        full = True
        if token and cache is not None:
            self._records = cache["events"]
            try:
                changed, new_token = self._list({"syncToken": token})
                full = False
                for ev in changed:
                    self._merge(ev)
            except GoogleApiError as e:
                if e.status == 404:
                    return self._calendar_gone(tx)
                if e.status != 410:
                    raise
                log.info("google calendar %r: full read (%s)", self.calendar_name, e.reason)
        if full:
            try:
                items, new_token = self._list({"showDeleted": True})
            except GoogleApiError as e:
                if e.status == 404:
                    return self._calendar_gone(tx)
                raise
            self._records = {}
            for ev in items:
                self._merge(ev)
        tx.set_sync_token(self._scope(), new_token)
        self._save(tx)

    def _merge(self, ev: dict[str, Any]) -> None:
        eid = str(ev.get("id"))
        r = record(ev, self.config)
        if r is not None:
            self._records[eid] = r
        elif ev.get("status") == "cancelled" and eid in self._records:
            # Incremental reads may send only the id of a deleted event.
            self._records[eid] = dict(self._records[eid], status="cancelled")

    def _calendar_gone(self, tx: StateTx) -> None:
        log.warning(
            "google calendar %r (%s) no longer exists; a new one will be made",
            self.calendar_name,
            self._cal_id,
        )
        tx.set(self._cache_name(), None)
        tx.set_sync_token(self._scope(), None)
        self._keep_calendar_id(tx, None)
        self._cal_id = None
        self._records = {}

    def _sidecar_path(self) -> Path:
        return self.config.state_dir / SIDECAR

    def _sidecar(self) -> dict[str, str]:
        try:
            data = json.loads(self._sidecar_path().read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}

    def _keep_calendar_id(self, tx: StateTx, cal_id: str | None) -> None:
        """In the state file, and at once in a small file beside it.

        The state commits only when the whole sync does; the side file survives a sync
        that fails after the calendar was made, so the next sync finds it even where
        Google does not let calsync list calendars.
        """
        if tx.get(self._cal_key) != cal_id:
            tx.set(self._cal_key, cal_id)
        known = self._sidecar()
        if known.get(self.calendar_name) == cal_id:
            return
        if cal_id is None:
            known.pop(self.calendar_name, None)
        else:
            known[self.calendar_name] = cal_id
        path = self._sidecar_path()
        try:
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            tmp = path.with_name(path.name + ".tmp")
            tmp.write_text(json.dumps(known, indent=1, sort_keys=True), encoding="utf-8")
            os.replace(tmp, path)
        except OSError as e:
            log.warning("could not write %s: %s", path, e)

    def _deleting(self) -> dict[str, dict[str, str]]:
        try:
            path = self.config.state_dir / DELETING_SIDECAR
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        if not isinstance(data, dict):
            return {}
        return {str(c): dict(v) for c, v in data.items() if isinstance(v, dict)}

    def _note_deleting(self, ends: dict[str, datetime], now: datetime) -> None:
        """Record, durably and before sending them, the deletes calsync is about to make."""
        data = self._deleting()
        mine = data.setdefault(str(self._cal_id), {})
        mine.update({eid: end.isoformat() for eid, end in ends.items()})
        oldest = now - timedelta(days=DELETING_KEEP_DAYS)
        for cal in data.values():
            for eid, end in list(cal.items()):
                try:
                    if datetime.fromisoformat(end) < oldest:
                        del cal[eid]
                except ValueError:
                    del cal[eid]
        path = self.config.state_dir / DELETING_SIDECAR
        try:
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            tmp = path.with_name(path.name + ".tmp")
            tmp.write_text(json.dumps(data, indent=1, sort_keys=True), encoding="utf-8")
            os.replace(tmp, path)
        except OSError as e:
            # Not being able to keep the record is worth stopping for: without it a
            # failure later in this sync would lose the runner's sessions.
            raise SinkError(f"cannot write {path}: {e.strerror or e}") from None

    def _save(self, tx: StateTx) -> None:
        tx.set(
            self._cache_name(),
            json.dumps({"events": self._records, "ours_deleted": sorted(self._ours_deleted)}),
        )

    def _list(self, params: dict[str, Any]) -> tuple[list[dict[str, Any]], str | None]:
        items: list[dict[str, Any]] = []
        page: str | None = None
        while True:
            p = dict(params, calendarId=self._cal_id, maxResults=PAGE_SIZE)
            if page:
                p["pageToken"] = page
            what = f"reading the calendar {self.calendar_name!r}"
            data = self.client.execute(events_list(p), what)
            items.extend(data.get("items") or ())
            page = data.get("nextPageToken")
            if not page:
                return items, data.get("nextSyncToken")

    # ------------------------------------------------------------------ the calendar

    def _find_calendars_in(self, service: Any) -> list[str] | None:
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
                if item.get("summary") == self.calendar_name and desc.startswith(CALENDAR_MARK):
                    found.append(str(item["id"]))
            page = data.get("nextPageToken")
            if not page:
                return found

    def _find_calendar(self) -> str | None:
        found = self.client.run(self._find_calendars_in, "looking for calsync's calendar")
        return found[0] if found else None

    def _ensure_calendar(self, tx: StateTx) -> str:
        if self._cal_id is not None:
            return self._cal_id
        attempts = 0
        body = {
            "summary": self.calendar_name,
            "description": CALENDAR_MARK + " Edit or move a session and calsync keeps it there.",
            "timeZone": self.config.schedule.timezone,
        }

        def find_or_create(service: Any) -> str:
            nonlocal attempts
            attempts += 1
            # A retry may follow an insert whose answer was lost: look before inserting.
            if attempts > 1 or not self._searched:
                found = self._find_calendars_in(service)
                if found:
                    return self._one_of(service, found) if attempts > 1 else found[0]
            made = str(service.calendars().insert(body=body).execute(num_retries=0)["id"])
            return self._one_of(service, self._find_calendars_in(service) or [made])

        cal_id: str = self.client.run(find_or_create, f"creating calendar {self.calendar_name!r}")
        log.info("google calendar %r is %s", self.calendar_name, cal_id)
        self._keep_calendar_id(tx, cal_id)
        self._cal_id = cal_id
        self._records = {}
        self._ours_deleted = set()
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

    # ------------------------------------------------------------------ writing

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
            self._execute(actions, tx, now, report)
        except GoogleApiError as e:
            raise SinkError(e.message, hint=e.hint) from None
        finally:
            report.requests = self.client.requests - self._count0
        return report

    def _execute(
        self, actions: Sequence[Action], tx: StateTx, now: datetime, report: SinkReport
    ) -> None:
        zone = self.config.schedule.timezone
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
                ops.append(Op(f"create {a.key}", self._insert_op(a.session, zone)))
                continue
            eid = ids.event_id(a.key)
            if a.remote_id != eid or eid not in self._records:
                # Not a decision but a refusal: an action naming an event this sink did
                # not report as calsync's own is a bug, and nothing is sent for it.
                raise SinkError(f"refusing to {a.kind} {a.key}: not an event calsync holds")
            if a.kind is ActionKind.UPDATE:
                assert a.session is not None
                wanted[a.key] = a.session
                ops.append(Op(f"update {a.key}", self._patch_op(a.session, zone, a.etag)))
            elif a.kind is ActionKind.DELETE:
                deleting[eid] = datetime.fromisoformat(self._records[eid]["end"])
                ops.append(Op(f"delete {a.key}", self._delete_op(a.key, a.etag)))
        if not ops:
            return
        cal_id = self._ensure_calendar(tx)
        assert cal_id
        if deleting:
            self._note_deleting(deleting, now)
        results = self.client.batch(ops, f"writing calendar {self.calendar_name!r}")
        failures: list[str] = []
        for op in ops:
            verb, key = op.id.split(" ", 1)
            res = results[op.id]
            if isinstance(res, CalsyncError) and not isinstance(res, GoogleApiError):
                raise res  # e.g. a missing scope: nothing else will go better
            try:
                if verb == "create":
                    self._created(key, wanted[key], res, zone, now, tx, report)
                elif verb == "update":
                    self._updated(key, wanted[key], res, zone, now, tx, report)
                else:
                    self._deleted(key, res, tx, report)
            except CalsyncError as e:
                failures.append(f"{key}: {e.message}")
        self._save(tx)
        if failures:
            raise SinkError(
                f"google calendar {self.calendar_name!r}: {len(failures)} change(s) failed:\n"
                + "\n".join(f"  - {f}" for f in failures)
            )

    def _insert_op(self, s: Session, zone: str) -> Any:
        body = dict(event_body(s, zone), id=ids.event_id(s.key))
        return lambda svc: svc.events().insert(calendarId=self._cal_id, body=body)

    def _patch_op(self, s: Session, zone: str, etag: str | None) -> Any:
        body = event_body(s, zone)

        def make(svc: Any) -> Any:
            req = svc.events().patch(
                calendarId=self._cal_id, eventId=ids.event_id(s.key), body=body
            )
            if etag:
                req.headers["If-Match"] = etag
            return req

        return make

    def _delete_op(self, key: str, etag: str | None) -> Any:
        def make(svc: Any) -> Any:
            req = svc.events().delete(calendarId=self._cal_id, eventId=ids.event_id(key))
            if etag:
                req.headers["If-Match"] = etag
            return req

        return make

    def _get(self, key: str) -> dict[str, Any]:
        eid = ids.event_id(key)
        ev: dict[str, Any] = self.client.execute(
            lambda s: s.events().get(calendarId=self._cal_id, eventId=eid),
            f"reading event {key}",
        )
        return ev

    def _remember(self, ev: dict[str, Any], s: Session, now: datetime, tx: StateTx) -> None:
        r = record(ev, self.config)
        if r is None:
            raise SinkError(f"event {ev.get('id')} came back without calsync's marker")
        eid = str(ev["id"])
        self._records[eid] = r
        self._ours_deleted.discard(eid)
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
                etag=r["etag"],
            ),
        )

    def _holds(self, ev: dict[str, Any], s: Session) -> bool:
        """Does the event already say exactly what calsync means to write?"""
        r = record(ev, self.config)
        return (
            r is not None
            and r["status"] != "cancelled"
            and not r["edited"]
            and r["hash"] == content_hash(s)
        )

    def _created(
        self,
        key: str,
        s: Session,
        res: Any,
        zone: str,
        now: datetime,
        tx: StateTx,
        report: SinkReport,
    ) -> None:
        if isinstance(res, GoogleApiError):
            if res.status != 409:
                raise res
            # The id exists: our own earlier insert (a retry, or a run whose state was
            # lost), or an event of ours deleted before. Never a stranger's: ids are ours.
            ev = self._get(key)
            r = record(ev, self.config)
            if r is None:
                raise SinkError(
                    f"event id {ev.get('id')} is taken by an event calsync did not write"
                )
            eid = str(ev["id"])
            users = r["edited"] if r["status"] != "cancelled" else eid not in self._ours_deleted
            if users and not self._holds(ev, s):
                # Moved, edited or deleted by the user (outside what the snapshot saw):
                # theirs, never overwritten.
                self._records[eid] = r
                log.info("session %s exists as the user left it; not overwritten", key)
                report.unchanged.append(key)
                return
            if not self._holds(ev, s):
                ev = self._put(key, s, zone, ev.get("etag"))
            res = ev
        self._remember(res, s, now, tx)
        report.created.append(key)

    def _put(self, key: str, s: Session, zone: str, etag: str | None) -> dict[str, Any]:
        body = dict(event_body(s, zone), id=ids.event_id(key))

        def make(svc: Any) -> Any:
            req = svc.events().update(calendarId=self._cal_id, eventId=body["id"], body=body)
            if etag:
                req.headers["If-Match"] = etag
            return req

        ev: dict[str, Any] = self.client.execute(make, f"restoring event {key}")
        return ev

    def _updated(
        self,
        key: str,
        s: Session,
        res: Any,
        zone: str,
        now: datetime,
        tx: StateTx,
        report: SinkReport,
    ) -> None:
        if isinstance(res, GoogleApiError):
            if res.status == 404:
                log.warning("session %s vanished from Google before it could be moved", key)
                return
            if res.status != 412:
                raise res
            ev = self._get(key)
            r = record(ev, self.config)
            if self._holds(ev, s):
                res = ev  # our own earlier attempt got through
            elif r is not None and (r["edited"] or r["status"] == "cancelled"):
                # The user moved, edited or deleted it since we read it: theirs now.
                self._yield_to_user(key, ev, r, report)
                return
            else:
                res = self.client.execute(
                    self._patch_op(s, zone, ev.get("etag")), f"moving event {key}"
                )
        self._remember(res, s, now, tx)
        report.updated.append(key)

    def _yield_to_user(
        self, key: str, ev: dict[str, Any], r: dict[str, Any], report: SinkReport
    ) -> None:
        """The user changed the event after the snapshot (a 412): their version stands,
        and the next plan places around it."""
        self._records[str(ev["id"])] = r
        log.warning("session %s was changed in Google during the sync; kept as is", key)
        self.replan_needed = True
        report.unchanged.append(key)

    def _deleted(self, key: str, res: Any, tx: StateTx, report: SinkReport) -> None:
        eid = ids.event_id(key)
        if isinstance(res, GoogleApiError) and res.status == 412:
            ev = self._get(key)
            r = record(ev, self.config)
            if r is not None and r["edited"]:
                self._yield_to_user(key, ev, r, report)
                return
            try:
                res = self.client.execute(self._delete_op(key, ev.get("etag")), f"deleting {key}")
            except GoogleApiError as e:
                res = e
        if isinstance(res, GoogleApiError) and res.status not in (404, 410):
            raise res
        self._ours_deleted.add(eid)
        if eid in self._records:
            self._records[eid] = dict(self._records[eid], status="cancelled")
        tx.delete_session(OUTPUT, key)
        report.deleted.append(key)


def _load(text: str | None) -> dict[str, Any] | None:
    if not text:
        return None
    try:
        data = json.loads(text)
    except ValueError:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("events"), dict):
        return None
    data.setdefault("ours_deleted", [])
    return data
