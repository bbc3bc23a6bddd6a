"""The errors a user can meet, one type per thing that can go wrong.

Each carries a message a person can act on; the CLI turns any `CalsyncError` into that
message and exit status 1 (tracebacks only with --verbose). Code that catches a library
exception re-raises one of these with the file, line, key or server named.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # only named in a signature: the pure core imports errors (tests/test_purity.py)
    from pathlib import Path


class CalsyncError(Exception):
    """Base of every error that is the user's to fix (or to wait out)."""

    exit_code = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message}\nhint: {self.hint}"


class ConfigError(CalsyncError):
    """The configuration file is missing, not TOML, or has wrong keys or values.

    `problems` lists every problem found, each naming its key path.
    """

    def __init__(self, path: str, problems: list[str], *, details: Sequence[str] = ()) -> None:
        self.path = path
        self.problems = list(problems)
        # Long lists (the known keys of a section): shown with -v only.
        self.details = tuple(details)
        if len(self.problems) == 1:
            # One problem, one line.
            super().__init__(f"{path}: {self.problems[0]}")
            return
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"{path}: {len(self.problems)} problems in the configuration:\n{lines}")


class ConfigNotFoundError(ConfigError):
    """There is no config file where calsync looked: not a problem *in* a config.

    The CLI sets the hint: what to do depends on whether --config named the file.
    """

    def __init__(self, path: Path) -> None:
        CalsyncError.__init__(self, f"no config file at {path}")
        self.path = str(path)
        self.problems = ["file not found"]
        self.details = ()


class SourceError(CalsyncError):
    """A calendar source could not be read: unreachable, not ICS, empty, refused."""


class EmptyCalendarError(SourceError):
    """A source is a valid calendar with no event at all.

    For a training plan that is almost surely a broken export, so it stops the sync; an
    empty busy calendar (a new or quiet work calendar) is only worth a warning.
    """


class SinkError(CalsyncError):
    """An output could not be written, or refused a change."""


class DiskFullError(CalsyncError):
    """The disk (or the user's quota) is full where calsync writes `path`.

    Raised instead of the OSError (ENOSPC, EDQUOT) wherever calsync writes, so the user
    reads "disk full" and the path, exit 1, and knows nothing was half-written.
    """

    def __init__(self, path: Path | str, *, what: str = "", hint: str | None = None) -> None:
        self.path = str(path)
        detail = f" ({what})" if what else ""
        super().__init__(
            f"disk full: cannot write {path}{detail}",
            hint=hint
            or "free some space (or raise the quota) and run calsync again; "
            "the previous file is kept as it was",
        )


class PausedError(SinkError):
    """A sink stopped writing until `resume_at` (e.g. Google's usage limits)."""

    def __init__(self, message: str, resume_at: datetime, *, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.resume_at = resume_at


class StateError(CalsyncError):
    """The state file is unreadable, from a newer calsync, or locked by another writer."""


class LockedError(StateError):
    """Another calsync process is writing the same state file."""


class StateDamagedError(StateError):
    """The state file is damaged: SQLite finds it malformed, or a stored text is not
    UTF-8. The hint gives the recovery steps (calsync/state_guard.py words them)."""


class StateLostError(StateError):
    """The state holds no history (lost, emptied, re-created) while the output still
    holds calsync's sessions: syncing on would forget them. The hint says how to restore
    the backup or start afresh on purpose (`calsync sync --new-state`)."""


class AuthError(CalsyncError):
    """Authorisation is missing, expired or revoked (Google OAuth)."""


class SafetyError(CalsyncError):
    """A sync would do something dangerous (e.g. delete every managed event) and stopped."""


class MissingExtraError(CalsyncError):
    """The config needs an optional backend (a pip extra) that is not installed."""
