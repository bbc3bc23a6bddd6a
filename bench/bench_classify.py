"""Classifying events vs parsing them: is the classifier cheap next to reading a calendar?

Generates N varied training events (runs of every kind, races, bricks, strength, swims,
rides, rest, meetings; English, French, German, Chinese; Runna/TrainingPeaks styles; with
descriptions), writes them as one ICS text, then times, best of a few rounds:

- baseline: icalendar parsing the ICS text (Calendar.from_ical + walking the VEVENTs);
- classify: calsync.classify.classify over the same events, already parsed, both with
  its memo of recent texts emptied before each round (what a sync sees: plans repeat
  their titles) and with the memo bypassed altogether (every event judged from scratch);
- classify_all: the same events read as one calendar (the second pass over the source that
  a sync runs, calsync.classify_context), memo emptied first.

Run by hand: .venv/bin/python bench/bench_classify.py [N]
"""

from __future__ import annotations

import random
import sys
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import icalendar

from calsync.classify import _classify, classify
from calsync.classify_context import classify_all
from calsync.model import Event

TITLES = [
    "{n} x {d}m @ 5K pace",
    "Easy run {m} min",
    "Long run {k} mi",
    "Long run {k} mi with last {s} @ MP",
    "Tempo {s} mi",
    "Run: Threshold {s}x{m}min",
    "🏃 Intervals • {k}km",
    "🏃 Easy Run • {k}km",
    "Recovery run {m} min Z2",
    "Hill repeats {n} x 60s",
    "Fartlek {m} min",
    "{k} mile run",
    "Run - {k} miles",
    "Strength + {k}K easy run",
    "Brick: Bike {m} min + Run {s} min",
    "Bike intervals {n} x 4 min",
    "Swim - Endurance {d} yd",
    "🚴 Sweet Spot · 1.5 h",
    "Zwift - Group Ride: London Loop",
    "Gym A (lower body)",
    "🏋 Kraft A",
    "Strength/CrossFit - Moderate",
    "Rest day",
    "OFF",
    "Team meeting",
    "Berlin Marathon",
    "Turkey Trot {k}K",
    "Race - Half Marathon",
    "Half Marathon Race Prep",
    "W{s} Tue · SUB-THRESHOLD short reps + Gym A",
    "Walk-jog {m} min (60s jog / 90s walk)",
    "Course — intervalles courts (Z4) — {m} min",
    "Natation — technique + tempo — {m} min",
    "节奏跑（周二）",
    "{k}公里慢跑",
    "Tempolauf {k} km",
    "Yoga",
    "Workout Run",
    "Dentist",
]
DESCRIPTIONS = [
    "",
    "",
    "Easy after-work run. Keep it conversational; finish with light mobility.",
    "Run type: Quality\nDistance: 4–5 miles\nEffort: RPE 6/10 during hard parts\n\n"
    "Warm-up\n1 mile easy\n\nMain set\n3 x 5 min comfortably hard\n3 min easy jog",
    "Run type: Easy\nDistance: 3 miles\nEffort: RPE 3–4/10\n\nInstructions\nKeep this "
    "conversational.\n\nOptional\nAdd 4 x 20 sec relaxed strides only if you feel good.\n\n"
    "Do not\nTurn this into a tempo run.",
    "Zone Sweet Spot · 249–266 W (88–94 % FTP)\nStruktur: 3×15 min @88–94 % FTP · 5 min RB",
    "Walk Run • 2.3km • 25m - 30m\n\n5 mins walking warm up\n\nRepeat the following 6x:\n"
    "----------\n1 min running at a conversational pace\n1.5 mins walking\n----------",
    "TSS: 85 IF: 0.92",
    "Plan week 21 · Tue  (weeks 21-32 · Full NSA + hill insurance)\nPurpose: Threshold\n\n"
    "Short reps at sub-threshold (8–10×600m or 10–12×400m). Top of Z3 only. Then Gym A.",
]


def make_events(n: int, seed: int = 7) -> list[tuple[str, str, datetime]]:
    rnd = random.Random(seed)
    start = datetime(2026, 1, 5, 7, 0, tzinfo=UTC)
    out = []
    for i in range(n):
        title = rnd.choice(TITLES).format(
            n=rnd.randint(3, 12),
            d=rnd.choice([200, 400, 800, 1000, 1200]),
            m=rnd.randint(20, 90),
            k=rnd.randint(3, 22),
            s=rnd.randint(1, 8),
        )
        out.append((title, rnd.choice(DESCRIPTIONS), start + timedelta(hours=7 * i)))
    return out


def to_ics(items: list[tuple[str, str, datetime]]) -> bytes:
    cal = icalendar.Calendar()
    cal.add("prodid", "-//calsync bench//EN")
    cal.add("version", "2.0")
    for i, (title, desc, start) in enumerate(items):
        e = icalendar.Event()
        e.add("uid", f"bench-{i}@calsync")
        e.add("dtstamp", start)
        e.add("dtstart", start)
        e.add("dtend", start + timedelta(hours=1))
        e.add("summary", title)
        if desc:
            e.add("description", desc)
        cal.add_component(e)
    return cal.to_ical()


def parse(text: bytes) -> list[Event]:
    cal = icalendar.Calendar.from_ical(text)
    out = []
    for comp in cal.walk("VEVENT"):
        start = comp.decoded("DTSTART")
        out.append(
            Event(
                uid=str(comp.get("UID")),
                summary=str(comp.get("SUMMARY", "")),
                start=start,
                end=comp.decoded("DTEND"),
                description=str(comp.get("DESCRIPTION", "")),
            )
        )
    return out


def timed(fn: Callable[[], object]) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    items = make_events(n)
    text = to_ics(items)
    events = parse(text)
    assert len(events) == n
    labels = Counter(
        v.intensity.value if v.is_run and v.intensity else ("strength" if v.strength else "norun")
        for v in map(classify, events)
    )

    def memo() -> None:
        _classify.cache_clear()
        for e in events:
            classify(e)

    raw = _classify.__wrapped__

    def scratch() -> None:
        for e in events:
            raw(e.summary, e.description, e.categories, tuple(sorted(e.extra.items())), None)

    def whole() -> None:
        _classify.cache_clear()
        classify_all(events)

    # Rounds interleave the four, so that load from other processes hits all alike.
    rounds = [
        (timed(lambda: parse(text)), timed(memo), timed(scratch), timed(whole)) for _ in range(5)
    ]
    t_parse, t_memo, t_scratch, t_whole = (min(r[i] for r in rounds) for i in range(4))
    distinct = len({(e.summary, e.description) for e in events})
    print(f"{n} events ({distinct} distinct texts), {len(text) / 1e6:.1f} MB of ICS")
    print(f"verdicts: {dict(sorted(labels.items()))}")
    print(f"parse (icalendar, baseline):     {t_parse:.3f} s")
    print(f"classify, memo emptied first:    {t_memo:.3f} s  ratio {t_memo / t_parse:.2f}")
    print(
        f"classify, every event judged:    {t_scratch:.3f} s  ratio {t_scratch / t_parse:.2f}"
        f"  ({1e6 * t_scratch / n:.0f} µs/event)"
    )
    print(f"classify_all, calendar context:  {t_whole:.3f} s  ratio {t_whole / t_parse:.2f}")


if __name__ == "__main__":
    main()
