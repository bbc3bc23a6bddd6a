"""A state file that knows when it is damaged, and the last good copy to go back to.

The state is calsync's memory of what it wrote (SEQUENCE numbers, UIDs, past sessions).
Losing it silently is worse than stopping: the next sync would forget the past sessions
and write every event anew. So:

- On open, SQLite's `PRAGMA integrity_check` (`OPEN_CHECK`: cheap, see there) refuses a
  malformed file; every text read back is decoded strictly (`strict_text`), so a stored
  value that is not UTF-8 is the same clear error instead of an internal one.
  `problems()` adds a scan of every text value, for `calsync state check`, `doctor`, and
  every backup before it replaces the last one.
- A state with no history while the ICS output holds calsync's sessions (the state file
  was lost, emptied or re-created) is refused (`refuse_lost`), unless the runner starts
  afresh on purpose (`calsync sync --new-state`).
- After every successful sync, `<state>.bak` (0600) is written with SQLite's online backup
  API (a consistent snapshot even while the feed server reads), checked, fsynced and
  renamed into place, so it is always a whole, healthy copy. `calsync state restore`
  puts it back, keeping the file it replaces aside as `<state>.damaged-<time>`.

Every SQLite error that reaches the user goes through `translate`: a full disk is a
`DiskFullError` naming the file, a malformed file a `StateDamagedError` with the recovery
steps, anything else a `StateError` naming the file.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import re
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from calsync import atomic, state_lock
from calsync.errors import (
    CalsyncError,
    DiskFullError,
    LockedError,
    StateDamagedError,
    StateError,
    StateLostError,
)

log = logging.getLogger(__name__)

BAK_SUFFIX = ".bak"


def backup_path(state: Path) -> Path:
    return state.with_name(state.name + BAK_SUFFIX)


def recovery_hint(state: Path, *, lost: bool = False) -> str:
    """What to do about a damaged (or, `lost`, history-less) state: restore the backup
    when there is one, else start afresh on purpose."""
    bak = backup_path(state)
    if lost:
        afresh = "start afresh on purpose with `calsync sync --new-state`"
    else:
        afresh = f"move {state} away and run `calsync sync --new-state` to start afresh"
    if bak.is_file():
        return (
            f"run `calsync state restore` to put back {bak} (the state after the last good "
            f"sync; the file it replaces is kept aside), or {afresh}"
        )
    return f"there is no backup ({bak}) to restore: {afresh} (calsync forgets what it wrote)"


# --------------------------------------------------------------------------- reading


# What an SQLite call on a damaged file can raise: its errors, and UnicodeDecodeError when
# SQLite's own message quotes damaged schema text that sqlite3 cannot decode.
SQLITE_FAILURES = (sqlite3.DatabaseError, UnicodeDecodeError)


class NotUtf8Error(sqlite3.DataError):
    """A stored text value that is not UTF-8: raised from inside a fetch, so the state's
    usual SQLite error handling turns it into a StateDamagedError."""


def strict_text(raw: bytes) -> str:
    """The connections' text_factory: UTF-8 or a NotUtf8Error (sqlite3's own decoding
    failure is an OperationalError with no code, indistinguishable from others)."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as e:
        where = f"{e.reason} at byte {e.start}"
        raise NotUtf8Error(f"a stored text is not valid UTF-8 ({where})") from None


def is_disk_full(e: BaseException) -> bool:
    """ENOSPC/EDQUOT from a plain file, or SQLite's SQLITE_FULL."""
    if isinstance(e, OSError):
        return e.errno in (errno.ENOSPC, errno.EDQUOT)
    return _primary(e) == sqlite3.SQLITE_FULL


def _primary(e: BaseException) -> int | None:
    code = getattr(e, "sqlite_errorcode", None)
    return code & 0xFF if isinstance(code, int) else None


def translate(e: BaseException, path: Path, doing: str) -> CalsyncError:
    """The user-facing error for an SQLite failure on the state file `path`."""
    if isinstance(e, NotUtf8Error | UnicodeDecodeError):
        # UnicodeDecodeError: SQLite's own message quoted a damaged byte sqlite3 could not
        # decode (it happens for malformed schema text).
        return StateDamagedError(
            f"{path}: the state file is damaged: {e}", hint=recovery_hint(path)
        )
    primary = _primary(e)
    if _full(e, path):
        return DiskFullError(path)
    if primary == sqlite3.SQLITE_NOTADB:
        return StateDamagedError(
            f"{path}: not a calsync state file, or a damaged one ({e})", hint=recovery_hint(path)
        )
    if primary == sqlite3.SQLITE_CORRUPT:
        return StateDamagedError(
            f"{path}: the state file is damaged ({e})", hint=recovery_hint(path)
        )
    return StateError(f"{path}: {doing} ({e})")


# Below this much free space an I/O error is taken for what it almost surely is.
NEARLY_FULL_BYTES = 1 << 20


def _full(e: BaseException, path: Path) -> bool:
    """SQLite says SQLITE_FULL only when a write of the database or journal fell short;
    growing its shared-memory index on a full disk is IOERR_SHMSIZE ("disk I/O error"),
    and that is the first write a sync makes: the free space tells."""
    primary = _primary(e)
    if primary == sqlite3.SQLITE_FULL:
        return True
    return primary == sqlite3.SQLITE_IOERR and _nearly_full(path)


def _nearly_full(path: Path) -> bool:
    try:
        st = os.statvfs(path.parent)
    except OSError:
        return False
    return st.f_bavail * st.f_frsize < NEARLY_FULL_BYTES or (st.f_files > 0 and st.f_favail == 0)


# The check every open runs. integrity_check, not quick_check: on calsync's schema it
# costs about the same (bench/bench_state_guard.py: ~0.1 ms for a year of syncs, ~15 ms
# for a state caching a 20 MB calendar) and it also finds an index that disagrees with
# its table, which quick_check skips (7 of 300 random damages in the note's trial).
OPEN_CHECK = "integrity_check"


def open_check(conn: sqlite3.Connection, path: Path) -> None:
    """SQLite's check of the whole file (b-trees, free list, record formats, indexes):
    StateDamagedError when it fails."""
    try:
        rows = [str(r[0]) for r in conn.execute(f"PRAGMA {OPEN_CHECK}").fetchall()]
    except SQLITE_FAILURES as e:
        raise translate(e, path, "cannot check the state file") from None
    if rows != ["ok"]:
        raise StateDamagedError(
            f"{path}: the state file is damaged (SQLite's {OPEN_CHECK}: {_first(rows)})",
            hint=recovery_hint(path),
        )


def problems(path: Path) -> list[str]:
    """Everything wrong with the SQLite file at `path` (empty: healthy): SQLite's full
    `integrity_check`, then every text value of every table decoded as UTF-8.
    DiskFullError when the disk is too full to even read it (a WAL file's index)."""
    found: list[str] = []
    try:
        conn = sqlite3.connect(path, timeout=30.0, isolation_level=None)
    except sqlite3.Error as e:
        if _full(e, path):
            raise DiskFullError(path) from None
        return [f"cannot open it ({e})"]
    try:
        conn.text_factory = lambda b: b.decode("utf-8", "replace")
        conn.execute("PRAGMA query_only = ON")
        conn.execute("BEGIN")  # one snapshot for all the checks
        rows = [str(r[0]) for r in conn.execute("PRAGMA integrity_check").fetchall()]
        if rows != ["ok"]:
            return [f"SQLite's integrity_check: {_first(rows)}"]
        found.extend(_bad_text(conn))
    except (sqlite3.Error, UnicodeDecodeError) as e:
        if _full(e, path):  # reading a WAL file needs room for its index: not damage
            raise DiskFullError(path) from None
        found.append(str(e))
    finally:
        conn.close()
    return found


def _bad_text(conn: sqlite3.Connection) -> list[str]:
    out = []
    tables = [
        str(r[0])
        for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        if not str(r[0]).startswith("sqlite_")
    ]
    conn.text_factory = bytes
    try:
        for table in tables:
            quoted = '"' + table.replace('"', '""') + '"'
            info = conn.execute(f"PRAGMA table_info({quoted})")
            columns = [str(r[1], "utf-8", "replace") for r in info]
            for col in columns:
                qc = '"' + col.replace('"', '""') + '"'
                bad = 0
                texts = f"SELECT {qc} FROM {quoted} WHERE typeof({qc}) = 'text'"
                for (raw,) in conn.execute(texts):
                    try:
                        bytes(raw).decode("utf-8")
                    except UnicodeDecodeError:
                        bad += 1
                if bad:
                    out.append(f"table {table}, column {col}: {bad} text value(s) not valid UTF-8")
    finally:
        conn.text_factory = str
    return out


def _first(rows: list[str]) -> str:
    more = f" (and {len(rows) - 1} more)" if len(rows) > 1 else ""
    return (rows[0] if rows else "no answer") + more


# --------------------------------------------------------------------------- lost history


class _History(Protocol):
    def holds_history(self) -> bool: ...


_KEY_LINE = re.compile(rb"^X-CALSYNC-KEY[;:]", re.MULTILINE)


def sessions_in_output(output: Path) -> int:
    """How many of calsync's sessions the ICS file `output` holds (0: none, not ours, or
    not there)."""
    try:
        data = output.read_bytes() if output.is_file() else b""
    except OSError:
        return 0
    if b"PRODID:-//calsync//" not in data:
        return 0
    return len(_KEY_LINE.findall(data))


def refuse_lost(view: _History, path: Path, output: Path | None) -> None:
    """StateLostError when the state holds no history (no session ever recorded, no UID
    namespace made) while `output` holds calsync's sessions: the state was lost, emptied
    or re-created, and syncing on would forget what calsync wrote."""
    if output is None or view.holds_history():
        return
    held = sessions_in_output(output)
    if not held:
        return
    raise StateLostError(
        f"{path} holds no history (it is new, empty or was replaced), but {output} holds "
        f"{held} session(s) calsync wrote: syncing now would forget them (past sessions "
        "vanish, every event is written anew)",
        hint=recovery_hint(path, lost=True),
    )


# --------------------------------------------------------------------------- backup


def backup(path: Path, *, wait_seconds: float) -> Path | None:
    """Write `<state>.bak` for the state file `path`: the committed state, whole and
    checked. None when another calsync took the lock meanwhile (its own sync keeps the
    backup)."""
    bak = backup_path(path)
    try:
        with state_lock.hold(path, wait_seconds):
            _backup_locked(path, bak)
    except LockedError:
        log.info("not backing up %s: another calsync is syncing it", path)
        return None
    log.info("backed up %s to %s", path, bak)
    return bak


def _backup_locked(path: Path, bak: Path) -> None:
    try:
        _write_backup(path, bak)
    except DiskFullError:
        saved = "the state's backup; the sync itself was saved"
        raise DiskFullError(bak, what=saved) from None


def _write_backup(path: Path, bak: Path) -> None:
    # An empty 0600 file beside the backup (atomic.stage), filled by SQLite's backup API.
    staged = _staged(bak, b"")
    try:
        try:
            src = sqlite3.connect(path, timeout=30.0, isolation_level=None)
            try:
                dst = sqlite3.connect(staged.tmp, isolation_level=None)
                try:
                    src.backup(dst)
                finally:
                    dst.close()
            finally:
                src.close()
        except sqlite3.Error as e:
            raise translate(e, bak, "cannot back up the state") from None
        bad = problems(staged.tmp)
        if bad:
            raise StateDamagedError(
                f"{path}: the state file is damaged ({bad[0]}); {bak} was left as it was",
                hint=recovery_hint(path),
            )
        _fsync_file(staged.tmp, bak)
        _publish(staged)
    finally:
        _discard(staged)


# --------------------------------------------------------------------------- restore


@dataclass(frozen=True, slots=True)
class Restored:
    state: Path
    backup: Path
    backup_time: datetime  # the backup file's mtime
    aside: Path | None  # where the replaced file went (None: there was none)
    last_sync: datetime | None  # the last successful sync the backup holds


def restore(path: Path, now: datetime) -> Restored:
    """Put `<state>.bak` back as the state, under the state's lock (refused while another
    calsync holds it). The file it replaces (and its WAL) is kept as
    `<state>.damaged-<time>`; the backup stays too.

    A backup older than the ICS file (its sync's backup failed) lowers no SEQUENCE: the
    ICS sink takes the file's SEQUENCEs as a floor on the next sync (calsync/sinks/ics.py).
    """
    bak = backup_path(path)
    if not bak.is_file():
        raise StateError(
            f"no backup to restore: {bak} does not exist",
            hint="calsync writes it after each successful sync; without one, move "
            f"{path} away and run `calsync sync --new-state` to start afresh",
        )
    try:
        with state_lock.hold(path, 0, doing="using"):
            return _restore_locked(path, bak, now)
    except LockedError as e:
        raise LockedError(
            f"{e.message}: not restoring while it runs",
            hint="stop it (the daemon or the sync timer), then run `calsync state restore` again",
        ) from None


def _restore_locked(path: Path, bak: Path, now: datetime) -> Restored:
    try:
        data = bak.read_bytes()
    except OSError as e:
        raise StateError(f"{bak}: cannot read the backup: {e.strerror or e}") from None
    staged = _staged(path, data)
    try:
        bad = problems(staged.tmp)
        if bad:
            raise StateDamagedError(
                f"{bak}: the backup is damaged too ({bad[0]}); nothing was changed",
                hint=f"move {path} away and run `calsync sync --new-state` to start afresh",
            )
        last = last_good_sync(staged.tmp)
        _fsync_file(staged.tmp, path)
        aside = _set_aside(path, now)
        _publish(staged)
    finally:
        _discard(staged)
    # The -shm index belongs to the file that was replaced; SQLite remakes it.
    with contextlib.suppress(FileNotFoundError):
        os.unlink(_side(path, "-shm"))
    return Restored(
        state=path,
        backup=bak,
        backup_time=datetime.fromtimestamp(bak.stat().st_mtime, UTC),
        aside=aside,
        last_sync=last,
    )


def _set_aside(path: Path, now: datetime) -> Path | None:
    """Rename the current state (and its WAL, which must never be replayed onto the
    restored file) to `<state>.damaged-<time>`, a name SQLite can still open with its WAL."""
    if not path.exists():
        return None
    stamp = now.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    aside = path.with_name(f"{path.name}.damaged-{stamp}")
    n = 1
    while aside.exists():
        n += 1
        aside = path.with_name(f"{path.name}.damaged-{stamp}-{n}")
    _move(path, aside)
    wal = _side(path, "-wal")
    if wal.exists():
        _move(wal, _side(aside, "-wal"))
    return aside


def last_good_sync(db: Path) -> datetime | None:
    """When the last successful sync the state file `db` records ran (None: none, or
    the file cannot tell)."""
    try:
        conn = sqlite3.connect(db, isolation_level=None)
    except sqlite3.Error:
        return None
    try:
        last = "SELECT at FROM sync_log WHERE ok = 1 ORDER BY id DESC LIMIT 1"
        row = conn.execute(last).fetchone()
        return datetime.fromisoformat(str(row[0])) if row else None
    except (sqlite3.Error, ValueError):
        return None
    finally:
        conn.close()


# --------------------------------------------------------------------------- files


def _side(path: Path, suffix: str) -> Path:
    return path.with_name(path.name + suffix)


def _staged(target: Path, data: bytes) -> atomic.Staged:
    """`data` in a fsynced 0600 temp file beside `target` (calsync/atomic.py)."""
    try:
        return atomic.stage(target, data, mode=0o600)
    except OSError as e:
        raise StateError(f"{target}: cannot write beside it: {e.strerror or e}") from None


def _publish(staged: atomic.Staged) -> None:
    try:
        staged.publish()
    except OSError as e:
        raise StateError(f"{staged.target}: cannot put it in place: {e.strerror or e}") from None


def _discard(staged: atomic.Staged) -> None:
    """Remove a temp that was not put in place, with any side file SQLite left by it."""
    if not staged.done:
        staged.discard()
    for suffix in ("-wal", "-shm", "-journal"):
        with contextlib.suppress(OSError):
            os.unlink(_side(staged.tmp, suffix))


def _move(src: Path, dst: Path) -> None:
    try:
        atomic.move(src, dst)
    except OSError as e:
        raise StateError(f"{src}: cannot rename it to {dst}: {e.strerror or e}") from None


def _fsync_file(tmp: Path, target: Path) -> None:
    """SQLite wrote `tmp` after atomic.stage's fsync: sync it again before the rename."""
    try:
        fd = os.open(tmp, os.O_RDONLY | os.O_CLOEXEC)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError as e:
        if is_disk_full(e):
            raise DiskFullError(target) from None
        raise StateError(f"{target}: cannot write it: {e.strerror or e}") from None
