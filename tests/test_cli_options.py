"""The global options (--config, --now, -v) work before the command and after it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import run_cli as run

ROOT = Path(__file__).resolve().parents[1]
NOW = "2026-11-30T07:00"
LATER = "2026-12-07T07:00"


@pytest.fixture
def cfg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    shutil.copy(ROOT / "config.example.toml", tmp_path / "config.toml")
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))  # no user config can leak in
    monkeypatch.delenv("CALSYNC_CONFIG", raising=False)
    return str(tmp_path / "config.toml")


def test_config_and_now_before_or_after_the_command_give_the_same_plan(
    cfg: str, capsys: pytest.CaptureFixture[str]
) -> None:
    placements = [
        ["--config", cfg, "--now", NOW, "plan", "--json"],
        ["plan", "--json", "--config", cfg, "--now", NOW],
        ["--config", cfg, "plan", "--now", NOW, "--json"],
        ["--now", NOW, "plan", "--config", cfg, "--json"],
    ]
    outputs = []
    for args in placements:
        code, out, err = run(capsys, *args)
        assert code == 0, (args, err)
        outputs.append(out)
    assert json.loads(outputs[0])["now"].startswith(NOW)
    assert all(o == outputs[0] for o in outputs)


def test_given_twice_the_one_after_the_command_wins(
    cfg: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "--config", cfg, "--now", NOW, "plan", "--json", "--now", LATER)
    assert code == 0, err
    assert json.loads(out)["now"].startswith(LATER)


def test_sync_with_options_after_the_command(
    cfg: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "sync", "--config", cfg, "--now", NOW)
    assert code == 0, err
    assert (tmp_path / "strength.ics").exists()
    code, out, err = run(capsys, "sync", "--dry-run", "--now", NOW, "--config", cfg)
    assert code == 0, err
    assert "0 created, 0 moved/updated, 0 removed" in out


def test_a_bad_now_after_the_command_is_a_usage_error(
    cfg: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, "plan", "--config", cfg, "--now", "tomorrow")
    assert code == 2
    assert "'tomorrow' is not an ISO 8601 date-time" in err


@pytest.mark.parametrize("where", ["before", "after"])
def test_verbose_before_or_after_gives_the_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], where: str
) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[schedule]\ntimezone = 'Mars/Olympus'\n", encoding="utf-8")
    args = ["--config", str(bad), "plan"]
    code, _, err = run(capsys, *args)
    assert code == 1 and "Traceback" not in err
    args = ["-v", *args] if where == "before" else [*args, "-v"]
    code, _, err = run(capsys, *args)
    assert code == 1
    assert "Traceback" in err and "Mars/Olympus" in err


@pytest.mark.parametrize("where", ["before", "after"])
def test_verbose_before_or_after_logs_more(cfg: str, tmp_path: Path, where: str) -> None:
    # In a fresh process: the log handler is set up once per process.
    base = ["--config", cfg, "--now", NOW, "sync", "--dry-run"]
    args = ["-v", *base] if where == "before" else [*base, "-v"]
    env = {**os.environ, "HOME": str(tmp_path / "home")}
    quiet = subprocess.run(
        [sys.executable, "-m", "calsync", *base], capture_output=True, text=True, env=env
    )
    loud = subprocess.run(
        [sys.executable, "-m", "calsync", *args], capture_output=True, text=True, env=env
    )
    assert quiet.returncode == loud.returncode == 0, loud.stderr
    assert "INFO" not in quiet.stderr
    assert "INFO: read 49 events from training plan" in loud.stderr


def test_every_command_takes_the_global_options(capsys: pytest.CaptureFixture[str]) -> None:
    from calsync.cli import cli

    def walk(group: object, path: list[str]) -> list[list[str]]:
        out = []
        for name, cmd in getattr(group, "commands", {}).items():
            out.append([*path, name])
            out.extend(walk(cmd, [*path, name]))
        return out

    commands = walk(cli, [])
    assert ["sync"] in commands and ["auth", "google"] in commands and ["init"] in commands
    for path in commands:
        code, out, err = run(capsys, *path, "--help")
        assert code == 0, (path, err)
        for opt in ("--config", "--now", "-v, --verbose"):
            assert opt in out, (path, opt)


def test_shell_completion_offers_the_options_after_the_command(tmp_path: Path) -> None:
    # The README's completion set-up: click's bash completion through the entry point.
    env = {
        **os.environ,
        "HOME": str(tmp_path),
        "_CALSYNC_COMPLETE": "bash_complete",
        "COMP_WORDS": "calsync sync --c",
        "COMP_CWORD": "2",
    }
    calsync = str(Path(sys.executable).with_name("calsync"))
    r = subprocess.run([calsync], env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert "plain,--config" in r.stdout.splitlines()
