"""The long fuzz campaign, run by hand: mutants of the fixture calendars through
`calsync plan` (tests/fuzz_mutants.py makes them; tests/test_fuzz_calendars.py runs a
bounded budget of the same in CI).

Workers are child processes that each run many mutants in process (cli.main, the real
CLI handler, so an internal error is exit 70 as it would be), reporting per mutant the
exit status, whether stderr held a traceback or more than one error message, the time
and the peak RSS growth (VmHWM, reset before each mutant). A worker that does not answer
within --hang seconds is killed and the mutant counted as a hang. Every finding is saved
under --findings with what made it.

    .venv/bin/python bench/fuzz.py --count 10000 --workers 2
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import random
import select
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
NOW = "2026-11-20T07:00"


def _vm(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def seed_pool(extra: list[str]) -> list[Path]:
    """The fixture calendars, plus every calendar under each --seeds folder (same
    200 kB cap), in one fixed order so a mutant number names the same mutant in the
    worker and in `save`."""
    sys.path.insert(0, str(REPO))
    from tests.fuzz_mutants import seeds

    pool = set(seeds())
    for folder in extra:
        pool.update(p for p in Path(folder).rglob("*.ics") if p.stat().st_size < 200_000)
    return sorted(pool)


def worker(base_seed: int, parse_seconds: float, extra: list[str]) -> None:
    """Read mutant numbers on stdin, answer one JSON line each on stdout."""
    sys.path.insert(0, str(REPO))
    from calsync import cli
    from tests.fuzz_mutants import mutate

    pool = seed_pool(extra)
    out = sys.stdout
    folder = Path(tempfile.mkdtemp(prefix="calsync-fuzz-"))
    path = folder / "mutant.ics"
    cfg = folder / "config.toml"
    cfg.write_text(
        f'[schedule]\ntimezone = "Europe/Berlin"\nhorizon_days = 21\n\n[[source]]\n'
        f'type = "ics"\nurl = "{path}"\nparse_seconds = {parse_seconds}\n\n'
        f'[state]\npath = "{folder / "state.sqlite3"}"\n'
    )
    for line in sys.stdin:
        n = int(line)
        rnd = random.Random(base_seed * 1_000_003 + n)
        seed = rnd.choice(pool)
        data, names = mutate(seed.read_bytes(), rnd)
        path.write_bytes(data)
        err = io.StringIO()
        Path("/proc/self/clear_refs").write_text("5")
        before = _vm("VmRSS")
        t0 = time.monotonic()
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            try:
                rc = cli.main(["--config", str(cfg), "--now", NOW, "plan"])
            except BaseException as e:  # noqa: BLE001 - that is a finding too
                rc = -1
                err.write(f"escaped the CLI handler: {type(e).__name__}: {e}\n")
        took = time.monotonic() - t0
        text = err.getvalue()
        errors = sum(1 for ln in text.splitlines() if ln.startswith("calsync: error:"))
        record = {
            "n": n,
            "seed": str(seed),
            "mutations": names,
            "rc": rc,
            "traceback": "Traceback" in text or "internal error" in text,
            "errors": errors,
            "s": round(took, 3),
            "mb": round((_vm("VmHWM") - before) / 1024, 1),
            "size": len(data),
            "message": next((ln for ln in text.splitlines() if "error" in ln), "")[:200],
        }
        out.write(json.dumps(record) + "\n")
        out.flush()


class Worker:
    def __init__(self, args: argparse.Namespace) -> None:
        self.p = subprocess.Popen(
            [sys.executable, __file__, "--worker", "--seed", str(args.seed),
             "--parse-seconds", str(args.parse_seconds),
             *(f"--seeds={d}" for d in args.seeds)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            bufsize=1,
            env={**os.environ, "CALSYNC_RETRY_TIME_SCALE": "0.001"},
        )  # fmt: skip
        self.job: int | None = None
        self.started = 0.0

    def give(self, n: int) -> None:
        assert self.p.stdin is not None
        self.job, self.started = n, time.monotonic()
        self.p.stdin.write(f"{n}\n")
        self.p.stdin.flush()

    def kill(self) -> None:
        self.p.kill()
        self.p.wait()


def campaign(args: argparse.Namespace) -> int:
    sys.path.insert(0, str(REPO))
    from tests.fuzz_mutants import mutate

    pool = seed_pool(args.seeds)
    print(f"{len(pool)} seed calendars", flush=True)
    findings = Path(args.findings)
    findings.mkdir(parents=True, exist_ok=True)
    results: list[dict[str, object]] = []
    hangs: list[int] = []
    todo = list(range(args.count))
    workers = [Worker(args) for _ in range(args.workers)]
    t0 = time.monotonic()

    def save(n: int, why: str) -> None:
        rnd = random.Random(args.seed * 1_000_003 + n)
        seed = rnd.choice(pool)
        data, names = mutate(seed.read_bytes(), rnd)
        (findings / f"{why}-{n}.ics").write_bytes(data)
        (findings / f"{why}-{n}.txt").write_text(f"{seed} {names}\n")

    for w in workers:
        if todo:
            w.give(todo.pop(0))
    try:
        _run(args, workers, todo, results, hangs, save, t0)
    except KeyboardInterrupt:  # SIGINT: report what ran so far
        print("interrupted: reporting the mutants run so far", flush=True)
    for w in workers:
        w.kill()
    return report(results, hangs, time.monotonic() - t0, findings)


def _run(
    args: argparse.Namespace,
    workers: list[Worker],
    todo: list[int],
    results: list[dict[str, object]],
    hangs: list[int],
    save: Callable[[int, str], None],
    t0: float,
) -> None:
    log = open(Path(args.findings) / "results.jsonl", "a")  # noqa: SIM115 - kept open
    while any(w.job is not None for w in workers):
        busy = {w.p.stdout: w for w in workers if w.job is not None}
        ready, _, _ = select.select(list(busy), [], [], 1.0)
        for stream in ready:
            w = busy[stream]
            line = w.p.stdout.readline() if w.p.stdout else ""
            if not line:  # the worker died: that mutant killed the process
                assert w.job is not None
                results.append({"n": w.job, "rc": "died", "s": 0, "mb": 0})
                save(w.job, "died")
                workers[workers.index(w)] = w = Worker(args)
            else:
                r = json.loads(line)
                results.append(r)
                log.write(line)
                log.flush()
                bad = r["rc"] not in (0, 1) or r["traceback"] or r["errors"] != (r["rc"] == 1)
                if bad:
                    save(r["n"], f"exit{r['rc']}")
                elif r["s"] > args.slow:
                    save(r["n"], "slow")
                w.job = None
            w.job = None
            if todo:
                w.give(todo.pop(0))
        for i, w in enumerate(workers):
            if w.job is not None and time.monotonic() - w.started > args.hang:
                hangs.append(w.job)
                save(w.job, "hang")
                w.kill()
                workers[i] = Worker(args)
                if todo:
                    workers[i].give(todo.pop(0))
        done = len(results) + len(hangs)
        if done and done % 500 == 0 and ready:
            print(f"  {done}/{args.count} in {time.monotonic() - t0:.0f} s", flush=True)


def report(results: list[dict[str, object]], hangs: list[int], took: float, where: Path) -> int:
    by_rc: dict[str, int] = {}
    for r in results:
        by_rc[str(r["rc"])] = by_rc.get(str(r["rc"]), 0) + 1
    tracebacks = sum(1 for r in results if r.get("traceback"))
    bad_messages = sum(
        1 for r in results if r["rc"] in (0, 1) and r.get("errors") != (r["rc"] == 1)
    )
    times = sorted(float(r["s"]) for r in results)  # type: ignore[arg-type]
    mems = sorted(float(r["mb"]) for r in results)  # type: ignore[arg-type]
    slowest = max(results, key=lambda r: float(r["s"]))  # type: ignore[arg-type]
    print(f"mutants: {len(results) + len(hangs)} in {took:.0f} s")
    print(f"exit codes: {dict(sorted(by_rc.items()))}")
    print(f"hangs (no answer within the limit): {len(hangs)}")
    print(f"tracebacks / internal errors: {tracebacks}; not exactly one message: {bad_messages}")
    if times:
        print(
            f"time per mutant: median {times[len(times) // 2]:.2f} s, p99"
            f" {times[int(len(times) * 0.99)]:.2f} s, max {times[-1]:.2f} s"
            f" ({slowest.get('seed')} {slowest.get('mutations')})"
        )
        print(
            f"peak RSS growth per mutant: median {mems[len(mems) // 2]:.0f} MB, max"
            f" {mems[-1]:.0f} MB"
        )
    print(f"findings saved in {where}")
    failed = (
        len(hangs)
        + tracebacks
        + bad_messages
        + sum(v for k, v in by_rc.items() if k not in ("0", "1"))
    )
    return 1 if failed else 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--count", type=int, default=10_000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--seed", type=int, default=17)
    ap.add_argument("--hang", type=float, default=120.0, help="seconds without an answer")
    ap.add_argument("--slow", type=float, default=10.0, help="save mutants slower than this")
    ap.add_argument("--parse-seconds", type=float, default=60.0, help="the source's budget")
    ap.add_argument("--findings", default=str(Path(tempfile.gettempdir()) / "calsync-fuzz"))
    ap.add_argument(
        "--seeds", action="append", default=[], metavar="DIR",
        help="also mutate every *.ics under DIR (repeatable)",
    )  # fmt: skip
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        worker(args.seed, args.parse_seconds, args.seeds)
        return 0
    return campaign(args)


if __name__ == "__main__":
    sys.exit(main())
