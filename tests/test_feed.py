"""The feed server over real HTTP: `calsync serve` (waitress) in a subprocess.

The state file is filled here through the real StateStore, exactly as a sync commits
it; test_feed_sync.py does the same through real syncs.
"""

from __future__ import annotations

import gzip
import json
import os
import stat
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import icalendar
import pytest

from calsync.config import load_config
from calsync.feed import FeedApp, FeedSource, _accepts_gzip
from calsync.state import FeedDoc, StateStore, SyncRecord
from tests.service_support import (
    TOKEN,
    Proc,
    calsync_args,
    child_env,
    free_port,
    request,
    run_calsync,
    start_server,
    wait_until,
    write_config,
)

MODIFIED = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)
SECRET_IN_MESSAGE = "password=hunter2"


def render(starts: list[datetime], *, busy: bool = False, sequence: int = 0) -> bytes:
    cal = icalendar.Calendar()
    cal.add("prodid", "-//calsync tests//feed//EN")
    cal.add("version", "2.0")
    for i, s in enumerate(starts):
        ev = icalendar.Event()
        ev.add("uid", f"{'busy' if busy else 'strength'}-{i}@calsync.test")
        ev.add("dtstamp", MODIFIED)
        ev.add("dtstart", s)
        ev.add("dtend", s + timedelta(minutes=45))
        ev.add("sequence", sequence)
        ev.add("summary", "Busy" if busy else f"Strength session {i + 1}")
        if not busy:
            ev.add("description", "Back squat 3x5, RDL 3x8")
        cal.add_component(ev)
    return cal.to_ical()


STARTS = [datetime(2026, 12, 1, 17, 0, tzinfo=UTC), datetime(2026, 12, 3, 17, 0, tzinfo=UTC)]


def put_feeds(store: StateStore, starts: list[datetime], modified: datetime = MODIFIED) -> None:
    with store.writer() as tx:
        tx.put_feed(FeedDoc("strength.ics", render(starts), "x", modified))
        tx.put_feed(FeedDoc("busy.ics", render(starts, busy=True), "y", modified))
        tx.record_sync(SyncRecord(at=modified, ok=True, message=f"ok {SECRET_IN_MESSAGE}"))


@dataclass
class Served:
    proc: Proc
    hostport: str
    store: StateStore
    config: Path

    def get(self, path: str, **headers: str) -> object:
        return request(self.hostport, "GET", path, headers)


def strength_path(token: str = TOKEN) -> str:
    return f"/{token}/strength.ics"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    folder = tmp_path_factory.mktemp("feed")
    cfg = write_config(folder)
    store = StateStore(load_config(cfg).state_path)
    put_feeds(store, STARTS)
    proc, hostport = start_server(cfg)
    with proc:
        yield Served(proc, hostport, store, cfg)
        assert proc.stop() == 0


# --------------------------------------------------------------------------- 200 and 304


def test_serves_the_strength_calendar_with_validators(served: Served) -> None:
    r = request(served.hostport, "GET", strength_path())
    assert r.status == 200
    assert r.headers["content-type"] == "text/calendar; charset=utf-8"
    assert r.body == render(STARTS)
    assert r.headers["content-length"] == str(len(r.body))
    assert r.headers["etag"].startswith('"') and r.headers["etag"].endswith('"')
    assert r.headers["last-modified"] == format_datetime(MODIFIED, usegmt=True)
    assert "private" in r.headers["cache-control"]
    assert "max-age=" in r.headers["cache-control"]
    assert r.headers["vary"] == "Accept-Encoding"
    assert "content-encoding" not in r.headers


def test_etag_and_date_revalidation_give_304(served: Served) -> None:
    first = request(served.hostport, "GET", strength_path())
    etag = first.headers["etag"]
    for headers in (
        {"If-None-Match": etag},
        {"If-None-Match": f"W/{etag}"},
        {"If-None-Match": f'"other", {etag}'},
        {"If-None-Match": "*"},
        {"If-Modified-Since": first.headers["last-modified"]},
        {"If-Modified-Since": format_datetime(MODIFIED + timedelta(hours=1), usegmt=True)},
    ):
        r = request(served.hostport, "GET", strength_path(), headers)
        assert r.status == 304, headers
        assert r.body == b""
        assert r.headers["etag"] == etag
    for headers in (
        {"If-None-Match": '"not-it"'},
        {"If-Modified-Since": format_datetime(MODIFIED - timedelta(seconds=1), usegmt=True)},
        {"If-Modified-Since": "not a date"},
        # If-None-Match wins over a matching If-Modified-Since.
        {"If-None-Match": '"not-it"', "If-Modified-Since": first.headers["last-modified"]},
    ):
        r = request(served.hostport, "GET", strength_path(), headers)
        assert r.status == 200, headers
        assert r.body == first.body


def test_head_has_the_headers_and_no_body(served: Served) -> None:
    get = request(served.hostport, "GET", strength_path())
    head = request(served.hostport, "HEAD", strength_path())
    assert head.status == 200
    assert head.body == b""
    for h in ("content-type", "content-length", "etag", "last-modified", "cache-control"):
        assert head.headers[h] == get.headers[h]
    assert request(served.hostport, "HEAD", "/healthz").status == 200


def test_gzip_when_asked_with_its_own_etag(served: Served) -> None:
    plain = request(served.hostport, "GET", strength_path())
    gz = request(served.hostport, "GET", strength_path(), {"Accept-Encoding": "gzip, deflate"})
    assert gz.status == 200
    assert gz.headers["content-encoding"] == "gzip"
    assert gzip.decompress(gz.body) == plain.body
    assert gz.headers["etag"] != plain.headers["etag"]
    again = request(
        served.hostport,
        "GET",
        strength_path(),
        {"Accept-Encoding": "gzip", "If-None-Match": gz.headers["etag"]},
    )
    assert again.status == 304
    refused = request(
        served.hostport, "GET", strength_path(), {"Accept-Encoding": "gzip;q=0, identity"}
    )
    assert "content-encoding" not in refused.headers
    assert refused.body == plain.body


def test_accept_encoding_parsing() -> None:
    assert _accepts_gzip("gzip")
    assert _accepts_gzip("br, GZIP;q=0.5")
    assert _accepts_gzip("*")
    assert not _accepts_gzip("")
    assert not _accepts_gzip("identity")
    assert not _accepts_gzip("gzip;q=0")
    assert not _accepts_gzip("gzip;q=0.0, br")
    assert not _accepts_gzip("gzip;q=nonsense")


def test_busy_feed_hides_everything_but_the_times(served: Served) -> None:
    r = request(served.hostport, "GET", f"/{TOKEN}/busy.ics")
    assert r.status == 200
    assert r.headers["content-type"] == "text/calendar; charset=utf-8"
    cal = icalendar.Calendar.from_ical(r.body)
    events = list(cal.walk("VEVENT"))
    assert [e.decoded("dtstart") for e in events] == STARTS
    assert all(str(e["summary"]) == "Busy" for e in events)
    assert all("description" not in e for e in events)


# --------------------------------------------------------------------------- refusals


def test_wrong_token_is_the_same_404_as_any_unknown_path(served: Served) -> None:
    unknown = request(served.hostport, "GET", "/nothing-here")
    assert unknown.status == 404
    wrong = [
        TOKEN[:-1] + ("x" if TOKEN[-1] != "x" else "y"),
        TOKEN[:-1],
        TOKEN + "a",
        TOKEN.upper(),
        "",
    ]
    for tok in wrong:
        r = request(served.hostport, "GET", f"/{tok}/strength.ics")
        assert r.status == 404, tok
        assert r.body == unknown.body
        assert "etag" not in r.headers


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/../../../etc/passwd",
        "/%2e%2e/%2e%2e/etc/passwd",
        f"/{TOKEN}/../{TOKEN}/strength.ics",
        f"/{TOKEN}/./strength.ics",
        f"/{TOKEN}//strength.ics",
        f"/{TOKEN}/strength.ics/",
        f"/{TOKEN}/strength.ics/..",
        f"/{TOKEN}/strength.ics%00",
        f"/{TOKEN}/..%2fstate/state.sqlite3",
        f"/{TOKEN}/state.sqlite3",
        f"/{TOKEN}/feed-token",
        f"/{TOKEN}/plan.json/",
        f"/{TOKEN}/index.html",
        "/healthz/",
        "/healthz/../healthz/../config.toml",
        "/config.toml",
        "/" + "a" * 3000,
    ],
)
def test_nothing_outside_the_routes_is_served(served: Served, path: str) -> None:
    r = request(served.hostport, "GET", path)
    assert r.status == 404, (path, r.status)
    assert b"BEGIN:VCALENDAR" not in r.body


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH", "OPTIONS", "PROPFIND"])
def test_only_get_and_head(served: Served, method: str) -> None:
    r = request(served.hostport, method, strength_path(), body=b"")
    assert r.status == 405
    assert r.headers["allow"] == "GET, HEAD"
    assert request(served.hostport, method, "/healthz", body=b"").status == 405
    # A wrong token stays a 404 whatever the method: no hint that the route exists.
    assert request(served.hostport, method, "/x" * 8 + "/strength.ics", body=b"").status == 404


def test_request_size_limits(served: Served) -> None:
    huge = request(served.hostport, "GET", strength_path(), {"X-Big": "a" * 20_000})
    assert huge.status == 431
    body = request(served.hostport, "POST", strength_path(), body=b"a" * 10_000)
    assert body.status == 413


# --------------------------------------------------------------------------- healthz


def test_healthz_reports_the_last_sync_without_secrets(served: Served) -> None:
    r = request(served.hostport, "GET", "/healthz")
    assert r.status == 200
    assert r.headers["content-type"] == "application/json"
    assert r.headers["cache-control"] == "no-store"
    info = json.loads(r.body)
    assert info["status"] == "ok"
    assert info["last_sync"]["ok"] is True
    assert datetime.fromisoformat(info["last_sync"]["at"]) == MODIFIED
    assert info["last_sync"]["age_seconds"] > 0
    assert info["feeds"] == {"strength.ics": MODIFIED.isoformat(), "busy.ics": MODIFIED.isoformat()}
    assert SECRET_IN_MESSAGE.encode() not in r.body
    assert TOKEN.encode() not in r.body


def test_before_any_sync_feeds_are_503_and_healthz_says_never(tmp_path: Path) -> None:
    cfg = write_config(tmp_path)
    proc, hostport = start_server(cfg)
    with proc:
        r = request(hostport, "GET", strength_path())
        assert r.status == 503
        assert r.headers["retry-after"] == "60"
        info = json.loads(request(hostport, "GET", "/healthz").body)
        assert info["last_sync"] is None
        assert info["feeds"] == {"strength.ics": None, "busy.ics": None}
        # The server did not create a state file on the sync's behalf.
        assert not load_config(cfg).state_path.exists()
        # The first sync lands while it runs: served without a restart.
        store = StateStore(load_config(cfg).state_path)
        put_feeds(store, STARTS)
        wait_until(lambda: request(hostport, "GET", strength_path()).status == 200)
        assert proc.stop() == 0


# --------------------------------------------------------------------------- freshness


def test_a_new_sync_is_served_at_once_with_a_new_etag(tmp_path: Path) -> None:
    cfg = write_config(tmp_path)
    store = StateStore(load_config(cfg).state_path)
    put_feeds(store, STARTS)
    proc, hostport = start_server(cfg)
    with proc:
        old = request(hostport, "GET", strength_path())
        moved = [s + timedelta(days=1) for s in STARTS]
        put_feeds(store, moved, MODIFIED + timedelta(minutes=15))
        new = request(hostport, "GET", strength_path(), {"If-None-Match": old.headers["etag"]})
        assert new.status == 200
        assert new.headers["etag"] != old.headers["etag"]
        cal = icalendar.Calendar.from_ical(new.body)
        assert [e.decoded("dtstart") for e in cal.walk("VEVENT")] == moved
        assert proc.stop() == 0


def test_reads_are_not_blocked_by_a_sync_that_is_writing(tmp_path: Path) -> None:
    """WAL: while a sync holds the write transaction, the last committed feed is served."""
    cfg = write_config(tmp_path)
    store = StateStore(load_config(cfg).state_path)
    put_feeds(store, STARTS)
    proc, hostport = start_server(cfg)
    with proc:
        before = request(hostport, "GET", strength_path())
        with store.writer() as tx:
            tx.put_feed(FeedDoc("strength.ics", b"half-written", "z", MODIFIED))
            during = request(hostport, "GET", strength_path(), timeout=5)
            assert during.status == 200
            assert during.body == before.body
        after = request(hostport, "GET", strength_path())
        assert after.body == b"half-written"
        assert proc.stop() == 0


def test_concurrent_readers_during_many_writes_see_whole_documents(tmp_path: Path) -> None:
    cfg = write_config(tmp_path)
    config = load_config(cfg)
    store = StateStore(config.state_path)
    put_feeds(store, STARTS)
    app = FeedApp(FeedSource(config.state_path, recheck_seconds=0.0), TOKEN)
    versions = {render([s + timedelta(days=d) for s in STARTS]) for d in range(20)}
    versions.add(render(STARTS))
    seen: list[bytes] = []
    stop = threading.Event()

    def reader() -> None:
        env = {"REQUEST_METHOD": "GET", "PATH_INFO": strength_path()}
        while not stop.is_set():
            body = b"".join(app(env, lambda status, headers, exc=None: None))  # type: ignore[arg-type,misc]
            seen.append(body)

    threads = [threading.Thread(target=reader) for _ in range(3)]
    for t in threads:
        t.start()
    for d in range(20):
        put_feeds(store, [s + timedelta(days=d) for s in STARTS])
    stop.set()
    for t in threads:
        t.join()
    assert seen
    assert set(seen) <= versions


# --------------------------------------------------------------------------- token and URL


def test_token_is_made_once_private_and_printed_by_feed_url(tmp_path: Path) -> None:
    cfg = write_config(tmp_path, token=None)
    config = load_config(cfg)
    out = run_calsync(cfg, "feed-url").splitlines()
    token_file = config.state_dir / "feed-token"
    token = token_file.read_text().strip()
    assert len(token) >= 40
    assert stat.S_IMODE(os.stat(token_file).st_mode) == 0o600
    assert out == [
        f"http://127.0.0.1:8765/{token}/strength.ics",
        f"webcal://127.0.0.1:8765/{token}/strength.ics",
    ]
    assert run_calsync(cfg, "feed-url", "--busy", "--webcal").strip() == (
        f"webcal://127.0.0.1:8765/{token}/busy.ics"
    )
    # The server uses the same token, and logs the URL without it.
    store = StateStore(config.state_path)
    put_feeds(store, STARTS)
    proc, hostport = start_server(cfg)
    with proc:
        proc.wait_for(r"subscribe to http://127\.0\.0\.1:\d+/" + token[:4] + "…/strength.ics")
        proc.wait_for(r"or webcal://127\.0\.0\.1:\d+/")
        assert request(hostport, "GET", f"/{token}/strength.ics").status == 200
        assert request(hostport, "GET", strength_path()).status == 404
        assert proc.stop() == 0
    assert token not in proc.output
    assert token_file.read_text().strip() == token


def test_binds_to_loopback_by_default(tmp_path: Path) -> None:
    port = free_port()
    cfg = write_config(tmp_path, listen=f"127.0.0.1:{port}")
    text = cfg.read_text().replace(f'listen = "127.0.0.1:{port}"', "")
    cfg.write_text(text)
    assert load_config(cfg).feed.listen == "127.0.0.1:8765"
    cfg.write_text(text.replace("[feed]", f'[feed]\nlisten = "127.0.0.1:{port}"'))
    with Proc(calsync_args(cfg, "serve")) as proc:
        proc.wait_for(rf"listening on http://127\.0\.0\.1:{port}/")
        assert request(f"127.0.0.1:{port}", "GET", "/healthz").status == 200
        assert proc.stop() == 0


# --------------------------------------------------------------------------- gunicorn


def test_the_same_app_runs_under_gunicorn(tmp_path: Path) -> None:
    cfg = write_config(tmp_path)
    store = StateStore(load_config(cfg).state_path)
    put_feeds(store, STARTS)
    port = free_port()
    gunicorn = Path(sys.executable).with_name("gunicorn")
    env = child_env({"CALSYNC_CONFIG": str(cfg)})
    args = [str(gunicorn), "-b", f"127.0.0.1:{port}", "-w", "1", "calsync.feed:make_app()"]
    with Proc(args, env=env) as proc:
        proc.wait_for(r"Booting worker")
        hostport = f"127.0.0.1:{port}"
        wait_until(lambda: _answers(hostport))
        r = request(hostport, "GET", strength_path(), {"Accept-Encoding": "gzip"})
        assert r.status == 200
        assert gzip.decompress(r.body) == render(STARTS)
        assert (
            request(hostport, "GET", strength_path(), {"If-None-Match": r.headers["etag"]}).status
            == 304
        )
        assert request(hostport, "GET", f"/{TOKEN}x/strength.ics").status == 404
        assert request(hostport, "DELETE", strength_path()).status == 405
        assert proc.stop() == 0


def _answers(hostport: str) -> bool:
    try:
        return request(hostport, "GET", "/healthz", timeout=1).status == 200
    except OSError:
        return False
