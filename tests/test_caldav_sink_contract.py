"""The CalDAV sink keeps the editable-sink contract (tests/contracts.py), on Radicale and
on Xandikos, through the fault proxy (its way of failing writes: 503 for good)."""

from __future__ import annotations

import contextlib
import itertools
import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import icalendar
import pytest

from calsync.config import Config, parse_config
from calsync.sinks.caldav import CaldavSink
from calsync.state import StateStore
from tests.caldav_sink_support import DavServer, dav_server
from tests.fakes.fault_proxy import FaultProxy, fault_proxy

# The contract suite is core's (issue 12), landing separately: this module runs the
# moment tests/contracts.py is on main (it passed 22/22 against core's branch).
contracts = pytest.importorskip(
    "tests.contracts", reason="tests/contracts.py (issue 12's contract suite) not on main yet"
)
EditableSinkContract = contracts.EditableSinkContract
Held = contracts.Held

__all__ = ["dav_server"]

_n = itertools.count(1)


class CaldavSinkBackend:
    """The sink through the proxy; the user's own client straight to the server."""

    def __init__(self, server: DavServer, proxy: FaultProxy, folder: Path) -> None:
        self.server = server
        self.proxy = proxy
        self.calendar = f"Contract {next(_n)}"
        out: dict[str, Any] = {"url": proxy.url, "calendar": self.calendar, "timeout_seconds": 5}
        if server.username:
            pw = folder / "caldav-password"
            pw.write_text(server.password + "\n")
            os.chmod(pw, 0o600)
            out |= {"username": server.username, "password_file": str(pw)}
        raw = {
            "schedule": {"timezone": "Europe/Berlin"},
            "output": {"caldav": out},
            "state": {"path": str(folder / "state.sqlite3")},
        }
        self.config: Config = parse_config(raw, folder / "calsync.toml")
        self.store = StateStore(self.config.state_path)
        self.handles: set[str] = set()

    def make_sink(self) -> CaldavSink:
        return CaldavSink(self.config)

    def _url(self, c: Any) -> str | None:
        for cal in c.get_principal().get_calendars():
            if cal.get_display_name() == self.calendar:
                return str(cal.url)
        return None

    def _resources(self) -> dict[str, tuple[str, str]]:
        with self.server.client() as c:
            url = self._url(c)
            if url is None:
                return {}
            listing = c.request(url, "PROPFIND", "", {"Depth": "1"})
            out = {}
            for href in listing.tree.iter("{DAV:}href"):
                name = (href.text or "").rstrip("/").rsplit("/", 1)[-1]
                if name.endswith(".ics"):
                    resp = c.request(url + name, "GET")
                    out[name] = (str(resp.headers.get("ETag")), resp.raw)
            return out

    def held(self) -> dict[str, Held]:
        out = {}
        for _etag, text in self._resources().values():
            for ev in icalendar.Calendar.from_ical(text).walk("VEVENT"):
                if ev.get("X-CALSYNC-KEY") is not None:
                    out[str(ev["X-CALSYNC-KEY"])] = Held(
                        ev.decoded("DTSTART").astimezone(UTC),
                        ev.decoded("DTEND").astimezone(UTC),
                        str(ev["SUMMARY"]),
                    )
        return out

    @contextlib.contextmanager
    def failing(self) -> Iterator[None]:
        """The first write goes through; every later one meets a 503 that does not end."""
        self.proxy.method_faults = {"PUT": ["", *["503"] * 200], "DELETE": ["503"] * 200}
        try:
            yield
        finally:
            self.proxy.method_faults = {}

    def _edit(self, key: str, change: Any) -> None:
        name = key.replace("/", "-") + ".ics"
        with self.server.client() as c:
            url = str(self._url(c)) + name
            resp = c.request(url, "GET")
            cal = icalendar.Calendar.from_ical(resp.raw)
            for ev in cal.walk("VEVENT"):
                change(ev)
            headers = {"If-Match": resp.headers["ETag"], "Content-Type": "text/calendar"}
            assert c.request(url, "PUT", cal.to_ical().decode(), headers).status in (200, 204)

    def user_moves(self, key: str, hours: float) -> None:
        def shift(ev: Any) -> None:
            ev["DTSTART"].dt += timedelta(hours=hours)
            ev["DTEND"].dt += timedelta(hours=hours)

        self._edit(key, shift)

    def user_deletes(self, key: str) -> None:
        with self.server.client() as c:
            url = str(self._url(c)) + key.replace("/", "-") + ".ics"
            assert c.request(url, "DELETE").status in (200, 204)

    def user_adds(self, title: str, start: datetime, end: datetime) -> str:
        name = f"foreign-{len(self.handles) + 1}.ics"
        ev = icalendar.Event()
        ev.add("UID", f"{name}@someone")
        ev.add("DTSTAMP", datetime(2026, 11, 1, tzinfo=UTC))
        ev.add("SUMMARY", title)
        ev.add("DTSTART", start)
        ev.add("DTEND", end)
        cal = icalendar.Calendar()
        cal.add("VERSION", "2.0")
        cal.add("PRODID", "-//someone//EN")
        cal.add_component(ev)
        with self.server.client() as c:
            url = str(self._url(c)) + name
            resp = c.request(url, "PUT", cal.to_ical().decode(), {"Content-Type": "text/calendar"})
            assert resp.status in (200, 201, 204)
        self.handles.add(name)
        return name

    def foreign(self) -> dict[str, Any]:
        return {n: r for n, r in self._resources().items() if n in self.handles}


class TestCaldavSinkContract(EditableSinkContract):
    @pytest.fixture
    def sink_backend(  # type: ignore[override]
        self, dav_server: DavServer, tmp_path: Path
    ) -> Iterator[CaldavSinkBackend]:
        with fault_proxy(dav_server.url) as proxy:
            backend = CaldavSinkBackend(dav_server, proxy, tmp_path)
            yield backend
            backend.store.close()
