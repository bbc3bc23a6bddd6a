"""`calsync init` (a starter config or the runnable example) and `calsync rules`.

`init` writes the config to the user config dir (XDG: ~/.config/calsync/config.toml),
asking for what it needs at a terminal, or taking it from flags. It keeps the state and
the ICS output in the user state dir (~/.local/state/calsync) with absolute paths: that is
the one folder the systemd units may write, and a relative path would resolve next to the
config, which the units see read-only. The training calendar is read on the spot and the
config is validated before it replaces anything: nothing half-made is left behind.

`init --example DIR` copies the runnable example (config + calendars), and `init --units`
the systemd user units (and their guide, where the units' Documentation= points), all
shipped inside the package, so a `pipx install` user needs no checkout.
"""

from __future__ import annotations

import json
import os
import sys
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

import click

from calsync.atomic import stage, write_file
from calsync.config import (
    _LISTEN,
    Config,
    default_config_path,
    default_state_dir,
    load_config,
    system_timezone,
)
from calsync.errors import CalsyncError
from calsync.extras import require

if TYPE_CHECKING:
    from calsync.cli_context import AppContext

EXAMPLE_FILES = ("config.example.toml", "examples/plan.ics", "examples/work.ics")
UNIT_FILES = (
    "calsync.service",
    "calsync-sync.service",
    "calsync-sync.timer",
    "calsync-feed.service",
)
# Where `calsync init` sends the sessions.
DESTINATIONS = ("ics", "feed", "google", "caldav")
OUTPUT_NAME = "Strength training"


class InitError(CalsyncError):
    """`calsync init` cannot write what it was asked to."""


def data_file(name: str) -> resources.abc.Traversable:
    """A file shipped inside the package, under calsync/data/."""
    return resources.files("calsync").joinpath("data", *name.split("/"))


# --------------------------------------------------------------------------- rules


@click.command()
def rules() -> None:
    """Print the training rules calsync follows (RULES.md), with their config keys."""
    click.echo(data_file("RULES.md").read_text(encoding="utf-8"), nl=False)


# --------------------------------------------------------------------------- init


def _check_listen(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is not None and not _LISTEN.match(value):
        raise click.BadParameter(f"{value!r} is not HOST:PORT like '127.0.0.1:8765'")
    return value


@click.command()
@click.option(
    "--example",
    "example_dir",
    type=click.Path(file_okay=False, path_type=Path),
    metavar="DIR",
    help="Copy the runnable example (config.example.toml + examples/) into DIR instead.",
)
@click.option("--timezone", metavar="ZONE", help="IANA time zone. Default: the system's.")
@click.option(
    "--calendar",
    metavar="PATH|URL",
    help="Your training calendar: an ICS file, or an http(s)/webcal URL. Read on the spot.",
)
@click.option(
    "--to",
    "destination",
    type=click.Choice(DESTINATIONS),
    help="Where the sessions go: an ICS file, the ICS feed (calsync serve), a Google "
    "Calendar, a CalDAV calendar. Default: ics.",
)
@click.option(
    "--listen",
    callback=_check_listen,
    metavar="HOST:PORT",
    help="For --to feed: where `calsync serve` listens. Default: 127.0.0.1:8765.",
)
@click.option("--caldav-url", metavar="URL", help="For --to caldav: the server's URL.")
@click.option("--caldav-username", metavar="NAME", help="For --to caldav: your user name.")
@click.option(
    "--units",
    is_flag=True,
    help="Install the systemd user units (to ~/.config/systemd/user) and their guide instead.",
)
@click.option("--force", is_flag=True, help="Replace files that are already there.")
@click.pass_obj
def init(
    app: AppContext,
    example_dir: Path | None,
    units: bool,
    timezone: str | None,
    calendar: str | None,
    destination: str | None,
    listen: str | None,
    caldav_url: str | None,
    caldav_username: str | None,
    force: bool,
) -> None:
    """Write a starter config (asking, or from flags), or copy the runnable example.

    The config goes to --config when given, else the user config dir, where `calsync`
    and the systemd units find it; state and output go to the user state dir, the one
    folder the units may write. Asks at a terminal for what the flags leave out.

    \b
    Examples:
      calsync init
      calsync init --calendar ~/plan.ics --to ics --timezone Europe/Berlin
      calsync init --calendar https://example.com/plan.ics --to feed
      calsync init --example calsync-example
      calsync init --units
    """
    if example_dir is not None:
        _copy_example(example_dir, force)
        return
    if units:
        _install_units(force)
        return
    path = app.config_path or default_config_path()
    if path.exists() and not force:
        raise InitError(
            f"{path} already exists; calsync init leaves it alone (--force replaces it)"
        )
    asking = sys.stdin.isatty()
    if timezone is None:
        timezone = (
            click.prompt("Time zone", default=system_timezone()) if asking else system_timezone()
        )
    destination, caldav_url, caldav_username = _destination(
        destination, caldav_url, caldav_username, asking
    )
    state_dir = default_state_dir()
    while True:
        if calendar is None:
            if not asking:
                raise click.UsageError("--calendar is needed (there is no terminal to ask at)")
            calendar = click.prompt("Training calendar (ICS file path or URL)")
        text = _config_text(
            timezone,
            _calendar_url(calendar),
            destination,
            state_dir,
            listen,
            caldav_url,
            caldav_username,
        )
        try:
            config, events = _write_checked(path, text, app.now_override)
        except CalsyncError as e:
            if not asking:
                raise
            click.echo(f"calsync: error: {e}", err=True)
            calendar = None
            continue
        break
    click.echo(f"wrote {path}: {events} events read from {calendar}")
    _next_steps(config, destination, state_dir)


def _destination(
    destination: str | None, caldav_url: str | None, caldav_username: str | None, asking: bool
) -> tuple[str, str | None, str | None]:
    """Where sessions go, and a CalDAV server's URL and user name: from the flags, else
    asked at a terminal; the extra it needs must be installed."""
    if destination is None:
        destination = (
            click.prompt("Where do sessions go", type=click.Choice(DESTINATIONS), default="ics")
            if asking
            else "ics"
        )
    if destination == "google":
        require("google", "calsync init --to google")
    if destination == "caldav":
        require("caldav", "calsync init --to caldav")
        if caldav_url is None:
            if not asking:
                raise click.UsageError("--to caldav needs --caldav-url")
            caldav_url = click.prompt("CalDAV server URL")
        if caldav_username is None and asking:
            caldav_username = click.prompt("CalDAV user name", default="", show_default=False)
    return destination, caldav_url, caldav_username


def _calendar_url(value: str) -> str:
    # A path is made absolute: the config lives elsewhere, and relative paths in it are
    # read relative to its folder.
    return value if "://" in value else str(Path(value).expanduser().resolve())


def _toml(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)  # a TOML basic string


def _config_text(
    timezone: str,
    url: str,
    destination: str,
    state_dir: Path,
    listen: str | None,
    caldav_url: str | None,
    caldav_username: str | None,
) -> str:
    lines = [
        f"# calsync configuration, written by `calsync init` on {datetime.now():%Y-%m-%d}.",
        "# Every key is explained in config.example.toml (`calsync init --example DIR` copies it).",
        "# State and output live in the user state dir, the one folder the systemd units write.",
        "",
        "[schedule]",
        f"timezone = {_toml(timezone)}",
        "",
        "[[source]]",
        'type = "ics"',
        f"url = {_toml(url)}",
        'role = "runs"',
        'name = "training plan"',
        "",
    ]
    if destination == "ics":
        lines += ["[output.ics]", f"path = {_toml(str(state_dir / 'strength.ics'))}", ""]
    elif destination == "feed":
        lines += ["[feed]", f"listen = {_toml(listen or '127.0.0.1:8765')}", ""]
    elif destination == "google":
        lines += ["[output.google]", f"calendar = {_toml(OUTPUT_NAME)}", ""]
    elif destination == "caldav":
        lines += ["[output.caldav]", f"url = {_toml(caldav_url or '')}"]
        if caldav_username:
            pw = state_dir / "caldav-password"
            lines += [f"username = {_toml(caldav_username)}", f"password_file = {_toml(str(pw))}"]
        lines += [f"calendar = {_toml(OUTPUT_NAME)}", ""]
    lines += ["[state]", f"path = {_toml(str(state_dir / 'state.sqlite3'))}", ""]
    return "\n".join(lines)


def _write_checked(path: Path, text: str, now: datetime | None) -> tuple[Config, int]:
    """Validate `text` as a config and read its calendar, then put it at `path`."""
    from calsync.sync import build_sources, read_events, read_window

    path.parent.mkdir(parents=True, exist_ok=True)
    # Staged beside its final place (relative paths in it read the same), checked, then
    # put in place; 0600, since a config may hold a feed token.
    try:
        staged = stage(path, text, mode=0o600)
    except OSError as e:
        raise InitError(f"{path}: cannot write the config: {e.strerror or e}") from None
    try:
        config = load_config(staged.tmp)
        zone = config.schedule.zone
        when = (
            datetime.now(zone) if now is None else now if now.tzinfo else now.replace(tzinfo=zone)
        )
        per_source = read_events(build_sources(config), read_window(config, when), None)
        config.state_path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    except BaseException:
        staged.discard()
        raise
    try:
        staged.publish()
    except OSError as e:
        raise InitError(f"{path}: cannot write the config: {e.strerror or e}") from None
    return load_config(path), sum(len(events) for _, events in per_source)


def _next_steps(config: Config, destination: str, state_dir: Path) -> None:
    steps = ["calsync plan            # the plan, without writing anything"]
    if destination == "google":
        steps.insert(0, "calsync auth google --client-secrets client_secret.json")
    if destination == "caldav":
        steps.insert(0, f"put the CalDAV password in {state_dir / 'caldav-password'} (chmod 600)")
    steps.append("calsync sync            # write the sessions")
    if destination == "feed":
        steps += [
            "calsync serve           # the feed",
            "calsync feed-url        # the URL to subscribe to",
        ]
    click.echo("next:\n" + "".join(f"  {s}\n" for s in steps), nl=False)
    units = Path.home() / ".local" / "state" / "calsync"
    if state_dir != units:
        click.echo(
            f"note: the systemd units may write only {units}; this state dir is {state_dir}: "
            "add it to ReadWritePaths= (systemd/README.md)"
        )


def _copy_files(pairs: list[tuple[str, Path]], force: bool) -> None:
    """Copy package data files to their places; refuse to replace any unless forced."""
    clash = [dest for _, dest in pairs if dest.exists()]
    if clash and not force:
        raise InitError(f"{clash[0]} already exists (--force replaces it)")
    for name, dest in pairs:
        dest.parent.mkdir(parents=True, exist_ok=True)
        try:
            write_file(dest, data_file(name).read_bytes())
        except OSError as e:
            raise InitError(f"{dest}: cannot write: {e.strerror or e}") from None


def _copy_example(target: Path, force: bool) -> None:
    _copy_files([(name, target / name) for name in EXAMPLE_FILES], force)
    click.echo(
        f"copied the example to {target}; try it:\n"
        f"  cd {target} && calsync --config config.example.toml sync && "
        "calsync --config config.example.toml plan"
    )


def _install_units(force: bool) -> None:
    # systemd reads user units from $XDG_CONFIG_HOME/systemd/user; the units name their
    # guide as %h/.local/share/doc/calsync/README.md and write only to the state dir.
    config_home = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    unit_dir = config_home / "systemd" / "user"
    guide = Path.home() / ".local" / "share" / "doc" / "calsync" / "README.md"
    pairs = [(f"systemd/{name}", unit_dir / name) for name in UNIT_FILES]
    _copy_files([*pairs, ("systemd/README.md", guide)], force)
    (Path.home() / ".local" / "state" / "calsync").mkdir(mode=0o700, parents=True, exist_ok=True)
    click.echo(
        f"installed {', '.join(UNIT_FILES)} in {unit_dir} and their guide as {guide}; next:\n"
        "  systemctl --user daemon-reload\n"
        "  systemctl --user enable --now calsync-sync.timer     # or calsync.service\n"
        "  systemctl --user enable --now calsync-feed.service   # the feed, if you use it"
    )
