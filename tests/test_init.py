"""`calsync init`, `calsync rules`, and the systemd units run by hand on what init wrote.

The units' test: a fresh HOME, `calsync init` with no terminal, `calsync sync`, then each
unit's ExecStart command line run as written (with %h filled in and its Environment=),
checking that every file it creates or changes lies under the unit's ReadWritePaths. This
machine cannot enforce ProtectHome=read-only, so the check is the next best thing: it
fails on any write elsewhere under the test's folder, the fresh HOME included.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CALSYNC = Path(sys.executable).with_name("calsync")
UNITS = sorted((ROOT / "systemd").glob("*.service"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A fresh HOME with calsync where pipx puts it (the path the units run)."""
    h = tmp_path / "home"
    (h / ".local" / "bin").mkdir(parents=True)
    (h / ".local" / "bin" / "calsync").symlink_to(CALSYNC)
    return h


def env_for(home: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    # What a systemd user manager gives: HOME and PATH, no XDG_* overrides.
    return {"HOME": str(home), "PATH": os.environ["PATH"], "LANG": "C.UTF-8", **(extra or {})}


def calsync(home: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    r = subprocess.run(
        [str(home / ".local" / "bin" / "calsync"), *args],
        env=env_for(home),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if check:
        assert r.returncode == 0, r.stderr
    return r


def snapshot(top: Path) -> dict[Path, tuple[int, int, int]]:
    out = {}
    for dirpath, _, files in os.walk(top):
        for name in files:
            p = Path(dirpath) / name
            st = p.lstat()
            out[p] = (st.st_size, st.st_mtime_ns, st.st_ino)
    return out


def changed(before: dict[Path, tuple[int, int, int]], top: Path) -> set[Path]:
    after = snapshot(top)
    return {p for p, v in after.items() if before.get(p) != v}


def unit_settings(unit: Path, home: Path) -> tuple[list[str], dict[str, str], list[Path]]:
    """ExecStart's words, Environment= and ReadWritePaths= of a unit, %h filled in."""
    text = unit.read_text(encoding="utf-8").replace("%h", str(home))
    exec_start = re.findall(r"^ExecStart=(.+)$", text, re.M)
    assert len(exec_start) == 1, unit
    env = dict(
        kv.split("=", 1)
        for line in re.findall(r"^Environment=(.+)$", text, re.M)
        for kv in line.split()
    )
    writable = [
        Path(p) for line in re.findall(r"^ReadWritePaths=(.+)$", text, re.M) for p in line.split()
    ]
    return exec_start[0].split(), env, writable


def init_feed(home: Path, port: int) -> None:
    r = calsync(
        home,
        "init",
        "--calendar",
        str(ROOT / "examples" / "plan.ics"),
        "--timezone",
        "America/New_York",
        "--to",
        "feed",
        "--listen",
        f"127.0.0.1:{port}",
    )
    assert f"wrote {home}/.config/calsync/config.toml" in r.stdout


def test_init_then_sync_writes_into_the_state_dir(home: Path) -> None:
    r = calsync(home, "init", "--calendar", str(ROOT / "examples" / "plan.ics"), "--to", "ics")
    config = home / ".config" / "calsync" / "config.toml"
    text = config.read_text(encoding="utf-8")
    state = home / ".local" / "state" / "calsync"
    assert f'path = "{state}/strength.ics"' in text
    assert f'path = "{state}/state.sqlite3"' in text
    assert "events read from" in r.stdout
    calsync(home, "sync")
    assert b"X-CALSYNC-KEY" in (state / "strength.ics").read_bytes()
    assert "0 created, 0 moved/updated, 0 removed" in calsync(home, "sync").stdout


@pytest.mark.timeout(180)
@pytest.mark.parametrize("unit", UNITS, ids=lambda u: u.name)
def test_each_units_command_writes_only_where_the_unit_allows(
    home: Path, tmp_path: Path, unit: Path
) -> None:
    port = free_port()
    init_feed(home, port)
    calsync(home, "sync")
    argv, env, writable = unit_settings(unit, home)
    assert writable, f"{unit.name} has no ReadWritePaths"
    assert all(w.is_dir() for w in writable), "init made the folders the unit may write"
    before = snapshot(tmp_path)
    proc = subprocess.Popen(
        argv,
        env=env_for(home, env),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        if argv[1:] == ["sync"]:
            out, _ = proc.communicate(timeout=120)
            assert proc.returncode == 0, out
        else:
            wait_for_service(argv[1], port, home)
            proc.send_signal(signal.SIGTERM)
            out, _ = proc.communicate(timeout=60)
            assert proc.returncode == 0, out
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    written = changed(before, tmp_path)
    outside = sorted(str(p) for p in written if not any(p.is_relative_to(w) for w in writable))
    assert not outside, f"{unit.name} wrote outside ReadWritePaths: {outside}"
    state = home / ".local" / "state" / "calsync"
    assert any(p.is_relative_to(state) for p in written) or argv[1] == "serve", out


def wait_for_service(command: str, port: int, home: Path) -> None:
    deadline = time.monotonic() + 60
    state = home / ".local" / "state" / "calsync" / "state.sqlite3"
    start = state.stat().st_mtime_ns
    while time.monotonic() < deadline:
        if command == "serve":
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                    if r.status == 200:
                        return
            except OSError:
                pass
        elif command == "daemon" and state.stat().st_mtime_ns != start:
            time.sleep(1)  # let the first sync commit
            return
        time.sleep(0.2)
    raise AssertionError(f"calsync {command} did not come up")


def test_init_checks_the_calendar_and_writes_nothing_when_it_fails(home: Path) -> None:
    r = calsync(home, "init", "--calendar", str(home / "missing.ics"), check=False)
    assert r.returncode == 1
    assert r.stderr.startswith("calsync: error: training plan (") and "file not found" in r.stderr
    assert not (home / ".config" / "calsync").exists() or not list(
        (home / ".config" / "calsync").iterdir()
    )


def test_init_without_a_terminal_needs_the_calendar(home: Path) -> None:
    r = calsync(home, "init", check=False)
    assert r.returncode == 2
    assert "--calendar is needed" in r.stderr


def test_init_leaves_an_existing_config_alone_unless_forced(home: Path) -> None:
    plan = str(ROOT / "examples" / "plan.ics")
    calsync(home, "init", "--calendar", plan, "--timezone", "Europe/Berlin")
    config = home / ".config" / "calsync" / "config.toml"
    first = config.read_bytes()
    r = calsync(home, "init", "--calendar", plan, "--timezone", "Asia/Tokyo", check=False)
    assert r.returncode == 1 and "already exists" in r.stderr
    assert config.read_bytes() == first
    calsync(home, "init", "--calendar", plan, "--timezone", "Asia/Tokyo", "--force")
    assert 'timezone = "Asia/Tokyo"' in config.read_text(encoding="utf-8")


def test_init_writes_where_config_says(home: Path, tmp_path: Path) -> None:
    target = tmp_path / "elsewhere" / "c.toml"
    plan = str(ROOT / "examples" / "plan.ics")
    calsync(home, "init", "--config", str(target), "--calendar", plan)
    assert target.exists() and not (home / ".config" / "calsync" / "config.toml").exists()


def test_init_example_copies_a_runnable_example(home: Path, tmp_path: Path) -> None:
    target = tmp_path / "example"
    calsync(home, "init", "--example", str(target))
    for name in ("config.example.toml", "examples/plan.ics", "examples/work.ics"):
        assert (target / name).read_bytes() == (ROOT / name).read_bytes()
    r = subprocess.run(
        [str(CALSYNC), "--config", "config.example.toml", "sync"],
        cwd=target,
        env=env_for(home),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0, r.stderr
    assert (target / "strength.ics").exists()
    again = calsync(home, "init", "--example", str(target), check=False)
    assert again.returncode == 1 and "already exists" in again.stderr


def test_rules_prints_the_rules_document(home: Path) -> None:
    assert calsync(home, "rules").stdout == (ROOT / "docs" / "RULES.md").read_text(encoding="utf-8")


def test_init_units_installs_the_units_and_the_guide_they_name(home: Path) -> None:
    r = calsync(home, "init", "--units")
    unit_dir = home / ".config" / "systemd" / "user"
    installed = sorted(p.name for p in unit_dir.iterdir())
    shipped = sorted(p.name for p in (ROOT / "systemd").iterdir() if p.suffix != ".md")
    assert installed == shipped
    for name in installed:
        unit = unit_dir / name
        assert unit.read_bytes() == (ROOT / "systemd" / name).read_bytes()
        for doc in re.findall(r"^Documentation=file://(.+)$", unit.read_text(), re.M):
            assert Path(doc.replace("%h", str(home))).is_file(), (name, doc)
    assert (home / ".local" / "state" / "calsync").is_dir()  # the units' ReadWritePaths
    assert "systemctl --user daemon-reload" in r.stdout
    again = calsync(home, "init", "--units", check=False)
    assert again.returncode == 1 and "already exists" in again.stderr
