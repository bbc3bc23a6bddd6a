"""CaldavSource against a real Radicale server (tests/fakes/radicale_server.py).

The calendars are filled with the caldav client over HTTP, the source reads them over
HTTP: server-side time-range query, local RRULE/EXDATE/RECURRENCE-ID expansion by
parse_ics. Failures are real too: a wrong password answered 401 by Radicale, a stopped
server's closed port, a port that accepts and never answers.
"""

from __future__ import annotations

import base64
import contextlib
import http.server
import json
import logging
import os
import re
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
import pytest
from caldav.davclient import DAVClient

from calsync.config import Config, parse_config
from calsync.errors import SourceError
from calsync.sources.caldav import CaldavSource
from calsync.state import StateStore
from tests.contracts import SourceContract, Spec, ics_calendar
from tests.fakes.radicale_server import (
    RadicaleServer,
    black_hole,
    running_radicale,
    start_radicale,
)
from tests.helpers import run_cli

BERLIN = ZoneInfo("Europe/Berlin")
ALICE_PW = "c0rrect h0rse:battery"  # a space and a colon, as real passwords have
BOB_PW = "b0b-s3cret"
CAROL_PW = "carol's pw"
WINDOW = (datetime(2026, 12, 7, tzinfo=BERLIN), datetime(2026, 12, 28, tzinfo=BERLIN))

VTIMEZONE = """\
BEGIN:VTIMEZONE
TZID:Europe/Berlin
BEGIN:STANDARD
DTSTART:19701025T030000
RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU
TZOFFSETFROM:+0200
TZOFFSETTO:+0100
TZNAME:CET
END:STANDARD
BEGIN:DAYLIGHT
DTSTART:19700329T020000
RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU
TZOFFSETFROM:+0100
TZOFFSETTO:+0200
TZNAME:CEST
END:DAYLIGHT
END:VTIMEZONE
"""


def vcal(body: str, tz: bool = False) -> str:
    return (
        "BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//calsync tests//EN\n"
        + (VTIMEZONE if tz else "")
        + body
        + "END:VCALENDAR\n"
    )


def vevent(uid: str, summary: str, *lines: str) -> str:
    props = "\n".join(lines)
    head = f"BEGIN:VEVENT\nUID:{uid}\nDTSTAMP:20261101T000000Z\nSUMMARY:{summary}\n"
    return f"{head}{props}\nEND:VEVENT\n"


TRAINING = {
    "tempo": vcal(
        vevent(
            "tempo-1",
            "Tempo run 10 km with 3x2 km at threshold",
            "DTSTART;TZID=Europe/Berlin:20261208T070000",
            "DTEND;TZID=Europe/Berlin:20261208T080000",
        ),
        tz=True,
    ),
    "easy-utc": vcal(
        vevent("easy-1", "Easy run 45 min", "DTSTART:20261210T163000Z", "DTEND:20261210T171500Z")
    ),
    "long-allday": vcal(
        vevent(
            "long-1", "Long run 28 km", "DTSTART;VALUE=DATE:20261213", "DTEND;VALUE=DATE:20261214"
        )
    ),
    "race-allday": vcal(
        vevent(
            "race-1",
            "Race: City half marathon",
            "DTSTART;VALUE=DATE:20261227",
            "DTEND;VALUE=DATE:20261228",
        )
    ),
    # Weekly from 24 Nov (before the window): 8 Dec excluded, 15 Dec moved to 16 Dec 19:00.
    "intervals-weekly": vcal(
        vevent(
            "intervals-1",
            "Intervals 6x800 m",
            "DTSTART;TZID=Europe/Berlin:20261124T180000",
            "DTEND;TZID=Europe/Berlin:20261124T190000",
            "RRULE:FREQ=WEEKLY;COUNT=8",
            "EXDATE;TZID=Europe/Berlin:20261208T180000",
        )
        + vevent(
            "intervals-1",
            "Intervals 5x1000 m (moved)",
            "RECURRENCE-ID;TZID=Europe/Berlin:20261215T180000",
            "DTSTART;TZID=Europe/Berlin:20261216T190000",
            "DTEND;TZID=Europe/Berlin:20261216T200000",
        ),
        tz=True,
    ),
    "meeting": vcal(
        vevent(
            "meeting-1",
            "Team meeting",
            "DTSTART;TZID=Europe/Berlin:20261209T090000",
            "DTEND;TZID=Europe/Berlin:20261209T100000",
            "ORGANIZER;CN=Boss:mailto:boss@example.com",
            "ATTENDEE;CN=Alice;PARTSTAT=ACCEPTED:mailto:alice@example.com",
        ),
        tz=True,
    ),
    "ours": vcal(
        vevent(
            "calsync-2026-12-07-1",
            "Strength A",
            "DTSTART:20261211T180000Z",
            "DTEND:20261211T184500Z",
            "X-CALSYNC-KEY:2026-12-07/1",
        )
    ),
    "after-window": vcal(
        vevent("late-1", "Easy run 40 min", "DTSTART:20270115T070000Z", "DTEND:20270115T074000Z")
    ),
    "before-window": vcal(
        vevent("early-1", "Hill repeats", "DTSTART:20261130T170000Z", "DTEND:20261130T180000Z")
    ),
}
TODO = vcal(
    "BEGIN:VTODO\nUID:todo-1\nDTSTAMP:20261101T000000Z\nSUMMARY:Buy shoes\n"
    "DUE:20261212T120000Z\nEND:VTODO\n"
)


def b(y: int, mo: int, d: int, h: int = 0, mi: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=BERLIN)


EXPECTED = [
    (b(2026, 12, 8, 7), b(2026, 12, 8, 8), "Tempo run 10 km with 3x2 km at threshold", False),
    (b(2026, 12, 9, 9), b(2026, 12, 9, 10), "Team meeting", False),
    (b(2026, 12, 10, 17, 30), b(2026, 12, 10, 18, 15), "Easy run 45 min", False),
    (b(2026, 12, 11, 19), b(2026, 12, 11, 19, 45), "Strength A", False),
    (b(2026, 12, 13), b(2026, 12, 14), "Long run 28 km", True),
    (b(2026, 12, 16, 19), b(2026, 12, 16, 20), "Intervals 5x1000 m (moved)", False),
    (b(2026, 12, 22, 18), b(2026, 12, 22, 19), "Intervals 6x800 m", False),
    (b(2026, 12, 27), b(2026, 12, 28), "Race: City half marathon", True),
]


@dataclass
class World:
    server: RadicaleServer
    folder: Path
    training_url: str
    work_url: str
    hrefs: dict[str, str]  # TRAINING key -> object URL


def _client(server: RadicaleServer, user: str) -> Any:
    return DAVClient(server.url, username=user, password=server.users[user], timeout=10)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    folder = tmp_path_factory.mktemp("radicale")
    with running_radicale(
        folder / "server",
        {"alice": ALICE_PW, "bob": BOB_PW, "carol": CAROL_PW, "dave": "dave-pw", "erin": "erin-pw"},
    ) as server:
        with _client(server, "alice") as c:
            principal = c.get_principal()
            training = principal.make_calendar(name="Training")
            work = principal.make_calendar(name="Work")
            hrefs = {}
            for key, text in TRAINING.items():
                obj = training.add_event(text, increase_seqno=False)
                hrefs[key] = str(obj.url)
            training.add_todo(TODO)
            work.add_event(
                vcal(
                    vevent(
                        "standup-1", "Standup", "DTSTART:20261209T070000Z", "DTEND:20261209T071500Z"
                    )
                )
            )
        with _client(server, "bob") as c:
            runs = c.get_principal().make_calendar(name="Runs")
            runs.add_event(
                vcal(
                    vevent(
                        "bob-1",
                        "Easy run 5 km",
                        "DTSTART:20261214T060000Z",
                        "DTEND:20261214T063000Z",
                    )
                )
            )
        yield World(server, folder, str(training.url), str(work.url), hrefs)


def password_file(folder: Path, name: str, password: str, mode: int = 0o600) -> Path:
    path = folder / name
    path.write_text(password + "\n")
    os.chmod(path, mode)
    return path


def make_source(
    world: World | None,
    tmp_path: Path,
    *,
    url: str | None = None,
    user: str = "alice",
    password: str = ALICE_PW,
    mode: int = 0o600,
    **source: Any,
) -> CaldavSource:
    pw = password_file(tmp_path, f"{user}.pw", password, mode)
    table: dict[str, Any] = {
        "type": "caldav",
        "url": url if url is not None else (world.server.url if world else "http://127.0.0.1:1/"),
        "username": user,
        "password_file": str(pw),
    } | source
    config: Config = parse_config({"schedule": {"timezone": "Europe/Berlin"}, "source": [table]})
    return CaldavSource(config.sources[0], config)


def seen(events: list[Any]) -> list[tuple[datetime, datetime, str, bool]]:
    return [(e.start, e.end, e.summary, e.all_day) for e in events]


# --------------------------------------------------------------------------- reading


def test_reads_exactly_the_window_with_local_recurrence_expansion(
    world: World, tmp_path: Path
) -> None:
    src = make_source(world, tmp_path, calendar="Training", name="my training")
    events = src.read(WINDOW)
    assert seen(events) == EXPECTED
    label = f"my training ({world.server.url} calendar 'Training')"
    assert src.label == label
    assert {e.source for e in events} == {label}
    ours = [e for e in events if e.calsync_key is not None]
    assert [(e.summary, e.calsync_key) for e in ours] == [("Strength A", "2026-12-07/1")]
    assert {e.uid for e in events if e.summary.startswith("Intervals")} == {"intervals-1"}


def test_server_side_time_range_query_leaves_far_objects_on_the_server(
    world: World, tmp_path: Path
) -> None:
    src = make_source(world, tmp_path, calendar="Training")
    fetched = {o.href for o in src.fetch(WINDOW)}
    # The weekly series starts before the window: the server must still send it.
    assert world.hrefs["intervals-weekly"] in fetched
    assert world.hrefs["after-window"] not in fetched
    assert world.hrefs["before-window"] not in fetched
    assert not any("todo" in h for h in fetched)  # only VEVENTs were asked for


def test_narrow_window_cuts_occurrences(world: World, tmp_path: Path) -> None:
    src = make_source(world, tmp_path, calendar="Training")
    events = src.read((b(2026, 12, 15), b(2026, 12, 17)))
    # 15 Dec's occurrence was moved to the 16th; nothing else falls in these two days.
    assert seen(events) == [
        (b(2026, 12, 16, 19), b(2026, 12, 16, 20), "Intervals 5x1000 m (moved)", False)
    ]


def test_calendar_by_name_ignores_case_and_reads_only_that_calendar(
    world: World, tmp_path: Path
) -> None:
    src = make_source(world, tmp_path, calendar="work")
    assert seen(src.read(WINDOW)) == [(b(2026, 12, 9, 8), b(2026, 12, 9, 8, 15), "Standup", False)]


def test_calendar_by_url_and_server_url_that_is_a_calendar(world: World, tmp_path: Path) -> None:
    by_calendar_key = make_source(world, tmp_path, calendar=world.training_url)
    assert seen(by_calendar_key.read(WINDOW)) == EXPECTED
    # A path relative to the server URL works too.
    path = "/" + world.training_url.split("/", 3)[3]
    assert seen(make_source(world, tmp_path, calendar=path).read(WINDOW)) == EXPECTED
    # url = the calendar itself, no calendar key: that calendar, not "which of two?".
    by_url = make_source(world, tmp_path, url=world.work_url)
    assert [e.summary for e in by_url.read(WINDOW)] == ["Standup"]


def test_only_calendar_of_the_principal_is_used_without_a_name(
    world: World, tmp_path: Path
) -> None:
    src = make_source(world, tmp_path, user="bob", password=BOB_PW)
    assert seen(src.read(WINDOW)) == [
        (b(2026, 12, 14, 7), b(2026, 12, 14, 7, 30), "Easy run 5 km", False)
    ]


def test_several_calendars_without_a_name_lists_them(world: World, tmp_path: Path) -> None:
    src = make_source(world, tmp_path)
    with pytest.raises(SourceError) as err:
        src.read(WINDOW)
    msg = str(err.value)
    assert "'Training', 'Work'" in msg
    assert "calendar =" in msg


def test_unknown_calendar_name_lists_the_available_names(world: World, tmp_path: Path) -> None:
    src = make_source(world, tmp_path, calendar="Trainig")
    with pytest.raises(SourceError) as err:
        src.read(WINDOW)
    msg = str(err.value)
    assert "'Trainig'" in msg
    assert "available: 'Training', 'Work'" in msg
    assert "alice" in msg


def test_calendar_by_its_id_in_the_url(world: World, tmp_path: Path) -> None:
    cal_id = world.training_url.rstrip("/").rsplit("/", 1)[1]
    assert seen(make_source(world, tmp_path, calendar=cal_id).read(WINDOW)) == EXPECTED


def test_two_calendars_with_the_same_name_are_not_guessed(world: World, tmp_path: Path) -> None:
    with _client(world.server, "dave") as c:
        principal = c.get_principal()
        if not principal.get_calendars():
            principal.make_calendar(name="Runs")
            principal.make_calendar(name="Runs")
    src = make_source(world, tmp_path, user="dave", password="dave-pw", calendar="Runs")
    with pytest.raises(SourceError) as err:
        src.read(WINDOW)
    assert "2 calendars of user 'dave'" in str(err.value)
    assert "named 'Runs'" in str(err.value)
    assert "URL" in str(err.value)  # the hint: name it by URL instead


def test_user_without_calendars(world: World, tmp_path: Path) -> None:
    src = make_source(world, tmp_path, user="erin", password="erin-pw")
    with pytest.raises(SourceError, match="user 'erin' has no calendars"):
        src.read(WINDOW)


def test_missing_calendar_url_is_a_404_source_error(world: World, tmp_path: Path) -> None:
    src = make_source(world, tmp_path, calendar=world.server.url + "alice/no-such-calendar/")
    with pytest.raises(SourceError) as err:
        src.read(WINDOW)
    assert "404" in str(err.value)
    assert "no-such-calendar" in str(err.value)


# --------------------------------------------------------------------------- failures


def test_wrong_password_names_user_and_url_but_never_the_password(
    world: World, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    wrong = "not-the-password-XYZ"
    src = make_source(world, tmp_path, calendar="Training", password=wrong)
    caplog.set_level(logging.DEBUG)
    with pytest.raises(SourceError) as err:
        src.read(WINDOW)
    msg = str(err.value)
    assert "refused the login for user 'alice'" in msg
    assert world.server.url in msg
    basic = base64.b64encode(f"alice:{wrong}".encode()).decode()
    for secret in (wrong, basic, ALICE_PW):
        assert secret not in msg
        assert secret not in caplog.text
    assert err.value.__suppress_context__  # no library traceback under the message


def test_another_users_calendar_is_a_403_naming_it(world: World, tmp_path: Path) -> None:
    with _client(world.server, "bob") as c:
        bobs = str(c.get_principal().get_calendars()[0].url)
    src = make_source(world, tmp_path, calendar=bobs)
    with pytest.raises(SourceError) as err:
        src.read(WINDOW)
    assert f"denied user 'alice' access to {bobs} (403)" in str(err.value)


def test_anonymous_access_to_a_server_that_wants_a_login(world: World) -> None:
    config = parse_config({"source": [{"type": "caldav", "url": world.server.url}]})
    with pytest.raises(SourceError) as err:
        CaldavSource(config.sources[0], config).read(WINDOW)
    assert str(err.value).startswith(f"{world.server.url}: CalDAV server asks for a login")
    assert "password_file" in str(err.value)


def test_wrong_password_is_not_retried(world: World, tmp_path: Path) -> None:
    src = make_source(world, tmp_path, calendar="Training", password="wrong")
    logs_before = world.server.log().count("Failed login attempt")
    with pytest.raises(SourceError):
        src.read(WINDOW)
    # Radicale logs each refused login once; a retry would be a second attempt.
    assert world.server.log().count("Failed login attempt") - logs_before == 1


def test_stopped_server_fails_fast_with_connection_refused(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    server = start_radicale(tmp_path / "gone", {"alice": ALICE_PW})
    url = server.url
    server.stop()
    src = make_source(None, tmp_path, url=url, timeout_seconds=2)
    started = time.monotonic()
    with pytest.raises(SourceError) as err:
        src.read(WINDOW)
    elapsed = time.monotonic() - started
    assert str(err.value).startswith(f"{url}: cannot connect to the CalDAV server")
    assert "refused" in str(err.value)
    assert elapsed < 10  # three quick attempts, not the default two-minute retry budget
    retried = [r.getMessage() for r in caplog.records if r.name == "calsync.retry"]
    assert len(retried) == 2  # attempts 1 and 2 failed and were retried; 3 gave up
    assert all(f"{url}: connection refused" in m for m in retried)
    assert not any(ALICE_PW in r.getMessage() for r in caplog.records)


def test_server_that_never_answers_times_out_within_the_configured_timeout(
    tmp_path: Path,
) -> None:
    with black_hole() as url:
        src = make_source(None, tmp_path, url=url, timeout_seconds=1)
        started = time.monotonic()
        with pytest.raises(SourceError) as err:
            src.read(WINDOW)
        elapsed = time.monotonic() - started
    assert str(err.value) == f"{url}: CalDAV server did not answer within 1 s"
    # Three attempts of one second each; the default timeout (20 s) would take a minute.
    assert 1 <= elapsed < 10


class Scripted:
    """A plain HTTP server answering every request with one status and body; counts them."""

    def __init__(self, status: int, body: bytes = b"", ctype: str = "text/plain") -> None:
        self.requests = 0
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def answer(self) -> None:
                outer.requests += 1
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_PROPFIND = do_REPORT = answer  # noqa: N815 (http.server's naming)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/dav/"

    def __enter__(self) -> Scripted:
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def test_404_is_reported_at_once(tmp_path: Path) -> None:
    with Scripted(404) as srv:
        src = make_source(None, tmp_path, url=srv.url)
        with pytest.raises(SourceError) as err:
            src.read(WINDOW)
    assert f"nothing found at {srv.url} (404)" in str(err.value)
    assert srv.requests == 1  # a missing calendar is not retried


@pytest.mark.parametrize("status", [500, 503, 429])
def test_server_errors_are_retried_then_reported(tmp_path: Path, status: int) -> None:
    with Scripted(status) as srv:
        src = make_source(None, tmp_path, url=srv.url)
        with pytest.raises(SourceError) as err:
            src.read(WINDOW)
    assert str(err.value).startswith(f"{srv.url}: CalDAV server failed (HTTP {status})")
    assert srv.requests == 3  # the source's retry budget: three attempts


def test_answer_that_is_not_xml_is_a_source_error(tmp_path: Path) -> None:
    with Scripted(207, b"this is not XML", "text/xml") as srv:
        src = make_source(None, tmp_path, url=srv.url)
        with pytest.raises(SourceError) as err:
            src.read(WINDOW)
    assert str(err.value).startswith(f"{srv.url}: the server's answer is not usable CalDAV")
    assert srv.requests == 1


# --------------------------------------------------------------------------- secrets


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660])
def test_password_file_readable_by_others_is_refused(
    world: World, tmp_path: Path, mode: int
) -> None:
    src = make_source(world, tmp_path, calendar="Training", mode=mode)
    with pytest.raises(SourceError) as err:
        src.read(WINDOW)
    msg = str(err.value)
    assert "refusing password_file" in msg
    assert f"{mode:04o}" in msg
    assert "chmod 600" in msg
    assert ALICE_PW not in msg


def test_password_file_0400_is_accepted(world: World, tmp_path: Path) -> None:
    src = make_source(world, tmp_path, calendar="Training", mode=0o400)
    assert seen(src.read(WINDOW)) == EXPECTED


def test_missing_and_empty_password_files(world: World, tmp_path: Path) -> None:
    src = make_source(world, tmp_path, calendar="Training")
    Path(src.settings.password_file).unlink()
    with pytest.raises(SourceError, match="does not exist"):
        src.read(WINDOW)
    password_file(tmp_path, "alice.pw", "")
    with pytest.raises(SourceError, match="is empty"):
        src.read(WINDOW)


def test_password_file_is_read_on_every_read(world: World, tmp_path: Path) -> None:
    src = make_source(world, tmp_path, calendar="Training", password="old-wrong")
    with pytest.raises(SourceError, match="refused the login"):
        src.read(WINDOW)
    password_file(tmp_path, "alice.pw", ALICE_PW)  # rotated without a restart
    assert seen(src.read(WINDOW)) == EXPECTED


def test_password_in_url_is_refused_without_echoing_it(tmp_path: Path) -> None:
    with pytest.raises(SourceError) as err:
        make_source(None, tmp_path, url="http://alice:hunter2@127.0.0.1:5232/")
    assert "hunter2" not in str(err.value)
    assert "password_file" in str(err.value)


def test_username_without_password_file_is_refused(tmp_path: Path) -> None:
    config = parse_config(
        {"source": [{"type": "caldav", "url": "http://127.0.0.1:5232/", "username": "alice"}]}
    )
    with pytest.raises(SourceError, match="password_file is missing"):
        CaldavSource(config.sources[0], config)


def test_url_must_be_http(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="http:// or https://"):
        make_source(None, tmp_path, url="caldav.example.com")


# --------------------------------------------------------------------------- end to end

PLAN = {
    # Tuesdays 18:00: the hard session of the week.
    "intervals": vcal(
        vevent(
            "plan-intervals",
            "Intervals 6x800m at 5K pace",
            "DTSTART;TZID=Europe/Berlin:20261201T180000",
            "DTEND;TZID=Europe/Berlin:20261201T190000",
            "RRULE:FREQ=WEEKLY;COUNT=3",
        ),
        tz=True,
    ),
    "easy": vcal(
        vevent(
            "plan-easy",
            "Easy run 8 km",
            "DTSTART;TZID=Europe/Berlin:20261203T070000",
            "DTEND;TZID=Europe/Berlin:20261203T074500",
            "RRULE:FREQ=WEEKLY;COUNT=3",
        ),
        tz=True,
    ),
    "long": vcal(
        vevent(
            "plan-long",
            "Long run 24 km",
            "DTSTART;VALUE=DATE:20261205",
            "DTEND;VALUE=DATE:20261206",
            "RRULE:FREQ=WEEKLY;COUNT=3",
        )
    ),
    "race": vcal(
        vevent(
            "plan-race",
            "Race: Silvesterlauf 10K",
            "DTSTART;TZID=Europe/Berlin:20261231T140000",
            "DTEND;TZID=Europe/Berlin:20261231T150000",
        ),
        tz=True,
    ),
    "ours": vcal(
        vevent(
            "calsync-old",
            "Strength A",
            "DTSTART:20261202T170000Z",
            "DTEND:20261202T174500Z",
            "X-CALSYNC-KEY:2026-11-30/1",
        )
    ),
}


def write_config(folder: Path, server_url: str) -> Path:
    password_file(folder, "carol.pw", CAROL_PW)
    cfg = folder / "calsync.toml"
    cfg.write_text(
        f"""\
[schedule]
timezone = "Europe/Berlin"
horizon_days = 14

[[source]]
type = "caldav"
name = "coach"
url = "{server_url}"
username = "carol"
password_file = "carol.pw"   # relative to this file
calendar = "Marathon plan"
timeout_seconds = 10

[output.ics]
path = "strength.ics"

[state]
path = "state/state.sqlite3"
"""
    )
    return cfg


@pytest.fixture(scope="module")
def carol_calendar(world: World) -> str:
    with _client(world.server, "carol") as c:
        cal = c.get_principal().make_calendar(name="Marathon plan")
        for text in PLAN.values():
            cal.add_event(text, increase_seqno=False)
        return str(cal.url)


def test_cli_classify_lists_the_caldav_runs_with_verdicts(
    world: World, carol_calendar: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = write_config(tmp_path, world.server.url)
    code, out, err = run_cli(
        capsys, "--config", str(cfg), "--now", "2026-12-01T07:00", "classify", "--json",
        "--from", "2026-12-01", "--to", "2026-12-31",
    )  # fmt: skip
    assert code == 0, err
    items = json.loads(out)
    got = [(i["summary"], i["start"], i["is_run"], i["intensity"], i["source"]) for i in items]
    intervals, easy, long_ = "Intervals 6x800m at 5K pace", "Easy run 8 km", "Long run 24 km"
    coach = f"coach ({world.server.url} calendar 'Marathon plan')"
    assert got == [
        (intervals, "2026-12-01T18:00:00+01:00", True, "hard", coach),
        (easy, "2026-12-03T07:00:00+01:00", True, "easy", coach),
        (long_, "2026-12-05", True, "easy", coach),
        (intervals, "2026-12-08T18:00:00+01:00", True, "hard", coach),
        (easy, "2026-12-10T07:00:00+01:00", True, "easy", coach),
        (long_, "2026-12-12", True, "easy", coach),
        (intervals, "2026-12-15T18:00:00+01:00", True, "hard", coach),
        (easy, "2026-12-17T07:00:00+01:00", True, "easy", coach),
        (long_, "2026-12-19", True, "easy", coach),
        ("Race: Silvesterlauf 10K", "2026-12-31T14:00:00+01:00", True, "race", coach),
    ]
    assert all(i["reason"] for i in items)  # every verdict says why
    assert CAROL_PW not in out + err


def test_cli_sync_writes_strength_sessions_around_the_caldav_runs(
    world: World, carol_calendar: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = write_config(tmp_path, world.server.url)
    code, out, err = run_cli(capsys, "--config", str(cfg), "--now", "2026-12-01T07:00", "sync")
    assert code == 0, err
    assert "created" in out
    cal = icalendar.Calendar.from_ical((tmp_path / "strength.ics").read_bytes())
    sessions = [
        (c.decoded("DTSTART"), c.decoded("DTEND"))
        for c in cal.walk("VEVENT")
        if "X-CALSYNC-KEY" in c
    ]
    assert len(sessions) >= 3  # two weeks of the horizon, two a week at most
    hard_starts = [b(2026, 12, d, 18) for d in (1, 8, 15)]
    easy_runs = [(b(2026, 12, d, 7), b(2026, 12, d, 7, 45)) for d in (3, 10, 17)]
    for start, end in sessions:
        # H1: nothing in the 24 h before a hard run read from CalDAV...
        assert all(not (h - timedelta(hours=24) < end <= h) for h in hard_starts), start
        # ...and no overlap with a timed run read from CalDAV.
        assert all(end <= s or start >= e for s, e in easy_runs), start
        assert all(end <= h or start >= h + timedelta(hours=1) for h in hard_starts), start
    # A second read of the same CalDAV calendar plans the same sessions: nothing is
    # created or removed. (Whether their text is rewritten is the planner's business.)
    code, out, err = run_cli(capsys, "--config", str(cfg), "--now", "2026-12-01T07:00", "sync")
    assert code == 0, err
    assert re.search(r"^ics: 0 created, \d+ moved/updated, 0 removed", out, re.M), out


def test_cli_reports_a_wrong_password_as_an_error_without_it(
    world: World, carol_calendar: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = write_config(tmp_path, world.server.url)
    password_file(tmp_path, "carol.pw", "guessed")
    code, out, err = run_cli(capsys, "--config", str(cfg), "classify")
    assert code == 1
    label = f"coach ({world.server.url} calendar 'Marathon plan')"
    assert f"calsync: error: {label}: CalDAV server refused the login for user 'carol'" in err
    assert "guessed" not in out + err


# --------------------------------------------------------------------------- the contract

RUNNER_PW = "runner pw"


@pytest.fixture(scope="module")
def contract_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RadicaleServer]:
    with running_radicale(tmp_path_factory.mktemp("radicale-contract"), {"runner": RUNNER_PW}) as s:
        yield s


class CaldavBackend:
    """A calendar of its own on a real Radicale, filled with the caldav client over HTTP."""

    def __init__(self, server: RadicaleServer, folder: Path, name: str) -> None:
        self.server, self.folder, self.name = server, folder, name
        self.store = StateStore(folder / "state.sqlite3")
        self.url = server.url
        with _client(server, "runner") as c:
            self.calendar_url = str(c.get_principal().make_calendar(name=name).url)

    def _calendar(self, c: Any) -> Any:
        return c.calendar(url=self.calendar_url)

    def put(self, specs: Sequence[Spec]) -> None:
        with _client(self.server, "runner") as c:
            cal = self._calendar(c)
            for obj in cal.events():
                obj.delete()
            for s in specs:
                cal.add_event(ics_calendar([s]), increase_seqno=False)

    def make_source(self) -> CaldavSource:
        return make_source(
            None, self.folder, url=self.url, user="runner", password=RUNNER_PW, calendar=self.name
        )

    def fingerprint(self) -> Any:
        with _client(self.server, "runner") as c:
            return sorted((str(o.url), o.data) for o in self._calendar(c).events())

    @contextlib.contextmanager
    def broken(self) -> Iterator[None]:
        """A port nothing listens on: connection refused."""
        self.url = "http://127.0.0.1:1/"
        try:
            yield
        finally:
            self.url = self.server.url


class TestCaldavSourceContract(SourceContract):
    @pytest.fixture
    def source_backend(  # type: ignore[override]
        self, contract_server: RadicaleServer, tmp_path: Path, request: pytest.FixtureRequest
    ) -> CaldavBackend:
        return CaldavBackend(contract_server, tmp_path, request.node.name[:40])
