"""pytest fixtures around the Calendar API emulator: a world with a runner's calendar,
a token file, a config pointing calsync at the emulator, and a way to run the CLI."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from calsync import retry
from calsync.google import auth as gauth
from tests.fakes.google_emulator import CalendarEmulator, Logged

ZONE = "Europe/Berlin"
STRENGTH = "Strength training"


@dataclass
class Outcome:
    code: int
    out: str
    err: str
    log: list[Logged] = field(default_factory=list)

    @property
    def requests(self) -> int:
        return len(self.log)

    @property
    def writes(self) -> int:
        return sum(e.writes for e in self.log)


@dataclass
class GoogleWorld:
    emu: CalendarEmulator
    dir: Path
    refresh: str = ""
    access: str = ""

    @property
    def token_path(self) -> Path:
        return self.dir / "state" / "google-token.json"

    def write_token(
        self, scopes: tuple[str, ...] = tuple(gauth.SCOPES), *, expired: bool = False
    ) -> None:
        self.refresh, self.access = self.emu.grant(scopes)
        expiry = datetime.now(UTC) + (timedelta(minutes=-5) if expired else timedelta(hours=1))
        info = {
            "token": self.access,
            "refresh_token": self.refresh,
            "token_uri": self.emu.root + "token",
            "client_id": self.emu.client_id,
            "client_secret": self.emu.client_secret,
            "scopes": list(scopes),
            "expiry": expiry.replace(tzinfo=None).isoformat() + "Z",
        }
        self.token_path.parent.mkdir(parents=True, exist_ok=True)
        self.token_path.write_text(json.dumps(info))
        self.token_path.chmod(0o600)

    def write_config(
        self, *, runs: str = "google", busy: bool = False, extra: str = "", timeout: str = "5s"
    ) -> Path:
        """calsync's config for this world. The timeout is generous: a slow shared machine
        must not turn into retries that change the request counts tests assert."""
        root = self.emu.root
        src = (
            '[[source]]\ntype = "google"\ncalendar = "primary"\nrole = "runs"\n'
            if runs == "google"
            else f'[[source]]\ntype = "ics"\nurl = "{runs}"\nrole = "runs"\n'
        )
        if busy:
            src += '\n[[source]]\ntype = "google"\ncalendar = "work@example.com"\nrole = "busy"\n'
        text = (
            f'[schedule]\ntimezone = "{ZONE}"\nhorizon_days = 14\n\n'
            f"{src}\n"
            f'[output.google]\ncalendar = "{STRENGTH}"\n\n'
            f'[google]\napi_endpoint = "{root}calendar/v3/"\ntoken_uri = "{root}token"\n'
            f'batch_uri = "{root}batch/calendar/v3"\ntoken_path = "state/google-token.json"\n'
            f'timeout = "{timeout}"\n\n'
            f'[state]\npath = "state/state.sqlite3"\n{extra}'
        )
        path = self.dir / "config.toml"
        path.write_text(text)
        return path

    def run(self, *args: str, now: str | None = None) -> Outcome:
        """`calsync --config ... [--now ...] ARGS` through the CLI's own error handler."""
        from calsync.cli import main

        argv = ["--config", str(self.dir / "config.toml")]
        if now is not None:
            argv += ["--now", now]
        mark = self.emu.mark()
        runner = CliRunner()
        with runner.isolation() as streams:
            code = main([*argv, *args])
        out, err = streams[0].getvalue().decode(), streams[1].getvalue().decode()
        return Outcome(code, out, err, self.emu.since(mark))

    def sync(self, now: str, *args: str) -> Outcome:
        return self.run("sync", *args, now=now)

    # ---------------------------------------------------------------- calendar content

    def add_run(self, summary: str, start: str, minutes: int = 60, **extra: Any) -> str:
        begin = datetime.fromisoformat(start)
        body = {
            "summary": summary,
            "start": {"dateTime": begin.isoformat(), "timeZone": ZONE},
            "end": {"dateTime": (begin + timedelta(minutes=minutes)).isoformat(), "timeZone": ZONE},
        } | extra
        return str(self.emu.user_insert("primary", body)["id"])

    def strength_id(self) -> str:
        found = self.emu.calendar_by_summary(STRENGTH)
        assert len(found) == 1, f"expected one strength calendar, found {found}"
        return found[0]

    def sessions(self) -> dict[str, dict[str, Any]]:
        """calsync's events in the strength calendar (not cancelled), by session key."""
        out: dict[str, dict[str, Any]] = {}
        for ev in self.emu.events(self.strength_id()):
            key = ev.get("extendedProperties", {}).get("private", {}).get("calsyncKey")
            if key is not None:
                assert key not in out, f"duplicate session {key}"
                out[key] = ev
        return out


@pytest.fixture
def fast_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """The real retry loop, with every wait scaled down a thousandfold."""
    monkeypatch.setattr(retry, "TIME_SCALE", 0.001)


@pytest.fixture
def emulator() -> Iterator[CalendarEmulator]:
    with CalendarEmulator() as emu:
        yield emu


@pytest.fixture
def gworld(emulator: CalendarEmulator, tmp_path: Path, fast_retries: None) -> GoogleWorld:
    world = GoogleWorld(emulator, tmp_path)
    emulator.add_calendar("work@example.com", "Work")
    world.write_token()
    world.write_config()
    return world
