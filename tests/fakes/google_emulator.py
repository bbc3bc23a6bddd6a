"""A Google Calendar API v3 emulator: a real HTTP server on 127.0.0.1 for the tests.

The real google-api-python-client talks to it over HTTP, so what the tests prove is what
the client library really sends: paths, query parameters, JSON bodies, multipart batch
requests, `If-Match` headers and OAuth token refreshes.

What it serves (paths as Google's, under `/calendar/v3/`):
- `users/me/calendarList` (list), `calendars` (insert), `calendars/{id}` (get, delete);
- `calendars/{id}/events`: list (paging, `singleEvents` with RRULE expansion,
  `timeMin`/`timeMax`, `privateExtendedProperty`, `showDeleted`, `syncToken` /
  `nextSyncToken` with the same parameter restrictions as Google and 410
  `fullSyncRequired`), get, insert (client-supplied base32hex ids, 409 `duplicate`),
  patch/update (etags, `If-Match`, 412 `conditionNotMet`), delete (410 `deleted`);
- `freeBusy`; the batch endpoint `/batch/calendar/v3`; the OAuth endpoints `/token`
  (refresh_token and authorization_code grants, `invalid_grant` when revoked) and `/auth`
  (redirects straight back with a code, as a user who clicked "Allow").

Scopes are enforced per access token: reading events needs an events scope, free/busy
the freebusy scope, and writing needs `calendar.app.created` on a calendar the app
created (or the full calendar scope). Fault injection (`add_fault`) answers N requests
with a status (429 with Retry-After, 500, 403 rateLimitExceeded), drops the connection
before or after doing the work, or answers slowly. Every request is logged.
"""

from __future__ import annotations

import base64
import email.parser
import hashlib
import http.server
import itertools
import json
import re
import secrets
import threading
import time
import urllib.parse
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import googleapiclient
from dateutil import rrule

SCOPE = "https://www.googleapis.com/auth/"
FULL = SCOPE + "calendar"
APP_CREATED = SCOPE + "calendar.app.created"
# The discovery document google-api-python-client ships: the methods, their paths and the
# scopes each accepts, exactly as Google publishes them.
DISCOVERY = Path(googleapiclient.__file__).parent / "discovery_cache/documents/calendar.v3.json"


@dataclass(frozen=True)
class _Method:
    id: str  # e.g. "calendar.calendarList.list"
    http: str
    pattern: re.Pattern[str]
    scopes: frozenset[str]


def _methods() -> list[_Method]:
    doc = json.loads(DISCOVERY.read_text(encoding="utf-8"))
    out: list[_Method] = []

    def walk(resources: dict[str, Any]) -> None:
        for res in resources.values():
            for m in res.get("methods", {}).values():
                rx = re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(m["path"]))
                out.append(
                    _Method(m["id"], m["httpMethod"], re.compile(rx + "$"), frozenset(m["scopes"]))
                )
            walk(res.get("resources", {}))

    walk(doc["resources"])
    # Literal paths first: "calendars/{id}/events/import" is not events.get.
    out.sort(key=lambda m: m.pattern.pattern.count("[^/]+"))
    return out


METHODS = _methods()
# freeBusy.query limits. Google documents 50 as the most calendars one query may expand
# (`calendarExpansionMax`) and answers more with 400 tooManyCalendarsRequested. The time
# range limit is undocumented: projects report 400 timeRangeTooLong from about 60 days
# (cal.com measured 90); the emulator takes the low end, so it is never more lenient.
FREEBUSY_MAX_RANGE = timedelta(days=60)
FREEBUSY_MAX_CALENDARS = 50
BASE32HEX = re.compile(r"^[a-v0-9]{5,1024}$")
SYNC_FORBIDDEN = ("timeMin", "timeMax", "orderBy", "q", "privateExtendedProperty", "updatedMin")
WRITE_METHODS = ("POST", "PATCH", "PUT", "DELETE")


STATUS_NAMES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ALREADY_EXISTS",
    410: "FAILED_PRECONDITION",
    412: "FAILED_PRECONDITION",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    501: "UNIMPLEMENTED",
    503: "UNAVAILABLE",
}


class ApiFailure(Exception):
    """An error answer in Google's JSON shape (`error.code/message/errors[]/status`)."""

    def __init__(
        self,
        code: int,
        reason: str,
        message: str,
        headers: dict[str, str] | None = None,
        *,
        error_message: str | None = None,
        domain: str = "global",
        details: list[dict[str, Any]] | None = None,
    ) -> None:
        super().__init__(message)
        self.code, self.reason, self.message = code, reason, message
        self.headers = headers or {}
        self.error_message = error_message or message
        self.domain = domain
        self.details = details

    def body(self) -> dict[str, Any]:
        err: dict[str, Any] = {
            "code": self.code,
            "message": self.message,
            "errors": [
                {"message": self.error_message, "domain": self.domain, "reason": self.reason}
            ],
        }
        if self.code in STATUS_NAMES:
            err["status"] = STATUS_NAMES[self.code]
        if self.details:
            err["details"] = self.details
        return {"error": err}


@dataclass
class Fault:
    """Answer the next `count` matching requests badly.

    kind: "status" (answer `status` with `reason`, and Retry-After when set), "drop"
    (close the connection without answering, the work not done), "drop_after" (do the
    work, then close without answering), "slow" (sleep `delay` seconds, then answer),
    "hook" (answer normally: `match` runs first, e.g. to make a user's edit race a write).
    scope: "http" for whole HTTP requests, "part" for the parts of a batch.
    """

    kind: str
    count: int = 1
    status: int = 500
    reason: str = "backendError"
    retry_after: float | None = None
    delay: float = 0.0
    scope: str = "http"
    match: Callable[[str, str], bool] | None = None  # (method, path) -> applies?
    fired: int = 0


@dataclass
class Logged:
    method: str
    path: str
    query: dict[str, list[str]]
    status: int  # 0: the connection was dropped
    parts: list[tuple[str, str, int]] = field(default_factory=list)  # batch parts

    @property
    def writes(self) -> int:
        ops = self.parts if self.parts else [(self.method, self.path, self.status)]
        return sum(
            1
            for m, p, s in ops
            if m in WRITE_METHODS and "/calendar/v3/" in p and not p.endswith("/freeBusy")
        )


@dataclass
class _Calendar:
    id: str
    summary: str
    description: str = ""
    time_zone: str = "UTC"
    app_created: bool = False
    events: dict[str, dict[str, Any]] = field(default_factory=dict)
    seq: dict[str, int] = field(default_factory=dict)  # event id -> change number
    purged: set[str] = field(default_factory=set)  # deleted ids Google no longer returns


@dataclass
class _Token:
    scopes: frozenset[str]
    refresh: str | None = None


class CalendarEmulator:
    """The server and its state. Use as a context manager, or start()/stop()."""

    def __init__(
        self,
        *,
        primary: str = "runner@example.com",
        max_page: int = 250,
        write_burst: int | None = 30,
    ) -> None:
        self.lock = threading.RLock()
        self.primary = primary
        self.max_page = max_page
        self.calendars: dict[str, _Calendar] = {}
        self.add_calendar(primary, primary, app_created=False)
        self.counter = itertools.count(1)
        self.change = 0
        self.token_epoch = 0  # bumping it expires every sync token (410)
        self.stale_token_status = 410
        self.faults: list[Fault] = []
        self.log: list[Logged] = []
        self.access_tokens: dict[str, _Token] = {}
        self.refresh_tokens: dict[str, frozenset[str]] = {}
        self.revoked: set[str] = set()
        self.codes: dict[str, tuple[frozenset[str], bool]] = {}  # code -> (scopes, refresh?)
        # Granular consent: the boxes the user leaves unticked on the consent screen.
        self.untick: set[str] = set()
        self.consented = False  # Google gives a refresh token once, unless prompt=consent
        self.write_burst: int | None = write_burst
        self.quota_exceeded = False  # every write: 403 quotaExceeded
        self.api_enabled = True  # False: 403 accessNotConfigured, as for a new project
        self.refuse_tokens = False  # True: 401 for every access token, even fresh ones
        self.recent_writes: list[float] = []
        self.client_id = "calsync-test.apps.googleusercontent.com"
        self.client_secret = "emulator-secret"
        self._server: http.server.ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> CalendarEmulator:
        emu = self

        class Handler(_Handler):
            emulator = emu

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> CalendarEmulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def root(self) -> str:
        assert self._server is not None, "not started"
        return f"http://127.0.0.1:{self._server.server_address[1]}/"

    # ------------------------------------------------------------------ test helpers

    def add_calendar(
        self, cal_id: str, summary: str, *, app_created: bool = False, time_zone: str = "UTC"
    ) -> str:
        with self.lock:
            self.calendars[cal_id] = _Calendar(
                cal_id, summary, time_zone=time_zone, app_created=app_created
            )
        return cal_id

    def calendar_by_summary(self, summary: str) -> list[str]:
        with self.lock:
            return [c.id for c in self.calendars.values() if c.summary == summary]

    def events(self, cal_id: str, *, include_cancelled: bool = False) -> list[dict[str, Any]]:
        with self.lock:
            cal = self.calendars[self._resolve(cal_id)]
            return [
                json.loads(json.dumps(e))
                for e in cal.events.values()
                if include_cancelled or e.get("status") != "cancelled"
            ]

    def user_insert(self, cal_id: str, body: dict[str, Any]) -> dict[str, Any]:
        """What the user does in the Calendar UI (no scopes, no faults, not logged)."""
        with self.lock:
            return self._insert(self.calendars[self._resolve(cal_id)], dict(body))

    def user_patch(self, cal_id: str, event_id: str, body: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            cal = self.calendars[self._resolve(cal_id)]
            return self._patch(cal, event_id, body, None, replace=False)

    def user_delete(self, cal_id: str, event_id: str) -> None:
        with self.lock:
            self._delete(self.calendars[self._resolve(cal_id)], event_id, None)

    def add_fault(self, kind: str, **kw: Any) -> Fault:
        f = Fault(kind, **kw)
        with self.lock:
            self.faults.append(f)
        return f

    def grant(self, scopes: Iterator[str] | list[str] | tuple[str, ...]) -> tuple[str, str]:
        """A refresh token and a valid access token for these scopes."""
        s = frozenset(scopes)
        refresh = "1//r-" + secrets.token_urlsafe(12)
        access = "ya29.a-" + secrets.token_urlsafe(12)
        with self.lock:
            self.refresh_tokens[refresh] = s
            self.access_tokens[access] = _Token(s, refresh)
        return refresh, access

    def expire_access_tokens(self) -> None:
        with self.lock:
            self.access_tokens.clear()

    def revoke(self, refresh: str) -> None:
        with self.lock:
            self.revoked.add(refresh)
            for k, t in list(self.access_tokens.items()):
                if t.refresh == refresh:
                    del self.access_tokens[k]

    def expire_sync_tokens(self, status: int = 410) -> None:
        """Every sync token given so far stops working: 410 fullSyncRequired, or the 400
        Google also answers for stale tokens."""
        with self.lock:
            self.token_epoch += 1
            self.stale_token_status = status

    def purge(self, cal_id: str, event_id: str) -> None:
        """Google forgets a deleted event: get answers 404, its id stays taken (409)."""
        with self.lock:
            cal = self.calendars[self._resolve(cal_id)]
            assert cal.events[event_id]["status"] == "cancelled"
            del cal.events[event_id]
            cal.purged.add(event_id)

    def mark(self) -> int:
        """A point in the request log; see `since`."""
        with self.lock:
            return len(self.log)

    def since(self, mark: int) -> list[Logged]:
        with self.lock:
            return list(self.log[mark:])

    # ------------------------------------------------------------------ HTTP entry

    def handle(self, h: _Handler) -> None:
        parsed = urllib.parse.urlsplit(h.path)
        path = parsed.path
        query = urllib.parse.parse_qs(parsed.query, keep_blank_values=True)
        length = int(h.headers.get("Content-Length") or 0)
        body = h.rfile.read(length) if length else b""
        entry = Logged(h.command, path, query, 0)
        with self.lock:
            self.log.append(entry)
            fault = self._take_fault("http", h.command, path)
        if fault is not None and fault.kind == "drop":
            h.drop()
            return
        if fault is not None and fault.kind == "slow":
            time.sleep(fault.delay)
        if fault is not None and fault.kind == "status":
            status, headers, out = self._failure(fault)
        elif path == "/batch/calendar/v3":
            status, headers, out = self._batch(h, body, entry)
        elif path == "/token":
            status, headers, out = self._token(body)
        elif path == "/auth":
            status, headers, out = self._auth(query)
        else:
            status, headers, out = self.dispatch(
                h.command, path, query, {k.lower(): v for k, v in h.headers.items()}, body
            )
        entry.status = status
        if fault is not None and fault.kind == "drop_after":
            entry.status = 0
            h.drop()
            return
        h.answer(status, headers, out)

    def _take_fault(self, scope: str, method: str, path: str) -> Fault | None:
        for f in self.faults:
            if f.scope != scope or f.fired >= f.count:
                continue
            if f.match is not None and not f.match(method, path):
                continue
            f.fired += 1
            return f
        return None

    @staticmethod
    def _failure(f: Fault) -> tuple[int, dict[str, str], bytes]:
        headers = {"Content-Type": "application/json; charset=UTF-8"}
        if f.retry_after is not None:
            headers["Retry-After"] = f"{f.retry_after:g}"
        body = ApiFailure(f.status, f.reason, f"injected {f.status} {f.reason}").body()
        return f.status, headers, json.dumps(body).encode()

    # ------------------------------------------------------------------ API dispatch

    def dispatch(
        self,
        method: str,
        path: str,
        query: dict[str, list[str]],
        headers: dict[str, str],
        body: bytes,
    ) -> tuple[int, dict[str, str], bytes]:
        json_headers = {"Content-Type": "application/json; charset=UTF-8"}
        try:
            with self.lock:
                token = self._authenticate(headers)
                result = self._route(method, path, query, headers, body, token)
        except ApiFailure as e:
            return e.code, json_headers | e.headers, json.dumps(e.body()).encode()
        if result is None:
            return 204, {}, b""
        return 200, json_headers, json.dumps(result).encode()

    def _authenticate(self, headers: dict[str, str]) -> _Token:
        auth = headers.get("authorization", "")
        token = self.access_tokens.get(auth.removeprefix("Bearer ").strip())
        if not auth.startswith("Bearer ") or token is None or self.refuse_tokens:
            raise ApiFailure(
                401,
                "authError",
                "Request had invalid authentication credentials. Expected OAuth 2 access "
                "token, login cookie or other valid authentication credential.",
                {"WWW-Authenticate": 'Bearer realm="https://accounts.google.com/"'},
                error_message="Invalid Credentials",
            )
        if not self.api_enabled:
            raise ApiFailure(
                403,
                "accessNotConfigured",
                "Google Calendar API has not been used in project 123456789012 before or it "
                "is disabled. Enable it by visiting https://console.developers.google.com/"
                "apis/api/calendar-json.googleapis.com/overview?project=123456789012 then "
                "retry. If you enabled this API recently, wait a few minutes for the action "
                "to propagate to our systems and retry.",
                domain="usageLimits",
                details=[
                    {
                        "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                        "reason": "SERVICE_DISABLED",
                        "domain": "googleapis.com",
                        "metadata": {
                            "service": "calendar-json.googleapis.com",
                            "consumer": "projects/123456789012",
                        },
                    }
                ],
            )
        return token

    def _route(
        self,
        method: str,
        path: str,
        query: dict[str, list[str]],
        headers: dict[str, str],
        body: bytes,
        token: _Token,
    ) -> dict[str, Any] | None:
        if not path.startswith("/calendar/v3/"):
            raise ApiFailure(404, "notFound", f"no such path {path}")
        rel = path[len("/calendar/v3/") :]
        api = _method_of(method, rel)
        if api is None:
            raise ApiFailure(404, "notFound", f"Not Found: {method} {path}")
        self._need(token, api)
        segs = [urllib.parse.unquote(s) for s in rel.split("/")]
        data = json.loads(body) if body else {}
        q = {k: v[-1] for k, v in query.items()}
        name = api.id.removeprefix("calendar.")
        if name == "calendarList.list":
            return self._calendar_list()
        if name == "calendars.insert":
            return self._insert_calendar(data)
        if name == "freebusy.query":
            return self._freebusy(data)
        if name == "calendarList.get":
            cal = self._calendar(segs[3])
            self._need_calendar(token, api, cal)
            return self._calendar_json(cal) | {
                "kind": "calendar#calendarListEntry",
                "accessRole": "owner",
            }
        if segs[0] != "calendars" or len(segs) < 2:
            raise ApiFailure(501, "notImplemented", f"the emulator does not serve {api.id}")
        cal = self._calendar(segs[1])
        self._need_calendar(token, api, cal)
        if name == "calendars.get":
            return self._calendar_json(cal)
        if name == "calendars.delete":
            del self.calendars[cal.id]
            return None
        if name == "events.list":
            return self._list(cal, q, query)
        if name == "events.insert":
            self._write_rate(token)
            return self._insert(cal, data)
        if name == "events.get":
            return self._get(cal, segs[3])
        if name in ("events.patch", "events.update"):
            self._write_rate(token)
            return self._patch(
                cal, segs[3], data, headers.get("if-match"), replace=name == "events.update"
            )
        if name == "events.delete":
            self._write_rate(token)
            self._delete(cal, segs[3], headers.get("if-match"))
            return None
        raise ApiFailure(501, "notImplemented", f"the emulator does not serve {api.id}")

    # ------------------------------------------------------------------ scopes

    @staticmethod
    def _need(token: _Token, api: _Method) -> None:
        if not token.scopes & api.scopes:
            raise _scope_failure(api)

    @staticmethod
    def _need_calendar(token: _Token, api: _Method, cal: _Calendar) -> None:
        """What the discovery document cannot say: `calendar.app.created` reaches only
        the calendars this app made."""
        usable = token.scopes & api.scopes
        if usable == {APP_CREATED} and not cal.app_created:
            raise _scope_failure(api)

    def _write_rate(self, token: _Token) -> None:
        """Google's write-rate limit: a burst of writes gets 403 `rateLimitExceeded`
        ("Rate Limit Exceeded"), to be retried with backoff. Google publishes no figure;
        the emulator refuses more than `write_burst` writes per user in one second.
        The daily usage limit is another answer: 403 `quotaExceeded`, for hours."""
        if self.quota_exceeded:
            raise ApiFailure(
                403, "quotaExceeded", "Calendar usage limits exceeded.", domain="usageLimits"
            )
        now = time.monotonic()
        recent = [t for t in self.recent_writes if now - t < 1.0]
        if self.write_burst is not None and len(recent) >= self.write_burst:
            self.recent_writes = recent
            raise ApiFailure(403, "rateLimitExceeded", "Rate Limit Exceeded", domain="usageLimits")
        recent.append(now)
        self.recent_writes = recent

    # ------------------------------------------------------------------ calendars

    def _resolve(self, cal_id: str) -> str:
        return self.primary if cal_id == "primary" else cal_id

    def _calendar(self, cal_id: str) -> _Calendar:
        cal = self.calendars.get(self._resolve(cal_id))
        if cal is None:
            raise ApiFailure(404, "notFound", "Not Found")
        return cal

    @staticmethod
    def _calendar_json(cal: _Calendar) -> dict[str, Any]:
        return {
            "kind": "calendar#calendar",
            "id": cal.id,
            "summary": cal.summary,
            "description": cal.description,
            "timeZone": cal.time_zone,
            "etag": f'"{hashlib.sha1(cal.id.encode()).hexdigest()[:12]}"',
        }

    def _calendar_list(self) -> dict[str, Any]:
        items = [
            self._calendar_json(c) | {"kind": "calendar#calendarListEntry", "accessRole": "owner"}
            for c in self.calendars.values()
        ]
        return {"kind": "calendar#calendarList", "items": items}

    def _insert_calendar(self, data: dict[str, Any]) -> dict[str, Any]:
        if not data.get("summary"):
            raise ApiFailure(400, "required", "Missing title.")
        cal_id = uuid.uuid4().hex[:26] + "@group.calendar.google.com"
        cal = _Calendar(
            cal_id,
            data["summary"],
            description=data.get("description", ""),
            time_zone=data.get("timeZone", "UTC"),
            app_created=True,
        )
        self.calendars[cal_id] = cal
        return self._calendar_json(cal)

    # ------------------------------------------------------------------ events

    def _bump(self, cal: _Calendar, ev: dict[str, Any]) -> None:
        self.change += 1
        cal.seq[ev["id"]] = self.change
        ev["etag"] = f'"{self.change:016d}"'
        ev["updated"] = datetime.now(UTC).isoformat().replace("+00:00", "Z")

    def _insert(self, cal: _Calendar, data: dict[str, Any]) -> dict[str, Any]:
        for k in ("start", "end"):
            if k not in data or not ({"date", "dateTime"} & set(data[k])):
                raise ApiFailure(400, "required", f"Missing {k} time.")
        eid = data.get("id")
        if eid is None:
            eid = uuid.uuid4().hex
        elif not BASE32HEX.match(eid):
            raise ApiFailure(400, "invalid", "Invalid resource id value.")
        if eid in cal.events or eid in cal.purged:
            raise ApiFailure(409, "duplicate", "The requested identifier already exists.")
        ev = dict(data)
        ev.update(
            kind="calendar#event",
            id=eid,
            status=data.get("status", "confirmed"),
            iCalUID=f"{eid}@google.com",
            sequence=0,
            created=datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        )
        cal.events[eid] = ev
        self._bump(cal, ev)
        return ev

    def _existing(self, cal: _Calendar, eid: str) -> dict[str, Any]:
        ev = cal.events.get(eid)
        if ev is None:
            ev = self._materialise(cal, eid)
        if ev is None:
            raise ApiFailure(404, "notFound", "Not Found")
        return ev

    def _materialise(self, cal: _Calendar, eid: str) -> dict[str, Any] | None:
        """An instance of a recurring event becomes an event of its own (an exception,
        with `recurringEventId` and `originalStartTime`) when it is first changed."""
        base_id, _, _ = eid.rpartition("_")
        base = cal.events.get(base_id)
        if not base_id or base is None or not base.get("recurrence"):
            return None
        for inst in self._instances(cal, base, None, with_exceptions=False):
            if inst["id"] == eid:
                ev = dict(inst, iCalUID=base.get("iCalUID"))
                cal.events[eid] = ev
                self._bump(cal, ev)
                return ev
        return None

    def _get(self, cal: _Calendar, eid: str) -> dict[str, Any]:
        if eid in cal.purged:
            raise ApiFailure(404, "notFound", "Not Found")
        ev = self._existing(cal, eid)
        if ev.get("status") == "cancelled":
            # Google keeps a deleted event's id, status and times for a while, not all of
            # its data: its private extended properties are not given back.
            return {k: v for k, v in ev.items() if k != "extendedProperties"}
        return ev

    @staticmethod
    def _check_etag(ev: dict[str, Any], if_match: str | None) -> None:
        if if_match is not None and if_match != "*" and if_match != ev["etag"]:
            raise ApiFailure(412, "conditionNotMet", "Precondition Failed")

    def _patch(
        self,
        cal: _Calendar,
        eid: str,
        data: dict[str, Any],
        if_match: str | None,
        *,
        replace: bool,
    ) -> dict[str, Any]:
        if eid in cal.purged:
            raise ApiFailure(404, "notFound", "Not Found")
        ev = self._existing(cal, eid)
        self._check_etag(ev, if_match)
        keep = {k: ev[k] for k in ("kind", "id", "iCalUID", "created", "etag", "sequence")}
        keep |= {k: ev[k] for k in ("recurringEventId", "originalStartTime") if k in ev}
        if replace:
            new = dict(data) | keep
            new.setdefault("status", "confirmed")
        else:
            new = _merge(ev, data)
        for k in ("start", "end"):
            if {"date", "dateTime"} <= set(new.get(k) or {}):
                raise ApiFailure(400, "invalid", f"Invalid {k} time: both date and dateTime.")
        if ("start" in data or "end" in data) and data.get("sequence") is None:
            new["sequence"] = int(ev.get("sequence", 0)) + 1
        cal.events[eid] = new
        self._bump(cal, new)
        return new

    def _delete(self, cal: _Calendar, eid: str, if_match: str | None) -> None:
        if eid in cal.purged:
            raise ApiFailure(410, "deleted", "Resource has been deleted")
        ev = self._existing(cal, eid)
        if ev.get("status") == "cancelled":
            raise ApiFailure(410, "deleted", "Resource has been deleted")
        self._check_etag(ev, if_match)
        ev["status"] = "cancelled"
        self._bump(cal, ev)

    def _list(
        self, cal: _Calendar, q: dict[str, str], query: dict[str, list[str]]
    ) -> dict[str, Any]:
        single = q.get("singleEvents", "false") == "true"
        since: int | None = None
        if "syncToken" in q:
            bad = [k for k in SYNC_FORBIDDEN if k in q]
            if bad:
                raise ApiFailure(
                    400, "invalid", f"syncToken cannot be combined with {', '.join(bad)}"
                )
            if q.get("showDeleted") == "false":
                raise ApiFailure(400, "invalid", "showDeleted cannot be false with syncToken.")
            since = self._decode_sync_token(cal, q["syncToken"], single)
        asked_deleted = q.get("showDeleted", "false") == "true"
        show_deleted = since is not None or asked_deleted
        found: dict[str, dict[str, Any]] = {}
        for eid, ev in cal.events.items():
            changed = since is None or cal.seq[eid] > since
            exception = "recurringEventId" in ev
            cancelled = ev.get("status") == "cancelled"
            if single and exception:
                # Part of its series' expansion; on its own when it changed since the token.
                if since is not None and changed:
                    found[eid] = ev
                continue
            if not changed:
                continue
            if cancelled and not show_deleted and not exception:
                continue  # cancelled exceptions stay in a singleEvents=false list
            if single and not cancelled and ev.get("recurrence"):
                for inst in self._instances(cal, ev, q.get("timeMax")):
                    if inst.get("status") != "cancelled" or show_deleted:
                        found[inst["id"]] = inst
            else:
                found[eid] = ev
        items = [
            e if e.get("status") != "cancelled" or asked_deleted else _minimal(e)
            for e in found.values()
        ]
        if since is None:
            lo = _parse_time(q["timeMin"]) if "timeMin" in q else None
            hi = _parse_time(q["timeMax"]) if "timeMax" in q else None
            items = [e for e in items if _overlaps(e, lo, hi)]
            for prop in query.get("privateExtendedProperty", []):
                k, _, v = prop.partition("=")
                items = [
                    e
                    for e in items
                    if e.get("extendedProperties", {}).get("private", {}).get(k) == v
                ]
        items.sort(key=lambda e: (_start_of(e), e["id"]))
        offset = int(q.get("pageToken", "0") or 0)
        size = min(int(q.get("maxResults", "250")), self.max_page)
        page = items[offset : offset + size]
        out: dict[str, Any] = {
            "kind": "calendar#events",
            "summary": cal.summary,
            "timeZone": cal.time_zone,
            "items": page,
        }
        if offset + size < len(items):
            out["nextPageToken"] = str(offset + size)
        else:
            raw = f"{cal.id}|{self.change}|{int(single)}|{self.token_epoch}"
            out["nextSyncToken"] = base64.urlsafe_b64encode(raw.encode()).decode()
        return out

    def _decode_sync_token(self, cal: _Calendar, token: str, single: bool) -> int:
        try:
            cal_id, change, was_single, epoch = (
                base64.urlsafe_b64decode(token.encode()).decode().split("|")
            )
        except (ValueError, UnicodeDecodeError):
            raise ApiFailure(400, "invalid", "Invalid sync token value.") from None
        if cal_id != cal.id or bool(int(was_single)) != single:
            raise ApiFailure(400, "invalid", "Sync token does not match the request.")
        if int(epoch) != self.token_epoch:
            if self.stale_token_status == 400:
                # Google answers some stale tokens with a 400, not the documented 410.
                raise ApiFailure(400, "invalid", "Invalid sync token value.")
            raise ApiFailure(410, "fullSyncRequired", "Sync token is no longer valid.")
        return int(change)

    def _instances(
        self,
        cal: _Calendar,
        ev: dict[str, Any],
        time_max: str | None,
        *,
        with_exceptions: bool = True,
    ) -> list[dict[str, Any]]:
        """The instances of a recurring event: RRULE minus EXDATE, each replaced by its
        exception (moved or cancelled) when there is one. Ids as Google makes them:
        `{id}_{YYYYMMDDTHHMMSSZ}`, or `{id}_{YYYYMMDD}` for all-day events."""
        rules = [r for r in ev.get("recurrence", []) if r.startswith("RRULE:")]
        if not rules:
            return [ev]
        all_day = "date" in ev["start"]
        start, end = _start_of(ev), _end_of(ev)
        zone = ev["start"].get("timeZone")
        if zone and not all_day:
            start = start.astimezone(ZoneInfo(zone))  # expand in wall time, across DST
        hi = _parse_time(time_max) if time_max else start + timedelta(days=400)
        rule = rrule.rrulestr(rules[0].removeprefix("RRULE:"), dtstart=start)
        excluded = _exdates(ev.get("recurrence", []))
        out = []
        for when in rule.between(start - timedelta(seconds=1), hi, inc=True):
            if when.astimezone(UTC) in excluded or when.date() in excluded:
                continue
            if all_day:
                iid = f"{ev['id']}_{when:%Y%m%d}"
                orig: dict[str, Any] = {"date": when.date().isoformat()}
            else:
                iid = f"{ev['id']}_{when.astimezone(UTC):%Y%m%dT%H%M%SZ}"
                orig = {"dateTime": when.isoformat()} | ({"timeZone": zone} if zone else {})
            if with_exceptions and iid in cal.events:
                out.append(cal.events[iid])
                continue
            inst = {k: v for k, v in ev.items() if k != "recurrence"}
            inst["id"] = iid
            inst["recurringEventId"] = ev["id"]
            inst["originalStartTime"] = orig
            if all_day:
                inst["start"] = orig
                inst["end"] = {"date": (when + (end - _start_of(ev))).date().isoformat()}
            else:
                tz = {"timeZone": zone} if zone else {}
                inst["start"] = {"dateTime": when.isoformat()} | tz
                inst["end"] = {"dateTime": (when + (end - start)).isoformat()} | tz
            out.append(inst)
        return out

    def _freebusy(self, data: dict[str, Any]) -> dict[str, Any]:
        lo, hi = _parse_time(data["timeMin"]), _parse_time(data["timeMax"])
        if hi - lo > FREEBUSY_MAX_RANGE:
            raise ApiFailure(
                400, "timeRangeTooLong", "The requested time range is too long.", domain="calendar"
            )
        if hi <= lo:
            raise ApiFailure(
                400, "timeRangeEmpty", "The specified time range is empty.", domain="calendar"
            )
        if len(data.get("items", [])) > FREEBUSY_MAX_CALENDARS:
            raise ApiFailure(
                400,
                "tooManyCalendarsRequested",
                "The number of calendars requested is too large.",
                domain="calendar",
            )
        out: dict[str, Any] = {}
        for item in data.get("items", []):
            cal = self.calendars.get(self._resolve(item["id"]))
            if cal is None:
                out[item["id"]] = {"errors": [{"domain": "global", "reason": "notFound"}]}
                continue
            busy = []
            for ev in cal.events.values():
                if ev.get("status") == "cancelled" or ev.get("transparency") == "transparent":
                    continue
                if "recurringEventId" in ev:
                    continue  # in its series' instances
                for inst in self._instances(cal, ev, data["timeMax"]):
                    if inst.get("status") == "cancelled":
                        continue
                    if _overlaps(inst, lo, hi):
                        busy.append((_start_of(inst), _end_of(inst)))
            busy.sort()
            out[item["id"]] = {
                "busy": [{"start": _z(max(s, lo)), "end": _z(min(e, hi))} for s, e in busy]
            }
        return {
            "kind": "calendar#freeBusy",
            "timeMin": data["timeMin"],
            "timeMax": data["timeMax"],
            "calendars": out,
        }

    # ------------------------------------------------------------------ batch

    def _batch(self, h: _Handler, body: bytes, entry: Logged) -> tuple[int, dict[str, str], bytes]:
        ctype = h.headers.get("Content-Type", "")
        msg = email.parser.BytesParser().parsebytes(
            b"Content-Type: " + ctype.encode() + b"\r\n\r\n" + body
        )
        if not msg.is_multipart():
            return 400, {}, b"batch body is not multipart/mixed"
        outer_headers = {k.lower(): v for k, v in h.headers.items()}
        answers = []
        for part in msg.get_payload():
            content_id = part["Content-ID"]
            raw = part.get_payload(decode=False)
            method, path, query, headers, sub_body = _parse_http_part(raw)
            headers.setdefault("authorization", outer_headers.get("authorization", ""))
            with self.lock:
                fault = self._take_fault("part", method, path)
            if fault is not None and fault.kind == "status":
                status, rh, out = self._failure(fault)
            else:
                status, rh, out = self.dispatch(method, path, query, headers, sub_body)
            entry.parts.append((method, path, status))
            response_id = "<response-" + content_id.strip("<>") + ">"
            lines = [f"HTTP/1.1 {status} {http.HTTPStatus(status).phrase}"]
            lines += [f"{k}: {v}" for k, v in rh.items()]
            lines.append(f"Content-Length: {len(out)}")
            answers.append(
                "Content-Type: application/http\r\n"
                f"Content-ID: {response_id}\r\n\r\n"
                + "\r\n".join(lines)
                + "\r\n\r\n"
                + out.decode()
            )
        boundary = "batch_" + secrets.token_hex(8)
        text = "".join(f"--{boundary}\r\n{a}\r\n" for a in answers) + f"--{boundary}--\r\n"
        return 200, {"Content-Type": f"multipart/mixed; boundary={boundary}"}, text.encode()

    # ------------------------------------------------------------------ OAuth

    def _token(self, body: bytes) -> tuple[int, dict[str, str], bytes]:
        form = {k: v[-1] for k, v in urllib.parse.parse_qs(body.decode()).items()}
        headers = {"Content-Type": "application/json"}
        grant = form.get("grant_type")
        with self.lock:
            if grant == "refresh_token":
                refresh = form.get("refresh_token", "")
                if refresh not in self.refresh_tokens or refresh in self.revoked:
                    err = {
                        "error": "invalid_grant",
                        "error_description": "Token has been expired or revoked.",
                    }
                    return 400, headers, json.dumps(err).encode()
                scopes = self.refresh_tokens[refresh]
            elif grant == "authorization_code":
                code = form.get("code", "")
                if code not in self.codes:
                    err = {"error": "invalid_grant", "error_description": "Bad code."}
                    return 400, headers, json.dumps(err).encode()
                scopes, with_refresh = self.codes.pop(code)
                refresh = "1//r-" + secrets.token_urlsafe(12)
                self.refresh_tokens[refresh] = scopes
            else:
                err = {"error": "unsupported_grant_type"}
                return 400, headers, json.dumps(err).encode()
            access = "ya29.a-" + secrets.token_urlsafe(12)
            self.access_tokens[access] = _Token(scopes, refresh)
        out = {
            "access_token": access,
            "expires_in": 3599,
            "scope": " ".join(sorted(scopes)),
            "token_type": "Bearer",
        }
        if grant == "authorization_code" and with_refresh:
            out["refresh_token"] = refresh
        return 200, headers, json.dumps(out).encode()

    def _auth(self, query: dict[str, list[str]]) -> tuple[int, dict[str, str], bytes]:
        q = {k: v[-1] for k, v in query.items()}
        code = "4/c-" + secrets.token_urlsafe(8)
        with self.lock:
            granted = frozenset(q.get("scope", "").split()) - self.untick
            # A refresh token comes with access_type=offline, and only on the first
            # consent unless the app asks for the consent screen again.
            with_refresh = q.get("access_type") == "offline" and (
                not self.consented or q.get("prompt") == "consent"
            )
            self.consented = True
            self.codes[code] = (granted, with_refresh)
        target = (
            q["redirect_uri"]
            + "?"
            + urllib.parse.urlencode(
                {"code": code, "state": q.get("state", ""), "scope": " ".join(sorted(granted))}
            )
        )
        return 302, {"Location": target}, b""


# ---------------------------------------------------------------------- HTTP handler


class _Handler(http.server.BaseHTTPRequestHandler):
    emulator: CalendarEmulator
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:  # noqa: N802 (http.server's names)
        self.emulator.handle(self)

    do_POST = do_PATCH = do_PUT = do_DELETE = do_GET  # noqa: N815

    def answer(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def drop(self) -> None:
        self.close_connection = True
        try:
            self.wfile.flush()
            self.connection.shutdown(2)
        except OSError:
            pass

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass


# ---------------------------------------------------------------------- helpers


def _scope_failure(api: _Method) -> ApiFailure:
    """Google's answer to a token without any of the method's scopes."""
    return ApiFailure(
        403,
        "insufficientPermissions",
        "Request had insufficient authentication scopes.",
        {
            "WWW-Authenticate": 'Bearer realm="https://accounts.google.com/", '
            'error="insufficient_scope", scope="' + " ".join(sorted(api.scopes)) + '"'
        },
        error_message="Insufficient Permission",
        details=[
            {
                "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                "reason": "ACCESS_TOKEN_SCOPE_INSUFFICIENT",
                "domain": "googleapis.com",
                "metadata": {
                    "service": "calendar-json.googleapis.com",
                    "method": "calendar.v3." + _rpc_name(api.id),
                },
            }
        ],
    )


def _method_of(http_method: str, rel: str) -> _Method | None:
    """The discovery document's method for a request path (under /calendar/v3/)."""
    for m in METHODS:
        if m.http == http_method and m.pattern.match(rel):
            return m
    return None


def _rpc_name(method_id: str) -> str:
    """ "calendar.calendarList.list" -> "CalendarList.List" (the name in Google's errors)."""
    _, resource, verb = method_id.split(".")
    return resource[0].upper() + resource[1:] + "." + verb[0].upper() + verb[1:]


def _merge(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """Google's patch semantics: objects merge (start and end too), arrays and other
    values are replaced, null removes a field."""
    out = dict(old)
    for k, v in new.items():
        if v is None:
            out.pop(k, None)
        elif isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = _merge(out[k], v)
        else:
            out[k] = v
    return out


def _minimal(ev: dict[str, Any]) -> dict[str, Any]:
    """A deleted event as Google lists it without showDeleted=true (e.g. on a syncToken
    read): its id, status and etag, nothing of its data."""
    keep = ("kind", "etag", "id", "status", "recurringEventId", "originalStartTime")
    return {k: ev[k] for k in keep if k in ev}


def _exdates(recurrence: list[str]) -> set[Any]:
    """EXDATE values (UTC instants, or dates for all-day series)."""
    out: set[Any] = set()
    for line in recurrence:
        if not line.startswith("EXDATE"):
            continue
        head, _, values = line.partition(":")
        params = dict(p.split("=", 1) for p in head.split(";")[1:] if "=" in p)
        for v in values.split(","):
            if len(v) == 8:
                out.add(date(int(v[:4]), int(v[4:6]), int(v[6:])))
                continue
            naive = datetime.strptime(v.rstrip("Z"), "%Y%m%dT%H%M%S")
            if v.endswith("Z"):
                out.add(naive.replace(tzinfo=UTC))
            else:
                out.add(naive.replace(tzinfo=ZoneInfo(params.get("TZID", "UTC"))).astimezone(UTC))
    return out


def _parse_http_part(
    raw: str,
) -> tuple[str, str, dict[str, list[str]], dict[str, str], bytes]:
    text = raw.replace("\r\n", "\n")
    head, _, body = text.partition("\n\n")
    first, *header_lines = head.split("\n")
    method, target, _ = first.split(" ", 2)
    parsed = urllib.parse.urlsplit(target)
    headers = {}
    for line in header_lines:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    query = urllib.parse.parse_qs(parsed.query, keep_blank_values=True)
    return method, parsed.path, query, headers, body.encode()


def _parse_time(s: str) -> datetime:
    d = datetime.fromisoformat(s.replace("Z", "+00:00"))
    return d if d.tzinfo else d.replace(tzinfo=UTC)


def _when(t: dict[str, Any]) -> datetime:
    if "dateTime" in t:
        return _parse_time(t["dateTime"])
    return datetime.combine(date.fromisoformat(t["date"]), datetime.min.time(), UTC)


def _start_of(ev: dict[str, Any]) -> datetime:
    return _when(ev["start"]) if "start" in ev else datetime.min.replace(tzinfo=UTC)


def _end_of(ev: dict[str, Any]) -> datetime:
    return _when(ev["end"]) if "end" in ev else datetime.min.replace(tzinfo=UTC)


def _overlaps(ev: dict[str, Any], lo: datetime | None, hi: datetime | None) -> bool:
    if "start" not in ev:
        return True
    return (lo is None or _end_of(ev) > lo) and (hi is None or _start_of(ev) < hi)


def _z(d: datetime) -> str:
    return d.astimezone(UTC).isoformat().replace("+00:00", "Z")
