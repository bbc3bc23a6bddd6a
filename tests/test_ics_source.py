"""Reading ICS: the project's fixtures (each a shape seen in the wild), the real calendars
in shared/calendars, the text pre-filter against the full parse, and HTTP fetching from a
real local server."""

from __future__ import annotations

import contextlib
import gzip
import http.server
import logging
import re
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from calsync.config import Config, SourceSettings
from calsync.errors import SourceError
from calsync.model import Event, Role
from calsync.sources.ics import IcsSource, parse_ics
from calsync.sources.ics_fetch import USER_AGENT, http_url
from calsync.state import StateStore
from tests import real_calendars
from tests.contracts import SourceContract, Spec, ics_calendar
from tests.helpers import serving

HERE = Path(__file__).resolve().parent
FIXTURES = HERE / "calendars"
SHARED = real_calendars.SHARED
BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
YEAR = (datetime(2026, 1, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC))


def reverse_components(data: bytes) -> bytes:
    """The same calendar with its top-level components in reverse order."""
    text = data.decode()
    pat = re.compile(r"BEGIN:(VEVENT|VTIMEZONE)\r*\n.*?END:\1\r*\n", re.S)
    found = list(pat.finditer(text))
    assert found
    first, last = found[0].start(), found[-1].end()
    assert "".join(m.group(0) for m in found) == text[first:last], "components not contiguous"
    return (text[:first] + "".join(m.group(0) for m in reversed(found)) + text[last:]).encode()


def read(
    name: str,
    *,
    zone: ZoneInfo = BERLIN,
    window: tuple[datetime, datetime] = YEAR,
    reverse: bool = False,
) -> list[Event]:
    data = (FIXTURES / name).read_bytes()
    if reverse:
        data = reverse_components(data)
    return parse_ics(data, label=name, zone=zone, window=window)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc,arg-type]


def mid(d: date) -> datetime:
    """Local midnight in Berlin."""
    return datetime.combine(d, datetime.min.time(), BERLIN)


def spans(events: list[Event]) -> list[tuple[str | None, datetime, datetime]]:
    return [(e.uid, e.start.astimezone(UTC), e.end.astimezone(UTC)) for e in events]


both_orders = pytest.mark.parametrize("reverse", [False, True], ids=["as-is", "reversed"])


# --------------------------------------------------------------------------- fixtures


@both_orders
def test_dst_change_week_new_york(reverse: bool) -> None:
    evs = read("dst_change_week_new_york.ics", zone=NEW_YORK, reverse=reverse)
    assert spans(evs) == [
        ("tuesday-easy@dst-test", utc(2026, 10, 20, 10, 30), utc(2026, 10, 20, 11, 15)),
        ("tuesday-easy@dst-test", utc(2026, 10, 27, 10, 30), utc(2026, 10, 27, 11, 15)),
        ("saturday-tempo@dst-test", utc(2026, 10, 31, 12, 0), utc(2026, 10, 31, 13, 0)),
        ("sunday-long@dst-test", utc(2026, 11, 1, 14, 0), utc(2026, 11, 1, 16, 0)),
        # after the change the local time stays 06:30, so UTC moves by an hour
        ("tuesday-easy@dst-test", utc(2026, 11, 3, 11, 30), utc(2026, 11, 3, 12, 15)),
        ("tuesday-easy@dst-test", utc(2026, 11, 10, 11, 30), utc(2026, 11, 10, 12, 15)),
    ]
    assert all(e.start.tzinfo == NEW_YORK for e in evs)
    assert {e.start.hour for e in evs if e.uid == "tuesday-easy@dst-test"} == {6}
    assert not any(e.all_day for e in evs) and all(e.busy for e in evs)


@both_orders
def test_recurrence_id_moved_instance(reverse: bool) -> None:
    evs = read("recurrence_id_moved_instance.ics", reverse=reverse)
    assert [(e.start.astimezone(UTC), e.summary) for e in evs] == [
        (utc(2026, 11, 5, 17, 0), "Tempo 5 x 1 km"),
        (utc(2026, 11, 13, 6, 0), "Tempo 5 x 1 km (moved to Friday morning)"),
        (utc(2026, 11, 19, 17, 0), "Tempo 5 x 1 km"),
    ]
    assert [e.end - e.start for e in evs] == [timedelta(hours=1)] * 3


@both_orders
def test_x_wr_timezone_google_export(reverse: bool) -> None:
    evs = read("x_wr_timezone_google_export.ics", reverse=reverse)
    # The weekly 18:00 Berlin session stays at 18:00 local across the October change,
    # which only X-WR-TIMEZONE tells: the UTC DTSTART alone would keep 16:00 UTC.
    assert spans(evs) == [
        ("intervals@google.com", utc(2026, 10, 20, 16), utc(2026, 10, 20, 17)),
        ("long@google.com", utc(2026, 10, 25, 8), utc(2026, 10, 25, 10)),
        ("intervals@google.com", utc(2026, 10, 27, 17), utc(2026, 10, 27, 18)),
        ("intervals@google.com", utc(2026, 11, 3, 17), utc(2026, 11, 3, 18)),
    ]
    assert [e.start.hour for e in evs if e.uid == "intervals@google.com"] == [18, 18, 18]


@both_orders
def test_floating_times_are_read_in_the_configured_zone(reverse: bool) -> None:
    berlin = read("floating_times.ics", reverse=reverse)
    assert spans(berlin) == [
        ("floating-1@test", utc(2026, 11, 24, 6), utc(2026, 11, 24, 7)),
        ("floating-2@test", utc(2026, 11, 26, 17, 30), utc(2026, 11, 26, 18, 45)),
    ]
    chicago = read("floating_times.ics", zone=ZoneInfo("America/Chicago"), reverse=reverse)
    assert spans(chicago)[0][1:] == (utc(2026, 11, 24, 13), utc(2026, 11, 24, 14))


@both_orders
def test_all_day_plan(reverse: bool) -> None:
    evs = read("all_day_plan.ics", reverse=reverse)
    assert [(e.uid, e.start, e.end, e.all_day, e.busy) for e in evs] == [
        ("mon@allday", mid(date(2026, 11, 23)), mid(date(2026, 11, 24)), True, False),
        ("tue@allday", mid(date(2026, 11, 24)), mid(date(2026, 11, 25)), True, False),
        ("wed@allday", mid(date(2026, 11, 25)), mid(date(2026, 11, 26)), True, False),
        ("camp@allday", mid(date(2026, 11, 27)), mid(date(2026, 11, 29)), True, True),
    ]
    assert all(e.start.tzinfo == BERLIN for e in evs)


@both_orders
def test_broken_event_is_skipped_naming_uid_and_line(
    reverse: bool, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        evs = read("broken_event_skipped.ics", reverse=reverse)
    assert [e.uid for e in evs] == ["good-1@broken", "good-2@broken"]
    text = caplog.text
    assert "bad-date@broken" in text and "no-start@broken" in text
    assert "two-starts@broken" in text and "DTSTART appears more than once" in text
    if not reverse:
        assert "broken_event_skipped.ics:11:" in text  # BEGIN:VEVENT of the bad date
        assert "broken_event_skipped.ics:18:" in text
        assert "broken_event_skipped.ics:30:" in text
        assert [e.line for e in evs] == [4, 23]


def test_not_an_ics_file_names_the_source() -> None:
    with pytest.raises(SourceError) as e:
        read("not_an_ics_file.ics")
    assert "not_an_ics_file.ics: not an iCalendar file" in str(e.value)
    assert "<!DOCTYPE html>" in str(e.value)


def test_empty_calendar_is_an_error_naming_the_source() -> None:
    with pytest.raises(SourceError) as e:
        read("empty_calendar.ics")
    assert "empty_calendar.ics" in str(e.value) and "no events" in str(e.value)


def test_empty_bytes_are_not_a_calendar() -> None:
    with pytest.raises(SourceError, match="x.ics: not an iCalendar file.*empty"):
        parse_ics(b"", label="x.ics", zone=BERLIN, window=YEAR)


@both_orders
def test_duration_instead_of_dtend(reverse: bool) -> None:
    evs = read("duration_instead_of_dtend.ics", reverse=reverse)
    assert spans(evs) == [
        ("dur-timed@test", utc(2026, 11, 25, 17), utc(2026, 11, 25, 18, 30)),
        ("dur-allday@test", utc(2026, 11, 27, 23), utc(2026, 11, 29, 23)),
    ]
    assert evs[1].all_day


@both_orders
def test_rrule_exdate_rdate(reverse: bool) -> None:
    evs = read("rrule_exdate_rdate.ics", reverse=reverse)
    assert [e.start.astimezone(UTC) for e in evs] == [
        utc(2026, 11, 23, 7),
        # 25th excluded by EXDATE
        utc(2026, 11, 27, 7),
        utc(2026, 11, 29, 9),  # RDATE
        utc(2026, 11, 30, 7),
        utc(2026, 12, 2, 7),
        utc(2026, 12, 4, 7),
    ]
    assert all(e.end - e.start == timedelta(minutes=45) for e in evs)


@both_orders
def test_bare_tzids_without_vtimezone(reverse: bool, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        evs = read("bare_iana_tzid_no_vtimezone.ics", zone=NEW_YORK, reverse=reverse)
    assert spans(evs) == [
        ("cest@tzid", utc(2026, 4, 1, 15, 15), utc(2026, 4, 1, 15, 40)),  # CEST = CET in summer
        ("vienna@tzid", utc(2026, 11, 24, 17), utc(2026, 11, 24, 18)),
        ("cet@tzid", utc(2026, 11, 25, 14), utc(2026, 11, 25, 14, 25)),
        ("nowhere@tzid", utc(2026, 11, 26, 13), utc(2026, 11, 26, 14)),  # 08:00 New York
    ]
    assert "Mars/Olympus_Mons" in caplog.text


@both_orders
def test_semicolon_dtstart_defect(reverse: bool) -> None:
    evs = read("semicolon_dtstart_defect.ics", reverse=reverse)
    assert [(e.summary, e.start, e.end, e.all_day, e.uid) for e in evs] == [
        ("Running 00:25:00", mid(date(2026, 11, 24)), mid(date(2026, 11, 25)), True, None),
        ("Strength 00:25:00", mid(date(2026, 11, 26)), mid(date(2026, 11, 27)), True, None),
    ]


def test_utc_times() -> None:
    evs = read("utc_times.ics")
    assert spans(evs) == [("utc-1@test", utc(2026, 11, 24, 17), utc(2026, 11, 24, 18))]
    assert evs[0].start.tzinfo == BERLIN and evs[0].source == "utc_times.ics"
    assert evs[0].line == 4


@both_orders
def test_marker_transparent_cancelled_and_categories(reverse: bool) -> None:
    evs = read("marker_transparent_cancelled_categories.ics", reverse=reverse)
    by_uid = {e.uid: e for e in evs}
    assert sorted(str(u) for u in by_uid) == [
        "free@test",
        "own@calsync",
        "runna@test",
    ]  # cancelled dropped
    assert by_uid["own@calsync"].calsync_key == "2026-11-23/1"
    assert by_uid["free@test"].calsync_key is None
    assert by_uid["free@test"].busy is False and by_uid["own@calsync"].busy is True
    runna = by_uid["runna@test"]
    assert runna.categories == ("Running", "Workout", "Tempo")
    assert runna.summary == "Tempo, 6 km, with strides"
    assert runna.extra["X-WORKOUT-TYPE"] == "TEMPO"
    assert runna.extra["LOCATION"] == "Park, north loop"
    assert "X-CALSYNC-SOURCE-LINE" not in runna.extra


def test_doubled_cr_line_endings_and_folding() -> None:
    evs = read("crlf_doubled_line_endings.ics")
    assert len(evs) == 1
    assert evs[0].summary == "Zwift ride with a long title folded over two lines"
    assert evs[0].description == "TSS: 75"
    assert evs[0].start == datetime(2026, 11, 24, 9, 0, tzinfo=BERLIN)
    assert evs[0].end == datetime(2026, 11, 24, 9, 58, 3, tzinfo=BERLIN)
    assert evs[0].line == 4


def test_window_is_half_open_and_expands_only_inside() -> None:
    evs = read("rrule_exdate_rdate.ics", window=(utc(2026, 11, 27, 7, 45), utc(2026, 11, 30, 7, 0)))
    assert [e.start.astimezone(UTC) for e in evs] == [utc(2026, 11, 29, 9)]
    evs = read("rrule_exdate_rdate.ics", window=(utc(2026, 11, 27, 7, 44), utc(2026, 11, 30, 7)))
    assert [e.start.astimezone(UTC) for e in evs] == [utc(2026, 11, 27, 7), utc(2026, 11, 29, 9)]


def test_stray_text_lines_are_dropped_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    data = (FIXTURES / "utc_times.ics").read_bytes().replace(b"BEGIN:VEVENT", b"...\nBEGIN:VEVENT")
    with caplog.at_level(logging.WARNING):
        evs = parse_ics(data, label="stray.ics", zone=BERLIN, window=YEAR)
    assert len(evs) == 1 and evs[0].line == 5
    assert "stray.ics:4: dropped a line" in caplog.text


def test_a_file_cut_short_is_read_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    data = (FIXTURES / "broken_event_skipped.ics").read_bytes()
    cut = data[: data.index(b"SUMMARY:Long run")]  # inside good-2, no END lines at all
    with caplog.at_level(logging.WARNING):
        evs = parse_ics(cut, label="cut.ics", zone=BERLIN, window=YEAR)
    assert [e.uid for e in evs] == ["good-1@broken", "good-2@broken"]
    assert "cut.ics:23: event UID 'good-2@broken' has no END:VEVENT" in caplog.text


# --------------------------------------------------------------------------- real calendars

# Events a correct reader does not return, per calendar, and why.
DOCUMENTED_SKIPS = {
    # the same UID and DTSTART twice: one event, not two
    "runnerassistant_entrainement.ics": 1,
}
# Warnings a correct reader gives, per calendar.
EXPECTED_WARNINGS = {
    "erichmahringer_plan.ics": ["erichmahringer_plan.ics:23: dropped a line"],
}


@real_calendars.realworld
@pytest.mark.parametrize("path", real_calendars.files(), ids=lambda p: p.name)
def test_every_real_calendar_reads(path: Path, caplog: pytest.LogCaptureFixture) -> None:
    data = path.read_bytes()
    present = len(re.findall(rb"^BEGIN:VEVENT", data, re.M))
    window = (utc(2000, 1, 1), utc(2040, 1, 1))
    with caplog.at_level(logging.WARNING):
        evs = parse_ics(data, label=path.name, zone=BERLIN, window=window)
    assert len(evs) == present - DOCUMENTED_SKIPS.get(path.name, 0)
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    expected = EXPECTED_WARNINGS.get(path.name, [])
    assert len(warnings) == len(expected)
    for got, want in zip(warnings, expected, strict=True):
        assert got.startswith(want)
    for e in evs:
        assert e.start.tzinfo is not None and e.end >= e.start
        assert e.source == path.name and e.line is not None and e.line > 1
        if e.all_day:
            assert e.start.time() == e.end.time() == datetime.min.time()
            assert e.end > e.start
    # The pre-filter gives the same answer as parsing everything, on a narrow window too.
    mid = evs[len(evs) // 2].start
    narrow = (mid - timedelta(days=10), mid + timedelta(days=10))
    fast = parse_ics(data, label=path.name, zone=BERLIN, window=narrow)
    full = parse_ics(data, label=path.name, zone=BERLIN, window=narrow, prefilter_events=False)
    assert fast == full and fast


@real_calendars.realworld
def test_real_calendar_details() -> None:
    """Spot checks of the defects named in shared/calendars/README.md."""

    def one(name: str, **kw: Any) -> list[Event]:
        return parse_ics((SHARED / name).read_bytes(), label=name, zone=BERLIN, window=YEAR, **kw)

    # DTSTART;20210105 (semicolon): all-day on that date
    simple = parse_ics(
        (SHARED / "raxdne_SimplePlan.ics").read_bytes(),
        label="s",
        zone=BERLIN,
        window=(utc(2021, 1, 1), utc(2021, 1, 8)),
    )
    assert [(e.start.date(), e.all_day) for e in simple][0] == (date(2021, 1, 5), True)
    # TZID=CEST with no VTIMEZONE: 14:00 CEST is 12:00 UTC
    season = parse_ics(
        (SHARED / "raxdne_Season2021.ics").read_bytes(),
        label="s",
        zone=NEW_YORK,
        window=(utc(2021, 3, 30), utc(2021, 3, 31)),
    )
    bb = [e for e in season if e.summary.startswith("BB")]
    assert bb and bb[0].start.astimezone(UTC) == utc(2021, 3, 30, 12)
    # X-WR-TIMEZONE:UTC, all-day events
    strava = one("strava_mcp_training_plan.ics")
    assert strava and all(e.all_day for e in strava)
    # \r\r\n line endings with a VTIMEZONE and TZIDs
    liz = one("liz_training_calendar_v2.ics")
    assert liz[0].start.astimezone(NEW_YORK).hour == 7


# --------------------------------------------------------------------------- pre-filter

ZONES = ["Europe/Berlin", "America/New_York", "Pacific/Kiritimati", "Pacific/Pago_Pago", "UTC"]


@st.composite
def calendars(draw: st.DrawFn) -> bytes:
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//test//EN"]
    if draw(st.booleans()):
        lines.append(f"X-WR-TIMEZONE:{draw(st.sampled_from(ZONES))}")
    for i in range(draw(st.integers(1, 12))):
        day = date(2026, 1, 1) + timedelta(days=draw(st.integers(0, 364)))
        hour, minute = draw(st.integers(0, 23)), draw(st.sampled_from([0, 15, 30, 45]))
        stamp = f"{day:%Y%m%d}T{hour:02d}{minute:02d}00"
        uid = draw(st.sampled_from([f"u{i}", f"u{i}", "shared", None]))
        lines += ["BEGIN:VEVENT", f"SUMMARY:event {i}"]
        if uid:
            lines.append(f"UID:{uid}")
        kind = draw(st.sampled_from(["utc", "tzid", "floating", "date", "date-open", "dur"]))
        if kind == "utc":
            lines += [f"DTSTART:{stamp}Z", f"DTEND:{(day + timedelta(days=1)):%Y%m%d}T000000Z"]
        elif kind == "tzid":
            tz = draw(st.sampled_from(ZONES[:-1]))
            if draw(st.booleans()):
                tz = f'"{tz}"'
            lines += [f"DTSTART;TZID={tz}:{stamp}", f"DURATION:PT{draw(st.integers(0, 30))}H"]
        elif kind == "floating":
            lines.append(f"DTSTART:{stamp}")
        elif kind == "date":
            end = day + timedelta(days=draw(st.integers(0, 3)))
            lines += [f"DTSTART;VALUE=DATE:{day:%Y%m%d}", f"DTEND;VALUE=DATE:{end:%Y%m%d}"]
        elif kind == "date-open":
            lines.append(f"DTSTART;VALUE=DATE:{day:%Y%m%d}")
        else:
            dur = draw(st.sampled_from(["P{}DT3H", "PT{}H", "P{}W", "P{}D", "-PT{}H", "PT{}X"]))
            lines += [f"DTSTART:{stamp}Z", "DURATION:" + dur.format(draw(st.integers(0, 30)))]
        if draw(st.integers(0, 5)) == 0:
            lines.append(f"RRULE:FREQ=WEEKLY;COUNT={draw(st.integers(1, 6))}")
        quirk = draw(
            st.sampled_from(["none"] * 6 + ["alarm", "lower", "fold", "semicolon", "twice"])
        )
        if quirk == "alarm":
            lines += ["BEGIN:VALARM", "ACTION:DISPLAY", "TRIGGER:-PT15M", "END:VALARM"]
        elif quirk == "lower":
            lines = [ln.lower() if ln.startswith("DTSTART") else ln for ln in lines]
        elif quirk == "fold":
            lines = [ln[:9] + "\r\n " + ln[9:] if ln.startswith("DT") else ln for ln in lines]
        elif quirk == "semicolon" and kind == "date-open":
            at = lines.index(f"DTSTART;VALUE=DATE:{day:%Y%m%d}")
            lines[at] = f"DTSTART;{day:%Y%m%d}"
        elif quirk == "twice":
            lines.append(f"DTSTART:{stamp}")
        if uid and draw(st.integers(0, 8)) == 0:
            lines.append(f"RECURRENCE-ID:{stamp}Z")
        lines.append("END:VEVENT")
    lines.append("END:VCALENDAR")
    return "\r\n".join(lines).encode()


@pytest.mark.slow
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=calendars(),
    start=st.integers(-10, 370),
    days=st.integers(0, 40),
    hours=st.integers(0, 23),
    zone=st.sampled_from(ZONES),
)
def test_prefilter_yields_exactly_the_full_parse(
    data: bytes, start: int, days: int, hours: int, zone: str
) -> None:
    w0 = utc(2026, 1, 1) + timedelta(days=start, hours=hours)
    window = (w0, w0 + timedelta(days=days, hours=hours))
    z = ZoneInfo(zone)
    logging.disable(logging.WARNING)
    try:
        fast = parse_ics(data, label="h", zone=z, window=window)
        full = parse_ics(data, label="h", zone=z, window=window, prefilter_events=False)
    finally:
        logging.disable(logging.NOTSET)
    assert fast == full


# --------------------------------------------------------------------------- sources


def _config(tmp_path: Path) -> Config:
    return Config(path=None, state_path=tmp_path / "state.sqlite3")


def test_source_reads_a_path_and_a_file_url(tmp_path: Path) -> None:
    cfg = _config(tmp_path)
    path = FIXTURES / "utc_times.ics"
    for url in (str(path), path.as_uri()):
        src = IcsSource(SourceSettings(type="ics", url=url, role=Role.BUSY), cfg)
        assert src.role is Role.BUSY and src.label == url
        assert [e.uid for e in src.read(YEAR)] == ["utc-1@test"]


def test_missing_file_names_the_path(tmp_path: Path) -> None:
    src = IcsSource(
        SourceSettings(type="ics", url=str(tmp_path / "nope.ics"), name="plan"), _config(tmp_path)
    )
    with pytest.raises(SourceError, match=r"^plan \(/.*nope\.ics\): file not found$"):
        src.read(YEAR)


def test_file_over_the_size_cap(tmp_path: Path) -> None:
    path = FIXTURES / "dst_change_week_new_york.ics"
    src = IcsSource(SourceSettings(type="ics", url=str(path), max_bytes=100), _config(tmp_path))
    with pytest.raises(SourceError, match="more than max_bytes"):
        src.read(YEAR)


def test_webcal_is_https() -> None:
    assert http_url("webcal://example.com/a.ics?x=1") == "https://example.com/a.ics?x=1"
    assert http_url("WEBCAL://example.com/a.ics") == "https://example.com/a.ics"
    assert http_url("http://example.com/a.ics") == "http://example.com/a.ics"
    assert http_url("/home/me/a.ics") is None
    assert http_url("file:///home/me/a.ics") is None


CAL = (FIXTURES / "utc_times.ics").read_bytes()


class _Handler(http.server.BaseHTTPRequestHandler):
    seen: ClassVar[list[tuple[str, dict[str, str]]]] = []

    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802 - the http.server API
        type(self).seen.append((self.path, dict(self.headers.items())))
        p = self.path
        if p == "/cal.ics":
            if self.headers.get("If-None-Match") == '"v1"':
                self.send_response(304)
                self.end_headers()
                return
            self._send(CAL, etag='"v1"', last_modified="Tue, 24 Nov 2026 10:00:00 GMT")
        elif p == "/lm.ics":
            if self.headers.get("If-Modified-Since") == "Tue, 24 Nov 2026 10:00:00 GMT":
                self.send_response(304)
                self.end_headers()
                return
            self._send(CAL, last_modified="Tue, 24 Nov 2026 10:00:00 GMT")
        elif p == "/gz.ics":
            self._send(gzip.compress(CAL), encoding="gzip")
        elif p == "/bomb.ics":
            self._send(gzip.compress(b"X" * 2_000_000), encoding="gzip")
        elif p == "/big.ics":
            self._send(CAL + b" " * 5000)
        elif p == "/big-unannounced.ics":
            self.send_response(200)
            self.end_headers()  # no Content-Length: the body ends when the connection closes
            self.wfile.write(CAL + b"X" * 5000)
            self.close_connection = True
        elif p == "/slow.ics":
            time.sleep(2.5)
            self._send(CAL)
        elif p == "/html":
            self._send(b"<html><body>Login</body></html>", ctype="text/html")
        elif p == "/garbage":
            self.wfile.write(b"this is not HTTP\r\n\r\n")
            self.close_connection = True
        elif p == "/500":
            self.send_error(500, "Internal Server Error")
        else:
            self.send_error(404, "Not Found")

    def _send(
        self,
        body: bytes,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
        encoding: str | None = None,
        ctype: str = "text/calendar",
    ) -> None:
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        if etag:
            self.send_header("ETag", etag)
        if last_modified:
            self.send_header("Last-Modified", last_modified)
        if encoding:
            self.send_header("Content-Encoding", encoding)
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture()
def server() -> Iterator[str]:
    _Handler.seen = []
    with serving(_Handler) as url:
        yield url


def _src(url: str, tmp_path: Path, **kw: Any) -> IcsSource:
    return IcsSource(SourceSettings(type="ics", url=url, **kw), _config(tmp_path))


def test_http_200_then_304_revalidation(server: str, tmp_path: Path) -> None:
    store = StateStore(tmp_path / "state.sqlite3")
    src = _src(f"{server}/cal.ics", tmp_path)
    with store.writer() as tx:
        first = src.read(YEAR, tx)
    assert [e.uid for e in first] == ["utc-1@test"]
    path, headers = _Handler.seen[-1]
    assert headers["User-Agent"] == USER_AGENT and USER_AGENT.startswith("calsync/")
    assert headers["Accept-Encoding"] == "gzip"
    assert "If-None-Match" not in headers
    with store.reader() as v:
        cached = v.source_cache(f"{server}/cal.ics")
    assert cached is not None and cached.etag == '"v1"' and cached.body == CAL
    with store.writer() as tx:
        again = src.read(YEAR, tx)
    assert again == first
    assert _Handler.seen[-1][1]["If-None-Match"] == '"v1"'
    assert _Handler.seen[-1][1]["If-Modified-Since"] == "Tue, 24 Nov 2026 10:00:00 GMT"
    assert len(_Handler.seen) == 2


def test_http_last_modified_revalidation(server: str, tmp_path: Path) -> None:
    store = StateStore(tmp_path / "state.sqlite3")
    src = _src(f"{server}/lm.ics", tmp_path)
    with store.writer() as tx:
        first = src.read(YEAR, tx)
    with store.writer() as tx:
        assert src.read(YEAR, tx) == first
    assert "If-None-Match" not in _Handler.seen[-1][1]
    assert _Handler.seen[-1][1]["If-Modified-Since"] == "Tue, 24 Nov 2026 10:00:00 GMT"


def test_http_without_state_makes_plain_requests(server: str, tmp_path: Path) -> None:
    src = _src(f"{server}/cal.ics", tmp_path)
    assert len(src.read(YEAR)) == 1 and len(src.read(YEAR)) == 1
    assert all("If-None-Match" not in h for _, h in _Handler.seen)


def test_http_gzip(server: str, tmp_path: Path) -> None:
    assert [e.uid for e in _src(f"{server}/gz.ics", tmp_path).read(YEAR)] == ["utc-1@test"]


@pytest.mark.parametrize("path", ["/big.ics", "/big-unannounced.ics", "/bomb.ics"])
def test_http_too_big(server: str, tmp_path: Path, path: str) -> None:
    src = _src(f"{server}{path}", tmp_path, max_bytes=2048)
    with pytest.raises(SourceError, match=r"larger than max_bytes \(2048 bytes\)") as e:
        src.read(YEAR)
    assert path in str(e.value)


@pytest.mark.parametrize(("path", "code"), [("/missing.ics", 404), ("/500", 500)])
def test_http_errors_name_the_url(server: str, tmp_path: Path, path: str, code: int) -> None:
    src = _src(f"{server}{path}", tmp_path, name="coach")
    with pytest.raises(
        SourceError, match=rf"^coach \(http://127\.0\.0\.1:\d+{path}\) answered HTTP {code}"
    ):
        src.read(YEAR)


def test_http_timeout(server: str, tmp_path: Path) -> None:
    src = _src(f"{server}/slow.ics", tmp_path, timeout_seconds=0.5)
    # The message names the timeout that fired (the slow answer would have come later).
    with pytest.raises(SourceError, match=r"slow\.ics did not answer within 0\.5 s"):
        src.read(YEAR)


def test_http_not_ics(server: str, tmp_path: Path) -> None:
    src = _src(f"{server}/html", tmp_path)
    with pytest.raises(SourceError, match=r"/html: not an iCalendar file.*<html>"):
        src.read(YEAR)


def test_unreachable_host_names_the_url(tmp_path: Path) -> None:
    src = _src("http://127.0.0.1:9/cal.ics", tmp_path, timeout_seconds=2)
    with pytest.raises(
        SourceError, match=r"^http://127\.0\.0\.1:9/cal\.ics: cannot reach the server"
    ):
        src.read(YEAR)


def test_http_garbage_answer_names_the_url(server: str, tmp_path: Path) -> None:
    src = _src(f"{server}/garbage", tmp_path)
    with pytest.raises(SourceError, match=r"/garbage: cannot read: .*BadStatusLine"):
        src.read(YEAR)


def test_unusable_url_is_a_source_error(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match=r"^http://\[bad/cal\.ics: not a usable URL"):
        _src("http://[bad/cal.ics", tmp_path).read(YEAR)
    with pytest.raises(SourceError, match=r"^http://: cannot reach the server"):
        _src("http://", tmp_path).read(YEAR)
    with pytest.raises(SourceError, match=r"unsupported URL scheme 'ftp://'"):
        _src("ftp://example.com/cal.ics", tmp_path).read(YEAR)


ICS_LINES = st.sampled_from(
    [
        "BEGIN:VEVENT",
        "END:VEVENT",
        "BEGIN:VALARM",
        "END:VALARM",
        "BEGIN:VTIMEZONE",
        "END:VTIMEZONE",
        "BEGIN:STANDARD",
        "END:STANDARD",
        "TZID:Custom",
        "TZOFFSETFROM:+0100",
        "TZOFFSETTO:+0200",
        "UID:x",
        "UID:y",
        "DTSTART:20261124T070000Z",
        "DTSTART;TZID=Custom:20261124T070000",
        "DTSTART;VALUE=DATE:20261124",
        "DTSTART;20261125",
        "DTSTART:2026",
        "DTSTART:20261124T250000",
        "DTEND:20261124T080000Z",
        "DTEND;VALUE=DATE:20261120",
        "DURATION:PT1H",
        "DURATION:P-1D",
        "DURATION:nonsense",
        "RRULE:FREQ=DAILY;COUNT=3",
        "RRULE:FREQ=WEEKLY;UNTIL=20261201",
        "RRULE:FREQ=SOMETIMES",
        "RDATE:20261126T070000Z",
        "RDATE;VALUE=PERIOD:20261126T070000Z/PT1H",
        "EXDATE:20261125T070000Z",
        "RECURRENCE-ID:20261125T070000Z",
        "RECURRENCE-ID;VALUE=DATE:20261125",
        "SUMMARY:Tempo, 5 km",
        "DESCRIPTION:line\\nnext",
        "CATEGORIES:Run,,Hard",
        "TRANSP:TRANSPARENT",
        "STATUS:CANCELLED",
        "X-WR-TIMEZONE:Nowhere/Else",
        "X-WR-TIMEZONE:UTC",
        "X-CALSYNC-KEY:k",
        " folded continuation",
        "...",
        "",
        "END:VCALENDAR",
        "BEGIN:VCALENDAR",
    ]
)


@pytest.mark.slow
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.one_of(
            ICS_LINES.map(lambda ln: [ln]),
            st.lists(ICS_LINES, max_size=8).map(lambda b: ["BEGIN:VEVENT", *b, "END:VEVENT"]),
        ),
        max_size=12,
    )
)
def test_any_mess_gives_events_or_a_source_error(parts: list[list[str]]) -> None:
    """Whatever the lines, parse_ics returns sane events or raises SourceError."""
    lines = [ln for part in parts for ln in part]
    data = "\r\n".join(["BEGIN:VCALENDAR", *lines]).encode()
    logging.disable(logging.WARNING)
    results: list[list[Event] | str] = []
    try:
        for pre in (True, False):
            try:
                evs = parse_ics(data, label="m", zone=BERLIN, window=YEAR, prefilter_events=pre)
            except SourceError as e:
                assert str(e).startswith("m: ")
                results.append(str(e))
                continue
            for ev in evs:
                assert ev.start.tzinfo is not None and ev.end >= ev.start
                assert ev.start < YEAR[1] and ev.end >= YEAR[0]
            results.append(evs)
    finally:
        logging.disable(logging.NOTSET)
    assert results[0] == results[1]  # the pre-filter changes nothing here either


# --------------------------------------------------------------------------- the contract


class IcsFileBackend:
    """An ICS file the runner's app exports, read by path."""

    def __init__(self, tmp_path: Path) -> None:
        self.path = tmp_path / "plan.ics"
        self.config = _config(tmp_path)
        self.store = StateStore(self.config.state_path)

    def put(self, specs: Sequence[Spec]) -> None:
        self.path.write_text(ics_calendar(specs), newline="")

    def make_source(self) -> IcsSource:
        return IcsSource(SourceSettings(type="ics", url=str(self.path)), self.config)

    def fingerprint(self) -> Any:
        return self.path.read_bytes(), self.path.stat().st_mtime_ns

    @contextlib.contextmanager
    def broken(self) -> Iterator[None]:
        aside = self.path.with_name("aside.ics")
        self.path.rename(aside)
        try:
            yield
        finally:
            aside.rename(self.path)


class TestIcsSourceContract(SourceContract):
    @pytest.fixture
    def source_backend(self, tmp_path: Path) -> IcsFileBackend:  # type: ignore[override]
        return IcsFileBackend(tmp_path)
