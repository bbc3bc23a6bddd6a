"""Schema 2 -> 3 on real schema-2 files: the kv blobs move into typed tables.

The files in tests/states/ were written by the calsync of their day (see its README).
What schema 3 reads back is compared with what schema 2's loaders read: the expected
values are decoded here from the kv JSON itself, the way those loaders did.
"""

from __future__ import annotations

import contextlib
import fcntl
import io
import json
import logging
import multiprocessing
import multiprocessing.synchronize
import shutil
import sqlite3
import tempfile
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
from caldav.davclient import DAVClient

from calsync import state_schema
from calsync.cli import main
from calsync.errors import StateError
from calsync.google import ids
from calsync.model import PriorSession, SessionText
from calsync.sinks.caldav_records import CaldavCache, Remote
from calsync.sinks.google_records import GoogleRecord, RecordCache
from calsync.state import SCHEMA_VERSION, StateStore, StateView
from tests.caldav_sink_support import PASSWORD
from tests.fakes import server_process
from tests.fakes.google_emulator import CalendarEmulator, _Calendar
from tests.fakes.google_fixtures import STRENGTH, GoogleWorld
from tests.fakes.radicale_server import running_radicale

STATES = Path(__file__).parent / "states"
CALENDARS = Path(__file__).parent / "calendars"
FILES = ("v2_before_uid_namespace.sqlite3", "v2_every_kind.sqlite3")
DAV_PORT = 28731  # where make_v2.py ran Radicale: the state holds URLs with it
# Tables schema 3 keeps as schema 2 had them.
KEPT = ("sessions", "planned", "source_cache", "sync_log", "sync_tokens", "feeds")


def _copy(tmp_path: Path, name: str) -> Path:
    dest = tmp_path / "state" / "state.sqlite3"
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(STATES / name, dest)
    return dest


def _kv(path: Path) -> dict[str, str]:
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return {str(n): str(v) for n, v in db.execute("SELECT name, value FROM kv")}
    finally:
        db.close()


def _dump(path: Path, tables: tuple[str, ...]) -> dict[str, list[tuple[Any, ...]]]:
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return {t: db.execute(f"SELECT * FROM {t} ORDER BY 1, 2").fetchall() for t in tables}
    finally:
        db.close()


def _version(path: Path) -> int:
    db = sqlite3.connect(path)
    try:
        return int(db.execute("PRAGMA user_version").fetchone()[0])
    finally:
        db.close()


def _with(kv: dict[str, str], prefix: str) -> dict[str, Any]:
    """The kv values under `prefix`, decoded, by the rest of their name."""
    return {n.removeprefix(prefix): json.loads(v) for n, v in kv.items() if n.startswith(prefix)}


def _dt(s: str) -> datetime:
    return datetime.fromisoformat(s)


# ---------------------------------------------------------------- schema 2's reading


def _v2_texts(kv: dict[str, str]) -> dict[str, SessionText]:
    raw = json.loads(kv.get("sync.session_texts", "{}"))
    return {
        k: SessionText(_dt(v["start"]), _dt(v["end"]), v["title"], v["description"])
        for k, v in raw.items()
    }


def _v2_skipped(kv: dict[str, str]) -> list[PriorSession]:
    raw = json.loads(kv.get("sync.skipped", "[]"))
    return [PriorSession(d["key"], _dt(d["start"]), _dt(d["end"])) for d in raw]


def _v2_google(raw: dict[str, Any]) -> RecordCache:
    def rec(d: dict[str, Any]) -> GoogleRecord:
        start, end = ids.utc_iso(_dt(d["start"])), ids.utc_iso(_dt(d["end"]))
        args = (d["status"], start, end, d["etag"], d["hash"], d["edited"], d["stuck"])
        return GoogleRecord(d["key"], *args)

    return RecordCache({eid: rec(d) for eid, d in raw["events"].items()}, set(raw["ours_deleted"]))


def _v2_caldav(raw: dict[str, Any]) -> CaldavCache:
    def rec(d: dict[str, Any]) -> Remote:
        when = lambda v: _dt(v) if v else None  # noqa: E731
        return Remote(
            d["etag"] or None,
            d["key"] or None,
            when(d["start"]),
            when(d["end"]),
            d["hash"],
            d["edited"],
            d["alarm"],
            d["uid"],
        )

    records = {p: rec(d) for p, d in raw["records"].items()}
    return CaldavCache(records, set(raw["gone"]), set(raw["ours_deleted"]))


# ---------------------------------------------------------------- the migration


@pytest.mark.parametrize("name", FILES)
def test_a_real_v2_file_opens_as_v3_and_reads_what_v2_read(tmp_path: Path, name: str) -> None:
    path = _copy(tmp_path, name)
    assert _version(path) == 2
    kv = _kv(path)
    kept = _dump(path, KEPT)
    store = StateStore(path)
    assert _version(path) == SCHEMA_VERSION == 3
    db = sqlite3.connect(path)
    tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    db.close()
    assert "kv" not in tables  # nothing is left in blobs
    assert _dump(path, KEPT) == kept  # the other tables are as they were, row for row
    with store.reader() as view:
        texts = view.session_texts()
        assert texts == _v2_texts(kv)
        # The times keep their offsets as written (the report shows them).
        raw = json.loads(kv["sync.session_texts"])
        assert {k: t.start.isoformat() for k, t in texts.items()} == {
            k: _dt(v["start"]).isoformat() for k, v in raw.items()
        }
        assert view.skipped() == _v2_skipped(kv)
        ns = kv.get("install.uid_namespace")
        assert view.uid_namespace() == ns
        legacy = json.loads(kv.get("install.uid_legacy_keys", "[]"))
        assert view.uid_legacy_keys() == frozenset(legacy)
        for cal, remote in _with_text(kv, "google.sink.calendar:").items():
            assert view.calendar("google", cal) == remote
        for cal, remote in _with_text(kv, "caldav.sink.calendar:").items():
            assert view.calendar("caldav", cal) == remote
        for cal, raw_cache in _with(kv, "google.sink.cache:").items():
            assert view.google_records(cal) == _v2_google(raw_cache)
        for url, raw_cache in _with(kv, "caldav.sink.cache:").items():
            assert view.caldav_cache(url) == _v2_caldav(raw_cache)
        for cal, raw_cache in _with(kv, "google.cache.google:events:").items():
            got = view.google_source_cache(cal)
            assert got is not None and got.events == raw_cache["events"]
            assert (got.lo, got.hi) == (_dt(raw_cache["lo"]), _dt(raw_cache["hi"]))
            assert got.read_at == _dt(raw_cache["read_at"])
    assert StateStore(path) is not None and _version(path) == 3  # reopening: nothing to do


def _with_text(kv: dict[str, str], prefix: str) -> dict[str, str]:
    return {n.removeprefix(prefix): v for n, v in kv.items() if n.startswith(prefix)}


def test_the_every_kind_file_holds_every_kind(tmp_path: Path) -> None:
    """The file the test above reads really has each kind of value in it."""
    kv = _kv(_copy(tmp_path, "v2_every_kind.sqlite3"))  # (opening it in place adds files)
    prefixes = (
        "sync.session_texts",
        "sync.skipped",
        "install.uid_namespace",
        "install.uid_legacy_keys",
        "google.sink.calendar:",
        "google.sink.cache:",
        "google.cache.google:events:",
        "caldav.sink.calendar:",
        "caldav.sink.cache:",
    )
    assert all(any(n.startswith(p) for n in kv) for p in prefixes), sorted(kv)
    google = next(v for n, v in _with(kv, "google.sink.cache:").items())
    assert any(r["edited"] for r in google["events"].values())  # the user's move: a pin
    caldav = next(v for n, v in _with(kv, "caldav.sink.cache:").items())
    assert caldav["gone"] and any(r["key"] is None for r in caldav["records"].values())


def test_unreadable_and_unknown_values_are_dropped_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = _copy(tmp_path, "v2_every_kind.sqlite3")
    db = sqlite3.connect(path)
    db.execute("UPDATE kv SET value = '{not json' WHERE name = 'sync.skipped'")
    db.execute(
        "UPDATE kv SET value = json_remove(value, '$.records')"
        " WHERE name LIKE 'caldav.sink.cache:%'"
    )
    db.execute("INSERT INTO kv VALUES ('google.calendar_id', 'from a dream')")
    db.commit()
    db.close()
    kv = _kv(path)
    with caplog.at_level(logging.WARNING, logger="calsync"):
        store = StateStore(path)
    said = caplog.text
    assert "'sync.skipped'" in said and "caldav.sink.cache:" in said
    assert "'google.calendar_id'" in said
    # Each warning names the state file: a daemon's log holds several files' lines.
    dropped = [r.getMessage() for r in caplog.records if "dropping" in r.getMessage()]
    assert len(dropped) == 3 and all(str(path) in m for m in dropped), dropped
    with store.reader() as view:
        assert view.skipped() == []  # as schema 2's loader read it: none
        url = next(iter(_with_text(kv, "caldav.sink.cache:")))
        assert view.caldav_cache(url) is None  # no cache: the sink reads in full
        assert view.session_texts() == _v2_texts(kv)  # the others moved all the same


def test_a_migration_that_fails_midway_leaves_the_v2_file_as_it_was(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _copy(tmp_path, "v2_every_kind.sqlite3")
    before = _dump(path, ("kv", *KEPT))
    moved: list[str] = []

    def failing(real: Callable[..., None]) -> Callable[..., None]:
        def mover(c: sqlite3.Connection, name: str, data: Any) -> None:
            real(c, name, data)
            moved.append(name)
            if name.startswith("google.cache."):  # after others were moved
                raise OSError("disk gone")

        return mover

    movers = {p: failing(m) for p, m in state_schema._JSON_MOVERS.items()}
    monkeypatch.setattr(state_schema, "_JSON_MOVERS", movers)
    with pytest.raises(OSError, match="disk gone"):
        StateStore(path)
    assert len(moved) > 1  # it failed midway, not before it began
    assert _version(path) == 2
    assert _dump(path, ("kv", *KEPT)) == before
    db = sqlite3.connect(path)
    tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    db.close()
    assert "session_texts" not in tables and "google_records" not in tables
    monkeypatch.undo()
    namespace = _kv(path)["install.uid_namespace"]
    with StateStore(path).reader() as view:  # and the next open migrates it whole
        assert view.uid_namespace() == namespace


def _open_at_once(path: str, go: multiprocessing.synchronize.Event) -> None:
    go.wait(30)
    with StateStore(Path(path)).reader() as view:
        assert view.uid_namespace() is not None


def test_calsyncs_opening_a_v2_file_at_once_migrate_it_once(tmp_path: Path) -> None:
    path = _copy(tmp_path, "v2_every_kind.sqlite3")
    kv = _kv(path)
    ctx = multiprocessing.get_context("spawn")
    go = ctx.Event()
    procs = [ctx.Process(target=_open_at_once, args=(str(path), go)) for _ in range(3)]
    for p in procs:
        p.start()
    go.set()
    for p in procs:
        p.join(60)
    assert [p.exitcode for p in procs] == [0, 0, 0]
    assert _version(path) == 3
    with StateStore(path).reader() as view:
        assert view.session_texts() == _v2_texts(kv)
        assert view.skipped() == _v2_skipped(kv)
        assert view.uid_legacy_keys() == frozenset(json.loads(kv["install.uid_legacy_keys"]))


def test_a_v3_file_is_refused_by_a_calsync_that_knows_only_v2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _copy(tmp_path, "v2_every_kind.sqlite3")
    StateStore(path)
    monkeypatch.setattr("calsync.state.SCHEMA_VERSION", 2)
    with pytest.raises(StateError, match="newer calsync \\(schema 3\\)"):
        StateStore(path)
    assert _version(path) == 3


# ---------------------------------------------------------------- syncing after it


def _calsync(folder: Path, *args: str) -> str:
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        code = main(["--config", str(folder / "config.toml"), *args])
    assert code == 0
    return buf.getvalue().replace(str(folder), "INSTALL")


def test_after_the_migration_calsync_does_what_the_v2_code_did(tmp_path: Path) -> None:
    """tests/states/v2_every_kind.expected holds what the code that wrote the file
    showed and wrote from it (make_v2.py `expect`): the same plan (skipped session,
    pin and texts read back), the same ICS file (UIDs, legacy and namespaced, and
    SEQUENCE), the same report; a second sync writes nothing."""
    expected = STATES / "v2_every_kind.expected"
    _copy(tmp_path, "v2_every_kind.sqlite3")
    shutil.copy(CALENDARS / "display_width_titles.ics", tmp_path / "plan.ics")
    shutil.copy(CALENDARS / "display_width_busy.ics", tmp_path / "work.ics")
    shutil.copy(expected / "config.toml", tmp_path / "config.toml")
    later = "2026-12-01T07:00"
    assert _calsync(tmp_path, "--now", later, "plan") == (expected / "plan.txt").read_text()
    first = _calsync(tmp_path, "--now", later, "sync")
    assert (tmp_path / "out.ics").read_bytes() == (expected / "out.ics").read_bytes()
    state = tmp_path / "state" / "state.sqlite3"
    sessions = _dump(state, ("sessions",))
    second = _calsync(tmp_path, "--now", later, "sync")
    assert first + "--- again\n" + second == (expected / "sync.txt").read_text()
    assert _dump(state, ("sessions",)) == sessions
    assert (tmp_path / "out.ics").read_bytes() == (expected / "out.ics").read_bytes()


def test_a_google_sync_after_the_migration_reads_incrementally_and_writes_nothing(
    tmp_path: Path, emulator: CalendarEmulator, fast_retries: None
) -> None:
    """The emulator serves the calendars as the v2 code left them (make_v2.py dumped
    them): the migrated record cache, calendar id and sync token carry on where schema
    2 stopped."""
    dump = json.loads((STATES / "v2_every_kind.expected" / "google_calendars.json").read_text())
    with emulator.lock:
        emulator.calendars = {
            c["id"]: _Calendar(**(c | {"purged": set(c["purged"])})) for c in dump["calendars"]
        }
        emulator.change, emulator.token_epoch = dump["change"], dump["token_epoch"]
    before = {c: emulator.events(c, include_cancelled=True) for c in emulator.calendars}
    state = _copy(tmp_path, "v2_every_kind.sqlite3")
    with StateStore(state).reader() as view:
        strength = view.calendar("google", STRENGTH)
    assert strength is not None and strength in emulator.calendars
    shutil.copy(CALENDARS / "display_width_titles.ics", tmp_path / "plan.ics")
    shutil.copy(CALENDARS / "display_width_busy.ics", tmp_path / "work.ics")
    world = GoogleWorld(emulator, tmp_path)
    world.write_token()
    root = emulator.root
    (tmp_path / "config.toml").write_text(
        (STATES / "v2_every_kind.expected" / "config.toml").read_text().replace("[output.ics]", "")
        .replace('path = "out.ics"', "")
        + '\n[[source]]\ntype = "google"\ncalendar = "primary"\nrole = "runs"\n'
        + f'name = "google runs"\n\n[output.google]\ncalendar = "{STRENGTH}"\n\n'
        + f'[google]\napi_endpoint = "{root}calendar/v3/"\ntoken_uri = "{root}token"\n'
        + f'batch_uri = "{root}batch/calendar/v3"\ntoken_path = "state/google-token.json"\n'
        + 'timeout = "10s"\n'
    )  # fmt: skip
    for _ in range(2):
        got = world.sync("2026-12-01T07:00")
        assert got.code == 0, got.err
        assert "google: 0 created, 0 moved/updated, 0 removed, 1 unchanged" in got.out, got.out
        assert got.writes == 0
        # The sink's one read is incremental: the stored sync token, still Google's.
        reads = [e for e in got.log if f"/calendars/{strength}/" in unquote(e.path)]
        assert reads and all("syncToken" in e.query for e in reads), got.log
    assert {c: emulator.events(c, include_cancelled=True) for c in emulator.calendars} == before


def test_a_caldav_sync_after_the_migration_does_what_the_v2_code_did(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Radicale serves its files as the v2 code's syncs left them, at the URL the state
    names (make_v2.py's fixed port): the same report as that code's two syncs with the
    CalDAV output alone (the session the user deleted stays deleted: the migrated
    `gone` set), and the calendar's resources unchanged, ETag for ETag."""
    expected = STATES / "v2_every_kind.expected"
    shutil.copytree(expected / "radicale", tmp_path / "radicale" / "collections")
    monkeypatch.setattr(server_process, "free_port", lambda host="127.0.0.1": DAV_PORT)
    install = tmp_path / "install"
    _copy(install, "v2_every_kind.sqlite3")
    shutil.copy(CALENDARS / "display_width_titles.ics", install / "plan.ics")
    shutil.copy(CALENDARS / "display_width_busy.ics", install / "work.ics")
    shutil.copy(expected / "config_caldav.toml", install / "config.toml")
    (install / "caldav-password").write_text(PASSWORD + "\n")
    (install / "caldav-password").chmod(0o600)
    with _port_held(DAV_PORT), running_radicale(tmp_path / "radicale", {"runner": PASSWORD}) as dav:
        assert dav.port == DAV_PORT, "the state names the calendar by its URL"
        before = _resources(dav.url)
        assert before == json.loads((expected / "caldav_resources.json").read_text())
        first = _calsync(install, "--now", "2026-12-01T07:00", "sync")
        second = _calsync(install, "--now", "2026-12-01T07:00", "sync")
        assert first + "--- again\n" + second == (expected / "caldav_sync.txt").read_text()
        assert _resources(dav.url) == before


@contextlib.contextmanager
def _port_held(port: int) -> Iterator[None]:
    """The fixed port for this process alone: other runs of this test on the machine
    (a shared one) wait for it. (A check that the port is free is not enough: a second
    Radicale that fails to bind takes the first one's answers for its own.)"""
    lock = Path(tempfile.gettempdir()) / f"calsync-tests-port-{port}.lock"
    with lock.open("a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _resources(url: str) -> dict[str, str]:
    """name -> ETag of every resource of the "Strength" calendar."""
    with DAVClient(url, username="runner", password=PASSWORD, enable_rfc6764=False) as c:
        cal = next(
            x for x in c.get_principal().get_calendars() if x.get_display_name() == "Strength"
        )
        return {
            str(e.url).rsplit("/", 1)[-1]: str(c.request(str(e.url), "GET").headers["ETag"])
            for e in cal.events()
        }


def test_typed_records_round_trip(tmp_path: Path) -> None:
    path = _copy(tmp_path, "v2_every_kind.sqlite3")
    store = StateStore(path)
    with store.reader() as view:
        snapshot = _everything(view)
    with store.writer() as tx:  # writing back what was read changes nothing
        tx.set_session_texts(snapshot["texts"])
        tx.set_skipped(snapshot["skipped"])
        ns = tx.uid_namespace()
        assert ns is not None
        tx.set_uid_namespace(ns, tx.uid_legacy_keys())
        for cal, cache in snapshot["google"].items():
            tx.set_google_records(cal, cache)
        for url, cache in snapshot["caldav"].items():
            tx.set_caldav_cache(url, cache)
    with store.reader() as view:
        assert _everything(view) == snapshot
    with store.writer() as tx:
        tx.set_skipped([])
        tx.set_session_texts({})
        for url in snapshot["caldav"]:
            tx.set_caldav_cache(url, None)
    with store.reader() as view:
        assert view.skipped() == [] and view.session_texts() == {}
        assert all(view.caldav_cache(url) is None for url in snapshot["caldav"])
        assert view.uid_namespace() == ns  # untouched


def _everything(view: StateView) -> dict[str, Any]:
    db = sqlite3.connect(f"file:{view.path}?mode=ro", uri=True)
    google = [str(r[0]) for r in db.execute("SELECT calendar_id FROM google_caches")]
    caldav = [str(r[0]) for r in db.execute("SELECT calendar_url FROM caldav_caches")]
    db.close()
    assert google and caldav
    return {
        "texts": view.session_texts(),
        "skipped": view.skipped(),
        "uids": (view.uid_namespace(), view.uid_legacy_keys()),
        "google": {c: view.google_records(c) for c in google},
        "caldav": {u: view.caldav_cache(u) for u in caldav},
    }
