"""The config loader's value checkers: each turns one TOML value into a typed one or
raises with what was expected (`_int`, `_num`, `_choice`, times of day, zones with a
"did you mean", weekdays, durations, paths relative to the file...), and `_Problems`
collects every problem with its key path so that they are reported together. Used by
`calsync.config` and `calsync.config_plan`.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Callable, Mapping
from datetime import date, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from calsync.settings import WEEKDAY_ALIASES


def _is_zone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


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
    if mode & 0o022:
        # calsync reads its SEQUENCE floor back from this file: whoever may write it could
        # push every SEQUENCE up.
        raise ValueError("only the owner may write it: calsync reads it back")
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


def _date(v: Any) -> date:
    if isinstance(v, date):
        return v
    return date.fromisoformat(_str(v))
