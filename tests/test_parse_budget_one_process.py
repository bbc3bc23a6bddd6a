"""Many reads in one process, as the daemon does them (issue 17: the in-process stall).

The parse budget raises an exception into the parsing thread (limits.Budget). Two ways
that went wrong across reads in one long-lived process, each checked here in a child
process with a hard timeout (a hang fails the test; it never hangs the suite):

- Cancelling a pending exception with PyThreadState_SetAsyncExc(id, NULL), as every
  budget did on exit, leaves CPython 3.11's async-exception flag set for good; the
  first function then entered under a trace function (coverage, a debugger, hypothesis
  explaining a failure) spins at 100% CPU forever. That was the fuzz suite's stall.
- An exception fired just as the body ended landed in `__exit__` before the timer was
  disarmed; the timer went on raising into whatever the thread did next.
- A timer thread per budget: an outer budget raising while the parsing thread started
  an inner budget's timer hit the new thread (CPython lists a starting thread under its
  creator's id); it died unstarted and the parsing thread waited for it forever.
"""

from __future__ import annotations

import subprocess
import textwrap
from pathlib import Path

from tests.service_support import PYTHON, child_env, training_ics, write_config

CALENDARS = Path(__file__).resolve().parent / "calendars"
TIMEOUT = 120.0  # seconds for a child that, done right, needs a few


def _child(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [PYTHON, "-c", textwrap.dedent(code) + textwrap.dedent(AFTERWARDS)],
        capture_output=True,
        text=True,
        env=child_env(),
        timeout=TIMEOUT,
        stdin=subprocess.DEVNULL,
    )


AFTERWARDS = """
    import sys, threading, time
    from calsync.sources.limits import BudgetExceeded, Interrupted

    # Unrelated work after the last read: nothing of a finished budget may land here.
    try:
        t = time.monotonic()
        while time.monotonic() - t < 1.0:  # five times a budget's re-raise interval
            pass
    except (BudgetExceeded, Interrupted) as e:
        sys.exit(f"a finished budget's exception landed after its read: {e!r}")
    from calsync.sources import limits
    if limits._active:
        sys.exit(f"{len(limits._active)} budgets still armed after the reads")
    threads = [t.name for t in threading.enumerate()]
    if sorted(threads) != ["MainThread", "calsync-budget"]:  # the one shared timer
        sys.exit(f"threads left after the reads: {threads}")

    def traced() -> int:
        return 1

    sys.settrace(lambda *a: None)
    traced()  # spun forever when the async-exception flag was left set
    sys.settrace(None)
    print("ok")
"""


def test_budgets_ending_at_their_deadline_leave_nothing_behind() -> None:
    """2,000 budgets whose work ends from 2 ms before to 20 ms after the deadline, so
    that the timer fires now before, now after, now while the body is finishing."""
    r = _child(
        """
        import random, sys, time
        from calsync.sources.limits import Budget, BudgetExceeded, Interrupted

        fired = 0
        rnd = random.Random(17)

        def work(until: float) -> str:
            while time.monotonic() < until:
                pass
            return "done"

        for _ in range(2000):
            b = Budget(0.004)
            until = time.monotonic() + 0.004 + rnd.uniform(-0.002, 0.02)
            try:
                try:
                    assert b.run(work, until) == "done"
                except b.exceeded:
                    fired += 1
                n = 0
                for _ in range(2000):  # the thread's next, unrelated work
                    n += 1
            except (BudgetExceeded, Interrupted) as e:
                sys.exit(f"an earlier budget's exception landed outside its run: {e!r}")
        if not 10 < fired < 1990:
            sys.exit(f"fired {fired} of 2000: the deadline did not fall inside the work")
        """
    )
    assert r.returncode == 0 and r.stdout.strip() == "ok", r.stdout + r.stderr
    assert "Traceback" not in r.stderr, r.stderr


def test_many_calendar_reads_in_one_process_as_the_daemon_runs_them() -> None:
    """Every regression calendar read 6 times in one process through the real reader,
    with budgets small enough that both the whole-read and the per-series timers fire."""
    r = _child(
        f"""
        import sys
        from datetime import datetime
        from pathlib import Path
        from zoneinfo import ZoneInfo
        from calsync.errors import SourceError
        from calsync.sources.ics import parse_ics
        from calsync.sources.limits import ParseLimits

        berlin = ZoneInfo("Europe/Berlin")
        window = (datetime(2026, 11, 1, tzinfo=berlin), datetime(2026, 12, 1, tzinfo=berlin))
        # 0.5 s: the runaway series are cut (0.05 s each); 0.02 s: whole reads are.
        budgets = [ParseLimits(parse_seconds=0.5), ParseLimits(parse_seconds=0.02)]
        files = sorted(Path({str(CALENDARS)!r}).glob("*.ics"))
        assert len(files) > 20, files
        import logging
        skipped = []
        class Count(logging.Handler):
            def emit(self, record):
                if "took longer than" in record.getMessage():
                    skipped.append(record)
        logging.getLogger("calsync").addHandler(Count())
        reads = over = 0
        for i in range(6):
            limits = budgets[i % 2]
            for f in files:
                try:
                    parse_ics(f.read_bytes(), label=f.name, zone=berlin, window=window,
                              limits=limits)
                except SourceError as e:
                    over += "took longer than" in str(e)
                reads += 1
        print(f"{{reads}} reads, {{over}} over budget, {{len(skipped)}} series over",
              file=sys.stderr)
        if not over or not skipped:
            sys.exit("no read ran over its budget: the test did not exercise the timer")
        """
    )
    assert r.returncode == 0 and r.stdout.strip() == "ok", r.stdout + r.stderr
    assert "Traceback" not in r.stderr, r.stderr


def test_many_syncs_in_one_process_through_the_daemon_loop(tmp_path: Path) -> None:
    """The daemon's own round (Daemon.run_once, the real sync) 12 times in one process,
    the plan alternating between one runaway series (skipped by its series budget, the
    sync commits) and thirty (the whole read over budget, the round fails and says so)."""
    cfg = write_config(tmp_path, interval="1h")
    text = cfg.read_text()
    cfg.write_text(text.replace("timeout_seconds = 5", "timeout_seconds = 5\nparse_seconds = 0.5"))
    good = training_ics().replace("END:VCALENDAR", _runaway(1) + "END:VCALENDAR")
    slow = training_ics().replace("END:VCALENDAR", _runaway(30) + "END:VCALENDAR")
    (tmp_path / "good.ics").write_text(good, encoding="utf-8", newline="")
    (tmp_path / "slow.ics").write_text(slow, encoding="utf-8", newline="")
    r = _child(
        f"""
        import shutil, sys
        from pathlib import Path
        from calsync.config import load_config
        from calsync.daemon import Daemon

        folder = Path({str(tmp_path)!r})
        daemon = Daemon(load_config(folder / "config.toml"), wait=lambda s: False)
        rounds = []
        for i in range(12):
            shutil.copy(folder / ("good.ics" if i % 2 == 0 else "slow.ics"), folder / "plan.ics")
            rounds.append(daemon.run_once())
        if rounds != [True, False] * 6:
            sys.exit(f"rounds: {{rounds}}")
        """
    )
    assert r.returncode == 0 and r.stdout.strip() == "ok", r.stdout + r.stderr
    assert r.stderr.count("took longer than 0.5 s (parse_seconds)") == 6, r.stderr
    assert "Traceback" not in r.stderr, r.stderr


def _runaway(series: int) -> str:
    """`series` events that never yield (HOURLY;BYSETPOS=366 from years back)."""
    one = (
        "BEGIN:VEVENT\r\nUID:slow-{i}@x\r\nDTSTART:20150105T070000Z\r\n"
        "DTEND:20150105T080000Z\r\nRRULE:FREQ=HOURLY;BYSETPOS=366\r\nSUMMARY:x\r\n"
        "END:VEVENT\r\n"
    )
    return "".join(one.format(i=i) for i in range(series))
