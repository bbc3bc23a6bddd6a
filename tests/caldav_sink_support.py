"""Shared set-up of the CalDAV sink tests: real servers, a proxy, a world per test.

`dav_server` starts Radicale (with a login) or Xandikos (anonymous) once per module and
parameter. A `World` is one test's corner of that server: a runs calendar the CalDAV
source reads (directly), a strength calendar the sink writes (through a `FaultProxy`
that counts and breaks requests), a config file and a state folder of its own.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import icalendar
import pytest
from caldav.davclient import DAVClient

from tests.fakes.fault_proxy import FaultProxy
from tests.fakes.radicale_server import running_radicale
from tests.fakes.xandikos_server import running_xandikos

NOW = "2026-12-01T06:00"
PASSWORD = "r0w: s3cret pass"
_ids = itertools.count(1)


@dataclass
class DavServer:
    kind: str
    url: str
    username: str  # "" for anonymous
    password: str

    def client(self) -> Any:
        return DAVClient(
            self.url,
            username=self.username or None,
            password=self.password or None,
            timeout=10,
            enable_rfc6764=False,
        )


@pytest.fixture(scope="module", params=["radicale", "xandikos"])
def dav_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[DavServer]:
    folder = tmp_path_factory.mktemp(request.param)
    if request.param == "radicale":
        with running_radicale(folder / "server", {"runner": PASSWORD}) as r:
            yield DavServer("radicale", r.url, "runner", PASSWORD)
    else:
        with running_xandikos(folder / "server") as x:
            yield DavServer("xandikos", x.url, "", "")


HARD_DAYS = (1, 3, 8, 10, 15, 17, 22, 24)  # December 2026, Tuesdays and Thursdays


def run_event(uid: str, day: int, hour: int = 7, summary: str = "Intervals 6x800m") -> str:
    return (
        "BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//calsync tests//EN\nBEGIN:VEVENT\n"
        f"UID:{uid}\nDTSTAMP:20261101T000000Z\nSUMMARY:{summary}\n"
        f"DTSTART:202612{day:02d}T{hour - 1:02d}0000Z\nDTEND:202612{day:02d}T{hour:02d}0000Z\n"
        "END:VEVENT\nEND:VCALENDAR\n"
    )


def foreign_event(uid: str, day: int) -> str:
    return (
        "BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//someone else//EN\nBEGIN:VEVENT\n"
        f"UID:{uid}\nDTSTAMP:20261101T000000Z\nSUMMARY:Dentist\n"
        f"DTSTART:202612{day:02d}T150000Z\nDTEND:202612{day:02d}T160000Z\n"
        "END:VEVENT\nEND:VCALENDAR\n"
    )


@dataclass
class World:
    server: DavServer
    proxy: FaultProxy
    folder: Path
    config: Path
    runs_calendar: str
    calendar_name: str
    runs: dict[int, str] = field(default_factory=dict)  # day -> run href

    # ------------------------------------------------------------------ the user's side

    def strength(self) -> Any | None:
        """The strength calendar as the user's own client sees it (not via the proxy)."""
        with self.server.client() as c:
            for cal in c.get_principal().get_calendars():
                if cal.get_display_name() == self.calendar_name:
                    return cal
        return None

    def calendars_named(self) -> int:
        with self.server.client() as c:
            cals = c.get_principal().get_calendars()
            return sum(1 for cal in cals if cal.get_display_name() == self.calendar_name)

    def resources(self) -> dict[str, tuple[str, str]]:
        """name -> (etag, text) of every resource of the strength calendar."""
        with self.server.client() as c:
            cal = self._strength_in(c)
            if cal is None:
                return {}
            listing = c.request(str(cal.url), "PROPFIND", "", {"Depth": "1"})
            assert listing.status == 207, listing.status
            out = {}
            for href in listing.tree.iter("{DAV:}href"):
                name = (href.text or "").rstrip("/").rsplit("/", 1)[-1]
                if not name.endswith(".ics"):
                    continue
                resp = c.request(str(cal.url) + name, "GET")
                assert resp.status == 200, (name, resp.status)
                out[name] = (str(resp.headers.get("ETag")), resp.raw)
            return out

    def _strength_in(self, c: Any) -> Any | None:
        for cal in c.get_principal().get_calendars():
            if cal.get_display_name() == self.calendar_name:
                return cal
        return None

    def sessions(self) -> dict[str, tuple[datetime, datetime]]:
        """key -> (start, end) of calsync's events in the strength calendar."""
        out: dict[str, tuple[datetime, datetime]] = {}
        for _name, (_etag, text) in self.resources().items():
            for ev in icalendar.Calendar.from_ical(text).walk("VEVENT"):
                key = ev.get("X-CALSYNC-KEY")
                if key is not None:
                    assert str(key) not in out, f"two events for {key}"
                    out[str(key)] = (ev.decoded("DTSTART"), ev.decoded("DTEND"))
        return out

    def uid_by_key(self) -> dict[str, str]:
        out = {}
        for _name, (_etag, text) in self.resources().items():
            for e in icalendar.Calendar.from_ical(text).walk("VEVENT"):
                out[str(e["X-CALSYNC-KEY"])] = str(e["UID"])
        return out

    def uids(self) -> list[str]:
        uids = []
        for _name, (_etag, text) in self.resources().items():
            uids += [str(e["UID"]) for e in icalendar.Calendar.from_ical(text).walk("VEVENT")]
        return uids

    def edit(self, name: str, change: Any) -> None:
        """Change one resource as a calendar app would: GET, edit, PUT If-Match."""
        with self.server.client() as c:
            cal = self._strength_in(c)
            url = str(cal.url) + name
            resp = c.request(url, "GET")
            ical = icalendar.Calendar.from_ical(resp.raw)
            for ev in ical.walk("VEVENT"):
                change(ev)
            put = c.request(
                url,
                "PUT",
                ical.to_ical().decode(),
                {"If-Match": resp.headers["ETag"], "Content-Type": "text/calendar"},
            )
            assert put.status in (200, 201, 204), put.status

    def delete(self, name: str) -> None:
        with self.server.client() as c:
            url = str(self._strength_in(c).url) + name
            assert c.request(url, "DELETE").status in (200, 204)

    def add_foreign(self, name: str, text: str) -> None:
        with self.server.client() as c:
            url = str(self._strength_in(c).url) + name
            resp = c.request(url, "PUT", text, {"Content-Type": "text/calendar"})
            assert resp.status in (200, 201, 204), resp.status

    def move_run(self, day: int, hour: int) -> None:
        with self.server.client() as c:
            href = self.runs[day]
            resp = c.request(href, "PUT", run_event(f"run-{day}", day, hour),
                             {"Content-Type": "text/calendar"})  # fmt: skip
            assert resp.status in (200, 201, 204), resp.status

    # ------------------------------------------------------------------ calsync's side

    def sync(self, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
        from calsync.cli import main

        capsys.readouterr()
        code = main(["--config", str(self.config), "--now", NOW, "sync", *args])
        out, err = capsys.readouterr()
        return code, out, err

    def state_dir(self) -> Path:
        return self.folder / "state"


def make_world(
    server: DavServer,
    proxy: FaultProxy,
    folder: Path,
    *,
    alarm_minutes: int | None = None,
    timeout: float = 5,
) -> World:
    n = next(_ids)
    name = f"Strength {n}"
    runs_name = f"Runs {n}"
    folder.mkdir(parents=True, exist_ok=True)
    runs: dict[int, str] = {}
    with server.client() as c:
        cal = c.get_principal().make_calendar(name=runs_name)
        for day in HARD_DAYS:
            url = str(cal.url) + f"run-{day}.ics"
            resp = c.request(url, "PUT", run_event(f"run-{day}", day),
                             {"Content-Type": "text/calendar"})  # fmt: skip
            assert resp.status in (200, 201, 204)
            runs[day] = url
        runs_url = str(cal.url)
    login = ""
    if server.username:
        pw = folder / "caldav-password"
        pw.write_text(server.password + "\n")
        os.chmod(pw, 0o600)
        login = f'username = "{server.username}"\npassword_file = "caldav-password"\n'
    alarm = f"alarm_minutes = {alarm_minutes}\n" if alarm_minutes is not None else ""
    cfg = folder / "calsync.toml"
    cfg.write_text(
        f"""\
[schedule]
timezone = "Europe/Berlin"
horizon_days = 14

[[source]]
type = "caldav"
name = "plan"
url = "{server.url}"
calendar = "{runs_name}"
{login}
[output.caldav]
url = "{proxy.url}"
calendar = "{name}"
timeout_seconds = {timeout}
{login}{alarm}
[output.ics]
path = "strength.ics"

[state]
path = "state/state.sqlite3"
"""
    )
    return World(server, proxy, folder, cfg, runs_url, name, runs)
