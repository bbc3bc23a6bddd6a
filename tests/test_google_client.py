"""The Google client over real HTTP against the emulator: retries, batches, errors, ids."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from calsync import retry
from calsync.config import load_config
from calsync.errors import AuthError
from calsync.google import ids
from calsync.google.client import GoogleApiError, GoogleClient, Op
from tests.fakes.google_emulator import CalendarEmulator
from tests.fakes.google_fixtures import GoogleWorld


def _client(world: GoogleWorld) -> GoogleClient:
    return GoogleClient(load_config(world.dir / "config.toml"))


def _list(client: GoogleClient) -> Any:
    return client.execute(lambda s: s.events().list(calendarId="primary"), "listing")


def _is_list(method: str, path: str) -> bool:
    return method == "GET" and path.endswith("/events")


@given(st.text(min_size=0, max_size=200))
def test_event_ids_are_valid_google_ids_and_give_back_their_key(key: str) -> None:
    eid = ids.event_id(key)
    assert 5 <= len(eid) <= 1024
    assert set(eid) <= set("abcdefghijklmnopqrstuv0123456789")
    assert ids.key_of_id(eid) == key


def test_ids_of_strangers_have_no_key() -> None:
    assert ids.key_of_id("abc123xyz") is None  # not base32hex
    assert ids.key_of_id("0123456789") is None  # base32hex, not ours


def test_429_storm_with_retry_after_is_waited_out(gworld: GoogleWorld) -> None:
    gworld.emu.add_fault(
        "status", count=3, status=429, reason="rateLimitExceeded", retry_after=2, match=_is_list
    )
    client = _client(gworld)
    mark = gworld.emu.mark()
    t0 = time.monotonic()
    assert _list(client)["items"] == []
    log = gworld.emu.since(mark)
    assert [e.status for e in log] == [429, 429, 429, 200]
    # Retry-After 2 s, scaled by 0.001 in tests: at least 6 ms of waiting in all.
    assert time.monotonic() - t0 >= 3 * 2 * retry.TIME_SCALE
    assert client.requests == 4


@pytest.mark.parametrize(
    ("status", "reason"),
    [(500, "backendError"), (503, "backendError"), (403, "userRateLimitExceeded")],
)
def test_transient_statuses_are_retried(gworld: GoogleWorld, status: int, reason: str) -> None:
    gworld.emu.add_fault("status", count=2, status=status, reason=reason, match=_is_list)
    mark = gworld.emu.mark()
    _list(_client(gworld))
    assert [e.status for e in gworld.emu.since(mark)] == [status, status, 200]


def test_other_errors_fail_at_once_with_the_parsed_reason(gworld: GoogleWorld) -> None:
    gworld.emu.add_fault("status", count=5, status=403, reason="forbidden", match=_is_list)
    mark = gworld.emu.mark()
    with pytest.raises(GoogleApiError) as e:
        _list(_client(gworld))
    assert len(gworld.emu.since(mark)) == 1
    assert e.value.status == 403 and e.value.reason == "forbidden"
    assert "listing failed: HTTP 403 forbidden: injected 403 forbidden" in str(e.value)


def test_retries_are_capped_in_attempts(gworld: GoogleWorld) -> None:
    gworld.emu.add_fault("status", count=100, status=500, match=_is_list)
    mark = gworld.emu.mark()
    with pytest.raises(GoogleApiError) as e:
        _list(_client(gworld))
    assert len(gworld.emu.since(mark)) == retry.DEFAULT.max_attempts
    assert e.value.status == 500


def test_a_retry_after_beyond_the_time_budget_gives_up_at_once(
    gworld: GoogleWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(retry, "TIME_SCALE", 1.0)
    gworld.emu.add_fault("status", count=5, status=429, retry_after=3600, match=_is_list)
    mark = gworld.emu.mark()
    t0 = time.monotonic()
    with pytest.raises(GoogleApiError):
        _list(_client(gworld))
    assert time.monotonic() - t0 < 5
    assert len(gworld.emu.since(mark)) == 1


def test_dropped_connections_and_timeouts_are_retried(gworld: GoogleWorld) -> None:
    gworld.emu.add_fault("drop", count=3, match=_is_list)
    gworld.write_config(timeout="0.5s")
    gworld.emu.add_fault("slow", count=1, delay=1.0, match=_is_list)
    client = _client(gworld)
    assert _list(client)["items"] == []
    statuses = [e.status for e in gworld.emu.log if _is_list(e.method, e.path)]
    assert statuses[:3] == [0, 0, 0] and statuses[-1] == 200


def test_batch_retries_only_the_failed_parts(gworld: GoogleWorld) -> None:
    cal = gworld.emu.add_calendar("c@group.calendar.google.com", "Mine", app_created=True)
    gworld.emu.add_fault(
        "status", scope="part", count=2, status=429, retry_after=1, match=lambda m, p: m == "POST"
    )
    body = {
        "start": {"dateTime": "2026-11-24T18:00:00+01:00"},
        "end": {"dateTime": "2026-11-24T19:00:00+01:00"},
    }

    def insert(i: int) -> Op:
        b = dict(body, id=ids.event_id(f"k{i}"), summary=f"s{i}")
        return Op(f"i{i}", lambda s: s.events().insert(calendarId=cal, body=b))

    client = _client(gworld)
    mark = gworld.emu.mark()
    results = client.batch([insert(i) for i in range(3)], "inserting")
    assert all(isinstance(r, dict) for r in results.values()), results
    assert sorted(e["summary"] for e in gworld.emu.events(cal)) == ["s0", "s1", "s2"]
    parts = [len(e.parts) for e in gworld.emu.since(mark)]
    assert parts == [3, 2]  # the second batch carries only the two throttled inserts


def test_batch_of_more_than_fifty_is_split(gworld: GoogleWorld) -> None:
    cal = gworld.emu.add_calendar("c@group.calendar.google.com", "Mine", app_created=True)
    ops = [
        Op(str(i), lambda s, i=i: s.events().get(calendarId=cal, eventId=f"e{i:05d}"))
        for i in range(60)
    ]
    mark = gworld.emu.mark()
    results = _client(gworld).batch(ops, "getting")
    assert all(isinstance(r, GoogleApiError) and r.status == 404 for r in results.values())
    assert [len(e.parts) for e in gworld.emu.since(mark)] == [50, 10]


def test_sync_token_rules_match_google(gworld: GoogleWorld) -> None:
    client = _client(gworld)
    first = _list(client)
    token = first["nextSyncToken"]
    with pytest.raises(GoogleApiError) as e:
        client.execute(
            lambda s: s.events().list(
                calendarId="primary", syncToken=token, timeMin="2026-01-01T00:00:00Z"
            ),
            "listing",
        )
    assert e.value.status == 400
    gworld.emu.expire_sync_tokens()
    with pytest.raises(GoogleApiError) as e:
        client.execute(lambda s: s.events().list(calendarId="primary", syncToken=token), "listing")
    assert (e.value.status, e.value.reason) == (410, "fullSyncRequired")


def test_missing_token_file_says_how_to_authorise(gworld: GoogleWorld) -> None:
    gworld.token_path.unlink()
    with pytest.raises(AuthError, match="run `calsync auth google --client-secrets FILE`"):
        _list(_client(gworld))


def test_a_narrower_token_than_the_config_needs_is_refused(gworld: GoogleWorld) -> None:
    from calsync.google import auth as gauth

    gworld.write_token(scopes=(gauth.EVENTS_READONLY,))
    with pytest.raises(AuthError, match="lacks .*calendar.app.created"):
        _list(_client(gworld))


def test_refreshed_token_is_written_back_with_mode_0600(gworld: GoogleWorld) -> None:
    gworld.write_token(expired=True)
    old = gworld.token_path.read_text()
    _list(_client(gworld))
    assert gworld.token_path.read_text() != old
    assert gworld.token_path.stat().st_mode & 0o777 == 0o600
    assert any(e.path == "/token" for e in gworld.emu.log)


def test_emulator_enforces_least_privilege(emulator: CalendarEmulator, tmp_path: Path) -> None:
    """calsync's three scopes cannot write to the user's own calendar (a guard on us)."""
    from calsync.google import auth as gauth

    world = GoogleWorld(emulator, tmp_path)
    world.write_token()
    world.write_config()
    client = _client(world)
    body = {"start": {"date": "2026-11-24"}, "end": {"date": "2026-11-25"}, "summary": "x"}
    with pytest.raises(AuthError, match="Google refused insert: the authorisation lacks"):
        client.execute(lambda s: s.events().insert(calendarId="primary", body=body), "insert")
    assert gauth.APP_CREATED in gauth.SCOPES


def test_fingerprint_ignores_whitespace_but_not_words_or_times() -> None:
    from datetime import UTC, datetime, timedelta

    t = datetime(2026, 11, 24, 18, tzinfo=UTC)
    base = ids.fingerprint(
        "Strength A", "Squat 3x6\nWhy: after intervals", t, t + timedelta(hours=1)
    )
    assert base == ids.fingerprint(
        "Strength A ", "Squat 3x6\r\n Why: after  intervals\n", t, t + timedelta(hours=1)
    )
    assert base != ids.fingerprint(
        "Strength B", "Squat 3x6\nWhy: after intervals", t, t + timedelta(hours=1)
    )
    assert base != ids.fingerprint(
        "Strength A", "Squat 3x6\nWhy: after intervals", t, t + timedelta(hours=2)
    )
