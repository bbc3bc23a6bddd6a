"""The text layer of the ICS source, before icalendar sees anything: logical (unfolded)
lines with their line numbers, the calendar sorted into its header and VEVENT blocks
(with the defects real generators make repaired, nested components dropped, events over
a limit skipped), and the pre-filter that keeps only the blocks that can reach the
window, reading a few key lines at regex speed. See `calsync.sources.ics`.
"""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from calsync.errors import SourceError
from calsync.sources.limits import ParseLimits

log = logging.getLogger("calsync.sources.ics")  # the name its log lines have always had

# Private property put on each VEVENT before parsing, so every occurrence that
# recurring-ical-events hands back still knows the line its VEVENT began on.
_LINE_PROP = "X-CALSYNC-SOURCE-LINE"

# Zone abbreviations some generators write as a TZID, with no VTIMEZONE. Only those
# that are not IANA names already (CET, EET, WET, EST... are) and mean one thing.
TZID_ALIASES = {
    "CEST": "CET",
    "MEZ": "CET",
    "MESZ": "CET",
    "EEST": "EET",
    "WEST": "WET",
    "BST": "Europe/London",
    "EDT": "America/New_York",
    "CDT": "America/Chicago",
    "MDT": "America/Denver",
    "PDT": "America/Los_Angeles",
    "PST": "America/Los_Angeles",
    "AEST": "Australia/Sydney",
    "AEDT": "Australia/Sydney",
}

# How far outside the window an event's textual dates may lie and still be parsed: a
# day for the query's own widening, one for the largest zone offsets, one to spare.
_MARGIN = timedelta(days=3)


# --------------------------------------------------------------------------- split


@dataclass(slots=True)
class _Block:
    line: int  # 1-based line of BEGIN:VEVENT
    lines: list[str] = field(default_factory=list)  # logical lines, BEGIN..END
    closed: bool = False
    problem: str | None = None  # over a limit: skipped with this reason, lines not kept


@dataclass(slots=True)
class _Split:
    header: list[str]  # calendar properties and VTIMEZONEs, without BEGIN/END:VCALENDAR
    blocks: list[_Block]


_NEWLINE = re.compile(r"\r*\n|\r")
_CALENDAR = re.compile(r"^[ \t]*BEGIN:VCALENDAR[ \t]*$", re.M | re.I)
_PROPERTY = re.compile(r"^[A-Za-z0-9-]+[;:]")
_SEMICOLON_VALUE = re.compile(r"^([A-Za-z][A-Za-z0-9-]*);(\d{8}(?:T\d{6}Z?)?)$")
_TZID_PARAM = re.compile(r";TZID=(\"[^\"]*\"|[^;:]*)", re.IGNORECASE)

# Components that only stand at the top of a calendar: a BEGIN of one inside another
# means an END went missing or is misspelt (END:VTOOD), and the open ones are closed.
_TOP_ONLY = frozenset({"VEVENT", "VTODO", "VJOURNAL", "VFREEBUSY", "VTIMEZONE"})
# What a VTIMEZONE holds; anything else nested in it is dropped.
_TZ_PARTS = frozenset({"STANDARD", "DAYLIGHT"})


def _logical_lines(text: str, first: int = 1) -> Iterator[tuple[int, str]]:
    """Unfolded lines with the 1-based number of their first physical line.

    A continuation line after a blank line (old Mozilla exports) continues the last
    non-blank line, as icalendar reads it. Parts are joined once per logical line, so a
    property folded over a million lines costs linear time."""
    num = 0
    parts: list[str] = []
    blank: tuple[int, str] | None = None
    for i, physical in enumerate(io.StringIO(text, newline="\n"), start=first):
        raw = physical[:-1] if physical.endswith("\n") else physical
        if raw[:1] in (" ", "\t") and parts:
            parts.append(raw[1:])
            blank = None
            continue
        if not raw.strip() and parts and blank is None:
            blank = (i, raw)  # held back: a continuation may follow
            continue
        if parts:
            yield num, "".join(parts)
        if blank is not None:
            yield blank
            blank = None
        num, parts = i, [raw]
    if parts:
        yield num, "".join(parts)
    if blank is not None:
        yield blank


def _text(data: bytes, label: str) -> str:
    """The calendar as text with "\n" line ends; SourceError if it is not a calendar."""
    text = _NEWLINE.sub("\n", data.decode("utf-8", errors="replace").lstrip("\ufeff"))
    if not _CALENDAR.search(text):
        first = next((s.strip() for s in text.split("\n", 50) if s.strip()), "")
        what = f"it starts with {first[:60]!r}" if first else "it is empty"
        raise SourceError(f"{label}: not an iCalendar file (no BEGIN:VCALENDAR; {what})")
    return text


def _split(lines: Iterable[tuple[int, str]], label: str, limits: ParseLimits) -> _Split:
    """Sort unfolded, numbered lines into the calendar's header and its VEVENT blocks.

    Components nested in an event (alarms, X- components) are dropped: calsync reads
    none of them, and a broken alarm must not cost the event. An event over a limit
    (properties, nesting depth) keeps no lines and is skipped with its reason.
    """
    # Over 80 lines on purpose (tests/test_module_sizes.py): one pass over every line of
    # the calendar (the hot path of a read, bench/bench_parse.py) whose BEGIN, END and
    # property branches share the stack, the open block and the VTIMEZONE flag; split
    # into handlers, that state would travel through an object on every line.
    header: list[str] = []
    blocks: list[_Block] = []
    stack: list[str] = []
    block: _Block | None = None
    keep = False  # inside a VTIMEZONE, which goes to the header
    header_props = 0
    for num, raw in lines:
        if block is not None and block.problem is not None and raw[:1] not in "BbEeUu":
            continue  # a skipped event: only its END (and a late UID) still matter
        if not raw.strip():
            continue
        line = _repair(raw, num, label)
        if line is None:
            continue
        upper = line.upper()
        if upper.startswith("BEGIN:"):
            name = upper[6:].strip()
            if len(stack) >= 2 and stack[0] == "VCALENDAR" and name in _TOP_ONLY:
                log.warning(
                    "%s:%d: BEGIN:%s inside %s: closed the %s (its END is missing or misspelt)",
                    label, num, name, stack[1], stack[1],
                )  # fmt: skip
                if block is not None:
                    block.lines.append("END:VEVENT")
                    block.closed = True
                    block = None
                keep = False
                del stack[1:]
            depth = len(stack)
            stack.append(name)
            if depth == 0:
                if name != "VCALENDAR":
                    log.warning("%s:%d: ignored %s outside a calendar", label, num, name)
            elif depth == 1 and stack[0] == "VCALENDAR":
                if name == "VEVENT":
                    block = _Block(num, [line, f"{_LINE_PROP}:{num}"])
                    blocks.append(block)
                elif name == "VTIMEZONE":
                    keep = True
                    header.append(line)
            elif depth >= limits.max_depth:
                if block is not None and block.problem is None:
                    _give_up(block, f"components nested more than {limits.max_depth} deep")
            elif keep and depth == 2 and name in _TZ_PARTS:
                header.append(line)
            continue
        if upper.startswith("END:"):
            name = upper[4:].strip()
            if name not in stack:
                log.warning("%s:%d: ignored END:%s with no BEGIN", label, num, name)
                continue
            while stack[-1] != name:  # close what was left open
                stack.pop()
            stack.pop()
            depth = len(stack)
            if depth == 1:
                if block is not None and name == "VEVENT":
                    block.lines.append(line)
                    block.closed = True
                elif keep and name == "VTIMEZONE":
                    header.append(line)
                block = None
                keep = False
            elif keep and depth == 2 and name in _TZ_PARTS:
                header.append(line)
            continue
        depth = len(stack)
        if block is not None:
            if block.problem is not None:
                if depth == 2 and not block.lines and _name(line) == "UID":
                    block.lines.append(line)  # a late UID still names the skipped event
                continue
            if depth != 2 or upper.startswith(_LINE_PROP):
                continue  # inside an alarm or other nested component
            if len(block.lines) > limits.max_properties:
                _give_up(block, f"more than {limits.max_properties} properties")
                continue
            block.lines.append(line)
        elif (keep and (depth == 2 or (depth == 3 and stack[2] in _TZ_PARTS))) or (
            depth == 1 and stack[0] == "VCALENDAR"
        ):
            header_props += 1
            if header_props > limits.max_properties:
                raise SourceError(
                    f"{label}:{num}: more than {limits.max_properties} calendar properties"
                    " and time zone lines outside the events; not a calendar calsync reads",
                    hint="raise max_properties for this source if the file is right",
                )
            header.append(line)
    return _Split(header, blocks)


def _give_up(block: _Block, why: str) -> None:
    block.problem = why
    block.lines = [ln for ln in block.lines if _name(ln) == "UID"][:1]  # for the warning


def _repair(line: str, num: int, label: str) -> str | None:
    """Fix the defects real generators make, or drop a line that is no property at all."""
    if _PROPERTY.match(line):
        m = _SEMICOLON_VALUE.match(line)
        if m:  # "DTSTART;20210105": the value written where a parameter goes
            return f"{m.group(1)}:{m.group(2)}"
        if ";TZID=" in line.upper():
            return _TZID_PARAM.sub(_alias_tzid, line, count=1)
        return line
    log.warning("%s:%d: dropped a line that is not an iCalendar property: %r", label, num, line)
    return None


def _alias_tzid(m: re.Match[str]) -> str:
    tzid = m.group(1).strip('"')
    alias = TZID_ALIASES.get(tzid.upper())
    return f";TZID={alias}" if alias else m.group(0)


# --------------------------------------------------------------------------- pre-filter


def _name(line: str) -> str:
    for i, ch in enumerate(line):
        if ch in ";:":
            return line[:i].upper()
    return line.upper()


# The lines the pre-filter reads; everything else is skipped at regex speed.
_KEY_LINE = re.compile(
    r"^(BEGIN|END|UID|DTSTART|DTEND|DURATION|RRULE|RDATE|EXRULE|RECURRENCE-ID)([;:][^\n]*)$",
    re.M | re.I,
)


@dataclass(slots=True)
class _Facts:
    start: int  # offset of BEGIN:VEVENT in the text
    uids: list[str] = field(default_factory=list)
    doubt: bool = False  # something the text cannot settle: keep the block
    props: dict[str, list[str]] = field(default_factory=dict)


def _near_window(
    text: str, window: tuple[datetime, datetime]
) -> tuple[int, Iterator[tuple[int, str]]] | None:
    """The pre-filter over the whole text, reading only the lines it needs.

    Returns the number of VEVENTs and the numbered, unfolded lines of everything but the
    VEVENTs that cannot reach the window; None when the file is irregular (components
    that do not nest, a file cut short, a continuation line after a blank line), and the
    line-by-line path, which forgives more, runs.
    """
    if "\n\n " in text or "\n\n\t" in text:
        return None  # a fold across a blank line: key lines may not be what they seem
    blocks: list[tuple[int, int, tuple[str, str] | None, tuple[str, ...]]] = []
    cur: _Facts | None = None
    stack: list[str] = []
    for m in _KEY_LINE.finditer(text):
        name, rest = m.group(1).upper(), m.group(2)
        folded = text.startswith((" ", "\t"), m.end() + 1)  # the line goes on on the next
        if name == "BEGIN":
            what = rest[1:].strip().upper()
            if folded or (what == "VCALENDAR") == bool(stack):
                return None  # anything but VCALENDAR at the top, or a calendar inside
            if what == "VEVENT":
                if len(stack) != 1:
                    return None
                cur = _Facts(m.start())
            elif cur is not None:
                cur.doubt = True  # an alarm or other component inside the event
            stack.append(what)
        elif name == "END":
            what = rest[1:].strip().upper()
            if folded or not stack or stack[-1] != what:
                return None  # components that do not nest
            stack.pop()
            if what == "VEVENT" and cur is not None:
                # Only what the filter needs is kept: a calendar of 200,000 events
                # must not cost 200,000 dicts of property text.
                blocks.append((cur.start, m.end(), _span(cur), tuple(cur.uids)))
                cur = None
        elif cur is None or len(stack) != 2:
            continue
        elif name == "UID":
            cur.uids.append(_uid_key(_unfolded(text, m.start(2), m.end()) if folded else rest))
        elif folded:
            cur.doubt = True
        else:
            cur.props.setdefault(name, []).append(rest)
    if stack:
        return None  # cut short: the line-by-line path says what is missing
    lo = f"{(window[0] - _MARGIN - timedelta(days=1)).date():%Y%m%d}"
    hi = f"{(window[1] + _MARGIN).date():%Y%m%d}"
    seen: dict[str, int] = {}
    for *_, uids in blocks:
        for uid in uids:
            seen[uid] = seen.get(uid, 0) + 1
    ranges: list[tuple[int, int]] = []
    prev = 0
    for start, end, span, uids in blocks:
        if text[prev:start].strip():
            ranges.append((prev, start))
        if span is None or any(seen[u] > 1 for u in uids) or (span[0] <= hi and span[1] >= lo):
            ranges.append((start, end))
        prev = end
    ranges.append((prev, len(text)))
    return len(blocks), _lines_of(text, ranges)


def _lines_of(text: str, ranges: list[tuple[int, int]]) -> Iterator[tuple[int, str]]:
    """The numbered logical lines of the kept ranges, one range at a time."""
    pos = line = 0  # `line` counts the newlines before `pos`
    for a, b in ranges:
        line += text.count("\n", pos, a)
        pos = a
        yield from _logical_lines(text[a:b], line + 1)


def _unfolded(text: str, start: int, end: int) -> str:
    """A key line from `start` with its continuation lines joined (as icalendar unfolds)."""
    parts = [text[start:end]]
    pos = end + 1
    while text.startswith((" ", "\t"), pos):
        nxt = text.find("\n", pos)
        nxt = len(text) if nxt < 0 else nxt
        parts.append(text[pos + 1 : nxt])
        pos = nxt + 1
    return "".join(parts)


def _uid_key(rest: str) -> str:
    """A UID line's value (after its parameters, which may quote a colon), in a form
    that merges every spelling icalendar reads as one UID (escapes, spaces, case):
    merging more than icalendar does only keeps more events for the full parse."""
    quoted = False
    for i, ch in enumerate(rest):
        if ch == '"':
            quoted = not quoted
        elif ch == ":" and not quoted:
            return rest[i + 1 :].replace("\\", "").strip().casefold()
    return rest.replace("\\", "").strip().casefold()


def _span(f: _Facts) -> tuple[str, str] | None:
    """The first and last days ("YYYYMMDD", which sort as dates) a VEVENT's text gives,
    or None when it leaves any doubt. With no DTEND the last day is the first: the
    caller's margin covers the day such an event may last."""
    if f.doubt or len(f.uids) > 1 or any(k not in _F_TIMES for k in f.props):
        return None  # recurring, alarms, folded or doubled properties: keep
    if "DTEND" in f.props and "DURATION" in f.props:
        return None  # both (Thunderbird writes DURATION:PT0S beside DTEND): icalendar's call
    values = {}
    for name, found in f.props.items():
        if len(found) > 1 or '"' in found[0]:  # a quoted parameter may hold a colon
            return None
        rest = found[0]
        value = (rest.partition(":")[2] if ":" in rest else rest[1:]).strip()
        values[name] = value if name == "DURATION" else value[:8]
    start = values.get("DTSTART", "")
    if len(start) != 8 or not start.isdigit():
        return None
    if "DURATION" in values:
        days = _duration_days(values["DURATION"])
        if days is None:
            return None
        try:
            first = date(int(start[:4]), int(start[4:6]), int(start[6:]))
            return start, f"{first + timedelta(days=days):%Y%m%d}"
        except (ValueError, OverflowError):
            return None  # a date or duration past what Python can hold: the parse decides
    end = values.get("DTEND", start)
    if len(end) != 8 or not end.isdigit():
        return None
    return min(start, end), max(start, end)


_DURATION = re.compile(r"^\+?P(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$")


def _duration_days(value: str) -> int | None:
    """Whole days, rounded up, of a non-negative ICS DURATION; None when unreadable."""
    m = _DURATION.match(value.strip().upper())
    if not m:
        return None
    w, d, h, mi, sec = (int(g) if g else 0 for g in m.groups())
    try:
        total = timedelta(weeks=w, days=d, hours=h, minutes=mi, seconds=sec)
    except OverflowError:
        return None  # P999999999999999999W: the full parse skips such an event
    return -(-total // timedelta(days=1))


_F_TIMES = frozenset({"DTSTART", "DTEND", "DURATION"})
