"""The one way calsync writes a file: whole or not at all, and durably.

Every file calsync writes (the ICS output, the config `init` makes, the Google token,
the side files beside the state) goes through `write_file`, or through `stage` and
`Staged.publish` when the new content must wait for something else (the ICS file waits
for the state's COMMIT). The steps:

1. a temp file in the target's own folder (a rename is atomic only within one file
   system), created with the final mode so a secret is never readable by others;
2. write, flush, fsync (the bytes are on disk before the name points at them);
3. rename over the target; fsync the folder (the new name is on disk too).

A failure at any step removes the temp file and leaves the old file as it was. A full
disk or quota (ENOSPC, EDQUOT) is `DiskFullError` naming the file; any other OSError is
raised as it is, for the caller to word (a sink error, a config error...).

The mode of the new file: `mode` when given (secrets: 0o600); else the existing file's
mode; else what a plain `open()` would give (0o666 less the umask). A symlink at the
target is written through: the file it points to is replaced, next to itself, and the
link stays a link.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import sys
from dataclasses import dataclass
from pathlib import Path

from calsync.errors import DiskFullError

DISK_FULL = frozenset({errno.ENOSPC, errno.EDQUOT})
TEMP_SUFFIX = ".calsync-tmp"

__all__ = [
    "Staged",
    "is_disk_full",
    "move",
    "real_target",
    "stage",
    "sweep_temps",
    "write_file",
]


def is_disk_full(e: BaseException) -> bool:
    return isinstance(e, OSError) and e.errno in DISK_FULL


def real_target(path: Path) -> Path:
    """The file a write to `path` must replace: `path` itself, or where its symlink(s)
    point (a dangling link names the file to create)."""
    path = Path(path)
    if not path.is_symlink():
        return path
    return Path(os.path.realpath(path))


def temp_name(target: Path) -> Path:
    """A fresh temp name beside `target`, recognisable as calsync's own leftover."""
    return target.with_name(f".{target.name}.{secrets.token_hex(4)}{TEMP_SUFFIX}")


@dataclass(slots=True)
class Staged:
    """New content for `target`, written and fsynced in `tmp`, not yet in place."""

    target: Path
    tmp: Path
    exclusive: bool = False
    done: bool = False

    def publish(self) -> None:
        """Put the new content in place: rename (or link, for an exclusive create),
        then fsync the folder. Raises FileExistsError for an exclusive create that
        lost; DiskFullError; OSError."""
        if self.done:
            raise RuntimeError(f"{self.target}: staged content already published or discarded")
        try:
            if self.exclusive:
                self._link_or_create()
            else:
                os.replace(self.tmp, self.target)
            self.done = True
            fsync_dir(self.target.parent)
        except OSError as e:
            self.discard()
            if is_disk_full(e):
                raise DiskFullError(self.target) from None
            raise
        except BaseException:
            self.discard()
            raise

    def _link_or_create(self) -> None:
        """Create the target from the temp, never replacing a file: a hard link (the
        content appears whole); where the file system has no hard links (vfat, some FUSE),
        an exclusive create of the target with the temp's content, fsynced."""
        try:
            os.link(self.tmp, self.target)  # fails if the target exists: never replaces
        except OSError as e:
            if e.errno not in (errno.EPERM, errno.EOPNOTSUPP, errno.EXDEV, errno.EMLINK):
                raise
            with open(self.tmp, "rb") as src:
                data = src.read()
            mode = os.stat(self.tmp).st_mode & 0o7777
            fd = os.open(self.target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
            try:
                os.write(fd, data)
                os.fsync(fd)
            except BaseException:
                os.close(fd)
                with contextlib.suppress(OSError):
                    os.unlink(self.target)  # ours alone: O_EXCL made it a moment ago
                raise
            os.close(fd)
        os.unlink(self.tmp)

    def discard(self) -> None:
        """Remove the temp file (quietly: it may already be gone)."""
        self.done = True
        with contextlib.suppress(OSError):
            os.unlink(self.tmp)


def stage(
    path: Path, data: bytes | str, *, mode: int | None = None, exclusive: bool = False
) -> Staged:
    """Write `data` to a temp file beside the file `path` names (through a symlink) and
    fsync it; `Staged.publish()` puts it in place. Text is written as UTF-8, as is.

    `exclusive`: publishing creates the file and never replaces one (FileExistsError).
    """
    target = real_target(Path(path))
    body = data.encode("utf-8") if isinstance(data, str) else bytes(data)
    if mode is None:
        try:
            keep: int | None = target.stat().st_mode & 0o7777
        except FileNotFoundError:
            keep = None
        except OSError as e:
            if is_disk_full(e):  # pragma: no cover - stat does not write
                raise DiskFullError(target) from None
            raise
    else:
        keep = mode & 0o7777
    tmp = temp_name(target)
    # A new file with no mode asked: 0o666 and the umask decide, as for open(). Else
    # the temp starts private and gets its mode before it has a byte in it.
    create_mode = 0o666 if keep is None else 0o600
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, create_mode)
    except OSError as e:
        if is_disk_full(e):
            raise DiskFullError(target) from None
        raise
    staged = Staged(target, tmp, exclusive=exclusive)
    try:
        try:
            if keep is not None:
                os.fchmod(fd, keep)
            view = memoryview(body)
            while view:
                n = os.write(fd, view)
                view = view[n:]
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError as e:
        staged.discard()
        if is_disk_full(e):
            raise DiskFullError(target) from None
        raise
    except BaseException:
        staged.discard()
        raise
    # A named point between two steps, for tests that kill calsync there (an audit hook;
    # costs nothing when none is installed).
    sys.audit("calsync.atomic.staged", str(target))
    return staged


def write_file(
    path: Path, data: bytes | str, *, mode: int | None = None, exclusive: bool = False
) -> None:
    """Replace (or, `exclusive`, create) the file `path` names with `data`, atomically
    and durably: see the module's docstring."""
    stage(path, data, mode=mode, exclusive=exclusive).publish()


def move(src: Path, dst: Path) -> None:
    """Rename `src` to `dst` in the same folder, durably (the folder fsynced): a whole
    file set aside under a new name. DiskFullError; OSError."""
    try:
        os.replace(src, dst)
    except OSError as e:
        if is_disk_full(e):
            raise DiskFullError(dst) from None
        raise
    fsync_dir(Path(dst).parent)


def fsync_dir(folder: Path) -> None:
    """Make a rename in `folder` durable. Some file systems cannot sync a folder; the
    rename is done anyway, so that is not an error."""
    try:
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError as e:
        if is_disk_full(e):
            raise DiskFullError(folder) from None
    finally:
        os.close(fd)


def sweep_temps(path: Path) -> list[Path]:
    """Remove the temp files a killed calsync left beside the file `path` names; returns
    them. Call it only while holding the lock that guards writes to `path`."""
    target = real_target(Path(path))
    gone: list[Path] = []
    try:
        leftovers = list(target.parent.glob(f".{_glob_escape(target.name)}.*{TEMP_SUFFIX}"))
    except OSError:
        return gone
    for p in leftovers:
        with contextlib.suppress(OSError):
            p.unlink()
            gone.append(p)
    return gone


def _glob_escape(name: str) -> str:
    return "".join(f"[{c}]" if c in "*?[" else c for c in name)
