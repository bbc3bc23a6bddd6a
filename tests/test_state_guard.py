"""A state that knows it is damaged (issue 17 item 6), through the real CLI.

Every damaged file here is made from a real state a real sync wrote: random bytes (the
oracle for "damaged" is SQLite's own integrity_check), a stored text made invalid UTF-8,
a 0-byte or missing file beside an existing output. The backup, restore and lock are the
real ones; disk full is the kernel's ENOSPC (/dev/full, a small tmpfs in a private mount
namespace) or SQLite's own SQLITE_FULL (max_page_count), never a mocked exception.
"""

from __future__ import annotations

import multiprocessing
import os
import random
import shutil
import sqlite3
import stat
import subprocess
import sys
import textwrap
from datetime import UTC, datetime
from pathlib import Path

import pytest

from calsync import state_guard, state_lock
from calsync.errors import DiskFullError
from calsync.state import CachedSource, StateStore
from tests.helpers import run_cli

ROOT = Path(__file__).resolve().parents[1]
PLAN = ROOT / "examples" / "plan.ics"
NOW = "2026-11-30T07:00"
LATER = "2026-12-07T07:00"


def _config(folder: Path) -> str:
    cfg = folder / "config.toml"
    cfg.write_text(
        '[schedule]\ntimezone = "America/New_York"\n'
        f'[[source]]\ntype = "ics"\nurl = "{PLAN}"\n'
        '[output.ics]\npath = "out.ics"\n[state]\npath = "state/state.sqlite3"\n',
        encoding="utf-8",
    )
    return str(cfg)


class World:
    def __init__(self, folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
        self.cfg = _config(folder)
        self.capsys = capsys
        self.state = folder / "state" / "state.sqlite3"
        self.bak = folder / "state" / "state.sqlite3.bak"
        self.out = folder / "out.ics"

    def run(self, *args: str, now: str = NOW) -> tuple[int, str, str]:
        return run_cli(self.capsys, "--config", self.cfg, "--now", now, *args)


@pytest.fixture
def world(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> World:
    w = World(tmp_path, capsys)
    code, _, err = w.run("sync")
    assert code == 0, err
    return w


def _one_error(err: str) -> str:
    """The run's one error message (exit 1): no traceback, no internal error."""
    assert "Traceback" not in err and "internal error" not in err, err
    lines = [ln for ln in err.splitlines() if ln.startswith("calsync: error:")]
    assert len(lines) == 1, err
    return err


def _rows(db: Path, sql: str) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(db)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def _integrity_fails(db: Path) -> bool:
    """SQLite's own verdict, the oracle for "damaged"."""
    conn = sqlite3.connect(db)
    conn.text_factory = lambda b: b.decode("utf-8", "replace")
    try:
        return conn.execute("PRAGMA integrity_check").fetchall() != [("ok",)]
    except (sqlite3.DatabaseError, UnicodeDecodeError):
        return True
    finally:
        conn.close()


def _drop_sidecars(db: Path) -> None:
    for suffix in ("-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)


# --------------------------------------------------------------------------- backup


def test_a_sync_keeps_the_committed_state_as_a_private_checked_backup(world: World) -> None:
    assert stat.S_IMODE(world.bak.stat().st_mode) == 0o600
    assert state_guard.problems(world.bak) == []
    sessions = "SELECT * FROM sessions ORDER BY output, key"
    assert _rows(world.bak, sessions) == _rows(world.state, sessions)
    assert len(_rows(world.bak, sessions)) > 0
    # A dry run writes nothing, the backup included.
    before = world.bak.read_bytes()
    code, _, err = world.run("sync", "--dry-run", now=LATER)
    assert code == 0, err
    assert world.bak.read_bytes() == before
    # The next sync's commit replaces it, atomically: no temp file stays beside it.
    code, _, err = world.run("sync", now=LATER)
    assert code == 0, err
    last = "SELECT at FROM sync_log WHERE ok = 1 ORDER BY id DESC LIMIT 1"
    assert _rows(world.bak, last) == _rows(world.state, last)
    assert str(_rows(world.bak, last)[0][0]).startswith("2026-12-07T12:00")
    assert sorted(p.name for p in world.state.parent.iterdir()) == [
        "state.sqlite3",
        "state.sqlite3.bak",
        "state.sqlite3.lock",
    ]


def test_the_backup_is_taken_while_a_reader_holds_an_older_snapshot(world: World) -> None:
    # The feed server reads while syncs commit: the backup neither waits for it nor
    # copies its old snapshot.
    reader = sqlite3.connect(world.state, isolation_level=None)
    try:
        reader.execute("BEGIN")
        old = reader.execute("SELECT count(*) FROM sync_log").fetchone()[0]
        code, _, err = world.run("sync", now=LATER)
        assert code == 0, err
        assert reader.execute("SELECT count(*) FROM sync_log").fetchone()[0] == old
    finally:
        reader.close()
    assert _rows(world.bak, "SELECT count(*) FROM sync_log") == [(old + 1,)]


# --------------------------------------------------------------------------- damage


def test_random_bytes_in_the_state_are_refused_with_the_recovery_steps(world: World) -> None:
    # Found: random bytes in the database passed `sync` and `doctor` while
    # `PRAGMA integrity_check` failed. Each seed writes a few random bytes over a real
    # state; whenever SQLite's integrity_check fails, sync, plan and doctor refuse it,
    # the state and the output untouched. No damage is ever an internal error.
    good = world.state.read_bytes()
    out = world.out.read_bytes()
    refused = 0
    for seed in range(24):
        r = random.Random(seed)
        damaged = bytearray(good)
        for _ in range(r.choice([4, 32, 256])):
            damaged[r.randrange(100, len(damaged))] = r.randrange(256)
        _drop_sidecars(world.state)
        world.state.write_bytes(bytes(damaged))
        world.out.write_bytes(out)  # an earlier seed's sync may have gone through
        oracle = _integrity_fails(world.state)
        code, _, err = world.run("sync", now=LATER)
        assert code in (0, 1), (seed, err)
        if code == 1:
            _one_error(err)
        if not oracle:
            continue
        refused += 1
        assert code == 1, (seed, err)
        assert f"{world.state}: " in err and "damaged" in err, (seed, err)
        assert "calsync state restore" in err, err
        assert world.state.read_bytes() == bytes(damaged), seed
        assert world.out.read_bytes() == out, seed
        code, _, err = world.run("plan")
        assert code == 1 and "damaged" in _one_error(err), (seed, err)
        code, text, _ = world.run("doctor")
        assert code == 1 and "damaged" in text and "calsync state restore" in text, text
    # Not vacuous: some of the damages were real ones.
    assert refused >= 3, refused


def test_the_feed_server_answers_503_for_a_damaged_state(world: World) -> None:
    from wsgiref.util import setup_testing_defaults

    from calsync.config import load_config
    from calsync.feed import app_for

    damaged = bytearray(world.state.read_bytes())
    damaged[4096 : 4096 + 64] = bytes(range(64))
    world.state.write_bytes(bytes(damaged))
    app = app_for(load_config(Path(world.cfg)))
    environ: dict[str, object] = {"PATH_INFO": "/healthz", "REQUEST_METHOD": "GET"}
    setup_testing_defaults(environ)
    said: list[str] = []
    body = b"".join(app(environ, lambda status, headers, exc=None: said.append(status)))
    assert said == ["503 Service Unavailable"] and b"state unreadable" in body


def test_a_stored_text_that_is_not_utf8_is_a_state_error(world: World) -> None:
    # Found: invalid UTF-8 in a stored value was exit 70 for `sync`.
    conn = sqlite3.connect(world.state)
    conn.execute(
        "UPDATE sessions SET content_hash = CAST(X'61ff62' AS TEXT)"
        " WHERE rowid = (SELECT min(rowid) FROM sessions)"
    )
    conn.commit()
    conn.close()
    assert not _integrity_fails(world.state)  # SQLite itself cannot tell
    code, _, err = world.run("sync", now=LATER)
    assert code == 1
    _one_error(err)
    assert f"{world.state}: the state file is damaged" in err and "not valid UTF-8" in err
    assert "calsync state restore" in err
    code, text, _ = world.run("state", "check")
    assert code == 1
    assert "table sessions, column content_hash: 1 text value(s) not valid UTF-8" in text


# --------------------------------------------------------------------------- lost history


@pytest.mark.parametrize("how", ["zero_bytes", "missing", "made_anew"])
def test_a_lost_state_beside_an_existing_output_is_refused(world: World, how: str) -> None:
    # Found: a 0-byte state file silently reset history (past sessions vanished, every
    # event written anew).
    out = world.out.read_bytes()
    _drop_sidecars(world.state)
    if how == "zero_bytes":
        world.state.write_bytes(b"")
    else:
        world.state.unlink()
        if how == "made_anew":
            StateStore(world.state)  # what `doctor` or a failed sync could leave
    code, _, err = world.run("sync", now=LATER)
    assert code == 1
    _one_error(err)
    assert f"{world.state} holds no history" in err
    assert f"{world.out} holds 8 session(s) calsync wrote" in err
    assert "calsync state restore" in err and "calsync sync --new-state" in err
    assert world.out.read_bytes() == out
    code, text, _ = world.run("doctor")
    assert code == 1 and "holds no history" in text
    # Starting afresh is a decision the runner states.
    code, _, err = world.run("sync", "--new-state", now=LATER)
    assert code == 0, err
    code, _, err = world.run("sync", now=LATER)
    assert code == 0, err


def test_a_first_sync_with_no_output_yet_is_not_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    w = World(tmp_path, capsys)
    w.out.write_bytes(b"")  # an empty file is nothing to lose
    code, _, err = w.run("sync")
    assert code == 0, err


# --------------------------------------------------------------------------- restore


def test_restore_puts_back_the_backup_and_keeps_the_damaged_file(world: World) -> None:
    out = world.out.read_bytes()
    good = world.state.read_bytes()
    damaged = bytearray(good)
    damaged[4096 : 4096 + 64] = bytes(range(64))  # page 2's header and cells
    world.state.write_bytes(bytes(damaged))
    assert _integrity_fails(world.state)
    code, text, err = world.run("state", "restore")
    assert code == 0, err
    aside = [p for p in world.state.parent.iterdir() if ".damaged-" in p.name]
    assert len(aside) == 1 and aside[0].read_bytes() == bytes(damaged)
    assert f"restored {world.state} from {world.bak}" in text
    assert f"kept as {aside[0]}" in text
    assert "state after the sync of 2026-11-30 07:00" in text
    assert state_guard.problems(world.state) == []
    assert stat.S_IMODE(world.state.stat().st_mode) == 0o600
    # The restored state is the last good one: the same sync changes nothing.
    code, text, err = world.run("sync")
    assert code == 0, err
    assert "is up to date" in text and world.out.read_bytes() == out


def _sequences(out: Path) -> dict[str, int]:
    import icalendar

    cal = icalendar.Calendar.from_ical(out.read_bytes())
    return {str(ev["X-CALSYNC-KEY"]): int(ev.get("SEQUENCE", 0)) for ev in cal.walk("VEVENT")}


def test_restoring_an_older_backup_never_lowers_a_sequence(world: World) -> None:
    # The backup of the last sync was not made (say, the disk was full): the backup is a
    # sync older than the file subscribers have. Sessions moved (SEQUENCE 1) by that last
    # sync must not go back to SEQUENCE 0 when the plan moves them back.
    older = world.bak.read_bytes()
    cfg = Path(world.cfg)
    original = cfg.read_text(encoding="utf-8")
    cfg.write_text(
        original.replace("[schedule]\n", '[schedule]\nlatest = "17:00"\n'),
        encoding="utf-8",
    )
    code, text, err = world.run("sync")
    assert code == 0, err
    moved = _sequences(world.out)
    assert max(moved.values()) == 1
    world.bak.write_bytes(older)
    code, text, err = world.run("state", "restore")
    assert code == 0, err
    cfg.write_text(original, encoding="utf-8")  # the plan may keep them where they were
    code, text, err = world.run("sync")
    assert code == 0, err
    after = _sequences(world.out)
    assert all(after[k] > moved[k] for k, v in moved.items() if v == 1), (moved, after)
    assert all(after.get(k, 0) >= v for k, v in moved.items())


def _hold(
    state: str, ready: multiprocessing.synchronize.Event, go: multiprocessing.synchronize.Event
) -> None:
    with state_lock.hold(Path(state), 5):
        ready.set()
        go.wait(20)


def test_restore_is_refused_while_another_calsync_holds_the_lock(world: World) -> None:
    before = world.state.read_bytes()
    ctx = multiprocessing.get_context("spawn")
    ready, go = ctx.Event(), ctx.Event()
    proc = ctx.Process(target=_hold, args=(str(world.state), ready, go))
    proc.start()
    try:
        assert ready.wait(20)
        code, _, err = world.run("state", "restore")
    finally:
        go.set()
        proc.join(20)
    assert code == 1
    _one_error(err)
    assert f"another calsync is using {world.state} (pid {proc.pid})" in err
    assert world.state.read_bytes() == before
    assert not [p for p in world.state.parent.iterdir() if ".damaged-" in p.name]


def test_restore_without_a_good_backup_changes_nothing(world: World) -> None:
    before = world.state.read_bytes()
    bak = world.bak.read_bytes()
    world.bak.write_bytes(bak[:4096] + bytes(len(bak) - 4096))  # every page but the first zeroed
    code, _, err = world.run("state", "restore")
    assert code == 1
    assert f"{world.bak}: the backup is damaged too" in _one_error(err)
    world.bak.unlink()
    code, _, err = world.run("state", "restore")
    assert code == 1
    assert f"no backup to restore: {world.bak} does not exist" in _one_error(err)
    assert world.state.read_bytes() == before
    assert sorted(p.name for p in world.state.parent.iterdir()) == [
        "state.sqlite3",
        "state.sqlite3.lock",
    ]


# --------------------------------------------------------------------------- disk full


def test_disk_full_writing_the_lock_files_pid_is_said_so(world: World) -> None:
    # Found: exit 70. /dev/full answers every write with the kernel's ENOSPC.
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full on this system")
    lock = state_lock.lock_path_of(world.state)
    lock.unlink()
    lock.symlink_to("/dev/full")
    code, _, err = world.run("sync", now=LATER)
    assert code == 1
    assert f"calsync: error: disk full: cannot write {lock} (the lock file)" in _one_error(err)
    assert "WARNING" not in err  # no attempt to record the failure in that full state


class _Capped(StateStore):
    """The state with SQLite's page limit at the file's current size: the next write
    that needs a new page gets SQLITE_FULL from SQLite itself."""

    def _connect(self) -> sqlite3.Connection:
        conn = super()._connect()
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
        conn.execute(f"PRAGMA max_page_count = {max(pages, 1)}")
        return conn


def test_sqlite_full_in_the_sync_transaction_is_disk_full_and_keeps_the_state(
    world: World,
) -> None:
    before = _rows(world.state, "SELECT count(*) FROM sync_log")
    store = _Capped(world.state)
    at = datetime(2026, 11, 30, tzinfo=UTC)
    with pytest.raises(DiskFullError) as e, store.writer() as tx:
        for i in range(50):
            tx.put_source_cache(CachedSource(f"https://x/{i}", None, None, b"x" * 100_000, at))
    assert str(e.value).startswith(f"disk full: cannot write {world.state}")
    assert _rows(world.state, "SELECT count(*) FROM sync_log") == before
    assert _rows(world.state, "SELECT count(*) FROM source_cache WHERE url LIKE 'https://x/%'") == [
        (0,)
    ]


_TMPFS_SCRIPT = textwrap.dedent(
    """\
    set -u
    mount -t tmpfs -o size=3m tmpfs "$W" || exit 99
    cp "$SEED"/config.toml "$W"/ && cp -r "$SEED"/state "$SEED"/out.ics "$W"/
    cd "$W"
    for leave in 0 8 40 100 $(seq 120 20 280); do
        cp "$SEED"/state/state.sqlite3 "$SEED"/state/state.sqlite3.bak "$SEED"/out.ics state/
        mv state/out.ics .
        dd if=/dev/zero of=filler bs=1k 2>/dev/null
        [ "$leave" = 0 ] || truncate -s -"${leave}K" filler
        "$PY" -m calsync --config config.toml --now "$LATER" sync >/dev/null 2>"$SEED"/err.txt
        echo "leave=$leave exit=$?"; cat "$SEED"/err.txt; echo "--"
        rm -f filler
    done
    dd if=/dev/zero of=filler bs=1k 2>/dev/null
    "$PY" -m calsync --config config.toml feed-url >/dev/null 2>"$SEED"/err.txt
    echo "leave=0 feed-url exit=$?"; cat "$SEED"/err.txt; echo "--"
    rm -f filler
    "$PY" -m calsync --config config.toml --now "$LATER" sync >/dev/null 2>&1; echo "after=$?"
    "$PY" -m calsync --config config.toml state check >/dev/null 2>&1; echo "check=$?"
    """
)


@pytest.mark.slow
def test_a_full_disk_is_disk_full_wherever_it_strikes(world: World, tmp_path: Path) -> None:
    # A real 3 MB tmpfs in a private mount namespace, filled to leave 0 to 280 kB of
    # room: the kernel's ENOSPC and SQLite's own reactions to it (SQLITE_FULL, or "disk
    # I/O error" growing the WAL index) wherever the sync's writes run out: the state,
    # the output, the backup (which needs room for a whole copy beside the old one), and
    # the feed token file `feed-url` makes.
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        pytest.skip("a private tmpfs needs root and unshare(1)")
    work = tmp_path / "tmpfs"
    work.mkdir()
    env = {
        **os.environ,
        "W": str(work),
        "SEED": str(tmp_path),
        "PY": sys.executable,
        "LATER": LATER,
    }
    proc = subprocess.run(
        ["unshare", "-m", "--propagation", "private", "bash", "-c", _TMPFS_SCRIPT],
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    if proc.returncode == 99 or "unshare failed" in proc.stderr:
        pytest.skip(f"cannot mount a tmpfs here: {proc.stderr.strip()[:200]}")
    runs = proc.stdout.split("--\n")
    full = [r for r in runs if "exit=1" in r]
    for r in runs[:-1]:
        assert "exit=0" in r or "exit=1" in r, proc.stdout
        if "exit=1" in r:
            assert "Traceback" not in r and "internal error" not in r, r
            errors = [ln for ln in r.splitlines() if ln.startswith("calsync: error:")]
            assert len(errors) == 1 and "error: disk full: cannot write " in errors[0], r
    said = "".join(full)
    for path in ("state/state.sqlite3", "out.ics", "state/state.sqlite3.bak", "state/feed-token"):
        assert f"calsync: error: disk full: cannot write {work}/{path}" in said, proc.stdout
    # Room again: the sync goes through and nothing was left half-written.
    assert "after=0" in runs[-1] and "check=0" in runs[-1], proc.stdout
