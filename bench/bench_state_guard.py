"""What the state's guard costs: the integrity check on every open, and the backup after
every sync, beside the sync itself (measured in the same run).

    .venv/bin/python bench/bench_state_guard.py [--weeks 26] [--repeat 20]

A realistic state is made by real syncs of the shipped example (examples/plan.ics) a
week apart for --weeks weeks (history, sync log, feed documents), then a second copy
with a 20 MB calendar body in its HTTP cache (the `max_bytes` ceiling of a URL source).
For each, best of --repeat:
  open-none   StateStore(path) with no check (the floor)
  open-quick  ... with PRAGMA quick_check
  open-integ  ... with PRAGMA integrity_check (what calsync runs)
  backup      state_guard.backup (online backup + full check + fsync + rename)
  sync        one whole `calsync sync` in-process with nothing to change (for scale)
"""

from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import sys
import tempfile
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from timing import best  # noqa: E402

from calsync import state_guard  # noqa: E402
from calsync.config import load_config  # noqa: E402
from calsync.state import StateStore  # noqa: E402
from calsync.sync import run_sync  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
START = datetime.fromisoformat("2026-06-01T07:00-04:00")


def opener(path: Path, check: str | None) -> Callable[[], Any]:
    def go() -> None:
        if check is None:
            saved = state_guard.open_check
            state_guard.open_check = lambda conn, path: None  # type: ignore[assignment]
            try:
                StateStore(path)
            finally:
                state_guard.open_check = saved  # type: ignore[assignment]
            return
        old = state_guard.OPEN_CHECK
        state_guard.OPEN_CHECK = check
        try:
            StateStore(path)
        finally:
            state_guard.OPEN_CHECK = old

    return go


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--weeks", type=int, default=26)
    ap.add_argument("--repeat", type=int, default=20)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        cfg = folder / "config.toml"
        cfg.write_text(
            '[schedule]\ntimezone = "America/New_York"\n'
            f'[[source]]\ntype = "ics"\nurl = "{ROOT / "examples" / "plan.ics"}"\n'
            '[output.ics]\npath = "out.ics"\n[state]\npath = "state/state.sqlite3"\n',
            encoding="utf-8",
        )
        config = load_config(cfg)
        for week in range(args.weeks):
            run_sync(config, START + timedelta(weeks=week))
        now = START + timedelta(weeks=args.weeks - 1)
        path = config.state_path
        big = folder / "big" / "state.sqlite3"
        big.parent.mkdir()
        shutil.copy(path, big)
        conn = sqlite3.connect(big)
        conn.execute(
            "INSERT INTO source_cache VALUES (?, NULL, NULL, ?, ?)",
            ("https://example.com/plan.ics", os.urandom(20 << 20), now.isoformat()),
        )
        conn.commit()
        conn.close()
        print(f"{args.weeks} weekly syncs of the example; best of {args.repeat}; ms")
        print(
            f"{'state':<28} {'MB':>5} {'open-none':>9} {'open-quick':>10} {'open-integ':>10} "
            f"{'integ/none':>10} {'backup':>7} {'sync':>7}"
        )
        for name, p in (("after the weekly syncs", path), ("+ 20 MB calendar cached", big)):
            none = best(opener(p, None), args.repeat)
            quick = best(opener(p, "quick_check"), args.repeat)
            integ = best(opener(p, "integrity_check"), args.repeat)
            backup = best(lambda p=p: state_guard.backup(p, wait_seconds=5), 5)
            sync = best(lambda: run_sync(config, now), 3) if p == path else float("nan")
            mb = p.stat().st_size / 1e6
            print(
                f"{name:<28} {mb:>5.1f} {none * 1e3:>9.2f} {quick * 1e3:>10.2f} "
                f"{integ * 1e3:>10.2f} {integ / none:>10.2f} {backup * 1e3:>7.1f} "
                f"{sync * 1e3:>7.1f}"
            )
    sys.stdout.flush()


if __name__ == "__main__":
    main()
