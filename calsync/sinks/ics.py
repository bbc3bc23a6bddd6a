"""The ICS output: a calendar file of calsync's sessions, and the feed documents.

An ICS file has no user edits to respect (no pins, no user deletions): calsync owns it
whole. Each sync renders it from the plan and the session history in the state store.
The same render, plus an opaque "busy" variant, is stored in the state (the `feeds`
table) for the feed server: those documents are rows of the sync's transaction and
commit with it.

Commit, then publish: the file shows only committed state. `execute` stages the new
file (a temp file beside it, written and fsynced) and asks the transaction to put it in
place after its COMMIT (`StateTx.after_commit`). A crash before the COMMIT leaves the old
file with the old state; a crash after it leaves the old file with the new state, and
the next start (`snapshot`) rewrites the file from the committed document. Either way
the SEQUENCE of an event in the file never goes down: calendar clients ignore an update
whose SEQUENCE is lower than one they saw.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import re
import stat
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path

from calsync.atomic import is_disk_full, real_target, stage, sweep_temps, write_file
from calsync.config import Config
from calsync.diff import content_hash
from calsync.errors import CalsyncError, DiskFullError, SafetyError, SinkError
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
        self.mode = out.mode if out is not None else None
        # SEQUENCE per key in the file found on start: what subscribers may have seen.
        self._floor: dict[str, int] = {}

    def snapshot(self, tx: StateTx, window: tuple[datetime, datetime]) -> SinkSnapshot:
        self._floor = {}
        if self.path is not None:
            _refuse_special_file(self.path)
            _refuse_foreign_file(self.path)
            self._floor = _sequences(_read(self.path))
            self._restore_committed(tx, self.path)
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
        raised = self._raise_past_floor(records, now)
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

        for key in sorted(set(report.created + report.updated + raised)):
            tx.put_session(OUTPUT, records[key])
        for key in sorted(set(gone + forgotten)):
            tx.delete_session(OUTPUT, key)
        for name, body in ((FEED_STRENGTH, strength), (FEED_BUSY, busy)):
            old_doc = tx.feed(name)
            if old_doc is None or old_doc.body != body:
                tx.put_feed(FeedDoc(name, body, feed_etag(body), now))
        if self.path is not None:
            self._publish_after_commit(tx, self.path, strength, len(sessions))
        return report

    def _raise_past_floor(self, records: dict[str, StoredSession], now: datetime) -> list[str]:
        """Never below what the file already showed: after a restored (older) state, or a
        file an older calsync replaced before its state committed, the state's SEQUENCE
        can be lower than the one subscribers saw, and they would ignore the event.
        Raises those records in place; returns their keys."""
        raised = []
        for key, rec in records.items():
            seen = self._floor.get(key)
            if seen is not None and seen > rec.sequence:
                records[key] = dataclasses.replace(rec, sequence=seen + 1, modified=now)
                raised.append(key)
        if raised:
            log.warning(
                "%s showed a higher SEQUENCE than the state for %d sessions; raised past it",
                self.path,
                len(raised),
            )
        return raised

    def _restore_committed(self, tx: StateTx, path: Path) -> None:
        """On start: a file that is not the last committed render (a sync was killed
        between its COMMIT and the rename, or the disk filled) is rewritten from the
        state, and the temp files a killed sync left are removed. We hold the state's
        lock, so no other calsync is writing this file."""
        if not tx.dry_run:  # a dry run removes nothing either
            for tmp in sweep_temps(path):
                log.info("removed %s, left by an interrupted sync", tmp)
        doc = tx.feed(FEED_STRENGTH)
        why = None if doc is None else self._unlike(path, doc.body)
        if doc is None or why is None:
            return
        committed = _sequences(doc.body)
        if any(seq > committed.get(key, seq) for key, seq in self._floor.items()):
            # The file is newer than the state (a restored state, or an older calsync's
            # file): rewriting it from the state would lower SEQUENCEs; execute raises them.
            log.warning("%s holds newer SEQUENCEs than the state; this sync raises them", path)
            return
        if tx.dry_run:
            log.warning("%s %s; a sync rewrites it", path, why)
            return
        log.warning("%s %s; rewriting it from the state", path, why)
        _write(path, doc.body, self.mode)

    def _unlike(self, path: Path, body: bytes) -> str | None:
        """Why the file at `path` is not `body` in the configured mode (words for the
        log), or None when it is."""
        target = real_target(path)
        try:
            if target.read_bytes() != body:
                return "is not the last committed calendar (a sync was interrupted)"
            have = stat.S_IMODE(target.stat().st_mode)
        except FileNotFoundError:
            return "is missing"
        except OSError as e:
            raise SinkError(f"{path}: cannot read the current file: {e.strerror or e}") from None
        if self.mode is not None and have != self.mode:
            return f"has mode {have:04o}, not the configured mode {self.mode:04o}"
        return None

    def _differs(self, path: Path, body: bytes) -> bool:
        """Whether the file at `path` is not `body` (or not in the configured mode)."""
        return self._unlike(path, body) is not None

    def _publish_after_commit(self, tx: StateTx, path: Path, body: bytes, count: int) -> None:
        """Stage the new file now; put it in place once the state has committed."""
        if not self._differs(path, body):
            return
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            staged = stage(path, body, mode=self.mode)
        except OSError as e:
            raise _write_error(path, e) from None

        def publish() -> None:
            try:
                staged.publish()
            except OSError as e:
                raise _write_error(path, e) from None
            log.info("wrote %s (%d sessions)", path, count)

        tx.after_commit(publish, undo=staged.discard)


_SPECIAL = (
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def _refuse_special_file(path: Path) -> None:
    """A FIFO, device or socket at `path` (or where its link points) is refused before
    anything reads it: reading a FIFO waits forever, and the rename would replace a
    device node (`/dev/null`) with a plain file. A folder is left to the read, which
    names it."""
    try:
        mode = os.stat(path).st_mode  # through links
    except OSError:
        return  # missing (created), or a problem the read or the write words
    kind = next((k for is_kind, k in _SPECIAL if is_kind(mode)), None)
    if kind is not None:
        raise SinkError(
            f"{path}: not a regular file ({kind}); calsync writes a plain file there",
            hint="set the path to a file of calsync's own (a new name is fine)",
        )


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


def _read(path: Path) -> bytes:
    try:
        return real_target(path).read_bytes()
    except FileNotFoundError:
        return b""
    except OSError as e:
        raise SinkError(f"{path}: cannot read the current file: {e.strerror or e}") from None


_EVENT = re.compile(rb"BEGIN:VEVENT\r?\n(.*?)END:VEVENT", re.S)
_KEY = re.compile(rb"^X-CALSYNC-KEY[;:](?:[^\r\n:]*:)?([^\r\n]*)", re.M)
_SEQ = re.compile(rb"^SEQUENCE[;:](?:[^\r\n:]*:)?\s*(\d{1,9})\s*$", re.M)


def _sequences(data: bytes) -> dict[str, int]:
    """SEQUENCE per X-CALSYNC-KEY in a calendar calsync wrote (its own fixed layout: one
    unfolded line each). Events without both are skipped: this only sets a floor."""
    out: dict[str, int] = {}
    for m in _EVENT.finditer(data):
        key, seq = _KEY.search(m.group(1)), _SEQ.search(m.group(1))
        if key is not None and seq is not None:
            k = key.group(1).decode("utf-8", "replace")
            out[k] = max(int(seq.group(1)), out.get(k, 0))
    return out


def _write(path: Path, data: bytes, mode: int | None) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_file(path, data, mode=mode)
    except OSError as e:
        raise _write_error(path, e) from None


def _write_error(path: Path, e: OSError, what: str = "the calendar") -> CalsyncError:
    if is_disk_full(e):
        return DiskFullError(path)
    return SinkError(f"{path}: cannot write {what}: {e.strerror or e}")


def write_atomic(path: Path, data: bytes, *, what: str = "the calendar") -> bool:
    """Replace the file `path` names with `data` (calsync.atomic); False if already equal.

    A crash at any point leaves either the old file or the new one, never half of one.
    """
    _refuse_special_file(path)
    try:
        if real_target(path).read_bytes() == data:
            return False
    except FileNotFoundError:
        pass
    except OSError as e:
        raise SinkError(f"{path}: cannot read the current file: {e.strerror or e}") from None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_file(path, data)
    except OSError as e:
        raise _write_error(path, e, what) from None
    return True
