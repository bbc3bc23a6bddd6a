"""The small JSON files calsync keeps beside the state file.

They hold what must survive a sync that rolls back (the deletes a sink is about to send,
the calendar Google gave calsync, a quota pause), so they are written at once, through
`calsync.atomic`, and not in the state's transaction.

A missing file is "nothing recorded". A file that is there but cannot be read is an
error naming it, never read as empty: an unreadable record of deletes in flight would
make calsync forget which deletions were its own, and take the runner's own deletions for
them or the reverse.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from calsync.atomic import is_disk_full, write_file
from calsync.errors import DiskFullError, StateError

MODE = 0o600  # like the state file: what calsync did in the user's calendars


def read_json(path: Path, *, holds: str) -> Any | None:
    """The JSON value in `path`, or None when there is no such file.

    `holds` says what the file records, for the message when it is damaged.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as e:
        raise _damaged(path, holds, str(getattr(e, "strerror", None) or e)) from None
    try:
        return json.loads(text)
    except ValueError as e:
        raise _damaged(path, holds, f"not JSON: {e}") from None


def read_json_object(path: Path, *, holds: str) -> dict[str, Any]:
    """`read_json` for a file that holds one JSON object; {} when there is no file."""
    data = read_json(path, holds=holds)
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise _damaged(path, holds, f"expected a JSON object, found {type(data).__name__}")
    return data


def read_deletes(path: Path, *, holds: str) -> dict[str, dict[str, str]]:
    """A record of deletes in flight, {scope: {id: ISO end time}}: `{}` when
    there is no file; any other shape is damage, named (an entry of the wrong shape read
    as absent would make calsync take its own deletion for the runner's)."""
    data = read_json_object(path, holds=holds)
    for scope, ids in data.items():
        if not isinstance(ids, dict):
            why = f"{scope!r}: expected an object of ids, found {type(ids).__name__}"
            raise _damaged(path, holds, why)
        for key, end in ids.items():
            if not (isinstance(end, str) and _time(end) is not None):
                why = f"{scope!r}, {key!r}: expected an ISO time, found {end!r}"
                raise _damaged(path, holds, why)
    return data


def note_deletes(
    path: Path, *, holds: str, scope: str, ends: dict[str, datetime], oldest: datetime
) -> None:
    """Add the deletes calsync is about to send in `scope` to the record at `path` (before
    sending them), forgetting entries whose session ended before `oldest`."""
    data = read_deletes(path, holds=holds)
    data.setdefault(scope, {}).update({key: end.isoformat() for key, end in ends.items()})
    for ids in data.values():
        for key, end in list(ids.items()):
            if _time(end) < oldest:  # type: ignore[operator]  # read_deletes checked it
                del ids[key]
    write_json(path, data)


def _time(text: str) -> datetime | None:
    """An ISO time; one without an offset is taken as UTC (a floating end time)."""
    try:
        t = datetime.fromisoformat(text)
    except ValueError:
        return None
    return t if t.tzinfo is not None else t.replace(tzinfo=UTC)


def write_json(path: Path, data: Any) -> None:
    """Replace `path` with `data` as JSON, atomically and durably (mode 0600, the folder
    made 0700 when missing). Raises DiskFullError or OSError."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        write_file(path, json.dumps(data, indent=1, sort_keys=True), mode=MODE)
    except OSError as e:
        if is_disk_full(e):
            raise DiskFullError(path) from None
        raise


def _damaged(path: Path, holds: str, why: str) -> StateError:
    return StateError(
        f"{path}: cannot read {holds} ({why})",
        hint="restore the file from a backup, or, if you are sure no sync is half done, "
        "move it away: calsync then starts without that record",
    )
