"""What the CalDAV sink says to a server and reads back, without the sending.

XML request bodies (PROPFIND, MKCALENDAR, sync-collection per RFC 6578, calendar-query
and calendar-multiget per RFC 4791), the parsing of a 207 multistatus answer, the
resource name of a session key, and the reading of one calendar object resource into
what calsync keeps of it (`Remote`): its key if it is one of ours, its times, the hash
calsync wrote and whether the user edited it since.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from urllib.parse import unquote, urljoin, urlsplit
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

import icalendar

from calsync.google.ids import fingerprint
from calsync.ics_write import MARKER
from calsync.sinks.caldav_records import Remote as Remote

DAV = "DAV:"
CALDAV = "urn:ietf:params:xml:ns:caldav"
HASH_PROP = "X-CALSYNC-HASH"  # content hash of what calsync wrote (calsync.diff)
FP_PROP = "X-CALSYNC-FP"  # fingerprint of what the user sees, as calsync wrote it
ALARM_PROP = "X-CALSYNC-ALARM"  # the alarm_minutes calsync wrote ("" for none)
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")

XML_HEAD = '<?xml version="1.0" encoding="utf-8"?>\n'


def resource_name(key: str) -> str:
    """`<key>.ics` made safe for a URL path segment ("2026-11-23/1" -> "2026-11-23-1.ics")."""
    return f"{_UNSAFE.sub('-', key)}.ics"


def slug(name: str) -> str:
    """The path segment calsync gives a calendar it makes, from its display name."""
    s = _UNSAFE.sub("-", name.strip().lower()).strip("-.")
    return f"calsync-{s or 'calendar'}"


# --------------------------------------------------------------------------- requests


def propfind_calendar() -> str:
    return (
        XML_HEAD + '<d:propfind xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav">'
        "<d:prop><d:resourcetype/><d:displayname/><d:sync-token/><d:supported-report-set/>"
        "<d:current-user-privilege-set/></d:prop></d:propfind>"
    )


def propfind_privileges() -> str:
    return (
        XML_HEAD + '<d:propfind xmlns:d="DAV:"><d:prop><d:current-user-privilege-set/>'
        "<d:resourcetype/></d:prop></d:propfind>"
    )


def mkcalendar(name: str) -> str:
    return (
        XML_HEAD + '<c:mkcalendar xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav">'
        f"<d:set><d:prop><d:displayname>{escape(name)}</d:displayname>"
        '<c:supported-calendar-component-set><c:comp name="VEVENT"/>'
        "</c:supported-calendar-component-set></d:prop></d:set></c:mkcalendar>"
    )


def sync_collection(token: str | None) -> str:
    return (
        XML_HEAD + '<d:sync-collection xmlns:d="DAV:">'
        f"<d:sync-token>{escape(token or '')}</d:sync-token>"
        "<d:sync-level>1</d:sync-level><d:prop><d:getetag/></d:prop></d:sync-collection>"
    )


def _utc_stamp(d: datetime) -> str:
    return d.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def calendar_query(start: datetime, end: datetime) -> str:
    return (
        XML_HEAD + '<c:calendar-query xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav">'
        '<d:prop><d:getetag/></d:prop><c:filter><c:comp-filter name="VCALENDAR">'
        '<c:comp-filter name="VEVENT">'
        f'<c:time-range start="{_utc_stamp(start)}" end="{_utc_stamp(end)}"/>'
        "</c:comp-filter></c:comp-filter></c:filter></c:calendar-query>"
    )


def multiget(hrefs: Iterable[str]) -> str:
    refs = "".join(f"<d:href>{escape(h)}</d:href>" for h in hrefs)
    return (
        XML_HEAD + '<c:calendar-multiget xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav">'
        f"<d:prop><d:getetag/><c:calendar-data/></d:prop>{refs}</c:calendar-multiget>"
    )


# --------------------------------------------------------------------------- answers


@dataclass(frozen=True, slots=True)
class Entry:
    """One <response> of a multistatus: a resource, its status and its found properties."""

    href: str  # absolute path, percent-decoded
    status: int  # of the resource (404: gone), else of its 200 propstat
    etag: str | None = None
    data: str | None = None  # calendar-data
    props: frozenset[str] = frozenset()  # "{ns}name" of every property found (200)
    displayname: str | None = None
    is_calendar: bool = False
    reports: frozenset[str] = frozenset()  # supported-report-set, "{ns}name"
    privileges: frozenset[str] = frozenset()
    sync_token: str | None = None


@dataclass(frozen=True, slots=True)
class Multistatus:
    entries: tuple[Entry, ...]
    sync_token: str | None  # the top-level one of a sync-collection answer


def _status(text: str | None) -> int:
    m = re.search(r"\s(\d{3})(\s|$)", f" {text or ''} ")
    return int(m.group(1)) if m else 0


def parse_multistatus(tree: object) -> Multistatus:
    """Read a parsed 207 answer (an lxml element, as the caldav client gives it)."""
    root: object = tree
    if root is None:
        return Multistatus((), None)
    d = "{DAV:}"
    entries = []
    for resp in root.iter(f"{d}response"):  # type: ignore[attr-defined]
        href_el = resp.find(f"{d}href")
        if href_el is None or not href_el.text:
            continue
        href = unquote(urlsplit(href_el.text.strip()).path)
        status = _status(resp.findtext(f"{d}status"))
        etag = data = displayname = sync_token = None
        found: set[str] = set()
        reports: set[str] = set()
        privileges: set[str] = set()
        is_calendar = False
        for ps in resp.iter(f"{d}propstat"):
            ps_status = _status(ps.findtext(f"{d}status"))
            if ps_status != 200:
                continue
            status = status or 200
            prop = ps.find(f"{d}prop")
            if prop is None:
                continue
            for el in prop:
                found.add(str(el.tag))
                if el.tag == f"{d}getetag":
                    etag = (el.text or "").strip() or None
                elif el.tag == f"{{{CALDAV}}}calendar-data":
                    data = el.text or ""
                elif el.tag == f"{d}displayname":
                    displayname = (el.text or "").strip()
                elif el.tag == f"{d}resourcetype":
                    is_calendar = el.find(f"{{{CALDAV}}}calendar") is not None
                elif el.tag == f"{d}supported-report-set":
                    for r in el.iter(f"{d}report"):
                        reports.update(str(c.tag) for c in r)
                elif el.tag == f"{d}current-user-privilege-set":
                    for pv in el.iter(f"{d}privilege"):
                        privileges.update(str(c.tag) for c in pv)
                elif el.tag == f"{d}sync-token":
                    sync_token = (el.text or "").strip() or None
        entries.append(
            Entry(
                href=href,
                status=status,
                etag=etag,
                data=data,
                props=frozenset(found),
                displayname=displayname,
                is_calendar=is_calendar,
                reports=frozenset(reports),
                privileges=frozenset(privileges),
                sync_token=sync_token,
            )
        )
    top = root.find(f"{d}sync-token")  # type: ignore[attr-defined]
    token = (top.text or "").strip() if top is not None and top.text else None
    return Multistatus(tuple(entries), token)


def path_of(url: str, base: str) -> str:
    """The absolute, percent-decoded path of `url` (relative to `base`)."""
    return unquote(urlsplit(urljoin(base, url)).path)


# --------------------------------------------------------------------------- our events


def _aware(v: object, zone: ZoneInfo) -> datetime:
    if isinstance(v, datetime):
        return v if v.tzinfo is not None else v.replace(tzinfo=zone)
    if isinstance(v, date):
        return datetime.combine(v, time(), tzinfo=zone)
    raise ValueError(f"not a date or time: {v!r}")


def read_remote(href: str, etag: str | None, text: str, zone: ZoneInfo) -> Remote:
    """Our event in a resource, or a `Remote` with no key for anyone else's.

    Ours means: named from its key (a copy the user made elsewhere is not ours) and
    carrying X-CALSYNC-KEY with that key. Edited means: what the user sees (title, text,
    times) no longer matches the fingerprint calsync wrote, or it became recurring.
    """
    try:
        cal = icalendar.Calendar.from_ical(text)
    except ValueError:
        return Remote(etag)
    events = [c for c in cal.walk("VEVENT")]
    masters = [e for e in events if e.get("RECURRENCE-ID") is None]
    if not masters:
        return Remote(etag)
    ev = masters[0]
    key = str(ev.get(MARKER) or "") or None
    if key is None or href.rstrip("/").rsplit("/", 1)[-1] != resource_name(key):
        return Remote(etag)
    try:
        start = _aware(ev.decoded("DTSTART"), zone)
        if ev.get("DTEND") is not None:
            end = _aware(ev.decoded("DTEND"), zone)
        elif ev.get("DURATION") is not None:
            end = start + ev.decoded("DURATION")
        else:
            timed = isinstance(ev.decoded("DTSTART"), datetime)
            end = start + timedelta(days=0 if timed else 1)
    except (KeyError, ValueError, TypeError):
        return Remote(etag, key=key, edited=True)
    summary = str(ev.get("SUMMARY") or "")
    description = str(ev.get("DESCRIPTION") or "")
    fp = fingerprint(summary, description, start, end)
    edited = (
        fp != str(ev.get(FP_PROP) or "")
        or len(events) > 1
        or ev.get("RRULE") is not None
        or ev.get("RDATE") is not None
    )
    return Remote(
        etag=etag,
        key=key,
        start=start,
        end=end,
        content_hash=str(ev.get(HASH_PROP) or ""),
        edited=edited,
        alarm=str(ev.get(ALARM_PROP) or ""),
        uid=str(ev.get("UID") or ""),
    )
