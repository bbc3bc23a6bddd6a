"""What does reading a calendar cost calsync, next to the floor of the libraries it uses?

For generated calendars of 1k, 10k and 50k events (bench/gen_calendar.py), measured in
the same run, best of --repeat:

- floor: icalendar parse of the whole file + recurring_ical_events expansion of the
  planning window (what any reader built on these libraries pays at least);
- full:  calsync.sources.ics.parse_ics with the pre-filter off (every event parsed);
- ours:  parse_ics as `calsync plan` runs it (text pre-filter, then parse what is near).

It checks that `ours` and `full` return the same events, and prints each time with its
ratio to the floor and the cost per 1k events (flat = linear growth).

Run by hand: `.venv/bin/python bench/bench_parse.py [--sizes 1000 10000 50000] [--repeat 3]`.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
import recurring_ical_events

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from gen_calendar import TZ, generate, planning_window  # noqa: E402

from calsync.sources.ics import parse_ics  # noqa: E402


def best(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t)
    return min(times), result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000, 10_000, 50_000])
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    zone = ZoneInfo(TZ)
    window = planning_window()
    print(f"window {window[0]:%Y-%m-%d} .. {window[1]:%Y-%m-%d}, best of {args.repeat}")
    header = f"{'events':>7} {'MB':>5}  {'parse':>7} {'expand':>7} {'floor':>7}"
    header += f"  {'full':>7} {'ratio':>6}  {'ours':>7} {'ratio':>6} {'ms/1k':>6}  found"
    print(header)
    for n in args.sizes:
        data = generate(n)

        def parse_only(data: bytes = data) -> Any:
            return icalendar.Calendar.from_ical(data)

        t_parse, cal = best(parse_only, args.repeat)

        def expand(cal: Any = cal) -> Any:
            return list(recurring_ical_events.of(cal).between(*window))

        t_expand, occ = best(expand, args.repeat)
        floor = t_parse + t_expand

        def full(data: bytes = data) -> Any:
            return parse_ics(data, label="bench", zone=zone, window=window, prefilter_events=False)

        def ours(data: bytes = data) -> Any:
            return parse_ics(data, label="bench", zone=zone, window=window)

        t_full, evs_full = best(full, args.repeat)
        t_ours, evs = best(ours, args.repeat)
        assert evs == evs_full, "the pre-filter changed the result"
        print(
            f"{n:>7} {len(data) / 1e6:>5.1f}  {t_parse:>7.3f} {t_expand:>7.3f} {floor:>7.3f}"
            f"  {t_full:>7.3f} {t_full / floor:>5.2f}x  {t_ours:>7.3f} {t_ours / floor:>5.2f}x"
            f" {1000 * t_ours / (n / 1000):>6.1f}  {len(evs)} (floor {len(occ)})"
        )


if __name__ == "__main__":
    main()
