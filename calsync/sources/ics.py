"""ICS files and URLs -> `Event`s in the planning window.

Layers, each small:

    fetch (file | http(s) | webcal, cached validators)      -> bytes
    pre-filter (regex over the text): skip VEVENTs that cannot reach the window
    split (lines): unfold, repair defects, VEVENT blocks     -> header + blocks with lines
    parse (icalendar) -> drop broken events, naming UID and line
    x-wr-timezone -> recurring-ical-events over the window  -> occurrences
    occurrences -> Events (aware, in the configured zone), sorted

The pre-filter is why a calendar of years of runs costs little: only the few key lines of
each VEVENT are read, and only events near the window are ever parsed by icalendar. It
is conservative (it keeps anything recurring, with an alarm, with folded or doubled or
quoted time properties, every event whose UID appears twice, and whole files it finds
irregular), and a property test proves it yields exactly what the full parse yields.
"""

from __future__ import annotations

import http.client
import io
import logging
import re
import time
import urllib.error
import urllib.parse
import urllib.request
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import icalendar
import x_wr_timezone
from recurring_ical_events.adapters.event import EventAdapter
from recurring_ical_events.series import Series

from calsync import __version__, retry
from calsync.config import Config, SourceSettings, redact_url, scrub
from calsync.errors import CalsyncError, EmptyCalendarError, SourceError
from calsync.model import Event, Role
from calsync.sources.limits import DEFAULT_LIMITS, Budget, Interrupted, ParseLimits

if TYPE_CHECKING:
    from calsync.state import StateTx

log = logging.getLogger(__name__)

_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
USER_AGENT = f"calsync/{__version__} (+https://github.com/calsync/calsync)"

# Private property put on each VEVENT before parsing, so every occurrence that
# recurring-ical-events hands back still knows the line its VEVENT began on.
_LINE_PROP = "X-CALSYNC-SOURCE-LINE"

# Properties (besides X-*) kept in Event.extra for the classifier.
_EXTRA = frozenset({"LOCATION", "STATUS", "URL", "COMMENT", "CLASS", "PRIORITY"})

# Properties whose damage makes an event unusable: it is skipped, not guessed at.
_VITAL = frozenset({"DTSTART", "DTEND", "DURATION", "RRULE", "RDATE", "EXDATE", "RECURRENCE-ID"})

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


# --------------------------------------------------------------------------- source


class IcsSource:
    """An ICS calendar from a file path, file://, http(s):// or webcal:// URL."""

    def __init__(self, settings: SourceSettings, config: Config) -> None:
        self.settings = settings
        self.label: str = settings.label
        self.role: Role = settings.role
        self.zone = config.schedule.zone

    def read(self, window: tuple[datetime, datetime], tx: StateTx | None = None) -> list[Event]:
        data = fetch(self.settings, tx)
        try:
            return parse_ics(
                data,
                label=self.label,
                zone=self.zone,
                window=window,
                limits=self.settings.limits,
            )
        except EmptyCalendarError as e:
            if self.role is Role.RUNS:
                raise
            log.warning("%s (no busy time from it)", e)
            return []


def http_url(url: str) -> str | None:
    """The http(s) URL to fetch (webcal:// is https://), or None for a local file."""
    url = url.strip()
    m = _SCHEME.match(url)
    scheme = m.group(1).lower() if m else ""
    if scheme == "webcal":
        return "https" + url[len("webcal") :]
    if scheme in ("http", "https"):
        return url
    return None


def fetch(settings: SourceSettings, tx: StateTx | None = None) -> bytes:
    """The raw bytes of the calendar; SourceError naming the source when that fails."""
    url = settings.url.strip()
    remote = http_url(url)
    if remote is not None:
        return _fetch_http(remote, settings, tx)
    m = _SCHEME.match(url)
    scheme = m.group(1).lower() if m else ""
    if scheme == "file":
        path = Path(urllib.request.url2pathname(urllib.parse.urlsplit(url).path))
    elif len(scheme) > 1:  # one letter is a Windows drive, not a scheme
        raise SourceError(
            f"{settings.label}: unsupported URL scheme '{scheme}://'",
            hint="use a file path, file://, http://, https:// or webcal://",
        )
    else:
        path = Path(url).expanduser()
    return _read_file(path, settings)


def _read_file(path: Path, settings: SourceSettings) -> bytes:
    try:
        size = path.stat().st_size
        if size > settings.max_bytes:
            raise SourceError(
                f"{_at(settings.label, path)} is {size} bytes, more than max_bytes"
                f" ({settings.max_bytes})",
                hint="raise max_bytes for this source if the file is right",
            )
        # st_size is 0 for a pipe or a device (`<(curl ...)`, /dev/zero): read at most
        # one byte past the cap instead of trusting it.
        with path.open("rb") as f:
            data = f.read(settings.max_bytes + 1)
        if len(data) > settings.max_bytes:
            raise SourceError(
                f"{_at(settings.label, path)} is more than max_bytes ({settings.max_bytes})"
                " bytes; stopped reading",
                hint="raise max_bytes for this source if the file is right",
            )
        return data
    except FileNotFoundError:
        raise SourceError(f"{_at(settings.label, path)}: file not found") from None
    except IsADirectoryError:
        raise SourceError(f"{_at(settings.label, path)} is a directory, not a calendar") from None
    except OSError as e:
        raise SourceError(f"{_at(settings.label, path)}: cannot read: {e.strerror or e}") from None


def fetch_policy(settings: SourceSettings) -> retry.Policy:
    """The retry budget of one HTTP source: a few attempts, a bounded total.

    A timer-run sync must end: at most 4 attempts, and waits (Retry-After included)
    stop once the next one would pass the budget. Each attempt has its own
    `timeout_seconds`, so the whole fetch is over within budget + one timeout.
    """
    return retry.Policy(
        max_attempts=4,
        max_seconds=max(30.0, 2 * settings.timeout_seconds),
        initial_wait=1.0,
        max_wait=16.0,
    )


@dataclass(frozen=True, slots=True)
class _Answer:
    raw: bytes
    encoding: str
    etag: str | None
    last_modified: str | None


class _CutShort(retry.TransientError):
    """The server hung up before the announced Content-Length arrived (retried)."""


def _fetch_http(url: str, settings: SourceSettings, tx: StateTx | None) -> bytes:
    label = settings.label
    if _has_userinfo(url):
        # urllib would take "user:password@host" for the host name and fail to find it.
        raise SourceError(
            f"{_at(label, url)}: a user name or password in the URL is not supported",
            hint="use the calendar's secret address (a token URL) instead",
        )
    cached = tx.source_cache(url) if tx is not None else None
    headers = {
        "User-Agent": USER_AGENT,
        "Accept": "text/calendar, */*;q=0.5",
        "Accept-Encoding": "gzip",
    }
    if cached is not None:
        if cached.etag:
            headers["If-None-Match"] = cached.etag
        if cached.last_modified:
            headers["If-Modified-Since"] = cached.last_modified
    policy = fetch_policy(settings)
    attempts = 0
    started = time.monotonic()

    def attempt() -> _Answer:
        nonlocal attempts
        attempts += 1
        return _get(url, headers, settings)

    def tried() -> str:
        """How hard calsync tried, for the message of a transient failure."""
        if attempts <= 1:
            return ""
        return f" (gave up after {attempts} attempts in {time.monotonic() - started:.0f} s)"

    try:
        answer = retry.call(attempt, policy)
    except urllib.error.HTTPError as e:
        if e.code == 304 and cached is not None:
            log.info("%s: not modified since last fetch, using the cached copy", label)
            return cached.body
        if e.code in (301, 302, 303, 307, 308):  # urllib gave up: its reason is a paragraph
            raise SourceError(
                f"{_at(label, url)} redirects in a loop or too often (last: HTTP {e.code})"
            ) from None
        failure = retry.http_failure(e)
        wait = failure.retry_after if failure is not None else None
        extra = tried()
        if (
            retry.is_retryable(e)
            and wait is not None
            and wait * retry.TIME_SCALE > (policy.max_seconds)
        ):
            extra = f" and asked to retry after {wait:.0f} s, longer than calsync waits"
        reason = scrub(str(e.reason), url)
        raise SourceError(f"{_at(label, url)} answered HTTP {e.code} {reason}{extra}") from None
    except _CutShort as e:
        raise SourceError(f"{_at(label, url)}: {scrub(str(e), url)}{tried()}") from None
    except urllib.error.URLError as e:
        if isinstance(e.reason, TimeoutError):
            raise _timed_out(label, url, settings.timeout_seconds, tried()) from None
        raise SourceError(
            f"{_at(label, url)}: cannot reach the server: {scrub(str(e.reason), url)}{tried()}"
        ) from None
    except TimeoutError:
        raise _timed_out(label, url, settings.timeout_seconds, tried()) from None
    except (OSError, http.client.HTTPException) as e:
        raise SourceError(
            f"{_at(label, url)}: cannot read: {scrub(repr(e), url)}{tried()}"
        ) from None
    except ValueError as e:  # urllib's word for a URL it cannot use
        raise SourceError(f"{_at(label, url)}: not a usable URL ({scrub(str(e), url)})") from None
    if attempts > 1:
        log.info("%s: fetched after %d attempts", label, attempts)
    if answer.encoding in ("gzip", "x-gzip"):
        body = _gunzip(answer.raw, settings.max_bytes, label, url)
    elif answer.encoding in ("", "identity"):
        body = answer.raw
    else:
        raise SourceError(
            f"{_at(label, url)} sent an unsupported Content-Encoding '{answer.encoding}'"
        )
    if tx is not None and (answer.etag or answer.last_modified):
        from calsync.state import CachedSource

        # The fetch time is bookkeeping for `calsync status`, not an input to planning.
        now = datetime.now().astimezone()
        tx.put_source_cache(CachedSource(url, answer.etag, answer.last_modified, body, now))
    return body


def _has_userinfo(url: str) -> bool:
    try:
        return urllib.parse.urlsplit(url).username is not None
    except ValueError:
        return False  # urlopen names what is wrong with it


def _get(url: str, headers: dict[str, str], settings: SourceSettings) -> _Answer:
    """One GET; raises what urllib raises (the retry policy sorts those)."""
    label = settings.label
    deadline = time.monotonic() + settings.timeout_seconds
    try:
        req = urllib.request.Request(url, headers=headers)
        resp = urllib.request.urlopen(req, timeout=settings.timeout_seconds)
    except urllib.error.HTTPError as e:
        e.msg = scrub(str(e.msg), url)  # a hostile server may quote the URL back
        raise
    except (ValueError, http.client.InvalidURL) as e:  # never retried, never quoted whole
        raise SourceError(f"{_at(label, url)}: not a usable URL ({scrub(str(e), url)})") from None
    with resp:
        length = resp.headers.get("Content-Length")
        if length and length.isdigit() and int(length) > settings.max_bytes:
            raise _too_big(label, url, settings.max_bytes)
        raw = _read_capped(resp, settings.max_bytes, deadline, label, url)
        # urllib returns what arrived when the server hangs up early; a calendar cut
        # short would silently lose its later runs (and their sessions).
        if length and length.isdigit() and len(raw) < int(length):
            raise _CutShort(
                f"the download was cut short ({len(raw)} of {int(length)} bytes arrived)"
            )
        return _Answer(
            raw,
            (resp.headers.get("Content-Encoding") or "").strip().lower(),
            resp.headers.get("ETag"),
            resp.headers.get("Last-Modified"),
        )


def _read_capped(resp: Any, cap: int, deadline: float, label: str, url: str) -> bytes:
    chunks: list[bytes] = []
    total = 0
    while True:
        if time.monotonic() > deadline:
            raise SourceError(f"{_at(label, url)} is too slow: the body did not arrive in time")
        chunk = resp.read(64 * 1024)
        if not chunk:
            return b"".join(chunks)
        total += len(chunk)
        if total > cap:
            raise _too_big(label, url, cap)
        chunks.append(chunk)


def _gunzip(raw: bytes, cap: int, label: str, url: str) -> bytes:
    d = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        out = d.decompress(raw, cap + 1)
    except zlib.error as e:
        raise SourceError(f"{_at(label, url)} sent a broken gzip body ({e})") from None
    if len(out) > cap:
        raise _too_big(label, url, cap)
    return out


def _at(label: str, where: object) -> str:
    """The source's label, with its path or URL unless the label already names it.

    A URL is redacted like the label (it may carry a password or a feed token)."""
    w = redact_url(str(where))
    return label if w in label else f"{label} ({w})"


def _too_big(label: str, url: str, cap: int) -> SourceError:
    return SourceError(
        f"{_at(label, url)} is larger than max_bytes ({cap} bytes); stopped reading",
        hint="raise max_bytes for this source if the calendar is right",
    )


def _timed_out(label: str, url: str, seconds: float, tried: str = "") -> SourceError:
    return SourceError(
        f"{_at(label, url)} did not answer within {seconds:g} s (timeout_seconds){tried}"
    )


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


# --------------------------------------------------------------------------- parse


def _calendar_text(header: Iterable[str], blocks: Iterable[_Block]) -> str:
    parts = ["BEGIN:VCALENDAR", *header]
    for b in blocks:
        parts.extend(b.lines)
        if not b.closed:
            parts.append("END:VEVENT")
    parts.append("END:VCALENDAR")
    return "\r\n".join(parts) + "\r\n"


def _parse(header: list[str], blocks: list[_Block], label: str) -> icalendar.Calendar:
    """One icalendar parse of header + blocks; blocks that break the parse are skipped."""
    for b in blocks:
        if b.problem is not None:
            log.warning("%s:%d: skipped event %s: %s", label, b.line, _uid_of(b), b.problem)
    blocks = [b for b in blocks if b.problem is None]
    try:
        return icalendar.Calendar.from_ical(_calendar_text(header, blocks))
    except Exception as e:  # noqa: BLE001 - any parser failure: find the culprit below
        log.debug("%s: whole-calendar parse failed (%s); parsing event by event", label, e)
    try:
        cal = icalendar.Calendar.from_ical(_calendar_text(header, []))
    except Exception:  # noqa: BLE001 - one calendar property line, or the time zones
        header = _without_broken_properties(header, label)
    try:
        cal = icalendar.Calendar.from_ical(_calendar_text(header, []))
    except Exception as e:  # noqa: BLE001
        log.warning("%s: ignored its time zone definitions, they do not parse (%s)", label, e)
        header = [h for h in header if not h.upper().startswith(("BEGIN:", "END:"))]
        header = [h for h in header if _name(h).startswith(("X-", "VERSION", "PRODID"))]
        cal = icalendar.Calendar.from_ical(_calendar_text(header, []))
    for comp in _parse_halves(header, blocks, label):
        cal.add_component(comp)
    return cal


def _without_broken_properties(header: list[str], label: str) -> list[str]:
    """The header without the calendar property lines (outside its time zones) that
    icalendar cannot parse on their own, each ignored with a warning: a garbled
    X-property in the header is no reason to lose the calendar."""
    kept: list[str] = []
    depth = 0
    for line in header:
        upper = line.upper()
        if upper.startswith("BEGIN:"):
            depth += 1
        elif upper.startswith("END:"):
            depth = max(depth - 1, 0)
        elif depth == 0:
            try:
                icalendar.Calendar.from_ical(_calendar_text([line], []))
            except Exception as e:  # noqa: BLE001 - whatever the parser raises
                log.warning(
                    "%s: ignored the calendar property %s, it does not parse (%s)",
                    label, _name(line) or repr(line[:40]), f"{type(e).__name__}: {e}"[:200],
                )  # fmt: skip
                continue
        kept.append(line)
    return kept


def _parse_halves(
    header: list[str], blocks: list[_Block], label: str
) -> list[icalendar.cal.Component]:
    """The events of `blocks` that parse, found by halving: a file with a few broken
    events among thousands costs a few parses per broken one, not one per event (each
    parse repeats the header's time zones)."""
    try:
        one = icalendar.Calendar.from_ical(_calendar_text(header, blocks))
    except Exception as e:  # noqa: BLE001 - any parser failure: one of these blocks
        if len(blocks) == 1:
            b = blocks[0]
            log.warning("%s:%d: skipped event %s: %s", label, b.line, _uid_of(b), e)
            return []
        mid = len(blocks) // 2
        return _parse_halves(header, blocks[:mid], label) + _parse_halves(
            header, blocks[mid:], label
        )
    return [comp for comp in one.subcomponents if comp.name == "VEVENT"]


def _uid_of(b: _Block) -> str:
    uids = [ln.partition(":")[2].strip() for ln in b.lines if _name(ln) == "UID"]
    return f"UID {uids[0]!r}" if uids else "(no UID)"


def _who(comp: icalendar.cal.Component) -> str:
    uid = comp.get("UID")
    return f"UID {str(uid)!r}" if uid is not None and not isinstance(uid, list) else "(no UID)"


def _check_scale(cal: icalendar.Calendar, label: str) -> None:
    """CALSCALE: GREGORIAN (once or more) is the only one calsync (and RFC 5545 readers)
    know; anything else is a whole-calendar problem, said once."""
    raw = cal.get("CALSCALE")
    if raw is None:
        return
    values = {str(v).strip().upper() for v in (raw if isinstance(raw, list) else [raw])}
    del cal["CALSCALE"]  # read here once; the expander would trip on a doubled one
    if values - {"GREGORIAN", ""}:
        scale = ", ".join(sorted(values))
        raise SourceError(
            f"{label}: uses the calendar scale {scale}; only GREGORIAN dates can be read",
            hint="export the calendar with Gregorian dates",
        )


def _drop_broken(cal: icalendar.Calendar, label: str, zone: ZoneInfo) -> None:
    """Remove events whose times cannot be read, warning with their UID and line."""
    good = []
    unknown_zones: set[str] = set()
    for comp in cal.subcomponents:
        if comp.name != "VEVENT":
            good.append(comp)
            continue
        try:
            problem = _problem(comp)
        except Exception as e:  # noqa: BLE001 - whatever the library raises: one event lost
            problem = f"{type(e).__name__}: {e}"
        if problem is None:
            good.append(comp)
            dtstart = comp.decoded("DTSTART")
            tzid = comp["DTSTART"].params.get("TZID")
            if tzid and isinstance(dtstart, datetime) and dtstart.tzinfo is None:
                unknown_zones.add(str(tzid))
            continue
        line = comp.get(_LINE_PROP)
        log.warning("%s:%s: skipped event %s: %s", label, line, _who(comp), problem)
    cal.subcomponents[:] = good
    for tzid in sorted(unknown_zones):
        log.warning("%s: unknown time zone %r: its times are read in %s", label, tzid, zone.key)


# RRULE parts RFC 5545 bounds; a value outside makes the expander loop or fail.
_RULE_BOUNDS = {"INTERVAL": (1, None), "COUNT": (1, None), "BYSETPOS": (-366, 366)}


def _problem(comp: icalendar.cal.Component) -> str | None:
    for name, message in comp.errors:
        if str(name).upper() in _VITAL:
            return f"{name}: {message}"
    if "DTSTART" not in comp:
        return "no DTSTART"
    for name in ("UID", "DTSTART", "DTEND", "DURATION", "RECURRENCE-ID"):
        if isinstance(comp.get(name), list):
            return f"{name} appears more than once"
    rules = comp.get("RRULE")
    for rule in rules if isinstance(rules, list) else [] if rules is None else [rules]:
        if not hasattr(rule, "get"):
            return f"RRULE cannot be read: {rule!r}"
        freq = rule.get("FREQ")
        freq = freq[0] if isinstance(freq, list) and freq else freq
        # Expanding these up to the window can take minutes (or forever): no training
        # plan repeats a workout more than hourly, so the event is broken, not a plan.
        if str(freq).upper() in ("SECONDLY", "MINUTELY"):
            return f"RRULE repeats {str(freq).lower()}: not a training plan"
        for part, (lo, hi) in _RULE_BOUNDS.items():
            for v in rule.get(part) or []:
                if not isinstance(v, int) or v < lo or (hi is not None and v > hi) or v == 0:
                    return f"RRULE {part}={v} is out of range"
    start = comp.decoded("DTSTART")
    if not isinstance(start, date):
        return f"DTSTART is not a date or a date-time ({type(start).__name__})"
    for name in ("DTEND", "DUE"):
        if name in comp:
            end = comp.decoded(name)
            if not isinstance(end, date):
                return f"{name} is not a date or a date-time ({type(end).__name__})"
            if _naive(end) < _naive(start):
                return f"{name} {end} is before DTSTART {start}"
    if "DURATION" in comp:
        length = comp.decoded("DURATION")
        if not isinstance(length, timedelta):
            return f"DURATION is not a duration ({type(length).__name__})"
        start + length  # noqa: B018 - raises OverflowError for a duration past year 9999
    return None


def _naive(d: date) -> datetime:
    """A date or date-time on one comparable scale (UTC wall time, or as written)."""
    if isinstance(d, datetime):
        if d.tzinfo is not None:
            return d.astimezone(UTC).replace(tzinfo=None)
        return d
    return datetime(d.year, d.month, d.day)


def _standardise(cal: icalendar.Calendar, label: str) -> icalendar.Calendar:
    """Apply X-WR-TIMEZONE (Google exports): UTC and floating times move into that zone."""
    wr = cal.get("X-WR-TIMEZONE")
    if wr is None:
        return cal
    # Removed once applied (or found unusable): recurring-ical-events would apply it again.
    del cal["X-WR-TIMEZONE"]
    try:
        zone = ZoneInfo(str(wr).strip())
    except (ZoneInfoNotFoundError, ValueError):
        log.warning("%s: ignored X-WR-TIMEZONE %r: not a known time zone", label, str(wr))
        return cal
    try:
        result: icalendar.Calendar = x_wr_timezone.to_standard(cal, timezone=zone)
    except Exception:  # noqa: BLE001 - one event's times, most likely: find it below
        _drop_unmovable(cal, zone, label)
        result = x_wr_timezone.to_standard(cal, timezone=zone)  # else a calendar problem
    return result


def _drop_unmovable(cal: icalendar.Calendar, zone: ZoneInfo, label: str) -> None:
    """Skip, with a warning each, the events whose times cannot be moved into the
    X-WR-TIMEZONE (a RECURRENCE-ID in year 1 overflows): the conversion runs over the
    whole calendar, so one of them would otherwise cost every event."""
    for comp in [c for c in cal.subcomponents if c.name == "VEVENT"]:
        probe = icalendar.Calendar()
        probe.add_component(comp)
        try:
            x_wr_timezone.to_standard(probe, timezone=zone)
        except Exception as e:  # noqa: BLE001 - whatever the conversion raises
            log.warning(
                "%s:%s: skipped event %s: its times cannot be moved into X-WR-TIMEZONE %s (%s)",
                label, comp.get(_LINE_PROP), _who(comp), zone.key, f"{type(e).__name__}: {e}",
            )  # fmt: skip
            cal.subcomponents.remove(comp)


def _series_of(
    cal: icalendar.Calendar,
) -> dict[str, list[icalendar.cal.Component]]:
    """The events grouped by UID (a series: the rule and its moved instances), in order."""
    groups: dict[str, list[icalendar.cal.Component]] = {}
    for i, comp in enumerate(cal.subcomponents):
        if comp.name == "VEVENT":
            uid = comp.get("UID")
            key = str(uid) if uid is not None else f"\0no-uid-{i}"
            groups.setdefault(key, []).append(comp)
    return groups


class _TooMany(Exception):
    pass


def _expand(
    comps: list[icalendar.cal.Component], a: datetime, b: datetime, most: int
) -> list[icalendar.cal.Component]:
    """One series' occurrences in [a, b); _TooMany past `most`."""
    found: list[icalendar.cal.Component] = []
    for occurrence in Series([EventAdapter(c) for c in comps]).between(a, b):
        found.append(occurrence.as_component(False))
        if len(found) > most:
            raise _TooMany
    return found


def _occurrences(
    cal: icalendar.Calendar, a: datetime, b: datetime, label: str, limits: ParseLimits
) -> list[icalendar.cal.Component]:
    """Every occurrence in [a, b), each series expanded on its own: a series that fails
    (whatever the expander raises), yields more than `max_occurrences` in the window or
    takes longer than its share of the time budget is skipped with one warning naming
    its line and UID; the rest of the calendar stands."""
    out: list[icalendar.cal.Component] = []
    for comps in _series_of(cal).values():
        first = comps[0]
        budget = Budget(limits.series_seconds)
        try:
            found = budget.run(_expand, comps, a, b, limits.max_occurrences)
        except budget.exceeded:
            problem = f"expanding it took longer than {limits.series_seconds:g} s"
        except _TooMany:
            problem = f"more than {limits.max_occurrences} occurrences in the read window"
        except Exception as e:  # noqa: BLE001 - whatever the expander raises: one series lost
            problem = f"cannot expand its repetitions ({type(e).__name__}: {e})"
        else:
            out.extend(found)
            continue
        line = first.get(_LINE_PROP)
        log.warning("%s:%s: skipped event %s: %s", label, line, _who(first), problem)
    return out


def parse_ics(
    data: bytes,
    *,
    label: str,
    zone: ZoneInfo,
    window: tuple[datetime, datetime],
    prefilter_events: bool = True,
    limits: ParseLimits = DEFAULT_LIMITS,
) -> list[Event]:
    """Every event occurrence overlapping `window`, from ICS bytes.

    Floating times are read in `zone` (or the calendar's X-WR-TIMEZONE); all-day events
    span local midnights in `zone`. Raises SourceError for data that is not a calendar,
    holds no event at all, or costs more than `limits` allow; skips broken events with a
    warning naming UID and line. `prefilter_events=False` parses every event (the
    reference the pre-filter is tested against).
    """
    budget = Budget(limits.parse_seconds)
    try:
        return budget.run(_parse_ics, data, label, zone, window, prefilter_events, limits)
    except budget.exceeded:
        raise SourceError(
            f"{label}: reading the calendar took longer than {limits.parse_seconds:g} s"
            " (parse_seconds); stopped",
            hint="raise parse_seconds for this source if the calendar is right",
        ) from None
    except Interrupted:
        raise SourceError(f"{label}: reading stopped: calsync was asked to stop") from None
    except (CalsyncError, KeyboardInterrupt):
        raise
    except (RecursionError, MemoryError) as e:
        raise SourceError(
            f"{label}: the calendar is too large or too deeply nested to read ({type(e).__name__})"
        ) from None
    except Exception as e:
        # Every event and series is read on its own; what is left is the calendar as a
        # whole. Say so in one message, never a traceback (that is -v's job).
        log.debug("%s: cannot be read", label, exc_info=True)
        raise SourceError(
            f"{label}: the calendar cannot be read ({type(e).__name__}: {e})"
        ) from None


def _parse_ics(
    data: bytes,
    label: str,
    zone: ZoneInfo,
    window: tuple[datetime, datetime],
    prefilter_events: bool,
    limits: ParseLimits,
) -> list[Event]:
    w0, w1 = window
    text = _text(data, label)
    fast = _near_window(text, window) if prefilter_events else None
    if fast is not None:
        total, lines = fast
        split = _split(lines, label, limits)
        blocks = split.blocks
    else:  # asked to, or the file is too irregular for the pre-filter: parse it all
        split = _split(_logical_lines(text), label, limits)
        total = len(split.blocks)
        blocks = split.blocks
    del text
    if not total:
        raise EmptyCalendarError(f"{label}: the calendar holds no events (no VEVENT)")
    for b in blocks:
        if not b.closed and b.problem is None:
            log.warning("%s:%d: event %s has no END:VEVENT (cut short?)", label, b.line, _uid_of(b))
    cal = _parse(split.header, blocks, label)
    _check_scale(cal, label)
    _drop_broken(cal, label, zone)
    cal = _standardise(cal, label)
    events = []
    for comp in _occurrences(cal, w0 - timedelta(days=1), w1 + timedelta(days=1), label, limits):
        try:
            ev = _event(comp, zone, label)
        except Exception as e:  # noqa: BLE001 - an occurrence past year 9999, say
            log.warning(
                "%s:%s: skipped an occurrence of %s: %s",
                label, comp.get(_LINE_PROP), _who(comp), f"{type(e).__name__}: {e}",
            )  # fmt: skip
            continue
        if ev is not None and _overlaps(ev, w0, w1):
            events.append(ev)
    events.sort(key=lambda e: (e.start, e.end, e.uid or "", e.summary, e.line or 0))
    return events


def _overlaps(ev: Event, w0: datetime, w1: datetime) -> bool:
    if ev.end <= ev.start:
        return w0 <= ev.start < w1
    return ev.start < w1 and ev.end > w0


def _aware(value: date | datetime, zone: ZoneInfo) -> datetime:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            return value.replace(tzinfo=zone)
        return value.astimezone(zone)
    return datetime.combine(value, dtime(0), zone)


def _event(comp: icalendar.cal.Component, zone: ZoneInfo, label: str) -> Event | None:
    status = str(comp.get("STATUS", "")).upper()
    if status == "CANCELLED":
        return None
    raw_start = comp.decoded("DTSTART")
    raw_end = comp.decoded("DTEND") if "DTEND" in comp else None
    all_day = not isinstance(raw_start, datetime)
    start = _aware(raw_start, zone)
    if raw_end is None and "DURATION" in comp:
        raw_end = raw_start + comp.decoded("DURATION")
    if all_day:
        end_day = raw_end if isinstance(raw_end, date) else None
        if isinstance(end_day, datetime):
            end_day = end_day.date()
        if end_day is None or end_day <= raw_start:
            end_day = raw_start + timedelta(days=1)
        end = _aware(end_day, zone)
    else:
        end = _aware(raw_end, zone) if raw_end is not None else start
        if end < start:
            end = start
    transp = str(comp.get("TRANSP", "")).strip().upper()
    busy = transp == "OPAQUE" if transp in ("OPAQUE", "TRANSPARENT") else not all_day
    line_prop = comp.get(_LINE_PROP)
    uid = comp.get("UID")
    key = comp.get("X-CALSYNC-KEY")
    return Event(
        uid=str(uid) if uid is not None else None,
        summary=str(comp.get("SUMMARY", "")).strip(),
        start=start,
        end=end,
        description=str(comp.get("DESCRIPTION", "")),
        all_day=all_day,
        categories=_categories(comp),
        extra=_extra(comp),
        busy=busy,
        source=label,
        line=int(str(line_prop)) if line_prop is not None else None,
        calsync_key=str(key) if key is not None else None,
    )


def _categories(comp: icalendar.cal.Component) -> tuple[str, ...]:
    raw = comp.get("CATEGORIES")
    if raw is None:
        return ()
    items = raw if isinstance(raw, list) else [raw]
    out: list[str] = []
    for item in items:
        cats = getattr(item, "cats", None)
        values = cats if cats is not None else str(item).split(",")
        out.extend(str(c).strip() for c in values if str(c).strip())
    return tuple(out)


def _extra(comp: icalendar.cal.Component) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, value in comp.items():
        up = str(name).upper()
        if up == _LINE_PROP or not (up.startswith("X-") or up in _EXTRA):
            continue
        if isinstance(value, list):
            out[up] = ",".join(str(v) for v in value)
        else:
            out[up] = str(value)
    return out
