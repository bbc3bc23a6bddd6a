"""What the CalDAV sink reads from a server answer, without a server: resource names,
a 207 multistatus, and which resources are calsync's and which the user edited."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from lxml import etree  # type: ignore[import-untyped]

from calsync.google.ids import fingerprint
from calsync.ics_write import render_object
from calsync.model import Phase, Session
from calsync.sinks import caldav_wire as wire

BERLIN = ZoneInfo("Europe/Berlin")
S = Session(
    key="2026-11-30/1",
    start=datetime(2026, 12, 1, 17, 0, tzinfo=BERLIN),
    end=datetime(2026, 12, 1, 17, 45, tzinfo=BERLIN),
    title="Strength A",
    phase=Phase.BUILD,
    reason="after the intervals",
    description="Squats 3x8\nCalf raises 3x10",
)
NAME = "/cal/2026-11-30-1.ics"


def ours(session: Session = S, **extra: str) -> str:
    props = {
        wire.HASH_PROP: "h1",
        wire.FP_PROP: fingerprint(session.title, session.description, session.start, session.end),
    }
    return render_object(session, None, BERLIN, extra=props | extra).decode()


def test_resource_names_are_safe_path_segments() -> None:
    assert wire.resource_name("2026-11-30/1") == "2026-11-30-1.ics"
    assert wire.resource_name("a b/ü?") == "a-b---.ics"
    assert wire.slug("Strength training") == "calsync-strength-training"


def test_our_resource_as_written_is_ours_and_not_edited() -> None:
    r = wire.read_remote(NAME, '"e1"', ours(), BERLIN)
    assert (r.key, r.start, r.end, r.content_hash, r.edited) == (
        S.key, S.start, S.end, "h1", False,
    )  # fmt: skip
    assert "METHOD" not in ours()  # calendar collections must not hold it (RFC 4791 4.1)


def test_a_moved_or_retitled_or_recurring_resource_is_edited() -> None:
    text = ours()
    moved = text.replace("DTSTART;TZID=Europe/Berlin:20261201T170000",
                         "DTSTART;TZID=Europe/Berlin:20261201T180000")  # fmt: skip
    assert moved != text
    assert wire.read_remote(NAME, None, moved, BERLIN).edited
    assert wire.read_remote(NAME, None, text.replace("Strength A", "Gym"), BERLIN).edited
    recurring = text.replace("END:VEVENT", "RRULE:FREQ=WEEKLY;COUNT=2\nEND:VEVENT")
    assert wire.read_remote(NAME, None, recurring, BERLIN).edited


def test_a_copy_under_another_name_and_a_strangers_event_are_not_ours() -> None:
    assert wire.read_remote("/cal/copy.ics", None, ours(), BERLIN).key is None
    stranger = ours().replace("X-CALSYNC-KEY:2026-11-30/1\r\n", "")
    assert wire.read_remote(NAME, None, stranger, BERLIN).key is None
    assert wire.read_remote(NAME, None, "not a calendar", BERLIN).key is None


def test_multistatus_with_changes_a_deletion_and_a_new_token() -> None:
    xml = b"""<?xml version="1.0"?>
<d:multistatus xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav">
 <d:response><d:href>/cal/a%20b.ics</d:href>
  <d:propstat><d:prop><d:getetag>"1"</d:getetag></d:prop>
   <d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response>
 <d:response><d:href>http://h/cal/gone.ics</d:href><d:status>HTTP/1.1 404 Not Found</d:status>
 </d:response>
 <d:sync-token>http://h/ns/sync/42</d:sync-token>
</d:multistatus>"""
    ms = wire.parse_multistatus(etree.fromstring(xml))
    assert [(e.href, e.status, e.etag) for e in ms.entries] == [
        ("/cal/a b.ics", 200, '"1"'),
        ("/cal/gone.ics", 404, None),
    ]
    assert ms.sync_token == "http://h/ns/sync/42"
