"""Commit, then publish (issue 17): the ICS file shows only committed state, and the
SEQUENCE of an event in it never goes down, whatever step a kill -9 lands on.

Real processes: `calsync sync` runs in a child that SIGKILLs itself at its N-th step
(tests/kill_points.py: every file-system step on the test's folder, plus the named
points "temp file staged" and "state committed"). Calendar clients ignore an update
whose SEQUENCE is lower than one they saw, so a decrease is a lost update for them.

On the code before this change (the file renamed inside the state's transaction) the
kill after the rename and before the COMMIT left the new file with the old state, and
the next sync wrote lower SEQUENCEs: 5 SEQUENCE decreases and 1 file
showing a state never committed in the first test below.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from tests.kill_points import Lineage, check


def test_a_kill_at_every_step_never_lowers_a_sequence(tmp_path: Path) -> None:
    """A, then B killed at step k (for every k), then A again: the sequence that once
    made SEQUENCE go down (the file had B's, the state A's, and A again kept A's)."""
    base = Lineage(tmp_path / "base")
    base.folder.mkdir()
    base.setup()
    base.sync("A")
    probe = base.copy_to(tmp_path / "probe")
    steps = probe.sync("B").steps
    lineages = [probe]
    for k in range(1, len(steps) + 1):
        ln = base.copy_to(tmp_path / f"kill{k}")
        assert ln.sync("B", kill_at=k).killed, f"step {k} ({steps[k - 1]}) was not reached"
        ln.sync("A")  # the next start: no kill
        lineages.append(ln)
    check(lineages)
    # The kills covered the steps that matter: after the temp file is staged, after the
    # COMMIT (before the rename), after the rename (before the folder's fsync and
    # whatever follows the sync's writer, like the state's backup).
    names = [s.split()[0] for s in steps]
    assert names.index("calsync.atomic.staged") < names.index("calsync.state.committed")
    assert names.index("calsync.state.committed") < names.index("os.rename")
    assert names.index("os.rename") < len(names) - 1, steps


@pytest.mark.slow
def test_random_syncs_with_random_kills_never_lower_a_sequence(tmp_path: Path) -> None:
    """The issue's shape: many syncs over changing plans, a kill -9 at a random step in
    most of them; after each, SEQUENCE has not gone down and a sync that finished left
    the committed render in the file."""
    rng = random.Random(17)
    ln = Lineage(tmp_path / "run")
    ln.folder.mkdir()
    ln.setup()
    steps = len(ln.sync("A").steps) + 4  # a change takes more steps than a first write
    kills = 0
    for _ in range(24):
        plan = rng.choice("ABC")
        kill_at = rng.randint(1, steps) if rng.random() < 0.75 else 0
        kills += ln.sync(plan, kill_at=kill_at).killed
    ln.sync("A")
    check([ln])
    assert kills >= 8  # the property was tried against enough kills to mean something


def test_a_full_disk_under_the_state_leaves_the_file_as_committed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """SQLite's own "database or disk is full" at the sync's writes (max_page_count holds
    the state file at its size): the sync fails, the staged file is never put in place,
    no temp file is left, and a later sync with room brings the file up to date."""
    import sqlite3

    from calsync.cli import main
    from calsync.state import StateStore

    ln = Lineage(tmp_path / "run")
    ln.folder.mkdir()
    ln.setup()
    ln.sync("A")
    before = ln.out.read_bytes()
    connect = StateStore._connect

    def full(self: StateStore) -> sqlite3.Connection:
        conn = connect(self)
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
        conn.execute(f"PRAGMA max_page_count = {int(pages)}")
        return conn

    monkeypatch.setattr(StateStore, "_connect", full)
    config = str(ln.folder / "config.toml")
    (ln.folder / "plan.ics").write_text(ln.plans["B"], encoding="utf-8")
    (ln.folder / "config.toml").write_text(
        (ln.folder / "config.toml").read_text().replace("horizon_days = 21", "horizon_days = 120")
    )
    code = main(["--config", config, "--now", "2026-12-01T07:00", "sync"])
    err = capsys.readouterr().err
    state = ln.folder / "state" / "state.sqlite3"
    assert code == 1 and f"calsync: error: disk full: cannot write {state}" in err, err
    assert ln.out.read_bytes() == before == ln.committed_doc()
    assert sorted(p.name for p in ln.out.parent.iterdir()) == ["strength.ics"]
    monkeypatch.undo()
    assert main(["--config", config, "--now", "2026-12-01T07:00", "sync"]) == 0
    assert ln.out.read_bytes() == ln.committed_doc() != before
