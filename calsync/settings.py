"""The settings the pure core plans with: schedule, rules, classifier patterns, workouts.

Plain frozen dataclasses with their defaults (the numbers of docs/RULES.md); no file,
environment or system lookup. `calsync.config` reads them from the TOML file and
validates them; the planner, classifier and workout builder take them as values.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, time
from zoneinfo import ZoneInfo

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
WEEKDAY_ALIASES = {d[:3]: i for i, d in enumerate(WEEKDAYS)} | {
    d: i for i, d in enumerate(WEEKDAYS)
}
EQUIPMENT = (
    "barbell",
    "dumbbells",
    "kettlebell",
    "medicine ball",
    "bands",
    "pull-up bar",
    "box",
    "bodyweight",
)
LEVELS = ("beginner", "intermediate", "advanced")


@dataclass(frozen=True, slots=True)
class Schedule:
    timezone: str = "UTC"
    horizon_days: int = 28
    earliest: time = time(6, 0)
    latest: time = time(21, 0)
    session_minutes: int = 45
    preferred_time: time | None = time(18, 0)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


@dataclass(frozen=True, slots=True)
class DateRange:
    start: date
    end: date  # inclusive

    def __contains__(self, d: object) -> bool:
        return isinstance(d, date) and self.start <= d <= self.end


@dataclass(frozen=True, slots=True)
class Rules:
    """The numbers of RULES.md; names as there."""

    sessions_per_week: int = 2
    taper_sessions_per_week: int = 1
    min_hours_before_hard: float = 24.0
    min_hours_before_race: float = 48.0
    min_hours_after_hard: float = 3.0
    min_hours_after_easy: float = 0.5
    lift_on_easy_days: str = "base"  # "base" | "never" | "always"
    lift_on_rest_days: str = "fallback"  # "fallback" | "never" | "always"
    min_hours_between_sessions: float = 48.0
    buffer_minutes: int = 15
    taper_days: int = 14
    phase: str = "auto"  # "auto": a week with no hard run is a base week
    base_ranges: tuple[DateRange, ...] = ()
    preferred_hours_before_hard: float = 48.0
    # Start of all-day runs, per weekday (0 = Monday).
    all_day_run_start: tuple[time, ...] = (time(7, 0),) * 7
    all_day_run_minutes: int = 60
    week_start: int = 0  # 0 = Monday
    freeze_hours: float = 12.0
    # With no run at all in the horizon: place sessions on rest days anyway?
    plan_without_runs: bool = False


@dataclass(frozen=True, slots=True)
class ClassifyRules:
    """User patterns (regular expressions, case-insensitive), tried before the built-ins."""

    hard: tuple[str, ...] = ()
    easy: tuple[str, ...] = ()
    race: tuple[str, ...] = ()
    norun: tuple[str, ...] = ()
    strength: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ExerciseSpec:
    """A user's own exercise, added to (or replacing) the built-in library."""

    name: str
    category: str  # lower | calves | upper | core | explosive | plyo
    equipment: tuple[str, ...] = ("bodyweight",)
    reps: str = "8"
    load: str = ""


@dataclass(frozen=True, slots=True)
class WorkoutSettings:
    equipment: tuple[str, ...] = EQUIPMENT
    level: str = "intermediate"
    exercises: tuple[ExerciseSpec, ...] = ()
    replace_library: bool = False  # True: only the user's exercises are used
