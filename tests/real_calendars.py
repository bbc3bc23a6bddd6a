"""Where the real-world tier finds the real training calendars, and how it skips without them.

The calendars in ../shared/calendars (beside the repository, in the workspace and in CI) are
not part of the repository. Tests that read them carry the `realworld` marker: they run when
the folder is there and are reported as skipped, with the reason, when it is not (a user's
clone). The folder is looked for beside the repository, then beside each folder above it (a
git worktree under /work/wt/NAME finds /work/shared); CALSYNC_REAL_CALENDARS overrides the
search. Everything else uses the project's own fixtures under tests/.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _find() -> Path:
    if os.environ.get("CALSYNC_REAL_CALENDARS"):
        return Path(os.environ["CALSYNC_REAL_CALENDARS"])
    for folder in ROOT.parents:
        if any((folder / "shared" / "calendars").glob("*.ics")):
            return folder / "shared" / "calendars"
    return ROOT.parent / "shared" / "calendars"


SHARED = _find()
PRESENT = SHARED.is_dir() and any(SHARED.glob("*.ics"))
REASON = (
    f"real-world tier: no shared/calendars beside {ROOT} or above it (the workspace and CI "
    "have it; set CALSYNC_REAL_CALENDARS to a folder of them to run this tier)"
)

realworld = pytest.mark.realworld


def files() -> list[Path]:
    """Every real calendar, for parametrize; none when the folder is absent (the tests that
    use this are marked `realworld`, so the conftest reports them skipped)."""
    if not PRESENT:
        return []
    found = sorted(SHARED.glob("*.ics"))
    assert len(found) >= 20, f"the real calendars are incomplete in {SHARED}"
    return found
