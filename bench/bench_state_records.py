"""What schema 3's typed tables cost a sync, against schema 2's JSON blob of the same data.

A sync rewrites the Google sink's record cache (and the CalDAV sink's) whole. Schema 2
wrote it as one JSON value in the kv table; schema 3 writes a row per record. For N
records, in one writer transaction each (real SQLite file, WAL, synchronous=FULL, as
calsync opens it), the median time of:

- baseline: the JSON of the same records into one row (schema 2's way, reproduced here:
  `json.dumps` of each record's fields, INSERT OR REPLACE into a name/value table);
- write: `StateTx.set_google_records` (delete the calendar's rows, insert them again);
- read: `StateView.google_records` against `json.loads` of the blob.

Ratios to the baseline measured in the same run are printed, never asserted.

Run by hand: .venv/bin/python bench/bench_state_records.py [N] [RUNS]
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

from calsync.sinks.google_records import GoogleRecord, RecordCache
from calsync.state import StateStore


def _records(n: int) -> RecordCache:
    events = {
        f"ev{i:06d}": GoogleRecord(
            key=f"2026-11-{(i % 28) + 1:02d}/{i % 3 + 1}",
            status="confirmed",
            start=f"2026-12-{(i % 28) + 1:02d}T18:00:00+00:00",
            end=f"2026-12-{(i % 28) + 1:02d}T18:45:00+00:00",
            etag=f'"{i:016d}"',
            hash=f"{i:032x}",
            edited=i % 7 == 0,
        )
        for i in range(n)
    }
    return RecordCache(events, {f"gone{i}" for i in range(n // 10)})


def _median(fn: Callable[[], None], runs: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 15
    cache = _records(n)
    with tempfile.TemporaryDirectory() as tmp:
        store = StateStore(Path(tmp) / "state.sqlite3")
        with store.writer() as tx:
            tx._conn.execute("CREATE TABLE blob (name TEXT PRIMARY KEY, value TEXT NOT NULL)")

        def blob_write() -> None:
            text = json.dumps(
                {
                    "events": {eid: asdict(r) for eid, r in cache.events.items()},
                    "ours_deleted": sorted(cache.ours_deleted),
                }
            )
            with store.writer() as tx:
                tx._conn.execute("INSERT OR REPLACE INTO blob VALUES ('cache', ?)", (text,))

        def typed_write() -> None:
            with store.writer() as tx:
                tx.set_google_records("cal", cache)

        def blob_read() -> None:
            with store.reader() as view:
                row = view._conn.execute("SELECT value FROM blob").fetchone()
                data = json.loads(row[0])
                RecordCache(
                    {k: GoogleRecord(**v) for k, v in data["events"].items()},
                    set(data["ours_deleted"]),
                )

        def typed_read() -> None:
            with store.reader() as view:
                assert view.google_records("cal") == cache

        base_w, base_r = _median(blob_write, runs), _median(blob_read, runs)
        typed_w, typed_r = _median(typed_write, runs), _median(typed_read, runs)
    print(f"{n} Google records, median of {runs} transactions each")
    print(f"  write  schema 2 blob {base_w * 1000:8.1f} ms   schema 3 rows {typed_w * 1000:8.1f} ms"
          f"   ratio {typed_w / base_w:5.2f}")  # fmt: skip
    print(f"  read   schema 2 blob {base_r * 1000:8.1f} ms   schema 3 rows {typed_r * 1000:8.1f} ms"
          f"   ratio {typed_r / base_r:5.2f}")  # fmt: skip


if __name__ == "__main__":
    main()
