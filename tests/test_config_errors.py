"""Config errors as a person meets them: one problem on one line, a missing file named
as such (with a hint that fits how the path was given), "did you mean" for keys and
time zones, and the long list of known keys only with -v."""

from __future__ import annotations

from pathlib import Path

import pytest

from calsync.cli import main
from calsync.config_values import zone_suggestion


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(list(args))
    return code, capsys.readouterr().err


def test_one_problem_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text("[rules]\nsessions_per_week = 9\n")
    code, err = run(capsys, "--config", str(cfg), "plan")
    assert code == 1
    assert err.splitlines() == [
        f"calsync: error: {cfg}: rules.sessions_per_week: expected 0..7, got 9 (out of range 0..7)"
    ]


def test_several_problems_one_line_each(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text('[schedule]\ntimezone = "Europe/Berln"\n[rules]\nsesions_per_week = 2\nx = 1\n')
    code, err = run(capsys, "--config", str(cfg), "plan")
    assert code == 1
    assert err.splitlines() == [
        f"calsync: error: {cfg}: 3 problems in the configuration:",
        "  - schedule.timezone: expected an IANA zone name, got 'Europe/Berln' "
        "(did you mean 'Europe/Berlin'?)",
        "  - rules.sesions_per_week: unknown key (did you mean 'sessions_per_week'?)",
        "  - rules.x: unknown key (-v lists the known keys)",
    ]
    # The 19 keys of [rules] only when asked for, on a line of their own.
    code, err = run(capsys, "--config", str(cfg), "-v", "plan")
    known = [ln for ln in err.splitlines() if ln.startswith("  known keys in [rules]: ")]
    assert len(known) == 1 and "sessions_per_week, taper_sessions_per_week" in known[0]


def test_a_missing_file_given_with_config(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, err = run(capsys, "--config", str(tmp_path / "nope.toml"), "plan")
    assert code == 1
    assert err.splitlines() == [
        f"calsync: error: no config file at {tmp_path / 'nope.toml'}",
        "hint: check the path given with --config (or $CALSYNC_CONFIG)",
    ]
    assert "problem" not in err and "pass --config" not in err


def test_a_missing_default_file_suggests_config(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CALSYNC_CONFIG", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("HOME", str(tmp_path))
    code, err = run(capsys, "plan")
    assert code == 1
    assert err.startswith("calsync: error: no config file at ")
    assert "hint: pass --config PATH, set CALSYNC_CONFIG, or copy config.example.toml" in err


@pytest.mark.parametrize(
    ("typo", "zone"),
    [
        ("Europe/Berln", "Europe/Berlin"),
        ("europe/berlin", "Europe/Berlin"),
        ("America/New York", "America/New_York"),
        ("new york", "America/New_York"),
        ("Asia/Tokio", "Asia/Tokyo"),
        ("Mars/Olympus", None),
    ],
)
def test_time_zone_did_you_mean(typo: str, zone: str | None) -> None:
    assert zone_suggestion(typo) == zone
