"""The Google sink's typed records: what it keeps of its events between syncs."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from calsync.google import ids
from calsync.model import Phase, Session
from calsync.sinks.google_records import GoogleRecord, RecordCache, event_body, record
from calsync.state import StateStore

START = datetime(2026, 12, 1, 18, 0, tzinfo=UTC)
SESSION = Session("2026-11-30/1", START, START.replace(hour=19), "Strength A", Phase.BUILD, "why")


def written(**changes: object) -> dict[str, object]:
    ev: dict[str, object] = dict(event_body(SESSION, "UTC"), id=ids.event_id(SESSION.key))
    ev["etag"] = '"1"'
    ev.update(changes)
    return ev


def test_a_record_of_what_calsync_wrote_holds_the_session_and_is_not_edited() -> None:
    r = record(written(), ZoneInfo("UTC"))  # type: ignore[arg-type]
    assert r is not None and r.key == SESSION.key and not r.edited and r.holds(SESSION)
    moved = written(start={"dateTime": "2026-12-01T20:00:00+00:00"})
    r2 = record(moved, ZoneInfo("UTC"))  # type: ignore[arg-type]
    assert r2 is not None and r2.edited and not r2.holds(SESSION)


def test_a_copy_under_another_id_is_not_calsyncs() -> None:
    assert record(written(id="copy123"), ZoneInfo("UTC")) is None  # type: ignore[arg-type]


def test_the_cache_round_trips_through_the_state_and_none_means_a_full_read(
    tmp_path: Path,
) -> None:
    r = GoogleRecord(
        "k",
        "confirmed",
        "2026-12-01T18:00:00+00:00",
        "2026-12-01T19:00:00+00:00",
        '"3"',
        "h",
        False,
    )
    stuck = GoogleRecord("k2", "cancelled", r.start, r.end, None, "h2", True, stuck=True)
    cache = RecordCache({"e1": r, "e3": stuck}, {"e2"})
    store = StateStore(tmp_path / "state.sqlite3")
    with store.writer() as tx:
        assert tx.google_records("cal") is None  # no cache: the sink reads in full
        tx.set_google_records("cal", cache)
        tx.set_google_records("other", RecordCache({}, set()))
    with store.reader() as view:
        assert view.google_records("cal") == cache
        # An empty cache is a cache (the next read is incremental), not a missing one.
        assert view.google_records("other") == RecordCache({}, set())
    with store.writer() as tx:
        tx.set_google_records("cal", None)
    with store.reader() as view:
        assert view.google_records("cal") is None
        assert view.google_records("other") == RecordCache({}, set())
