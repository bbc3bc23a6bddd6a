"""Desired sessions vs what a sink holds -> the actions that make the sink match.

Pure: no I/O, no clock. The rules that keep a sync safe live here, in one place:
- an event calsync did not create never reaches this function (sinks filter on the marker);
- what started before "now" is history: never created, moved or deleted (H7);
- a session the user pinned (moved or edited) is kept as the user left it;
- an unchanged session is kept, so a second sync makes no writes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import UTC, datetime

from calsync.model import Action, ActionKind, Session, SinkSnapshot


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
    """The actions, in a stable order: by key, deletes last."""
    pinned = {p.key for p in snapshot.pins}
    actions: list[Action] = []
    wanted = {s.key: s for s in desired}
    for key in sorted(wanted):
        s = wanted[key]
        have = snapshot.managed.get(key)
        if have is None:
            if s.start < now or s.pinned:
                # History we never wrote (or a pin the sink no longer holds): not ours to
                # create after the fact.
                continue
            actions.append(Action(ActionKind.CREATE, key, s))
        elif key in pinned or s.pinned or have.start < now or s.start < now:
            actions.append(Action(ActionKind.KEEP, key, s, have.remote_id, have.etag))
        elif have.content_hash != content_hash(s) or (have.start, have.end) != (s.start, s.end):
            actions.append(Action(ActionKind.UPDATE, key, s, have.remote_id, have.etag))
        else:
            actions.append(Action(ActionKind.KEEP, key, s, have.remote_id, have.etag))
    for key in sorted(set(snapshot.managed) - set(wanted)):
        have = snapshot.managed[key]
        if have.start < now or key in pinned:
            continue  # the past is history; a pin is the user's
        actions.append(Action(ActionKind.DELETE, key, None, have.remote_id, have.etag))
    return actions
