"""The in-memory sink and source on the contract suites (tests/contracts.py)."""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest

from calsync.model import Event
from calsync.sinks.memory import MemoryCalendar, MemorySink
from calsync.sources.memory import MemorySource
from calsync.state import StateStore
from tests.contracts import EditableSinkContract, Held, SourceContract, Spec


@dataclasses.dataclass
class MemorySinkBackend:
    store: StateStore
    calendar: MemoryCalendar = dataclasses.field(default_factory=MemoryCalendar)

    def make_sink(self) -> MemorySink:
        return MemorySink(self.calendar)

    def held(self) -> dict[str, Held]:
        return {k: Held(e.start, e.end, e.title) for k, e in self.calendar.sessions().items()}

    @contextlib.contextmanager
    def failing(self) -> Iterator[None]:
        self.calendar.fail_after = 1
        try:
            yield
        finally:
            self.calendar.fail_after = None

    def user_moves(self, key: str, hours: float) -> None:
        self.calendar.user_move(key, timedelta(hours=hours))

    def user_deletes(self, key: str) -> None:
        self.calendar.user_delete(key)

    def user_adds(self, title: str, start: datetime, end: datetime) -> str:
        return self.calendar.user_add(title, start, end).uid

    def foreign(self) -> dict[str, Any]:
        return {uid: ev for uid, ev in self.calendar.events.items() if ev.key is None}


class TestMemorySink(EditableSinkContract):
    @pytest.fixture
    def sink_backend(self, tmp_path: Path) -> MemorySinkBackend:  # type: ignore[override]
        return MemorySinkBackend(StateStore(tmp_path / "state.sqlite3"))


@dataclasses.dataclass
class MemorySourceBackend:
    store: StateStore
    source: MemorySource = dataclasses.field(default_factory=MemorySource)

    def put(self, specs: Sequence[Spec]) -> None:
        self.source.events = [_event(s) for s in specs]

    def make_source(self) -> MemorySource:
        return self.source

    def fingerprint(self) -> Any:
        return list(self.source.events)

    @contextlib.contextmanager
    def broken(self) -> Iterator[None]:
        self.source.broken = "connection refused"
        try:
            yield
        finally:
            self.source.broken = None


def _event(s: Spec) -> Event:
    start, end = s.start, s.end
    if s.all_day:
        start = datetime.combine(s.start.date(), time(), UTC)
        end = start + timedelta(days=1)
    return Event(s.uid, s.summary, start, end, all_day=s.all_day, calsync_key=s.ours)


class TestMemorySource(SourceContract):
    @pytest.fixture
    def source_backend(self, tmp_path: Path) -> MemorySourceBackend:  # type: ignore[override]
        return MemorySourceBackend(StateStore(tmp_path / "state.sqlite3"))
