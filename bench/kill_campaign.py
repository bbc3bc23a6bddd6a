"""The kill -9 campaign, run by hand: many syncs over changing plans, each killed at a
random step (tests/kill_points.py), counting what issue 17 measured: SEQUENCE decreases
per UID in the file, files showing a state no COMMIT made, and finished syncs that left
a file unlike the committed state. tests/test_commit_then_publish.py runs a small budget
of the same in CI.

    .venv/bin/python bench/kill_campaign.py --runs 20 --seed 1
    # the same against another checkout's code (say, main before a change):
    PYTHONPATH=/work/main .venv/bin/python bench/kill_campaign.py --runs 20
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

# The children run with the working folder elsewhere, so PYTHONPATH decides which
# calsync they run; this process only reads their state files.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.kill_points import Lineage  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=20, help="killed syncs to make")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--max-step", type=int, default=8, help="kill at a step in 1..this")
    ap.add_argument("--plans", default="AB", help="the plan variants to pick from (ABC)")
    args = ap.parse_args()
    rng = random.Random(args.seed)
    import subprocess

    where = subprocess.run(  # what the children import (cwd: not this repository)
        [sys.executable, "-c", "import calsync; print(calsync.__file__)"],
        capture_output=True,
        text=True,
        cwd=tempfile.gettempdir(),
        check=True,
    ).stdout.strip()
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp:
        ln = Lineage(Path(tmp) / "run")
        ln.folder.mkdir()
        ln.setup()
        ln.sync("A")
        kills = syncs = 0
        while kills < args.runs:
            plan = rng.choice(args.plans)
            killed = ln.sync(plan, kill_at=rng.randint(1, args.max_step)).killed
            kills += killed
            syncs += 1
            if killed:  # the next start, with the plan changed again
                ln.sync(rng.choice(args.plans))
                syncs += 1
    print(f"code under test: {Path(where).parent}")
    print(
        f"{syncs} syncs, {kills} killed, {time.monotonic() - started:.0f} s: "
        f"{len(ln.decreases)} SEQUENCE decreases, "
        f"{ln.uncommitted_files} files showing uncommitted state, "
        f"{len(ln.mismatches)} finished syncs leaving a file unlike the state"
    )
    for d in ln.decreases[:5]:
        print(f"  {d}")
    return 1 if ln.decreases or ln.uncommitted_files or ln.mismatches else 0


if __name__ == "__main__":
    raise SystemExit(main())
