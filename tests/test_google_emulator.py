"""The emulator refuses what Google refuses: these tests hold it to Google's documents."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

import pytest

from tests.fakes.google_emulator import DISCOVERY, SCOPE, CalendarEmulator


def _call(
    emu: CalendarEmulator, token: str, method: str, path: str, body: Any = None
) -> tuple[int, dict[str, str], Any]:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(
        emu.root + "calendar/v3/" + path,
        data=data,
        method=method,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            raw = r.read()
            return r.status, dict(r.headers), json.loads(raw) if raw else None
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), json.loads(e.read())


def _scopes_of(method_id: str) -> set[str]:
    doc = json.loads(DISCOVERY.read_text())
    resource, verb = method_id.split(".")[1:]
    return set(doc["resources"][resource]["methods"][verb]["scopes"])


def test_calendar_list_is_refused_with_app_created_as_google_refuses_it() -> None:
    """calendarList.list is not among calendar.app.created's methods in the discovery
    document: Google answers 403 insufficientPermissions, in this shape."""
    assert SCOPE + "calendar.app.created" not in _scopes_of("calendar.calendarList.list")
    with CalendarEmulator() as emu:
        _, token = emu.grant([SCOPE + "calendar.app.created"])
        status, headers, body = _call(emu, token, "GET", "users/me/calendarList")
    assert status == 403
    err = body["error"]
    assert err["code"] == 403 and err["status"] == "PERMISSION_DENIED"
    assert err["message"] == "Request had insufficient authentication scopes."
    assert err["errors"] == [
        {
            "message": "Insufficient Permission",
            "domain": "global",
            "reason": "insufficientPermissions",
        }
    ]
    info = err["details"][0]
    assert info["reason"] == "ACCESS_TOKEN_SCOPE_INSUFFICIENT"
    assert info["metadata"]["method"] == "calendar.v3.CalendarList.List"
    assert 'error="insufficient_scope"' in headers["WWW-Authenticate"]


@pytest.mark.parametrize(
    ("scope", "method", "path", "allowed"),
    [
        ("calendar.calendarlist.readonly", "GET", "users/me/calendarList", True),
        ("calendar.readonly", "GET", "users/me/calendarList", True),
        ("calendar.events.readonly", "GET", "users/me/calendarList", False),
        ("calendar.events.readonly", "POST", "freeBusy", False),
        ("calendar.freebusy", "POST", "freeBusy", True),
        ("calendar.freebusy", "GET", "calendars/primary/events", False),
        ("calendar.events.readonly", "GET", "calendars/primary/events", True),
        ("calendar.events.readonly", "POST", "calendars/primary/events", False),
        ("calendar.calendarlist.readonly", "POST", "calendars", False),
        ("calendar.app.created", "GET", "calendars/primary/events", False),  # not its calendar
    ],
)
def test_each_method_takes_the_scopes_of_the_discovery_document(
    scope: str, method: str, path: str, allowed: bool
) -> None:
    body = {"timeMin": "2026-11-30T00:00:00Z", "timeMax": "2026-12-01T00:00:00Z", "items": []}
    if path == "calendars":
        body = {"summary": "x"}
    if method == "POST" and path.endswith("/events"):
        body = {"start": {"date": "2026-11-30"}, "end": {"date": "2026-12-01"}}
    with CalendarEmulator() as emu:
        _, token = emu.grant([SCOPE + scope])
        status, _, answer = _call(emu, token, method, path, body if method == "POST" else None)
    if allowed:
        assert status == 200, answer
    else:
        assert status == 403 and answer["error"]["errors"][0]["reason"] == (
            "insufficientPermissions"
        )


def test_app_created_reaches_the_calendars_the_app_made() -> None:
    with CalendarEmulator() as emu:
        _, token = emu.grant([SCOPE + "calendar.app.created"])
        status, _, cal = _call(emu, token, "POST", "calendars", {"summary": "Strength"})
        assert status == 200
        cid = urllib.parse.quote(cal["id"])
        ev = {"start": {"date": "2026-11-30"}, "end": {"date": "2026-12-01"}}
        assert _call(emu, token, "POST", f"calendars/{cid}/events", ev)[0] == 200
        assert _call(emu, token, "GET", f"calendars/{cid}/events")[0] == 200
        assert _call(emu, token, "GET", f"users/me/calendarList/{cid}")[0] == 200


FULL = SCOPE + "calendar"


def _events(emu: CalendarEmulator, token: str, query: str) -> dict[str, Any]:
    status, _, body = _call(emu, token, "GET", f"calendars/primary/events?{query}")
    assert status == 200, body
    return body  # type: ignore[no-any-return]


def _ev(start: str, minutes: int = 60, **extra: Any) -> dict[str, Any]:
    from datetime import datetime, timedelta

    begin = datetime.fromisoformat(start)
    return {
        "summary": "Run",
        "start": {"dateTime": begin.isoformat(), "timeZone": "Europe/Berlin"},
        "end": {
            "dateTime": (begin + timedelta(minutes=minutes)).isoformat(),
            "timeZone": "Europe/Berlin",
        },
    } | extra


def test_a_deleted_event_read_with_a_sync_token_is_only_its_id() -> None:
    with CalendarEmulator() as emu:
        _, token = emu.grant([FULL])
        props = {"private": {"calsync": "1"}}
        eid = emu.user_insert(
            "primary", _ev("2026-12-01T18:00:00+01:00", extendedProperties=props)
        )["id"]
        sync = _events(emu, token, "")["nextSyncToken"]
        emu.user_delete("primary", eid)
        (gone,) = _events(emu, token, f"syncToken={sync}")["items"]
        assert set(gone) <= {"kind", "etag", "id", "status"} and gone["status"] == "cancelled"
        (full,) = _events(emu, token, f"syncToken={sync}&showDeleted=true")["items"]
        assert full["summary"] == "Run" and full["status"] == "cancelled"
        status, _, _ = _call(
            emu, token, "GET", f"calendars/primary/events?syncToken={sync}&showDeleted=false"
        )
        assert status == 400
        # get keeps the id and status a while, not the private properties; then 404.
        status, _, got = _call(emu, token, "GET", f"calendars/primary/events/{eid}")
        assert status == 200 and got["status"] == "cancelled" and "extendedProperties" not in got
        emu.purge("primary", eid)
        assert _call(emu, token, "GET", f"calendars/primary/events/{eid}")[0] == 404
        again = _ev("2026-12-01T18:00:00+01:00", id=eid)
        assert _call(emu, token, "POST", "calendars/primary/events", again)[0] == 409


def test_recurring_instances_follow_exdate_moves_and_cancellations() -> None:
    with CalendarEmulator() as emu:
        _, token = emu.grant([FULL])
        series = _ev(
            "2026-11-23T18:00:00+01:00",
            recurrence=["RRULE:FREQ=WEEKLY;COUNT=5", "EXDATE;TZID=Europe/Berlin:20261130T180000"],
        )
        sid = emu.user_insert("primary", series)["id"]
        emu.user_patch(
            "primary",
            f"{sid}_20261207T170000Z",
            {
                "start": {"dateTime": "2026-12-08T19:00:00+01:00"},
                "end": {"dateTime": "2026-12-08T20:00:00+01:00"},
            },
        )
        emu.user_delete("primary", f"{sid}_20261214T170000Z")
        items = _events(emu, token, "singleEvents=true")["items"]
        assert [(e["id"].rsplit("_", 1)[1], e["start"]["dateTime"][:16]) for e in items] == [
            ("20261123T170000Z", "2026-11-23T18:00"),
            ("20261207T170000Z", "2026-12-08T19:00"),  # moved: its id stays the original's
            ("20261221T170000Z", "2026-12-21T18:00"),
        ]
        moved = items[1]
        assert moved["recurringEventId"] == sid
        assert moved["originalStartTime"]["dateTime"][:16] == "2026-12-07T18:00"
        # Without singleEvents: the series, and its exceptions (the cancelled one too).
        raw = _events(emu, token, "")["items"]
        assert {e["id"]: e["status"] for e in raw} == {
            sid: "confirmed",
            f"{sid}_20261207T170000Z": "confirmed",
            f"{sid}_20261214T170000Z": "cancelled",
        }


def test_all_day_instances_have_date_ids() -> None:
    with CalendarEmulator() as emu:
        _, token = emu.grant([FULL])
        body = {
            "summary": "Long run",
            "start": {"date": "2026-11-29"},
            "end": {"date": "2026-11-30"},
            "recurrence": ["RRULE:FREQ=WEEKLY;COUNT=2"],
        }
        sid = emu.user_insert("primary", body)["id"]
        items = _events(emu, token, "singleEvents=true")["items"]
        assert [e["id"] for e in items] == [f"{sid}_20261129", f"{sid}_20261206"]
        assert items[1]["originalStartTime"] == {"date": "2026-12-06"}


def test_patch_merges_objects_and_replaces_arrays() -> None:
    with CalendarEmulator() as emu:
        _, token = emu.grant([FULL])
        body = _ev(
            "2026-12-01T18:00:00+01:00",
            extendedProperties={"private": {"a": "1", "b": "2"}},
            recurrence=["RRULE:FREQ=DAILY;COUNT=3"],
        )
        eid = emu.user_insert("primary", body)["id"]
        patch = {
            "start": {"dateTime": "2026-12-01T19:00:00+01:00"},
            "extendedProperties": {"private": {"b": "3"}},
            "recurrence": ["RRULE:FREQ=DAILY;COUNT=2"],
            "summary": None,
        }
        status, _, ev = _call(emu, token, "PATCH", f"calendars/primary/events/{eid}", patch)
        assert status == 200
        assert ev["start"] == {"dateTime": "2026-12-01T19:00:00+01:00", "timeZone": "Europe/Berlin"}
        assert ev["extendedProperties"]["private"] == {"a": "1", "b": "3"}
        assert ev["recurrence"] == ["RRULE:FREQ=DAILY;COUNT=2"]
        assert "summary" not in ev


def test_a_burst_of_writes_meets_rate_limit_403s() -> None:
    with CalendarEmulator(write_burst=5) as emu:
        _, token = emu.grant([FULL])
        answers = [
            _call(
                emu, token, "POST", "calendars/primary/events", _ev(f"2026-12-0{i}T18:00:00+01:00")
            )
            for i in range(1, 9)
        ]
    refused = [b["error"]["errors"][0]["reason"] for s, _, b in answers if s == 403]
    assert refused and set(refused) == {"rateLimitExceeded"}
    assert sum(1 for s, _, _ in answers if s == 200) == 5
