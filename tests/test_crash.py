"""Crash safety: `kill -9` a real `calsync sync` at random moments, then sync cleanly.

The end state must equal that of clean syncs alone: the same events (UID, times,
SEQUENCE, summary) in the ICS output and in the feeds, the same sessions and plan in the
state, no UID twice, and a state file that passes SQLite's integrity check after every
kill. Kill moments are drawn from a seeded generator over the length of a clean run, so
a failure names the seed and the moments that produced it.
"""

from __future__ import annotations

import json
import os
import random
import re
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import icalendar

from calsync.config import load_config
from tests.service_support import calsync_args, child_env, run_calsync, training_ics, write_config

KILLS = 12
SEED = int(os.environ.get("CALSYNC_CRASH_SEED", "20261126"))

EventKey = tuple[str, str, str, int, str]


# Each install (here: the clean one and the crashed one) has a UID namespace of its own
# (calsync.uids); the comparison is of everything else in the UID.
_NAMESPACE = re.compile(r"@[0-9a-f]{16}\.calsync$")


def events_of(ics: bytes) -> list[EventKey]:
    cal = icalendar.Calendar.from_ical(ics)
    out = []
    for e in cal.walk("VEVENT"):
        out.append(
            (
                _NAMESPACE.sub("@<install>.calsync", str(e["uid"])),
                e.decoded("dtstart").isoformat(),
                e.decoded("dtend").isoformat(),
                int(e.get("sequence", 0)),
                str(e.get("summary", "")),
            )
        )
    return sorted(out)


def plan_sessions(body: bytes) -> list[tuple[str, str, str, str]]:
    """The sessions of the stored plan.json (the page's source), as the sync planned them."""
    return [(s["key"], s["start"], s["end"], s["title"]) for s in json.loads(body)["sessions"]]


def snapshot(cfg: Path) -> dict[str, object]:
    """Everything a sync decides, from the output file and the state file."""
    config = load_config(cfg)
    assert config.output_ics is not None
    out = events_of(config.output_ics.path.read_bytes())
    uids = [e[0] for e in out]
    assert len(uids) == len(set(uids)), f"duplicate UIDs in the output: {uids}"
    with sqlite3.connect(config.state_path) as c:
        sessions = c.execute(
            'SELECT output, key, start, "end", content_hash, sequence, status FROM sessions'
            " ORDER BY output, key"
        ).fetchall()
        planned = c.execute('SELECT key, start, "end", pinned FROM planned ORDER BY key').fetchall()
        feeds = {
            name: events_of(bytes(body)) if name.endswith(".ics") else plan_sessions(bytes(body))
            for name, body in c.execute("SELECT name, body FROM feeds ORDER BY name")
        }
        ok_syncs = c.execute("SELECT COUNT(*) FROM sync_log WHERE ok = 1").fetchone()[0]
    return {
        "output": out,
        "sessions": sessions,
        "planned": planned,
        "feeds": feeds,
        "ok_syncs": ok_syncs,
    }


def assert_consistent_after_kill(cfg: Path, note: str) -> None:
    config = load_config(cfg)
    if config.state_path.exists():
        with sqlite3.connect(config.state_path) as c:
            assert c.execute("PRAGMA integrity_check").fetchone()[0] == "ok", note
    assert config.output_ics is not None
    if config.output_ics.path.exists():
        # Written atomically: either the old file or the new one, never a torn one.
        evs = events_of(config.output_ics.path.read_bytes())
        uids = [e[0] for e in evs]
        assert len(uids) == len(set(uids)), note


def timed_clean_sync(cfg: Path) -> float:
    t0 = time.monotonic()
    run_calsync(cfg, "sync")
    return time.monotonic() - t0


def kill_at(cfg: Path, after: float) -> bool:
    """Start a sync and SIGKILL it `after` seconds in; True if it was still running."""
    p = subprocess.Popen(
        calsync_args(cfg, "sync"),
        env=child_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        stdin=subprocess.DEVNULL,
    )
    try:
        p.wait(after)
        return False
    except subprocess.TimeoutExpired:
        p.send_signal(signal.SIGKILL)
        p.wait(10)
        return True


def test_kill_9_during_syncs_then_a_clean_sync_equals_clean_syncs(tmp_path: Path) -> None:
    rng = random.Random(SEED)
    # Reference: on a fresh state, sync plan v1, then plan v2 (the hard day moved), cleanly.
    ref = write_config(tmp_path / "ref")
    run_calsync(ref, "sync")
    v1 = snapshot(ref)
    (tmp_path / "ref" / "plan.ics").write_text(training_ics(hard_day=3), encoding="utf-8")
    duration = timed_clean_sync(ref)
    expected = snapshot(ref)
    assert expected["output"] != v1["output"], "plan v2 must move sessions for this test"

    # Crashing run: the first sync (from nothing) is killed at random moments too.
    crash = write_config(tmp_path / "crash")
    moments: list[float] = []
    for i in range(KILLS // 2):
        t = rng.uniform(0.0, duration * 1.1)
        moments.append(t)
        kill_at(crash, t)
        assert_consistent_after_kill(crash, f"seed {SEED}, v1 kill {i} at {t:.3f}s")
    run_calsync(crash, "sync")
    got_v1 = snapshot(crash)
    assert {k: v for k, v in got_v1.items() if k != "ok_syncs"} == {
        k: v for k, v in v1.items() if k != "ok_syncs"
    }, f"seed {SEED}, kill moments {moments}"

    # Then plan v2, killed mid-update several times (the case that could duplicate an
    # event or raise SEQUENCE once per attempt), then one clean sync.
    (tmp_path / "crash" / "plan.ics").write_text(training_ics(hard_day=3), encoding="utf-8")
    killed = 0
    for i in range(KILLS - KILLS // 2):
        t = rng.uniform(duration * 0.4, duration * 1.05)
        moments.append(t)
        killed += kill_at(crash, t)
        assert_consistent_after_kill(crash, f"seed {SEED}, v2 kill {i} at {t:.3f}s")
    run_calsync(crash, "sync")
    got = snapshot(crash)
    note = f"seed {SEED}, kill moments {[round(m, 3) for m in moments]}"
    assert got["output"] == expected["output"], note
    assert got["feeds"] == expected["feeds"], note
    assert got["sessions"] == expected["sessions"], note
    assert got["planned"] == expected["planned"], note
    assert killed > 0, "no sync was caught running: the kill moments are too late"
    # Nothing duplicated, and the moved sessions' SEQUENCE rose once, not once per try.
    assert max(e[3] for e in got["output"]) <= 1, note  # type: ignore[union-attr]
