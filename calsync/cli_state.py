"""`calsync state check` and `calsync state restore`: the state file's health and its
last good copy (calsync/state_guard.py does the work; this module prints).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from calsync.cli_context import AppContext


@click.group()
def state() -> None:
    """Check the state file, or put back its last good copy.

    The state is calsync's memory of what it wrote (SEQUENCE numbers, UIDs, past
    sessions). After each successful sync calsync keeps a copy beside it,
    `<state>.bak` (mode 0600).
    """


@state.command()
@click.pass_obj
def check(app: AppContext) -> None:
    """Check the state file whole (SQLite's integrity_check, every stored text), its
    history against the output, and its backup. Exits 1 when something is wrong."""
    from calsync.cli_context import print_checks
    from calsync.doctor import state_checks

    config = app.load_config()
    output = config.output_ics.path if config.output_ics is not None else None
    checks = state_checks(config.state_path, output, config.schedule.zone)
    if not print_checks(checks, color=False):
        raise click.exceptions.Exit(1)


@state.command()
@click.pass_obj
def restore(app: AppContext) -> None:
    """Put back `<state>.bak`, the state after the last successful sync.

    Refused while another calsync (a sync, the daemon's sync) holds the state's lock.
    The file it replaces is not deleted: it is kept as `<state>.damaged-<time>`. The
    next sync plans from the restored state and writes the outputs again.
    """
    from calsync.state_guard import restore as put_back

    config = app.load_config()
    done = put_back(config.state_path, datetime.now(UTC))
    when = done.backup_time.astimezone()
    click.echo(f"restored {done.state} from {done.backup} (written {when:%Y-%m-%d %H:%M})")
    if done.last_sync is not None:
        last = done.last_sync.astimezone(config.schedule.zone)
        click.echo(f"it holds the state after the sync of {last:%Y-%m-%d %H:%M}")
    if done.aside is not None:
        click.echo(f"the file it replaced is kept as {done.aside}")
    click.echo("run `calsync sync` to bring the outputs up to date")
