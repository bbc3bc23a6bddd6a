"""What every `calsync` command shares: the `AppContext` the global options fill in, the
parsers of --now and of dates, the --color option, the terminal's width and JSON output.

A module of its own so that the modules holding commands (cli, cli_classify,
cli_service, cli_init) all import it and none of them imports another: the command
line's modules form no import cycle. Like cli.py, this module may print.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from calsync.config import Config, default_config_path, load_config
from calsync.errors import ConfigNotFoundError

if TYPE_CHECKING:
    from collections.abc import Sequence

    from calsync.doctor import Check


@dataclass
class AppContext:
    """What the global options decided, shared by every command."""

    config_path: Path | None
    now_override: datetime | None = None
    verbose: int = 0
    _config: Config | None = field(default=None, repr=False)

    def load_config(self) -> Config:
        """The validated config (loaded once). Raises ConfigError with every problem."""
        if self._config is None:
            path = self.config_path or default_config_path()
            try:
                self._config = load_config(path)
            except ConfigNotFoundError as e:
                if self.config_path is not None:
                    e.hint = "check the path given with --config (or $CALSYNC_CONFIG)"
                else:
                    e.hint = (
                        "pass --config PATH, set CALSYNC_CONFIG, or copy "
                        f"config.example.toml to {path}"
                    )
                raise
        return self._config

    def reload_config(self) -> Config:
        """Read the file again (SIGHUP); the old config stays if the new one is bad."""
        path = self.config_path or default_config_path()
        new = load_config(path)
        self._config = new
        return new

    def now(self, config: Config | None = None) -> datetime:
        """--now when given (naive times are read in the configured zone), else the clock."""
        if self.now_override is None:
            return datetime.now().astimezone()
        if self.now_override.tzinfo is None:
            zone = (config or self.load_config()).schedule.zone
            return self.now_override.replace(tzinfo=zone)
        return self.now_override


# Planning reaches years around "now" (horizon up to 3660 days, the read window, the
# taper): beyond these, date arithmetic overflows instead of giving a plan.
_YEARS = (1900, 9000)


def _check_year(value: str, d: date) -> None:
    if not _YEARS[0] <= d.year <= _YEARS[1]:
        raise click.BadParameter(f"{value!r} is outside the years {_YEARS[0]}..{_YEARS[1]}")


def _parse_now(ctx: click.Context, param: click.Parameter, value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        now = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(
            f"{value!r} is not an ISO 8601 date-time like 2026-11-26T08:00 or "
            "2026-11-26T08:00+01:00"
        ) from None
    _check_year(value, now.date())
    return now


def _parse_day(ctx: click.Context, param: click.Parameter, value: str | None) -> date | None:
    if value is None:
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date like 2026-12-01") from None
    _check_year(value, day)
    return day


def _echo_json(obj: Any) -> None:
    click.echo(json.dumps(obj, indent=2, ensure_ascii=False))


_COLOR = click.option(
    "--color",
    type=click.Choice(["auto", "always", "never"]),
    default="auto",
    show_default=True,
    help="Colour: auto = on a terminal unless NO_COLOR is set.",
)


def _use_color(choice: str) -> bool:
    """--color=always/never win; auto: stdout is a terminal and NO_COLOR is unset/empty."""
    if choice != "auto":
        return choice == "always"
    if os.environ.get("NO_COLOR"):
        return False
    return sys.stdout.isatty()


def _columns() -> int | None:
    """Display columns to fit: $COLUMNS, else the terminal's; None for a pipe (no limit:
    a program reading the text gets every word)."""
    raw = os.environ.get("COLUMNS", "").strip()
    if raw.isdigit() and int(raw) > 0:
        return max(40, int(raw))
    if sys.stdout.isatty():
        return max(40, shutil.get_terminal_size().columns)
    return None


def print_checks(checks: Sequence[Check], *, color: bool) -> bool:
    """One line per check, ✓ or ✗ (a ✗ followed by its fix), then a verdict; True when
    all passed."""
    from calsync import term

    paint = term.Paint(color)
    for c in checks:
        mark = paint("green", "✓") if c.ok else paint("red", "✗")
        click.echo(f"{mark} {c.name:<10} {c.detail}", color=paint.enabled)
        if not c.ok and c.fix:
            click.echo(f"  {'':<10} fix: {c.fix}")
    bad = sum(1 for c in checks if not c.ok)
    if bad:
        click.echo(f"{bad} problem{'s' if bad > 1 else ''} found.")
        return False
    click.echo("All good.")
    return True
