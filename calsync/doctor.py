"""`calsync doctor`: test every part of the setup the config names, and say how to fix
what fails.

Each check does the real thing, as cheaply as it can: an ICS source is fetched (a
conditional GET with the validators the last sync kept, so an unchanged feed costs a
304), a Google or CalDAV source is read over the planning window, a remote output is
asked for its calendar inside a state transaction that is then rolled back (doctor
changes nothing), the output file's folder is tested for writing, the feed token file
for its mode, the state for the last sync's outcome. The CLI prints the checks; any
failed one makes the exit status 1.
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Any, cast

from calsync.config import Config, SourceSettings
from calsync.errors import CalsyncError


@dataclass(frozen=True, slots=True)
class Check:
    ok: bool
    name: str  # "source", "output", "feed", "last sync", ...
    detail: str  # what was found
    fix: str = ""  # for a failed check: what to do


def run_checks(config: Config, now: datetime) -> list[Check]:
    """Every check, in the order a setup is built: config, sources, outputs, feed, state."""
    out = [
        Check(True, "config", f"{config.path} (valid)"),
        Check(True, "timezone", f"{config.schedule.timezone} (now {now:%Y-%m-%d %H:%M})"),
    ]
    if not config.sources:
        out.append(Check(False, "source", "no [[source]]", "add a [[source]] with your runs"))
    for s in config.sources:
        out.append(_source(config, s, now))
    out.extend(_outputs(config, now))
    out.append(_feed_token(config))
    out.extend(_state(config, now))
    return out


# --------------------------------------------------------------------------- sources


class _CacheOnly:
    """The state's cached validators for a conditional GET; stores nothing (doctor
    must not change the state)."""

    def __init__(self, view: Any) -> None:
        self.view = view

    def source_cache(self, url: str) -> Any:
        return self.view.source_cache(url) if self.view is not None else None

    def put_source_cache(self, cached: Any) -> None:
        pass


@contextlib.contextmanager
def _view(config: Config) -> Iterator[Any]:
    if not config.state_path.exists():
        yield None
        return
    from calsync.state import StateStore

    store = StateStore(config.state_path)
    try:
        with store.reader() as view:
            yield view
    finally:
        store.close()


def _source(config: Config, s: SourceSettings, now: datetime) -> Check:
    from calsync.sync import build_source, read_window

    window = read_window(config, now)
    name = f"{s.label} ({s.role.value})"
    try:
        if s.type == "ics":
            from calsync.sources.ics import parse_ics
            from calsync.sources.ics_fetch import fetch, http_url

            with _view(config) as view:
                cache = _CacheOnly(view)
                remote = http_url(s.url)
                before = cache.source_cache(remote) if remote else None
                data = fetch(s, cast(Any, cache))
            try:
                events = parse_ics(data, label=s.label, zone=config.schedule.zone, window=window)
            except CalsyncError:
                if s.role.value == "runs":
                    raise
                events = []
            fresh = " (not modified since the last sync)" if before and before.body == data else ""
            return Check(True, "source", f"{name}: {len(events)} events in the window{fresh}")
        events = build_source(s, config).read(window, None)
        return Check(True, "source", f"{name}: {len(events)} events in the window")
    except CalsyncError as e:
        return Check(False, "source", _one_line(e), e.hint or _source_fix(e.message, s))


def _source_fix(message: str, s: SourceSettings) -> str:
    if ": pip install 'calsync[" in message:
        return "install the extra with the pip command above"
    if "HTTP 404" in message or "HTTP 410" in message or "file not found" in message:
        return "check the url of this [[source]] (the calendar moved, or a typo)"
    if "HTTP 401" in message or "HTTP 403" in message:
        if s.type == "caldav":
            return "check username and password_file for this [[source]]"
        return "the calendar's secret address changed: copy it again into url"
    if "not an iCalendar file" in message:
        return "url must give an .ics calendar (the 'secret address in iCal format')"
    if s.type == "google":
        return "run `calsync auth google --client-secrets FILE`, then check calendar"
    return "check the network and the server, then run `calsync doctor` again"


# --------------------------------------------------------------------------- outputs


def _outputs(config: Config, now: datetime) -> list[Check]:
    out: list[Check] = []
    if config.output_ics is not None:
        out.append(_writable(config.output_ics.path))
    if config.output_google is not None or any(s.type == "google" for s in config.sources):
        token = _google_token(config)
        out.extend(token)
        if config.output_google is not None and all(c.ok for c in token):
            out.append(_remote_output(config, now, "google"))  # else the same problem twice
    if config.output_caldav is not None:
        out.extend(_caldav_output(config))
    return out


def _caldav_output(config: Config) -> list[Check]:
    """The CalDAV sink's own probe (login, calendar, privileges), as checks."""
    from calsync.extras import require
    from calsync.sinks.caldav import CaldavSink

    try:
        require("caldav", "[output.caldav]")
    except CalsyncError as e:
        return [Check(False, "caldav", e.message, "install the extra with the pip command above")]
    fix = "check url, username, password_file and calendar in [output.caldav]"
    out = []
    for line in CaldavSink(config).doctor():
        text = line.removeprefix("caldav:").strip()
        if text.startswith("FAILED:"):
            out.append(Check(False, "caldav", " ".join(text[7:].split()), fix))
        elif "MISSING" in text or "cannot make it" in text:
            out.append(Check(False, "caldav", text, "give the account write access, or " + fix))
        else:
            out.append(Check(True, "caldav", text))
    return out


def _writable(path: Path) -> Check:
    """Can calsync replace `path` (temp file + rename in its folder)? A symlink is
    written through, so the folder that matters is its target's."""
    folder = Path(os.path.realpath(path)).parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent  # the sync makes the missing folders
    if not folder.is_dir():
        return Check(
            False,
            "output",
            f"{path}: {folder} is not a folder",
            "set [output.ics] path to a file in a folder",
        )
    if not os.access(folder, os.W_OK | os.X_OK):
        return Check(
            False,
            "output",
            f"{path}: cannot write in {folder}",
            f"set [output.ics] path to a folder you can write, or chmod u+w {folder}",
        )
    if path.exists() and path.is_dir():
        return Check(False, "output", f"{path} is a folder", "point [output.ics] path at a file")
    if path.is_file():
        from calsync.sinks.ics import _refuse_foreign_file

        try:
            _refuse_foreign_file(path)
        except CalsyncError as e:
            return Check(False, "output", e.message, e.hint or "")
    return Check(True, "output", f"{path} is writable")


def _google_token(config: Config) -> list[Check]:
    """The Google token: its file, mode and scopes (what each is for), from the lines
    `cli_google.doctor_lines` writes; a "PROBLEM: what: fix" line is a ✗."""
    from calsync.cli_google import doctor_lines

    out: list[Check] = []
    for line in doctor_lines(config):
        text = line.removeprefix("google:").strip()
        if text.startswith("PROBLEM:"):
            problem = text.removeprefix("PROBLEM:").strip()
            what, fix = problem, ""
            for sep in (": run `", ": chmod ", ": pip install "):
                if sep in problem:
                    what, _, rest = problem.partition(sep)
                    fix = sep[2:] + rest
                    break
            out.append(Check(False, "google", what, fix or REAUTH_HINT))
        else:
            out.append(Check(True, "google", text))
    return out


class _Rollback(Exception):
    """Raised inside the state transaction so that whatever a snapshot cached is undone."""


def _remote_output(config: Config, now: datetime, kind: str) -> Check:
    """Ask the Google output for its calendar (token, scopes, calendar), then roll back."""
    from calsync.sinks.google import GoogleSink
    from calsync.state import StateStore
    from calsync.sync import read_window

    assert kind == "google" and config.output_google is not None
    what = f"google calendar {config.output_google.calendar!r}"
    store = StateStore(config.state_path)
    held = 0
    try:
        with store.writer(wait_seconds=5) as tx:
            snap = GoogleSink(config).snapshot(tx, read_window(config, now))
            held = len(snap.managed)
            raise _Rollback
    except _Rollback:
        pass
    except CalsyncError as e:
        return Check(False, "output", _one_line(e), e.hint or REAUTH_HINT)
    finally:
        store.close()
    return Check(True, "output", f"{what}: reachable, {held} of calsync's sessions there")


REAUTH_HINT = "run `calsync auth google --client-secrets FILE`"


# --------------------------------------------------------------------------- feed, state


def _feed_token(config: Config) -> Check:
    from calsync.feed import TOKEN_FILE

    if config.feed.token:
        return Check(True, "feed", "token set in the config ([feed] token)")
    path = config.state_dir / TOKEN_FILE
    try:
        st = path.stat()
    except FileNotFoundError:
        return Check(True, "feed", "no token yet (`calsync feed-url` or `serve` makes it)")
    except OSError as e:
        return Check(False, "feed", f"{path}: {e.strerror}", f"check the permissions of {path}")
    mode = stat.S_IMODE(st.st_mode)
    if mode & 0o077:
        return Check(
            False,
            "feed",
            f"token file {path} is readable by others ({mode:04o})",
            f"chmod 600 {path}",
        )
    return Check(True, "feed", f"token file {path} is private ({mode:04o})")


def _state(config: Config, now: datetime) -> list[Check]:
    output = config.output_ics.path if config.output_ics is not None else None
    checks = state_checks(config.state_path, output, config.schedule.zone)
    if not all(c.ok for c in checks) or not config.state_path.exists():
        return checks
    path = config.state_path
    try:
        with _view(config) as view:
            last = view.last_sync()
    except CalsyncError as e:
        return [Check(False, "state", _one_line(e), e.hint or f"move {path} away and sync again")]
    out = checks
    when = f"{last.at.astimezone(now.tzinfo):%Y-%m-%d %H:%M}" if last is not None else ""
    if last is None:
        out.append(Check(True, "last sync", "never"))
    elif last.ok:
        counts = f"{last.created} created, {last.updated} moved/updated, {last.deleted} removed"
        out.append(Check(True, "last sync", f"{when} ok ({counts})"))
    else:
        out.append(
            Check(
                False,
                "last sync",
                f"{when} FAILED: {last.message}",
                "run `calsync -v sync` to see it again; the checks above may name the cause",
            )
        )
    return out


def state_checks(path: Path, output: Path | None, zone: tzinfo) -> list[Check]:
    """The state file whole (SQLite's integrity_check, every text UTF-8), its history
    against the output's sessions, and its backup: for `doctor` and `calsync state check`.
    """
    from calsync import state_guard
    from calsync.errors import StateLostError

    bak = state_guard.backup_path(path)
    out: list[Check] = []
    if not path.exists() or path.stat().st_size == 0:
        held = state_guard.sessions_in_output(output) if output is not None else 0
        what = "not made yet" if not path.exists() else "empty (0 bytes)"
        if held:
            out.append(
                Check(
                    False,
                    "state",
                    f"{path} is {what}, but {output} holds {held} session(s) calsync wrote",
                    state_guard.recovery_hint(path, lost=True),
                )
            )
        else:
            out.append(Check(True, "state", f"{path} ({what}: the first sync makes it)"))
    else:
        try:
            bad = state_guard.problems(path)
        except CalsyncError as e:  # a full disk
            return [Check(False, "state", _one_line(e), e.hint or "")]
        if bad:
            detail = "; ".join(bad[:3])
            out.append(
                Check(
                    False, "state", f"{path} is damaged: {detail}", state_guard.recovery_hint(path)
                )
            )
        else:
            out.append(Check(True, "state", f"{path} (integrity checked)"))
            try:
                from calsync.state import StateStore

                with StateStore(path).reader() as view:
                    state_guard.refuse_lost(view, path, output)
            except StateLostError as e:
                out.append(Check(False, "history", _one_line(e), e.hint or ""))
            except CalsyncError as e:
                out.append(Check(False, "state", _one_line(e), e.hint or ""))
    out.append(_backup(bak, zone))
    return out


def _backup(bak: Path, zone: tzinfo) -> Check:
    from calsync import state_guard

    if not bak.is_file():
        return Check(True, "backup", f"none yet ({bak}: each successful sync writes it)")
    try:
        bad = state_guard.problems(bak)
    except CalsyncError as e:  # a full disk
        return Check(False, "backup", _one_line(e), e.hint or "")
    if bad:
        return Check(
            False, "backup", f"{bak} is damaged: {bad[0]}", "the next successful sync replaces it"
        )
    mode = stat.S_IMODE(bak.stat().st_mode)
    if mode & 0o077:
        return Check(False, "backup", f"{bak} is readable by others ({mode:04o})", _chmod(bak))
    last = state_guard.last_good_sync(bak)
    when = f"the state after the sync of {last.astimezone(zone):%Y-%m-%d %H:%M}" if last else ""
    return Check(True, "backup", f"{bak} ({when + ', ' if when else ''}integrity checked)")


def _chmod(path: Path) -> str:
    return f"chmod 600 {path}"


def _one_line(e: CalsyncError) -> str:
    return " ".join(e.message.split())
