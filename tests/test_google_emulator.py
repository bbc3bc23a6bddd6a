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
