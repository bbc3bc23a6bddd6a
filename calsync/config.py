"""TOML configuration -> typed, validated settings: the loader.

The settings themselves are plain values in `calsync.settings` (what the plan is made
from) and `calsync.config_types` (sources, outputs, services, `Config`); both are
re-exported here. This module is the part that touches the system: the file, the
environment (TZ) and the user's directories (platformdirs).

The file is read once into frozen dataclasses; nothing downstream sees a dict. Every
problem in the file is collected (wrong type, bad value, unknown key with a "did you
mean") and reported together with its key path, then loading stops with `ConfigError`.

Relative paths in the file are taken relative to the file's own folder, so a config and
the calendar next to it work from any working directory.
"""

from __future__ import annotations

import difflib
import os
import re
import tomllib
from collections.abc import Callable, Mapping
from datetime import date, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import platformdirs

from calsync.config_types import (
    CaldavOutput,
    Config,
    DaemonSettings,
    FeedSettings,
    GoogleOutput,
    GoogleSettings,
    IcsOutput,
    SourceSettings,
    redact_url,
    scrub,
    url_secrets,
)
from calsync.errors import ConfigError, ConfigNotFoundError
from calsync.model import Role
from calsync.settings import (
    EQUIPMENT,
    LEVELS,
    WEEKDAY_ALIASES,
    WEEKDAYS,
    ClassifyRules,
    DateRange,
    ExerciseSpec,
    Rules,
    Schedule,
    WorkoutSettings,
)
from calsync.sources.limits import DEFAULT_LIMITS, ParseLimits

__all__ = [
    "EQUIPMENT",
    "LEVELS",
    "WEEKDAYS",
    "WEEKDAY_ALIASES",
    "CaldavOutput",
    "ClassifyRules",
    "Config",
    "DaemonSettings",
    "DateRange",
    "ExerciseSpec",
    "FeedSettings",
    "GoogleOutput",
    "GoogleSettings",
    "IcsOutput",
    "Rules",
    "Schedule",
    "SourceSettings",
    "WorkoutSettings",
    "default_config",
    "default_config_path",
    "default_state_dir",
    "load_config",
    "parse_config",
    "redact_url",
    "scrub",
    "url_secrets",
    "system_timezone",
]

APP = "calsync"


def default_config_path() -> Path:
    return Path(platformdirs.user_config_dir(APP)) / "config.toml"


def default_state_dir() -> Path:
    return Path(platformdirs.user_state_dir(APP))


def system_timezone() -> str:
    """The system's IANA zone name, or UTC when it cannot be told."""
    tz = os.environ.get("TZ", "").lstrip(":")
    if tz and _is_zone(tz):
        return tz
    try:
        link = os.readlink("/etc/localtime")
        name = link.split("zoneinfo/", 1)[1] if "zoneinfo/" in link else ""
        if name and _is_zone(name):
            return name
    except OSError:
        pass
    try:
        name = Path("/etc/timezone").read_text().strip()
        if name and _is_zone(name):
            return name
    except OSError:
        pass
    return "UTC"


def _is_zone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


# --------------------------------------------------------------------------- settings


# --------------------------------------------------------------------------- validation


class _Problems:
    def __init__(self) -> None:
        self.items: list[str] = []
        self.details: list[str] = []  # long lists, shown with -v only

    def add(self, key: str, msg: str) -> None:
        self.items.append(f"{key}: {msg}")


def _unknown(table: Mapping[str, Any], known: tuple[str, ...], where: str, p: _Problems) -> None:
    for k in table:
        if k not in known:
            close = difflib.get_close_matches(k, known, n=1, cutoff=0.6)
            hint = f" (did you mean '{close[0]}'?)" if close else " (-v lists the known keys)"
            p.add(f"{where}{k}", f"unknown key{hint}")
            section = f"[{where.rstrip('.')}]" if where else "the top level"
            line = f"known keys in {section}: {', '.join(known)}"
            if line not in p.details:
                p.details.append(line)


def _type_name(v: object) -> str:
    return {str: "a string", int: "an integer", float: "a number", bool: "true/false"}.get(
        type(v), type(v).__name__
    )


def _get(
    table: Mapping[str, Any],
    key: str,
    where: str,
    p: _Problems,
    conv: Callable[[Any], Any],
    expected: str,
    default: Any,
) -> Any:
    if key not in table:
        return default
    raw = table[key]
    try:
        return conv(raw)
    except (ValueError, TypeError) as e:
        detail = f" ({e})" if str(e) else ""
        p.add(f"{where}{key}", f"expected {expected}, got {raw!r}{detail}")
        return default


def _int(lo: int, hi: int) -> Callable[[Any], int]:
    def conv(v: Any) -> int:
        if isinstance(v, bool) or not isinstance(v, int):
            raise TypeError(f"not an integer but {_type_name(v)}")
        if not lo <= v <= hi:
            raise ValueError(f"out of range {lo}..{hi}")
        return v

    return conv


def _num(lo: float, hi: float) -> Callable[[Any], float]:
    def conv(v: Any) -> float:
        if isinstance(v, bool) or not isinstance(v, int | float):
            raise TypeError(f"not a number but {_type_name(v)}")
        if not lo <= v <= hi:
            raise ValueError(f"out of range {lo}..{hi}")
        return float(v)

    return conv


def _bool(v: Any) -> bool:
    if not isinstance(v, bool):
        raise TypeError(f"not true/false but {_type_name(v)}")
    return v


def _str(v: Any) -> str:
    if not isinstance(v, str):
        raise TypeError(f"not a string but {_type_name(v)}")
    return v


def _choice(*choices: str) -> Callable[[Any], str]:
    def conv(v: Any) -> str:
        s = _str(v)
        if s not in choices:
            raise ValueError(f"must be one of {', '.join(repr(c) for c in choices)}")
        return s

    return conv


_MODE = re.compile(r"^0?[0-7]{3}$")


def file_mode(v: Any) -> int:
    """A file mode written as octal digits in a string ("0640"): a TOML integer would be
    read as decimal (640 is not 0o640), so it is refused rather than guessed."""
    if not isinstance(v, str):
        raise TypeError(f"a string of octal digits, in quotes, not {_type_name(v)}")
    s = v.strip()
    if not _MODE.match(s):
        raise ValueError('three or four octal digits, e.g. "0640"')
    mode = int(s, 8)
    if mode & 0o600 != 0o600:
        raise ValueError("the owner's digit must be 6 or 7: calsync reads and rewrites the file")
    return mode


_HHMM = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


def parse_hhmm(v: Any) -> time:
    s = _str(v).strip()
    m = _HHMM.match(s)
    if not m:
        raise ValueError("not a time of day like '06:30'")
    return time(int(m.group(1)), int(m.group(2)))


def _zone(v: Any) -> str:
    s = _str(v)
    if not _is_zone(s):
        close = zone_suggestion(s)
        raise ValueError(f"did you mean '{close}'?" if close else "like 'Europe/Berlin'")
    return s


def zone_suggestion(name: str) -> str | None:
    """The IANA zone a typo most likely meant ("europe/berln" -> "Europe/Berlin")."""
    import zoneinfo

    zones = sorted(zoneinfo.available_timezones())
    by_lower = {z.lower(): z for z in zones}
    key = name.strip().replace(" ", "_").lower()
    if key in by_lower:
        return by_lower[key]
    close = difflib.get_close_matches(key, list(by_lower), n=1, cutoff=0.75)
    if close:
        return by_lower[close[0]]
    # "Berlin", "new york": the city alone.
    cities = {z.rsplit("/", 1)[-1].lower(): z for z in zones if "/" in z}
    city = difflib.get_close_matches(key.rsplit("/", 1)[-1], list(cities), n=1, cutoff=0.8)
    return cities[city[0]] if city else None


def _weekday(v: Any) -> int:
    s = _str(v).strip().lower()
    if s not in WEEKDAY_ALIASES:
        raise ValueError("not a weekday name like 'monday'")
    return WEEKDAY_ALIASES[s]


def _str_list(v: Any) -> tuple[str, ...]:
    if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
        raise TypeError("not a list of strings")
    return tuple(v)


def _patterns(v: Any) -> tuple[str, ...]:
    items = _str_list(v)
    for pat in items:
        try:
            re.compile(pat)
        except re.error as e:
            raise ValueError(f"{pat!r} is not a valid regular expression: {e}") from None
    return items


_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|sec|m|min|h|hr|hours?|minutes?|seconds?)?\s*$")


def parse_duration_seconds(v: Any) -> float:
    """'15m', '900s', '1h', or a bare number of minutes."""
    if isinstance(v, int | float) and not isinstance(v, bool):
        if v <= 0:
            raise ValueError("must be positive")
        return float(v) * 60
    m = _DURATION.match(_str(v))
    if not m:
        raise ValueError("not a duration like '15m', '900s' or '1h'")
    n = float(m.group(1))
    unit = (m.group(2) or "m")[0]
    secs = n * {"s": 1, "m": 60, "h": 3600}[unit]
    if secs <= 0:
        raise ValueError("must be positive")
    return secs


def _path(base: Path | None) -> Callable[[Any], Path]:
    def conv(v: Any) -> Path:
        s = os.path.expanduser(_str(v))
        if not s:
            raise ValueError("empty path")
        pth = Path(s)
        if not pth.is_absolute() and base is not None:
            pth = base / pth
        return pth

    return conv


def _table(raw: Mapping[str, Any], key: str, where: str, p: _Problems) -> Mapping[str, Any]:
    v = raw.get(key, {})
    if not isinstance(v, dict):
        p.add(f"{where}{key}", f"expected a table [{where}{key}], got {_type_name(v)}")
        return {}
    return v


SCHEDULE_KEYS = (
    "timezone",
    "horizon_days",
    "earliest",
    "latest",
    "session_minutes",
    "preferred_time",
)


def _schedule(t: Mapping[str, Any], p: _Problems) -> Schedule:
    w = "schedule."
    _unknown(t, SCHEDULE_KEYS, w, p)
    d = Schedule()
    tz = _get(t, "timezone", w, p, _zone, "an IANA zone name", None) or system_timezone()
    pref_raw = t.get("preferred_time", None)
    if pref_raw in ("", "none", False):
        pref: time | None = None
    else:
        pref = _get(t, "preferred_time", w, p, parse_hhmm, "'HH:MM' or \"\"", d.preferred_time)
    s = Schedule(
        timezone=tz,
        horizon_days=_get(t, "horizon_days", w, p, _int(1, 3660), "days, 1..3660", d.horizon_days),
        earliest=_get(t, "earliest", w, p, parse_hhmm, "'HH:MM'", d.earliest),
        latest=_get(t, "latest", w, p, parse_hhmm, "'HH:MM'", d.latest),
        session_minutes=_get(
            t, "session_minutes", w, p, _int(15, 180), "minutes, 15..180", d.session_minutes
        ),
        preferred_time=pref,
    )
    if s.earliest >= s.latest:
        p.add("schedule.latest", f"must be after schedule.earliest ({s.earliest:%H:%M})")
    return s


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


def _date(v: Any) -> date:
    if isinstance(v, date):
        return v
    return date.fromisoformat(_str(v))


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


SOURCE_KEYS = (
    "type",
    "role",
    "name",
    "url",
    "calendar",
    "username",
    "password_file",
    "timeout_seconds",
    "max_bytes",
    "parse_seconds",
    "max_occurrences",
    "max_properties",
    "max_depth",
)


def _sources(raw: Any, base: Path | None, p: _Problems) -> tuple[SourceSettings, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        p.add("source", "expected one or more [[source]] tables")
        return ()
    out = []
    for i, t in enumerate(raw):
        w = f"source[{i}]."
        if not isinstance(t, dict):
            p.add(w[:-1], "expected a table")
            continue
        _unknown(t, SOURCE_KEYS, w, p)
        typ = _get(t, "type", w, p, _choice("ics", "google", "caldav"), "a source type", "")
        if "type" not in t:
            p.add(f"{w}type", "required: 'ics', 'google' or 'caldav'")
        role = Role(_get(t, "role", w, p, _choice("runs", "busy"), "'runs' or 'busy'", "runs"))
        url = _get(t, "url", w, p, _str, "a path or URL", "")
        if typ == "ics":
            if not url:
                p.add(f"{w}url", "required for an ics source: a path or an http(s)/webcal URL")
            elif "://" not in url and base is not None:
                url = str(base / os.path.expanduser(url))
        if typ == "caldav" and not url:
            p.add(f"{w}url", "required for a caldav source: the server URL")
        cal = _get(t, "calendar", w, p, _str, "a calendar id or name", "")
        if typ == "google" and not cal:
            cal = "primary"
        pw = _get(t, "password_file", w, p, _path(base), "a path", None)
        out.append(
            SourceSettings(
                type=typ,
                role=role,
                name=_get(t, "name", w, p, _str, "a string", ""),
                url=url,
                calendar=cal,
                username=_get(t, "username", w, p, _str, "a string", ""),
                password_file=str(pw) if pw else "",
                timeout_seconds=_get(
                    t, "timeout_seconds", w, p, _num(1, 600), "seconds, 1..600", 20.0
                ),
                max_bytes=_get(t, "max_bytes", w, p, _int(1024, 1 << 31), "bytes", 20 << 20),
                limits=_limits(t, w, p),
            )
        )
    return tuple(out)


def _limits(t: Mapping[str, Any], w: str, p: _Problems) -> ParseLimits:
    d = DEFAULT_LIMITS
    return ParseLimits(
        parse_seconds=_get(
            t, "parse_seconds", w, p, _num(0.1, 3600), "seconds, 0.1..3600", d.parse_seconds
        ),
        max_occurrences=_get(
            t, "max_occurrences", w, p, _int(1, 10**7), "a count", d.max_occurrences
        ),
        max_properties=_get(
            t, "max_properties", w, p, _int(10, 10**7), "a count", d.max_properties
        ),
        max_depth=_get(t, "max_depth", w, p, _int(3, 1000), "a count, 3..1000", d.max_depth),
    )


CALDAV_OUTPUT_KEYS = (
    "url",
    "username",
    "password_file",
    "calendar",
    "alarm_minutes",
    "timeout_seconds",
)


def _caldav_output(t: Mapping[str, Any], base: Path | None, p: _Problems) -> CaldavOutput | None:
    w = "output.caldav."
    _unknown(t, CALDAV_OUTPUT_KEYS, w, p)
    url = _get(t, "url", w, p, _str, "a URL", "")
    if not url:
        p.add(f"{w}url", "required: the CalDAV server URL (e.g. https://caldav.icloud.com/)")
    pw = _get(t, "password_file", w, p, _path(base), "a path", None)
    alarm = _get(t, "alarm_minutes", w, p, _int(0, 7 * 24 * 60), "minutes, 0..10080", None)
    calendar = _get(t, "calendar", w, p, _str, "a calendar name", "Strength training")
    if not calendar.strip():
        p.add(f"{w}calendar", "must not be empty: the name of the calendar to write into")
    if not url:
        return None
    return CaldavOutput(
        url=url,
        username=_get(t, "username", w, p, _str, "a string", ""),
        password_file=str(pw) if pw else "",
        calendar=calendar,
        alarm_minutes=alarm,
        timeout_seconds=_get(t, "timeout_seconds", w, p, _num(1, 600), "seconds, 1..600", 20.0),
    )


def _outputs(
    t: Mapping[str, Any], base: Path | None, p: _Problems
) -> tuple[IcsOutput | None, GoogleOutput | None, CaldavOutput | None]:
    _unknown(t, ("ics", "google", "caldav"), "output.", p)
    ics = google = None
    if "ics" in t:
        it = _table(t, "ics", "output.", p)
        w = "output.ics."
        _unknown(it, ("path", "calendar_name", "refresh_minutes", "mode"), w, p)
        pth = _get(it, "path", w, p, _path(base), "a file path", None)
        if pth is None:
            p.add(f"{w}path", "required: where to write the strength calendar")
        else:
            ics = IcsOutput(
                path=pth,
                calendar_name=_get(
                    it, "calendar_name", w, p, _str, "a string", "Strength training"
                ),
                refresh_minutes=_get(
                    it, "refresh_minutes", w, p, _int(5, 7 * 24 * 60), "minutes", 60
                ),
                mode=_get(it, "mode", w, p, file_mode, 'a file mode like "0640"', None),
            )
    if "google" in t:
        gt = _table(t, "google", "output.", p)
        _unknown(gt, ("calendar",), "output.google.", p)
        google = GoogleOutput(
            calendar=_get(
                gt, "calendar", "output.google.", p, _str, "a calendar name", "Strength training"
            )
        )
    caldav = None
    if "caldav" in t:
        caldav = _caldav_output(_table(t, "caldav", "output.", p), base, p)
    return ics, google, caldav


def _google(t: Mapping[str, Any], base: Path | None, p: _Problems) -> GoogleSettings:
    w = "google."
    _unknown(t, ("api_endpoint", "token_uri", "token_path", "batch_uri", "timeout"), w, p)
    d = GoogleSettings()
    api = _get(t, "api_endpoint", w, p, _str, "a URL", d.api_endpoint)
    if not api.endswith("/"):
        api += "/"
    return GoogleSettings(
        api_endpoint=api,
        token_uri=_get(t, "token_uri", w, p, _str, "a URL", d.token_uri),
        token_path=_get(t, "token_path", w, p, _path(base), "a path", None),
        batch_uri=_get(t, "batch_uri", w, p, _str, "a URL", d.batch_uri),
        timeout_seconds=_get(
            t, "timeout", w, p, parse_duration_seconds, "a duration like '30s'", 30.0
        ),
    )


_LISTEN = re.compile(r"^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.\-]+):(\d{1,5})$")


def _listen(v: Any) -> str:
    s = _str(v)
    m = _LISTEN.match(s)
    if not m or not 0 < int(m.group(2)) < 65536:
        raise ValueError("not HOST:PORT like '127.0.0.1:8765'")
    return s


def _token(v: Any) -> str:
    s = _str(v)
    if len(s) < 16 or not re.fullmatch(r"[A-Za-z0-9_\-]+", s):
        raise ValueError("must be at least 16 characters of A-Z a-z 0-9 _ -")
    return s


def _feed(t: Mapping[str, Any], p: _Problems) -> FeedSettings:
    w = "feed."
    _unknown(t, ("listen", "token", "base_url"), w, p)
    return FeedSettings(
        listen=_get(t, "listen", w, p, _listen, "HOST:PORT", "127.0.0.1:8765"),
        token=_get(t, "token", w, p, _token, "a long random string", None),
        base_url=_get(t, "base_url", w, p, _str, "a URL", "").rstrip("/"),
    )


def _daemon(t: Mapping[str, Any], p: _Problems) -> DaemonSettings:
    w = "daemon."
    _unknown(t, ("interval", "max_backoff"), w, p)
    exp = "a duration like '15m' or minutes"
    return DaemonSettings(
        interval_seconds=_get(t, "interval", w, p, parse_duration_seconds, exp, 900.0),
        max_backoff_seconds=_get(t, "max_backoff", w, p, parse_duration_seconds, exp, 3600.0),
    )


TOP_KEYS = (
    "schedule",
    "rules",
    "classify",
    "workout",
    "source",
    "output",
    "google",
    "state",
    "feed",
    "daemon",
)


def parse_config(raw: Mapping[str, Any], path: Path | None = None) -> Config:
    """Validate an already-parsed TOML document; raise ConfigError listing every problem."""
    p = _Problems()
    base = path.expanduser().resolve().parent if path is not None else None
    _unknown(raw, TOP_KEYS, "", p)
    schedule = _schedule(_table(raw, "schedule", "", p), p)
    rules = _rules(_table(raw, "rules", "", p), p)
    classify = _classify(_table(raw, "classify", "", p), p)
    workout = _workout(_table(raw, "workout", "", p), p)
    sources = _sources(raw.get("source"), base, p)
    out_ics, out_google, out_caldav = _outputs(_table(raw, "output", "", p), base, p)
    google = _google(_table(raw, "google", "", p), base, p)
    st = _table(raw, "state", "", p)
    _unknown(st, ("path",), "state.", p)
    state_path = _get(
        st, "path", "state.", p, _path(base), "a file path", default_state_dir() / "state.sqlite3"
    )
    feed = _feed(_table(raw, "feed", "", p), p)
    daemon = _daemon(_table(raw, "daemon", "", p), p)
    if p.items:
        raise ConfigError(str(path) if path else "<config>", p.items, details=p.details)
    return Config(
        path=path,
        schedule=schedule,
        rules=rules,
        classify=classify,
        workout=workout,
        sources=sources,
        output_ics=out_ics,
        output_google=out_google,
        output_caldav=out_caldav,
        google=google,
        state_path=state_path,
        feed=feed,
        daemon=daemon,
    )


def load_config(path: Path) -> Config:
    """Read and validate a config file. Raises ConfigError naming the file and every problem."""
    try:
        # utf-8-sig: editors on Windows may start the file with a byte-order mark, which
        # TOML would report as "Invalid statement (at line 1, column 1)".
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ConfigNotFoundError(path) from None
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(str(path), [f"cannot be read: {e}"]) from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(str(path), [f"not valid TOML: {e}"]) from None
    return parse_config(raw, path)


def default_config() -> Config:
    """Settings for running with no config file (e.g. `calsync classify FILE`)."""
    return parse_config({})
