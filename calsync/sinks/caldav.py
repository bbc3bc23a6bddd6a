"""A calendar on a CalDAV server (iCloud, Fastmail, Nextcloud, Radicale...) as an output.

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
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from calsync import dav, retry, uids
from calsync.config import CaldavOutput, Config
from calsync.diff import content_hash
from calsync.errors import CalsyncError, SinkError
from calsync.google.ids import fingerprint
from calsync.ics_write import render_object
from calsync.model import HISTORY_DAYS, Action, ActionKind, PriorSession, Session, StoredSession
from calsync.side_files import note_deletes, read_deletes
from calsync.sinks import caldav_wire as wire
from calsync.sinks.base import ManagedEvent, SinkReport, SinkSnapshot
from calsync.sinks.caldav_records import CaldavCache
from calsync.sinks.ics import OUTPUT as ICS_OUTPUT
from calsync.state import StateTx
from calsync.uids import Uids

log = logging.getLogger(__name__)

OUTPUT = "caldav"
DELETING_SIDECAR = "caldav-deleting.json"
_DELETING_HOLDS = "the CalDAV deletes calsync was making"
MULTIGET_CHUNK = 100
_SYNC = "{DAV:}sync-collection"
# The server reads floating times and all-day dates in UTC; ours may be 14 h away.
_SERVER_MARGIN = timedelta(days=1)


def calendar_state_key(out: CaldavOutput) -> str:
    """The name under which the state file keeps the URL of the calendar calsync writes
    into (table `calendars`, output "caldav")."""
    return f"{out.username}@{out.url}#{out.calendar}"


@dataclass(frozen=True, slots=True)
class _Done:
    etag: str | None


@dataclass(frozen=True, slots=True)
class _Theirs:
    """The user changed (or deleted) the resource: it stands as they left it."""

    remote: wire.Remote | None


class _WriteAgain(retry.TransientError):
    """The resource changed under a conditional write (412): read it back, decide again."""


class CaldavSink:
    name = OUTPUT

    def __init__(self, config: Config) -> None:
        out = config.output_caldav
        if out is None:
            raise SinkError("no [output.caldav] in the configuration")
        self.config = config
        self.out = out
        self.zone = config.schedule.zone
        self.label = out.label
        url = dav.check_url(out.url, "[output.caldav]", SinkError)
        self.account = dav.DavAccount.make(
            url=url,
            username=out.username,
            password_file=out.password_file,
            timeout=out.timeout_seconds,
            label=self.label,
            what="[output.caldav]",
            error=SinkError,
        )
        self.policy = retry.Policy(
            max_attempts=5, max_seconds=max(20.0, 4 * out.timeout_seconds), initial_wait=0.5
        )
        self.requests = 0  # HTTP answers received (auth round trips included)
        self._client: Any = None
        self._cal_url: str | None = None  # absolute URL, ends in "/"
        self._cal: wire.Entry | None = None
        self._records: dict[str, wire.Remote] = {}  # path -> what we know of it
        self._gone: set[str] = set()  # paths of ours the user deleted
        self._ours_deleted: set[str] = set()
        self._target = self.account.url
        self._count0 = 0
        self._uid_scheme: Uids | None = None
        # Set when a write found the user had changed the event since the snapshot.
        self.replan_needed = False

    # ------------------------------------------------------------------ connection

    def _open(self) -> Any:
        if self._client is None:
            client = self.account.client(self.account.password())
            client.__enter__()

            def count(response: Any, *args: Any, **kwargs: Any) -> Any:
                self.requests += 1
                return response

            client.session.hooks.setdefault("response", []).append(count)
            self._client = client
        return self._client

    def close(self) -> None:
        if self._client is not None:
            try:
                self._client.__exit__(None, None, None)
            finally:
                self._client = None

    def _send(
        self, method: str, url: str, body: str = "", headers: dict[str, str] | None = None
    ) -> Any:
        """One request; 5xx and 429 become TransientError (the library raises 401/403)."""
        client = self._open()
        what = f"{method} {url}"
        resp = dav.transient(lambda: client.request(url, method, body, headers or {}), what)
        if resp.status >= 500 or resp.status == 429:
            ra = retry.parse_retry_after(resp.headers.get("Retry-After"))
            raise retry.TransientError(f"{what}: HTTP {resp.status}", retry_after=ra)
        return resp

    def _read_call(self, fn: Callable[[], Any]) -> Any:
        """A read, retried under the policy (reads are safe to repeat)."""
        return retry.call(fn, self.policy)

    def _fail(self, e: BaseException) -> CalsyncError:
        if isinstance(e, CalsyncError):
            return e
        if isinstance(e, retry.TransientError) and e.__cause__ is None:
            return SinkError(f"{self.label}: CalDAV server failed ({e})")
        return self.account.translate(e, self._target)

    def _guard(self, fn: Callable[[], Any]) -> Any:
        try:
            return fn()
        except dav.errors_to_translate() as e:
            raise self._fail(e) from None

    # ------------------------------------------------------------------ reading

    def snapshot(self, tx: StateTx, window: tuple[datetime, datetime]) -> SinkSnapshot:
        self._count0 = self.requests
        self._guard(lambda: self._locate(tx))
        if self._cal_url is None:
            return SinkSnapshot()
        self._guard(lambda: self._read(tx, window))
        return self._snapshot(window)

    def _propfind(self, url: str, body: str, depth: int) -> Any:
        def go() -> Any:
            headers = {"Depth": str(depth), "Content-Type": "application/xml; charset=utf-8"}
            return self._send("PROPFIND", url, body, headers)

        return self._read_call(go)

    def _probe(self, url: str) -> wire.Entry | None:
        """The calendar at `url`, or None when there is no calendar there."""
        self._target = url
        resp = self._propfind(url, wire.propfind_calendar(), 0)
        if resp.status == 404:
            return None
        if resp.status != 207:
            raise SinkError(f"{self.label}: PROPFIND {url} answered HTTP {resp.status}")
        path = wire.path_of(url, url)
        for e in wire.parse_multistatus(resp.tree).entries:
            if e.href.rstrip("/") == path.rstrip("/"):
                return e if e.is_calendar else None
        return None

    def _locate(self, tx: StateTx) -> None:
        out = self.out
        self._cal_url = None
        explicit = self.account.calendar_url(out.calendar)
        stored = tx.calendar(OUTPUT, calendar_state_key(out))
        for url in (explicit,) if explicit else (stored,):
            if url:
                entry = self._probe(url)
                if entry is not None:
                    self._use(tx, url, entry)
                    return
                if url == stored:
                    log.warning("%s: the calendar at %s is gone; looking by name", self.label, url)
        if explicit:
            return  # made at that URL when there is something to write
        found = self._read_call(lambda: dav.transient(self._by_name, self.account.url))
        if found is not None:
            url = str(found)
            entry = self._probe(url)
            if entry is not None:
                self._use(tx, url, entry)

    def _by_name(self) -> str | None:
        client = self._open()
        found = self.account.calendars(client)
        hit = self.account.by_name(found, self.out.calendar)
        return str(hit.url) if hit is not None else None

    def _use(self, tx: StateTx, url: str, entry: wire.Entry) -> None:
        url = url if url.endswith("/") else url + "/"
        key = calendar_state_key(self.out)
        if tx.calendar(OUTPUT, key) != url:
            tx.set_calendar(OUTPUT, key, url)
            tx.set_caldav_cache(url, None)
            tx.set_sync_token(self._scope(url), None)
        self._cal_url = url
        self._cal = entry
        self._target = url

    def _scope(self, url: str | None = None) -> str:
        return f"caldav:sink:{url or self._cal_url}"

    def _load_cache(self, tx: StateTx) -> bool:
        assert self._cal_url is not None
        cache = tx.caldav_cache(self._cal_url)
        self._records, self._gone, self._ours_deleted = {}, set(), set()
        if cache is None:
            return False
        self._records, self._gone, self._ours_deleted = (
            cache.records,
            cache.gone,
            cache.ours_deleted,
        )
        return True

    def _save_cache(self, tx: StateTx, now: datetime | None = None) -> None:
        if self._cal_url is None:
            return
        if now is not None:  # forget what ended long ago
            cutoff = now - timedelta(days=HISTORY_DAYS * 2)
            for p, r in list(self._records.items()):
                if r.end is not None and r.end < cutoff:
                    del self._records[p]
                    self._gone.discard(p)
        cache = CaldavCache(dict(self._records), set(self._gone), set(self._ours_deleted))
        tx.set_caldav_cache(self._cal_url, cache)

    def _read(self, tx: StateTx, window: tuple[datetime, datetime]) -> None:
        assert self._cal_url is not None and self._cal is not None
        had_cache = self._load_cache(tx)
        self._ours_deleted |= set(self._deleting().get(self._cal_url, {}))
        token = tx.sync_token(self._scope())
        changes: dict[str, str | None] | None = None  # path -> etag (None: gone)
        new_token: str | None = None
        full = True
        if _SYNC in self._cal.reports:
            if token and had_cache:
                got = self._sync_collection(token)
                if got is not None:
                    changes, new_token = got
                    full = False
            if full:
                got = self._sync_collection(None)
                if got is not None:
                    changes, new_token = got
        if changes is None:
            changes = self._query_etags(window)
            new_token = None
        if full:
            # Everything the answer does not name is gone; in the query fallback, only
            # what the query window covers can be known gone.
            for p, r in self._records.items():
                if p in changes:
                    continue
                if _SYNC in self._cal.reports or _overlaps(r, window, _SERVER_MARGIN):
                    changes[p] = None
        self._apply_changes(changes)
        tx.set_sync_token(self._scope(), new_token)
        self._save_cache(tx)

    def _sync_collection(self, token: str | None) -> tuple[dict[str, str | None], str] | None:
        """The changes since `token` (all members when None); None when the server will
        not answer from that token (expired: a full read follows)."""
        assert self._cal_url is not None
        url = self._cal_url

        def go() -> Any:
            headers = {"Depth": "1", "Content-Type": "application/xml; charset=utf-8"}
            return self._send("REPORT", url, wire.sync_collection(token), headers)

        from caldav.lib.error import AuthorizationError

        try:
            resp = self._read_call(go)
        except AuthorizationError as e:
            if e.status != 403:
                raise
            # RFC 6578: an expired token is a 403 (valid-sync-token); a server that does
            # not offer the report answers 403 too (supported-report).
            log.info("%s: sync-collection refused (403); %s", self.label,
                     "full read" if token else "calendar-query instead")  # fmt: skip
            return None
        if resp.status != 207:
            if token and resp.status in (400, 403, 409, 412, 507):
                log.info("%s: sync token refused (HTTP %s); full read", self.label, resp.status)
                return None
            if token is None and resp.status in (400, 403, 405, 501):
                return None  # offered, but not working: use the query
            raise SinkError(f"{self.label}: sync-collection answered HTTP {resp.status}")
        ms = wire.parse_multistatus(resp.tree)
        base = wire.path_of(url, url)
        changes: dict[str, str | None] = {}
        for entry in ms.entries:
            if entry.href.rstrip("/") == base.rstrip("/") or entry.href.endswith("/"):
                continue  # the collection itself
            changes[entry.href] = None if entry.status == 404 else entry.etag
        return changes, ms.sync_token or ""

    def _query_etags(self, window: tuple[datetime, datetime]) -> dict[str, str | None]:
        assert self._cal_url is not None
        url = self._cal_url
        body = wire.calendar_query(window[0] - _SERVER_MARGIN, window[1] + _SERVER_MARGIN)

        def go() -> Any:
            headers = {"Depth": "1", "Content-Type": "application/xml; charset=utf-8"}
            return self._send("REPORT", url, body, headers)

        resp = self._read_call(go)
        if resp.status != 207:
            raise SinkError(f"{self.label}: calendar-query answered HTTP {resp.status}")
        return {
            e.href: e.etag
            for e in wire.parse_multistatus(resp.tree).entries
            if e.status == 200 and not e.href.endswith("/")
        }

    def _apply_changes(self, changes: dict[str, str | None]) -> None:
        fetch = []
        for p, etag in sorted(changes.items()):
            have = self._records.get(p)
            if etag is None:
                if have is None:
                    continue
                if have.key is not None and p not in self._ours_deleted:
                    self._gone.add(p)  # ours, and calsync did not delete it: the user did
                    continue
                del self._records[p]
                self._gone.discard(p)
                continue
            if have is not None and have.etag == etag and p not in self._gone:
                continue
            fetch.append(p)
        for i in range(0, len(fetch), MULTIGET_CHUNK):
            for p, remote in self._multiget(fetch[i : i + MULTIGET_CHUNK]).items():
                self._records[p] = remote
                self._gone.discard(p)
                if remote.key is not None:
                    self._ours_deleted.discard(p)

    def _multiget(self, paths: Sequence[str]) -> dict[str, wire.Remote]:
        assert self._cal_url is not None
        url = self._cal_url

        def go() -> Any:
            headers = {"Depth": "1", "Content-Type": "application/xml; charset=utf-8"}
            return self._send("REPORT", url, wire.multiget(paths), headers)

        resp = self._read_call(go)
        if resp.status != 207:
            raise SinkError(f"{self.label}: calendar-multiget answered HTTP {resp.status}")
        out = {}
        for e in wire.parse_multistatus(resp.tree).entries:
            if e.status == 200 and e.data is not None:
                out[e.href] = wire.read_remote(e.href, e.etag, e.data, self.zone)
        return out

    def _snapshot(self, window: tuple[datetime, datetime]) -> SinkSnapshot:
        managed: dict[str, ManagedEvent] = {}
        pins: list[PriorSession] = []
        deleted: list[PriorSession] = []
        alarm = _alarm_text(self.out.alarm_minutes)
        for p, r in sorted(self._records.items(), key=lambda kv: (kv[1].start or _EPOCH, kv[0])):
            if r.key is None or r.start is None or r.end is None:
                continue
            if not (r.end > window[0] and r.start < window[1]):
                continue
            if p in self._gone:
                deleted.append(PriorSession(r.key, r.start, r.end))
                continue
            # An alarm setting that changed since calsync wrote it makes the event stale.
            h = r.content_hash if r.alarm == alarm else ""
            managed[r.key] = ManagedEvent(r.key, r.start, r.end, h, remote_id=p, etag=r.etag)
            if r.edited:
                pins.append(PriorSession(r.key, r.start, r.end, pinned=True))
        return SinkSnapshot(managed=managed, pins=pins, deleted_by_user=deleted)

    # ------------------------------------------------------------------ the calendar

    def _ensure_calendar(self, tx: StateTx) -> str:
        if self._cal_url is not None:
            return self._cal_url
        explicit = self.account.calendar_url(self.out.calendar)
        if explicit:
            url = explicit
        else:
            home = self._read_call(lambda: dav.transient(self._home, self.account.url))
            url = home + wire.slug(self.out.calendar) + "/"
        self._target = url
        attempts = 0
        from caldav.lib.error import AuthorizationError

        def make() -> wire.Entry:
            nonlocal attempts
            attempts += 1
            if attempts > 1:
                # The last MKCALENDAR's answer may have been lost: look before making.
                entry = self._probe(url)
                if entry is not None:
                    return entry
            try:
                resp = self._send(
                    "MKCALENDAR",
                    url,
                    wire.mkcalendar(self.out.calendar),
                    {"Content-Type": "application/xml; charset=utf-8"},
                )
                status = resp.status
            except AuthorizationError as e:
                if e.status != 403:
                    raise
                status = 403
            if status in (200, 201, 204):
                entry = self._probe(url)
                if entry is not None:
                    return entry
                raise SinkError(f"{self.label}: the calendar made at {url} cannot be read back")
            if status in (405, 409) or status == 403 and attempts > 1:
                entry = self._probe(url)  # made by an earlier attempt whose answer was lost
                if entry is not None:
                    return entry
            raise SinkError(
                f"{self.label}: the server refused to create the calendar "
                f"{self.out.calendar!r} (MKCALENDAR {url}: HTTP {status})",
                hint="create the calendar by hand in your calendar app, "
                "then name it in [output.caldav] calendar",
            )

        entry = retry.call(make, self.policy)
        log.info("%s: made calendar %s", self.label, url)
        self._use(tx, url, entry)
        self._records, self._gone, self._ours_deleted = {}, set(), set()
        return url

    def _home(self) -> str:
        principal = self._open().get_principal()
        home = str(principal.calendar_home_set.url)
        return home if home.endswith("/") else home + "/"

    # ------------------------------------------------------------------ writing

    def execute(
        self, actions: Sequence[Action], tx: StateTx, now: datetime, *, dry_run: bool = False
    ) -> SinkReport:
        report = SinkReport(name=self.name)
        try:
            if dry_run:
                for a in actions:
                    _bucket(report, a.kind).append(a.key)
            else:
                self._execute(actions, tx, now, report)
        finally:
            report.requests = self.requests - self._count0
            self.close()
        return report

    def _execute(
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
            elif a.remote_id and self._records.get(a.remote_id, _NOBODY).key == a.key:
                start = self._records[a.remote_id].start
            else:
                raise SinkError(
                    f"{self.label}: refusing to {a.kind} {a.key}: not an event calsync holds"
                )
            if start is None or start < now:
                raise SinkError(
                    f"{self.label}: refusing to {a.kind} {a.key}: it started before now "
                    "(history is never written)"
                )
            todo.append(a)
        if not todo:
            return
        self._guard(lambda: self._ensure_calendar(tx))
        assert self._cal_url is not None
        deleting = {
            str(a.remote_id): self._records[str(a.remote_id)].end
            for a in todo
            if a.kind is ActionKind.DELETE
        }
        if deleting:
            self._note_deleting(deleting, now)
        failures: list[str] = []
        for a in todo:
            try:
                self._guard(lambda a=a: self._one(a, tx, now, report))  # type: ignore[misc]
            except CalsyncError as e:
                failures.append(f"{a.key}: {e.message}")
        self._save_cache(tx, now)
        if failures:
            raise SinkError(
                f"{self.label}: {len(failures)} change(s) failed:\n"
                + "\n".join(f"  - {f}" for f in failures)
            )

    def _href(self, key: str) -> str:
        assert self._cal_url is not None
        return self._cal_url + wire.resource_name(key)

    def _one(self, a: Action, tx: StateTx, now: datetime, report: SinkReport) -> None:
        url = self._href(a.key)
        path = wire.path_of(url, url)
        self._target = url
        if a.kind is ActionKind.DELETE:
            res = self._delete(url, path, a.etag)
            if isinstance(res, _Theirs):
                return self._yield(a.key, path, res, report)
            self._ours_deleted.add(path)
            self._records.pop(path, None)
            self._gone.discard(path)
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
        held = self._records.get(path)
        uid = held.uid if held is not None and held.key == s.key and held.uid else None
        body = self._body(s, rec, uid or self._uids(tx)(s.key))
        res = self._put(url, path, body, s, a.etag if a.kind is ActionKind.UPDATE else None)
        if isinstance(res, _Theirs):
            return self._yield(a.key, path, res, report)
        self._records[path] = wire.read_remote(path, res.etag, body.decode("utf-8"), self.zone)
        self._gone.discard(path)
        self._ours_deleted.discard(path)
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
            wire.ALARM_PROP: _alarm_text(self.out.alarm_minutes),
        }
        return render_object(
            s, rec, self.zone, alarm_minutes=self.out.alarm_minutes, extra=extra, uid=uid
        )

    def _get(self, url: str, path: str) -> wire.Remote | None:
        """The resource as the server holds it now; None when there is none."""
        resp = self._send("GET", url)
        if resp.status in (404, 410):
            return None
        if resp.status != 200:
            raise SinkError(f"{self.label}: GET {url} answered HTTP {resp.status}")
        remote = wire.read_remote(path, resp.headers.get("ETag"), resp.raw, self.zone)
        if remote.key is None:
            raise SinkError(f"{self.label}: {url} holds an event calsync did not write")
        return remote

    def _holds(self, r: wire.Remote, s: Session) -> bool:
        return (
            not r.edited
            and r.content_hash == content_hash(s)
            and (r.start, r.end) == (s.start, s.end)
            and r.alarm == _alarm_text(self.out.alarm_minutes)
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
            resp = self._send("PUT", url, body.decode("utf-8"), headers)
            if resp.status in (200, 201, 204):
                tag = resp.headers.get("ETag")
                if tag is None:  # some servers do not say: ask
                    got = self._get(url, path)
                    tag = got.etag if got is not None else None
                return _Done(tag)
            if resp.status == 412:
                raise _WriteAgain(f"PUT {url}: changed since read (412)")
            raise SinkError(f"{self.label}: PUT {url} answered HTTP {resp.status}")

        result: _Done | _Theirs = retry.call(attempt, self.policy)
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
            resp = self._send("DELETE", url, "", headers)
            if resp.status in (200, 204, 404, 410):
                return _Done(None)
            if resp.status == 412:
                raise _WriteAgain(f"DELETE {url}: changed since read (412)")
            raise SinkError(f"{self.label}: DELETE {url} answered HTTP {resp.status}")

        result: _Done | _Theirs = retry.call(attempt, self.policy)
        return result

    def _yield(self, key: str, path: str, res: _Theirs, report: SinkReport) -> None:
        """The user changed the event during the sync: their version stands, and the next
        plan places around it."""
        if res.remote is None:
            self._gone.add(path)
        else:
            self._records[path] = res.remote
        log.warning("%s: session %s was changed during the sync; kept as is", self.label, key)
        self.replan_needed = True
        report.unchanged.append(key)

    # ------------------------------------------------------------------ own deletes

    def _deleting_path(self) -> Path:
        return self.config.state_dir / DELETING_SIDECAR

    def _deleting(self) -> dict[str, dict[str, str]]:
        return read_deletes(self._deleting_path(), holds=_DELETING_HOLDS)

    def _note_deleting(self, ends: dict[str, datetime | None], now: datetime) -> None:
        """Record, durably and before sending them, the deletes calsync is about to make."""
        path = self._deleting_path()
        try:
            note_deletes(
                path,
                holds=_DELETING_HOLDS,
                scope=str(self._cal_url),
                ends={p: end or now for p, end in ends.items()},
                oldest=now - timedelta(days=HISTORY_DAYS),
            )
        except OSError as e:
            # Without the record a failure later in this sync would lose sessions.
            raise SinkError(f"cannot write {path}: {e.strerror or e}") from None

    # ------------------------------------------------------------------ doctor

    def doctor(self) -> list[str]:
        """Lines for `calsync doctor`: the connection, the calendar, the privileges."""
        lines: list[str] = []
        try:
            url = self._guard(self._doctor_calendar)
        except CalsyncError as e:
            return [f"caldav:    FAILED: {e}"]
        finally:
            self.close()
        lines.extend(url)
        return lines

    def _doctor_calendar(self) -> list[str]:
        who = self.out.username or "anonymous"
        lines = [f"caldav:    connected to {self.account.url} as {who}"]
        explicit = self.account.calendar_url(self.out.calendar)
        url = explicit or self._read_call(lambda: dav.transient(self._by_name, self.account.url))
        entry = self._probe(url) if url else None
        if entry is None or url is None:
            home = explicit or self._read_call(lambda: dav.transient(self._home, self.account.url))
            resp = self._propfind(home, wire.propfind_privileges(), 0)
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
        sync = "sync-collection" if _SYNC in entry.reports else "calendar-query"
        lines.append(f"caldav:    calendar {self.out.calendar!r} at {url}; reads by {sync}")
        lines.append(
            "caldav:    privileges: "
            + ("can write events" if ok else "MISSING write privileges on this calendar")
        )
        return lines


# --------------------------------------------------------------------------- helpers

_EPOCH = datetime(1970, 1, 1).astimezone()
_NOBODY = wire.Remote(None)


def _alarm_text(minutes: int | None) -> str:
    return "" if minutes is None else str(minutes)


def _overlaps(r: wire.Remote, window: tuple[datetime, datetime], margin: timedelta) -> bool:
    if r.start is None or r.end is None:
        return True
    return r.end > window[0] - margin and r.start < window[1] + margin


def _with_etag(rec: StoredSession, etag: str | None) -> StoredSession:
    from dataclasses import replace

    return replace(rec, etag=etag)


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
