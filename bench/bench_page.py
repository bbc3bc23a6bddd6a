"""Rendering the week view page against the plan it shows, measured in the same run.

    .venv/bin/python bench/bench_page.py [--events 5000] [--weeks 16] [--repeat 5]

Generates a calendar (bench/gen_calendar.py: years of runs, appointments, weekly
meetings), reads and classifies it once (untimed), then times, best of --repeat:

  compute calsync.sync.compute: the whole plan from the calendar file (read, classify,
          plan, workouts), the work of `calsync plan` as bench_sync.py defines it
  plan    calsync.sync.make_plan alone over the --weeks horizon: planner and workouts
          from inputs already read and classified (the stricter baseline)
  json    report.plan_json of that plan, with busy time and own strength per day
  render  page.render_page of that JSON (what `calsync plan --html` and the server add)

and prints the ratios of json + render to both. Times are CPU time of this process
(time.process_time), so other work on a shared machine moves them less. The goal
(issue 14) is a page under a tenth of the plan's time; reported, not asserted. The first
render (Jinja2 compiling the template) is timed apart: a server pays it once.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from gen_calendar import NOW, TZ, generate  # noqa: E402

from calsync import page, report  # noqa: E402
from calsync.config import load_config  # noqa: E402
from calsync.sync import (  # noqa: E402
    build_sources,
    compute,
    make_plan,
    read_events,
    read_window,
    sort_inputs,
)


def best_of(k: int, fn: Callable[[], Any]) -> tuple[float, Any]:
    times, out = [], None
    for _ in range(k):
        t0 = time.process_time()
        out = fn()
        times.append(time.process_time() - t0)
    return min(times), out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=5000)
    ap.add_argument("--weeks", type=int, default=16)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "cal.ics").write_bytes(generate(args.events))
        cfg = folder / "config.toml"
        cfg.write_text(
            f'[schedule]\ntimezone = "{TZ}"\nhorizon_days = {args.weeks * 7}\n\n'
            '[[source]]\ntype = "ics"\nurl = "cal.ics"\nrole = "runs"\n\n'
            '[state]\npath = "state/state.sqlite3"\n',
            encoding="utf-8",
        )
        config = load_config(cfg)
        window = read_window(config, NOW)
        inputs = sort_inputs(read_events(build_sources(config), window, None), config)
        t_compute, _ = best_of(args.repeat, lambda: compute(config, NOW))

    zone = config.schedule.zone
    t_plan, the_plan = best_of(args.repeat, lambda: make_plan(config, NOW, inputs))

    def to_json() -> dict[str, Any]:
        return report.plan_json(the_plan, zone, busy=inputs.busy, own_strength=inputs.own_strength)

    t_json, data = best_of(args.repeat, to_json)
    t0 = time.process_time()
    html = page.render_page(data, now=NOW)
    t_first = time.process_time() - t0
    t_render, html = best_of(args.repeat, lambda: page.render_page(data, now=NOW))

    print(
        f"calendar: {args.events} events; horizon {args.weeks} weeks; "
        f"{len(inputs.runs)} runs, {len(inputs.busy)} busy, {len(inputs.own_strength)} own "
        f"strength in the window"
    )
    print(f"plan    make_plan (planner + workouts): {t_plan * 1000:8.2f} ms "
          f"-> {len(the_plan.sessions)} sessions, {len(the_plan.days)} days")  # fmt: skip
    print(f"json    report.plan_json             : {t_json * 1000:8.2f} ms")
    print(f"render  page.render_page             : {t_render * 1000:8.2f} ms "
          f"-> {len(html) / 1024:.0f} KiB (first render, compiling the template: "
          f"{t_first * 1000:.1f} ms)")  # fmt: skip
    page_ms = t_json + t_render
    print(f"compute sync.compute (read..workouts) : {t_compute * 1000:8.2f} ms")
    print(f"ratio   (json + render) / compute    : {page_ms / t_compute:8.3f}")
    print(f"ratio   (json + render) / make_plan  : {page_ms / t_plan:8.3f}")
    print("goal    under 0.100 of the plan's computation (issue 14)")


if __name__ == "__main__":
    main()
