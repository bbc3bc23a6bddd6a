"""The state's OS file lock: one calsync at a time writes (or restores) a state file.

An flock on `<state>.lock`, held for the whole sync, so two processes never interleave
their transactions, and `calsync state restore` never replaces the file under a sync.
The holder writes its PID into the lock file for the message another process shows.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import time
from collections.abc import Iterator
from pathlib import Path

from calsync.errors import DiskFullError, LockedError, StateError

_DISK_FULL = (errno.ENOSPC, errno.EDQUOT)


def lock_path_of(state_path: Path) -> Path:
    return state_path.with_name(state_path.name + ".lock")


@contextlib.contextmanager
def hold(state_path: Path, wait_seconds: float, *, doing: str = "syncing") -> Iterator[None]:
    """Hold the lock of `state_path`, waiting up to `wait_seconds` for another holder;
    LockedError (naming its PID) when it does not let go in time."""
    lock_path = lock_path_of(state_path)
    try:
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    except OSError as e:
        if e.errno in _DISK_FULL:  # no inode left for the lock file
            raise DiskFullError(lock_path, what="the lock file") from None
        raise StateError(f"{lock_path}: cannot open the lock file: {e.strerror or e}") from None
    try:
        deadline = time.monotonic() + wait_seconds
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise LockedError(
                        f"another calsync is {doing} {state_path} (pid {_holder(fd)})",
                        hint="wait for it to finish, or stop it",
                    ) from None
                time.sleep(0.05)
        try:
            _write_pid(fd, lock_path)
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _write_pid(fd: int, lock_path: Path) -> None:
    """Say who holds the lock. A full disk is said as such (it was exit 70); another
    failure to write this note is not worth stopping a sync for."""
    data = str(os.getpid()).encode()
    for step in (lambda: os.ftruncate(fd, 0), lambda: os.pwrite(fd, data, 0)):
        try:
            step()
        except OSError as e:
            if e.errno in _DISK_FULL:
                raise DiskFullError(lock_path, what="the lock file") from None
            # Anything else (EINVAL: the lock path is a device or another odd file):
            # the flock holds all the same.


def _holder(fd: int) -> str:
    try:
        return os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
    except OSError:
        return "unknown"
