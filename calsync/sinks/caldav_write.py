"""Writing calsync's CalDAV calendar: carrying out the actions `calsync.diff` decided.

Nothing here decides what to create, move or delete. What it does decide is how to make
a write land exactly once over an unreliable network:
- each session is the resource `<key>.ics` (calsync.sinks.caldav_wire.resource_name),
  with the same UID and X-CALSYNC-KEY as the ICS file, plus the content hash and a
  fingerprint of what the user sees (X-CALSYNC-HASH / X-CALSYNC-FP);
- creates are `PUT If-None-Match: *`, updates `PUT If-Match: <etag>`, deletes
  `DELETE If-Match`, so a concurrent edit is never overwritten: a 412 is read back, and
  a user's edit stands (a pin). A write whose answer was lost (dropped connection,
  timeout, 5xx) is resolved by reading the resource back before anything is sent
  again, never by writing twice;
- calsync's own deletes are recorded in a small file beside the state before they are
  sent (`caldav-deleting.json`): the state only commits with the whole sync, and
  without that record a sync that fails after a delete would read its own deletion
  back as the user's. The reader takes them from `deleting`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path

from calsync import retry, uids
from calsync.diff import content_hash
from calsync.errors import CalsyncError, SinkError
from calsync.google.ids import fingerprint
from calsync.ics_write import render_object
from calsync.model import HISTORY_DAYS, Action, ActionKind, Session, StoredSession
from calsync.side_files import note_deletes, read_deletes
from calsync.sinks import caldav_wire as wire
from calsync.sinks.base import SinkReport
from calsync.sinks.caldav_read import OUTPUT, CaldavCalendar, alarm_text
from calsync.sinks.ics import OUTPUT as ICS_OUTPUT
from calsync.state import StateTx
from calsync.uids import Uids

log = logging.getLogger("calsync.sinks.caldav")  # the name its log lines have always had

DELETING_SIDECAR = "caldav-deleting.json"
_DELETING_HOLDS = "the CalDAV deletes calsync was making"
_NOBODY = wire.Remote(None)


@dataclass(frozen=True, slots=True)
class _Done:
    etag: str | None


@dataclass(frozen=True, slots=True)
class _Theirs:
    """The user changed (or deleted) the resource: it stands as they left it."""

    remote: wire.Remote | None


class _WriteAgain(retry.TransientError):
    """The resource changed under a conditional write (412): read it back, decide again."""


class CaldavWriter:
    """Carries out the actions on the calendar `cal` found, updating its records."""

    def __init__(self, cal: CaldavCalendar, state_dir: Path) -> None:
        self.cal = cal
        self.conn = cal.conn
        self.state_dir = state_dir
        self._uid_scheme: Uids | None = None
        # Set when a write found the user had changed the event since the snapshot.
        self.replan_needed = False

    def execute(
        self, actions: Sequence[Action], tx: StateTx, now: datetime, report: SinkReport
    ) -> None:
        todo: list[Action] = []
        for a in actions:
            if a.kind is ActionKind.KEEP:
                report.unchanged.append(a.key)
                continue
            # Not decisions but refusals, as in the Google sink: `calsync.diff` never
            # asks to write the past or what this sink did not report as its own, so
            # such an action is a bug; nothing is sent, and it is not dropped silently
            # (a silent skip would vanish from the report and from every count).
            if a.kind is ActionKind.CREATE:
                start = a.session.start if a.session is not None else None
            elif a.remote_id and self.cal.records.get(a.remote_id, _NOBODY).key == a.key:
                start = self.cal.records[a.remote_id].start
            else:
                raise SinkError(
                    f"{self.cal.label}: refusing to {a.kind} {a.key}: not an event calsync holds"
                )
            if start is None or start < now:
                raise SinkError(
                    f"{self.cal.label}: refusing to {a.kind} {a.key}: it started before now "
                    "(history is never written)"
                )
            todo.append(a)
        if not todo:
            return
        self.conn.guard(lambda: self.cal.ensure_calendar(tx))
        assert self.cal.url is not None
        deleting = {
            str(a.remote_id): self.cal.records[str(a.remote_id)].end
            for a in todo
            if a.kind is ActionKind.DELETE
        }
        if deleting:
            self._note_deleting(deleting, now)
        failures: list[str] = []
        for a in todo:
            try:
                self.conn.guard(lambda a=a: self._one(a, tx, now, report))  # type: ignore[misc]
            except CalsyncError as e:
                failures.append(f"{a.key}: {e.message}")
        self.cal.save_cache(tx, now)
        if failures:
            raise SinkError(
                f"{self.cal.label}: {len(failures)} change(s) failed:\n"
                + "\n".join(f"  - {f}" for f in failures)
            )

    def _href(self, key: str) -> str:
        assert self.cal.url is not None
        return self.cal.url + wire.resource_name(key)

    def _one(self, a: Action, tx: StateTx, now: datetime, report: SinkReport) -> None:
        url = self._href(a.key)
        path = wire.path_of(url, url)
        self.conn.target = url
        if a.kind is ActionKind.DELETE:
            res = self._delete(url, path, a.etag)
            if isinstance(res, _Theirs):
                return self._yield(a.key, path, res, report)
            self.cal.ours_deleted.add(path)
            self.cal.records.pop(path, None)
            self.cal.gone.discard(path)
            tx.delete_session(OUTPUT, a.key)
            report.deleted.append(a.key)
            return
        s = a.session
        assert s is not None
        old = tx.sessions(OUTPUT).get(s.key)
        moved = old is not None and (old.start, old.end) != (s.start, s.end)
        seq = (old.sequence + 1 if moved else old.sequence) if old else 0
        rec = StoredSession(
            key=s.key,
            start=s.start,
            end=s.end,
            content_hash=content_hash(s),
            sequence=seq,
            created=old.created if old else now,
            modified=now,
            remote_id=path,
        )
        held = self.cal.records.get(path)
        uid = held.uid if held is not None and held.key == s.key and held.uid else None
        body = self._body(s, rec, uid or self._uids(tx)(s.key))
        res = self._put(url, path, body, s, a.etag if a.kind is ActionKind.UPDATE else None)
        if isinstance(res, _Theirs):
            return self._yield(a.key, path, res, report)
        remote = wire.read_remote(path, res.etag, body.decode("utf-8"), self.cal.zone)
        self.cal.records[path] = remote
        self.cal.gone.discard(path)
        self.cal.ours_deleted.discard(path)
        tx.put_session(OUTPUT, _with_etag(rec, res.etag))
        (report.created if a.kind is ActionKind.CREATE else report.updated).append(a.key)

    def _uids(self, tx: StateTx) -> Uids:
        """The install's UIDs, shared with the ICS sink (made here when this runs first,
        with every key either sink wrote before namespaces kept as it was)."""
        if self._uid_scheme is None:
            written = set(tx.sessions(OUTPUT)) | set(tx.sessions(ICS_OUTPUT))
            self._uid_scheme = uids.for_install(tx, written, save=True)
        return self._uid_scheme

    def _body(self, s: Session, rec: StoredSession, uid: str) -> bytes:
        extra = {
            wire.HASH_PROP: content_hash(s),
            wire.FP_PROP: fingerprint(s.title, s.description or s.reason, s.start, s.end),
            wire.ALARM_PROP: alarm_text(self.cal.out.alarm_minutes),
        }
        return render_object(
            s, rec, self.cal.zone, alarm_minutes=self.cal.out.alarm_minutes, extra=extra, uid=uid
        )

    def _get(self, url: str, path: str) -> wire.Remote | None:
        """The resource as the server holds it now; None when there is none."""
        resp = self.conn.send("GET", url)
        if resp.status in (404, 410):
            return None
        if resp.status != 200:
            raise SinkError(f"{self.cal.label}: GET {url} answered HTTP {resp.status}")
        remote = wire.read_remote(path, resp.headers.get("ETag"), resp.raw, self.cal.zone)
        if remote.key is None:
            raise SinkError(f"{self.cal.label}: {url} holds an event calsync did not write")
        return remote

    def _holds(self, r: wire.Remote, s: Session) -> bool:
        return (
            not r.edited
            and r.content_hash == content_hash(s)
            and (r.start, r.end) == (s.start, s.end)
            and r.alarm == alarm_text(self.cal.out.alarm_minutes)
        )

    def _put(
        self, url: str, path: str, body: bytes, s: Session, etag: str | None
    ) -> _Done | _Theirs:
        """PUT `body`: If-None-Match when `etag` is None, else If-Match. A lost answer
        or a 412 is read back before anything is sent again."""
        attempts = 0
        cond: str | None = etag  # None: create

        def attempt() -> _Done | _Theirs:
            nonlocal attempts, cond
            attempts += 1
            if attempts > 1:
                now_there = self._get(url, path)
                if now_there is None:
                    if cond is not None:
                        return _Theirs(None)  # deleted while calsync was updating it
                elif self._holds(now_there, s):
                    return _Done(now_there.etag)  # an earlier attempt got through
                elif now_there.edited:
                    return _Theirs(now_there)
                else:
                    cond = now_there.etag or ""  # ours, an older version: update it
            headers = {"Content-Type": "text/calendar; charset=utf-8"}
            if cond is None:
                headers["If-None-Match"] = "*"
            else:
                headers["If-Match"] = cond
            resp = self.conn.send("PUT", url, body.decode("utf-8"), headers)
            if resp.status in (200, 201, 204):
                tag = resp.headers.get("ETag")
                if tag is None:  # some servers do not say: ask
                    got = self._get(url, path)
                    tag = got.etag if got is not None else None
                return _Done(tag)
            if resp.status == 412:
                raise _WriteAgain(f"PUT {url}: changed since read (412)")
            raise SinkError(f"{self.cal.label}: PUT {url} answered HTTP {resp.status}")

        result: _Done | _Theirs = retry.call(attempt, self.conn.policy)
        return result

    def _delete(self, url: str, path: str, etag: str | None) -> _Done | _Theirs:
        attempts = 0
        cond = etag

        def attempt() -> _Done | _Theirs:
            nonlocal attempts, cond
            attempts += 1
            if attempts > 1:
                now_there = self._get(url, path)
                if now_there is None:
                    return _Done(None)
                if now_there.edited:
                    return _Theirs(now_there)
                cond = now_there.etag
            headers = {"If-Match": cond} if cond else {}
            resp = self.conn.send("DELETE", url, "", headers)
            if resp.status in (200, 204, 404, 410):
                return _Done(None)
            if resp.status == 412:
                raise _WriteAgain(f"DELETE {url}: changed since read (412)")
            raise SinkError(f"{self.cal.label}: DELETE {url} answered HTTP {resp.status}")

        result: _Done | _Theirs = retry.call(attempt, self.conn.policy)
        return result

    def _yield(self, key: str, path: str, res: _Theirs, report: SinkReport) -> None:
        """The user changed the event during the sync: their version stands, and the next
        plan places around it."""
        if res.remote is None:
            self.cal.gone.add(path)
        else:
            self.cal.records[path] = res.remote
        log.warning("%s: session %s was changed during the sync; kept as is", self.cal.label, key)
        self.replan_needed = True
        report.unchanged.append(key)

    # ------------------------------------------------------------------ own deletes

    def _deleting_path(self) -> Path:
        return self.state_dir / DELETING_SIDECAR

    def deleting(self, url: str) -> set[str]:
        """The paths in the calendar at `url` of the deletes calsync was making."""
        return set(read_deletes(self._deleting_path(), holds=_DELETING_HOLDS).get(url, {}))

    def _note_deleting(self, ends: dict[str, datetime | None], now: datetime) -> None:
        """Record, durably and before sending them, the deletes calsync is about to make."""
        path = self._deleting_path()
        try:
            note_deletes(
                path,
                holds=_DELETING_HOLDS,
                scope=str(self.cal.url),
                ends={p: end or now for p, end in ends.items()},
                oldest=now - timedelta(days=HISTORY_DAYS),
            )
        except OSError as e:
            # Without the record a failure later in this sync would lose sessions.
            raise SinkError(f"cannot write {path}: {e.strerror or e}") from None


def _with_etag(rec: StoredSession, etag: str | None) -> StoredSession:
    return replace(rec, etag=etag)
