"""The fault property of the CalDAV sink, on Radicale and on Xandikos.

Any faults the proxy can inject (connections dropped before or after the server acted,
503 with Retry-After, answers slower than the timeout), in any order, during a first
sync and during a later one (after the user pinned a session, with or without a run
moved), then one clean sync: the calendar holds exactly what fault-free syncs leave,
no resource twice, one calendar, and the user's pin where they put it.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from calsync import retry
from tests.caldav_sink_support import DavServer, World, dav_server, make_world
from tests.fakes.fault_proxy import FAULTS, FaultProxy, fault_proxy

__all__ = ["dav_server"]

Sessions = dict[str, tuple[datetime, datetime]]
_REFERENCE: dict[tuple[str, bool], tuple[Sessions, Sessions]] = {}
_n = itertools.count()


@pytest.fixture(autouse=True)
def fast_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(retry, "TIME_SCALE", 0.001)


@pytest.fixture(scope="module")
def proxy(dav_server: DavServer) -> Iterator[FaultProxy]:
    # Longer than the 2 s timeout the worlds use: a "delay" is an answer too late.
    with fault_proxy(dav_server.url, delay_seconds=2.5) as p:
        yield p


def _later(ev: Any) -> None:
    ev["DTSTART"].dt += timedelta(hours=1)
    ev["DTEND"].dt += timedelta(hours=1)


def _pin_last(w: World) -> str:
    key = sorted(w.sessions())[-1]
    w.edit(key.replace("/", "-") + ".ics", _later)
    return key


def _sync(w: World, capsys: pytest.CaptureFixture[str], faults: Faults) -> None:
    w.proxy.reset()
    w.proxy.faults = list(faults.get("*", ()))
    w.proxy.method_faults = {m: list(fs) for m, fs in faults.items() if m != "*"}
    code, _out, err = w.sync(capsys)
    assert code in (0, 1), err  # a clear error at worst, never an internal one
    w.proxy.reset()
    code, _out, err = w.sync(capsys)
    assert code == 0, err


def _world(server: DavServer, proxy: FaultProxy, tmp: Any) -> World:
    return make_world(server, proxy, tmp.mktemp(f"w{next(_n)}"), timeout=2)


def reference(
    server: DavServer, proxy: FaultProxy, tmp: Any, moved: bool, capsys: Any
) -> tuple[Sessions, Sessions]:
    if (server.kind, moved) not in _REFERENCE:
        w = _world(server, proxy, tmp)
        _sync(w, capsys, {})
        first = w.sessions()
        _pin_last(w)
        if moved:
            w.move_run(3, 20)
        _sync(w, capsys, {})
        _REFERENCE[(server.kind, moved)] = (first, w.sessions())
    return _REFERENCE[(server.kind, moved)]


Faults = dict[str, list[str]]  # "*": the next requests, whatever they are; else per method
_one = st.sampled_from((*FAULTS, "", ""))
fault_lists: st.SearchStrategy[Faults] = st.fixed_dictionaries(
    {"*": st.lists(_one, max_size=8)},
    # Writes come late in a sync: faults of their own make sure they are hit too.
    optional={m: st.lists(_one, max_size=4) for m in ("PUT", "DELETE", "MKCALENDAR", "REPORT")},
).filter(lambda f: sum(fs.count("delay") for fs in f.values()) <= 2)  # each costs a timeout


@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(first_faults=fault_lists, later_faults=fault_lists, moved=st.booleans())
def test_any_faults_then_one_clean_sync_equals_a_fault_free_sync(
    dav_server: DavServer,
    proxy: FaultProxy,
    tmp_path_factory: pytest.TempPathFactory,
    capsys: pytest.CaptureFixture[str],
    first_faults: Faults,
    later_faults: Faults,
    moved: bool,
) -> None:
    want_first, want_later = reference(dav_server, proxy, tmp_path_factory, moved, capsys)
    w = _world(dav_server, proxy, tmp_path_factory)
    _sync(w, capsys, first_faults)
    assert w.sessions() == want_first
    assert w.calendars_named() == 1
    pinned = _pin_last(w)
    pin = w.sessions()[pinned]
    if moved:
        w.move_run(3, 20)
    _sync(w, capsys, later_faults)
    got = w.sessions()
    assert got == want_later
    assert got[pinned] == pin  # the user's pin is where they put it
    uids = w.uids()
    assert len(uids) == len(set(uids))  # no resource twice
    assert w.calendars_named() == 1
