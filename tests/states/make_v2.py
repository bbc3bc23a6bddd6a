"""Make `v2_every_kind.sqlite3`: a schema-2 state file holding every kind of kv value.

Run it with the code of the day on the path, not the code of this checkout: the file must
be what calsync wrote then, through its own CLI, against real servers (the Google
Calendar emulator of tests/fakes, a real Radicale). From the repository root:

    git worktree add --detach /tmp/calsync-e711702 e711702
    cd /tmp/calsync-e711702 && PYTHONPATH=. python /path/to/tests/states/make_v2.py OUT

What the syncs leave in the kv table: the session texts and the skipped sessions
(sync.py), the install's UID namespace and legacy keys (uids.py; the run starts from
v2_before_uid_namespace.sqlite3, so the keys that file's ICS output held become legacy),
the Google calendar id and record cache (sinks/google_*), the Google source's event
cache, the CalDAV calendar URL and resource cache (sinks/caldav.py). Besides: sessions
of three outputs, planned, feeds, source_cache, sync_tokens and sync_log rows.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import http.server
import io
import json
import os
import shutil
import sqlite3
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import calsync
from calsync.cli import main
from calsync.state import SCHEMA_VERSION
from tests.fakes import radicale_server
from tests.fakes.google_emulator import CalendarEmulator
from tests.fakes.google_fixtures import STRENGTH, GoogleWorld
from tests.fakes.radicale_server import running_radicale

HERE = Path(__file__).resolve().parent
CALENDARS = Path(calsync.__file__).resolve().parent.parent / "tests" / "calendars"
NOW = "2026-11-30T07:00"
LATER = "2026-12-01T07:00"
PASSWORD = "r0w: s3cret pass"  # as tests/caldav_sink_support.py
# Radicale listens here (below the ephemeral ports free_port hands out), so that a test
# can serve its files again at the URL the state file holds.
DAV_PORT = 28731
DAV_URL = f"http://127.0.0.1:{DAV_PORT}/"


def _config(root: str, dav_url: str, work_url: str) -> str:
    return f"""\
[schedule]
timezone = "Europe/Berlin"
horizon_days = 14
preferred_time = "18:00"

[[source]]
type = "ics"
url = "plan.ics"
name = "plan"

[[source]]
type = "ics"
url = "{work_url}"
role = "busy"
name = "work"

[[source]]
type = "google"
calendar = "primary"
role = "runs"
name = "google runs"

[output.ics]
path = "out.ics"

[output.google]
calendar = "{STRENGTH}"

[output.caldav]
url = "{dav_url}"
calendar = "Strength"
username = "runner"
password_file = "caldav-password"

[google]
api_endpoint = "{root}calendar/v3/"
token_uri = "{root}token"
batch_uri = "{root}batch/calendar/v3"
token_path = "state/google-token.json"
timeout = "10s"

[state]
path = "state/state.sqlite3"
"""


def _sync(folder: Path, now: str) -> None:
    code = main(["--config", str(folder / "config.toml"), "--now", now, "sync"])
    if code != 0:
        raise SystemExit(f"sync at {now} failed with exit {code}")


def _caldav_delete(url: str, key: str) -> str:
    """Delete calsync's resource of `key` as a calendar app would; returns its name."""
    from caldav.davclient import DAVClient

    with DAVClient(url, username="runner", password=PASSWORD, enable_rfc6764=False) as c:
        cals = c.get_principal().get_calendars()
        cal = next(x for x in cals if x.get_display_name() == "Strength")
        # A foreign event too: the cache keeps a keyless record of it.
        put = c.request(
            str(cal.url) + "dentist.ics",
            "PUT",
            "BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//someone else//EN\nBEGIN:VEVENT\n"
            "UID:dentist-1\nDTSTAMP:20261101T000000Z\nSUMMARY:Dentist\n"
            "DTSTART:20261204T150000Z\nDTEND:20261204T160000Z\nEND:VEVENT\nEND:VCALENDAR\n",
            {"Content-Type": "text/calendar"},
        )
        assert put.status in (200, 201, 204), put.status
        victim = key.replace("/", "-") + ".ics"
        assert c.request(str(cal.url) + victim, "DELETE").status in (200, 204)
        return victim


@contextlib.contextmanager
def _serving(folder: Path) -> Iterator[str]:
    handler = functools.partial(_Quiet, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


def _emulator_state(emu: CalendarEmulator) -> dict[str, Any]:
    """The emulator's calendars as the syncs left them, and its change counters (its
    sync tokens name them): a test serves them again to sync the migrated file."""
    with emu.lock:
        cals = [
            dataclasses.asdict(c) | {"purged": sorted(c.purged)} for c in emu.calendars.values()
        ]
        return {"change": emu.change, "token_epoch": emu.token_epoch, "calendars": cals}


def make(out: Path) -> None:
    if SCHEMA_VERSION != 2:
        raise SystemExit(f"run with the code of a schema-2 calsync (this one is {SCHEMA_VERSION})")
    radicale_server.free_port = lambda host="127.0.0.1": DAV_PORT  # type: ignore[attr-defined]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "install"
        (folder / "state").mkdir(parents=True)
        shutil.copy(HERE / "v2_before_uid_namespace.sqlite3", folder / "state" / "state.sqlite3")
        shutil.copy(CALENDARS / "display_width_titles.ics", folder / "plan.ics")
        shutil.copy(CALENDARS / "display_width_busy.ics", folder / "work.ics")
        pw = folder / "caldav-password"
        pw.write_text(PASSWORD + "\n")
        os.chmod(pw, 0o600)
        with (
            CalendarEmulator() as emu,
            running_radicale(Path(tmp) / "radicale", {"runner": PASSWORD}) as dav,
            _serving(folder) as base,
        ):
            work_url = base + "work.ics"  # over HTTP: a source_cache row with validators
            world = GoogleWorld(emu, folder)
            world.write_token()
            world.add_run("Long run 24 km", "2026-12-06T09:00:00+01:00", minutes=150)
            config = _config(emu.root, dav.url, work_url)
            (folder / "config.toml").write_text(config, encoding="utf-8")
            _sync(folder, NOW)
            # The user deletes one session in Google and in CalDAV (it is skipped, and
            # a foreign event of theirs joins the CalDAV calendar) and moves another in
            # Google (a pin).
            google = world.sessions()
            keys = sorted(google)
            cal_id = world.strength_id()
            emu.user_delete(cal_id, google[keys[0]]["id"])
            moved = google[keys[1]]
            emu.user_patch(
                cal_id,
                moved["id"],
                {
                    "start": {"dateTime": "2026-12-02T19:00:00+01:00"},
                    "end": {"dateTime": "2026-12-02T19:45:00+01:00"},
                },
            )
            victim = _caldav_delete(dav.url, keys[0])
            _sync(folder, NOW)
            _sync(folder, LATER)
            print(f"google: deleted {keys[0]}, moved {keys[1]}; caldav: deleted {victim}")
            expected = out.with_suffix(".expected")
            google = json.dumps(_emulator_state(emu), indent=1, sort_keys=True, ensure_ascii=False)
            (expected / "google_calendars.json").write_text(google + "\n", encoding="utf-8")
            state = folder / "state" / "state.sqlite3"
            db = sqlite3.connect(state)
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            db.close()
            out.write_bytes(state.read_bytes())
            # Radicale's files as the syncs left them (a test serves them again, on the
            # same port: the state names the calendar by its URL), then what this code
            # does with the CalDAV output alone.
            shutil.rmtree(expected / "radicale", ignore_errors=True)
            shutil.copytree(Path(tmp) / "radicale" / "collections", expected / "radicale")
            expect_caldav(out, expected)
    expect(out, out.with_suffix(".expected"))
    db = sqlite3.connect(out)
    print("written by", Path(calsync.__file__).resolve().parent)
    print("user_version", db.execute("PRAGMA user_version").fetchone()[0])
    for (name,) in db.execute("SELECT name FROM kv ORDER BY name"):
        print("kv", name)
    for table in ("sessions", "planned", "feeds", "source_cache", "sync_tokens", "sync_log"):
        print(table, db.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
    db.close()


def _run(folder: Path, *args: str) -> str:
    """`calsync ARGS` in `folder`'s install: its output (a non-zero exit stops the run)."""
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        code = main(["--config", str(folder / "config.toml"), *args])
    if code != 0:
        raise SystemExit(f"calsync {' '.join(args)} failed with exit {code}")
    return buf.getvalue().replace(str(folder), "INSTALL")


def expect(state: Path, into: Path) -> None:
    """What this code makes of the file with the ICS-only config in `into`: the plan
    it shows and the ICS file and report of two syncs. A newer calsync must make the
    same of the migrated file (tests/test_state_migration.py)."""
    for name in ("COLUMNS", "LINES"):  # the text views fit the terminal; the test has none
        os.environ.pop(name, None)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "state").mkdir()
        shutil.copy(state, folder / "state" / "state.sqlite3")
        shutil.copy(CALENDARS / "display_width_titles.ics", folder / "plan.ics")
        shutil.copy(CALENDARS / "display_width_busy.ics", folder / "work.ics")
        shutil.copy(into / "config.toml", folder / "config.toml")
        (into / "plan.txt").write_text(_run(folder, "--now", LATER, "plan"), encoding="utf-8")
        first = _run(folder, "--now", LATER, "sync")
        (into / "out.ics").write_bytes((folder / "out.ics").read_bytes())
        second = _run(folder, "--now", LATER, "sync")
        (into / "sync.txt").write_text(first + "--- again\n" + second, encoding="utf-8")


def caldav_resources(url: str) -> dict[str, str]:
    """name -> ETag of every resource of the "Strength" calendar."""
    from caldav.davclient import DAVClient

    with DAVClient(url, username="runner", password=PASSWORD, enable_rfc6764=False) as c:
        cals = c.get_principal().get_calendars()
        cal = next(x for x in cals if x.get_display_name() == "Strength")
        return {
            str(e.url).rsplit("/", 1)[-1]: str(c.request(str(e.url), "GET").headers["ETag"])
            for e in cal.events()
        }


def expect_caldav(state: Path, into: Path) -> None:
    """Two syncs of the file with the CalDAV output alone (`config_caldav.toml`): their
    report, and the calendar's resources after them."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "state").mkdir()
        shutil.copy(state, folder / "state" / "state.sqlite3")
        shutil.copy(CALENDARS / "display_width_titles.ics", folder / "plan.ics")
        shutil.copy(CALENDARS / "display_width_busy.ics", folder / "work.ics")
        shutil.copy(into / "config_caldav.toml", folder / "config.toml")
        pw = folder / "caldav-password"
        pw.write_text(PASSWORD + "\n")
        os.chmod(pw, 0o600)
        first = _run(folder, "--now", LATER, "sync")
        second = _run(folder, "--now", LATER, "sync")
        (into / "caldav_sync.txt").write_text(first + "--- again\n" + second, encoding="utf-8")
        found = json.dumps(caldav_resources(DAV_URL), indent=1, sort_keys=True)
        (into / "caldav_resources.json").write_text(found + "\n", encoding="utf-8")


if __name__ == "__main__":
    make(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE / "v2_every_kind.sqlite3")
