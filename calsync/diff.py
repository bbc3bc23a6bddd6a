"""Desired sessions vs what a sink holds -> the actions that make the sink match.

This is the one place that decides what any sink creates, moves or deletes; the sinks
only execute the actions (`Sink.execute`), and the sync's safety checks read the same
actions the sinks will get. Pure: no I/O, no clock. The rules that keep a sync safe:
- an event calsync did not create never reaches this function (sinks filter on the marker);
- in a calendar the user can edit, what started before "now" is history: never created,
  moved or deleted (H7), and a session the user pinned (moved or edited) is kept as the
  user left it;
- a sink that is calsync's alone (the ICS file and feed, `SinkSnapshot.user_editable`
  false) mirrors the plan, whose past and pins the planner has already kept;
- an unchanged session is kept, so a second sync makes no writes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import UTC, datetime

from calsync.model import Action, ActionKind, ManagedEvent, Session, SinkSnapshot


def content_hash(session: Session) -> str:
    """A hash of everything calsync writes for a session; equal hash = nothing to update."""
    parts = (
        session.key,
        # In UTC: the same instant must hash the same whatever zone the planner used
        # (a session kept from the last plan comes back from the state file in UTC).
        session.start.astimezone(UTC).isoformat(),
        session.end.astimezone(UTC).isoformat(),
        session.title,
        session.description,
    )
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()[:32]


def diff(desired: Sequence[Session], snapshot: SinkSnapshot, now: datetime) -> list[Action]:
    """The actions, in a stable order: by key, deletes last.

    Every desired session gets an action (KEEP at least) except, in a calendar the user
    can edit, one the sink does not hold and must not create: history, or a pin.
    """
    pinned = {p.key for p in snapshot.pins}
    guarded = snapshot.user_editable
    actions: list[Action] = []
    wanted = {s.key: s for s in desired}
    for key in sorted(wanted):
        s = wanted[key]
        have = snapshot.managed.get(key)
        if have is None:
            if guarded and (s.start < now or s.pinned):
                # History we never wrote (or a pin the sink no longer holds): not ours to
                # create after the fact.
                continue
            actions.append(Action(ActionKind.CREATE, key, s, reason=_why_create(s, now)))
            continue
        held = (have.remote_id, have.etag)
        keep = _why_keep(key, s, have, pinned, now) if guarded else None
        if keep is not None:
            actions.append(Action(ActionKind.KEEP, key, s, *held, reason=keep))
        elif (have.start, have.end) != (s.start, s.end):
            actions.append(Action(ActionKind.UPDATE, key, s, *held, reason="moved"))
        elif have.content_hash != content_hash(s):
            actions.append(Action(ActionKind.UPDATE, key, s, *held, reason="text changed"))
        else:
            actions.append(Action(ActionKind.KEEP, key, s, *held, reason="unchanged"))
    for key in sorted(set(snapshot.managed) - set(wanted)):
        have = snapshot.managed[key]
        if have.start < now or key in pinned:
            continue  # the past is history; a pin is the user's
        reason = "no longer in the plan"
        actions.append(Action(ActionKind.DELETE, key, None, have.remote_id, have.etag, reason))
    return actions


def _why_create(s: Session, now: datetime) -> str:
    if s.start < now:
        return "history the sink lacks"
    return "pinned in another calendar" if s.pinned else "new session"


def _why_keep(
    key: str, s: Session, have: ManagedEvent, pinned: set[str], now: datetime
) -> str | None:
    """Why an event the user can edit stays as it is whatever the plan says; None if
    nothing holds it."""
    if key in pinned:
        return "pinned: the user moved or edited it"
    if s.pinned:
        return "pinned in the plan"
    if have.start < now or s.start < now:
        return "history: started before now"
    return None
