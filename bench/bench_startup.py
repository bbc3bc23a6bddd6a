"""How long calsync takes to start, against the floor of importing its ICS parser.

Times, as separate processes (best and median of N runs, after one warm-up run each):

- floor: `python -c "import icalendar"` (every command that reads a calendar pays this);
- `calsync --help`, `calsync --version`;
- `calsync plan` on the shipped example (config.example.toml + examples/, in a temp copy).

Prints best and median and their ratios to the floor's, all measured in the same run; the
aim is `--help` within 1.5x the floor. Figures are printed, never asserted.

Run by hand (or in CI): .venv/bin/python bench/bench_startup.py [N]
"""

from __future__ import annotations

import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NOW = "2026-11-26T08:00"


def timed(cmd: list[str], cwd: Path, runs: int) -> list[float]:
    subprocess.run(cmd, cwd=cwd, check=True, capture_output=True)  # warm the page cache
    out = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run(cmd, cwd=cwd, check=True, capture_output=True)
        out.append(time.perf_counter() - t0)
    return out


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 9
    calsync = str(Path(sys.executable).with_name("calsync"))
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        shutil.copy(ROOT / "config.example.toml", work)
        shutil.copytree(ROOT / "examples", work / "examples")
        cases = {
            'python -c "import icalendar"': [sys.executable, "-c", "import icalendar"],
            "calsync --help": [calsync, "--help"],
            "calsync --version": [calsync, "--version"],
            "calsync plan (example)": [
                calsync,
                "--config",
                "config.example.toml",
                "--now",
                NOW,
                "plan",
            ],
        }
        results = {name: timed(cmd, work, runs) for name, cmd in cases.items()}
    base = results['python -c "import icalendar"']
    floor_best, floor_median = min(base), statistics.median(base)
    print(f"startup, {runs} runs each, ms; ratios against the floor (first line), same run")
    print(f"{'':30} {'best':>7} {'median':>7} {'best/floor':>11} {'median/floor':>13}")
    for name, times in results.items():
        best, med = min(times), statistics.median(times)
        print(
            f"{name:30} {best * 1e3:7.0f} {med * 1e3:7.0f} "
            f"{best / floor_best:10.2f}x {med / floor_median:12.2f}x"
        )


if __name__ == "__main__":
    main()
