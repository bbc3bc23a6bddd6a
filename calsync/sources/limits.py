"""Bounds on the work one calendar source may cost, and the clock that enforces them.

A source calendar is written by someone else. A single line can make the expander loop
for minutes (`FREQ=HOURLY;BYSETPOS=366` from years back never yields and runs to year
9999) or a file can hold a million properties in one event. The reader checks what it
can before parsing (per-component property counts, nesting depth, occurrences per series)
and bounds the rest by time: `Budget` runs the parse against a deadline and, when the
deadline passes, raises an exception *in the parsing thread* (CPython's
PyThreadState_SetAsyncExc), so a loop inside a library that never returns to our code is
still stopped. The same route lets a daemon asked to stop cut a parse short
(`interrupt_all`: a few seconds of grace, so an ordinary sync still finishes and commits).

The exceptions derive from BaseException so that the many `except Exception` blocks that
skip one broken event do not swallow them; the caller turns them into a SourceError.
"""

from __future__ import annotations

import ctypes
import threading
import time
from dataclasses import dataclass
from types import TracebackType


@dataclass(frozen=True, slots=True)
class ParseLimits:
    """Defaults a real calendar never meets; each a `[[source]]` key of the same name."""

    parse_seconds: float = 60.0  # the whole parse of one source
    max_occurrences: int = 20_000  # occurrences of one series inside the read window
    max_properties: int = 10_000  # property lines in one component (an event, the header)
    max_depth: int = 16  # components nested inside one another (VCALENDAR > VEVENT > VALARM is 3)

    @property
    def series_seconds(self) -> float:
        """Time for expanding one series: a tenth of the parse budget (6 s by default); a
        series over it is skipped with a warning instead of failing the whole source."""
        return max(self.parse_seconds / 10, 0.05)


DEFAULT_LIMITS = ParseLimits()


class BudgetExceeded(BaseException):
    """Raised in the parsing thread when its budget's deadline passes."""

    seconds: float = 0.0


class Interrupted(BaseException):
    """Raised in the parsing thread when the process was asked to stop."""


_active: set[Budget] = set()
_active_lock = threading.RLock()  # re-entrant: interrupt_all runs in a signal handler
_stop_at = [float("inf")]  # monotonic time by which every parse must end (once stopping)
_RESEND = 0.2  # seconds: raise again if a library swallowed the first one
STOP_GRACE = 5.0  # seconds a parse under way may still take once the process must stop


def _raise_in(thread_id: int, exc: type[BaseException] | None) -> None:
    ctypes.pythonapi.PyThreadState_SetAsyncExc(
        ctypes.c_ulong(thread_id), ctypes.py_object(exc) if exc is not None else None
    )


class Budget:
    """`with Budget(seconds) as b:` ... ; on overrun `b.exceeded` (a subclass of
    BudgetExceeded unique to this budget, so nested budgets tell theirs apart) is raised
    in the thread that entered the block. Catch it outside the `with`. Once the process
    is stopping (`interrupt_all`), the block gets at most the stop's grace and then
    `Interrupted` instead."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.exceeded: type[BudgetExceeded] = type(
            "BudgetExceeded", (BudgetExceeded,), {"seconds": seconds}
        )
        self._lock = threading.RLock()  # re-entrant: a signal handler may run inside exit
        self._done = threading.Event()
        self._changed = threading.Event()
        self._thread_id = 0
        self._deadline = float("inf")
        self._timer: threading.Thread | None = None

    def __enter__(self) -> Budget:
        self._thread_id = threading.get_ident()
        self._deadline = time.monotonic() + self.seconds
        self._timer = threading.Thread(target=self._watch, name="calsync-budget", daemon=True)
        with _active_lock:
            _active.add(self)  # registered first: a stop cannot slip in unseen
        self._timer.start()
        return self

    def _watch(self) -> None:
        while True:
            self._changed.clear()
            if self._done.is_set():  # __exit__ sets done before it pokes: never missed
                return
            deadline = min(self._deadline, _stop_at[0])
            left = deadline - time.monotonic()
            if left > 0:
                if self._changed.wait(left) and self._done.is_set():
                    return
                continue
            exc = Interrupted if _stop_at[0] <= self._deadline else self.exceeded
            while not self._done.is_set():
                self._fire(exc)
                self._done.wait(_RESEND)
            return

    def _fire(self, exc: type[BaseException]) -> None:
        with self._lock:
            if not self._done.is_set():
                _raise_in(self._thread_id, exc)

    def poke(self) -> None:
        """Wake the watcher: the stop deadline changed."""
        self._changed.set()

    def __exit__(
        self,
        et: type[BaseException] | None,
        ev: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        with self._lock:
            self._done.set()
            _raise_in(self._thread_id, None)  # drop one set but not yet delivered
        self._changed.set()
        with _active_lock:
            _active.discard(self)


def interrupt_all(grace: float = STOP_GRACE) -> None:
    """The process is stopping (SIGTERM): every parse under way, and any started later,
    may take at most `grace` seconds more, then fails with `Interrupted` (which the reader
    turns into a SourceError saying so). A normal read finishes well within the grace, so
    the sync under way still commits; one stuck in a runaway expansion does not hold the
    stop for its whole budget."""
    _stop_at[0] = min(_stop_at[0], time.monotonic() + grace)
    with _active_lock:
        budgets = list(_active)
    for b in budgets:
        b.poke()
