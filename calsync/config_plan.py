"""The config tables the plan is made from, read into settings: [rules] (with base ranges
and all-day run starts), [classify] and [workout] (with its exercises). [schedule] stays
in `calsync.config`: its default zone is the system's. Value checks come from
`calsync.config_values`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import time
from typing import Any

from calsync.config_values import (
    _bool,
    _choice,
    _date,
    _get,
    _int,
    _num,
    _patterns,
    _Problems,
    _str,
    _str_list,
    _unknown,
    _weekday,
    parse_hhmm,
)
from calsync.settings import (
    EQUIPMENT,
    LEVELS,
    ClassifyRules,
    DateRange,
    ExerciseSpec,
    Rules,
    WorkoutSettings,
)

RULES_KEYS = (
    "sessions_per_week",
    "taper_sessions_per_week",
    "min_hours_before_hard",
    "min_hours_before_race",
    "min_hours_after_hard",
    "min_hours_after_easy",
    "lift_on_easy_days",
    "lift_on_rest_days",
    "min_hours_between_sessions",
    "buffer_minutes",
    "taper_days",
    "phase",
    "base_ranges",
    "preferred_hours_before_hard",
    "all_day_run_start",
    "all_day_run_minutes",
    "week_start",
    "freeze_hours",
    "plan_without_runs",
)


def _ranges(v: Any) -> tuple[DateRange, ...]:
    if not isinstance(v, list):
        raise TypeError("not a list of [from, to] date pairs")
    out = []
    for item in v:
        if not isinstance(item, list) or len(item) != 2:
            raise ValueError(f"{item!r} is not a [from, to] pair of dates")
        a, b = _date(item[0]), _date(item[1])
        if b < a:
            raise ValueError(f"range {a}..{b} ends before it starts")
        out.append(DateRange(a, b))
    return tuple(out)


def _all_day_start(v: Any) -> tuple[time, ...]:
    if isinstance(v, str):
        return (parse_hhmm(v),) * 7
    if not isinstance(v, dict):
        raise TypeError("not 'HH:MM' or a table of weekday = 'HH:MM'")
    default = parse_hhmm(v.get("default", "07:00"))
    out = [default] * 7
    for k, val in v.items():
        if k == "default":
            continue
        out[_weekday(k)] = parse_hhmm(val)
    return tuple(out)


def _rules(t: Mapping[str, Any], p: _Problems) -> Rules:
    w = "rules."
    _unknown(t, RULES_KEYS, w, p)
    d = Rules()
    hours = _num(0, 24 * 14)
    r = Rules(
        sessions_per_week=_get(t, "sessions_per_week", w, p, _int(0, 7), "0..7", 2),
        taper_sessions_per_week=_get(t, "taper_sessions_per_week", w, p, _int(0, 7), "0..7", 1),
        min_hours_before_hard=_get(t, "min_hours_before_hard", w, p, hours, "hours", 24.0),
        min_hours_before_race=_get(t, "min_hours_before_race", w, p, hours, "hours", 48.0),
        min_hours_after_hard=_get(t, "min_hours_after_hard", w, p, hours, "hours", 3.0),
        min_hours_after_easy=_get(t, "min_hours_after_easy", w, p, hours, "hours", 0.5),
        lift_on_easy_days=_get(
            t, "lift_on_easy_days", w, p, _choice("base", "never", "always"), "a choice", "base"
        ),
        lift_on_rest_days=_get(
            t,
            "lift_on_rest_days",
            w,
            p,
            _choice("fallback", "never", "always"),
            "a choice",
            "fallback",
        ),
        min_hours_between_sessions=_get(
            t, "min_hours_between_sessions", w, p, hours, "hours", 48.0
        ),
        buffer_minutes=_get(t, "buffer_minutes", w, p, _int(0, 240), "minutes, 0..240", 15),
        taper_days=_get(t, "taper_days", w, p, _int(0, 56), "days, 0..56", 14),
        phase=_get(t, "phase", w, p, _choice("auto", "base"), "a choice", "auto"),
        base_ranges=_get(t, "base_ranges", w, p, _ranges, "[[from, to], ...] dates", ()),
        preferred_hours_before_hard=_get(
            t, "preferred_hours_before_hard", w, p, hours, "hours", 48.0
        ),
        all_day_run_start=_get(
            t,
            "all_day_run_start",
            w,
            p,
            _all_day_start,
            "'HH:MM' or { default = 'HH:MM', saturday = 'HH:MM', ... }",
            d.all_day_run_start,
        ),
        all_day_run_minutes=_get(
            t, "all_day_run_minutes", w, p, _int(5, 600), "minutes, 5..600", 60
        ),
        week_start=_get(t, "week_start", w, p, _weekday, "a weekday name", 0),
        freeze_hours=_get(t, "freeze_hours", w, p, hours, "hours", 12.0),
        plan_without_runs=_get(t, "plan_without_runs", w, p, _bool, "true/false", False),
    )
    if r.taper_sessions_per_week > r.sessions_per_week:
        p.add("rules.taper_sessions_per_week", "must not exceed rules.sessions_per_week")
    return r


CLASSIFY_KEYS = ("hard", "easy", "race", "norun", "strength")


def _classify(t: Mapping[str, Any], p: _Problems) -> ClassifyRules:
    w = "classify."
    _unknown(t, CLASSIFY_KEYS, w, p)
    exp = "a list of regular expressions"
    return ClassifyRules(**{k: _get(t, k, w, p, _patterns, exp, ()) for k in CLASSIFY_KEYS})


WORKOUT_KEYS = ("equipment", "level", "exercises", "replace_library")
EXERCISE_KEYS = ("name", "category", "equipment", "reps", "load")
CATEGORIES = ("lower", "calves", "upper", "core", "explosive", "plyo")


def _equipment(v: Any) -> tuple[str, ...]:
    items = _str_list(v)
    bad = [x for x in items if x not in EQUIPMENT]
    if bad:
        raise ValueError(f"unknown equipment {bad}; choose from {', '.join(EQUIPMENT)}")
    return items


def _workout(t: Mapping[str, Any], p: _Problems) -> WorkoutSettings:
    w = "workout."
    _unknown(t, WORKOUT_KEYS, w, p)
    equipment = _get(t, "equipment", w, p, _equipment, "a list of equipment names", EQUIPMENT)
    level = _get(t, "level", w, p, _choice(*LEVELS), "a level", "intermediate")
    exercises: list[ExerciseSpec] = []
    raw = t.get("exercises", [])
    if not isinstance(raw, list):
        p.add("workout.exercises", "expected an array of tables [[workout.exercises]]")
        raw = []
    for i, ex in enumerate(raw):
        ew = f"workout.exercises[{i}]."
        if not isinstance(ex, dict):
            p.add(ew[:-1], "expected a table")
            continue
        _unknown(ex, EXERCISE_KEYS, ew, p)
        name = _get(ex, "name", ew, p, _str, "a string", "")
        if not name:
            p.add(f"{ew}name", "required")
        exercises.append(
            ExerciseSpec(
                name=name,
                category=_get(ex, "category", ew, p, _choice(*CATEGORIES), "a category", "core"),
                equipment=_get(
                    ex, "equipment", ew, p, _equipment, "equipment names", ("bodyweight",)
                ),
                reps=_get(ex, "reps", ew, p, _str, "a string like '8' or '30 s'", "8"),
                load=_get(ex, "load", ew, p, _str, "a string", ""),
            )
        )
    replace = _get(t, "replace_library", w, p, _bool, "true/false", False)
    return WorkoutSettings(
        equipment=equipment, level=level, exercises=tuple(exercises), replace_library=replace
    )
