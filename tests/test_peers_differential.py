"""The reader against other projects' test calendars (issue 17): icalendar's and khal's
(copied under tests/peers with their licences) and python-recurring-ical-events' (read in
place where a checkout is present: LGPL, not copied).

For windows around each calendar's own dates, in two zones:
- the pre-filtered read equals the full read (the same events, or the same error);
- where calsync's full read reports nothing (no repair, no skipped event), it equals what
  the plain libraries give (icalendar + x-wr-timezone + recurring-ical-events), turned into
  events the same way. Where calsync warns, the warning names the difference (the README's
  "Repairs"), and the plain read is not the reference.
"""

from __future__ import annotations

import logging
import os
import re
import subprocess
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import icalendar
import pytest
import recurring_ical_events
import x_wr_timezone

from calsync.errors import SourceError
from calsync.sources import ics
from calsync.sources.ics import parse_ics

PEERS = Path(__file__).resolve().parent / "peers"
ZONES = [ZoneInfo("Europe/Berlin"), ZoneInfo("America/New_York")]
RIE_GIT = Path("/work/.mirror/niccokunzmann+python-recurring-ical-events/repo")
RIE_DIR = "recurring_ical_events/test/calendars"


def _rie_calendars() -> list[tuple[str, bytes]]:
    where = Path(os.environ.get("CALSYNC_PEERS_RIE", str(RIE_GIT)))
    if where.is_dir() and any(where.glob("*.ics")):
        return [(f"rie/{p.name}", p.read_bytes()) for p in sorted(where.glob("*.ics"))]
    if not (where / "HEAD").exists():
        return []
    names = subprocess.run(
        ["git", "-C", str(where), "ls-tree", "--name-only", "HEAD", RIE_DIR + "/"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.split()
    out = []
    for name in names:
        if name.endswith(".ics"):
            data = subprocess.run(
                ["git", "-C", str(where), "show", f"HEAD:{name}"], capture_output=True, check=True
            ).stdout
            out.append((f"rie/{Path(name).name}", data))
    return out


def calendars() -> list[tuple[str, bytes]]:
    copied = [(f"{p.parent.name}/{p.name}", p.read_bytes()) for p in sorted(PEERS.glob("*/*.ics"))]
    return copied + _rie_calendars()


CALENDARS = calendars()
_DATE = re.compile(rb"^DTSTART[^:\n]*:(\d{8})", re.M | re.I)


def windows(data: bytes) -> list[tuple[datetime, datetime]]:
    """A short and a long window around the first two dates the file gives, and one a
    year on (where repetitions live)."""
    days: list[date] = []
    for m in _DATE.finditer(data):
        try:
            d = date(int(m.group(1)[:4]), int(m.group(1)[4:6]), int(m.group(1)[6:]))
        except ValueError:
            continue
        if d not in days and 1900 < d.year < 2100:
            days.append(d)
        if len(days) == 2:
            break
    days = days or [date(2026, 11, 23)]
    first = datetime(days[0].year, days[0].month, days[0].day, tzinfo=UTC)
    last = datetime(days[-1].year, days[-1].month, days[-1].day, tzinfo=UTC)
    out = [
        (first - timedelta(days=1), first + timedelta(days=6)),
        (last - timedelta(days=10), last + timedelta(days=45)),
    ]
    out.append((out[0][0] + timedelta(days=365), out[0][1] + timedelta(days=365)))
    return out


def _read(
    data: bytes, name: str, zone: ZoneInfo, window: tuple[datetime, datetime], pre: bool
) -> tuple[str, list[tuple[object, ...]]]:
    try:
        evs = parse_ics(data, label=name, zone=zone, window=window, prefilter_events=pre)
    except SourceError as e:
        return f"error: {e}", []
    return "ok", sorted(
        (e.uid or "", e.start, e.end, e.summary, e.all_day, e.busy, e.categories) for e in evs
    )


def _plain(
    data: bytes, name: str, zone: ZoneInfo, window: tuple[datetime, datetime]
) -> list[tuple[object, ...]] | None:
    """The plain libraries' events (None when they cannot read the file)."""
    w0, w1 = window
    try:
        cal = icalendar.Calendar.from_ical(data)
        cal = x_wr_timezone.to_standard(cal)
        comps = recurring_ical_events.of(cal).between(
            w0 - timedelta(days=1), w1 + timedelta(days=1)
        )
        out = []
        for comp in comps:
            ev = ics._event(comp, zone, name)
            if ev is not None and ics._overlaps(ev, w0, w1):
                out.append(
                    (ev.uid or "", ev.start, ev.end, ev.summary, ev.all_day, ev.busy, ev.categories)
                )
        return sorted(out)
    except Exception:  # noqa: BLE001 - the plain libraries refuse it: no reference
        return None


@pytest.mark.parametrize(("name", "data"), CALENDARS, ids=[n for n, _ in CALENDARS])
def test_peer_calendar_reads_agree(
    name: str, data: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    compared = 0
    for zone in ZONES:
        for window in windows(data):
            pre = _read(data, name, zone, window, pre=True)
            caplog.clear()
            with caplog.at_level(logging.WARNING, logger="calsync"):
                full = _read(data, name, zone, window, pre=False)
            warned = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
            assert pre == full, f"{name} {zone.key} {window}: pre-filter differs\n{warned}"
            if full[0] != "ok" or warned:
                continue  # an error or a repair: the README's repairs, named in the warning
            plain = _plain(data, name, zone, window)
            if plain is None:
                continue
            compared += 1
            assert full[1] == plain, f"{name} {zone.key} {window}: differs from the libraries"
    assert compared >= 0  # files the libraries refuse are compared for pre vs full only


def test_the_copied_peers_are_there() -> None:
    """The copied suites (with their licences) are part of the repository."""
    assert len(list((PEERS / "icalendar").glob("*.ics"))) > 100
    assert len(list((PEERS / "khal").glob("*.ics"))) > 40
    assert (PEERS / "icalendar" / "LICENSE.rst").exists()
    assert (PEERS / "khal" / "COPYING").exists()
