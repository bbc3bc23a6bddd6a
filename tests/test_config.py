"""Config loading: typed values, relative paths, and every problem reported at once."""

from __future__ import annotations

from datetime import time
from pathlib import Path

import pytest

from calsync.config import (
    Config,
    load_config,
    parse_config,
)
from calsync.config_values import parse_duration_seconds
from calsync.errors import ConfigError
from calsync.model import Role

ROOT = Path(__file__).resolve().parents[1]


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "config.toml"
    p.write_text(text, encoding="utf-8")
    return p


def problems(raw: dict[str, object]) -> list[str]:
    with pytest.raises(ConfigError) as ei:
        parse_config(raw)
    return ei.value.problems


def test_example_config_loads_and_resolves_paths_next_to_it() -> None:
    cfg = load_config(ROOT / "config.example.toml")
    assert cfg.schedule.timezone == "America/New_York"
    assert [s.role for s in cfg.sources] == [Role.RUNS, Role.BUSY]
    assert Path(cfg.sources[0].url) == ROOT / "examples" / "plan.ics"
    assert Path(cfg.sources[0].url).exists()
    assert cfg.output_ics is not None and cfg.output_ics.path == ROOT / "strength.ics"
    assert cfg.rules.all_day_run_start[5] == time(8, 0)  # saturday
    assert cfg.rules.all_day_run_start[0] == time(7, 0)
    assert cfg.daemon.interval_seconds == 900


def test_defaults_without_a_file() -> None:
    cfg = parse_config({})
    assert isinstance(cfg, Config)
    assert cfg.rules.sessions_per_week == 2
    assert cfg.rules.min_hours_before_race == 48
    assert cfg.schedule.preferred_time == time(18, 0)
    assert cfg.sources == ()


def test_every_problem_is_reported_at_once_with_its_key_path() -> None:
    found = problems(
        {
            "schedule": {"timezon": "Europe/Berlin", "horizon_days": "many"},
            "rules": {"sessions_per_wek": 3, "lift_on_easy_days": "sometimes"},
            "source": [{"type": "ics"}, {"type": "ftp", "url": "x"}],
        }
    )
    text = "\n".join(found)
    assert "schedule.timezon: unknown key (did you mean 'timezone'?)" in text
    assert "schedule.horizon_days: expected" in text
    assert "rules.sessions_per_wek: unknown key (did you mean 'sessions_per_week'?)" in text
    assert "rules.lift_on_easy_days" in text and "'base', 'never', 'always'" in text
    assert "source[0].url: required" in text
    assert "source[1].type" in text
    assert len(found) == 6


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ({"schedule": {"timezone": "Mars/Olympus"}}, "schedule.timezone"),
        ({"schedule": {"earliest": "25:00"}}, "schedule.earliest"),
        ({"schedule": {"earliest": "22:00", "latest": "21:00"}}, "schedule.latest"),
        ({"rules": {"sessions_per_week": True}}, "rules.sessions_per_week"),
        ({"rules": {"sessions_per_week": 1, "taper_sessions_per_week": 2}}, "rules.taper"),
        ({"rules": {"base_ranges": [["2026-02-01", "2026-01-01"]]}}, "rules.base_ranges"),
        ({"rules": {"all_day_run_start": {"funday": "07:00"}}}, "rules.all_day_run_start"),
        ({"classify": {"hard": ["(unclosed"]}}, "classify.hard"),
        ({"workout": {"equipment": ["rowing machine"]}}, "workout.equipment"),
        ({"feed": {"token": "short"}}, "feed.token"),
        ({"feed": {"listen": "localhost"}}, "feed.listen"),
        ({"daemon": {"interval": "often"}}, "daemon.interval"),
        ({"output": {"ics": {}}}, "output.ics.path"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_bad_values_name_their_key(raw: dict[str, object], key: str) -> None:
    found = problems(raw)
    assert any(p.startswith(key) for p in found), found


def test_not_toml_names_the_file(tmp_path: Path) -> None:
    p = write(tmp_path, "[schedule\ntimezone = 'UTC'\n")
    with pytest.raises(ConfigError) as ei:
        load_config(p)
    assert str(p) in str(ei.value)
    assert "not valid TOML" in str(ei.value)
    assert "line 1" in str(ei.value)


def test_missing_file_says_how_to_fix(tmp_path: Path) -> None:
    # The hint depends on how the path was given: the CLI adds it (test_config_errors).
    with pytest.raises(ConfigError) as ei:
        load_config(tmp_path / "nope.toml")
    assert str(ei.value) == f"no config file at {tmp_path / 'nope.toml'}"


def test_relative_paths_follow_the_config_file(tmp_path: Path) -> None:
    p = write(
        tmp_path,
        '[[source]]\ntype = "ics"\nurl = "plan.ics"\n'
        '[[source]]\ntype = "ics"\nurl = "https://example.org/x.ics"\n'
        '[output.ics]\npath = "out/strength.ics"\n[state]\npath = "st.db"\n',
    )
    cfg = load_config(p)
    assert cfg.sources[0].url == str(tmp_path / "plan.ics")
    assert cfg.sources[1].url == "https://example.org/x.ics"
    assert cfg.output_ics is not None and cfg.output_ics.path == tmp_path / "out/strength.ics"
    assert cfg.state_path == tmp_path / "st.db"


def test_google_source_defaults_to_primary() -> None:
    cfg = parse_config({"source": [{"type": "google", "role": "busy"}]})
    assert cfg.sources[0].calendar == "primary"
    assert cfg.sources[0].role is Role.BUSY


@pytest.mark.parametrize(
    ("text", "seconds"), [("15m", 900), ("900s", 900), ("1h", 3600), (15, 900), ("1.5h", 5400)]
)
def test_durations(text: str | int, seconds: float) -> None:
    assert parse_duration_seconds(text) == seconds


def test_preferred_time_can_be_switched_off() -> None:
    assert parse_config({"schedule": {"preferred_time": ""}}).schedule.preferred_time is None


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (
            "https://calendar.google.com/calendar/ical/me%40gmail.com/private-0123456789abcdef0123/basic.ics",
            "https://calendar.google.com/calendar/ical/me%40gmail.com/…/basic.ics",
        ),
        ("https://user:pw@example.org/feed.ics?token=abc123", "https://example.org/feed.ics?…"),
        ("webcal://x.example/u/4f8a9b2c3d4e5f60718293a4b5c6d7e8.ics", "webcal://x.example/u/….ics"),
        ("http://127.0.0.1:8080/plan.ics", "http://127.0.0.1:8080/plan.ics"),
        (
            "https://example.org/plans/marathon_2027.ics",
            "https://example.org/plans/marathon_2027.ics",
        ),
    ],
)
def test_source_labels_never_show_a_feed_secret(url: str, shown: str) -> None:
    cfg = parse_config({"source": [{"type": "ics", "url": url, "name": "coach"}]})
    assert cfg.sources[0].url == url  # the real URL is still used to fetch
    assert cfg.sources[0].label == f"coach ({shown})"
    assert "pw@" not in cfg.sources[0].label


def test_output_caldav_reads_every_key_and_resolves_the_password_file(tmp_path: Path) -> None:
    raw = {
        "output": {
            "caldav": {
                "url": "https://caldav.fastmail.com/dav/calendars/user/me@fastmail.com/",
                "username": "me@fastmail.com",
                "password_file": "caldav-password",
                "calendar": "Gym",
                "alarm_minutes": 30,
                "timeout_seconds": 12,
            }
        }
    }
    out = parse_config(raw, tmp_path / "calsync.toml").output_caldav
    assert out is not None
    assert (out.username, out.calendar, out.alarm_minutes, out.timeout_seconds) == (
        "me@fastmail.com",
        "Gym",
        30,
        12,
    )
    assert out.password_file == str(tmp_path / "caldav-password")
    default = parse_config({"output": {"caldav": {"url": "https://dav.example.org/"}}})
    assert default.output_caldav is not None
    assert (default.output_caldav.calendar, default.output_caldav.alarm_minutes) == (
        "Strength training",
        None,
    )


def test_output_caldav_problems_are_named_by_key() -> None:
    with pytest.raises(ConfigError) as err:
        parse_config(
            {"output": {"caldav": {"alarm_minutes": -5, "calendar": " ", "colour": "red"}}}
        )
    text = str(err.value)
    for key in ("output.caldav.url", "output.caldav.alarm_minutes", "output.caldav.calendar",
                "output.caldav.colour"):  # fmt: skip
        assert key in text, text
