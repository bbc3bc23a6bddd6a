"""Whole-sync state machine examples per second: memory backends vs ICS vs Google.

    .venv/bin/python bench/bench_state_machines.py [EXAMPLES]

Runs each machine of tests/test_sync_state_machine.py for the same number of examples
and steps, in this one process, one after the other, and prints examples/s and the
ratio to the ICS machine (the baseline, measured in the same run). The memory machine
runs the real sync, planner and SQLite state over calsync.sources.memory and
calsync.sinks.memory; the ICS one writes and reads a real ICS file; the Google one talks
HTTP to the Calendar API emulator (with the retry waits scaled down as the tests do).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from hypothesis import HealthCheck, settings  # noqa: E402
from hypothesis.stateful import run_state_machine_as_test  # noqa: E402

from calsync import retry  # noqa: E402
from tests.test_sync_state_machine import GoogleMachine, MemoryMachine, SyncMachine  # noqa: E402


def rate(machine: type, examples: int) -> float:
    opts = settings(
        max_examples=examples,
        stateful_step_count=8,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    started = time.perf_counter()
    run_state_machine_as_test(machine, settings=opts)
    return examples / (time.perf_counter() - started)


def main() -> None:
    examples = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    retry.TIME_SCALE = 0.001
    rates = {
        name: rate(m, examples)
        for name, m in [("ics", SyncMachine), ("memory", MemoryMachine), ("google", GoogleMachine)]
    }
    base = rates["ics"]
    for name, r in rates.items():
        print(f"{name:7s} {r:6.2f} examples/s  x{r / base:4.2f} of ics")


if __name__ == "__main__":
    main()
