"""The diff: what a sink must do to match the plan, and what it must never do."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from calsync.diff import content_hash, diff
from calsync.model import ActionKind, Phase, PriorSession, Session
from calsync.sinks.base import ManagedEvent, SinkSnapshot

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def session(key: str, hours_from_now: float, **kw: object) -> Session:
    start = NOW + timedelta(hours=hours_from_now)
    base = Session(
        key=key,
        start=start,
        end=start + timedelta(minutes=45),
        title="Strength A",
        phase=Phase.BUILD,
        reason="after Tuesday's intervals",
        description="squats",
    )
    return dataclasses.replace(base, **kw)  # type: ignore[arg-type]


def held(s: Session, **kw: object) -> ManagedEvent:
    m = ManagedEvent(s.key, s.start, s.end, content_hash(s), remote_id="id-" + s.key, etag="e1")
    return dataclasses.replace(m, **kw)  # type: ignore[arg-type]


def kinds(actions: list) -> dict[str, ActionKind]:  # type: ignore[type-arg]
    return {a.key: a.kind for a in actions}


def test_new_sessions_are_created_and_unchanged_ones_kept() -> None:
    a, b = session("w/1", 10), session("w/2", 60)
    acts = diff([a, b], SinkSnapshot(managed={"w/1": held(a)}), NOW)
    assert kinds(acts) == {"w/1": ActionKind.KEEP, "w/2": ActionKind.CREATE}
    keep = next(x for x in acts if x.key == "w/1")
    assert keep.remote_id == "id-w/1" and keep.etag == "e1"


def test_moved_or_reworded_session_is_updated() -> None:
    a = session("w/1", 10)
    moved = dataclasses.replace(
        a, start=a.start + timedelta(hours=2), end=a.end + timedelta(hours=2)
    )
    reworded = dataclasses.replace(a, description="lunges")
    snap = SinkSnapshot(managed={"w/1": held(a)})
    assert kinds(diff([moved], snap, NOW)) == {"w/1": ActionKind.UPDATE}
    assert kinds(diff([reworded], snap, NOW)) == {"w/1": ActionKind.UPDATE}


def test_sessions_no_longer_planned_are_deleted_but_never_the_past() -> None:
    future, past = session("w/1", 10), session("v/2", -30)
    snap = SinkSnapshot(managed={"w/1": held(future), "v/2": held(past)})
    assert kinds(diff([], snap, NOW)) == {"w/1": ActionKind.DELETE}


def test_a_session_in_progress_is_history() -> None:
    running = session("w/1", -0.25)
    moved = dataclasses.replace(running, start=running.start + timedelta(hours=3))
    acts = diff([moved], SinkSnapshot(managed={"w/1": held(running)}), NOW)
    assert kinds(acts) == {"w/1": ActionKind.KEEP}


def test_pins_are_never_overwritten_or_deleted() -> None:
    a = session("w/1", 10)
    user_moved = held(a, start=a.start + timedelta(hours=1), content_hash="what-we-wrote")
    pin = PriorSession("w/1", user_moved.start, user_moved.end, pinned=True)
    snap = SinkSnapshot(managed={"w/1": user_moved}, pins=[pin])
    assert kinds(diff([a], snap, NOW)) == {"w/1": ActionKind.KEEP}
    assert kinds(diff([], snap, NOW)) == {}


def test_past_sessions_are_not_created_after_the_fact() -> None:
    assert diff([session("v/1", -5, past=True)], SinkSnapshot(), NOW) == []


def test_every_action_says_why() -> None:
    a, b, c = session("w/1", 10), session("w/2", 60), session("w/3", 80)
    gone = session("w/4", 90)
    moved = dataclasses.replace(b, start=b.start + timedelta(hours=1))
    snap = SinkSnapshot(managed={"w/1": held(a), "w/2": held(b), "w/4": held(gone)})
    reasons = {x.key: (x.kind, x.reason) for x in diff([a, moved, c], snap, NOW)}
    assert reasons == {
        "w/1": (ActionKind.KEEP, "unchanged"),
        "w/2": (ActionKind.UPDATE, "moved"),
        "w/3": (ActionKind.CREATE, "new session"),
        "w/4": (ActionKind.DELETE, "no longer in the plan"),
    }


def test_a_sink_only_calsync_writes_mirrors_the_plan_past_and_pins_included() -> None:
    """The ICS file: nobody edits it, so it shows the plan's sessions as the plan has them
    (a pin another calendar reported, history the file lacks), and never keeps one of its
    own events against the plan."""
    past = session("v/1", -5, past=True)
    pin_elsewhere = session("w/1", 10, pinned=True)
    was = session("w/1", 7)
    mirror = SinkSnapshot(managed={"w/1": held(was)}, user_editable=False)
    assert kinds(diff([past, pin_elsewhere], mirror, NOW)) == {
        "v/1": ActionKind.CREATE,
        "w/1": ActionKind.UPDATE,
    }
    # The same facts in a calendar the user edits: nothing is written.
    editable = dataclasses.replace(mirror, user_editable=True)
    assert kinds(diff([past, pin_elsewhere], editable, NOW)) == {"w/1": ActionKind.KEEP}
    # Either way the past is never deleted.
    old = SinkSnapshot(managed={"v/1": held(past)}, user_editable=False)
    assert diff([], old, NOW) == []


keys = st.sampled_from([f"2026-11-{d:02d}/{s}" for d in (23, 30) for s in (1, 2, 3)])
hours = st.integers(min_value=-100, max_value=300)


@st.composite
def scenario(draw: st.DrawFn) -> tuple[list[Session], SinkSnapshot]:
    desired = {k: session(k, draw(hours)) for k in draw(st.sets(keys, max_size=5))}
    managed = {}
    for k in draw(st.sets(keys, max_size=5)):
        s = desired.get(k) or session(k, draw(hours))
        if draw(st.booleans()):
            s = dataclasses.replace(s, start=s.start + timedelta(hours=draw(hours)))
        managed[k] = held(s)
    pins = [
        PriorSession(k, managed[k].start, managed[k].end, True)
        for k in managed
        if draw(st.booleans()) and draw(st.booleans())
    ]
    return list(desired.values()), SinkSnapshot(managed=managed, pins=pins)


@settings(max_examples=200, deadline=None)
@given(scenario())
def test_never_touches_past_or_pins_and_converges(case: tuple[list[Session], SinkSnapshot]) -> None:
    desired, snap = case
    acts = diff(desired, snap, NOW)
    pinned = {p.key for p in snap.pins}
    assert len({a.key for a in acts}) == len(acts)  # one action per key
    for a in acts:
        if a.kind in (ActionKind.UPDATE, ActionKind.DELETE):
            assert snap.managed[a.key].start >= NOW
            assert a.key not in pinned
        if a.kind is ActionKind.CREATE:
            assert a.session is not None and a.session.start >= NOW
            assert a.key not in snap.managed
    # Apply the actions to the snapshot: diffing again must find nothing to do.
    after = dict(snap.managed)
    for a in acts:
        if a.kind is ActionKind.DELETE:
            del after[a.key]
        elif a.kind in (ActionKind.CREATE, ActionKind.UPDATE):
            assert a.session is not None
            after[a.key] = held(a.session)
    again = diff(desired, dataclasses.replace(snap, managed=after), NOW)
    assert all(a.kind is ActionKind.KEEP for a in again), again
