"""`calsync classify`: how every event is read, and why; `--review` and `--set` save the
user's answers in the config's [classify]. Registered on the main group by `calsync.cli`.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import click

from calsync.cli_context import AppContext, _echo_json, _parse_day
from calsync.config import Config, SourceSettings, default_config, default_config_path
from calsync.errors import CalsyncError
from calsync.model import Role

if TYPE_CHECKING:
    from calsync.classify_review import Answer


@click.command()
@click.argument("sources", nargs=-1, metavar="[SOURCE]...")
@click.option("--from", "from_", callback=_parse_day, metavar="DATE", help="First day.")
@click.option("--to", "to", callback=_parse_day, metavar="DATE", help="Last day (inclusive).")
@click.option("--json", "as_json", is_flag=True, help="One object per event (see README).")
@click.option(
    "--review",
    is_flag=True,
    help="Answer for the events the classifier is unsure of; saved in the config's [classify].",
)
@click.option(
    "--set",
    "set_",
    multiple=True,
    metavar="PATTERN=KIND",
    help="Save a [classify] pattern (KIND: hard, easy, race, norun, strength); repeatable.",
)
@click.pass_obj
def classify(
    app: AppContext,
    sources: Sequence[str],
    from_: date | None,
    to: date | None,
    as_json: bool,
    review: bool,
    set_: Sequence[str],
) -> None:
    """Show how every event is read: run or not, hard/easy/race, and why.

    SOURCE is an ICS path or URL and replaces the config's sources, so this works with
    no config at all. Default window: the planning window.

    \b
    Examples:
      calsync classify plan.ics
      calsync classify https://example.com/plan.ics --from 2026-01-01 --to 2026-03-31
      calsync classify --json | jq '.[] | select(.intensity == "hard")'
      calsync classify --review
      calsync classify --set "Thursday Social=hard"
    """
    from calsync import report
    from calsync.sync import build_sources, read_events, read_window, sort_inputs

    if set_:
        _save_answers(app, [_parse_set(v) for v in set_])
        return

    if sources:
        base = _config_or_default(app)
        config = _with_sources(base, sources)
    else:
        config = app.load_config()
    zone = config.schedule.zone
    now = app.now(config)
    start, end = read_window(config, now)
    if from_ is not None:
        start = datetime.combine(from_, time(0), zone)
    if to is not None:
        end = datetime.combine(to + timedelta(days=1), time(0), zone)
    if end <= start:
        # Only one of them may be given: name the other end as what it is.
        first = "--from" if from_ is not None else f"the default start ({start.date()})"
        last = "--to" if to is not None else f"the default end ({end.date()})"
        raise click.BadParameter(f"{last} is before {first}")
    per_source = read_events(build_sources(config), (start, end), None)
    inputs = sort_inputs(per_source, config)
    items = [(c.event, c.verdict) for c in inputs.classified]
    if review:
        from calsync import classify_review

        _save_answers(app, classify_review.review(items, _ask, click.echo))
        return
    last_day = (end - timedelta(days=1)).date()
    window = f"{start.date()} to {last_day} ({zone.key})"
    if as_json:
        _echo_json([report.verdict_json(e, v, zone) for e, v in items])
    elif items:
        click.echo(f"Events from {window}:")
        click.echo(report.verdicts_text(items, zone), nl=False)
    if not items:
        # Nothing to show is a finding, not a success: exit 1 (like grep finding nothing),
        # so a script or a timer notices an empty export; the message says where the
        # events are and how to ask for them.
        for line in _empty_window_lines(config, window):
            click.echo(line, err=True)
        raise click.exceptions.Exit(1)


def _empty_window_lines(config: Config, window: str) -> list[str]:
    """Why classify found nothing: each source's own date range, and the --from/--to
    that would cover it."""
    from calsync.sources.ics_fetch import fetch
    from calsync.sources.ics_range import span_of

    lines = [f"calsync: no event falls in the window {window}."]
    for s in config.sources:
        if s.type != "ics" or s.role is not Role.RUNS:
            continue
        try:
            span = span_of(fetch(s))
        except CalsyncError:
            continue  # the read above worked; a second failure says nothing new
        if span is None:
            lines.append(f"  {s.label}: no dated event at all")
            continue
        if span.calsync_own and span.calsync_own >= span.events:
            lines.append(
                f"  {s.label}: holds only calsync's own sessions (X-CALSYNC-KEY), "
                "which are never read as your runs"
            )
            continue
        more = " (and events that repeat with no end)" if span.repeats_forever else ""
        lines.append(f"  {s.label}: events from {span.first} to {span.last}{more}")
        lines.append(f"  try: calsync classify --from {span.first} --to {span.last}")
    return lines


def _parse_set(value: str) -> Answer:
    from calsync import classify_review

    try:
        return classify_review.parse_set(value)
    except ValueError as e:
        raise click.BadParameter(str(e), param_hint="--set") from None


def _ask(prompt: str) -> str | None:
    """One line from stdin (None at its end), the prompt shown on stdout."""
    click.echo(prompt, nl=False)
    line = sys.stdin.readline()
    if not line:
        click.echo()
    return line or None


def _save_answers(app: AppContext, answers: Sequence[Answer]) -> None:
    from calsync import classify_review

    path = app.config_path or default_config_path()
    n = classify_review.save(path, answers)
    if answers:
        click.echo(f"saved {n} pattern(s) to [classify] in {path}; the next plan uses them")


def _config_or_default(app: AppContext) -> Config:
    explicit = app.config_path is not None
    if explicit or default_config_path().exists():
        return app.load_config()
    return default_config()


def _with_sources(config: Config, sources: Sequence[str]) -> Config:
    import dataclasses

    srcs = []
    for s in sources:
        url = s
        if "://" not in s:
            # absolute(), not resolve(): /dev/fd/63 from `<(curl ...)` must stay readable.
            url = str(Path(s).expanduser().absolute())
        # A URL names itself, redacted (it may carry a token); a path as it was typed.
        name = s if "://" not in s else ""
        srcs.append(SourceSettings(type="ics", role=Role.RUNS, url=url, name=name))
    return dataclasses.replace(config, sources=tuple(srcs))
