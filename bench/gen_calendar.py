"""Generate a realistic training calendar of N events, for the benchmarks.

The shape of what runners subscribe to: years of runs (a plan's week: rest, intervals,
easy, tempo, easy, easy, long run or race), one-off appointments in working hours and
evenings, and a few weekly recurring meetings with an EXDATE and a moved instance.
Times mix the styles of the real calendars (TZID with a VTIMEZONE, UTC, all-day). The
calendar ends `AHEAD` days after `NOW`, so the planning window near NOW holds a few
weeks of a plan, and grows backwards with N, as a long-running feed does.

Deterministic for a given (n, seed). Use it from a benchmark:

    from gen_calendar import NOW, generate
    data = generate(10_000)

or from the shell: `.venv/bin/python bench/gen_calendar.py 10000 > /tmp/cal.ics`.
"""

from __future__ import annotations

import argparse
import random
import sys
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)  # a Monday morning
AHEAD = 120  # days of plan after NOW
PER_DAY = 3  # one-off events per day, on average
TZ = "Europe/Berlin"
MEETINGS = 4  # weekly recurring meetings, each with a moved instance (2 VEVENTs)
WEEKDAYS = ("MO", "TU", "WE", "TH", "FR")

RUNS = [
    ("Easy run {km} km", "Zone 2, conversational pace."),
    ("Recovery jog {km} km", "Very easy; shake out the legs."),
    ("Tempo {km} km", "15 min warm-up, 20 min at threshold, cool-down."),
    ("Intervals 6 x 800 m", "800 m at 5K pace, 400 m jog between."),
    ("Hill repeats 8 x 60 s", "Hard uphill, jog down."),
    ("Long run {km} km", "Steady; practise fuelling every 40 min."),
    ("Fartlek {km} km", "10 x 1 min on / 1 min off."),
    ("Strides + easy {km} km", "6 x 20 s strides at the end."),
]
OTHER = [
    ("Project review", ""),
    ("Dentist", ""),
    ("Dinner with friends", ""),
    ("Team offsite", "Room 4, bring slides, notes, and a laptop"),
    ("Call with the bank", ""),
    ("Parents' evening", ""),
]
RACES = ["City 10K", "Half marathon", "Parkrun 5K", "Spring marathon"]

VTIMEZONE = """BEGIN:VTIMEZONE
TZID:Europe/Berlin
BEGIN:DAYLIGHT
TZOFFSETFROM:+0100
TZOFFSETTO:+0200
TZNAME:CEST
DTSTART:19700329T020000
RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU
END:DAYLIGHT
BEGIN:STANDARD
TZOFFSETFROM:+0200
TZOFFSETTO:+0100
TZNAME:CET
DTSTART:19701025T030000
RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU
END:STANDARD
END:VTIMEZONE"""


def _fold(line: str) -> str:
    out = []
    while len(line.encode()) > 75:
        cut = 75
        while len(line[:cut].encode()) > 75:
            cut -= 1
        out.append(line[:cut])
        line = " " + line[cut:]
    out.append(line)
    return "\r\n".join(out)


def _esc(text: str) -> str:
    return text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def _pick(rnd: random.Random, day: date, slot: int) -> tuple[str, str, str]:
    """(title, description, kind) of a day's `slot`-th event: the run first, then busy time.

    A week as plans have it: rest on Monday, intervals on Tuesday, tempo on Thursday, a
    long run on Sunday (a race every tenth Sunday), easy runs between.
    """
    if slot == 0:
        wd = day.weekday()
        km = rnd.choice([6, 8, 10, 12])
        if wd == 0:
            return "Rest day", "", "allday"
        if wd == 1:
            return rnd.choice(["Intervals 6 x 800 m", "Hill repeats 8 x 60 s"]), "", "run"
        if wd == 3:
            return f"Tempo {km} km", "15 min warm-up, 20 min at threshold, cool-down.", "run"
        if wd == 6:
            if day.toordinal() % 70 < 7:
                return rnd.choice(RACES), "Race day. Good luck!", "run"
            return f"Long run {rnd.choice([16, 21, 25, 30])} km", "Steady; fuel.", "run"
        return rnd.choice(RUNS[:2])[0].format(km=km), "Zone 2, conversational pace.", "run"
    title, desc = rnd.choice(OTHER)
    return title, desc, "work" if slot == 1 else "evening"


def generate(n: int, *, seed: int = 1, now: datetime = NOW) -> bytes:
    """An ICS calendar of `n` VEVENTs: one-offs, and MEETINGS series of two VEVENTs each."""
    rnd = random.Random(seed)
    zone = ZoneInfo(TZ)
    one_offs = max(n - 2 * MEETINGS, 0)
    last_day = (now + timedelta(days=AHEAD)).astimezone(zone).date()
    first_day = last_day - timedelta(days=max(one_offs // PER_DAY, 1))
    stamp = "20261101T000000Z"
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//calsync bench//gen_calendar//EN",
        "CALSCALE:GREGORIAN",
        "X-WR-CALNAME:Training",
        VTIMEZONE,
    ]
    for i in range(one_offs):
        day = first_day + timedelta(days=i // PER_DAY)
        slot = i % PER_DAY
        title, desc, kind = _pick(rnd, day, slot)
        ev = ["BEGIN:VEVENT", f"UID:gen-{seed}-{i}@bench", f"DTSTAMP:{stamp}"]
        style = rnd.random()
        if kind == "allday" or (kind == "run" and style < 0.2):
            nxt = day + timedelta(days=1)
            ev += [f"DTSTART;VALUE=DATE:{day:%Y%m%d}", f"DTEND;VALUE=DATE:{nxt:%Y%m%d}"]
        else:
            hours = {"run": [6, 7, 18, 19], "work": [9, 10, 11, 14, 15], "evening": [19, 20]}
            local = datetime.combine(day, datetime.min.time(), zone).replace(
                hour=rnd.choice(hours[kind]), minute=rnd.choice([0, 15, 30])
            )
            minutes = rnd.choice([45, 60, 75, 90]) if kind == "run" else rnd.choice([30, 60, 90])
            end = local + timedelta(minutes=minutes)
            if style < 0.45:
                ev += [
                    f"DTSTART:{local.astimezone(UTC):%Y%m%dT%H%M%SZ}",
                    f"DTEND:{end.astimezone(UTC):%Y%m%dT%H%M%SZ}",
                ]
            else:
                ev += [
                    f"DTSTART;TZID={TZ}:{local:%Y%m%dT%H%M%S}",
                    f"DTEND;TZID={TZ}:{end:%Y%m%dT%H%M%S}",
                ]
        ev.append(f"SUMMARY:{_esc(title)}")
        if desc:
            ev.append(_fold(f"DESCRIPTION:{_esc(desc + ' ' + 'Notes: ' * rnd.randint(0, 6))}"))
        if kind == "run" and rnd.random() < 0.3:
            ev.append("CATEGORIES:Running,Workout")
        if kind in ("work", "evening"):
            ev.append("TRANSP:OPAQUE")
        ev.append("END:VEVENT")
        lines += ev
    for m in range(min(MEETINGS, n // 2)):
        weekday = m % 5  # Monday..Friday
        start_day = first_day + timedelta(days=(weekday - first_day.weekday()) % 7)
        local = datetime.combine(start_day, datetime.min.time(), zone).replace(hour=9 + m)
        # One instance in the planning window is moved an hour later, the next cancelled.
        weeks = (now.astimezone(zone).date() - start_day).days // 7 + 1
        occ = datetime.combine(start_day + timedelta(weeks=weeks), local.time(), zone)
        uid = f"meeting-{seed}-{m}@bench"
        lines += [
            "BEGIN:VEVENT",
            f"UID:{uid}",
            f"DTSTAMP:{stamp}",
            f"DTSTART;TZID={TZ}:{local:%Y%m%dT%H%M%S}",
            f"DTEND;TZID={TZ}:{local + timedelta(hours=1):%Y%m%dT%H%M%S}",
            f"RRULE:FREQ=WEEKLY;BYDAY={WEEKDAYS[weekday]}",
            f"EXDATE;TZID={TZ}:{occ + timedelta(weeks=1):%Y%m%dT%H%M%S}",
            f"SUMMARY:Weekly meeting {m + 1}",
            "TRANSP:OPAQUE",
            "END:VEVENT",
            "BEGIN:VEVENT",
            f"UID:{uid}",
            f"DTSTAMP:{stamp}",
            f"RECURRENCE-ID;TZID={TZ}:{occ:%Y%m%dT%H%M%S}",
            f"DTSTART;TZID={TZ}:{occ + timedelta(hours=1):%Y%m%dT%H%M%S}",
            f"DTEND;TZID={TZ}:{occ + timedelta(hours=2):%Y%m%dT%H%M%S}",
            f"SUMMARY:Weekly meeting {m + 1} (moved)",
            "END:VEVENT",
        ]
    lines.append("END:VCALENDAR")
    return ("\r\n".join(lines) + "\r\n").encode()


def planning_window(now: datetime = NOW, horizon_days: int = 28) -> tuple[datetime, datetime]:
    """Roughly what `calsync plan` reads: the week so far to the horizon plus taper."""
    return now - timedelta(days=10), now + timedelta(days=horizon_days + 17)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("events", type=int, nargs="?", default=10_000)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    sys.stdout.buffer.write(generate(args.events, seed=args.seed))


if __name__ == "__main__":
    main()
