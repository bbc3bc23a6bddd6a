"""The state file's schema: its migrations from version 0, and the checks run on open.

Migration i takes the schema from version i to version i + 1; the file records its
version in `PRAGMA user_version`. A file from a newer calsync is refused instead of
damaged, and a schema-0 file holding another program's tables is refused untouched.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from calsync.errors import StateError

log = logging.getLogger(__name__)

Migration = Callable[[sqlite3.Connection], None]


def _v1(c: sqlite3.Connection) -> None:
    """The first release's schema."""
    c.execute(
        """CREATE TABLE sessions (
            output TEXT NOT NULL,
            key TEXT NOT NULL,
            start TEXT NOT NULL,
            "end" TEXT NOT NULL,
            content_hash TEXT NOT NULL,
            sequence INTEGER NOT NULL DEFAULT 0,
            created TEXT NOT NULL,
            modified TEXT NOT NULL,
            remote_id TEXT,
            etag TEXT,
            PRIMARY KEY (output, key)
        )"""
    )
    c.execute(
        """CREATE TABLE planned (
            key TEXT PRIMARY KEY,
            start TEXT NOT NULL,
            "end" TEXT NOT NULL,
            pinned INTEGER NOT NULL DEFAULT 0
        )"""
    )
    c.execute("CREATE TABLE kv (name TEXT PRIMARY KEY, value TEXT NOT NULL)")
    c.execute(
        """CREATE TABLE source_cache (
            url TEXT PRIMARY KEY,
            etag TEXT,
            last_modified TEXT,
            body BLOB NOT NULL,
            fetched_at TEXT NOT NULL
        )"""
    )
    c.execute(
        """CREATE TABLE sync_log (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            at TEXT NOT NULL,
            ok INTEGER NOT NULL,
            message TEXT NOT NULL,
            created INTEGER NOT NULL DEFAULT 0,
            updated INTEGER NOT NULL DEFAULT 0,
            deleted INTEGER NOT NULL DEFAULT 0
        )"""
    )


def _v2(c: sqlite3.Connection) -> None:
    """Sessions the user deleted, incremental sync tokens, rendered feed documents."""
    c.execute("ALTER TABLE sessions ADD COLUMN status TEXT NOT NULL DEFAULT 'active'")
    c.execute("CREATE TABLE sync_tokens (scope TEXT PRIMARY KEY, token TEXT NOT NULL)")
    c.execute(
        """CREATE TABLE feeds (
            name TEXT PRIMARY KEY,
            body BLOB NOT NULL,
            etag TEXT NOT NULL,
            modified TEXT NOT NULL
        )"""
    )


def _v3(c: sqlite3.Connection) -> None:
    """Typed tables for what schema 2 kept as JSON in `kv`; the kv table goes.

    Every kv row moves into its table (`_move_kv`); a value that does not decode is
    dropped with a warning, as the loaders of schema 2 ignored it (each then read as
    absent: no texts, no skipped sessions, no cache, so a full read).

    Over 80 lines on purpose: one CREATE TABLE after another reads as the schema it
    makes, and a released migration is never edited or split afterwards.
    """
    c.execute(
        """CREATE TABLE session_texts (
            key TEXT PRIMARY KEY,
            start TEXT NOT NULL,
            "end" TEXT NOT NULL,
            title TEXT NOT NULL,
            description TEXT NOT NULL
        )"""
    )
    c.execute(
        'CREATE TABLE skipped (key TEXT PRIMARY KEY, start TEXT NOT NULL, "end" TEXT NOT NULL)'
    )
    # One row: the install's UID namespace; the keys it wrote before namespaces existed.
    c.execute(
        "CREATE TABLE install (id INTEGER PRIMARY KEY CHECK (id = 1), uid_namespace TEXT NOT NULL)"
    )
    c.execute("CREATE TABLE uid_legacy_keys (key TEXT PRIMARY KEY)")
    # The remote calendar an output writes into: Google's calendar id by calendar name,
    # CalDAV's calendar URL by "user@server#calendar".
    c.execute(
        """CREATE TABLE calendars (
            output TEXT NOT NULL,
            name TEXT NOT NULL,
            remote TEXT NOT NULL,
            PRIMARY KEY (output, name)
        )"""
    )
    # A sink's cache of its calendar: a row in *_caches says there is one (an empty
    # cache is still a cache: the next read is incremental).
    c.execute("CREATE TABLE google_caches (calendar_id TEXT PRIMARY KEY)")
    c.execute(
        """CREATE TABLE google_records (
            calendar_id TEXT NOT NULL,
            event_id TEXT NOT NULL,
            key TEXT NOT NULL,
            status TEXT NOT NULL,
            start TEXT NOT NULL,
            "end" TEXT NOT NULL,
            etag TEXT,
            hash TEXT NOT NULL,
            edited INTEGER NOT NULL,
            stuck INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (calendar_id, event_id)
        )"""
    )
    c.execute(
        "CREATE TABLE google_ours_deleted (calendar_id TEXT NOT NULL, event_id TEXT NOT NULL,"
        " PRIMARY KEY (calendar_id, event_id))"
    )
    c.execute("CREATE TABLE caldav_caches (calendar_url TEXT PRIMARY KEY)")
    c.execute(
        """CREATE TABLE caldav_records (
            calendar_url TEXT NOT NULL,
            path TEXT NOT NULL,
            etag TEXT,
            key TEXT,
            start TEXT,
            "end" TEXT,
            content_hash TEXT NOT NULL,
            edited INTEGER NOT NULL,
            alarm TEXT NOT NULL,
            uid TEXT NOT NULL,
            PRIMARY KEY (calendar_url, path)
        )"""
    )
    for what in ("gone", "ours_deleted"):
        c.execute(
            f"CREATE TABLE caldav_{what} (calendar_url TEXT NOT NULL, path TEXT NOT NULL,"
            " PRIMARY KEY (calendar_url, path))"
        )
    # The Google source's events as Google sent them (trimmed), over the span read.
    c.execute(
        """CREATE TABLE google_source_spans (
            calendar TEXT PRIMARY KEY,
            lo TEXT NOT NULL,
            hi TEXT NOT NULL,
            read_at TEXT
        )"""
    )
    c.execute(
        "CREATE TABLE google_source_events (calendar TEXT NOT NULL, event_id TEXT NOT NULL,"
        " body TEXT NOT NULL, PRIMARY KEY (calendar, event_id))"
    )
    _move_kv(c)
    c.execute("DROP TABLE kv")


# Migration i takes the schema from version i to version i + 1. Append only: never edit
# a released migration, since files in the wild were made by it.
MIGRATIONS: tuple[Migration, ...] = (_v1, _v2, _v3)
SCHEMA_VERSION: int = len(MIGRATIONS)


def migrate(conn: sqlite3.Connection, path: Path, target: int = SCHEMA_VERSION) -> int:
    """Bring the open database up to `target`; returns the version found before.

    Runs inside one immediate transaction, so two processes opening a fresh file at the
    same time migrate it once, and a failure leaves the old version intact.
    """
    conn.execute("BEGIN IMMEDIATE")
    try:
        found = int(conn.execute("PRAGMA user_version").fetchone()[0])
        if found > SCHEMA_VERSION:
            raise StateError(
                f"{path} was written by a newer calsync (schema {found}); upgrade calsync",
                hint=f"this calsync understands schema {SCHEMA_VERSION} and older",
            )
        for version in range(found, target):
            log.info("state %s: migrating schema %d -> %d", path, version, version + 1)
            MIGRATIONS[version](conn)
        if target > found:
            # PRAGMA takes no parameters; target is an int we computed.
            conn.execute(f"PRAGMA user_version = {int(target)}")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return found


# Every table any schema version made (kv up to schema 2).
OUR_TABLES = (
    "sessions",
    "planned",
    "kv",
    "source_cache",
    "sync_log",
    "sync_tokens",
    "feeds",
    "session_texts",
    "skipped",
    "install",
    "uid_legacy_keys",
    "calendars",
    "google_caches",
    "google_records",
    "google_ours_deleted",
    "caldav_caches",
    "caldav_records",
    "caldav_gone",
    "caldav_ours_deleted",
    "google_source_spans",
    "google_source_events",
)


def _refuse_foreign(conn: sqlite3.Connection, path: Path) -> None:
    """A schema-0 file holding tables that are not ours is another program's database:
    refuse it rather than add tables and switch it to WAL. (Our own tables may already be
    there: another calsync can migrate the file between our reads.)"""
    ours = set(OUR_TABLES)
    names = [
        str(r[0])
        for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        if not str(r[0]).startswith("sqlite_")
    ]
    foreign = sorted(set(names) - ours)
    if foreign:
        raise StateError(
            f"{path}: not a calsync state file (it holds other tables: {', '.join(foreign)})",
            hint="point [state] path at a file of calsync's own",
        )


# --------------------------------------------------------------------------- v2 kv -> v3
#
# The decoders below read the JSON schema 2 wrote, and nothing newer: they belong to the
# migration and stay as they are when the code that reads the typed tables changes.


class _Undecodable(ValueError):
    pass


def _aware_iso(v: Any) -> str:
    """An ISO 8601 time with its offset, as written (naive or not a string: undecodable)."""
    d = datetime.fromisoformat(str(v)) if isinstance(v, str) else None
    if d is None or d.tzinfo is None:
        raise _Undecodable(f"not an aware ISO 8601 time: {v!r}")
    return d.isoformat()


def _utc_iso(v: Any) -> str:
    """As the Google records hold their times: in UTC (their order is the strings')."""
    return datetime.fromisoformat(_aware_iso(v)).astimezone(UTC).isoformat()


def _opt_str(v: Any) -> str | None:
    return None if v is None else str(v)


def _texts(c: sqlite3.Connection, _name: str, data: Any) -> None:
    rows = [
        (
            str(k),
            _aware_iso(v["start"]),
            _aware_iso(v["end"]),
            str(v["title"]),
            str(v["description"]),
        )
        for k, v in data.items()
    ]
    c.executemany(
        'INSERT OR REPLACE INTO session_texts (key, start, "end", title, description)'
        " VALUES (?,?,?,?,?)",
        rows,
    )


def _skipped(c: sqlite3.Connection, _name: str, data: Any) -> None:
    if not isinstance(data, list):
        raise _Undecodable("not a list")
    rows = [(str(d["key"]), _aware_iso(d["start"]), _aware_iso(d["end"])) for d in data]
    c.executemany('INSERT OR REPLACE INTO skipped (key, start, "end") VALUES (?,?,?)', rows)


def _legacy_keys(c: sqlite3.Connection, _name: str, data: Any) -> None:
    if not isinstance(data, list):
        raise _Undecodable("not a list")
    c.executemany(
        "INSERT OR IGNORE INTO uid_legacy_keys (key) VALUES (?)", [(str(k),) for k in data]
    )


def _google_cache(c: sqlite3.Connection, name: str, data: Any) -> None:
    cal = name.removeprefix("google.sink.cache:")
    events, gone = data["events"], data.get("ours_deleted") or ()
    if not isinstance(events, dict):
        raise _Undecodable("events is not a table")
    rows = []
    for eid, r in events.items():
        etag = r["etag"]
        rows.append(
            (
                cal,
                str(eid),
                str(r["key"]),
                str(r["status"]),
                _utc_iso(r["start"]),
                _utc_iso(r["end"]),
                _opt_str(etag),
                str(r["hash"]),
                int(bool(r["edited"])),
                int(bool(r.get("stuck", False))),
            )
        )
    c.execute("INSERT INTO google_caches (calendar_id) VALUES (?)", (cal,))
    c.executemany(
        'INSERT INTO google_records (calendar_id, event_id, key, status, start, "end", etag,'
        " hash, edited, stuck) VALUES (?,?,?,?,?,?,?,?,?,?)",
        rows,
    )
    c.executemany(
        "INSERT OR IGNORE INTO google_ours_deleted (calendar_id, event_id) VALUES (?, ?)",
        [(cal, str(e)) for e in gone],
    )


def _caldav_cache(c: sqlite3.Connection, name: str, data: Any) -> None:
    url = name.removeprefix("caldav.sink.cache:")
    records = data["records"]
    if not isinstance(records, dict):
        raise _Undecodable("records is not a table")

    def when(v: Any) -> str | None:
        return _aware_iso(v) if v else None

    rows = [
        (
            url,
            str(p),
            str(r["etag"]) if r.get("etag") else None,
            str(r["key"]) if r.get("key") else None,
            when(r.get("start")),
            when(r.get("end")),
            str(r.get("hash") or ""),
            int(bool(r.get("edited"))),
            str(r.get("alarm") or ""),
            str(r.get("uid") or ""),
        )
        for p, r in records.items()
    ]
    gone = [(url, str(p)) for p in data.get("gone", ())]
    ours = [(url, str(p)) for p in data.get("ours_deleted", ())]
    c.execute("INSERT INTO caldav_caches (calendar_url) VALUES (?)", (url,))
    c.executemany(
        'INSERT INTO caldav_records (calendar_url, path, etag, key, start, "end",'
        " content_hash, edited, alarm, uid) VALUES (?,?,?,?,?,?,?,?,?,?)",
        rows,
    )
    c.executemany("INSERT OR IGNORE INTO caldav_gone VALUES (?, ?)", gone)
    c.executemany("INSERT OR IGNORE INTO caldav_ours_deleted VALUES (?, ?)", ours)


def _google_source(c: sqlite3.Connection, name: str, data: Any) -> None:
    cal = name.removeprefix("google.cache.google:events:")
    if not isinstance(data["events"], dict) or not all(
        isinstance(e, dict) for e in data["events"].values()
    ):
        raise _Undecodable("events is not a table of events")
    read_at = _aware_iso(data["read_at"]) if data.get("read_at") else None
    c.execute(
        "INSERT INTO google_source_spans (calendar, lo, hi, read_at) VALUES (?,?,?,?)",
        (cal, _aware_iso(data["lo"]), _aware_iso(data["hi"]), read_at),
    )
    c.executemany(
        "INSERT INTO google_source_events (calendar, event_id, body) VALUES (?,?,?)",
        [(cal, str(k), json.dumps(e, sort_keys=True)) for k, e in data["events"].items()],
    )


def _text(c: sqlite3.Connection, name: str, value: str) -> None:
    """The plain-text kv values: the UID namespace and the calendars' ids/URLs."""
    if name == "install.uid_namespace":
        c.execute("INSERT INTO install (id, uid_namespace) VALUES (1, ?)", (value,))
    elif name.startswith("google.sink.calendar:"):
        cal = name.removeprefix("google.sink.calendar:")
        c.execute("INSERT INTO calendars VALUES ('google', ?, ?)", (cal, value))
    else:
        cal = name.removeprefix("caldav.sink.calendar:")
        c.execute("INSERT INTO calendars VALUES ('caldav', ?, ?)", (cal, value))


# kv names (exact, or a prefix ending in ':') -> the mover of its JSON value.
_JSON_MOVERS: dict[str, Callable[[sqlite3.Connection, str, Any], None]] = {
    "sync.session_texts": _texts,
    "sync.skipped": _skipped,
    "install.uid_legacy_keys": _legacy_keys,
    "google.sink.cache:": _google_cache,
    "caldav.sink.cache:": _caldav_cache,
    "google.cache.google:events:": _google_source,
}
_TEXT_NAMES = ("install.uid_namespace", "google.sink.calendar:", "caldav.sink.calendar:")


def _matches(name: str, pattern: str) -> bool:
    return name.startswith(pattern) if pattern.endswith(":") else name == pattern


def _move_kv(c: sqlite3.Connection) -> None:
    where = str(c.execute("PRAGMA database_list").fetchone()[2])  # the state file's path
    for name, value in c.execute("SELECT name, value FROM kv ORDER BY name").fetchall():
        name, value = str(name), str(value)
        if any(_matches(name, p) for p in _TEXT_NAMES):
            _text(c, name, value)
            continue
        mover = next((m for p, m in _JSON_MOVERS.items() if _matches(name, p)), None)
        if mover is None:
            log.warning(
                "state %s: dropping %r from the key/value table: no calsync reads it", where, name
            )
            continue
        c.execute("SAVEPOINT kv_value")
        try:
            mover(c, name, json.loads(value) if value else None)
        except (ValueError, KeyError, TypeError, AttributeError) as e:
            # As schema 2's loaders did: an unreadable value is as if absent.
            c.execute("ROLLBACK TO kv_value")
            log.warning("state %s: dropping the unreadable %r (%s)", where, name, e)
        c.execute("RELEASE kv_value")
