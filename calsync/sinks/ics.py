"""The ICS output: a calendar file of calsync's sessions, and the feed documents.

An ICS file has no user edits to respect (no pins, no user deletions): calsync owns it
whole. Each sync renders it from the plan and the session history in the state store,
then writes it atomically, and only when its bytes changed. The same render, plus an
opaque "busy" variant, is stored in the state for the feed server.
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import logging
import os
import tempfile
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path

from calsync.config import Config
from calsync.diff import content_hash
from calsync.errors import DiskFullError, SafetyError, SinkError
from calsync.ics_write import feed_etag, render_calendar, uid_for
from calsync.model import HISTORY_DAYS, Action, ActionKind, Session, StoredSession
from calsync.sinks.base import ManagedEvent, SinkReport, SinkSnapshot
from calsync.state import FeedDoc, StateTx
from calsync.uids import for_install

log = logging.getLogger(__name__)

OUTPUT = "ics"
FEED_STRENGTH = "strength.ics"
FEED_BUSY = "busy.ics"

__all__ = ["IcsSink", "render_calendar", "uid_for", "write_atomic"]


class IcsSink:
    name = OUTPUT

    def __init__(self, config: Config) -> None:
        self.config = config
        self.zone = config.schedule.zone
        out = config.output_ics
        self.path: Path | None = out.path if out is not None else None
        self.calendar_name = out.calendar_name if out is not None else "Strength training"
        self.refresh_minutes = out.refresh_minutes if out is not None else 60

    def snapshot(self, tx: StateTx, window: tuple[datetime, datetime]) -> SinkSnapshot:
        if self.path is not None:
            _refuse_foreign_file(self.path)
        managed = {
            key: ManagedEvent(key, s.start, s.end, s.content_hash, None, None, s.sequence)
            for key, s in tx.sessions(OUTPUT).items()
            if s.status == "active"
        }
        # Nobody edits a file calsync renders: no pins, no user deletions; it mirrors the plan.
        return SinkSnapshot(managed=managed, user_editable=False)

    def execute(
        self, actions: Sequence[Action], tx: StateTx, now: datetime, *, dry_run: bool = False
    ) -> SinkReport:
        """Record each session's SEQUENCE and times, then render the whole calendar from
        the sessions the actions keep, create or update."""
        report = SinkReport(OUTPUT)
        stored = tx.sessions(OUTPUT)
        records: dict[str, StoredSession] = {}
        sessions: list[Session] = []
        gone: list[str] = []
        for a in actions:
            if a.kind is ActionKind.DELETE:
                gone.append(a.key)
                report.deleted.append(a.key)
                continue
            assert a.session is not None
            s = a.session
            sessions.append(s)
            old = stored.get(a.key)
            if a.kind is ActionKind.KEEP and old is not None:
                records[a.key] = old
                report.unchanged.append(a.key)
            elif old is None:
                records[a.key] = StoredSession(a.key, s.start, s.end, content_hash(s), 0, now, now)
                report.created.append(a.key)
            else:  # an update, or a record the file no longer showed coming back
                records[a.key] = dataclasses.replace(
                    old,
                    start=s.start,
                    end=s.end,
                    content_hash=content_hash(s),
                    sequence=old.sequence + 1,
                    modified=now,
                    status="active",
                )
                report.updated.append(a.key)
        # Bookkeeping, not a decision about the calendar: what started before now stays
        # recorded as history even when the plan no longer carries it, so a key that comes
        # back continues its SEQUENCE; once the plan has let it go for good
        # (HISTORY_DAYS), so does the state.
        expired = now - timedelta(days=HISTORY_DAYS + 30)
        forgotten = sorted(k for k, old in stored.items() if k not in records and old.end < expired)

        uids = for_install(tx, set(stored), save=not dry_run)
        strength = render_calendar(
            sessions,
            records,
            calendar_name=self.calendar_name,
            zone=self.zone,
            refresh_minutes=self.refresh_minutes,
            uid=uids,
        )
        busy = render_calendar(
            sessions,
            records,
            calendar_name=self.calendar_name,
            zone=self.zone,
            refresh_minutes=self.refresh_minutes,
            busy_only=True,
            uid=uids,
        )
        if dry_run:
            return report

        for key in report.created + report.updated:
            tx.put_session(OUTPUT, records[key])
        for key in sorted(set(gone + forgotten)):
            tx.delete_session(OUTPUT, key)
        for name, body in ((FEED_STRENGTH, strength), (FEED_BUSY, busy)):
            old_doc = tx.feed(name)
            if old_doc is None or old_doc.body != body:
                tx.put_feed(FeedDoc(name, body, feed_etag(body), now))
        if self.path is not None and write_atomic(self.path, strength):
            log.info("wrote %s (%d sessions)", self.path, len(sessions))
        return report


def _refuse_foreign_file(path: Path) -> None:
    """calsync owns its output file whole, so it must never replace a file it did not
    write (say, `path` set to the runner's own training calendar)."""
    try:
        data = path.read_bytes() if path.is_file() else b""
    except OSError:
        return  # write_atomic reports what is wrong with the path
    ours = b"PRODID:-//calsync//"  # ics_write.PRODID, of any version
    if data.strip() and ours not in data:
        raise SafetyError(
            f"{path} exists and was not written by calsync; it would be replaced",
            hint="set [output.ics] path to a file of calsync's own, or move this one away",
        )


def write_atomic(path: Path, data: bytes, *, what: str = "the calendar") -> bool:
    """Replace `path` with `data` (temp file + fsync + rename); False if already equal.

    A crash at any point leaves either the old file or the new one, never half of one.
    """
    try:
        if path.read_bytes() == data:
            return False
        mode = path.stat().st_mode & 0o777
    except FileNotFoundError:
        mode = 0o644
    except OSError as e:
        raise SinkError(f"{path}: cannot read the current file: {e.strerror or e}") from None
    tmp: str | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
        tmp = None
        _fsync_dir(path.parent)
    except OSError as e:
        if e.errno in (errno.ENOSPC, errno.EDQUOT):
            raise DiskFullError(path, what=what) from None
        raise SinkError(f"{path}: cannot write {what}: {e.strerror or e}") from None
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
    return True


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some file systems cannot sync a directory; the rename is done anyway
    finally:
        os.close(fd)
