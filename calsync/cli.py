"""The `calsync` command line: with the cli_* modules, the only code that prints.

Every command gets its settings through `AppContext` (calsync.cli_context, shared by
every cli_* module); every user-facing failure is a `CalsyncError`, turned into one
readable message and exit status 1 by `main()` (usage errors exit 2). Tracebacks only
with --verbose. classify, auth, serve/daemon/feed-url, init/rules and state live in their
own modules (cli_classify, cli_google, cli_service, cli_init, cli_state), registered below.
"""

from __future__ import annotations

import logging
import sys
import traceback
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from pathlib import Path

import click

from calsync import __version__
from calsync.cli_context import (
    _COLOR,
    AppContext,
    _columns,
    _echo_json,
    _parse_day,
    _parse_now,
    _use_color,
    print_checks,
)
from calsync.config import default_config_path
from calsync.errors import CalsyncError, ConfigError

log = logging.getLogger("calsync")


_VERBOSE = 0


@click.group(
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
    epilog="Start with: calsync init (a config for your calendar), or calsync init --example "
    "DIR (a runnable example to try).",
)
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    envvar="CALSYNC_CONFIG",
    help="Config file (TOML). Default: $CALSYNC_CONFIG, else the user config dir "
    f"({default_config_path()}).",
)
@click.option(
    "--now",
    "now",
    callback=_parse_now,
    metavar="ISO-8601",
    help="Plan as if it were then (e.g. 2026-12-01T07:00). Naive times are local.",
)
@click.option("-v", "--verbose", count=True, help="More logging; tracebacks on errors.")
@click.version_option(__version__, prog_name="calsync")
@click.pass_context
def cli(ctx: click.Context, config_path: Path | None, now: datetime | None, verbose: int) -> None:
    """Place strength sessions for runners in their calendar, by the coaching rules.

    calsync reads your training calendar, labels every run hard, easy or race (and
    says why), and places two heavy strength sessions a week where they help your
    running: after the run on hard days, never in the day before a hard workout,
    48 h apart, fewer before a race. `calsync rules` prints every rule.
    """
    global _VERBOSE
    _VERBOSE = verbose
    _setup_logging(verbose)
    ctx.obj = AppContext(config_path=config_path, now_override=now, verbose=verbose)


def _setup_logging(verbose: int) -> None:
    level = logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    root = logging.getLogger()
    ours = [h for h in root.handlers if getattr(h, "_calsync", False)]
    for h in ours:  # main() called again in one process (tests): today's stderr
        if isinstance(h, logging.StreamHandler):
            h.stream = sys.stderr  # not setStream(): it flushes the old, maybe closed, one
    if not ours:
        h = logging.StreamHandler(sys.stderr)
        h.setFormatter(logging.Formatter("%(levelname)s: %(message)s"))
        h._calsync = True  # type: ignore[attr-defined]
        root.addHandler(h)
    root.setLevel(level)
    # Library chatter (HTTP clients) only when asked for twice.
    for noisy in ("googleapiclient", "urllib3", "waitress", "radicale", "caldav"):
        logging.getLogger(noisy).setLevel(logging.WARNING if verbose < 2 else logging.DEBUG)


# --------------------------------------------------------------------------- sync


@cli.command()
@click.option("--dry-run", is_flag=True, help="Show what would change; write nothing.")
@click.option(
    "--force",
    is_flag=True,
    help="Allow a sync that would remove every upcoming session (e.g. the plan ended).",
)
@click.option(
    "--new-state",
    is_flag=True,
    help="Start afresh on purpose: sync with a new, empty state although the output holds "
    "sessions an earlier state recorded (see `calsync state`).",
)
@click.option("--json", "as_json", is_flag=True, help="What changed, for programs (see README).")
@_COLOR
@click.pass_obj
def sync(
    app: AppContext, dry_run: bool, force: bool, new_state: bool, as_json: bool, color: str
) -> None:
    """Read the calendars, plan, and write the strength sessions.

    Prints a summary line per output, then every session created (+), moved or
    updated (~) and removed (-), with its day and time and why. Running it again with
    nothing changed writes nothing.

    \b
    Examples:
      calsync sync
      calsync --config ~/calsync.toml sync --dry-run
      calsync --now 2026-12-01T07:00 sync
      calsync sync --json | jq '.sinks[].changes[]'
    """
    from calsync import report
    from calsync.sync import run_sync

    config = app.load_config()
    zone = config.schedule.zone
    out = config.output_ics.path if config.output_ics is not None else None
    before = _file_stamp(out)
    result = run_sync(config, app.now(config), dry_run=dry_run, force=force, new_state=new_state)
    changes = [
        report.sync_changes(r, a, b, result.old_titles)
        for r, a, b in zip(result.reports, result.actions, result.before, strict=True)
    ]
    # The file's own stamp tells: it is rewritten only when its bytes change (and
    # re-created when it was deleted, even with nothing else to do).
    written = out is not None and not dry_run and _file_stamp(out) != before
    if as_json:
        _echo_json(
            report.sync_json(
                result.reports,
                changes,
                zone,
                dry_run=dry_run,
                output=str(out) if out is not None else None,
                written=written,
            )
        )
        return
    paint = _use_color(color)
    text = report.sync_text(result.reports, changes, zone, dry_run=dry_run, color=paint)
    click.echo(text, nl=False, color=paint)
    if out is not None and not dry_run:
        click.echo(f"wrote {out}" if written else f"{out} is up to date")


def _file_stamp(path: Path | None) -> tuple[int, int] | None:
    try:
        st = path.stat() if path is not None else None
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_ino) if st is not None else None


# --------------------------------------------------------------------------- plan


@cli.command()
@click.option("--explain", is_flag=True, help="Why each day got a session, or why not.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable plan (see README).")
@click.option(
    "--week",
    "week",
    callback=lambda c, p, v: _parse_day(c, p, v),
    metavar="DATE",
    help="Only the week holding DATE (e.g. 2026-12-01).",
)
@click.option(
    "--html",
    "html_path",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="PATH",
    help="Write the week view as one self-contained HTML page to PATH (open it offline).",
)
@_COLOR
@click.pass_obj
def plan(
    app: AppContext,
    explain: bool,
    as_json: bool,
    week: date | None,
    html_path: Path | None,
    color: str,
) -> None:
    """Show the plan without writing anything.

    A table a week at a time, fitted to the terminal ($COLUMNS): every day's runs with
    their start times and intensity, and the session placed (with the busy event that
    set its time) or the rule that decided the day stays empty. With --html, the same
    plan as a week view page in one file (nothing else is written).

    \b
    Examples:
      calsync plan
      calsync plan --week 2026-12-07 --explain
      calsync plan --json | jq '.sessions[] | .start'
      calsync plan --html week.html
    """
    from calsync import report
    from calsync.state import StateStore, SyncRecord
    from calsync.sync import compute

    config = app.load_config()
    if not config.sources:
        raise ConfigError(str(config.path), ["source: at least one [[source]] is needed"])
    store = StateStore(config.state_path) if config.state_path.exists() else None
    last: SyncRecord | None = None
    try:
        now = app.now(config)
        result = compute(config, now, store)
        if store is not None and html_path is not None:
            with store.reader() as view:
                last = view.last_sync()
    finally:
        if store is not None:
            store.close()
    zone = config.schedule.zone
    if week is not None and not any(
        w.start <= week < w.start + timedelta(days=7) for w in result.plan.weeks
    ):
        days = result.plan.days
        span = f"{days[0].day} to {days[-1].day}" if days else "empty"
        raise click.BadParameter(
            f"{week} is not in the planned horizon ({span})", param_hint="--week"
        )
    data = report.plan_json(
        result.plan, zone, busy=result.inputs.busy, own_strength=result.inputs.own_strength
    )
    if html_path is not None:
        from calsync.page import render_page
        from calsync.sinks.ics import write_atomic

        page = render_page(data, now=now, last_sync=last).encode("utf-8")
        write_atomic(html_path, page, what="the page")
        click.echo(f"wrote {html_path}")
    elif as_json:
        _echo_json(data)
    else:
        paint = _use_color(color)
        layout = report.PlanView(
            width=_columns(),
            color=paint,
            week=week,
            own=result.inputs.own_strength,
            busy=result.inputs.busy,
        )
        text = report.plan_text(result.plan, zone, explain=explain, view=layout)
        click.echo(text, nl=False, color=paint)


# --------------------------------------------------------------------------- classify

# --------------------------------------------------------------------------- doctor


@cli.command()
@_COLOR
@click.pass_obj
def doctor(app: AppContext, color: str) -> None:
    """Test the setup: every source (fetched), the outputs, the Google token and scopes,
    the CalDAV login and calendar, the feed token file, the last sync.

    One line per check, ✓ or ✗; a ✗ is followed by how to fix it. Exits 1 when
    anything is wrong, so a script or a timer can ask.
    """
    from calsync import doctor as doc

    config = app.load_config()
    checks = doc.run_checks(config, app.now(config))
    if not print_checks(checks, color=_use_color(color)):
        raise click.exceptions.Exit(1)


# --------------------------------------------------------------------------- entry point


def _register_optional_commands() -> None:
    """Commands that live in their own modules (classify, Google auth, the state, the
    service side)."""
    from calsync import cli_classify, cli_google, cli_init, cli_service, cli_state

    cli.add_command(cli_classify.classify)
    cli.add_command(cli_google.auth)
    cli.add_command(cli_state.state)
    for cmd in (cli_service.serve, cli_service.daemon, cli_service.feed_url):
        cli.add_command(cmd)
    cli.add_command(cli_init.init)
    cli.add_command(cli_init.rules)


_register_optional_commands()


# --------------------------------------------------------------------------- global options
# --config, --now and -v are the group's options, and each command takes them too, so
# `calsync sync --config FILE` works as well as `calsync --config FILE sync` (given in
# both places, the one after the command wins). They are added to every command by
# `_add_global_options()` below, commands registered from other modules included.


def _set_config(ctx: click.Context, param: click.Parameter, value: Path | None) -> None:
    app = ctx.find_object(AppContext)  # None while completing a command line
    if value is not None and app is not None:
        app.config_path = value


def _set_now(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
    now = _parse_now(ctx, param, value)
    app = ctx.find_object(AppContext)
    if now is not None and app is not None:
        app.now_override = now


def _set_verbose(ctx: click.Context, param: click.Parameter, value: int) -> None:
    global _VERBOSE
    app = ctx.find_object(AppContext)
    if value and app is not None:
        app.verbose += value
        _VERBOSE = app.verbose
        _setup_logging(app.verbose)


def _global_options() -> list[click.Option]:
    return [
        click.Option(
            ["--config"],
            type=click.Path(dir_okay=False, path_type=Path),
            callback=_set_config,
            expose_value=False,
            help="Config file (TOML); as before the command.",
        ),
        click.Option(
            ["--now"],
            callback=_set_now,
            expose_value=False,
            metavar="ISO-8601",
            help="Plan as if it were then; as before the command.",
        ),
        click.Option(
            ["-v", "--verbose"],
            count=True,
            callback=_set_verbose,
            expose_value=False,
            help="More logging; tracebacks on errors.",
        ),
    ]


def _add_global_options(group: click.Group) -> None:
    for cmd in group.commands.values():
        if isinstance(cmd, click.Group):
            _add_global_options(cmd)
        names = {n for p in cmd.params for n in getattr(p, "opts", ())}
        if "--config" not in names:
            cmd.params.extend(_global_options())


_add_global_options(cli)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; the one place errors become messages and exit codes."""
    try:
        code = cli.main(args=list(argv) if argv is not None else None, standalone_mode=False)
        if isinstance(code, int) and code:  # click hands back a command's Exit(n) here
            return code
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        return 130
    except click.ClickException as e:
        e.show()
        return e.exit_code
    except click.exceptions.Exit as e:
        return int(e.exit_code or 0)
    except CalsyncError as e:
        if _VERBOSE:
            traceback.print_exc()
        click.echo(f"calsync: error: {e}", err=True)
        if _VERBOSE and isinstance(e, ConfigError):
            for line in e.details:
                click.echo(f"  {line}", err=True)
        return e.exit_code
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        return 130
    except Exception as e:  # a bug: say so plainly, full detail with -v
        if _VERBOSE:
            traceback.print_exc()
        else:
            click.echo(
                f"calsync: internal error: {type(e).__name__}: {e}\n"
                "(run again with --verbose for the traceback, and please report it)",
                err=True,
            )
        return 70
    return 0
