"""The state store against real SQLite files, real locks and real processes."""

from __future__ import annotations

import multiprocessing
import multiprocessing.synchronize
import os
import sqlite3
import stat
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from calsync.errors import LockedError, StateError
from calsync.model import PriorSession
from calsync.state import (
    MIGRATIONS,
    SCHEMA_VERSION,
    CachedSource,
    FeedDoc,
    StateStore,
    StoredSession,
    SyncRecord,
    migrate,
)

T0 = datetime(2026, 11, 23, 18, 0, tzinfo=UTC)
BERLIN = timezone(timedelta(hours=1))


def _session(key: str = "2026-11-23/1", seq: int = 0, hour: int = 18) -> StoredSession:
    start = T0.replace(hour=hour)
    return StoredSession(
        key=key,
        start=start,
        end=start + timedelta(minutes=45),
        content_hash="h" + str(seq),
        sequence=seq,
        created=T0 - timedelta(days=1),
        modified=T0,
    )


def test_fresh_file_modes_and_schema(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "state.sqlite3"
    store = StateStore(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    with store.writer() as tx:
        tx.set_sync_token("x", "1")
    assert stat.S_IMODE(store.lock_path.stat().st_mode) == 0o600
    for side in ("-wal", "-shm"):
        f = path.with_name(path.name + side)
        if f.exists():
            assert stat.S_IMODE(f.stat().st_mode) & 0o077 == 0
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()


def test_round_trip_of_every_record(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "s.db")
    s1 = _session()
    s2 = StoredSession(
        key="2026-11-23/2",
        start=datetime(2026, 11, 26, 19, 0, tzinfo=BERLIN),
        end=datetime(2026, 11, 26, 19, 45, tzinfo=BERLIN),
        content_hash="abc",
        sequence=3,
        created=T0,
        modified=T0 + timedelta(hours=1),
        remote_id="ev1",
        etag='"e1"',
        status="deleted_by_user",
    )
    cache = CachedSource(
        "https://x/cal.ics", '"tag"', "Tue, 01 Dec 2026 10:00:00 GMT", b"\x00B", T0
    )
    with store.writer() as tx:
        tx.put_session("ics", s1)
        tx.put_session("google", s2)
        tx.set_planned([PriorSession("k", T0, T0 + timedelta(minutes=45), pinned=True)])
        tx.set_calendar("google", "Strength training", "cal@group")
        tx.put_source_cache(cache)
        tx.set_sync_token("google:primary", "tok")
        tx.record_sync(SyncRecord(T0, True, "ok", created=2))
        tx.put_feed(FeedDoc("strength.ics", b"BEGIN", "etag1", T0))
    with store.reader() as v:
        assert v.sessions("ics") == {s1.key: s1}
        got = v.sessions("google")[s2.key]
        assert got == s2  # aware datetimes compare by instant
        assert got.start.utcoffset() == timedelta(0)  # stored in UTC
        assert v.planned() == [PriorSession("k", T0, T0 + timedelta(minutes=45), True)]
        assert v.calendar("google", "Strength training") == "cal@group"
        assert v.calendar("caldav", "Strength training") is None
        assert v.source_cache("https://x/cal.ics") == cache
        assert v.sync_token("google:primary") == "tok"
        assert v.last_sync() == SyncRecord(T0, True, "ok", created=2)
        assert v.feed("strength.ics") == FeedDoc("strength.ics", b"BEGIN", "etag1", T0)
        assert v.feed("busy.ics") is None
    with store.writer() as tx:
        tx.delete_session("ics", s1.key)
        tx.set_calendar("google", "Strength training", None)
        tx.set_sync_token("google:primary", None)
        tx.set_planned([])
        tx.record_sync(SyncRecord(T0 + timedelta(hours=1), False, "boom"))
    with store.reader() as v:
        assert v.sessions("ics") == {}
        assert v.calendar("google", "Strength training") is None
        assert v.sync_token("google:primary") is None
        assert v.planned() == []
        last = v.last_sync()
        assert last is not None and not last.ok and last.message == "boom"


def test_naive_datetimes_are_refused(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "s.db")
    with pytest.raises(ValueError), store.writer() as tx:
        tx.put_session("ics", replace(_session(), start=datetime(2026, 11, 23, 18, 0)))
    with store.reader() as v:
        assert v.sessions("ics") == {}


def test_exception_rolls_back_the_whole_sync(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "s.db")
    with store.writer() as tx:
        tx.put_session("ics", _session(seq=0))
        tx.set_sync_token("a", "old")
    with pytest.raises(RuntimeError), store.writer() as tx:
        tx.put_session("ics", _session(seq=1))
        tx.put_session("ics", _session(key="other"))
        tx.set_sync_token("a", "new")
        raise RuntimeError("crash mid-sync")
    with store.reader() as v:
        assert v.sessions("ics") == {"2026-11-23/1": _session(seq=0)}
        assert v.sync_token("a") == "old"


def test_reader_sees_last_commit_while_writer_holds_a_transaction(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "s.db")
    with store.writer() as tx:
        tx.set_sync_token("a", "committed")
    with store.writer() as tx:
        tx.set_sync_token("a", "uncommitted")
        # Same thread: were the reader to wait for the writer, it could never return.
        with store.reader() as v:
            assert v.sync_token("a") == "committed"
        assert tx.sync_token("a") == "uncommitted"  # the writer sees its own writes
    with store.reader() as v:
        assert v.sync_token("a") == "uncommitted"


def _hold_writer(path: str, hold: float, ready: multiprocessing.synchronize.Event) -> None:
    store = StateStore(Path(path))
    with store.writer() as tx:
        tx.set_sync_token("holder", "child")
        ready.set()
        time.sleep(hold)


def test_second_process_gets_locked_error(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    StateStore(path)
    ctx = multiprocessing.get_context("spawn")
    ready = ctx.Event()
    proc = ctx.Process(target=_hold_writer, args=(str(path), 1.5, ready))
    proc.start()
    try:
        assert ready.wait(20)
        store = StateStore(path)
        t = time.monotonic()
        with pytest.raises(LockedError) as e, store.writer(wait_seconds=0.3):
            pass
        assert time.monotonic() - t >= 0.3
        assert f"pid {proc.pid}" in str(e.value)
        assert str(path) in str(e.value)
    finally:
        proc.join(20)
    assert proc.exitcode == 0


def test_second_process_waits_and_succeeds(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    StateStore(path)
    ctx = multiprocessing.get_context("spawn")
    ready = ctx.Event()
    proc = ctx.Process(target=_hold_writer, args=(str(path), 0.5, ready))
    proc.start()
    try:
        assert ready.wait(20)
        store = StateStore(path)
        with store.writer(wait_seconds=15) as tx:
            assert tx.sync_token("holder") == "child"  # the child's commit is visible
            tx.set_sync_token("holder", "parent")
        with store.reader() as v:
            assert v.sync_token("holder") == "parent"
    finally:
        proc.join(20)


def test_not_sqlite_is_a_state_error_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite3"
    path.write_bytes(b"this is not a database, it is a shopping list\n" * 100)
    with pytest.raises(StateError) as e:
        StateStore(path)
    assert str(path) in str(e.value)


def test_newer_schema_is_refused_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite3"
    StateStore(path)
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 5}")
    conn.commit()
    conn.close()
    with pytest.raises(StateError) as e:
        StateStore(path)
    assert "newer calsync" in str(e.value) and f"schema {SCHEMA_VERSION + 5}" in str(e.value)
    assert str(path) in str(e.value)
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION + 5
    conn.close()


def test_migration_from_v1_keeps_data(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    conn = sqlite3.connect(path, isolation_level=None)
    assert migrate(conn, path, target=1) == 0
    conn.execute(
        'INSERT INTO sessions (output, key, start, "end", content_hash, sequence, created,'
        " modified, remote_id, etag) VALUES (?,?,?,?,?,?,?,?,?,?)",
        (
            "ics",
            "2026-11-23/1",
            T0.isoformat(),
            (T0 + timedelta(minutes=45)).isoformat(),
            "hash",
            4,
            T0.isoformat(),
            T0.isoformat(),
            None,
            None,
        ),
    )
    conn.execute("INSERT INTO kv (name, value) VALUES ('google.sink.calendar:Strength', 'c1')")
    conn.close()

    store = StateStore(path)
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == len(MIGRATIONS)
    conn.close()
    with store.reader() as v:
        s = v.sessions("ics")["2026-11-23/1"]
        assert (s.sequence, s.content_hash, s.status) == (4, "hash", "active")
        assert s.start == T0
        assert v.calendar("google", "Strength") == "c1"
        assert v.feed("strength.ics") is None
    with store.writer() as tx:  # the new tables work
        tx.set_sync_token("s", "t")
        tx.put_feed(FeedDoc("busy.ics", b"x", "e", T0))


def test_reopening_is_idempotent(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    with StateStore(path).writer() as tx:
        tx.put_session("ics", _session())
    store = StateStore(path)
    with store.reader() as v:
        assert list(v.sessions("ics")) == ["2026-11-23/1"]


def test_sync_log_is_bounded(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "s.db")
    with store.writer() as tx:
        for i in range(250):
            tx.record_sync(SyncRecord(T0 + timedelta(minutes=i), True, str(i)))
    conn = sqlite3.connect(store.path)
    assert conn.execute("SELECT COUNT(*) FROM sync_log").fetchone()[0] == 200
    conn.close()
    with store.reader() as v:
        last = v.last_sync()
        assert last is not None and last.message == "249"


def _crash_mid_sync(path: str) -> None:
    store = StateStore(Path(path))
    with store.writer() as tx:
        tx.set_sync_token("a", "half-written")
        tx.put_session("ics", _session(key="new"))
        os._exit(3)  # the process dies: no commit, no rollback, no cleanup


def test_a_killed_sync_leaves_the_previous_state(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    store = StateStore(path)
    with store.writer() as tx:
        tx.set_sync_token("a", "before")
    ctx = multiprocessing.get_context("spawn")
    proc = ctx.Process(target=_crash_mid_sync, args=(str(path),))
    proc.start()
    proc.join(30)
    assert proc.exitcode == 3
    store = StateStore(path)
    with store.reader() as v:
        assert v.sync_token("a") == "before" and v.sessions("ics") == {}
    with store.writer(wait_seconds=1) as tx:  # the dead process's lock went with it
        tx.set_sync_token("a", "after")
    with store.reader() as v:
        assert v.sync_token("a") == "after"
