"""calsync.atomic: the one file writer (whole or nothing, fsynced, mode, symlinks, disk
full), the side files' strict reading, and a scan that no other module writes files."""

from __future__ import annotations

import errno
import os
import re
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

import calsync
from calsync import atomic
from calsync.atomic import stage, sweep_temps, write_file
from calsync.errors import DiskFullError, StateError
from calsync.side_files import read_json_object, write_json


@pytest.fixture
def umask_027() -> Iterator[None]:
    old = os.umask(0o027)
    try:
        yield
    finally:
        os.umask(old)


def mode(p: Path) -> int:
    return stat.S_IMODE(p.stat().st_mode)


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def test_new_file_takes_its_mode_from_the_umask(tmp_path: Path, umask_027: None) -> None:
    p = tmp_path / "a.ics"
    write_file(p, b"one")
    assert p.read_bytes() == b"one"
    assert mode(p) == 0o640  # 0o666 & ~0o027, as open() would give
    os.umask(0o002)
    q = tmp_path / "b.ics"
    write_file(q, "two ✓")
    assert q.read_text(encoding="utf-8") == "two ✓" and mode(q) == 0o664


def test_replacing_keeps_the_existing_mode_and_an_explicit_mode_wins(tmp_path: Path) -> None:
    p = tmp_path / "a.ics"
    p.write_bytes(b"old")
    os.chmod(p, 0o604)
    write_file(p, b"new")
    assert p.read_bytes() == b"new" and mode(p) == 0o604
    write_file(p, b"secret", mode=0o600)
    assert p.read_bytes() == b"secret" and mode(p) == 0o600
    assert leftovers(tmp_path) == []


def test_a_secret_is_never_readable_by_others_even_while_staged(tmp_path: Path) -> None:
    staged = stage(tmp_path / "token.json", b"{}", mode=0o600)
    assert mode(staged.tmp) == 0o600 and not (tmp_path / "token.json").exists()
    staged.publish()
    assert mode(tmp_path / "token.json") == 0o600


def test_staged_content_is_invisible_until_published_and_discard_leaves_nothing(
    tmp_path: Path,
) -> None:
    p = tmp_path / "out.ics"
    p.write_bytes(b"old")
    staged = stage(p, b"new")
    assert p.read_bytes() == b"old" and staged.tmp.read_bytes() == b"new"
    assert staged.tmp.parent == tmp_path  # same folder: the rename is atomic
    staged.discard()
    assert p.read_bytes() == b"old" and leftovers(tmp_path) == []
    again = stage(p, b"new")
    again.publish()
    assert p.read_bytes() == b"new" and leftovers(tmp_path) == []
    with pytest.raises(RuntimeError):
        again.publish()


def test_the_file_and_its_folder_are_fsynced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    synced: list[tuple[str, int, int]] = []
    real_fsync = os.fsync

    def spy(fd: int) -> None:
        st = os.fstat(fd)
        synced.append(("dir" if stat.S_ISDIR(st.st_mode) else "file", st.st_ino, st.st_size))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", spy)
    p = tmp_path / "a.json"
    write_file(p, b"payload", mode=0o600)
    # The data (the inode the name now points at, all 7 bytes) before the rename; the
    # folder that holds the new name after it.
    folder = tmp_path.stat()
    assert synced == [("file", p.stat().st_ino, 7), ("dir", folder.st_ino, folder.st_size)]


def test_a_failed_write_keeps_the_old_file_and_removes_the_temp(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    p = tmp_path / "a.ics"
    p.write_bytes(b"old")

    def broken_fsync(fd: int) -> None:
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(os, "fsync", broken_fsync)
    with pytest.raises(OSError, match="Input/output"):
        write_file(p, b"new")
    assert p.read_bytes() == b"old" and leftovers(tmp_path) == []


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EDQUOT])
@pytest.mark.parametrize("where", ["write", "replace"])
def test_disk_full_is_disk_full_naming_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, code: int, where: str
) -> None:
    p = tmp_path / "a.ics"
    p.write_bytes(b"old")

    def full(*args: object) -> None:
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(os, where, full)
    with pytest.raises(DiskFullError) as caught:
        write_file(p, b"new" * 1000)
    assert str(p) in str(caught.value) and str(caught.value).startswith("disk full")
    assert caught.value.exit_code == 1
    monkeypatch.undo()
    assert p.read_bytes() == b"old" and leftovers(tmp_path) == []


def test_a_symlink_is_written_through_and_stays_a_link(tmp_path: Path) -> None:
    real_dir = tmp_path / "synced"
    real_dir.mkdir()
    target = real_dir / "strength.ics"
    target.write_bytes(b"old")
    os.chmod(target, 0o640)
    link = tmp_path / "strength.ics"
    link.symlink_to(Path("synced") / "strength.ics")  # relative, as people make them
    write_file(link, b"new")
    assert link.is_symlink() and os.readlink(link) == str(Path("synced") / "strength.ics")
    assert target.read_bytes() == b"new" and mode(target) == 0o640
    # The temp file lived beside the target, not beside the link.
    assert leftovers(real_dir) == [] and leftovers(tmp_path) == []


def test_a_dangling_symlink_gets_its_target_made(tmp_path: Path) -> None:
    link = tmp_path / "out.ics"
    link.symlink_to(tmp_path / "elsewhere.ics")
    write_file(link, b"first")
    assert link.is_symlink() and (tmp_path / "elsewhere.ics").read_bytes() == b"first"


def test_exclusive_create_never_replaces(tmp_path: Path) -> None:
    p = tmp_path / "feed-token"
    write_file(p, "one\n", mode=0o600, exclusive=True)
    with pytest.raises(FileExistsError):
        write_file(p, "two\n", mode=0o600, exclusive=True)
    assert p.read_text() == "one\n" and mode(p) == 0o600 and leftovers(tmp_path) == []


def test_exclusive_create_without_hard_links_still_never_replaces(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """vfat and some FUSE file systems refuse link() with EPERM: the token is then made
    by an exclusive create (the reviewer found `serve` failing there)."""

    def no_links(src: object, dst: object) -> None:
        raise OSError(errno.EPERM, "Operation not permitted")

    monkeypatch.setattr("calsync.atomic.os.link", no_links)
    p = tmp_path / "feed-token"
    write_file(p, "one\n", mode=0o600, exclusive=True)
    with pytest.raises(FileExistsError):
        write_file(p, "two\n", mode=0o600, exclusive=True)
    assert p.read_text() == "one\n" and mode(p) == 0o600 and leftovers(tmp_path) == []


def test_sweep_removes_only_this_files_leftover_temps(tmp_path: Path) -> None:
    p = tmp_path / "a[1].ics"
    stage(p, b"x")  # a temp a killed process would leave behind
    stage(p, b"y")
    other = stage(tmp_path / "b.ics", b"z")
    (tmp_path / ".a[1].ics.keep").write_bytes(b"not ours")
    gone = sweep_temps(p)
    assert len(gone) == 2
    assert leftovers(tmp_path) == sorted([".a[1].ics.keep", other.tmp.name])


# --------------------------------------------------------------------------- side files


def test_side_file_round_trip_is_private(tmp_path: Path) -> None:
    p = tmp_path / "state" / "caldav-deleting.json"
    assert read_json_object(p, holds="x") == {}
    write_json(p, {"cal": {"a.ics": "2026-11-30T00:00:00+00:00"}})
    assert read_json_object(p, holds="x") == {"cal": {"a.ics": "2026-11-30T00:00:00+00:00"}}
    assert mode(p) == 0o600 and mode(p.parent) == 0o700


@pytest.mark.parametrize(
    "body", [b"", b'{"cal": {"a.ics": ', b"[1, 2]", b"\xff\xfe garbage"], ids=repr
)
def test_a_damaged_side_file_is_an_error_naming_it_never_empty(tmp_path: Path, body: bytes) -> None:
    p = tmp_path / "caldav-deleting.json"
    p.write_bytes(body)
    with pytest.raises(StateError) as caught:
        read_json_object(p, holds="the CalDAV deletes calsync was making")
    text = str(caught.value)
    assert str(p) in text and "deletes calsync was making" in text
    assert caught.value.hint and "move it away" in caught.value.hint


# --------------------------------------------------------------------------- one writer

# Ways to write a file that bypass calsync.atomic. state.py and state_lock.py are the
# allowed exceptions: SQLite writes its own file, and the lock file holds only the PID.
_WRITES = re.compile(
    r"os\.replace\(|os\.rename\(|\.write_text\(|\.write_bytes\(|mkstemp\(|"
    r"NamedTemporaryFile|shutil\.copy|open\([^)]*['\"][wax]b?['\"]|O_WRONLY|O_RDWR"
)
_ALLOWED = {
    "atomic.py": "the writer itself",
    "state.py": "SQLite's own file",
    "state_lock.py": "the lock file (the holder's PID)",
}


def test_no_module_writes_a_file_except_through_atomic() -> None:
    root = Path(calsync.__file__).parent
    found = []
    for path in sorted(root.rglob("*.py")):
        if path.name in _ALLOWED and path.parent == root:
            continue
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if _WRITES.search(line.split("#", 1)[0]):
                found.append(f"{path.relative_to(root)}:{n}: {line.strip()}")
    assert found == []


def test_the_scan_sees_the_ways_of_writing_it_forbids() -> None:
    # The scan above must be able to fail: each of these is a write it has to catch.
    for line in (
        'tmp.write_text(json.dumps(x), encoding="utf-8")',
        "os.replace(tmp, path)",
        'with dest.open("wb") as out:',
        'open(p, "a")',
        "fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)",
        "fd, tmp = tempfile.mkstemp(dir=d)",
    ):
        assert _WRITES.search(line), line
    assert atomic.__name__ == "calsync.atomic"
