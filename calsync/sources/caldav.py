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
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from calsync import dav, retry
from calsync.config import Config, SourceSettings
from calsync.errors import SourceError
from calsync.model import Event
from calsync.sources.ics import parse_ics

if TYPE_CHECKING:
    from calsync.state import StateTx

log = logging.getLogger(__name__)

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
        # "name (url calendar 'X')": every message below starts with it, so they name the
        # server URL once; the URL cannot hold a password (dav.check_url refused that).
        self.label = settings.label
        # URL problems are named without the URL: it may hold the password.
        url = dav.check_url(settings.url, settings.name or "caldav source", SourceError)
        self.account = dav.DavAccount.make(
            url=url,
            username=settings.username,
            password_file=settings.password_file,
            timeout=settings.timeout_seconds,
            label=self.label,
            what="a CalDAV source",
            error=SourceError,
        )
        self.url = self.account.url
        self.username = settings.username
        self.timeout = settings.timeout_seconds
        self.limits = settings.limits
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
        password = self.account.password()
        try:
            return retry.call(lambda: self._attempt(window, password), self.policy)
        except dav.errors_to_translate() as e:
            # `from None`: the library's exception stays out of tracebacks and messages.
            raise self.account.translate(e, self._target) from None

    # ------------------------------------------------------------------ one attempt

    def _attempt(
        self, window: tuple[datetime, datetime], password: str | None
    ) -> list[CalendarObject]:
        client: Any = self.account.client(password)
        with client:
            self._target = self.url
            calendar = dav.transient(lambda: self._calendar(client), self.url)
            self._target = str(calendar.url)
            w0, w1 = window
            return dav.transient(
                lambda: self._search(calendar, w0 - _SERVER_MARGIN, w1 + _SERVER_MARGIN),
                self._target,
            )

    def _calendar(self, client: Any) -> Any:
        want = self.settings.calendar.strip()
        url = self.account.calendar_url(want)
        if url is not None:
            return client.calendar(url=url)
        found = self.account.calendars(client)
        names = [n for _, n in found]
        if want:
            hit = self.account.by_name(found, want)
            if hit is not None:
                return hit
            raise SourceError(
                f"{self.label}: no calendar named {want!r} for user {self.username!r}; "
                f"available: {dav.listing(names)}"
            )
        calendars = [c for c, _ in found]
        here = [c for c in calendars if dav.same_url(str(c.url), self.url)]
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
            f"say which one to read with calendar = one of: {dav.listing(names)}"
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
