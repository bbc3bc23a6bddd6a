"""Confidence, the calendar as context, and the safe side the planner takes for what stays
unsure (RULES.md, "Unsure events")."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, time, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from calsync.classify import classify
from calsync.classify_context import classify_all, for_planning, marks, shape
from calsync.config import Rules
from calsync.model import Event, Intensity, Interval, Verdict
from calsync.planner import make_run
from tests.classify_table import ev, label
from tests.planner_checker import World, check_plan
from tests.test_planner_properties import run_plan, worlds

# --------------------------------------------------------------------------- first pass


def test_a_title_of_vocabulary_is_sure_a_name_is_not() -> None:
    assert classify(ev("Run 5 mi")).confidence == "high"
    assert classify(ev("Tuesday 10k")).confidence == "high"
    assert classify(ev("Tempo 40 min")).confidence == "high"
    unsure = classify(ev("Return of the Ramparts run"))
    assert (label(unsure), unsure.confidence) == ("easy", "low")
    # The user's word is always sure.
    assert classify(ev("Return of the Ramparts run #easy")).confidence == "high"


# --------------------------------------------------------------------------- context


def _calendar(*titles: str, categories: tuple[str, ...] = ()) -> list[Event]:
    return [ev(t, "", categories) for t in titles]


def test_shape_keeps_numbers_and_units_and_drops_words() -> None:
    assert shape("Hills – 40 km / 500 m") == shape("Long ride – 70 km / 700 m") == "– # km / # m"
    assert shape("Hills") == ""  # no number: no shape


def test_a_title_shaped_like_the_calendars_rides_is_a_ride() -> None:
    cal = _calendar(
        "Long ride – 70 km / 700 m",
        "Long ride – 80 km / 800 m",
        "Long ride – 95 km / 900 m",
        "Hills – 40 km / 500 m",
        "Commute – 56 km / 0 m",
    )
    alone = [label(classify(e)) for e in cal]
    assert alone[3:] == ["hard", "easy"]  # alone, a hill session and a run
    together = classify_all(cal)
    assert [label(v) for v in together] == ["norun"] * 5
    assert "cycling" in together[3].reason


def test_in_a_calendar_of_runs_a_bare_title_is_a_run_of_unknown_effort() -> None:
    cal = _calendar(
        "Easy run 5 km",
        "Tempo run 8 km",
        "Long run 16 km",
        "Easy run 6 km",
        "Intervals 6 x 800m run",
        "Thursday Social #12",
    )
    assert label(classify(cal[-1])) == "norun"
    v = classify_all(cal)[-1]
    assert (label(v), v.confidence) == ("easy", "low")
    planned = for_planning(cal[-1], v)
    assert planned.intensity is Intensity.HARD
    assert planned.reason == (
        "unsure: 'Thursday Social #12' treated as a hard run; tag it #easy if it is not"
    )
    # Not in a calendar of meetings.
    office = _calendar("Team meeting", "Lunch", "Dentist", "Standup", "Thursday Social #12")
    assert label(classify_all(office)[-1]) == "norun"


def test_a_mark_the_calendar_uses_for_one_kind_settles_an_unsure_run() -> None:
    cal = [
        ev("🟠 Tempo run 8 km"),
        ev("🟠 Intervals 5 x 1 km"),
        ev("🟠 Threshold run 30 min"),
        ev("🟢 Easy run 5 km"),
        ev("🟠 Ramparts loop run"),
    ]
    assert classify(cal[-1]).confidence == "low"
    v = classify_all(cal)[-1]
    assert (label(v), v.confidence) == ("hard", "high")
    assert "symbol 🟠" in v.reason
    assert marks(ev("🟢 Easy", "", ("Run", "Easy"))) == (
        "symbol 🟢",
        "category run",
        "category easy",
    )


def test_context_never_overrides_the_events_own_words_or_the_user() -> None:
    cal = _calendar(*["Long ride – 70 km / 700 m"] * 4, "Hills run – 40 km / 500 m")
    assert label(classify_all(cal)[-1]) == "hard"  # names its sport: a hill run
    cal = _calendar(*["Long ride – 70 km / 700 m"] * 4, "Hills – 40 km / 500 m #hard")
    assert label(classify_all(cal)[-1]) == "hard"


# --------------------------------------------------------------------------- safe side


def test_for_planning_takes_the_safe_side_and_leaves_sure_verdicts_alone() -> None:
    e = ev("Thirsty Thursday")
    sure = Verdict(True, Intensity.EASY, "easy run")
    assert for_planning(e, sure) is sure
    low_easy = Verdict(True, Intensity.EASY, "x", confidence="low")
    assert for_planning(e, low_easy).intensity is Intensity.HARD
    low_race = Verdict(True, Intensity.RACE, "x", confidence="low")
    assert for_planning(e, low_race).intensity is Intensity.RACE
    maybe = Verdict(False, None, "x", confidence="low", maybe_strength=True)
    planned = for_planning(e, maybe)
    assert planned.is_run and planned.intensity is Intensity.HARD and planned.strength
    assert "tag it #norun" in planned.reason


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(worlds(), st.data())
def test_a_low_confidence_verdict_is_never_less_safe_than_a_hard_one(
    w: World, data: st.DataObject
) -> None:
    """The plan made with an unsure event passes every hard rule of the plan that reads
    the same event as a hard run."""
    zone = w.zone
    day = w.horizon_days()[data.draw(st.integers(0, len(w.horizon_days()) - 1))]
    minute = data.draw(st.integers(6 * 60, 20 * 60))
    start = datetime.combine(day, time(minute // 60, minute % 60), tzinfo=zone)
    e = Event(uid=None, summary="Thirsty Thursday", start=start, end=start + timedelta(hours=1))
    low = Verdict(
        data.draw(st.booleans()),
        None,
        "a name, no effort",
        confidence="low",
        maybe_strength=data.draw(st.booleans()),
    )
    if low.is_run:
        low = dataclasses.replace(low, intensity=data.draw(st.sampled_from(list(Intensity))))
    planned = for_planning(e, low)
    unsure_world = dataclasses.replace(
        w,
        runs=[*w.runs, make_run(e, planned, Rules(), zone)],
        own_strength=[*w.own_strength, Interval(e.start, e.end, e.summary)]
        if planned.strength
        else w.own_strength,
    )
    kind = Intensity.RACE if low.intensity is Intensity.RACE else Intensity.HARD
    hard = make_run(e, Verdict(True, kind, "a hard run"), Rules(), zone)
    hard_world = dataclasses.replace(w, runs=[*w.runs, hard])
    p = run_plan(unsure_world)
    assert check_plan(hard_world, p) == []
    assert check_plan(unsure_world, p) == []


# --------------------------------------------------------------------------- sync


def test_sort_inputs_plans_an_unsure_run_as_hard_and_reports_it_low() -> None:
    from calsync.config import SourceSettings, default_config
    from calsync.model import Role
    from calsync.sync import sort_inputs

    cfg = default_config()
    t0 = datetime(2026, 3, 2, 7, tzinfo=UTC)
    titles = ["Easy run 5 km", "Tempo run 8 km", "Long run 16 km", "Easy run 6 km", "Run 5 km"]
    events = [
        Event(uid=f"u{i}", summary=t, start=t0 + timedelta(days=i), end=t0 + timedelta(days=i))
        for i, t in enumerate([*titles, "Thursday Social #12"])
    ]

    class Src:
        role = Role.RUNS
        label = "plan"
        settings = SourceSettings(type="ics", role=Role.RUNS, url="x")

    inputs = sort_inputs([(Src(), events)], cfg)  # type: ignore[list-item]
    social = next(c for c in inputs.classified if c.event.summary == "Thursday Social #12")
    assert (social.verdict.intensity, social.verdict.confidence) == (Intensity.EASY, "low")
    run = next(r for r in inputs.runs if r.summary == "Thursday Social #12")
    assert run.is_hard and run.confidence == "low"
    assert run.reason.startswith("unsure: 'Thursday Social #12' treated as a hard run")
