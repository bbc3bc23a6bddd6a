"""Typed access to what the syncs remember besides sessions (schema 3's tables).

The session texts and skipped sessions of the last plan, the install's UID namespace,
the remote calendar each output writes into, and the caches the Google and CalDAV sinks
and the Google source keep of their calendars. Until schema 2 these were JSON blobs in
a key/value table; `state_schema._v3` moved them here.

`RecordsView` / `RecordsTx` are the read and write halves that `state.StateView` and
`state.StateTx` take in; they work on the view's connection and transaction.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from calsync.errors import StateError
from calsync.model import PriorSession, SessionText
from calsync.sinks.caldav_records import CaldavCache as CaldavCache
from calsync.sinks.caldav_records import Remote
from calsync.sinks.google_records import GoogleRecord, RecordCache


@dataclass(slots=True)
class GoogleSourceCache:
    """A Google source's events (as Google sent them, trimmed) over the span last read."""

    lo: datetime
    hi: datetime
    read_at: datetime | None  # of the last full read; None: unknown (read in full)
    events: dict[str, dict[str, Any]]


def _iso(d: datetime) -> str:
    """ISO 8601 with the offset as given (these times keep the zone they were read in)."""
    if d.tzinfo is None:
        raise ValueError(f"naive datetime {d!r} cannot be stored")
    return d.isoformat()


def _dt(s: str) -> datetime:
    d = datetime.fromisoformat(s)
    if d.tzinfo is None:
        raise ValueError(f"{s!r} has no UTC offset")
    return d


class RecordsView:
    """Reads of the typed tables."""

    def __init__(self, conn: sqlite3.Connection, path: Path) -> None:
        self._conn = conn
        self.path = path

    @contextlib.contextmanager
    def _decoding(self, table: str) -> Iterator[None]:
        """A row that does not decode (a hand-edited or damaged file) is a StateError."""
        try:
            yield
        except (ValueError, TypeError) as e:
            raise StateError(
                f"{self.path}: a row of table '{table}' cannot be read ({e})",
                hint="restore a backup, or move the file away to start afresh",
            ) from None

    def session_texts(self) -> dict[str, SessionText]:
        """What the last sync wrote for each session, by key."""
        rows = self._conn.execute(
            'SELECT key, start, "end", title, description FROM session_texts ORDER BY key'
        ).fetchall()
        with self._decoding("session_texts"):
            return {r[0]: SessionText(_dt(r[1]), _dt(r[2]), r[3], r[4]) for r in rows}

    def skipped(self) -> list[PriorSession]:
        """The sessions the user deleted from a sink, as the last sync found them."""
        rows = self._conn.execute('SELECT key, start, "end" FROM skipped').fetchall()
        with self._decoding("skipped"):
            found = [PriorSession(r[0], _dt(r[1]), _dt(r[2])) for r in rows]
        return sorted(found, key=lambda p: (p.start, p.key))

    def uid_namespace(self) -> str | None:
        row = self._conn.execute("SELECT uid_namespace FROM install WHERE id = 1").fetchone()
        return None if row is None else str(row[0])

    def uid_legacy_keys(self) -> frozenset[str]:
        rows = self._conn.execute("SELECT key FROM uid_legacy_keys").fetchall()
        return frozenset(str(r[0]) for r in rows)

    def calendar(self, output: str, name: str) -> str | None:
        """The id (Google) or URL (CalDAV) of the calendar `output` writes as `name`."""
        row = self._conn.execute(
            "SELECT remote FROM calendars WHERE output = ? AND name = ?", (output, name)
        ).fetchone()
        return None if row is None else str(row[0])

    def google_records(self, calendar_id: str) -> RecordCache | None:
        """The Google sink's records of a calendar; None when it keeps none."""
        if not self._has("google_caches", "calendar_id", calendar_id):
            return None
        rows = self._conn.execute(
            'SELECT event_id, key, status, start, "end", etag, hash, edited, stuck'
            " FROM google_records WHERE calendar_id = ?",
            (calendar_id,),
        ).fetchall()
        events = {
            str(r[0]): GoogleRecord(r[1], r[2], r[3], r[4], r[5], r[6], bool(r[7]), bool(r[8]))
            for r in rows
        }
        ours = self._paths("google_ours_deleted", "calendar_id", "event_id", calendar_id)
        return RecordCache(events, ours)

    def caldav_cache(self, url: str) -> CaldavCache | None:
        """The CalDAV sink's cache of the calendar at `url`; None when it keeps none."""
        if not self._has("caldav_caches", "calendar_url", url):
            return None
        rows = self._conn.execute(
            'SELECT path, etag, key, start, "end", content_hash, edited, alarm, uid'
            " FROM caldav_records WHERE calendar_url = ?",
            (url,),
        ).fetchall()
        with self._decoding("caldav_records"):
            records = {
                str(r[0]): Remote(
                    etag=r[1] or None,
                    key=r[2] or None,
                    start=_dt(r[3]) if r[3] else None,
                    end=_dt(r[4]) if r[4] else None,
                    content_hash=r[5],
                    edited=bool(r[6]),
                    alarm=r[7],
                    uid=r[8],
                )
                for r in rows
            }
        return CaldavCache(
            records,
            self._paths("caldav_gone", "calendar_url", "path", url),
            self._paths("caldav_ours_deleted", "calendar_url", "path", url),
        )

    def google_source_cache(self, calendar: str) -> GoogleSourceCache | None:
        row = self._conn.execute(
            "SELECT lo, hi, read_at FROM google_source_spans WHERE calendar = ?", (calendar,)
        ).fetchone()
        if row is None:
            return None
        rows = self._conn.execute(
            "SELECT event_id, body FROM google_source_events WHERE calendar = ?", (calendar,)
        ).fetchall()
        with self._decoding("google_source_events"):
            events = {str(r[0]): json.loads(r[1]) for r in rows}
            read_at = _dt(row[2]) if row[2] else None
            return GoogleSourceCache(_dt(row[0]), _dt(row[1]), read_at, events)

    def _has(self, table: str, column: str, value: str) -> bool:
        # table and column are ours, never the user's.
        sql = f"SELECT 1 FROM {table} WHERE {column} = ?"
        return self._conn.execute(sql, (value,)).fetchone() is not None

    def _paths(self, table: str, column: str, item: str, value: str) -> set[str]:
        sql = f"SELECT {item} FROM {table} WHERE {column} = ?"
        return {str(r[0]) for r in self._conn.execute(sql, (value,))}


class RecordsTx(RecordsView):
    """Writes of the typed tables: each setter replaces what it names."""

    def set_session_texts(self, texts: Mapping[str, SessionText]) -> None:
        self._conn.execute("DELETE FROM session_texts")
        self._conn.executemany(
            'INSERT INTO session_texts (key, start, "end", title, description) VALUES (?,?,?,?,?)',
            [(k, _iso(t.start), _iso(t.end), t.title, t.description) for k, t in texts.items()],
        )

    def set_skipped(self, skipped: Sequence[PriorSession]) -> None:
        self._conn.execute("DELETE FROM skipped")
        self._conn.executemany(
            'INSERT OR REPLACE INTO skipped (key, start, "end") VALUES (?,?,?)',
            [(p.key, _iso(p.start), _iso(p.end)) for p in skipped],
        )

    def set_uid_namespace(self, namespace: str, legacy: Iterable[str]) -> None:
        self._conn.execute(
            "INSERT OR REPLACE INTO install (id, uid_namespace) VALUES (1, ?)", (namespace,)
        )
        self._conn.execute("DELETE FROM uid_legacy_keys")
        self._conn.executemany(
            "INSERT OR IGNORE INTO uid_legacy_keys (key) VALUES (?)", [(k,) for k in legacy]
        )

    def set_calendar(self, output: str, name: str, remote: str | None) -> None:
        if remote is None:
            self._conn.execute(
                "DELETE FROM calendars WHERE output = ? AND name = ?", (output, name)
            )
        else:
            self._conn.execute(
                "INSERT OR REPLACE INTO calendars (output, name, remote) VALUES (?,?,?)",
                (output, name, remote),
            )

    def set_google_records(self, calendar_id: str, cache: RecordCache | None) -> None:
        for table in ("google_caches", "google_records", "google_ours_deleted"):
            self._conn.execute(f"DELETE FROM {table} WHERE calendar_id = ?", (calendar_id,))
        if cache is None:
            return
        self._conn.execute("INSERT INTO google_caches (calendar_id) VALUES (?)", (calendar_id,))
        self._conn.executemany(
            'INSERT INTO google_records (calendar_id, event_id, key, status, start, "end",'
            " etag, hash, edited, stuck) VALUES (?,?,?,?,?,?,?,?,?,?)",
            [
                (calendar_id, eid, r.key, r.status, r.start, r.end, r.etag, r.hash)
                + (int(r.edited), int(r.stuck))
                for eid, r in cache.events.items()
            ],
        )
        self._conn.executemany(
            "INSERT INTO google_ours_deleted (calendar_id, event_id) VALUES (?, ?)",
            [(calendar_id, e) for e in sorted(cache.ours_deleted)],
        )

    def set_caldav_cache(self, url: str, cache: CaldavCache | None) -> None:
        for table in ("caldav_caches", "caldav_records", "caldav_gone", "caldav_ours_deleted"):
            self._conn.execute(f"DELETE FROM {table} WHERE calendar_url = ?", (url,))
        if cache is None:
            return
        self._conn.execute("INSERT INTO caldav_caches (calendar_url) VALUES (?)", (url,))
        self._conn.executemany(
            'INSERT INTO caldav_records (calendar_url, path, etag, key, start, "end",'
            " content_hash, edited, alarm, uid) VALUES (?,?,?,?,?,?,?,?,?,?)",
            [
                (url, p, r.etag, r.key, _iso(r.start) if r.start else None)
                + (_iso(r.end) if r.end else None, r.content_hash, int(r.edited), r.alarm, r.uid)
                for p, r in sorted(cache.records.items())
            ],
        )
        for table, paths in (
            ("caldav_gone", cache.gone),
            ("caldav_ours_deleted", cache.ours_deleted),
        ):
            self._conn.executemany(
                f"INSERT INTO {table} (calendar_url, path) VALUES (?, ?)",
                [(url, p) for p in sorted(paths)],
            )

    def set_google_source_cache(self, calendar: str, cache: GoogleSourceCache | None) -> None:
        self._conn.execute("DELETE FROM google_source_spans WHERE calendar = ?", (calendar,))
        self._conn.execute("DELETE FROM google_source_events WHERE calendar = ?", (calendar,))
        if cache is None:
            return
        read_at = _iso(cache.read_at) if cache.read_at else None
        self._conn.execute(
            "INSERT INTO google_source_spans (calendar, lo, hi, read_at) VALUES (?,?,?,?)",
            (calendar, _iso(cache.lo), _iso(cache.hi), read_at),
        )
        self._conn.executemany(
            "INSERT INTO google_source_events (calendar, event_id, body) VALUES (?,?,?)",
            [(calendar, k, json.dumps(e, sort_keys=True)) for k, e in cache.events.items()],
        )
