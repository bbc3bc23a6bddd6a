"""Structure-aware mutants of the fixture calendars, for the fuzz test and bench/fuzz.py.

`mutate(data, rnd)` applies one to four mutations chosen by `rnd` (a random.Random, or
hypothesis' `st.randoms()` so a failure shrinks and replays): truncation, byte flips,
duplicated / dropped / swapped lines, hostile values for RRULE, EXDATE, RDATE, TZID,
DTSTART, DTEND, DURATION and SEQUENCE, deep nesting, huge properties, stray BEGIN/END
lines, blank lines before continuations, doubled calendar properties.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path

CALENDARS = Path(__file__).resolve().parent / "calendars"


def seeds() -> list[Path]:
    """Every fixture calendar small enough to mutate quickly."""
    return sorted(p for p in CALENDARS.glob("*.ics") if p.stat().st_size < 200_000)


HOSTILE: dict[str, list[str]] = {
    "RRULE": [
        "FREQ=WEEKLY;INTERVAL=0",
        "FREQ=WEEKLY;INTERVAL=-1",
        "FREQ=HOURLY;BYSETPOS=366",
        "FREQ=MONTHLY;BYDAY=MO;BYSETPOS=0;UNTIL=20271231T000000Z",
        "FREQ=MONTHLY;BYDAY=0MO",
        "FREQ=MONTHLY;BYDAY=53MO;BYMONTHDAY=31",
        "FREQ=YEARLY;BYWEEKNO=60",
        "FREQ=YEARLY;BYMONTH=13",
        "FREQ=DAILY;COUNT=0",
        "FREQ=DAILY;COUNT=99999999999999999999",
        "FREQ=DAILY;UNTIL=garbage",
        "FREQ=DAILY;UNTIL=99991231T235959Z",
        "FREQ=SECONDLY",
        "FREQ=MINUTELY;INTERVAL=1",
        "FREQ=HOURLY",
        "FREQ=DAILY;BYHOUR=0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23",
        "FREQ=WEEKLY;BYDAY=XX",
        "FREQ=NEVER",
        "",
        "FREQ=DAILY;;;",
        "FREQ=YEARLY;BYYEARDAY=366;BYMONTHDAY=-31",
        "FREQ=MONTHLY;BYMONTHDAY=31;BYMONTH=2",
    ],
    "EXDATE": [
        "garbage",
        "20261125T070000Z,garbage",
        ";VALUE=PERIOD:20261125T070000Z/20261125T080000Z",
        ";VALUE=DATE:20261125",
        ";TZID=Nowhere/City:20261125T070000",
        ",".join(f"2026{m:02d}{d:02d}T070000Z" for m in range(1, 13) for d in range(1, 29)),
        "00010101T000000Z",
    ],
    "RDATE": [
        ";VALUE=TIME:070000",
        ";VALUE=PERIOD:20261125T070000Z/PT1H",
        ";VALUE=PERIOD:20261125T070000Z/20261124T070000Z",
        "99991231T235959Z",
        "garbage",
    ],
    "TZID": ["", "Nowhere/City", "../../../etc/passwd", "X" * 5000, "CEST", '"Europe/Berlin"'],
    "DTSTART": [
        "00010101T070000",
        "99991231T235959Z",
        "2026023",
        ";VALUE=PERIOD:20261125T070000Z/20261125T080000Z",
        ";VALUE=DATE:20261345",
        ";VALUE=DATE-TIME:20261125",
        ";TZID=Nowhere/City:20261125T070000",
        "",
        "20261125T250000",
    ],
    "DTEND": ["00020101T070000Z", "99991231T235959Z", "20261125", "garbage", ";VALUE=DATE:0"],
    "DURATION": [
        "P10000000000D",
        "P999999999999999999W",
        "PT-2H",
        "-P1D",
        "PT0S",
        "P",
        "garbage",
        "P1Y",
    ],
    "SEQUENCE": ["abc", "-1", "99999999999999999999", "", "1.5"],
    "UID": ["", "x" * 10000, "a\\,b", "a;b", '"quoted"'],
    "RECURRENCE-ID": ["garbage", "00010101T000000Z", ";RANGE=THISANDFUTURE:20261125T070000Z"],
}


def _lines(data: bytes) -> list[bytes]:
    return data.split(b"\n")


def _truncate(data: bytes, rnd: random.Random) -> bytes:
    return data[: rnd.randrange(len(data) + 1)]


def _flip(data: bytes, rnd: random.Random) -> bytes:
    b = bytearray(data)
    for _ in range(rnd.randint(1, 8)):
        if b:
            b[rnd.randrange(len(b))] = rnd.randrange(256)
    return bytes(b)


def _duplicate_line(data: bytes, rnd: random.Random) -> bytes:
    lines = _lines(data)
    i = rnd.randrange(len(lines))
    lines[i:i] = [lines[i]] * rnd.choice([1, 1, 2, 50])
    return b"\n".join(lines)


def _drop_line(data: bytes, rnd: random.Random) -> bytes:
    lines = _lines(data)
    del lines[rnd.randrange(len(lines))]
    return b"\n".join(lines)


def _swap_lines(data: bytes, rnd: random.Random) -> bytes:
    lines = _lines(data)
    i, j = rnd.randrange(len(lines)), rnd.randrange(len(lines))
    lines[i], lines[j] = lines[j], lines[i]
    return b"\n".join(lines)


def _hostile_value(data: bytes, rnd: random.Random) -> bytes:
    """Replace (or add, inside an event) a property with a hostile value."""
    name = rnd.choice(sorted(HOSTILE))
    value = rnd.choice(HOSTILE[name])
    if name == "TZID":
        line = f"DTSTART;TZID={value}:20261125T070000"
    elif value.startswith(";"):
        line = f"{name}{value}"
    else:
        line = f"{name}:{value}"
    lines = _lines(data)
    same = [i for i, ln in enumerate(lines) if ln.upper().startswith(name.encode())]
    events = [i for i, ln in enumerate(lines) if ln.strip().upper() == b"BEGIN:VEVENT"]
    if same and rnd.random() < 0.6:
        i = rnd.choice(same)
        lines[i] = line.encode() + (b"\r" if lines[i].endswith(b"\r") else b"")
    elif events:
        i = rnd.choice(events) + 1
        lines.insert(i, line.encode() + b"\r")
    else:
        lines.insert(rnd.randrange(len(lines) + 1), line.encode())
    return b"\n".join(lines)


def _deep_nesting(data: bytes, rnd: random.Random) -> bytes:
    depth = rnd.choice([5, 17, 100, 1000, 5000])
    name = rnd.choice([b"X-NEST", b"VALARM", b"VEVENT", b"VCALENDAR"])
    block = b"\r\n".join([b"BEGIN:" + name] * depth + [b"END:" + name] * depth) + b"\r\n"
    lines = _lines(data)
    events = [i for i, ln in enumerate(lines) if ln.strip().upper() == b"BEGIN:VEVENT"]
    i = rnd.choice(events) + 1 if events else rnd.randrange(len(lines) + 1)
    lines.insert(i, block.rstrip(b"\n"))
    return b"\n".join(lines)


def _huge_property(data: bytes, rnd: random.Random) -> bytes:
    kind = rnd.choice(["long", "many", "folded"])
    if kind == "long":
        prop = b"DESCRIPTION:" + b"x" * rnd.choice([1000, 100_000, 1_000_000])
    elif kind == "many":
        prop = b"\r\n".join([b"CATEGORIES:Run"] * rnd.choice([100, 10_001, 50_000]))
    else:
        prop = b"SUMMARY:" + b"\r\n ".join([b"y" * 74] * rnd.choice([10, 10_000]))
    lines = _lines(data)
    events = [i for i, ln in enumerate(lines) if ln.strip().upper() == b"BEGIN:VEVENT"]
    i = rnd.choice(events) + 1 if events else rnd.randrange(len(lines) + 1)
    lines.insert(i, prop + b"\r")
    return b"\n".join(lines)


def _stray(data: bytes, rnd: random.Random) -> bytes:
    line = rnd.choice(
        [
            b"END:VEVENT",
            b"END:VTOOD",
            b"BEGIN:VEVENT",
            b"END:VCALENDAR",
            b"BEGIN:VCALENDAR",
            b"BEGIN:VTIMEZONE",
            b"",
            b" continuation",
            b"\r\n continued after a blank",
            b"CALSCALE:JULIAN",
            b"CALSCALE:GREGORIAN",
            b"X-WR-TIMEZONE:Nowhere/City",
            b"X-WR-TIMEZONE:America/New_York",
            b"\xff\xfe\x00garbage",
        ]
    )
    lines = _lines(data)
    lines.insert(rnd.randrange(len(lines) + 1), line)
    return b"\n".join(lines)


MUTATIONS: list[Callable[[bytes, random.Random], bytes]] = [
    _truncate,
    _flip,
    _duplicate_line,
    _drop_line,
    _swap_lines,
    _hostile_value,
    _hostile_value,
    _hostile_value,
    _deep_nesting,
    _huge_property,
    _stray,
    _stray,
]


def mutate(data: bytes, rnd: random.Random) -> tuple[bytes, list[str]]:
    """The mutant and the names of the mutations applied, in order."""
    names = []
    for _ in range(rnd.randint(1, 4)):
        m = rnd.choice(MUTATIONS)
        data = m(data, rnd)
        names.append(m.__name__.lstrip("_"))
    return data, names
