"""At most a few warnings of one kind per calendar read.

A broken event costs one warning naming its line and UID. A hostile or damaged file can
hold thousands of broken events (the fuzz campaign's 5,000 nested `BEGIN:VEVENT` lines
gave 15,000 warnings), and a daemon reads it again every round: the log would take them
all, every time. Each kind of warning (one format string) is shown `ALIKE` times per
read; the rest are counted in one line at the end of the read.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass

ALIKE = 20  # warnings of one kind shown per read


@dataclass
class _Kind:
    count: int = 0
    last: str = ""  # the last one shown


# Per read (and so per thread): a warning's format string -> how often it came.
_seen: ContextVar[dict[object, _Kind] | None] = ContextVar("calsync_ics_seen", default=None)


class _Cap(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        seen = _seen.get()
        if seen is None or record.levelno != logging.WARNING:
            return True
        kind = seen.setdefault(record.msg, _Kind())
        kind.count += 1
        if kind.count > ALIKE:
            return False
        kind.last = record.getMessage()
        return True


def install(log: logging.Logger) -> None:
    """Cap `log`'s warnings inside `capped` (once per logger)."""
    if not any(isinstance(f, _Cap) for f in log.filters):
        log.addFilter(_Cap())


@contextlib.contextmanager
def capped(log: logging.Logger, label: str) -> Iterator[None]:
    """One read of `label`: after it, one line per kind of warning that was cut short."""
    seen: dict[object, _Kind] = {}
    token = _seen.set(seen)
    try:
        yield
    finally:
        _seen.reset(token)
        for kind in seen.values():
            if kind.count > ALIKE:
                log.warning(
                    "%s: %d more warnings like this one not shown: %s",
                    label, kind.count - ALIKE, kind.last,
                )  # fmt: skip
