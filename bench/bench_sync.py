"""`calsync plan` end to end against the floor: icalendar parse + recurring-ical-events
expansion of the same window, measured in the same run.

    .venv/bin/python bench/bench_sync.py [--sizes 1000 10000 50000] [--repeat 3]

For each size it generates a calendar (bench/gen_calendar.py: years of runs plus weekly
meetings), then times, best of --repeat:
  floor    icalendar.Calendar.from_ical + recurring_ical_events.of(...).between(window)
  plan     calsync's whole plan in-process: read (with its pre-filter), classify, plan,
           workouts (calsync.sync.compute) — the work of `calsync plan`
  cli      `calsync plan --json` as a subprocess (adds interpreter start and imports)
and prints the ratios to the floor and peak memory (RSS of the CLI process; Python heap
peak of the in-process plan). Growth is linear when the ratio stays flat across sizes.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import tracemalloc
from pathlib import Path
from typing import Any

import icalendar
import recurring_ical_events

sys.path.insert(0, str(Path(__file__).resolve().parent))
from gen_calendar import NOW, generate  # noqa: E402
from timing import best  # noqa: E402

from calsync.config import load_config  # noqa: E402
from calsync.sync import compute, read_window  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000, 10_000, 50_000])
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    calsync_bin = Path(sys.executable).parent / "calsync"
    print(f"now = {NOW.isoformat()}, horizon 28 days, best of {args.repeat}")
    print(
        f"{'events':>7} {'floor s':>8} {'plan s':>8} {'plan/floor':>10} {'cli s':>7} "
        f"{'cli/floor':>9} {'plan heap MB':>12} {'cli RSS MB':>10} {'sessions':>8}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.sizes:
            data = generate(n)
            cal_path = Path(tmp) / f"cal{n}.ics"
            cal_path.write_bytes(data)
            cfg_path = Path(tmp) / f"c{n}.toml"
            cfg_path.write_text(
                f'[schedule]\ntimezone = "Europe/Berlin"\nhorizon_days = 28\n'
                f'[[source]]\ntype = "ics"\nurl = "{cal_path}"\n'
                f'[state]\npath = "{tmp}/state{n}.sqlite3"\n'
            )
            config = load_config(cfg_path)
            window = read_window(config, NOW)

            def floor(data: bytes = data, window: tuple[Any, Any] = window) -> Any:
                cal = icalendar.Calendar.from_ical(data)
                return list(recurring_ical_events.of(cal).between(*window))

            def ours(config: Any = config) -> Any:
                return compute(config, NOW, None)

            t_floor = best(floor, args.repeat)
            t_plan = best(ours, args.repeat)
            tracemalloc.start()
            result = ours()
            heap = tracemalloc.get_traced_memory()[1] / 2**20
            tracemalloc.stop()

            cmd = [
                str(calsync_bin),
                "--config",
                str(cfg_path),
                "--now",
                NOW.isoformat(),
                "plan",
                "--json",
            ]
            env = {**os.environ, "HOME": tmp}

            def cli(cmd: list[str] = cmd, env: dict[str, str] = env) -> None:
                subprocess.run(cmd, check=True, capture_output=True, env=env)

            t_cli = best(cli, args.repeat)
            rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
            print(
                f"{n:>7} {t_floor:>8.3f} {t_plan:>8.3f} {t_plan / t_floor:>10.2f} "
                f"{t_cli:>7.3f} {t_cli / t_floor:>9.2f} {heap:>12.1f} {rss:>10.1f} "
                f"{len(result.plan.sessions):>8}"
            )


if __name__ == "__main__":
    main()
