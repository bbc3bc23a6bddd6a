"""One sync, start to end: read sources, classify, plan, write to every sink.

The order follows the vdirsyncer shape: load everything first, decide with pure
functions (classify, plan, diff), then act. All state writes of a sync happen in one
transaction of the state store, committed only after every sink has been written, so a
crash at any point leaves the previous state, and the next sync repairs what a sink got
half of (deterministic keys and ids make every write idempotent). Files that show the
state (the ICS output) are the exception that runs the other way: staged during the
sync, put in place only after the COMMIT (`StateTx.after_commit`), so they never show a
state that was not committed, and a file left behind by a crash is rewritten from the
state on the next start.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

from calsync import extras, state_guard, workouts
from calsync.classify_context import classify_all, for_planning
from calsync.config import Config, SourceSettings
from calsync.diff import diff
from calsync.errors import (
    DiskFullError,
    LockedError,
    SafetyError,
    SourceError,
    StateDamagedError,
)
from calsync.model import (
    HISTORY_DAYS,
    Action,
    ActionKind,
    Event,
    Interval,
    ManagedEvent,
    Phase,
    Plan,
    PriorSession,
    Role,
    Run,
    Session,
    SessionText,
    Verdict,
)
from calsync.planner import make_run, plan
from calsync.sinks.base import Sink, SinkReport, SinkSnapshot
from calsync.sources.base import Source
from calsync.state import StateStore, StateTx, StateView, SyncRecord

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Classified:
    event: Event
    verdict: Verdict


@dataclass(frozen=True, slots=True)
class Inputs:
    """What the sources said, sorted into what the planner takes."""

    classified: tuple[Classified, ...]
    runs: tuple[Run, ...]
    busy: tuple[Interval, ...]
    own_strength: tuple[Interval, ...]


@dataclass(slots=True)
class SyncResult:
    plan: Plan
    inputs: Inputs
    reports: list[SinkReport] = field(default_factory=list)
    dry_run: bool = False
    # Per sink, beside `reports`: the actions it was given and what it held before, and
    # the titles the last sync wrote, so the CLI can say "Thu 19:15 → Fri 18:00".
    actions: list[list[Action]] = field(default_factory=list)
    before: list[Mapping[str, ManagedEvent]] = field(default_factory=list)
    old_titles: dict[str, str] = field(default_factory=dict)


# --------------------------------------------------------------------------- building blocks


def build_source(settings: SourceSettings, config: Config) -> Source:
    extras.check_source(config, settings.type)
    if settings.type == "ics":
        from calsync.sources.ics import IcsSource

        return IcsSource(settings, config)
    if settings.type == "google":
        from calsync.sources.google import GoogleSource

        return GoogleSource(settings, config)
    if settings.type == "caldav":
        from calsync.sources.caldav import CaldavSource

        return CaldavSource(settings, config)
    raise SourceError(f"unknown source type {settings.type!r}")


def build_sources(config: Config) -> list[Source]:
    extras.check(config)
    return [build_source(s, config) for s in config.sources]


def build_sinks(config: Config) -> list[Sink]:
    """The sinks, remote ones first.

    The ICS sink always runs (it also renders the feed documents the server serves) and
    runs last: a remote sink that fails stops the sync before the file is replaced, so
    the file and the feed never show a plan the state did not commit.
    """
    from calsync.sinks.ics import IcsSink

    extras.check(config)
    sinks: list[Sink] = []
    if config.output_google is not None:
        from calsync.sinks.google import GoogleSink

        sinks.append(GoogleSink(config))
    if config.output_caldav is not None:
        from calsync.sinks.caldav import CaldavSink

        sinks.append(CaldavSink(config))
    sinks.append(IcsSink(config))
    return sinks


def read_window(config: Config, now: datetime) -> tuple[datetime, datetime]:
    """The span of source events planning needs.

    Back to the start of the current week (its runs decide its phase, its sessions its
    count) plus the spacing rules' reach; forward past the horizon by the taper window and
    the longest "before" rule, since a race just beyond the horizon still tapers inside it.
    """
    zone = config.schedule.zone
    local_now = now.astimezone(zone)
    days_into_week = (local_now.weekday() - config.rules.week_start) % 7
    back = timedelta(days=days_into_week + 3)
    rules = config.rules
    reach = max(rules.min_hours_before_race, rules.min_hours_before_hard, 48.0)
    forward = timedelta(days=config.schedule.horizon_days + rules.taper_days + 1, hours=reach)
    return now - back, now + forward


def read_events(
    sources: Sequence[Source], window: tuple[datetime, datetime], tx: StateView | None
) -> list[tuple[Source, list[Event]]]:
    out = []
    for src in sources:
        events = src.read(window, tx if isinstance(tx, StateTx) else None)
        log.info("read %d events from %s", len(events), src.label)
        out.append((src, events))
    return out


def sort_inputs(per_source: Sequence[tuple[Source, Sequence[Event]]], config: Config) -> Inputs:
    """Classify the runs sources' events; everything else that is opaque is busy time."""
    zone = config.schedule.zone
    classified: list[Classified] = []
    runs: list[Run] = []
    busy: list[Interval] = []
    strength: list[Interval] = []
    for src, events in per_source:
        mine = [ev for ev in events if ev.calsync_key is None]  # ours, read back: not input
        if src.role is Role.BUSY:
            busy.extend(Interval(ev.start, ev.end, ev.summary or "busy") for ev in mine if ev.busy)
            continue
        # The source's events read together: the calendar is context for each of them.
        for ev, judged in zip(mine, classify_all(mine, config.classify), strict=True):
            classified.append(Classified(ev, judged))
            # What stays unsure is planned on the safe side (RULES.md, "Unsure events").
            verdict = for_planning(ev, judged)
            if verdict.is_run:
                runs.append(make_run(ev, verdict, config.rules, zone))
            if verdict.strength:
                # The user's own strength session ("Easy 40 min + Gym A" is both): it counts
                # for spacing, timed like an all-day run would be.
                r = make_run(ev, verdict, config.rules, zone)
                strength.append(Interval(r.start, r.end, ev.summary))
            elif not verdict.is_run and ev.busy and not ev.all_day:
                busy.append(Interval(ev.start, ev.end, ev.summary or "busy"))
    runs.sort(key=lambda r: (r.start, r.end, r.summary))
    busy.sort(key=lambda b: (b.start, b.end, b.label))
    strength.sort(key=lambda b: (b.start, b.end, b.label))
    classified.sort(key=lambda c: (c.event.start, c.event.uid or "", c.event.summary))
    return Inputs(tuple(classified), tuple(runs), tuple(busy), tuple(strength))


def recent(
    planned: Sequence[PriorSession], window: tuple[datetime, datetime]
) -> list[PriorSession]:
    """The last plan's sessions worth keeping: those that ended at most `HISTORY_DAYS`
    before the read window.

    History older than the window can no longer affect a rule, but it stays in the
    written calendar for a while (a subscribed calendar drops what the feed drops);
    beyond that it is let go, so the state does not grow forever.
    """
    cutoff = window[0] - timedelta(days=HISTORY_DAYS)
    return [p for p in planned if p.end >= cutoff]


def merge_previous(
    planned: Sequence[PriorSession], snapshots: Sequence[SinkSnapshot]
) -> tuple[list[PriorSession], list[PriorSession]]:
    """The planner's `previous` (last plan, with the sinks' pins laid over) and `skipped`."""
    by_key = {p.key: p for p in planned}
    for snap in snapshots:
        for pin in snap.pins:
            by_key[pin.key] = dataclasses.replace(pin, pinned=True)
    skipped: dict[str, PriorSession] = {}
    for snap in snapshots:
        for gone in snap.deleted_by_user:
            skipped[gone.key] = gone
            by_key.pop(gone.key, None)
    previous = sorted(by_key.values(), key=lambda p: (p.start, p.key))
    return previous, sorted(skipped.values(), key=lambda p: (p.start, p.key))


def make_plan(
    config: Config,
    now: datetime,
    inputs: Inputs,
    previous: Sequence[PriorSession] = (),
    skipped: Sequence[PriorSession] = (),
    texts: Mapping[str, SessionText] | None = None,
) -> Plan:
    """Plan, then fill every session with its workout, title and description.

    A session that is history, pinned, or frozen (inside `freeze_hours`) keeps the words
    the last sync wrote for it (`texts`): its event must not change just because the
    planner now explains it as "kept".
    """
    p = plan(
        runs=inputs.runs,
        busy=inputs.busy,
        own_strength=inputs.own_strength,
        previous=previous,
        schedule=config.schedule,
        rules=config.rules,
        now=now,
        skipped=skipped,
    )
    filled = []
    rules = config.rules
    freeze = timedelta(hours=rules.freeze_hours)
    per_week = _sessions_per_week(p, config, now)
    for s in p.sessions:
        w = workouts.workout_for(
            s, config.workout, config.schedule.session_minutes, per_week=per_week(s)
        )
        s = dataclasses.replace(s, workout=w, title=workouts.title_for(s, w))
        s = dataclasses.replace(s, description=workouts.describe(s, w))
        old = (texts or {}).get(s.key)
        settled = s.past or s.pinned or s.start < now + freeze
        if old is not None and settled and old.same_time(s):
            s = dataclasses.replace(s, title=old.title, description=old.description)
        filled.append(s)
    return dataclasses.replace(p, sessions=tuple(filled))


def _sessions_per_week(p: Plan, config: Config, now: datetime) -> Callable[[Session], int]:
    """How many sessions a session's week holds, for the A/B alternation.

    The count the plan placed, so that weeks where only one session fits still alternate
    A | B | A instead of repeating A; for a week the horizon cuts (its last days are
    planned by a later sync) the week's target, so its first session does not change
    template when the rest of the week is filled in.
    """
    rules = config.rules
    placed: dict[str, int] = {}
    for s in p.sessions:
        week = s.key.partition("/")[0]
        placed[week] = placed.get(week, 0) + 1
    horizon_end = (now + timedelta(days=config.schedule.horizon_days)).astimezone(
        config.schedule.zone
    )

    def count(s: Session) -> int:
        week = s.key.partition("/")[0]
        target = (
            rules.taper_sessions_per_week if s.phase is Phase.TAPER else rules.sessions_per_week
        )
        try:
            cut = date.fromisoformat(week) + timedelta(days=7) > horizon_end.date()
        except ValueError:
            cut = True
        return max(target if cut else placed.get(week, 1), 1)

    return count


def load_skipped(view: StateView) -> list[PriorSession]:
    """The sessions the user deleted from a sink, as the last sync found them."""
    return view.skipped()


def save_skipped(tx: StateTx, skipped: Sequence[PriorSession]) -> None:
    tx.set_skipped(skipped)


def load_texts(view: StateView) -> dict[str, SessionText]:
    return view.session_texts()


def save_texts(tx: StateTx, sessions: Sequence[Session]) -> None:
    tx.set_session_texts(
        {s.key: SessionText(s.start, s.end, s.title, s.description) for s in sessions}
    )


# --------------------------------------------------------------------------- the commands


def compute(config: Config, now: datetime, store: StateStore | None = None) -> SyncResult:
    """Read and plan without writing anything (for `calsync plan`)."""
    window = read_window(config, now)
    per_source = read_events(build_sources(config), window, None)
    inputs = sort_inputs(per_source, config)
    previous: list[PriorSession] = []
    skipped: list[PriorSession] = []
    texts: dict[str, SessionText] = {}
    if store is not None:
        # What the last sync learnt from the sinks (pins are in `planned`; deletions the
        # user made are kept apart), so `plan` shows the plan `sync` writes.
        with store.reader() as view:
            previous = recent(view.planned(), window)
            skipped = recent(load_skipped(view), window)
            texts = load_texts(view)
    the_plan = make_plan(config, now, inputs, previous, skipped, texts=texts)
    return SyncResult(plan=the_plan, inputs=inputs, dry_run=True)


def run_sync(
    config: Config,
    now: datetime,
    *,
    dry_run: bool = False,
    force: bool = False,
    new_state: bool = False,
    wait_seconds: float = 10.0,
    sources: Sequence[Source] | None = None,
    sinks: Sequence[Sink] | None = None,
) -> SyncResult:
    """Read, plan and write every sink; one state transaction for the whole sync; then
    keep the committed state as `<state>.bak` (calsync/state_guard.py).

    A state with no history while the ICS output holds calsync's sessions is refused
    unless `new_state` (the runner starts afresh on purpose).
    `sources` and `sinks` replace the ones the config names (the in-memory backends of
    the tests and the contract suite use this).
    """
    if sources is None and not config.sources:
        raise SourceError("no [[source]] in the configuration: nothing to read runs from")
    extras.check(config)  # before the state file is made or touched
    store = StateStore(config.state_path)
    try:
        try:
            with store.writer(wait_seconds=wait_seconds, dry_run=dry_run) as tx:
                if not new_state:
                    output = config.output_ics.path if config.output_ics is not None else None
                    state_guard.refuse_lost(tx, store.path, output)
                result = _sync_in(
                    tx,
                    config,
                    now,
                    build_sources(config) if sources is None else sources,
                    build_sinks(config) if sinks is None else sinks,
                    dry_run=dry_run,
                    force=force,
                )
        except (LockedError, StateDamagedError):
            raise  # nothing to record: another calsync's, or the state cannot take it
        except Exception as e:
            # The sync's transaction has rolled back (or committed, and putting a file in
            # place after it failed: the next start rewrites it); record the failure in one
            # of its own
            # so `calsync serve`'s /healthz and `calsync doctor` can tell.
            # (Not when the state's own disk is full: the record would fail the same way.)
            beside_state = isinstance(e, DiskFullError) and Path(e.path).parent == store.path.parent
            if not dry_run and not beside_state:
                _record_failure(store, now, e, wait_seconds)
            raise
        if not dry_run:
            # After COMMIT and the files: the last good state, for `calsync state restore`.
            state_guard.backup(store.path, wait_seconds=wait_seconds)
        return result
    finally:
        store.close()


def _record_failure(store: StateStore, now: datetime, e: Exception, wait: float) -> None:
    try:
        with store.writer(wait_seconds=wait) as tx:
            tx.record_sync(SyncRecord(at=now, ok=False, message=str(e).splitlines()[0][:300]))
    except Exception as again:  # the original error matters more than this bookkeeping
        # One line (the error the user gets says what went wrong); the detail with -v.
        log.warning(
            "could not record the failed sync in the state file: %s", str(again).splitlines()[0]
        )
        log.debug("recording the failed sync", exc_info=True)


def _sync_in(
    tx: StateTx,
    config: Config,
    now: datetime,
    sources: Sequence[Source],
    sinks: Sequence[Sink],
    *,
    dry_run: bool,
    force: bool,
) -> SyncResult:
    window = read_window(config, now)
    per_source = read_events(sources, window, tx)
    inputs = sort_inputs(per_source, config)
    snapshots = [sink.snapshot(tx, window) for sink in sinks]
    previous, skipped = merge_previous(recent(tx.planned(), window), snapshots)
    texts = load_texts(tx)
    the_plan = make_plan(config, now, inputs, previous, skipped, texts=texts)
    # Decide once: the actions each sink gets are the ones the guard checks.
    actions = [diff(the_plan.sessions, snap, now) for snap in snapshots]
    if not force:
        _refuse_mass_deletion(inputs, snapshots, actions, now)
    result = SyncResult(
        plan=the_plan,
        inputs=inputs,
        dry_run=dry_run,
        actions=[list(a) for a in actions],
        before=[snap.managed for snap in snapshots],
        old_titles={k: t.title for k, t in texts.items()},
    )
    for sink, todo in zip(sinks, actions, strict=True):
        result.reports.append(sink.execute(todo, tx, now, dry_run=dry_run))
    if not dry_run:
        _store_plan_doc(tx, config, the_plan, inputs, now)
        tx.set_planned([PriorSession(s.key, s.start, s.end, s.pinned) for s in the_plan.sessions])
        save_texts(tx, the_plan.sessions)
        save_skipped(tx, skipped)
        c = sum(len(r.created) for r in result.reports)
        u = sum(len(r.updated) for r in result.reports)
        d = sum(len(r.deleted) for r in result.reports)
        tx.record_sync(SyncRecord(at=now, ok=True, message="ok", created=c, updated=u, deleted=d))
    return result


def _store_plan_doc(
    tx: StateTx, config: Config, the_plan: Plan, inputs: Inputs, now: datetime
) -> None:
    """The plan as `calsync plan --json` prints it, for the feed server's page and JSON.

    The server renders the week view from this document and never plans by itself.
    """
    from calsync import report
    from calsync.ics_write import feed_etag
    from calsync.page import PLAN_DOC
    from calsync.state import FeedDoc

    data = report.plan_json(
        the_plan, config.schedule.zone, busy=inputs.busy, own_strength=inputs.own_strength
    )
    body = (json.dumps(data, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
    old = tx.feed(PLAN_DOC)
    if old is None or old.body != body:
        tx.put_feed(FeedDoc(PLAN_DOC, body, feed_etag(body), now))


def _refuse_mass_deletion(
    inputs: Inputs,
    snapshots: Sequence[SinkSnapshot],
    actions: Sequence[Sequence[Action]],
    now: datetime,
) -> None:
    """Stop when the sources went quiet and the sync would wipe every future session.

    A feed that suddenly serves an empty window is far more often a broken export than a
    runner who stopped running; the user confirms with --force.
    """
    if inputs.runs:
        return
    for snap, todo in zip(snapshots, actions, strict=True):
        future = [m for m in snap.managed.values() if m.start >= now]
        if len(future) < 2:
            continue
        deletes = sum(1 for a in todo if a.kind is ActionKind.DELETE)
        if deletes == len(future):
            raise SafetyError(
                f"the sources hold no runs any more, and this sync would delete all "
                f"{deletes} upcoming strength sessions",
                hint="if the training plan really ended, run `calsync sync --force`",
            )
