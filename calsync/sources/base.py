"""What every calendar source (ICS file/URL, Google, CalDAV) offers the sync."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from calsync.model import Event, Role

if TYPE_CHECKING:
    from calsync.state import StateTx


class Source(Protocol):
    label: str  # names the source in messages: a path, URL or calendar id
    role: Role

    def read(self, window: tuple[datetime, datetime], tx: StateTx | None = None) -> list[Event]:
        """Every event occurrence overlapping the window.

        `tx`, when given, is the sync's state transaction: a source may keep caches
        (HTTP validators, sync tokens) there. Raises SourceError naming the source when it
        cannot be read at all; skips (with a logged warning) single broken events.
        """
        ...
