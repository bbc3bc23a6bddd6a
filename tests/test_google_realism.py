"""Sync behaviours that only show against Google as it really answers (issue 11): what
the Calendar web UI does to an event, deleted ids, errors that are not transient."""

from __future__ import annotations

import html
import json

import pytest

from tests.fakes.google_fixtures import GoogleWorld
from tests.test_google_sync import NOW, first_sync


def _pinned(world: GoogleWorld) -> dict[str, bool]:
    plan = json.loads(world.run("plan", "--json", now=NOW).out)
    return {s["key"]: s["pinned"] for s in plan["sessions"]}


def test_a_description_the_web_ui_turned_into_html_does_not_pin(gworld: GoogleWorld) -> None:
    """Opening and saving an event in Google's web UI may store its text as HTML: the
    session's time is unchanged, so it is not the user's decision and must not pin."""
    sessions = first_sync(gworld)
    key = sorted(sessions)[0]
    text = sessions[key]["description"]
    as_html = "<span>" + "<br>".join(html.escape(line) for line in text.split("\n")) + "</span>"
    assert as_html != text
    gworld.emu.user_patch(gworld.strength_id(), sessions[key]["id"], {"description": as_html})
    out = gworld.sync(NOW)
    assert out.code == 0, out.err
    assert _pinned(gworld)[key] is False
    assert out.writes == 0


def test_a_401_after_a_refresh_says_to_authorise_again(gworld: GoogleWorld) -> None:
    """google-auth refreshes on a 401 and sends the call again; a second 401 means the
    authorisation itself is no good (e.g. the OAuth client was deleted)."""
    gworld.emu.refuse_tokens = True
    out = gworld.sync(NOW)
    assert out.code == 1
    assert "calsync auth google" in out.err
    assert "authorisation" in out.err
    assert any(e.path == "/token" for e in out.log)  # it did refresh first
    assert "authError" not in out.err  # the user's words, not Google's raw error


def test_a_disabled_calendar_api_says_where_to_enable_it(gworld: GoogleWorld) -> None:
    gworld.emu.api_enabled = False
    out = gworld.sync(NOW)
    assert out.code == 1
    assert "enable the Google Calendar API" in out.err
    assert "APIs & Services" in out.err
    assert len([e for e in out.log if e.path.startswith("/calendar/")]) == 1  # no retries


def test_an_expired_sync_token_answered_with_400_means_one_full_read(gworld: GoogleWorld) -> None:
    """Google documents 410 for an expired sync token, and also answers some with 400."""
    first_sync(gworld)
    assert gworld.sync(NOW).requests == 2  # both calendars hold a sync token now
    gworld.emu.expire_sync_tokens(status=400)
    out = gworld.sync(NOW)
    assert out.code == 0, out.err
    assert out.writes == 0
    reads = [e for e in out.log if e.method == "GET" and e.path.endswith("/events")]
    assert [e.status for e in reads].count(400) == 2  # runs and strength calendar, once each
    assert gworld.sync(NOW).requests == 2  # incremental again afterwards


def test_the_strength_calendar_is_read_with_the_same_parameters_each_time(
    gworld: GoogleWorld,
) -> None:
    """Google: a syncToken read must repeat the full read's parameters; without
    showDeleted it sends a deleted event as its id alone."""
    first_sync(gworld)
    strength = f"/calendars/{gworld.strength_id().replace('@', '%40')}/events"
    reads = []
    for _ in range(2):
        out = gworld.sync(NOW)
        reads += [e for e in out.log if e.method == "GET" and e.path.endswith(strength)]
    assert reads and all(e.query.get("showDeleted") == ["true"] for e in reads)
    assert any("syncToken" in e.query for e in reads)


def test_a_stuck_event_id_is_said_once_and_does_not_fail_every_sync(
    gworld: GoogleWorld, caplog: pytest.LogCaptureFixture
) -> None:
    """calsync deleted a session, Google purged it but keeps its id taken: re-creating it
    is a 409 whose event cannot be read (404)."""
    sessions = first_sync(gworld)
    race = gworld.add_run("City 10K race", "2026-12-06T09:00:00+01:00", 60)
    taper = gworld.sync(NOW)
    assert taper.code == 0, taper.err
    gone = [k for k in sessions if k not in gworld.sessions()]
    assert gone, "the taper removed no session: the scenario did not happen"
    for key in gone:
        gworld.emu.purge(gworld.strength_id(), sessions[key]["id"])
    gworld.emu.user_delete("primary", race)
    back = gworld.sync(NOW)
    assert back.code == 0, back.err
    assert "is still taken by an event deleted earlier" in caplog.text
    caplog.clear()
    again = gworld.sync(NOW)
    assert again.code == 0, again.err
    assert "still taken" not in caplog.text
    assert not [p for e in again.log for p in e.parts if p[0] == "POST"]  # not tried again
    assert gworld.sync(NOW).writes == 0


def test_usage_limits_pause_writes_until_a_recorded_time(
    gworld: GoogleWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    """403 quotaExceeded is not a burst: calsync stops writing until a time it records,
    shows it in doctor, and sends no write before then (no hammering every interval)."""
    from datetime import UTC, datetime, timedelta

    from calsync.sinks import google_write as gsink

    clock = [datetime(2026, 11, 22, 19, tzinfo=UTC)]
    monkeypatch.setattr(gsink, "_clock", lambda: clock[0])
    first_sync(gworld)
    gworld.add_run("City 10K race", "2026-12-06T09:00:00+01:00", 60)  # changes to write
    gworld.emu.quota_exceeded = True
    hit = gworld.sync(NOW)
    assert hit.code == 1
    assert "usage limits exceeded" in hit.err and "2026-11-22 20:00 UTC" in hit.err
    assert "writes paused until 2026-11-22 20:00 UTC" in gworld.run("doctor").out
    clock[0] += timedelta(minutes=30)
    paused = gworld.sync(NOW)
    assert paused.code == 1 and "usage limits" in paused.err
    assert paused.writes == 0 and not [e for e in paused.log if "batch" in e.path]
    gworld.emu.quota_exceeded = False
    clock[0] += timedelta(minutes=31)
    done = gworld.sync(NOW)
    assert done.code == 0, done.err
    assert done.writes > 0
    assert "usage limits" not in gworld.run("doctor").out


def test_a_damaged_usage_limit_pause_is_an_error_naming_the_file(gworld: GoogleWorld) -> None:
    """Read as "no pause", a damaged google-quota.json would send writes into a quota
    Google already refused; the sync stops naming the file, and doctor says so."""
    first_sync(gworld)
    pause = gworld.dir / "state" / "google-quota.json"
    pause.write_text('{"until": "2026-11-2')  # cut short
    gworld.add_run("City 10K race", "2026-12-06T09:00:00+01:00", 60)  # changes to write
    out = gworld.sync(NOW)
    assert out.code == 1 and out.writes == 0
    assert f"{pause}: cannot read Google's usage-limit pause (not JSON" in out.err
    doctor = gworld.run("doctor").out
    assert f"{pause}: cannot read Google's usage-limit pause" in doctor
    pause.unlink()
    assert gworld.sync(NOW).code == 0


def test_the_daemon_status_says_until_when_google_writes_are_paused() -> None:
    import dataclasses
    from datetime import UTC, datetime

    from calsync.config import DaemonSettings, default_config
    from calsync.daemon import Daemon
    from calsync.errors import PausedError

    until = datetime(2026, 11, 22, 20, tzinfo=UTC)

    def sync(config: object, now: datetime) -> object:
        raise PausedError("Google Calendar usage limits exceeded", until)

    config = dataclasses.replace(default_config(), daemon=DaemonSettings(interval_seconds=60))
    d = Daemon(config, sync_fn=sync, notify=lambda *a: True)  # type: ignore[arg-type]
    assert d.run_once() is False
    assert "Google writes paused until 2026-11-22 20:00 UTC" in d._status(False, 60)
