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

Beside this module: `config_values` (the value checkers and the problem collector) and
`config_plan` (the [rules], [classify] and [workout] tables).
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from datetime import time
from pathlib import Path
from typing import Any

import platformdirs

from calsync.config_plan import _classify, _rules, _workout
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
from calsync.config_values import (
    _choice,
    _get,
    _int,
    _is_zone,
    _num,
    _path,
    _Problems,
    _str,
    _table,
    _unknown,
    _zone,
    file_mode,
    parse_duration_seconds,
    parse_hhmm,
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


# --------------------------------------------------------------------------- settings


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
