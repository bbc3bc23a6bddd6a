"""Reading the CalDAV calendar calsync writes to: which calendar, and what it holds.

- The calendar (`[output.caldav] calendar`) is found by the URL the state file keeps,
  else by its display name among the principal's calendars; only when neither finds it
  is it made (`ensure_calendar`, on the first write), with MKCALENDAR at a URL derived
  from the name (`calsync-<name>/`), so a retry after a lost answer finds the first one
  instead of making a second. A server that refuses MKCALENDAR gets a message saying to
  make the calendar by hand.
- Reading is incremental where the server offers sync-collection (RFC 6578): the
  changes since the last token, then one calendar-multiget of what changed. Elsewhere,
  a calendar-query over the window lists ETags and only changed resources are fetched.
  What calsync knows of the calendar (`CaldavCache`) is kept in the state file between
  syncs; the writer (`caldav_write.CaldavWriter`) updates the same records as it writes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from calsync import dav, retry
from calsync.config import CaldavOutput
from calsync.errors import SinkError
from calsync.model import HISTORY_DAYS, ManagedEvent, PriorSession, SinkSnapshot
from calsync.sinks import caldav_wire as wire
from calsync.sinks.caldav_connection import CaldavConnection
from calsync.sinks.caldav_records import CaldavCache
from calsync.state import StateTx

log = logging.getLogger("calsync.sinks.caldav")  # the name its log lines have always had

OUTPUT = "caldav"
MULTIGET_CHUNK = 100
SYNC_REPORT = "{DAV:}sync-collection"
# The server reads floating times and all-day dates in UTC; ours may be 14 h away.
_SERVER_MARGIN = timedelta(days=1)
_EPOCH = datetime(1970, 1, 1).astimezone()


def calendar_state_key(out: CaldavOutput) -> str:
    """The name under which the state file keeps the URL of the calendar calsync writes
    into (table `calendars`, output "caldav")."""
    return f"{out.username}@{out.url}#{out.calendar}"


def alarm_text(minutes: int | None) -> str:
    return "" if minutes is None else str(minutes)


class CaldavCalendar:
    """What calsync knows of its CalDAV calendar: its URL and its resources' records."""

    def __init__(self, conn: CaldavConnection, out: CaldavOutput, zone: ZoneInfo) -> None:
        self.conn = conn
        self.out = out
        self.zone = zone
        self.label = out.label
        self.url: str | None = None  # absolute URL, ends in "/"
        self.entry: wire.Entry | None = None
        self.records: dict[str, wire.Remote] = {}  # path -> what we know of it
        self.gone: set[str] = set()  # paths of ours the user deleted
        self.ours_deleted: set[str] = set()

    # ------------------------------------------------------------------ reading

    def propfind(self, url: str, body: str, depth: int) -> Any:
        def go() -> Any:
            headers = {"Depth": str(depth), "Content-Type": "application/xml; charset=utf-8"}
            return self.conn.send("PROPFIND", url, body, headers)

        return self.conn.read_call(go)

    def probe(self, url: str) -> wire.Entry | None:
        """The calendar at `url`, or None when there is no calendar there."""
        self.conn.target = url
        resp = self.propfind(url, wire.propfind_calendar(), 0)
        if resp.status == 404:
            return None
        if resp.status != 207:
            raise SinkError(f"{self.label}: PROPFIND {url} answered HTTP {resp.status}")
        path = wire.path_of(url, url)
        for e in wire.parse_multistatus(resp.tree).entries:
            if e.href.rstrip("/") == path.rstrip("/"):
                return e if e.is_calendar else None
        return None

    def locate(self, tx: StateTx) -> None:
        out = self.out
        self.url = None
        explicit = self.conn.account.calendar_url(out.calendar)
        stored = tx.calendar(OUTPUT, calendar_state_key(out))
        for url in (explicit,) if explicit else (stored,):
            if url:
                entry = self.probe(url)
                if entry is not None:
                    self._use(tx, url, entry)
                    return
                if url == stored:
                    log.warning("%s: the calendar at %s is gone; looking by name", self.label, url)
        if explicit:
            return  # made at that URL when there is something to write
        found = self.conn.read_call(lambda: dav.transient(self.by_name, self.conn.account.url))
        if found is not None:
            url = str(found)
            entry = self.probe(url)
            if entry is not None:
                self._use(tx, url, entry)

    def by_name(self) -> str | None:
        client = self.conn.open()
        found = self.conn.account.calendars(client)
        hit = self.conn.account.by_name(found, self.out.calendar)
        return str(hit.url) if hit is not None else None

    def _use(self, tx: StateTx, url: str, entry: wire.Entry) -> None:
        url = url if url.endswith("/") else url + "/"
        key = calendar_state_key(self.out)
        if tx.calendar(OUTPUT, key) != url:
            tx.set_calendar(OUTPUT, key, url)
            tx.set_caldav_cache(url, None)
            tx.set_sync_token(self._scope(url), None)
        self.url = url
        self.entry = entry
        self.conn.target = url

    def _scope(self, url: str | None = None) -> str:
        return f"caldav:sink:{url or self.url}"

    def _load_cache(self, tx: StateTx) -> bool:
        assert self.url is not None
        cache = tx.caldav_cache(self.url)
        self.records, self.gone, self.ours_deleted = {}, set(), set()
        if cache is None:
            return False
        self.records, self.gone, self.ours_deleted = (
            cache.records,
            cache.gone,
            cache.ours_deleted,
        )
        return True

    def save_cache(self, tx: StateTx, now: datetime | None = None) -> None:
        if self.url is None:
            return
        if now is not None:  # forget what ended long ago
            cutoff = now - timedelta(days=HISTORY_DAYS * 2)
            for p, r in list(self.records.items()):
                if r.end is not None and r.end < cutoff:
                    del self.records[p]
                    self.gone.discard(p)
        cache = CaldavCache(dict(self.records), set(self.gone), set(self.ours_deleted))
        tx.set_caldav_cache(self.url, cache)

    def read(
        self, tx: StateTx, window: tuple[datetime, datetime], in_flight: Callable[[str], set[str]]
    ) -> None:
        """Bring the records up to date; `in_flight(url)`: the paths of the deletes
        calsync was making there (the writer's record), its own and not the user's."""
        assert self.url is not None and self.entry is not None
        had_cache = self._load_cache(tx)
        self.ours_deleted |= in_flight(self.url)
        token = tx.sync_token(self._scope())
        changes: dict[str, str | None] | None = None  # path -> etag (None: gone)
        new_token: str | None = None
        full = True
        if SYNC_REPORT in self.entry.reports:
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
            for p, r in self.records.items():
                if p in changes:
                    continue
                if SYNC_REPORT in self.entry.reports or _overlaps(r, window, _SERVER_MARGIN):
                    changes[p] = None
        self._apply_changes(changes)
        tx.set_sync_token(self._scope(), new_token)
        self.save_cache(tx)

    def _sync_collection(self, token: str | None) -> tuple[dict[str, str | None], str] | None:
        """The changes since `token` (all members when None); None when the server will
        not answer from that token (expired: a full read follows)."""
        assert self.url is not None
        url = self.url

        def go() -> Any:
            headers = {"Depth": "1", "Content-Type": "application/xml; charset=utf-8"}
            return self.conn.send("REPORT", url, wire.sync_collection(token), headers)

        from caldav.lib.error import AuthorizationError

        try:
            resp = self.conn.read_call(go)
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
        assert self.url is not None
        url = self.url
        body = wire.calendar_query(window[0] - _SERVER_MARGIN, window[1] + _SERVER_MARGIN)

        def go() -> Any:
            headers = {"Depth": "1", "Content-Type": "application/xml; charset=utf-8"}
            return self.conn.send("REPORT", url, body, headers)

        resp = self.conn.read_call(go)
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
            have = self.records.get(p)
            if etag is None:
                if have is None:
                    continue
                if have.key is not None and p not in self.ours_deleted:
                    self.gone.add(p)  # ours, and calsync did not delete it: the user did
                    continue
                del self.records[p]
                self.gone.discard(p)
                continue
            if have is not None and have.etag == etag and p not in self.gone:
                continue
            fetch.append(p)
        for i in range(0, len(fetch), MULTIGET_CHUNK):
            for p, remote in self._multiget(fetch[i : i + MULTIGET_CHUNK]).items():
                self.records[p] = remote
                self.gone.discard(p)
                if remote.key is not None:
                    self.ours_deleted.discard(p)

    def _multiget(self, paths: Sequence[str]) -> dict[str, wire.Remote]:
        assert self.url is not None
        url = self.url

        def go() -> Any:
            headers = {"Depth": "1", "Content-Type": "application/xml; charset=utf-8"}
            return self.conn.send("REPORT", url, wire.multiget(paths), headers)

        resp = self.conn.read_call(go)
        if resp.status != 207:
            raise SinkError(f"{self.label}: calendar-multiget answered HTTP {resp.status}")
        out = {}
        for e in wire.parse_multistatus(resp.tree).entries:
            if e.status == 200 and e.data is not None:
                out[e.href] = wire.read_remote(e.href, e.etag, e.data, self.zone)
        return out

    def snapshot(self, window: tuple[datetime, datetime]) -> SinkSnapshot:
        managed: dict[str, ManagedEvent] = {}
        pins: list[PriorSession] = []
        deleted: list[PriorSession] = []
        alarm = alarm_text(self.out.alarm_minutes)
        for p, r in sorted(self.records.items(), key=lambda kv: (kv[1].start or _EPOCH, kv[0])):
            if r.key is None or r.start is None or r.end is None:
                continue
            if not (r.end > window[0] and r.start < window[1]):
                continue
            if p in self.gone:
                deleted.append(PriorSession(r.key, r.start, r.end))
                continue
            # An alarm setting that changed since calsync wrote it makes the event stale.
            h = r.content_hash if r.alarm == alarm else ""
            managed[r.key] = ManagedEvent(r.key, r.start, r.end, h, remote_id=p, etag=r.etag)
            if r.edited:
                pins.append(PriorSession(r.key, r.start, r.end, pinned=True))
        return SinkSnapshot(managed=managed, pins=pins, deleted_by_user=deleted)

    # ------------------------------------------------------------------ making it

    def ensure_calendar(self, tx: StateTx) -> str:
        if self.url is not None:
            return self.url
        explicit = self.conn.account.calendar_url(self.out.calendar)
        if explicit:
            url = explicit
        else:
            home = self.conn.read_call(lambda: dav.transient(self.home, self.conn.account.url))
            url = home + wire.slug(self.out.calendar) + "/"
        self.conn.target = url
        attempts = 0
        from caldav.lib.error import AuthorizationError

        def make() -> wire.Entry:
            nonlocal attempts
            attempts += 1
            if attempts > 1:
                # The last MKCALENDAR's answer may have been lost: look before making.
                entry = self.probe(url)
                if entry is not None:
                    return entry
            try:
                resp = self.conn.send(
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
                entry = self.probe(url)
                if entry is not None:
                    return entry
                raise SinkError(f"{self.label}: the calendar made at {url} cannot be read back")
            if status in (405, 409) or status == 403 and attempts > 1:
                entry = self.probe(url)  # made by an earlier attempt whose answer was lost
                if entry is not None:
                    return entry
            raise SinkError(
                f"{self.label}: the server refused to create the calendar "
                f"{self.out.calendar!r} (MKCALENDAR {url}: HTTP {status})",
                hint="create the calendar by hand in your calendar app, "
                "then name it in [output.caldav] calendar",
            )

        entry = retry.call(make, self.conn.policy)
        log.info("%s: made calendar %s", self.label, url)
        self._use(tx, url, entry)
        self.records, self.gone, self.ours_deleted = {}, set(), set()
        return url

    def home(self) -> str:
        principal = self.conn.open().get_principal()
        home = str(principal.calendar_home_set.url)
        return home if home.endswith("/") else home + "/"


def _overlaps(r: wire.Remote, window: tuple[datetime, datetime], margin: timedelta) -> bool:
    if r.start is None or r.end is None:
        return True
    return r.end > window[0] - margin and r.start < window[1] + margin
