"""What every output (ICS file/feed, Google, CalDAV) offers the sync.

A sink first reports what it holds of calsync's own events (`snapshot`): which keys are
there, which the user moved or edited (pins) and which the user deleted. The sync plans
with that, decides once with the pure `calsync.diff.diff` what the sink must do (the
actions, each with its reason), checks them, and the sink then only executes them: no
sink decides what to create, move or delete.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

# ManagedEvent and SinkSnapshot are plain values the pure diff takes: they live in model.
from calsync.model import Action, ManagedEvent, SinkSnapshot

if TYPE_CHECKING:
    from calsync.state import StateTx

__all__ = ["ManagedEvent", "Sink", "SinkReport", "SinkSnapshot"]


@dataclass(slots=True)
class SinkReport:
    name: str
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    requests: int = 0  # network requests made, where that means something

    @property
    def writes(self) -> int:
        return len(self.created) + len(self.updated) + len(self.deleted)


class Sink(Protocol):
    name: str

    def snapshot(self, tx: StateTx, window: tuple[datetime, datetime]) -> SinkSnapshot: ...

    def execute(
        self, actions: Sequence[Action], tx: StateTx, now: datetime, *, dry_run: bool = False
    ) -> SinkReport:
        """Carry out `actions` (from `diff` over this sink's last `snapshot`).

        KEEP actions carry the sessions that stay, so a sink that renders a whole
        document (ICS) has every session. `dry_run` writes nothing and reports what
        would be done.
        """
        ...
