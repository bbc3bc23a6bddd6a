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

import contextlib
import ctypes
import os
import select
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import ParamSpec, TypeVar


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


_active: set[Budget] = set()  # armed budgets; read by the watcher (set ops are atomic)
_stop_at = [float("inf")]  # monotonic time by which every parse must end (once stopping)
_RESEND = 0.2  # seconds: raise again if a library swallowed the first one
STOP_GRACE = 5.0  # seconds a parse under way may still take once the process must stop

_P = ParamSpec("_P")
_T = TypeVar("_T")


def _raise_in(thread_id: int, exc: type[BaseException]) -> None:
    # Never called with NULL to "cancel" a pending exception: on CPython 3.11 that leaves
    # the interpreter's async-exception flag set for good (only a delivery clears it), so
    # every later function call takes the eval loop's slow path, and the first function
    # entered under a trace function (coverage, a debugger, hypothesis explaining a
    # failure) spins at 100% CPU forever. A budget lets its last exception land where it
    # catches it instead (`Budget.run`).
    ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread_id), ctypes.py_object(exc))


def _checkpoint() -> None:
    """A function call: the interpreter delivers a pending async exception on entry."""


class _Watcher:
    """One timer thread for every budget in the process.

    Not a thread per budget: while a thread starts, CPython 3.11 lists the new thread's
    state under its *creator's* id, and PyThreadState_SetAsyncExc raises into the first
    state with the id it is given. A budget raising while the parsing thread started the
    next (per-series) budget's timer hit the new timer thread instead: that thread died
    before reporting it had started, and the parsing thread waited for it forever. This
    thread is started before any budget of the starting thread is armed.

    Woken through a pipe, so that `interrupt_all` may wake it from a signal handler
    without taking a lock the interrupted code might hold."""

    def __init__(self) -> None:
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self._r, self._w = os.pipe()
        os.set_blocking(self._w, False)

    def ensure_running(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        with self._start_lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._loop, name="calsync-budget", daemon=True
                )
                self._thread.start()

    def wake(self) -> None:
        with contextlib.suppress(BlockingIOError):  # a full pipe wakes it already
            os.write(self._w, b"x")

    def after_fork(self) -> None:
        self._thread = None  # threads do not survive a fork; the pipe is the parent's
        self._start_lock = threading.Lock()
        self._r, self._w = os.pipe()
        os.set_blocking(self._w, False)

    def _loop(self) -> None:
        # Stop signals are the main thread's: never let the kernel hand one to this thread.
        if hasattr(signal, "pthread_sigmask"):
            signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM, signal.SIGHUP})
        while True:
            now = time.monotonic()
            due = min((b._tick(now) for b in list(_active)), default=float("inf"))
            timeout = None if due == float("inf") else max(due - now, 0.0)
            ready, _, _ = select.select([self._r], [], [], timeout)
            if ready:
                os.read(self._r, 4096)


_watcher = _Watcher()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_watcher.after_fork)


class Budget:
    """`Budget(seconds).run(fn, *args)` calls fn; on overrun `b.exceeded` (a subclass of
    BudgetExceeded unique to this budget, so nested budgets tell theirs apart) is raised
    in the calling thread and out of `run`. Once the process is stopping
    (`interrupt_all`), fn gets at most the stop's grace and then `b.interrupted` (an
    `Interrupted`) instead.

    Why a call and not a `with` block: an exception raised into a thread lands at the
    next bytecode boundary, which may be inside `__exit__` before it has disarmed the
    timer; the exception then escapes the block, the timer keeps firing, and its
    exceptions land in whatever the thread does next (a daemon's next sync, a state
    write). `run` disarms, waits out a raise in progress and lets any exception still
    pending land inside its own `try`, in one frame, so none of this budget's exceptions
    is ever raised after `run` has returned."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.exceeded: type[BudgetExceeded] = type(
            "BudgetExceeded", (BudgetExceeded,), {"seconds": seconds}
        )
        self.interrupted: type[Interrupted] = type("Interrupted", (Interrupted,), {})
        self._fire_lock = threading.Lock()  # the watcher decides and raises under it
        self._armed = False
        self._thread_id = 0
        self._deadline = float("inf")
        self._fired_at = float("-inf")

    def run(self, fn: Callable[_P, _T], *args: _P.args, **kwargs: _P.kwargs) -> _T:
        ours = (self.exceeded, self.interrupted)
        finished = False
        result: _T
        _watcher.ensure_running()  # before arming: no thread is started while armed
        try:
            try:
                self._thread_id = threading.get_ident()
                self._deadline = time.monotonic() + self.seconds
                self._armed = True
                _active.add(self)  # registered first: a stop cannot slip in unseen
                _watcher.wake()
                result = fn(*args, **kwargs)
                finished = True
            finally:
                # Everything from arming to draining is inside the outer `try`, so one of
                # ours lands nowhere else. After the store the watcher raises no more;
                # the lock waits out a raise it decided before the store; the call lets
                # the one raise that can still be pending land (a pending exception is
                # delivered at a call's entry or a loop's back edge).
                self._armed = False
                with self._fire_lock:
                    pass
                _checkpoint()
        except ours:
            # Disarmed and drained: nothing of this budget is pending or will be raised
            # again. It came after fn had returned: fn's result stands.
            if not finished:
                raise
        finally:
            _active.discard(self)
        return result

    def _tick(self, now: float) -> float:
        """The watcher's turn: raise if due; the next time this budget needs a look."""
        if not self._armed:
            return float("inf")
        due = max(min(self._deadline, _stop_at[0]), self._fired_at + _RESEND)
        if now < due:
            return due
        exc = self.interrupted if _stop_at[0] <= self._deadline else self.exceeded
        with self._fire_lock:
            if not self._armed:
                return float("inf")
            _raise_in(self._thread_id, exc)
        self._fired_at = now
        return now + _RESEND  # again, if a library swallowed it


def interrupt_all(grace: float = STOP_GRACE) -> None:
    """The process is stopping (SIGTERM): every parse under way, and any started later,
    may take at most `grace` seconds more, then fails with `Interrupted` (which the reader
    turns into a SourceError saying so). A normal read finishes well within the grace, so
    the sync under way still commits; one stuck in a runaway expansion does not hold the
    stop for its whole budget. Safe in a signal handler: takes no lock."""
    _stop_at[0] = min(_stop_at[0], time.monotonic() + grace)
    _watcher.wake()
