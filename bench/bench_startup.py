"""How long calsync takes to start, against the floor of importing its ICS parser.

Times, as separate processes (N runs each, after one warm-up run):

- floor: `python -c "import icalendar"` (every command that reads a calendar pays this);
- `calsync --help`, `calsync --version`;
- `calsync plan` on the shipped example (config.example.toml + examples/, in a temp copy).

For each: the median wall-clock time and the median CPU time (user + sys of the child),
and their ratios to the floor's, all measured in the same run. CPU time is the steadier
figure on a busy machine (waiting for a core does not count). The aim is `--help` within
1.5x the floor. Figures are printed, never asserted.

Run by hand (or in CI): .venv/bin/python bench/bench_startup.py [N]
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NOW = "2026-11-26T08:00"


def one(cmd: list[str], cwd: Path) -> tuple[float, float]:
    """Wall-clock and CPU seconds of one run of `cmd`."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode})")
    return wall, usage.ru_utime + usage.ru_stime


def timed(cmd: list[str], cwd: Path, runs: int) -> tuple[float, float]:
    one(cmd, cwd)  # warm the page cache
    results = [one(cmd, cwd) for _ in range(runs)]
    return statistics.median(w for w, _ in results), statistics.median(c for _, c in results)


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 9
    calsync = str(Path(sys.executable).with_name("calsync"))
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        shutil.copy(ROOT / "config.example.toml", work)
        shutil.copytree(ROOT / "examples", work / "examples")
        plan = [calsync, "--config", "config.example.toml", "--now", NOW, "plan"]
        cases = {
            'python -c "import icalendar"': [sys.executable, "-c", "import icalendar"],
            "calsync --help": [calsync, "--help"],
            "calsync --version": [calsync, "--version"],
            "calsync plan (example)": plan,
        }
        results = {name: timed(cmd, work, runs) for name, cmd in cases.items()}
    floor_wall, floor_cpu = results['python -c "import icalendar"']
    print(f"startup, median of {runs} runs, ms; ratios against the floor (first line), same run")
    print(f"{'':30} {'wall':>7} {'cpu':>7} {'wall/floor':>11} {'cpu/floor':>10}")
    for name, (wall, cpu) in results.items():
        print(
            f"{name:30} {wall * 1e3:7.0f} {cpu * 1e3:7.0f} "
            f"{wall / floor_wall:10.2f}x {cpu / floor_cpu:9.2f}x"
        )


if __name__ == "__main__":
    main()
