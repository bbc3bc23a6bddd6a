"""Property: whatever faults hit a sync, it ends (at once or after one clean sync) in the
same calendar as a sync that met none: the same sessions, one event each, one calendar."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from calsync import retry
from tests.fakes.google_emulator import CalendarEmulator
from tests.fakes.google_fixtures import STRENGTH, GoogleWorld
from tests.test_google_sync import NOW, seed

TARGETS = {
    "calendar insert": lambda m, p: p == "/calendar/v3/calendars",
    "calendar list": lambda m, p: p.endswith("/calendarList"),
    "batch": lambda m, p: "batch" in p,
    "event list": lambda m, p: p.endswith("/events") and m == "GET",
    "insert part": lambda m, p: m == "POST",
    "any": None,
}

fault = st.one_of(
    st.builds(
        dict,
        kind=st.sampled_from(["status", "drop", "drop_after"]),
        status=st.sampled_from([429, 500, 502, 503]),
        count=st.integers(1, 3),
        target=st.sampled_from([t for t in TARGETS if t != "insert part"]),
        scope=st.just("http"),
    ),
    st.builds(
        dict,
        kind=st.just("status"),
        status=st.sampled_from([429, 500, 503]),
        count=st.integers(1, 3),
        target=st.sampled_from(["insert part", "any"]),
        scope=st.just("part"),
    ),
)


def _world(emu: CalendarEmulator) -> GoogleWorld:
    world = GoogleWorld(emu, Path(tempfile.mkdtemp(prefix="calsync-faults-")))
    world.write_token()
    world.write_config()
    seed(world)
    return world


def _shape(world: GoogleWorld) -> dict[str, tuple[str, str, str]]:
    return {
        k: (e["start"]["dateTime"], e["end"]["dateTime"], e["summary"])
        for k, e in world.sessions().items()
    }


def _lose_state(world: GoogleWorld) -> None:
    """The state folder is gone (a new machine, a wiped disk): all but the token."""
    for f in (world.dir / "state").iterdir():
        if f != world.token_path:
            f.unlink()


@pytest.fixture(scope="module")
def reference() -> dict[str, tuple[str, str, str]]:
    with CalendarEmulator() as emu:
        world = _world(emu)
        assert world.sync(NOW).code == 0
        return _shape(world)


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(faults=st.lists(fault, min_size=1, max_size=4), lose_state=st.booleans())
def test_any_faults_then_a_clean_sync_equal_one_clean_sync(
    faults: list[dict[str, Any]],
    lose_state: bool,
    reference: dict[str, tuple[str, str, str]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(retry, "TIME_SCALE", 0.0005)
    with CalendarEmulator() as emu:
        world = _world(emu)
        for f in faults:
            emu.add_fault(
                f["kind"],
                status=f["status"],
                count=f["count"],
                scope=f["scope"],
                match=TARGETS[f["target"]],
                retry_after=1 if f["status"] == 429 else None,
            )
        hit = world.sync(NOW)
        assert hit.code in (0, 1), hit.err
        if hit.code == 1:
            assert hit.err.startswith("calsync: error: ") and "internal error" not in hit.err
        emu.faults.clear()
        if lose_state:
            _lose_state(world)
        clean = world.sync(NOW)
        assert clean.code == 0, clean.err
        assert len(emu.calendar_by_summary(STRENGTH)) == 1
        assert _shape(world) == reference  # world.sessions() also asserts no duplicates
        assert world.sync(NOW).writes == 0


def test_lost_answers_to_the_calendar_insert_then_a_lost_state_folder_make_one_calendar(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Google makes the calendar but its answers never arrive (httplib2 may even send the
    insert again by itself); then the state folder is lost. One calendar, one event per
    session, under the scopes calsync asks for (calendar.app.created cannot list)."""
    monkeypatch.setattr(retry, "TIME_SCALE", 0.0005)
    with CalendarEmulator() as emu:
        world = _world(emu)
        emu.add_fault("drop_after", count=3, match=TARGETS["calendar insert"])
        first = world.sync(NOW)
        assert first.code in (0, 1), first.err
        emu.faults.clear()
        _lose_state(world)
        again = world.sync(NOW)
        assert again.code == 0, again.err
        assert len(emu.calendar_by_summary(STRENGTH)) == 1
        assert world.sessions()
        _lose_state(world)
        assert world.sync(NOW).writes == 0
        assert len(emu.calendar_by_summary(STRENGTH)) == 1
