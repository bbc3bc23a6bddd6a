"""A CalDAV calendar (Radicale, Nextcloud, Baïkal, Fastmail, iCloud...) as a source.

One read is: log in, find the calendar (by URL, by display name, or the principal's only
one), ask the server for the objects that touch the window (a CalDAV time-range
calendar-query, unexpanded, since servers differ in how well they expand), and hand the
iCalendar text of each object to `parse_ics` — so RRULE/EXDATE/RECURRENCE-ID expansion,
repairs and broken-event handling are the same as for ICS feeds.

The password comes from `password_file` (re-read on every sync, so it can be rotated)
and never appears in a message or a log line: messages name the user and the URL only.
Transient failures (connection refused, timeouts, 5xx, 429) are retried by
`calsync.retry` with a small budget; a wrong password, a missing calendar or an answer
that is not CalDAV fails at once.
"""

from __future__ import annotations

import dataclasses
import logging
import stat
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urljoin, urlsplit, urlunsplit

from calsync import retry
from calsync.config import Config, SourceSettings
from calsync.errors import SourceError
from calsync.model import Event
from calsync.sources.ics import parse_ics

if TYPE_CHECKING:
    from calsync.state import StateTx

log = logging.getLogger(__name__)

T = TypeVar("T")

# The server reads floating times and all-day dates in UTC; ours may be 14 h away.
_SERVER_MARGIN = timedelta(days=1)


@dataclasses.dataclass(frozen=True, slots=True)
class CalendarObject:
    """One calendar object resource as the server sent it."""

    href: str
    data: bytes


class CaldavSource:
    """Events of one CalDAV calendar (satisfies `calsync.sources.base.Source`)."""

    def __init__(self, settings: SourceSettings, config: Config) -> None:
        self.settings = settings
        self.role = settings.role
        self.zone = config.schedule.zone
        self.url = _check_url(settings)
        # "name (url calendar 'X')": every message below starts with it, so they name the
        # server URL once; the URL cannot hold a password (_check_url refused that).
        self.label = settings.label
        self.username = settings.username
        self.timeout = settings.timeout_seconds
        self.limits = settings.limits
        if bool(settings.username) != bool(settings.password_file):
            missing = "password_file" if settings.username else "username"
            raise SourceError(
                f"{self.label}: a CalDAV source needs both username and password_file "
                f"(or neither, for a server without login); {missing} is missing"
            )
        self._target = self.url  # what the failing request was about, for messages
        # Retries stay within a few timeouts: a sync should not hang on a dead server.
        self.policy = retry.Policy(
            max_attempts=3, max_seconds=max(10.0, 3 * self.timeout), initial_wait=1.0
        )

    # ------------------------------------------------------------------ public

    def read(self, window: tuple[datetime, datetime], tx: StateTx | None = None) -> list[Event]:
        """Every event occurrence of the calendar that overlaps `window`."""
        objects = self.fetch(window)
        events: list[Event] = []
        for obj in objects:
            where = f"{self.label} ({obj.href})"
            try:
                found = parse_ics(
                    obj.data, label=where, zone=self.zone, window=window, limits=self.limits
                )
            except SourceError as e:
                # One unreadable object (or one holding only a VTODO) must not hide the rest.
                log.warning("%s: skipped: %s", where, e.message)
                continue
            events.extend(dataclasses.replace(ev, source=self.label) for ev in found)
        events.sort(key=lambda e: (e.start, e.end, e.uid or "", e.summary))
        log.info("%s: %d calendar objects, %d events in the window", self.label, len(objects),
                 len(events))  # fmt: skip
        return events

    def fetch(self, window: tuple[datetime, datetime]) -> list[CalendarObject]:
        """The raw objects the server holds for the window (retried, errors translated)."""
        from caldav.lib.error import DAVError
        from lxml.etree import LxmlError  # type: ignore[import-untyped]  # via caldav

        password = self._password()
        try:
            return retry.call(lambda: self._attempt(window, password), self.policy)
        except (retry.TransientError, DAVError, OSError, LxmlError) as e:
            # `from None`: the library's exception stays out of tracebacks and messages.
            raise self._error(e) from None

    # ------------------------------------------------------------------ one attempt

    def _attempt(
        self, window: tuple[datetime, datetime], password: str | None
    ) -> list[CalendarObject]:
        from caldav.davclient import DAVClient

        client: Any = DAVClient(
            url=self.url,
            username=self.username or None,
            password=password,
            timeout=self.timeout,  # type: ignore[arg-type]  # niquests takes float seconds
            enable_rfc6764=False,
        )
        with client:
            self._target = self.url
            calendar = _transient(lambda: self._calendar(client), self.url)
            self._target = str(calendar.url)
            w0, w1 = window
            return _transient(
                lambda: self._search(calendar, w0 - _SERVER_MARGIN, w1 + _SERVER_MARGIN),
                self._target,
            )

    def _calendar(self, client: Any) -> Any:
        want = self.settings.calendar.strip()
        if want and ("://" in want or want.startswith("/")):
            return client.calendar(url=urljoin(self.url, want))
        calendars = list(client.get_principal().get_calendars())
        names = [_calendar_name(c) for c in calendars]
        if want:
            matchers: tuple[Callable[[str], bool], ...] = (
                lambda n: n == want,
                lambda n: n.casefold() == want.casefold(),
            )
            for same in matchers:
                hits = [c for c, n in zip(calendars, names, strict=True) if same(n)]
                if len(hits) == 1:
                    return hits[0]
                if len(hits) > 1:
                    raise SourceError(
                        f"{self.label}: {len(hits)} calendars of user {self.username!r} "
                        f"are named {want!r}",
                        hint="set calendar = the URL of the one to read",
                    )
            hits = [c for c in calendars if _last_segment(str(c.url)) == want]
            if len(hits) == 1:
                return hits[0]
            raise SourceError(
                f"{self.label}: no calendar named {want!r} for user {self.username!r}; "
                f"available: {_listing(names)}"
            )
        here = [c for c in calendars if _same_url(str(c.url), self.url)]
        if here:
            return here[0]  # the configured URL is itself a calendar
        if len(calendars) == 1:
            return calendars[0]
        if not calendars:
            raise SourceError(
                f"{self.label}: user {self.username!r} has no calendars "
                "(or the URL is not a CalDAV server)"
            )
        raise SourceError(
            f"{self.label}: user {self.username!r} has {len(calendars)} calendars; "
            f"say which one to read with calendar = one of: {_listing(names)}"
        )

    def _search(self, calendar: Any, start: datetime, end: datetime) -> list[CalendarObject]:
        found = calendar.search(start=start, end=end, event=True, expand=False, post_filter=False)
        out = []
        for obj in found:
            # raw_data: the text exactly as the server sent it (None only when the library
            # had to re-serialise it, then `data` is the library's text).
            data = obj.raw_data or str(obj.data or "").encode("utf-8")
            if data:
                out.append(CalendarObject(href=str(obj.url), data=data))
        return out

    # ------------------------------------------------------------------ secrets, errors

    def _password(self) -> str | None:
        if not self.settings.password_file:
            return None
        path = Path(self.settings.password_file)
        try:
            mode = path.stat().st_mode
        except FileNotFoundError:
            raise SourceError(f"{self.label}: password_file {path} does not exist") from None
        except OSError as e:
            raise SourceError(f"{self.label}: password_file {path}: {e.strerror}") from None
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise SourceError(
                f"{self.label}: refusing password_file {path}: its mode "
                f"{stat.S_IMODE(mode):04o} lets other users read or change it",
                hint=f"chmod 600 {path}",
            )
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as e:
            reason = e.strerror if isinstance(e, OSError) else "not UTF-8 text"
            raise SourceError(
                f"{self.label}: password_file {path} cannot be read: {reason}"
            ) from None
        password = text.splitlines()[0] if text else ""
        if not password:
            raise SourceError(f"{self.label}: password_file {path} is empty")
        return password

    def _error(self, exc: BaseException) -> SourceError:
        """A SourceError for whatever the attempt raised; no password can be in it."""
        from caldav.lib import error

        cause = exc.__cause__ if isinstance(exc, retry.TransientError) and exc.__cause__ else exc
        who = f"user {self.username!r}" if self.username else "anonymous access"
        if isinstance(cause, error.AuthorizationError):
            if cause.status == 403:
                return SourceError(
                    f"{self.label}: CalDAV server denied {who} access to {self._target} (403)"
                )
            if not self.username:
                return SourceError(
                    f"{self.label}: CalDAV server asks for a login",
                    hint="set username and password_file for this source",
                )
            return SourceError(
                f"{self.label}: CalDAV server refused the login for {who}",
                hint="check username and the password in password_file",
            )
        if isinstance(cause, error.DAVError):
            status = cause.status
            if status == 404 or isinstance(cause, error.NotFoundError):
                return SourceError(
                    f"{self.label}: nothing found at {self._target} (404): "
                    "check the url and calendar settings"
                )
            what = f"HTTP {status}" if status else type(cause).__name__
            said = "" if cause.reason == error.DAVError.reason else f": {_short(cause.reason)}"
            return SourceError(f"{self.label}: CalDAV server failed ({what}){said}")
        if _is_timeout(cause):
            return SourceError(
                f"{self.label}: CalDAV server did not answer within {self.timeout:g} s"
            )
        if isinstance(cause, OSError):
            return SourceError(
                f"{self.label}: cannot connect to the CalDAV server: {_short(_root_reason(cause))}"
            )
        return SourceError(
            f"{self.label}: the server's answer is not usable CalDAV "
            f"({type(cause).__name__}: {_short(str(cause))})"
        )


# --------------------------------------------------------------------------- helpers


def _transient(fn: Callable[[], T], where: str) -> T:
    """Run `fn`, turning the failures worth retrying into `retry.TransientError`.

    Its message (logged by the retry loop) names `where` and the short reason.
    """
    from caldav.lib import error

    try:
        return fn()
    except error.RateLimitError as e:
        raise retry.TransientError(
            f"{where}: HTTP {e.status or 429}", retry_after=e.retry_after_seconds
        ) from e
    except error.AuthorizationError:
        raise
    except error.DAVError as e:
        if e.status is not None and (e.status >= 500 or e.status == 429):
            raise retry.TransientError(f"{where}: HTTP {e.status}") from e
        raise
    except OSError as e:  # niquests/requests connection errors and timeouts are OSErrors
        reason = "no answer (timeout)" if _is_timeout(e) else _root_reason(e)
        raise retry.TransientError(f"{where}: {_short(reason)}") from e


def _check_url(settings: SourceSettings) -> str:
    raw = settings.url.strip()
    label = settings.name or "caldav source"
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise SourceError(
            f"{label}: url must be an http:// or https:// CalDAV server or calendar URL"
        )
    if parts.password is not None:
        # Never echo it: the URL itself holds the secret.
        raise SourceError(
            f"{label}: the CalDAV url holds a password; put it in password_file instead"
        )
    if parts.username is not None:
        netloc = parts.netloc.rsplit("@", 1)[1]
        raw = urlunsplit(parts._replace(netloc=netloc))
    path = urlsplit(raw).path
    if not path.endswith("/"):
        raw = urlunsplit(urlsplit(raw)._replace(path=path + "/"))
    return raw


def _calendar_name(calendar: Any) -> str:
    name = calendar.get_display_name()  # from the listing's PROPFIND, no extra request
    return str(name) if name else _last_segment(str(calendar.url))


def _last_segment(url: str) -> str:
    return urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1]


def _same_url(a: str, b: str) -> bool:
    pa, pb = urlsplit(a), urlsplit(b)
    return (pa.hostname, pa.port, pa.path.rstrip("/")) == (
        pb.hostname,
        pb.port,
        pb.path.rstrip("/"),
    )


def _listing(names: list[str]) -> str:
    return ", ".join(repr(n) for n in sorted(names)) if names else "(none)"


def _is_timeout(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, TimeoutError) or "Timeout" in type(seen).__name__:
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _root_reason(exc: BaseException) -> str:
    """The innermost OS-level reason (e.g. 'Connection refused') of a network error."""
    seen: BaseException | None = exc
    reason = str(exc)
    while seen is not None:
        if isinstance(seen, OSError) and seen.strerror:
            reason = seen.strerror
        seen = seen.__cause__ or seen.__context__
    if "Connection refused" in str(exc):
        return "connection refused"
    if "Name or service not known" in str(exc) or "getaddrinfo" in str(exc):
        return "unknown host name"
    return reason


def _short(text: str, limit: int = 200) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
