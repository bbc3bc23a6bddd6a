"""The ICS output file as a user meets it: its mode (the umask, the existing file's, or
`[output.ics] mode`), a symlinked path written through, and a file left behind by an
interrupted sync rewritten from the state on the next start. Through the real CLI."""

from __future__ import annotations

import logging
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from calsync.cli import main
from calsync.config import load_config
from calsync.errors import ConfigError
from calsync.state import StateStore

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
NOW = "2026-12-01T07:00"


def write_config(folder: Path, extra: str = "", path: str = "out/strength.ics") -> Path:
    (folder / "plan.ics").write_bytes((EXAMPLES / "plan.ics").read_bytes())
    cfg = folder / "config.toml"
    cfg.write_text(
        '[schedule]\ntimezone = "America/New_York"\nhorizon_days = 14\n'
        '[[source]]\ntype = "ics"\nurl = "plan.ics"\nrole = "runs"\n'
        f'[output.ics]\npath = "{path}"\n{extra}'
        '[state]\npath = "state/state.sqlite3"\n',
        encoding="utf-8",
    )
    return cfg


def sync(cfg: Path, capsys: pytest.CaptureFixture[str], *more: str) -> tuple[int, str]:
    code = main(["--config", str(cfg), "--now", NOW, "sync", *more])
    return code, capsys.readouterr().err


def mode(p: Path) -> int:
    return stat.S_IMODE(p.stat().st_mode)


def committed(cfg: Path) -> bytes:
    with StateStore(cfg.parent / "state" / "state.sqlite3").reader() as view:
        doc = view.feed("strength.ics")
    assert doc is not None
    return doc.body


@pytest.fixture
def umask() -> Iterator[None]:
    old = os.umask(0o077)
    try:
        yield
    finally:
        os.umask(old)


def test_a_new_output_follows_the_umask_and_an_existing_one_keeps_its_mode(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], umask: None
) -> None:
    cfg = write_config(tmp_path)
    out = tmp_path / "out" / "strength.ics"
    assert sync(cfg, capsys)[0] == 0
    assert mode(out) == 0o600  # 0o666 less the umask 077: no longer always 0644
    os.chmod(out, 0o644)  # the user opens it up, for a web server say
    (tmp_path / "plan.ics").write_text(
        (EXAMPLES / "plan.ics").read_text().replace("Intervals: 6 x 800m", "Recovery run")
    )
    before = out.read_bytes()
    assert sync(cfg, capsys)[0] == 0
    assert out.read_bytes() != before and mode(out) == 0o644


def test_the_mode_key_sets_the_mode_of_a_new_and_of_an_existing_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], umask: None
) -> None:
    cfg = write_config(tmp_path, 'mode = "0640"\n')
    out = tmp_path / "out" / "strength.ics"
    assert sync(cfg, capsys)[0] == 0
    assert mode(out) == 0o640  # the key wins over the umask
    os.chmod(out, 0o600)
    assert sync(cfg, capsys)[0] == 0  # same calendar, wrong mode: set again
    assert mode(out) == 0o640


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("640", "got 640 (a string of octal digits, in quotes, not an integer)"),
        ('"0999"', """got '0999' (three or four octal digits, e.g. "0640")"""),
        ('"rw-r-----"', """got 'rw-r-----' (three or four octal digits, e.g. "0640")"""),
        ('"04755"', """got '04755' (three or four octal digits, e.g. "0640")"""),
        (
            '"0440"',
            "got '0440' (the owner's digit must be 6 or 7: calsync reads and rewrites the file)",
        ),
        (
            '"0777"',
            "got '0777' (only the owner may write it: calsync reads it back)",
        ),
        (
            '"0662"',
            "got '0662' (only the owner may write it: calsync reads it back)",
        ),
    ],
)
def test_a_bad_mode_is_one_error_naming_the_key(tmp_path: Path, value: str, problem: str) -> None:
    cfg = write_config(tmp_path, f"mode = {value}\n")
    with pytest.raises(ConfigError) as caught:
        load_config(cfg)
    assert caught.value.problems == [
        f'output.ics.mode: expected a file mode like "0640", {problem}'
    ]


def test_a_symlinked_output_is_written_through(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The link stays a link, the file it points to gets the calendar (issue 17: it was
    replaced by a plain file, and the target kept the old calendar)."""
    synced = tmp_path / "Dropbox"
    synced.mkdir()
    target = synced / "strength.ics"
    cfg = write_config(tmp_path, path="strength.ics")
    link = tmp_path / "strength.ics"
    assert sync(cfg, capsys)[0] == 0
    os.replace(link, target)
    link.symlink_to(target)
    before = target.read_bytes()
    (tmp_path / "plan.ics").write_text(
        (EXAMPLES / "plan.ics").read_text().replace("Intervals: 6 x 800m", "Recovery run")
    )
    assert sync(cfg, capsys)[0] == 0
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert target.read_bytes() == committed(cfg) != before
    assert sorted(p.name for p in synced.iterdir()) == ["strength.ics"]
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def test_a_file_unlike_the_committed_state_is_rewritten_on_start(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    cfg = write_config(tmp_path)
    out = tmp_path / "out" / "strength.ics"
    assert sync(cfg, capsys)[0] == 0
    good = out.read_bytes()
    # What an interrupted sync leaves: an older calendar in place, and its temp file.
    out.write_bytes(good.replace(b"Strength", b"Old"))
    (out.parent / ".strength.ics.0badc0de.calsync-tmp").write_bytes(b"half")
    code, _ = sync(cfg, capsys, "--dry-run")
    assert code == 0 and out.read_bytes() != good  # a dry run writes nothing
    with caplog.at_level(logging.INFO, logger="calsync.sinks.ics"):
        assert sync(cfg, capsys)[0] == 0
    assert out.read_bytes() == good == committed(cfg)
    assert sorted(p.name for p in out.parent.iterdir()) == ["strength.ics"]
    said = [r.getMessage() for r in caplog.records]
    assert any("is not the last committed calendar" in m and "rewriting" in m for m in said)


def test_a_missing_file_or_a_mode_change_is_not_called_an_interrupted_sync(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    """The start-up rewrite says why: the user deleted the file (or moved `path`), or the
    mode key changed. Only a file with other content is what an interrupted sync leaves."""
    cfg = write_config(tmp_path)
    out = tmp_path / "out" / "strength.ics"
    assert sync(cfg, capsys)[0] == 0
    good = out.read_bytes()
    out.unlink()
    with caplog.at_level(logging.INFO, logger="calsync.sinks.ics"):
        assert sync(cfg, capsys)[0] == 0
    said = [r.getMessage() for r in caplog.records]
    assert out.read_bytes() == good
    assert not any("interrupted" in m for m in said), said
    assert any(f"{out} is missing" in m for m in said), said
    caplog.clear()
    write_config(tmp_path, 'mode = "0640"\n')
    with caplog.at_level(logging.INFO, logger="calsync.sinks.ics"):
        assert sync(cfg, capsys)[0] == 0
    said = [r.getMessage() for r in caplog.records]
    assert mode(out) == 0o640 and out.read_bytes() == good
    assert not any("interrupted" in m for m in said), said
    assert any("mode 0640" in m for m in said), said


@pytest.mark.parametrize("through_a_link", [False, True])
def test_an_output_path_that_is_not_a_regular_file_is_refused_not_read(
    tmp_path: Path, through_a_link: bool
) -> None:
    """A FIFO at the output path (or a link to one) hung the sync forever, reading it;
    a device node there was replaced by a plain file. One error naming the path, exit 1,
    the node left as it was."""
    fifo = tmp_path / "fifo.ics"
    os.mkfifo(fifo)
    if through_a_link:
        (tmp_path / "strength.ics").symlink_to(fifo)
    cfg = write_config(tmp_path, path="strength.ics" if through_a_link else "fifo.ics")
    run = subprocess.run(
        [sys.executable, "-m", "calsync", "--config", str(cfg), "--now", NOW, "sync"],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=60,
    )
    assert run.returncode == 1, run.stderr
    assert "not a regular file (a FIFO)" in run.stderr and str(tmp_path) in run.stderr
    assert "Traceback" not in run.stderr
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".calsync-tmp")] == []


def test_a_dry_run_leaves_even_the_temp_files_of_an_interrupted_sync(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`--dry-run` writes and removes nothing; the next real sync sweeps the leftovers."""
    cfg = write_config(tmp_path)
    out = tmp_path / "out" / "strength.ics"
    assert sync(cfg, capsys)[0] == 0
    leftover = out.parent / ".strength.ics.0badc0de.calsync-tmp"
    leftover.write_bytes(b"half")
    assert sync(cfg, capsys, "--dry-run")[0] == 0
    assert leftover.read_bytes() == b"half"
    assert sync(cfg, capsys)[0] == 0
    assert sorted(p.name for p in out.parent.iterdir()) == ["strength.ics"]
