"""The sync's own decisions: what becomes a run, busy time or the user's strength, the window
read, and how sinks' pins and deletions reach the planner."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from calsync.config import parse_config
from calsync.model import Event, PriorSession, Role
from calsync.sinks.base import SinkSnapshot
from calsync.sync import merge_previous, read_window, sort_inputs

ZONE = ZoneInfo("Europe/Berlin")
CONFIG = parse_config({"schedule": {"timezone": "Europe/Berlin"}})


class FakeSource:
    """Only the two attributes sort_inputs reads; the events are given directly."""

    def __init__(self, role: Role) -> None:
        self.role = role
        self.label = f"test {role.value}"


def ev(summary: str, day: int, hour: int, minutes: int = 60, **kw: object) -> Event:
    start = datetime(2026, 12, day, hour, tzinfo=ZONE)
    return Event(
        uid=summary, summary=summary, start=start, end=start + timedelta(minutes=minutes), **kw
    )  # type: ignore[arg-type]


def test_events_are_sorted_into_runs_busy_time_and_own_strength() -> None:
    runs_src, busy_src = FakeSource(Role.RUNS), FakeSource(Role.BUSY)
    per_source = [
        (
            runs_src,
            [
                ev("6 x 800m", 1, 7),
                ev("Easy 40 min + Gym A", 2, 7),  # a run and the user's own lifting
                ev("Leg day at the gym", 3, 18),
                ev("Dentist", 3, 9),
                ev("Rest", 4, 0, all_day=True, busy=False),
                ev("Free slot", 4, 12, busy=False),
                ev("Strength A", 5, 18, calsync_key="2026-11-30/2"),  # ours, read back
            ],
        ),
        (busy_src, [ev("Team meeting", 1, 17), ev("Tentative", 2, 17, busy=False)]),
    ]
    inputs = sort_inputs(per_source, CONFIG)  # type: ignore[arg-type]
    assert [r.summary for r in inputs.runs] == ["6 x 800m", "Easy 40 min + Gym A"]
    assert [s.label for s in inputs.own_strength] == ["Easy 40 min + Gym A", "Leg day at the gym"]
    assert [b.label for b in inputs.busy] == ["Team meeting", "Dentist"]
    classified = {c.event.summary for c in inputs.classified}
    assert "Team meeting" not in classified  # busy calendars are never classified
    assert "Strength A" not in classified  # calsync's own events are never input


def test_the_window_reaches_back_to_the_week_start_and_past_the_horizon() -> None:
    now = datetime(2026, 11, 26, 8, tzinfo=UTC)  # a Thursday
    start, end = read_window(CONFIG, now)
    assert start.astimezone(ZONE).date() <= datetime(2026, 11, 23).date()  # that Monday
    horizon_end = now + timedelta(days=CONFIG.schedule.horizon_days)
    # a race within taper_days after the horizon still tapers a week inside it
    assert end >= horizon_end + timedelta(days=CONFIG.rules.taper_days, hours=48)


def test_sink_pins_override_the_last_plan_and_deletions_become_skips() -> None:
    t = datetime(2026, 12, 1, 18, tzinfo=ZONE)
    planned = [
        PriorSession("2026-11-30/1", t, t + timedelta(minutes=45)),
        PriorSession("2026-11-30/2", t + timedelta(days=2), t + timedelta(days=2, minutes=45)),
    ]
    moved = PriorSession("2026-11-30/1", t + timedelta(hours=1), t + timedelta(hours=2))
    snap = SinkSnapshot(pins=[moved], deleted_by_user=[planned[1]])
    previous, skipped = merge_previous(planned, [snap])
    assert previous == [PriorSession("2026-11-30/1", moved.start, moved.end, pinned=True)]
    assert skipped == [planned[1]]


def test_history_older_than_the_window_and_retention_is_dropped() -> None:
    from calsync.sync import recent

    t = datetime(2026, 12, 1, 18, tzinfo=ZONE)
    old = PriorSession("2025-10-05/1", t - timedelta(days=400), t - timedelta(days=400, hours=-1))
    last_week = PriorSession("2026-11-23/2", t - timedelta(days=6), t - timedelta(days=6, hours=-1))
    month_ago = PriorSession(
        "2026-10-26/1", t - timedelta(days=35), t - timedelta(days=35, hours=-1)
    )
    window = (t - timedelta(days=10), t + timedelta(days=40))
    assert recent([old, month_ago, last_week], window) == [month_ago, last_week]
