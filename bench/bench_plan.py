"""How much does planning a year cost, next to reading the calendar it comes from?

Builds a 10k-event ICS calendar (five years of runs, one-off meetings and a few weekly
recurring meetings; with --dense, ~25 meetings a weekday so that most of the 10k events
fall in the planned year), then measures in the same run:

- baseline: icalendar parse + recurring_ical_events expansion of a 1-year window;
- classify: calsync.classify over the window's events (for scale, not part of the ratio);
- plan: calsync.planner.plan over a 365-day horizon with the window's runs, busy time and
  own strength events.

Run by hand: `.venv/bin/python bench/bench_plan.py [--events N] [--repeat K]`.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
import recurring_ical_events

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from calsync.classify import classify  # noqa: E402
from calsync.config import ClassifyRules, Rules, Schedule  # noqa: E402
from calsync.model import Event, Interval, PriorSession  # noqa: E402
from calsync.planner import make_run, plan  # noqa: E402

TZ = "Europe/Berlin"
ZONE = ZoneInfo(TZ)
FIRST = date(2024, 1, 1)  # a Monday
RUNS = [
    "Easy 8 km",
    "Intervals 6 x 800 m @ 5K pace",
    "Recovery run 30 min",
    "Tempo 3 x 10 min threshold",
    "Long run 28 km easy",
    "Hill repeats 8 x 60 s",
    "Easy 10 km + strides",
]


def build_ics(n_events: int, seed: int = 7, meetings: int = 5) -> str:
    """A calendar with n_events VEVENTs: daily-ish runs, meetings, weekly RRULEs."""
    rnd = random.Random(seed)
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//calsync bench//EN",
        f"X-WR-TIMEZONE:{TZ}",
    ]

    def vevent(uid: str, summary: str, start: datetime, minutes: int, rrule: str = "") -> None:
        end = start + timedelta(minutes=minutes)
        lines.extend(
            [
                "BEGIN:VEVENT",
                f"UID:{uid}@bench",
                "DTSTAMP:20240101T000000Z",
                f"DTSTART;TZID={TZ}:{start:%Y%m%dT%H%M%S}",
                f"DTEND;TZID={TZ}:{end:%Y%m%dT%H%M%S}",
                f"SUMMARY:{summary}",
            ]
        )
        if rrule:
            lines.append(f"RRULE:{rrule}")
        lines.append("END:VEVENT")

    count = 0
    for k in range(4):  # weekly standups, team meetings: expanded by the baseline
        start = datetime(2024, 1, 1 + k, 9 + k, 0)
        vevent(f"rr{k}", f"Weekly meeting {k}", start, 60, "FREQ=WEEKLY;COUNT=260")
        count += 1
    day = 0
    while count < n_events:
        d = FIRST + timedelta(days=day)
        wd = d.weekday()
        if wd != 4:  # Friday rest
            summary = RUNS[wd if wd < 4 else wd - 1]
            hour = 7 if wd < 5 else 8
            vevent(f"run{day}", summary, datetime(d.year, d.month, d.day, hour, 0), 60)
            count += 1
        if wd == 2 and count < n_events:
            vevent(f"gym{day}", "Gym", datetime(d.year, d.month, d.day, 19, 0), 60)
            count += 1
        for m in range(rnd.randint(0, meetings) if wd < 5 else 0):
            if count >= n_events:
                break
            h = rnd.randint(6, 20)
            start = datetime(d.year, d.month, d.day, h, rnd.choice((0, 30)))
            vevent(f"m{day}-{m}", "Meeting", start, rnd.choice((30, 60, 90)))
            count += 1
        day += 1
    lines.append("END:VCALENDAR")
    return "\r\n".join(lines) + "\r\n"


def best_of(k: int, fn: Callable[[], Any]) -> tuple[float, Any]:
    times = []
    out = None
    for _ in range(k):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times), out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=10_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument(
        "--dense", action="store_true", help="~30 meetings a weekday: most events in the year"
    )
    args = ap.parse_args()

    text = build_ics(args.events, meetings=50 if args.dense else 5)
    # A Monday inside the calendar's span (five years; fourteen months when dense).
    w0 = datetime(2024, 1, 8, tzinfo=ZONE) if args.dense else datetime(2026, 1, 5, tzinfo=ZONE)
    w1 = w0 + timedelta(days=365 + 14)  # 1 year, and two weeks past it for H1

    def baseline() -> list[Any]:
        cal = icalendar.Calendar.from_ical(text)
        return list(recurring_ical_events.of(cal).between(w0, w1))

    t_base, comps = best_of(args.repeat, baseline)

    events: list[Event] = []
    for c in comps:
        s, e = c.decoded("DTSTART"), c.decoded("DTEND")
        events.append(Event(uid=str(c.get("UID")), summary=str(c.get("SUMMARY")), start=s, end=e))
    events.sort(key=lambda e: (e.start, e.summary))

    rules, cr = Rules(), ClassifyRules()
    t_cls, verdicts = best_of(args.repeat, lambda: [classify(e, cr) for e in events])
    runs, busy, own = [], [], []
    for ev, v in zip(events, verdicts, strict=True):
        if v.is_run:
            runs.append(make_run(ev, v, rules, ZONE))
        elif v.strength:
            own.append(Interval(ev.start, ev.end, ev.summary))
        else:
            busy.append(Interval(ev.start, ev.end, ev.summary))
    sched = Schedule(timezone=TZ, horizon_days=365)

    def planning() -> Any:
        return plan(
            runs=runs,
            busy=busy,
            own_strength=own,
            previous=(),
            schedule=sched,
            rules=rules,
            now=w0,
        )

    t_plan, p = best_of(args.repeat, planning)
    priors = [PriorSession(s.key, s.start, s.end) for s in p.sessions]

    def replanning() -> Any:
        return plan(
            runs=runs,
            busy=busy,
            own_strength=own,
            previous=priors,
            schedule=sched,
            rules=rules,
            now=w0,
        )

    t_replan, p2 = best_of(args.repeat, replanning)
    assert [(s.key, s.start) for s in p2.sessions] == [(s.key, s.start) for s in p.sessions]

    n_ev = text.count("BEGIN:VEVENT")
    print(f"calendar: {n_ev} VEVENTs, {len(text) / 1e6:.1f} MB; window {w0:%Y-%m-%d} + 1 year")
    print(f"  expanded in window: {len(comps)} occurrences ({len(runs)} runs, {len(busy)} busy)")
    print(f"baseline  parse + expand 1 year : {t_base * 1000:8.1f} ms")
    print(f"classify  {len(events)} events       : {t_cls * 1000:8.1f} ms (for scale)")
    n = len(p.sessions)
    print(f"plan      365-day horizon       : {t_plan * 1000:8.1f} ms  -> {n} sessions")
    print(f"re-plan   with previous         : {t_replan * 1000:8.1f} ms")
    print(f"ratio plan / baseline           : {t_plan / t_base:8.3f}")
    met = statistics.mean(1.0 if w.met else 0.0 for w in p.weeks)
    print(f"weeks with target met           : {met:8.0%}")


if __name__ == "__main__":
    main()
