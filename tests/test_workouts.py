"""Session content: RULES.md "What a session holds", checked for every combination."""

from __future__ import annotations

import itertools
import json
import re
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from calsync.config import EQUIPMENT, LEVELS, ExerciseSpec, WorkoutSettings, parse_config
from calsync.model import Phase, Session, Workout
from calsync.workouts import (
    BEGINNER_NOTE,
    describe,
    estimate_minutes,
    template_for,
    title_for,
    workout_for,
    workout_to_json,
)

REASON = "after Tuesday's intervals (hard day); 50 h before Thursday's tempo."
EQUIPMENT_SETS: dict[str, tuple[str, ...]] = {
    "full gym": EQUIPMENT,
    "dumbbells only": ("dumbbells",),
    "bodyweight only": ("bodyweight",),
    "kettlebell + bands": ("kettlebell", "bands"),
} | {f"{item} + bodyweight": (item, "bodyweight") for item in EQUIPMENT if item != "bodyweight"}
# Keys whose templates cover A and B in every phase (taper alternates by week).
KEYS = ("2026-11-23/1", "2026-11-23/2", "2026-11-30/1")
# Moves too technical or high-impact for a beginner.
NOT_FOR_BEGINNERS = {"Barbell back squat", "Box jump (step down)", "Jumping lunge", "Skater hops"}
JUMPY = re.compile(r"\b(jump|jumps|jumping|hop|hops|bound|bounds)\b", re.I)


def session(key: str = "2026-11-23/1", phase: Phase = Phase.BUILD, reason: str = REASON) -> Session:
    start = datetime(2026, 11, 24, 17, 0, tzinfo=UTC)
    return Session(
        key=key,
        start=start,
        end=start + timedelta(minutes=45),
        title="",
        phase=phase,
        reason=reason,
    )


def rep_count(reps: str) -> tuple[int, bool]:
    """(number, timed) from "8", "8 each leg", "30 s each side"."""
    m = re.match(r"^\s*(\d+)\s*(s|sec|min)?\b", reps)
    assert m, f"reps {reps!r} do not start with a number"
    return int(m.group(1)), m.group(2) is not None


def check_rules(w: Workout, s: Session, ws: WorkoutSettings, minutes: int) -> None:
    """Every rule of a session that holds for any settings (RULES.md)."""
    cats = [e.category for e in w.exercises]
    for need in ("lower", "calves", "upper", "core"):
        assert need in cats, f"no {need} move in {cats}"
    assert "explosive" in cats or "plyo" in cats, cats
    assert 5 <= len(w.exercises) <= 7, [e.name for e in w.exercises]
    assert len({e.name for e in w.exercises}) == len(w.exercises), "a move appears twice"
    allowed = set(ws.equipment) | {"bodyweight"}
    for e in w.exercises:
        assert e.sets in (2, 3), e
        n, timed = rep_count(e.reps)
        if not timed:
            assert n <= 10, f"{e.name}: {e.reps} reps (12+ is the guide's first mistake)"
        assert set(e.equipment) <= allowed, (e.name, e.equipment, ws.equipment)
        assert e.load and e.rest_seconds >= 30, e
    assert w.template == template_for(s.key, 1 if s.phase is Phase.TAPER else 2)
    assert w.minutes == estimate_minutes(w)
    if minutes >= 20:
        assert w.minutes <= minutes, (w.minutes, minutes)
    if s.phase is Phase.TAPER:
        assert "plyo" not in cats
        assert all(e.sets == 2 for e in w.exercises)
        names = [e.name.replace("no jump", "") for e in w.exercises]
        assert not any(JUMPY.search(n) for n in names), names
    # the user's own load text wins over the built-in guidance
    builtin = [e for e in w.exercises if e.name not in {x.name for x in ws.exercises if x.load}]
    if ws.level == "beginner":
        assert BEGINNER_NOTE in w.notes
        for e in builtin:
            assert "75%" not in e.load, e
            assert e.name not in NOT_FOR_BEGINNERS, e.name
            if e.category in ("lower", "calves", "upper"):
                assert "add" in e.load or "stronger" in e.load, e.load
    else:
        for e in builtin:
            weighted = set(e.equipment) & {"barbell", "dumbbells", "kettlebell"}
            if e.category in ("lower", "calves", "upper") and weighted:
                assert "~75% 1RM" in e.load, e
    text = describe(s, w)
    assert "Warm-up (" in text
    for e in w.exercises:
        assert f"{e.name} — {e.sets} × {e.reps}" in text
    assert text.splitlines()[-1] == f"Why today: {s.reason}"
    assert "|" not in text and "**" not in text  # plain text, no markdown


# --------------------------------------------------------------------------- the matrix


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("equipment", EQUIPMENT_SETS.values(), ids=list(EQUIPMENT_SETS))
def test_every_template_phase_and_length_keeps_the_rules(
    equipment: tuple[str, ...], level: str
) -> None:
    ws = WorkoutSettings(equipment=equipment, level=level)
    for phase in Phase:
        templates = set()
        for key, minutes in itertools.product(KEYS, (30, 45, 60, 90)):
            s = session(key, phase)
            w = workout_for(s, ws, minutes)
            check_rules(w, s, ws, minutes)
            templates.add(w.template)
        assert templates == {"A", "B"}, phase


@pytest.mark.parametrize("equipment", EQUIPMENT_SETS.values(), ids=list(EQUIPMENT_SETS))
def test_taper_drops_volume_and_base_adds_plyometrics(equipment: tuple[str, ...]) -> None:
    for level, key in itertools.product(LEVELS, KEYS[:2]):
        ws = WorkoutSettings(equipment=equipment, level=level)
        build = workout_for(session(key, Phase.BUILD), ws, 45)
        taper = workout_for(session(key, Phase.TAPER), ws, 45)
        base = workout_for(session(key, Phase.BASE), ws, 60)
        assert max(e.sets for e in taper.exercises) < max(e.sets for e in build.exercises)
        assert sum(e.sets for e in taper.exercises) < sum(e.sets for e in build.exercises)
        assert taper.minutes < build.minutes
        assert any(e.category == "plyo" for e in base.exercises), base
        # taper keeps a non-jumping power move in the explosive slot
        assert [e.category for e in taper.exercises].count("explosive") == 1


def test_a_and_b_differ_in_content() -> None:
    for equipment in EQUIPMENT_SETS.values():
        for level in LEVELS:
            ws = WorkoutSettings(equipment=equipment, level=level)
            a = workout_for(session("2026-11-23/1"), ws, 45)
            b = workout_for(session("2026-11-23/2"), ws, 45)
            assert (a.template, b.template) == ("A", "B")
            names_a = {e.name for e in a.exercises}
            names_b = {e.name for e in b.exercises}
            # the main lower lift, the upper move and the calf raise all change
            assert len(names_a & names_b) <= 1, (equipment, level, names_a & names_b)


def test_the_guides_example_session_full_gym() -> None:
    w = workout_for(session("2026-11-23/1"), WorkoutSettings(), 45)
    names = [e.name for e in w.exercises]
    assert names[0] == "Kettlebell swing"  # explosive first, while fresh
    assert "Barbell back squat" in names
    squat = next(e for e in w.exercises if e.name == "Barbell back squat")
    assert (squat.sets, squat.reps, squat.rest_seconds) == (3, "6", 120)
    assert squat.load == "~75% 1RM (could do 2–3 more)"
    assert w.warmup.startswith("Warm-up (8 min)")
    assert 35 <= w.minutes <= 45


# --------------------------------------------------------------------------- time


@pytest.mark.parametrize("minutes", [20, 25, 30, 35, 45, 60, 90, 180])
def test_fits_the_slot_and_sheds_volume_not_categories(minutes: int) -> None:
    for equipment, level, phase in itertools.product(EQUIPMENT_SETS.values(), LEVELS, Phase):
        ws = WorkoutSettings(equipment=equipment, level=level)
        s = session("2026-11-23/2", phase)
        w = workout_for(s, ws, minutes)
        check_rules(w, s, ws, minutes)


def test_shorter_slots_get_shorter_sessions_and_say_so() -> None:
    ws = WorkoutSettings()
    s = session("2026-11-23/1")
    lengths = [workout_for(s, ws, m).minutes for m in (20, 30, 45, 60)]
    assert lengths == sorted(lengths) and lengths[0] < lengths[-1]
    short = workout_for(s, ws, 30)
    assert any(n.startswith("Cut to fit 30 min: ") for n in short.notes), short.notes
    assert not any(n.startswith("Cut to fit") for n in workout_for(s, ws, 60).notes)
    long = workout_for(s, ws, 180)
    assert long.minutes <= 60, "a long slot must not be filled with more volume"
    assert any("no need to fill" in n for n in long.notes)


def test_fifteen_minutes_is_the_floor_and_is_stated() -> None:
    for equipment, level in itertools.product(EQUIPMENT_SETS.values(), LEVELS):
        ws = WorkoutSettings(equipment=equipment, level=level)
        s = session("2026-11-23/1")
        w = workout_for(s, ws, 15)
        check_rules(w, s, ws, 15)
        assert w.minutes <= 20
        if w.minutes > 15:
            assert any("shortest version" in n for n in w.notes)


# --------------------------------------------------------------------------- A/B


def keys_by_time(first_week: date, weeks: int, per_week: list[int]) -> list[str]:
    return [
        f"{first_week + timedelta(weeks=i)}/{slot}"
        for i in range(weeks)
        for slot in range(1, per_week[i] + 1)
    ]


@given(st.dates(date(2000, 1, 3), date(2100, 1, 1)), st.integers(2, 20))
@settings(max_examples=60, deadline=None)
def test_two_a_week_alternates(first: date, weeks: int) -> None:
    monday = first - timedelta(days=first.weekday())
    keys = keys_by_time(monday, weeks, [2] * weeks)
    ts = [workout_for(session(k), WorkoutSettings(), 45).template for k in keys]
    assert all(a != b for a, b in itertools.pairwise(ts)), ts


@given(st.dates(date(2000, 1, 3), date(2100, 1, 1)), st.integers(2, 6), st.integers(0, 6))
@settings(max_examples=60, deadline=None)
def test_one_a_week_in_taper_alternates(first: date, weeks: int, week_start: int) -> None:
    start = first - timedelta(days=(first.weekday() - week_start) % 7)
    keys = keys_by_time(start, weeks, [1] * weeks)
    ts = [workout_for(session(k, Phase.TAPER), WorkoutSettings(), 45).template for k in keys]
    assert all(a != b for a, b in itertools.pairwise(ts)), ts


@pytest.mark.parametrize("per_week", [1, 2, 3, 4])
def test_a_configured_weekly_count_alternates(per_week: int) -> None:
    for offset in range(7):  # any week start
        first = date(2027, 1, 4) + timedelta(days=offset)
        keys = keys_by_time(first, 9, [per_week] * 9)
        ts = [
            workout_for(session(k), WorkoutSettings(), 45, per_week=per_week).template for k in keys
        ]
        assert all(a != b for a, b in itertools.pairwise(ts)), ts


def test_build_into_taper_repeats_at_most_once() -> None:
    """8 build weeks at 2 a week, then 2 taper weeks at 1: the documented trade-off."""
    for offset in range(14):  # both week parities, any week start
        first = date(2026, 9, 7) + timedelta(days=offset)
        keys = keys_by_time(first, 10, [2] * 8 + [1, 1])
        phases = [Phase.BUILD] * 16 + [Phase.TAPER] * 2
        ts = [
            workout_for(session(k, p), WorkoutSettings(), 45).template
            for k, p in zip(keys, phases, strict=True)
        ]
        repeats = sum(a == b for a, b in itertools.pairwise(ts))
        assert repeats <= 1, ts


@given(st.text(max_size=30))
@settings(max_examples=100, deadline=None)
def test_any_key_gets_a_stable_template(key: str) -> None:
    assert template_for(key) in ("A", "B")
    assert template_for(key) == template_for(key)


@given(
    st.dates(date(2020, 1, 1), date(2040, 1, 1)),
    st.integers(1, 3),
    st.sampled_from(list(Phase)),
    st.sets(st.sampled_from(EQUIPMENT)),
    st.sampled_from(LEVELS),
    st.integers(15, 180),
)
@settings(max_examples=150, deadline=None)
def test_random_settings_keep_the_rules_and_are_stable(
    week: date, slot: int, phase: Phase, equipment: set[str], level: str, minutes: int
) -> None:
    ws = WorkoutSettings(equipment=tuple(sorted(equipment)), level=level)
    s = session(f"{week}/{slot}", phase)
    w = workout_for(s, ws, minutes)
    check_rules(w, s, ws, minutes)
    again = workout_for(s, ws, minutes)
    assert again == w
    assert describe(s, again) == describe(s, w)
    assert workout_to_json(again) == workout_to_json(w)


# --------------------------------------------------------------------------- user library

TRAP_BAR = ExerciseSpec("Trap-bar deadlift", "lower", ("barbell",), "5", "~80% of 1RM")
STEP_UP = ExerciseSpec("Weighted step-up", "lower", ("dumbbells",), "8 each leg")


def test_extending_the_library_uses_the_users_moves() -> None:
    ws = WorkoutSettings(exercises=(TRAP_BAR,))
    for key in KEYS[:2]:
        w = workout_for(session(key), ws, 45)
        trap = [e for e in w.exercises if e.name == "Trap-bar deadlift"]
        assert trap and trap[0].load == "~80% of 1RM" and trap[0].reps == "5"
        check_rules(w, session(key), ws, 45)
    # two user moves of a category: A and B lead with different ones
    ws2 = WorkoutSettings(exercises=(TRAP_BAR, STEP_UP))
    a = workout_for(session(KEYS[0]), ws2, 45)
    b = workout_for(session(KEYS[1]), ws2, 45)
    first_lower = [next(e.name for e in w.exercises if e.category == "lower") for w in (a, b)]
    assert first_lower == ["Trap-bar deadlift", "Weighted step-up"]


def test_user_moves_respect_equipment_level_and_phase() -> None:
    box_jump = ExerciseSpec("Depth jump", "plyo", ("box",), "5")
    ws = WorkoutSettings(equipment=("dumbbells",), exercises=(TRAP_BAR, box_jump))
    for key, phase in itertools.product(KEYS, Phase):
        w = workout_for(session(key, phase), ws, 45)
        assert "Trap-bar deadlift" not in [e.name for e in w.exercises]  # no barbell
        assert "Depth jump" not in [e.name for e in w.exercises]  # no box
    ws = WorkoutSettings(exercises=(box_jump,))
    taper = workout_for(session(KEYS[0], Phase.TAPER), ws, 45)
    build = workout_for(session(KEYS[0], Phase.BUILD), ws, 45)
    assert "Depth jump" not in [e.name for e in taper.exercises]
    assert "Depth jump" in [e.name for e in build.exercises]


def test_replacing_the_library_uses_only_user_moves_and_fills_gaps_with_a_note() -> None:
    mine = (
        TRAP_BAR,
        ExerciseSpec("Ring row", "upper", ("bodyweight",), "8"),
        ExerciseSpec("Hollow hold", "core", ("bodyweight",), "30 s"),
        ExerciseSpec("Med-ball chest throw", "explosive", ("medicine ball",), "6"),
    )
    ws = WorkoutSettings(exercises=mine, replace_library=True)
    for key, phase in itertools.product(KEYS, Phase):
        s = session(key, phase)
        w = workout_for(s, ws, 45)
        names = {e.name for e in w.exercises}
        assert {spec.name for spec in mine} <= names
        # calves: not in the user's list -> one bodyweight built-in, and a note saying so
        calves = [e for e in w.exercises if e.category == "calves"]
        assert len(calves) == 1 and calves[0].equipment == ("bodyweight",)
        assert any("calves" in n and calves[0].name in n for n in w.notes)
        assert len(names - {spec.name for spec in mine}) == 1
        check_rules(w, s, ws, 45)
        assert "Hollow hold — 3 × 30 s" in describe(s, w) or phase is Phase.TAPER


def test_replace_with_an_empty_library_still_gives_a_complete_session() -> None:
    for equipment, level, phase in itertools.product(EQUIPMENT_SETS.values(), LEVELS, Phase):
        ws = WorkoutSettings(equipment=equipment, level=level, replace_library=True)
        s = session("2026-11-23/2", phase)
        w = workout_for(s, ws, 45)
        check_rules(w, s, ws, 45)
        assert all(e.equipment == ("bodyweight",) for e in w.exercises)
        assert sum(n.startswith("None of your") for n in w.notes) == 5, w.notes


def test_high_rep_user_moves_are_capped_at_ten() -> None:
    ws = WorkoutSettings(
        exercises=(
            ExerciseSpec("Light leg press", "lower", ("barbell",), "15"),
            ExerciseSpec("Wall sit", "core", ("bodyweight",), "45 s"),
        )
    )
    w = workout_for(session(), ws, 45)
    press = next(e for e in w.exercises if e.name == "Light leg press")
    assert press.reps == "10"
    assert any("capped at 10" in n for n in w.notes)
    wall = next(e for e in w.exercises if e.name == "Wall sit")
    assert wall.reps == "45 s"  # timed holds are not reps


def test_the_config_vocabulary_reaches_the_workout() -> None:
    cfg = parse_config(
        {
            "workout": {
                "equipment": ["kettlebell"],
                "level": "beginner",
                "exercises": [
                    {
                        "name": "Kettlebell clean",
                        "category": "explosive",
                        "equipment": ["kettlebell"],
                    },
                    {"name": "Donkey calf raise", "category": "calves", "reps": "10"},
                ],
            }
        }
    )
    w = workout_for(session(), cfg.workout, 45)
    names = [e.name for e in w.exercises]
    assert "Kettlebell clean" in names and "Donkey calf raise" in names
    check_rules(w, session(), cfg.workout, 45)


# --------------------------------------------------------------------------- text


def test_description_reads_as_plain_text_in_order() -> None:
    s = session("2026-11-23/1", Phase.BUILD)
    w = workout_for(s, WorkoutSettings(), 45)
    lines = describe(s, w).splitlines()
    assert lines[0] == f"Strength A · about {w.minutes} min · build phase"
    assert lines[1] == w.warmup
    for i, e in enumerate(w.exercises, start=1):
        assert lines[1 + i].startswith(f"{i}. {e.name} — {e.sets} × {e.reps} ")
        assert "rest" in lines[1 + i]
    assert lines[-1] == f"Why today: {REASON}"
    assert max(len(line) for line in lines) <= 130


def test_description_without_a_reason_has_no_why_line() -> None:
    s = session(reason="")
    assert "Why today" not in describe(s, workout_for(s, WorkoutSettings(), 45))


def test_titles() -> None:
    ws = WorkoutSettings()
    build = session("2026-11-23/1", Phase.BUILD)
    taper = session("2026-11-23/1", Phase.TAPER)
    base = session("2026-11-23/2", Phase.BASE)
    assert title_for(build, workout_for(build, ws, 45)) == "Strength A · build"
    t = title_for(taper, workout_for(taper, ws, 45))
    assert t in ("Strength A · taper", "Strength B · taper")
    assert title_for(base, workout_for(base, ws, 45)) == "Strength B · base"


def test_json_holds_the_exercise_list() -> None:
    w = workout_for(session(), WorkoutSettings(), 45)
    data = json.loads(json.dumps(workout_to_json(w)))
    assert data["template"] == w.template and data["minutes"] == w.minutes
    assert [x["name"] for x in data["exercises"]] == [e.name for e in w.exercises]
    first = data["exercises"][0]
    assert set(first) == {"name", "category", "sets", "reps", "load", "rest_seconds", "equipment"}
    assert data["warmup"] == w.warmup and data["notes"] == list(w.notes)


def test_a_user_plyometric_gives_way_in_the_taper_with_a_note() -> None:
    ws = WorkoutSettings(
        exercises=(ExerciseSpec("Depth jump", "plyo", ("box",), "5"),), replace_library=True
    )
    build = workout_for(session(KEYS[0], Phase.BUILD), ws, 45)
    taper = workout_for(session(KEYS[0], Phase.TAPER), ws, 45)
    assert "Depth jump" in [e.name for e in build.exercises]
    power = [e for e in taper.exercises if e.category == "explosive"]
    assert len(power) == 1 and power[0].equipment == ("bodyweight",)
    assert any("taper (no jumps)" in n and power[0].name in n for n in taper.notes)
