"""The state store: one SQLite file holding what calsync wrote and what it cached.

What lives here: the sessions each output holds (key, times, content hash, SEQUENCE,
created/modified times, remote ids), the last plan (for planner stability), HTTP caches
of ICS sources, sync tokens, a log of syncs, and the rendered feed documents the feed
server serves; in typed tables of their own (`state_records`), the last plan's texts and
skipped sessions, the install's UID namespace, the remote calendars and the sinks' and
the Google source's caches. The schema and its migrations: `state_schema`.

Why it is shaped like this:
- One `writer()` per sync: an OS file lock (so two calsync processes never interleave)
  around one `BEGIN IMMEDIATE` transaction, committed only when the sync finished. A
  crash or an exception anywhere leaves the previous state exactly as it was.
- WAL mode, so a `reader()` (the feed server, `calsync status`) sees the last committed
  state while a sync writes.
- A schema version (`PRAGMA user_version`) and an ordered list of migrations from
  version 0, run on open; a file from a newer calsync is refused instead of damaged.
- Datetimes are stored as ISO 8601 in UTC with the offset written out (state_records'
  tables keep the offset a time was read with, as the values schema 2 kept did).
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import sqlite3
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from calsync import state_guard, state_lock
from calsync.errors import DiskFullError, StateError
from calsync.model import PriorSession, StoredSession
from calsync.state_records import RecordsTx, RecordsView

# The schema lives in state_schema; its names are re-exported for existing importers.
from calsync.state_schema import MIGRATIONS as MIGRATIONS
from calsync.state_schema import SCHEMA_VERSION, _refuse_foreign
from calsync.state_schema import Migration as Migration
from calsync.state_schema import migrate as migrate

log = logging.getLogger(__name__)

# --------------------------------------------------------------------------- values


@dataclass(frozen=True, slots=True)
class CachedSource:
    """The last body fetched from a URL source, with its HTTP validators."""

    url: str
    etag: str | None
    last_modified: str | None
    body: bytes
    fetched_at: datetime


@dataclass(frozen=True, slots=True)
class SyncRecord:
    at: datetime
    ok: bool
    message: str
    created: int = 0
    updated: int = 0
    deleted: int = 0


@dataclass(frozen=True, slots=True)
class FeedDoc:
    """A rendered feed document ("strength.ics", "busy.ics") for the feed server."""

    name: str
    body: bytes
    etag: str
    modified: datetime


# How many sync records to keep: enough for `calsync status` history, not a growing log.
SYNC_LOG_KEEP = 200


# --------------------------------------------------------------------------- helpers


def _ts(d: datetime) -> str:
    if d.tzinfo is None:
        raise ValueError(f"naive datetime {d!r} cannot be stored")
    return d.astimezone(UTC).isoformat()


def _dt(s: str) -> datetime:
    d = datetime.fromisoformat(s)
    if d.tzinfo is None:  # everything is stored with its offset; naive is a damaged row
        raise ValueError(f"{s!r} has no UTC offset")
    return d


# --------------------------------------------------------------------------- views


class StateView(RecordsView):
    """Read access to one consistent snapshot of the state (the typed records of
    texts, skipped sessions, calendars and caches: `state_records.RecordsView`)."""

    def sessions(self, output: str) -> dict[str, StoredSession]:
        rows = self._conn.execute(
            'SELECT key, start, "end", content_hash, sequence, created, modified, remote_id,'
            " etag, status FROM sessions WHERE output = ? ORDER BY start, key",
            (output,),
        ).fetchall()
        with self._decoding("sessions"):
            return {
                r[0]: StoredSession(
                    key=r[0],
                    start=_dt(r[1]),
                    end=_dt(r[2]),
                    content_hash=r[3],
                    sequence=int(r[4]),
                    created=_dt(r[5]),
                    modified=_dt(r[6]),
                    remote_id=r[7],
                    etag=r[8],
                    status=r[9],
                )
                for r in rows
            }

    def planned(self) -> list[PriorSession]:
        rows = self._conn.execute(
            'SELECT key, start, "end", pinned FROM planned ORDER BY start, key'
        ).fetchall()
        with self._decoding("planned"):
            return [PriorSession(r[0], _dt(r[1]), _dt(r[2]), bool(r[3])) for r in rows]

    def holds_history(self) -> bool:
        """Has a sync ever written anything: a session recorded, or the install's UID
        namespace made? (False for a lost, emptied or newly made state.)"""
        from calsync import uids

        if self._conn.execute("SELECT 1 FROM sessions LIMIT 1").fetchone() is not None:
            return True
        return uids.load(self) is not None

    def source_cache(self, url: str) -> CachedSource | None:
        row = self._conn.execute(
            "SELECT url, etag, last_modified, body, fetched_at FROM source_cache WHERE url = ?",
            (url,),
        ).fetchone()
        if row is None:
            return None
        with self._decoding("source_cache"):
            return CachedSource(row[0], row[1], row[2], bytes(row[3]), _dt(row[4]))

    def sync_token(self, scope: str) -> str | None:
        row = self._conn.execute(
            "SELECT token FROM sync_tokens WHERE scope = ?", (scope,)
        ).fetchone()
        return None if row is None else str(row[0])

    def last_sync(self) -> SyncRecord | None:
        row = self._conn.execute(
            "SELECT at, ok, message, created, updated, deleted FROM sync_log"
            " ORDER BY id DESC LIMIT 1"
        ).fetchone()
        if row is None:
            return None
        with self._decoding("sync_log"):
            return SyncRecord(_dt(row[0]), bool(row[1]), row[2], row[3], row[4], row[5])

    def feed(self, name: str) -> FeedDoc | None:
        row = self._conn.execute(
            "SELECT name, body, etag, modified FROM feeds WHERE name = ?", (name,)
        ).fetchone()
        if row is None:
            return None
        with self._decoding("feeds"):
            return FeedDoc(row[0], bytes(row[1]), row[2], _dt(row[3]))


class StateTx(StateView, RecordsTx):
    """The sync's one write transaction: everything commits together or not at all.

    What must happen only once the transaction is committed (publishing a file that shows
    the new state) is handed to `after_commit`: `StateStore.writer` runs it after a
    successful COMMIT, still holding the lock, so two syncs never publish out of order.
    """

    def __init__(self, conn: sqlite3.Connection, path: Path, *, dry_run: bool = False) -> None:
        super().__init__(conn, path)
        self.dry_run = dry_run
        self._after: list[tuple[Callable[[], None], Callable[[], None] | None]] = []

    def after_commit(
        self, fn: Callable[[], None], *, undo: Callable[[], None] | None = None
    ) -> None:
        """Run `fn` once this transaction has committed, after the callbacks registered
        before it. Never on a rollback and never in a dry run: `undo` runs instead (say,
        to remove a staged temp file)."""
        self._after.append((fn, undo))

    def _committed(self) -> None:
        """Run the after-commit callbacks in order. If one raises, the rest are undone and
        the first error is raised: the state is committed, the file is not yet."""
        pending = list(self._after)
        self._after.clear()
        if self.dry_run:
            _undo_all(pending)
            return
        for i, (fn, _undo) in enumerate(pending):
            try:
                fn()
            except BaseException:
                _undo_all(pending[i + 1 :])
                raise

    def _rolled_back(self) -> None:
        pending = list(self._after)
        self._after.clear()
        _undo_all(pending)

    def put_session(self, output: str, s: StoredSession) -> None:
        self._conn.execute(
            'INSERT OR REPLACE INTO sessions (output, key, start, "end", content_hash, sequence,'
            " created, modified, remote_id, etag, status) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            (
                output,
                s.key,
                _ts(s.start),
                _ts(s.end),
                s.content_hash,
                s.sequence,
                _ts(s.created),
                _ts(s.modified),
                s.remote_id,
                s.etag,
                s.status,
            ),
        )

    def delete_session(self, output: str, key: str) -> None:
        self._conn.execute("DELETE FROM sessions WHERE output = ? AND key = ?", (output, key))

    def set_planned(self, sessions: Sequence[PriorSession]) -> None:
        self._conn.execute("DELETE FROM planned")
        self._conn.executemany(
            'INSERT OR REPLACE INTO planned (key, start, "end", pinned) VALUES (?,?,?,?)',
            [(s.key, _ts(s.start), _ts(s.end), int(s.pinned)) for s in sessions],
        )

    def put_source_cache(self, c: CachedSource) -> None:
        self._conn.execute(
            "INSERT OR REPLACE INTO source_cache (url, etag, last_modified, body, fetched_at)"
            " VALUES (?,?,?,?,?)",
            (c.url, c.etag, c.last_modified, c.body, _ts(c.fetched_at)),
        )

    def set_sync_token(self, scope: str, token: str | None) -> None:
        if token is None:
            self._conn.execute("DELETE FROM sync_tokens WHERE scope = ?", (scope,))
        else:
            self._conn.execute(
                "INSERT OR REPLACE INTO sync_tokens (scope, token) VALUES (?, ?)", (scope, token)
            )

    def record_sync(self, r: SyncRecord) -> None:
        self._conn.execute(
            "INSERT INTO sync_log (at, ok, message, created, updated, deleted)"
            " VALUES (?,?,?,?,?,?)",
            (_ts(r.at), int(r.ok), r.message, r.created, r.updated, r.deleted),
        )
        self._conn.execute(
            "DELETE FROM sync_log WHERE id <= (SELECT MAX(id) FROM sync_log) - ?",
            (SYNC_LOG_KEEP,),
        )

    def put_feed(self, doc: FeedDoc) -> None:
        self._conn.execute(
            "INSERT OR REPLACE INTO feeds (name, body, etag, modified) VALUES (?,?,?,?)",
            (doc.name, doc.body, doc.etag, _ts(doc.modified)),
        )


# --------------------------------------------------------------------------- store


class StateStore:
    """The state file. Opening it creates it (0600, parent 0700) and migrates it."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.lock_path = state_lock.lock_path_of(self.path)
        try:
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            os.close(fd)
        except OSError as e:
            if state_guard.is_disk_full(e):
                raise DiskFullError(self.path) from None
            raise StateError(f"{self.path}: cannot create the state file: {e}") from None
        conn = self._connect()
        try:
            # A damaged file is refused before anything reads or migrates it.
            state_guard.open_check(conn, self.path)
            version = int(conn.execute("PRAGMA user_version").fetchone()[0])
            if version > SCHEMA_VERSION:
                raise StateError(
                    f"{self.path} was written by a newer calsync (schema {version});"
                    " upgrade calsync",
                    hint=f"this calsync understands schema {SCHEMA_VERSION} and older",
                )
            if version == 0:
                _refuse_foreign(conn, self.path)
            if version < SCHEMA_VERSION:
                conn.execute("PRAGMA journal_mode = WAL")
                migrate(conn, self.path)
        except state_guard.SQLITE_FAILURES as e:
            raise state_guard.translate(e, self.path, "not a calsync state file") from None
        finally:
            conn.close()

    def _connect(self) -> sqlite3.Connection:
        try:
            # isolation_level=None: we issue BEGIN/COMMIT ourselves, exactly once per sync.
            conn = sqlite3.connect(self.path, timeout=30.0, isolation_level=None)
            # Every text read back is decoded strictly: a damaged value is a StateError.
            conn.text_factory = state_guard.strict_text
            conn.execute("PRAGMA foreign_keys = ON")
            conn.execute("PRAGMA synchronous = FULL")
        except state_guard.SQLITE_FAILURES as e:
            raise state_guard.translate(e, self.path, "cannot open the state file") from None
        return conn

    @contextlib.contextmanager
    def writer(self, *, wait_seconds: float = 10.0, dry_run: bool = False) -> Iterator[StateTx]:
        """The sync's exclusive write transaction: commit on normal exit, else roll back.

        After a successful COMMIT, and before the lock is let go, the transaction's
        `after_commit` callbacks run (not in a `dry_run`).
        """
        with state_lock.hold(self.path, wait_seconds):
            conn = self._connect()
            try:
                try:
                    conn.execute("BEGIN IMMEDIATE")
                except state_guard.SQLITE_FAILURES as e:
                    doing = "cannot start a transaction"
                    raise state_guard.translate(e, self.path, doing) from None
                tx = StateTx(conn, self.path, dry_run=dry_run)
                try:
                    yield tx
                except sqlite3.DatabaseError as e:
                    # A read or write of the sync's own (a damaged row, a full disk while
                    # SQLite spills its cache): the state's error, not an internal one.
                    _rollback(conn)
                    tx._rolled_back()
                    raise state_guard.translate(e, self.path, "cannot update the state") from None
                except BaseException as e:
                    _rollback(conn)
                    tx._rolled_back()
                    if _disk_full(e):
                        raise DiskFullError(self.path) from None
                    raise
                try:
                    conn.execute("COMMIT")
                except state_guard.SQLITE_FAILURES as e:
                    _rollback(conn)
                    tx._rolled_back()
                    raise state_guard.translate(e, self.path, "cannot save the state") from None
            finally:
                conn.close()
            sys.audit("calsync.state.committed", str(self.path))  # a point tests kill at
            tx._committed()

    @contextlib.contextmanager
    def reader(self) -> Iterator[StateView]:
        """A read-only snapshot of the last committed state (never waits for a writer)."""
        conn = self._connect()
        try:
            conn.execute("PRAGMA query_only = ON")
            conn.execute("BEGIN")  # deferred: the first read fixes the snapshot
            try:
                yield StateView(conn, self.path)
            finally:
                conn.execute("ROLLBACK")
        except sqlite3.DatabaseError as e:
            raise state_guard.translate(e, self.path, "cannot read the state") from None
        finally:
            conn.close()

    def close(self) -> None:
        """Nothing stays open between transactions; kept for symmetry with other stores."""


def _disk_full(e: BaseException) -> bool:
    """SQLite's "database or disk is full" (SQLITE_FULL), or the OS's ENOSPC/EDQUOT."""
    if isinstance(e, sqlite3.Error):
        return getattr(e, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL
    return isinstance(e, OSError) and e.errno in (errno.ENOSPC, errno.EDQUOT)


def _undo_all(pending: Sequence[tuple[Callable[[], None], Callable[[], None] | None]]) -> None:
    """Run the `undo` of callbacks that will not run; quietly, since an error is already
    on its way (or nothing is wrong: a dry run)."""
    for _fn, undo in pending:
        if undo is not None:
            with contextlib.suppress(Exception):
                undo()


def _rollback(conn: sqlite3.Connection) -> None:
    """Roll back, quietly: SQLite may have ended the transaction itself after an error
    ("no transaction is active"), and the error that got us here is the one to report."""
    with contextlib.suppress(sqlite3.Error):
        conn.execute("ROLLBACK")
