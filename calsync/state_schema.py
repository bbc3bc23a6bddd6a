"""The state file's schema: its migrations from version 0, and the checks run on open.

Migration i takes the schema from version i to version i + 1; the file records its
version in `PRAGMA user_version`. A file from a newer calsync is refused instead of
damaged, and a schema-0 file holding another program's tables is refused untouched.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable
from pathlib import Path

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


# Migration i takes the schema from version i to version i + 1. Append only: never edit
# a released migration, since files in the wild were made by it.
MIGRATIONS: tuple[Migration, ...] = (_v1, _v2)
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


def _refuse_foreign(conn: sqlite3.Connection, path: Path) -> None:
    """A schema-0 file holding tables that are not ours is another program's database:
    refuse it rather than add tables and switch it to WAL. (Our own tables may already be
    there: another calsync can migrate the file between our reads.)"""
    ours = {"sessions", "planned", "kv", "source_cache", "sync_log", "sync_tokens", "feeds"}
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
