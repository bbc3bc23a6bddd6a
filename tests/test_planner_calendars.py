"""The planner on the 23 real training calendars (read in place from ../shared/calendars;
the real-world tier: skipped, with the reason, where they are absent).

For each calendar: read it with the ICS source, classify, plan 8 weeks from the Monday of
its first run, and check the plan with the independent checker. Sessions that pass the
rules, every day explained, the same plan whatever the input order, and a reason for
every week that misses its target.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from calsync.classify import classify
from calsync.config import ClassifyRules, Rules, Schedule
from calsync.model import Interval, Run
from calsync.planner import make_run, plan
from calsync.sources.ics import parse_ics
from tests import real_calendars
from tests.planner_checker import World, check_plan

ZONE_NAME = "Europe/Berlin"
ZONE = ZoneInfo(ZONE_NAME)
FILES = real_calendars.files()

pytestmark = real_calendars.realworld


def load(path: Path) -> tuple[list[Run], list[Interval], list[Interval]]:
    window = (datetime(2000, 1, 1, tzinfo=ZONE), datetime(2040, 1, 1, tzinfo=ZONE))
    events = parse_ics(path.read_bytes(), label=path.name, zone=ZONE, window=window)
    rules, cr = Rules(), ClassifyRules()
    runs: list[Run] = []
    busy: list[Interval] = []
    own: list[Interval] = []
    for ev in events:
        v = classify(ev, cr)
        if v.is_run:
            runs.append(make_run(ev, v, rules, ZONE))
        elif v.strength:
            r = make_run(ev, v, rules, ZONE)
            own.append(Interval(r.start, r.end, ev.summary))
        elif ev.busy and not ev.all_day:
            busy.append(Interval(ev.start, ev.end, ev.summary))
    return runs, busy, own


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_plan_on_a_real_calendar_keeps_every_rule(path: Path) -> None:
    runs, busy, own = load(path)
    # Some calendars hold no run at all (cycling, skating, gym-only): then the plan says
    # so and places nothing.
    starts = [r.start for r in runs] or [b.start for b in busy + own]
    first = min(starts).astimezone(ZONE).date()
    monday = first - timedelta(days=first.weekday())
    now = datetime.combine(monday, time(0), tzinfo=ZONE)
    w = World(
        runs=runs,
        busy=busy,
        own_strength=own,
        schedule=Schedule(timezone=ZONE_NAME, horizon_days=56),
        rules=Rules(),
        now=now,
    )
    p = plan(
        runs=w.runs,
        busy=w.busy,
        own_strength=w.own_strength,
        previous=(),
        schedule=w.schedule,
        rules=w.rules,
        now=w.now,
    )
    assert check_plan(w, p) == []
    assert len(p.days) == 56
    assert all(d.sessions or d.blocked for d in p.days)
    again = plan(
        runs=list(reversed(w.runs)),
        busy=w.busy,
        own_strength=w.own_strength,
        previous=(),
        schedule=w.schedule,
        rules=w.rules,
        now=w.now,
    )
    assert again.sessions == p.sessions
    # Weeks with runs get sessions unless the rules leave no room; every week that falls
    # short says why.
    for week in p.weeks:
        assert week.met or week.why_not
    if not runs:
        assert [s for s in p.sessions if not s.past] == []
        assert p.notes[0].startswith("no runs in the horizon")
