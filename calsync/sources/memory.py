"""A source whose events are held in memory: the smallest complete source.

In the package (not in tests/) for the same reasons as `calsync.sinks.memory`: it is the
reference the source contract (tests/contracts.py) runs on first, it is type-checked with
the rest of calsync, and it lets the whole-sync state machine skip files and HTTP. Not
selectable from a config file: `run_sync(..., sources=[MemorySource(...)])` uses it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING

from calsync.errors import SourceError
from calsync.model import Event, Role

if TYPE_CHECKING:
    from calsync.state import StateTx


class MemorySource:
    def __init__(
        self, events: Iterable[Event] = (), *, label: str = "memory", role: Role = Role.RUNS
    ) -> None:
        self.label = label
        self.role = role
        self.events: list[Event] = list(events)
        self.broken: str | None = None  # set to a reason: every read fails with it
        self.reads = 0

    def read(self, window: tuple[datetime, datetime], tx: StateTx | None = None) -> list[Event]:
        """The events overlapping the window, in a stable order, each labelled with
        this source."""
        if self.broken is not None:
            raise SourceError(f"{self.label}: cannot read the calendar: {self.broken}")
        self.reads += 1
        inside = [e for e in self.events if e.end > window[0] and e.start < window[1]]
        inside.sort(key=lambda e: (e.start, e.end, e.uid or "", e.summary))
        return [dataclasses.replace(e, source=self.label) for e in inside]
