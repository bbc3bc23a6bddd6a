"""The long-running sync loop behind `calsync daemon` (and `calsync serve --sync`).

Every `[daemon] interval` (±10% jitter, so many users' daemons do not hit a calendar
server in step) it runs one sync. After a failure the wait doubles per consecutive
failure, capped at `[daemon] max_backoff`; the first success goes back to the interval.

Signals: SIGTERM/SIGINT ask it to stop. A sync under way is one state transaction and is
allowed to finish (its write commits), then the loop exits 0; a second signal during
that sync interrupts it, which rolls the transaction back. SIGHUP re-reads the config: a
broken new config is logged and the old one kept; a good one is used for a sync at once.

Waiting happens on a pipe (select with a timeout), not in time.sleep: a signal handler
only writes one byte to it, which is safe at any moment, and wakes the wait at once.
Under systemd (`Type=notify`) it sends READY=1, STATUS=..., STOPPING=1 and, when
`WatchdogSec=` is set, WATCHDOG=1 at half that interval, from the loop itself, so a loop
that hangs stops proving it is alive and is restarted.
"""

from __future__ import annotations

import contextlib
import logging
import os
import random
import select
import signal
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from types import FrameType
from typing import Any

from calsync import notify as sd
from calsync.config import Config
from calsync.errors import CalsyncError, ConfigError, LockedError
from calsync.sources.limits import interrupt_all

log = logging.getLogger(__name__)

SyncFn = Callable[[Config, datetime], object]
JITTER = 0.10
# How long one sync waits for another process's lock before skipping this round.
LOCK_WAIT_SECONDS = 10.0


def default_sync(config: Config, now: datetime) -> object:
    from calsync.sync import run_sync

    return run_sync(config, now, wait_seconds=LOCK_WAIT_SECONDS)


def describe(result: object) -> str:
    """'2 created, 1 updated, 0 deleted' from a SyncResult (or anything with reports)."""
    reports = getattr(result, "reports", None)
    if not reports:
        return "done"
    c = sum(len(r.created) for r in reports)
    u = sum(len(r.updated) for r in reports)
    d = sum(len(r.deleted) for r in reports)
    return f"{c} created, {u} updated, {d} deleted"


def _fmt_delay(seconds: float) -> str:
    s = round(seconds)
    if s < 60:
        return f"{seconds:.1f}s" if seconds < 10 else f"{s}s"
    m, s = divmod(s, 60)
    if m < 60:
        return f"{m}m{s:02d}s"
    h, m = divmod(m, 60)
    return f"{h}h{m:02d}m"


class _Waker:
    """A self-pipe: `wake()` may be called from a signal handler or another thread."""

    def __init__(self) -> None:
        self._r, self._w = os.pipe()
        os.set_blocking(self._r, False)
        os.set_blocking(self._w, False)
        self._on_signals = False

    def wake(self) -> None:
        with contextlib.suppress(BlockingIOError, OSError):
            os.write(self._w, b"x")

    def wait(self, seconds: float) -> bool:
        """Wait up to `seconds`; True if woken. Drains the pipe."""
        ready, _, _ = select.select([self._r], [], [], max(0.0, seconds))
        if not ready:
            return False
        with contextlib.suppress(BlockingIOError, OSError):
            while os.read(self._r, 512):
                pass
        return True

    def wake_on_signals(self) -> None:
        """Have every signal wake `wait`, whichever thread the C-level handler runs in
        and however close to the `select` it comes (main thread only)."""
        signal.set_wakeup_fd(self._w, warn_on_full_buffer=False)
        self._on_signals = True

    def close(self) -> None:
        if self._on_signals:
            signal.set_wakeup_fd(-1)
            self._on_signals = False
        for fd in (self._r, self._w):
            with contextlib.suppress(OSError):
                os.close(fd)


class Daemon:
    """The loop. Clock, randomness, waiting and the sync itself are injectable for tests."""

    def __init__(
        self,
        config: Config,
        *,
        reload_config: Callable[[], Config] | None = None,
        sync_fn: SyncFn = default_sync,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        monotonic: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
        wait: Callable[[float], bool] | None = None,
        notify: Callable[..., bool] = sd.notify,
        watchdog_seconds: float | None = None,
    ) -> None:
        self.config = config
        self._reload_config = reload_config
        self._sync_fn = sync_fn
        self._now = now
        self._monotonic = monotonic
        self._rng = rng or random.Random()
        self._waker = _Waker()
        self._wait = wait or self._waker.wait
        self._notify = notify
        self._watchdog = watchdog_seconds if watchdog_seconds is not None else sd.watchdog_seconds()
        self._stop = False
        self._reload = False
        self._syncing = False
        self.failures = 0  # consecutive
        self.syncs = 0
        self.last_ok: datetime | None = None
        self.paused_until: datetime | None = None  # a sink's pause (Google usage limits)

    # -------------------------------------------------------------- control

    def request_stop(self) -> None:
        self._stop = True
        self._waker.wake()

    def request_reload(self) -> None:
        self._reload = True
        self._waker.wake()

    @property
    def stopping(self) -> bool:
        return self._stop

    def install_signal_handlers(self) -> None:
        """SIGTERM/SIGINT stop, SIGHUP reloads. Main thread only (Python's rule)."""

        def on_stop(signum: int, frame: FrameType | None) -> None:
            if self._stop and self._syncing:
                # Asked twice: give up on this sync; its transaction rolls back.
                raise KeyboardInterrupt
            log.info("got %s: stopping after the current step", signal.Signals(signum).name)
            self.request_stop()
            # A calendar being read can take up to its parse budget: stop it now. Reading
            # writes nothing, so the sync fails cleanly (and says so) before any write.
            interrupt_all()

        def on_hup(signum: int, frame: FrameType | None) -> None:
            self.request_reload()

        signal.signal(signal.SIGTERM, on_stop)
        signal.signal(signal.SIGINT, on_stop)
        signal.signal(signal.SIGHUP, on_hup)
        # Python runs these handlers in the main thread at its next bytecode; a signal
        # whose C-level handler runs just before the idle loop's select() (or in another
        # thread) would otherwise leave that select() asleep until the next sync is due.
        self._waker.wake_on_signals()

    # -------------------------------------------------------------- the loop

    def next_delay(self, ok: bool) -> float:
        """Seconds until the next sync: the interval, or the backoff after failures."""
        d = self.config.daemon
        base = d.interval_seconds
        if not ok and self.failures > 0:
            cap = max(d.max_backoff_seconds, d.interval_seconds)
            base = min(d.interval_seconds * 2 ** min(self.failures, 30), cap)
        return base * self._rng.uniform(1 - JITTER, 1 + JITTER)

    def run_once(self) -> bool:
        """One sync; returns whether it worked. Never raises for a sync failure."""
        now = self._now()
        started = self._monotonic()
        self._syncing = True
        try:
            result = self._sync_fn(self.config, now)
        except LockedError as e:
            # Another sync (timer, manual) is writing: not this daemon's failure.
            log.warning("skipped this round: %s", e.message)
            return True
        except CalsyncError as e:
            self.paused_until = getattr(e, "resume_at", None)
            self.failures += 1
            log.error("sync failed (%d in a row): %s", self.failures, str(e).replace("\n", "; "))
            return False
        except Exception:
            self.failures += 1
            log.exception("sync failed with an internal error (%d in a row)", self.failures)
            return False
        finally:
            self._syncing = False
        took = self._monotonic() - started
        self.paused_until = None
        self.failures = 0
        self.syncs += 1
        self.last_ok = now
        log.info("sync ok: %s (%.1fs)", describe(result), took)
        return True

    def run(self) -> int:
        """Sync, wait, repeat until asked to stop; returns the exit status (0)."""
        d = self.config.daemon
        log.info(
            "daemon started (pid %d): every %s, backoff up to %s",
            os.getpid(),
            _fmt_delay(d.interval_seconds),
            _fmt_delay(max(d.max_backoff_seconds, d.interval_seconds)),
        )
        self._notify("READY=1", "STATUS=starting the first sync")
        try:
            while not self._stop:
                self._heartbeat()
                self._notify("STATUS=syncing")
                ok = self.run_once()
                self._heartbeat()
                if self._stop:
                    break
                delay = self.next_delay(ok)
                status = self._status(ok, delay)
                log.info("%s", status)
                self._notify(f"STATUS={status}")
                self._sleep(delay)
                if self._reload:
                    self._do_reload()
        finally:
            self._notify("STOPPING=1", "STATUS=stopped")
            log.info("daemon stopped")
        return 0

    def _status(self, ok: bool, delay: float) -> str:
        last = (
            f"last good sync {self.last_ok.isoformat(timespec='seconds')}"
            if self.last_ok
            else "no good sync yet"
        )
        if ok:
            return f"next sync in {_fmt_delay(delay)}; {last}"
        if self.paused_until is not None:
            last = (
                f"Google writes paused until {self.paused_until:%Y-%m-%d %H:%M} UTC "
                f"(usage limits); {last}"
            )
        return f"retry in {_fmt_delay(delay)} after {self.failures} failure(s); {last}"

    def _sleep(self, seconds: float) -> None:
        """Wait, waking for stop/reload and to ping the watchdog on time."""
        deadline = self._monotonic() + seconds
        while not self._stop and not self._reload:
            remaining = deadline - self._monotonic()
            if remaining <= 0:
                return
            chunk = remaining if self._watchdog is None else min(remaining, self._watchdog / 2)
            self._wait(chunk)
            self._heartbeat()

    def _heartbeat(self) -> None:
        if self._watchdog is not None:
            self._notify("WATCHDOG=1")

    def _do_reload(self) -> None:
        self._reload = False
        if self._reload_config is None:
            log.warning("got SIGHUP but there is no config file to re-read")
            return
        self._notify("RELOADING=1")
        try:
            new = self._reload_config()
        except ConfigError as e:
            log.error("config reload failed, keeping the old config: %s", _one_line(e))
        except CalsyncError as e:
            log.error("config reload failed, keeping the old config: %s", _one_line(e))
        else:
            self.config = new
            self.failures = 0
            log.info("config reloaded")
        finally:
            self._notify("READY=1")

    def close(self) -> None:
        self._waker.close()


def _one_line(e: Exception) -> str:
    return " ".join(str(e).split())


def run_in_thread(daemon: Daemon) -> threading.Thread:
    """Start the loop in a background thread (for `calsync serve --sync`)."""
    t = threading.Thread(target=daemon.run, name="calsync-daemon", daemon=True)
    t.start()
    return t


# --------------------------------------------------------------------------- logging

_PRIORITY = {
    logging.DEBUG: 7,
    logging.INFO: 6,
    logging.WARNING: 4,
    logging.ERROR: 3,
    logging.CRITICAL: 2,
}


def under_journald(stream: Any = None) -> bool:
    """Is stderr connected to the journal? (JOURNAL_STREAM names its device:inode.)"""
    value = os.environ.get("JOURNAL_STREAM", "")
    if not value:
        return False
    stream = stream if stream is not None else sys.stderr
    try:
        dev, ino = (int(x) for x in value.split(":", 1))
        st = os.fstat(stream.fileno())
    except (ValueError, OSError, AttributeError):
        return False
    return (st.st_dev, st.st_ino) == (dev, ino)


class JournalFormatter(logging.Formatter):
    """`<6>calsync.daemon: message`: journald reads the priority from the prefix."""

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        prio = _PRIORITY.get(record.levelno, 6)
        # Each line becomes its own journal entry: give every one the priority.
        return "\n".join(f"<{prio}>{line}" for line in text.splitlines() or [""])


def service_formatter(stream: Any = None) -> logging.Formatter:
    if under_journald(stream):
        return JournalFormatter("%(name)s: %(message)s")
    fmt = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    fmt.default_time_format = "%Y-%m-%dT%H:%M:%S"
    fmt.default_msec_format = "%s.%03d"
    return fmt


def setup_service_logging(verbose: int = 0) -> None:
    """One line per event on stderr, INFO by default (a service reports each sync)."""
    root = logging.getLogger()
    handlers = [h for h in root.handlers if isinstance(h, logging.StreamHandler)]
    if not handlers:
        handler = logging.StreamHandler(sys.stderr)
        root.addHandler(handler)
        handlers = [handler]
    for h in handlers:
        h.setFormatter(service_formatter(getattr(h, "stream", None)))
    root.setLevel(logging.DEBUG if verbose >= 1 else logging.INFO)
    for noisy in ("googleapiclient", "urllib3", "waitress", "radicale", "caldav"):
        logging.getLogger(noisy).setLevel(logging.WARNING if verbose < 2 else logging.DEBUG)
