"""Run `calsync sync` in a real process that SIGKILLs itself at its N-th step.

A step is a point between two things calsync does to the disk, seen through Python's
audit hooks (PEP 578), so the same harness runs against any version of calsync:

- the file system calls on the test's folder: a file opened to write (a temp file, the
  state, the lock), a folder opened (to fsync it), a rename, a link, a chmod, a remove;
- calsync's own named points: `calsync.atomic.staged` (a temp file written and fsynced)
  and `calsync.state.committed` (the state's COMMIT done, nothing published yet).

The hook runs *before* the call it announces, so "kill at step N" means: steps 1..N-1
happened, step N did not. With kill_at = 0 the run is not killed; the number of steps it
went through is written to `steps_file`, which tells a test how many kill points exist.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import icalendar

from calsync.state import StateStore

RUNNER = r"""
import os, signal, sys

kill_at = int(sys.argv[1])
root = os.path.realpath(sys.argv[2])
steps_file = sys.argv[3]
args = sys.argv[4:]
WRITE = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
seen = []
done = False


def ours(path):
    if isinstance(path, int):  # fchmod(fd): calsync only does it to its temp files
        return True
    try:
        return os.path.realpath(os.fsdecode(path)).startswith(root)
    except (TypeError, ValueError):
        return False


def step(event, a):
    if event.startswith("calsync."):
        return a[0] if a else ""
    if event == "open" and a and isinstance(a[0], (str, bytes)) and ours(a[0]):
        path, mode, flags = a
        writes = (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
            isinstance(flags, int) and flags & WRITE
        )
        if writes or os.path.isdir(path):
            return os.fsdecode(path)
    if event in ("os.rename", "os.link", "os.remove", "os.chmod") and a and ours(a[0]):
        return os.fsdecode(a[0]) if not isinstance(a[0], int) else "fd"
    return None


def hook(event, a):
    if done:
        return
    what = step(event, a)
    if what is None:
        return
    seen.append(f"{event} {what}")
    if len(seen) == kill_at:
        os.kill(os.getpid(), signal.SIGKILL)


sys.addaudithook(hook)
from calsync.cli import main

code = main(args)
done = True
with open(steps_file + ".tmp", "w") as f:  # after main: not a step of the sync
    f.write("\n".join(seen))
os.replace(steps_file + ".tmp", steps_file)
sys.exit(code)
"""


@dataclass(frozen=True)
class Run:
    killed: bool
    returncode: int
    steps: tuple[str, ...]  # the steps a run that was not killed went through
    stderr: str


def run_sync(
    folder: Path, config: Path, now: str, *, kill_at: int = 0, timeout: float = 120.0
) -> Run:
    """`calsync --config CONFIG --now NOW sync` in a fresh process, killed at step
    `kill_at` (0: not killed)."""
    steps_file = folder / ".kill-steps"
    steps_file.unlink(missing_ok=True)
    env = dict(os.environ)
    env.pop("CALSYNC_CONFIG", None)
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            RUNNER,
            str(kill_at),
            str(folder),
            str(steps_file),
            "--config",
            str(config),
            "--now",
            now,
            "sync",
        ],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        cwd=folder,  # not the repository: `-c` puts the working folder first on sys.path
        stdin=subprocess.DEVNULL,
        check=False,
    )
    killed = proc.returncode == -9
    steps: tuple[str, ...] = ()
    if not killed and steps_file.exists():
        steps = tuple(steps_file.read_text().splitlines())
    return Run(killed, proc.returncode, steps, proc.stderr)


# --------------------------------------------------------------------------- lineages

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
NOW = "2026-12-01T07:00"

CONFIG = """\
[schedule]
timezone = "America/New_York"
horizon_days = 21

[[source]]
type = "ics"
url = "plan.ics"
role = "runs"

[output.ics]
path = "out/strength.ics"

[state]
path = "state/state.sqlite3"
"""


def variants() -> dict[str, str]:
    """The example plan, and edits of it that move the sessions (and so their SEQUENCE)."""
    a = (EXAMPLES / "plan.ics").read_text(encoding="utf-8")
    b = a.replace("SUMMARY:Intervals: 6 x 800m @ 5K pace", "SUMMARY:Recovery run 5 mi")
    c = a.replace("SUMMARY:Tempo run 6 mi (3 mi @ threshold)", "SUMMARY:Easy run 6 mi")
    assert len({a, b, c}) == 3
    return {"A": a, "B": b, "C": c}


def sequences(data: bytes) -> dict[str, int]:
    cal = icalendar.Calendar.from_ical(data)
    return {str(ev["UID"]): int(ev.get("SEQUENCE", 0)) for ev in cal.walk("VEVENT")}


@dataclass
class Lineage:
    """One folder's history: every file version seen, every document ever committed."""

    folder: Path
    plans: dict[str, str] = field(default_factory=variants)
    highest: dict[str, int] = field(default_factory=dict)  # per UID, in any file seen
    decreases: list[str] = field(default_factory=list)
    committed: set[bytes] = field(default_factory=set)
    uncommitted_files: int = 0
    mismatches: list[str] = field(default_factory=list)

    @property
    def out(self) -> Path:
        return self.folder / "out" / "strength.ics"

    def setup(self) -> None:
        (self.folder / "config.toml").write_text(CONFIG, encoding="utf-8")

    def sync(self, plan: str, *, kill_at: int = 0) -> Run:
        (self.folder / "plan.ics").write_text(self.plans[plan], encoding="utf-8")
        run = run_sync(self.folder, self.folder / "config.toml", NOW, kill_at=kill_at)
        if kill_at and not run.killed:
            assert run.returncode == 0, run.stderr
        if not kill_at:
            assert run.returncode == 0, run.stderr
        self.observe(run, f"{plan}@{kill_at}")
        return run

    def committed_doc(self) -> bytes | None:
        with StateStore(self.folder / "state" / "state.sqlite3").reader() as view:
            doc = view.feed("strength.ics")
        return None if doc is None else doc.body

    def observe(self, run: Run, label: str) -> None:
        doc = self.committed_doc()
        if doc is not None:
            self.committed.add(doc)
        if not self.out.exists():
            return
        data = self.out.read_bytes()
        for uid, seq in sequences(data).items():
            if seq < self.highest.get(uid, 0):
                self.decreases.append(f"{label}: {uid} {self.highest[uid]} -> {seq}")
            self.highest[uid] = max(seq, self.highest.get(uid, 0))
        if data not in self.committed:
            self.uncommitted_files += 1  # the file shows a state no COMMIT ever made
        if not run.killed and data != doc:
            self.mismatches.append(f"{label}: the file is not the committed render")

    def copy_to(self, other: Path) -> Lineage:
        shutil.copytree(self.folder, other)
        twin = Lineage(other, self.plans, dict(self.highest))
        twin.committed = set(self.committed)
        return twin


def check(lineages: Iterable[Lineage]) -> None:
    decreases = [d for ln in lineages for d in ln.decreases]
    uncommitted = sum(ln.uncommitted_files for ln in lineages)
    mismatches = [m for ln in lineages for m in ln.mismatches]
    assert (len(decreases), uncommitted, len(mismatches)) == (0, 0, 0), (
        f"{len(decreases)} SEQUENCE decreases, {uncommitted} files showing uncommitted "
        f"state, {len(mismatches)} successful syncs leaving a file unlike the state; "
        f"first: {(decreases + mismatches)[:5]}"
    )
