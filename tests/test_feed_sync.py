"""The feed end to end: real syncs write the state, the real server serves it, and a
calendar app's polling (conditional GETs, gzip, parsing, expanding) is simulated.
"""

from __future__ import annotations

import gzip
import json
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import icalendar
import recurring_ical_events

from calsync.config import load_config
from tests.service_support import (
    TOKEN,
    Proc,
    Response,
    calsync_args,
    request,
    run_calsync,
    start_server,
    training_ics,
    wait_until,
    write_config,
)

STRENGTH = f"/{TOKEN}/strength.ics"
BUSY = f"/{TOKEN}/busy.ics"
ZONE = ZoneInfo("Europe/Berlin")


class CalendarApp:
    """What a subscribing calendar app does: poll with validators, keep its last copy."""

    def __init__(self, hostport: str, path: str) -> None:
        self.hostport = hostport
        self.path = path
        self.etag: str | None = None
        self.last_modified: str | None = None
        self.body: bytes = b""
        self.fetches = 0
        self.not_modified = 0

    def poll(self) -> Response:
        headers = {"Accept-Encoding": "gzip", "User-Agent": "Test-Calendar/1.0"}
        if self.etag:
            headers["If-None-Match"] = self.etag
        if self.last_modified:
            headers["If-Modified-Since"] = self.last_modified
        r = request(self.hostport, "GET", self.path, headers)
        assert r.status in (200, 304), r.status
        if r.status == 304:
            self.not_modified += 1
            assert r.headers["etag"] == self.etag
        else:
            self.fetches += 1
            body = r.body
            if r.headers.get("content-encoding") == "gzip":
                body = gzip.decompress(body)
            self.body = body
            self.etag = r.headers["etag"]
            self.last_modified = r.headers["last-modified"]
        return r

    def view(self, days: int = 28) -> dict[str, tuple[datetime, datetime, int, str]]:
        """The events the app would show in the next `days` days, keyed by UID."""
        cal = icalendar.Calendar.from_ical(self.body)
        start = datetime(2026, 11, 30, tzinfo=ZONE)
        out: dict[str, tuple[datetime, datetime, int, str]] = {}
        for e in recurring_ical_events.of(cal).between(start, start + timedelta(days=days)):
            uid = str(e["uid"])
            assert uid not in out, f"{uid} shown twice"
            out[uid] = (
                e.decoded("dtstart"),
                e.decoded("dtend"),
                int(e.get("sequence", 0)),
                str(e.get("summary", "")),
            )
        return out


def output_view(cfg: Path) -> dict[str, tuple[datetime, datetime]]:
    out = load_config(cfg).output_ics
    assert out is not None
    cal = icalendar.Calendar.from_ical(out.path.read_bytes())
    return {str(e["uid"]): (e.decoded("dtstart"), e.decoded("dtend")) for e in cal.walk("VEVENT")}


def test_a_subscriber_sees_the_plan_and_its_changes(tmp_path: Path) -> None:
    cfg = write_config(tmp_path)
    run_calsync(cfg, "sync")
    proc, hostport = start_server(cfg)
    with proc:
        app = CalendarApp(hostport, STRENGTH)
        r = app.poll()
        assert r.status == 200
        assert r.headers["content-encoding"] == "gzip"
        first = app.view()
        assert len(first) >= 4  # two sessions a week over the weeks shown
        # The feed holds the same sessions as the ICS file the sync wrote.
        assert {u: v[:2] for u, v in first.items()} == {
            u: t for u, t in output_view(cfg).items() if u in first
        }
        for start, end, _, summary in first.values():
            assert start.tzinfo is not None and end > start
            assert summary
        # Polling again with nothing changed: 304, nothing re-downloaded.
        assert app.poll().status == 304
        assert app.poll().status == 304

        # The runner's plan changes: the hard day moves from Tuesday to Thursday.
        (tmp_path / "plan.ics").write_text(training_ics(hard_day=3), encoding="utf-8")
        old_etag = app.etag
        run_calsync(cfg, "sync")
        r = app.poll()
        assert r.status == 200
        assert app.etag != old_etag
        second = app.view()
        assert second != first
        moved = [u for u in second if u in first and second[u][:2] != first[u][:2]]
        for u in moved:
            # Updated in place (same UID) with a higher SEQUENCE, so apps replace the event.
            assert second[u][2] > first[u][2]
        assert app.fetches == 2 and app.not_modified == 2
        assert proc.stop() == 0


def test_a_sync_with_nothing_changed_keeps_the_etag(tmp_path: Path) -> None:
    """Subscribers re-download only when something changed (sync twice: zero writes)."""
    cfg = write_config(tmp_path)
    run_calsync(cfg, "sync")
    proc, hostport = start_server(cfg)
    with proc:
        app = CalendarApp(hostport, STRENGTH)
        app.poll()
        before = app.body
        run_calsync(cfg, "sync")
        r = app.poll()
        assert r.status == 304, _ics_diff(before, app.body)
        assert proc.stop() == 0


def _ics_diff(a: bytes, b: bytes) -> str:
    import difflib

    return "\n".join(
        difflib.unified_diff(a.decode().splitlines(), b.decode().splitlines(), lineterm="", n=1)
    )


def test_the_busy_feed_has_the_same_times_and_nothing_else(tmp_path: Path) -> None:
    cfg = write_config(tmp_path)
    run_calsync(cfg, "sync")
    proc, hostport = start_server(cfg)
    with proc:
        strength = CalendarApp(hostport, STRENGTH)
        busy = CalendarApp(hostport, BUSY)
        strength.poll()
        busy.poll()
        assert strength.etag != busy.etag
        s_times = sorted(v[:2] for v in strength.view().values())
        b_times = sorted(v[:2] for v in busy.view().values())
        assert s_times == b_times and b_times
        cal = icalendar.Calendar.from_ical(busy.body)
        for e in cal.walk("VEVENT"):
            assert "description" not in e
            assert "location" not in e
            assert str(e.get("summary", "Busy")).lower() == "busy"
            assert "strength" not in e.to_ical().decode().lower()
        assert proc.stop() == 0


def test_healthz_tells_when_the_last_sync_ran_and_whether_it_worked(tmp_path: Path) -> None:
    cfg = write_config(tmp_path)
    run_calsync(cfg, "sync")
    proc, hostport = start_server(cfg)
    with proc:
        info = json.loads(request(hostport, "GET", "/healthz").body)
        assert info["last_sync"]["ok"] is True
        assert datetime.fromisoformat(info["last_sync"]["at"]) == datetime(
            2026, 12, 1, 7, 0, tzinfo=ZONE
        )
        # A failed sync (the plan file is gone) is reported, and the feed still serves
        # the last good calendar.
        (tmp_path / "plan.ics").unlink()
        r = request(hostport, "GET", STRENGTH)
        cp = run_calsync_fails(cfg)
        assert "plan.ics" in cp
        info = json.loads(request(hostport, "GET", "/healthz").body)
        assert info["last_sync"]["ok"] is False
        assert "plan.ics" not in json.dumps(info)  # the message (paths, URLs) stays private
        again = request(hostport, "GET", STRENGTH)
        assert again.status == 200 and again.body == r.body
        assert proc.stop() == 0


def run_calsync_fails(cfg: Path) -> str:
    import subprocess

    from tests.service_support import child_env

    p = subprocess.run(
        calsync_args(cfg, "sync"), capture_output=True, text=True, env=child_env(), timeout=60
    )
    assert p.returncode == 1, p.stderr
    return p.stderr


def test_serve_with_sync_keeps_the_feed_fresh_in_one_process(tmp_path: Path) -> None:
    cfg = write_config(tmp_path, interval="1s")
    with Proc(calsync_args(cfg, "serve", "--listen", "127.0.0.1:0", "--sync")) as proc:
        hostport = proc.wait_for(r"listening on http://(127\.0\.0\.1:\d+)/").group(1)
        wait_until(lambda: request(hostport, "GET", STRENGTH).status == 200)
        app = CalendarApp(hostport, STRENGTH)
        app.poll()
        first = app.view()
        (tmp_path / "plan.ics").write_text(training_ics(hard_day=3), encoding="utf-8")
        wait_until(lambda: app.poll().status == 200, timeout=20)
        assert app.view() != first
        assert proc.stop() == 0
    assert "sync ok" in proc.output
    assert "daemon stopped" in proc.output
