"""Peak memory of reading one source at the 20 MB `max_bytes` ceiling.

Each case runs in a fresh child process (so peaks do not mix) and reports the child's
peak RSS (ru_maxrss), its RSS before the parse (interpreter + libraries), the file size
and the ratio (peak - baseline) / file size. Cases, each 20 MB:

- realistic: a generated training calendar (bench/gen_calendar.py) grown to 20 MB;
- categories: one event with ~1.3 million CATEGORIES lines (over max_properties);
- description: one event whose DESCRIPTION is one 20 MB folded line;
- many-small: ~200,000 tiny events far from the window (what the pre-filter skips).

Run by hand: `.venv/bin/python bench/peak_rss.py [--mb 20]`.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent

CHILD = r"""
import json, resource, sys, time
from datetime import datetime, UTC
from zoneinfo import ZoneInfo
sys.path.insert(0, sys.argv[3])
from calsync.sources.ics import parse_ics
from calsync.errors import SourceError
data = open(sys.argv[1], "rb").read()
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t0 = time.monotonic()
w = (datetime(2026, 11, 23, tzinfo=UTC), datetime(2027, 1, 4, tzinfo=UTC))
try:
    n = len(parse_ics(data, label="x", zone=ZoneInfo("Europe/Berlin"), window=w,
                      prefilter_events=sys.argv[2] == "1"))
    err = None
except SourceError as e:
    n, err = 0, str(e).splitlines()[0][:80]
took = time.monotonic() - t0
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"base_kb": base, "peak_kb": peak, "events": n, "error": err, "s": took}))
"""


def build(kind: str, size: int) -> bytes:
    head = b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//bench//EN\r\n"
    tail = b"END:VCALENDAR\r\n"
    ev = (
        b"BEGIN:VEVENT\r\nUID:big@x\r\nDTSTART:20261125T070000Z\r\n"
        b"DTEND:20261125T080000Z\r\nSUMMARY:Easy run\r\n"
    )
    if kind == "realistic":
        sys.path.insert(0, str(HERE))
        from gen_calendar import generate

        n = 1000
        data = generate(n)
        n = int(n * size / len(data))
        return generate(n)
    if kind == "categories":
        line = b"CATEGORIES:Run\r\n"
        count = (size - 200) // len(line)
        return head + ev + line * count + b"END:VEVENT\r\n" + tail
    if kind == "description":
        body = b"DESCRIPTION:" + b"\r\n ".join([b"x" * 73] * ((size - 200) // 76))
        return head + ev + body + b"\r\nEND:VEVENT\r\n" + tail
    if kind == "many-small":
        one = (
            b"BEGIN:VEVENT\r\nUID:e%d@x\r\nDTSTART:20200101T070000Z\r\n"
            b"DTEND:20200101T080000Z\r\nSUMMARY:Run\r\nEND:VEVENT\r\n"
        )
        count = size // (len(one) + 4)
        return head + b"".join(one % i for i in range(count)) + tail
    raise ValueError(kind)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mb", type=float, default=20.0)
    args = ap.parse_args()
    size = int(args.mb * 2**20)
    repo = str(HERE.parent)
    print(f"{'case':12} {'read':11} {'MB':>6} {'base MB':>8} {'peak MB':>8} {'x file':>7}"
          f" {'s':>6}  events/error")  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        for kind in ("realistic", "categories", "description", "many-small"):
            data = build(kind, size)
            path = Path(tmp) / f"{kind}.ics"
            path.write_bytes(data)
            mb = len(data) / 2**20
            for pre in ("1", "0"):
                out = subprocess.run(
                    [sys.executable, "-c", CHILD, str(path), pre, repo],
                    capture_output=True,
                    text=True,
                    check=True,
                )
                r = json.loads(out.stdout.strip().splitlines()[-1])
                base, peak = r["base_kb"] / 1024, r["peak_kb"] / 1024
                what = r["error"] or f"{r['events']} events"
                mode = "prefilter" if pre == "1" else "full"
                print(
                    f"{kind:12} {mode:11} {mb:6.1f} {base:8.0f} {peak:8.0f}"
                    f" {(peak - base) / mb:7.1f} {r['s']:6.1f}  {what}"
                )


if __name__ == "__main__":
    main()
