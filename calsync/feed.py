"""The ICS feed: a small WSGI app serving what the last sync wrote to the state.

Routes (nothing else is served; every other path, and a wrong token, is the same 404):

    GET|HEAD /{token}/strength.ics   the strength calendar
    GET|HEAD /{token}/busy.ics       the same sessions as opaque "Busy" blocks
    GET|HEAD /{token}/               the week view page (HTML; /{token} redirects here)
    GET|HEAD /{token}/plan.json      the plan as `calsync plan --json` prints it
    GET|HEAD /healthz                liveness and the last sync's time and outcome (JSON)

Design: the server does not sync (or plan) by itself. Each sync renders both calendars
and stores the plan JSON into the state file (table `feeds`) inside its one transaction;
the app serves those bytes, and renders the page from the stored plan JSON (cached until
the plan, the last sync or the day changes). It
keeps the rendered documents (and their gzip form) in memory and re-reads the state only
when the state file or its WAL changed (two `stat` calls per request; a reload at least
every few seconds besides, since file times are coarse). Reads go through SQLite's WAL,
so a sync that is writing never blocks or tears a response. `calsync serve --sync` runs
the daemon loop in a thread of the same process; plain `calsync serve` relies on
`calsync daemon` or the systemd timer to keep the state fresh.

Beside this module: `feed_urls` (the addresses subscribers use) and `feed_server`
(waitress with the feed's limits against slow clients).

Under gunicorn (the app is plain WSGI; the config comes from `CALSYNC_CONFIG`):

    CALSYNC_CONFIG=~/.config/calsync/config.toml gunicorn -b 127.0.0.1:8765 \
        --limit-request-line 1024 --limit-request-field_size 8190 'calsync.feed:make_app()'
"""

from __future__ import annotations

import gzip
import hashlib
import hmac
import json
import logging
import os
import re
import secrets
import stat
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from calsync import page
from calsync.atomic import write_file
from calsync.config import Config, default_config_path, load_config
from calsync.errors import DiskFullError, StateError
from calsync.feed_urls import FeedUrls
from calsync.state import StateStore, SyncRecord

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

log = logging.getLogger(__name__)

FEED_NAMES = ("strength.ics", "busy.ics")
PLAN_JSON = page.PLAN_DOC  # "plan.json"
PAGE = ""  # the week view: /{token}/
ROUTES = (*FEED_NAMES, PLAN_JSON, PAGE)
# Headers every token route sends (the token is in the URL: no Referer may carry it).
_TOKEN_HEADERS = [("Referrer-Policy", "no-referrer")]
TOKEN_FILE = "feed-token"
# Longest path we look at: "/" + token + "/" + name; anything longer is not ours.
MAX_PATH = 512
# Calendar apps poll every few minutes to hours; a short max-age keeps an edited plan
# visible soon, and revalidation is a cheap 304.
CACHE_SECONDS = 300
# Reload from the state at least this often even when the files look unchanged.
RECHECK_SECONDS = 5.0


# --------------------------------------------------------------------------- the token


def feed_token(config: Config) -> str:
    """`[feed] token`, or the random token kept in `<state dir>/feed-token` (made once, 0600)."""
    if config.feed.token:
        return config.feed.token
    path = config.state_dir / TOKEN_FILE
    if path.exists():
        return _read_token(path)
    token = secrets.token_urlsafe(32)
    try:
        config.state_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        # Whole or not at all, and never over a token another process made meanwhile.
        write_file(path, token + "\n", mode=0o600, exclusive=True)
    except FileExistsError:
        return _read_token(path)
    except OSError as e:
        raise StateError(f"{path}: cannot create the feed token file: {e}") from None
    log.info("made a new feed token in %s", path)
    return token


def _read_token(path: Path) -> str:
    try:
        st = path.stat()
        token = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError) as e:
        raise StateError(f"{path}: cannot read the feed token: {e}") from None
    if st.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        log.warning("%s is readable by others; making it 0600", path)
        try:
            path.chmod(0o600)
        except OSError as e:
            raise StateError(f"{path}: cannot make the token file private: {e}") from None
    if len(token) < 16:
        raise StateError(
            f"{path}: the feed token is too short or empty",
            hint="delete the file to make a new one (subscribers must then re-subscribe)",
        )
    return token


# --------------------------------------------------------------------------- the cache


@dataclass(frozen=True, slots=True)
class _Doc:
    body: bytes
    gz: bytes
    etag: str  # quoted strong validator of the identity body
    etag_gz: str  # the gzip representation is a different entity: its own validator
    modified: datetime  # whole seconds, as HTTP dates carry
    last_modified: str


@dataclass(frozen=True, slots=True)
class _Snapshot:
    docs: Mapping[str, _Doc]
    last_sync: SyncRecord | None
    loaded_at: float


def _prepare(body: bytes, modified: datetime) -> _Doc:
    tag = hashlib.sha256(body).hexdigest()[:32]
    mod = modified.astimezone(UTC).replace(microsecond=0)
    return _Doc(
        body=body,
        gz=gzip.compress(body, compresslevel=6, mtime=0),
        etag=f'"{tag}"',
        etag_gz=f'"{tag}-gz"',
        modified=mod,
        last_modified=format_datetime(mod, usegmt=True),
    )


class FeedSource:
    """The feed documents and last sync, re-read from the state file only when it changed."""

    def __init__(
        self,
        state_path: Path,
        *,
        recheck_seconds: float = RECHECK_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.state_path = Path(state_path)
        self._wal = self.state_path.with_name(self.state_path.name + "-wal")
        self._recheck = recheck_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._store: StateStore | None = None
        self._key: tuple[object, ...] | None = None
        self._snap = _Snapshot({}, None, float("-inf"))

    def _stat_key(self) -> tuple[object, ...]:
        out: list[object] = []
        for p in (self.state_path, self._wal):
            try:
                st = os.stat(p)
                out.append((st.st_ino, st.st_size, st.st_mtime_ns))
            except FileNotFoundError:
                out.append(None)
        return tuple(out)

    def snapshot(self) -> _Snapshot:
        key = self._stat_key()
        # Read the key before the snapshot: _load sets the snapshot first, then the key.
        if key == self._key:
            snap = self._snap
            if self._clock() - snap.loaded_at < self._recheck:
                return snap
        with self._lock:
            # Another thread may have reloaded while we waited for the lock.
            if key == self._key and self._clock() - self._snap.loaded_at < self._recheck:
                return self._snap
            self._snap = self._load()
            self._key = key
            return self._snap

    def _load(self) -> _Snapshot:
        now = self._clock()
        if not self.state_path.exists():
            # No sync has run: nothing to serve, and nothing to create on its behalf.
            return _Snapshot({}, None, now)
        if self._store is None:
            self._store = StateStore(self.state_path)
        docs: dict[str, _Doc] = {}
        with self._store.reader() as view:
            for name in (*FEED_NAMES, PLAN_JSON):
                doc = view.feed(name)
                if doc is not None:
                    old = self._snap.docs.get(name)
                    if old is not None and old.body == doc.body:
                        docs[name] = old  # unchanged: skip re-hashing and re-compressing
                    else:
                        docs[name] = _prepare(doc.body, doc.modified)
            last = view.last_sync()
        return _Snapshot(docs, last, now)


# --------------------------------------------------------------------------- the app

Headers = list[tuple[str, str]]

_NOT_FOUND = b"not found\n"
_TEXT = ("Content-Type", "text/plain; charset=utf-8")
_STATUS = {
    200: "200 OK",
    301: "301 Moved Permanently",
    304: "304 Not Modified",
    404: "404 Not Found",
    405: "405 Method Not Allowed",
    503: "503 Service Unavailable",
}


def _accepts_gzip(header: str) -> bool:
    for part in header.split(","):
        coding, _, params = part.strip().partition(";")
        if coding.strip().lower() not in ("gzip", "x-gzip", "*"):
            continue
        q = 1.0
        for param in params.split(";"):
            k, _, v = param.strip().partition("=")
            if k.strip().lower() == "q":
                try:
                    q = float(v)
                except ValueError:
                    q = 0.0
        return q > 0
    return False


def _etag_matches(header: str, doc: _Doc) -> bool:
    """If-None-Match uses the weak comparison: W/ is ignored; either encoding's tag counts."""
    if header.strip() == "*":
        return True
    ours = {doc.etag, doc.etag_gz}
    for raw in header.split(","):
        tag = raw.strip()
        if tag.startswith("W/"):
            tag = tag[2:]
        if tag in ours:
            return True
    return False


def _not_modified_since(header: str, doc: _Doc) -> bool:
    try:
        since = parsedate_to_datetime(header)
    except (TypeError, ValueError, IndexError):
        return False
    if since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    return doc.modified <= since


class FeedApp:
    """The WSGI application. Thread-safe: waitress and gunicorn call it from many threads."""

    def __init__(
        self,
        source: FeedSource,
        token: str,
        *,
        cache_seconds: int = CACHE_SECONDS,
        wall_clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        base_url: str | None = None,
    ) -> None:
        if len(token) < 16:
            raise ValueError("the feed token must be at least 16 characters")
        self.source = source
        self._token = token.encode("ascii")
        self._token_str = token
        self._cache_control = f"private, max-age={int(cache_seconds)}"
        self._now = wall_clock
        self._base_url = base_url.rstrip("/") if base_url else None
        self._pages = _PageCache()

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        method = str(environ.get("REQUEST_METHOD", "GET")).upper()
        path = str(environ.get("PATH_INFO", "") or "/")
        route = self._route(path)
        if route is None:
            return self._send(start_response, 404, [_TEXT], _NOT_FOUND, method)
        if method not in ("GET", "HEAD"):
            headers = [_TEXT, ("Allow", "GET, HEAD")]
            return self._send(start_response, 405, headers, b"method not allowed\n", method)
        try:
            snap = self.source.snapshot()
        except (StateError, DiskFullError) as e:  # damaged; no room for the WAL index
            log.error("cannot read the state: %s", e)
            body = b'{"status": "error", "error": "state unreadable"}\n'
            if route == "healthz":
                json_headers = [("Content-Type", "application/json"), ("Cache-Control", "no-store")]
                return self._send(start_response, 503, json_headers, body, method)
            return self._send(start_response, 503, [_TEXT], b"state unreadable\n", method)
        if route == "healthz":
            return self._healthz(snap, start_response, method)
        if route == "redirect":
            headers = [_TEXT, ("Location", f"/{self._token_str}/"), *_TOKEN_HEADERS]
            return self._send(start_response, 301, headers, b"see the page\n", method)
        if route == PAGE:
            return self._page(snap, environ, start_response, method)
        return self._feed(route, snap, environ, start_response, method)

    def _route(self, path: str) -> str | None:
        """ "healthz", a name of ROUTES, "redirect" (/{token} without its slash), or None.

        Exact matches only: no files, no traversal.
        """
        if path == "/healthz":
            return "healthz"
        if len(path) > MAX_PATH:
            return None
        parts = path.split("/")
        if len(parts) == 2 and parts[0] == "":
            parts.append("redirect")
        elif len(parts) != 3 or parts[0] != "" or parts[2] not in ROUTES:
            return None
        given = parts[1].encode("latin-1", "replace")
        return parts[2] if hmac.compare_digest(given, self._token) else None

    def _feed(
        self,
        name: str,
        snap: _Snapshot,
        environ: WSGIEnvironment,
        start_response: StartResponse,
        method: str,
    ) -> Iterable[bytes]:
        doc = snap.docs.get(name)
        if doc is None:
            return self._not_yet(start_response, method)
        content_type = _CONTENT_TYPES.get(name, "text/calendar; charset=utf-8")
        return self._doc(name, doc, content_type, environ, start_response, method)

    def _page(
        self,
        snap: _Snapshot,
        environ: WSGIEnvironment,
        start_response: StartResponse,
        method: str,
    ) -> Iterable[bytes]:
        plan_doc = snap.docs.get(PLAN_JSON)
        if plan_doc is None:
            return self._not_yet(start_response, method)
        base = self._base_url or _request_base(environ)
        try:
            doc = self._pages.get(plan_doc, snap.last_sync, self._now(), base, self._token_str)
        except (ValueError, KeyError, TypeError) as e:
            log.error("cannot render the page from the stored plan: %s", e)
            return self._send(start_response, 503, [_TEXT], b"state unreadable\n", method)
        extra = [("Content-Security-Policy", page.content_security_policy())]
        return self._doc(
            "", doc, "text/html; charset=utf-8", environ, start_response, method, extra
        )

    def _not_yet(self, start_response: StartResponse, method: str) -> Iterable[bytes]:
        wait = [_TEXT, ("Retry-After", "60"), ("Cache-Control", "no-store")]
        return self._send(start_response, 503, wait, b"no sync has run yet\n", method)

    def _doc(
        self,
        name: str,
        doc: _Doc,
        content_type: str,
        environ: WSGIEnvironment,
        start_response: StartResponse,
        method: str,
        extra: Sequence[tuple[str, str]] = (),
    ) -> Iterable[bytes]:
        """A stored document with ETag/Last-Modified validation and gzip when accepted."""
        use_gz = _accepts_gzip(str(environ.get("HTTP_ACCEPT_ENCODING", "")))
        etag = doc.etag_gz if use_gz else doc.etag
        headers: Headers = [
            ("ETag", etag),
            ("Last-Modified", doc.last_modified),
            ("Cache-Control", self._cache_control),
            ("Vary", "Accept-Encoding"),
            *_TOKEN_HEADERS,
            *extra,
        ]
        inm = environ.get("HTTP_IF_NONE_MATCH")
        ims = environ.get("HTTP_IF_MODIFIED_SINCE")
        # If-None-Match wins over If-Modified-Since when both are sent (RFC 9110 13.2.2).
        fresh = _etag_matches(inm, doc) if inm is not None else False
        if inm is None and ims is not None:
            fresh = _not_modified_since(ims, doc)
        if fresh:
            return self._send(start_response, 304, headers, b"", method)
        headers.append(("Content-Type", content_type))
        if name:
            headers.append(("Content-Disposition", f'inline; filename="{name}"'))
        if use_gz:
            headers.append(("Content-Encoding", "gzip"))
        return self._send(start_response, 200, headers, doc.gz if use_gz else doc.body, method)

    def _healthz(
        self, snap: _Snapshot, start_response: StartResponse, method: str
    ) -> Iterable[bytes]:
        last = snap.last_sync
        now = self._now()
        info: dict[str, Any] = {
            "status": "ok",
            "last_sync": None,
            "feeds": {
                n: (d.modified.isoformat() if (d := snap.docs.get(n)) else None) for n in FEED_NAMES
            },
        }
        if last is not None:
            # The sync's message can name URLs or files: it stays out of an open endpoint.
            info["last_sync"] = {
                "at": last.at.isoformat(),
                "age_seconds": round((now - last.at).total_seconds()),
                "ok": last.ok,
                "created": last.created,
                "updated": last.updated,
                "deleted": last.deleted,
            }
        body = (json.dumps(info, sort_keys=True) + "\n").encode()
        headers = [("Content-Type", "application/json"), ("Cache-Control", "no-store")]
        return self._send(start_response, 200, headers, body, method)

    @staticmethod
    def _send(
        start_response: StartResponse, code: int, headers: Headers, body: bytes, method: str
    ) -> Iterable[bytes]:
        headers = [*headers, ("X-Content-Type-Options", "nosniff")]
        if code != 304:
            headers.append(("Content-Length", str(len(body))))
        start_response(_STATUS[code], headers)
        return [] if method == "HEAD" or code == 304 else [body]


_CONTENT_TYPES = {PLAN_JSON: "application/json"}
# What a Host header may look like before it goes into the page's subscription links.
_HOST = re.compile(
    r"(?:[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?"
)


def _request_base(environ: WSGIEnvironment) -> str:
    """http(s)://host[:port] as the client reached us, for the page's subscription links."""
    scheme = "https" if environ.get("wsgi.url_scheme") == "https" else "http"
    host = str(environ.get("HTTP_HOST", ""))
    if not _HOST.fullmatch(host):
        name, port = str(environ.get("SERVER_NAME", "localhost")), environ.get("SERVER_PORT")
        host = f"{name}:{port}" if port else name
        if not _HOST.fullmatch(host):
            host = "localhost"
    return f"{scheme}://{host}"


class _PageCache:
    """The rendered week view for the last (plan, last sync, day, base URL) it was asked for.

    The page changes only when the plan document, the last sync record, the local day
    (today's mark) or the base of the subscription links changes; rendering is pure.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[str, tuple[tuple[object, ...], _Doc]] = {}

    def get(
        self,
        plan_doc: _Doc,
        last_sync: SyncRecord | None,
        now: datetime,
        base: str,
        token: str,
    ) -> _Doc:
        data = self._plan(plan_doc)
        zone = ZoneInfo(str(data["timezone"]))
        today = now.astimezone(zone).date()
        key = (plan_doc.etag, last_sync, today)
        with self._lock:
            hit = self._entries.get(base)
            if hit is not None and hit[0] == key:
                return hit[1]
        urls = FeedUrls(f"{base}/{token}/strength.ics", f"{base}/{token}/busy.ics")
        body = page.render_page(data, now=now, last_sync=last_sync, subscribe=urls)
        # Last-Modified: the latest of what the page shows; a new day changes the page too.
        midnight = datetime.combine(today, datetime.min.time(), zone)
        stamps = [plan_doc.modified, midnight] + ([last_sync.at] if last_sync else [])
        doc = _prepare(body.encode("utf-8"), max(stamps))
        with self._lock:
            if len(self._entries) >= 8 and base not in self._entries:
                self._entries.clear()  # many Host names: keep memory bounded
            self._entries[base] = (key, doc)
        return doc

    @staticmethod
    def _plan(plan_doc: _Doc) -> dict[str, Any]:
        data = json.loads(plan_doc.body)
        if not isinstance(data, dict):
            raise ValueError("the stored plan.json is not a JSON object")
        return data


# --------------------------------------------------------------------------- entry points


def app_for(config: Config) -> FeedApp:
    return FeedApp(
        FeedSource(config.state_path), feed_token(config), base_url=config.feed.base_url or None
    )


def make_app(config_path: str | os.PathLike[str] | None = None) -> FeedApp:
    """The app for a WSGI server: config from the argument, `CALSYNC_CONFIG`, or the default."""
    raw = config_path or os.environ.get("CALSYNC_CONFIG") or default_config_path()
    return app_for(load_config(Path(os.path.expanduser(raw))))


_application: FeedApp | None = None


def __getattr__(name: str) -> FeedApp:
    # `gunicorn calsync.feed:application` builds the app on first use, not at import.
    global _application
    if name == "application":
        if _application is None:
            _application = make_app()
        return _application
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
