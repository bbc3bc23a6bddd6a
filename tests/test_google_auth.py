"""`calsync auth google` against the emulator's OAuth endpoints, and `calsync doctor`."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import urllib.request
import webbrowser
from pathlib import Path
from typing import Any

import pytest

from calsync.google import auth as gauth
from tests.fakes.google_fixtures import GoogleWorld

REPO = Path(__file__).resolve().parent.parent


def _secrets(world: GoogleWorld) -> Path:
    root = world.emu.root
    path = world.dir / "client_secret.json"
    path.write_text(
        json.dumps(
            {
                "installed": {
                    "client_id": world.emu.client_id,
                    "client_secret": world.emu.client_secret,
                    "auth_uri": root + "auth",
                    "token_uri": root + "token",
                    "redirect_uris": ["http://localhost"],
                }
            }
        )
    )
    return path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class _Browser:
    """Stands in for the user's browser: opens the URL, "Allow" is the emulator's."""

    def __init__(self) -> None:
        self.opened: list[str] = []

    def open(self, url: str, new: int = 0, autoraise: bool = True) -> bool:
        self.opened.append(url)
        threading.Thread(target=lambda: urllib.request.urlopen(url, timeout=10).read()).start()
        return True


def test_auth_google_stores_a_0600_token_with_only_the_needed_scopes(
    gworld: GoogleWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")  # the emulator speaks http
    browser = _Browser()
    monkeypatch.setattr(webbrowser, "get", lambda using=None: browser)
    gworld.token_path.unlink()
    out = gworld.run("auth", "google", "--client-secrets", str(_secrets(gworld)))
    assert out.code == 0, out.err
    assert "saved the Google authorisation" in out.out
    info = json.loads(gworld.token_path.read_text())
    assert info["refresh_token"] in gworld.emu.refresh_tokens
    # The config has a runs calendar and the output: no free/busy scope asked for.
    assert sorted(info["scopes"]) == sorted(
        [gauth.EVENTS_READONLY, gauth.APP_CREATED, gauth.CALENDARLIST_READONLY]
    )
    assert "calendar.freebusy" not in browser.opened[0]
    assert gworld.token_path.stat().st_mode & 0o777 == 0o600
    # And the token works for a sync.
    gworld.add_run("Intervals 6x800m", "2026-11-24T18:00:00+01:00")
    assert gworld.sync("2026-11-22T20:00").code == 0


def test_auth_google_no_browser_prints_the_url_and_the_ssh_forward(gworld: GoogleWorld) -> None:
    """Run as a user would on a headless server: a real process, the URL opened elsewhere."""
    gworld.token_path.unlink()
    port = _free_port()
    env = dict(os.environ, OAUTHLIB_INSECURE_TRANSPORT="1", PYTHONPATH=str(REPO))
    cmd = [sys.executable, "-m", "calsync", "--config", str(gworld.dir / "config.toml")]
    cmd += ["auth", "google", "--client-secrets", str(_secrets(gworld)), "--no-browser"]
    cmd += ["--port", str(port)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        assert proc.stdout is not None
        seen: list[str] = []
        url = ""
        for line in proc.stdout:
            seen.append(line)
            if line.strip().startswith(gworld.emu.root + "auth?"):
                url = line.strip()
            if "Waiting for the authorisation" in line:
                break
        assert url, "".join(seen)
        assert f"ssh -N -L {port}:localhost:{port}" in "".join(seen)
        urllib.request.urlopen(url, timeout=10).read()  # the user clicks "Allow"
        rest, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    assert "saved the Google authorisation" in rest
    assert json.loads(gworld.token_path.read_text())["refresh_token"]


def test_auth_google_rejects_a_file_that_is_not_client_secrets(gworld: GoogleWorld) -> None:
    bad = gworld.dir / "nonsense.json"
    bad.write_text(json.dumps({"web2": {}}))
    out = gworld.run("auth", "google", "--client-secrets", str(bad))
    assert out.code == 1
    assert "not an OAuth client secrets file" in out.err


def test_doctor_flags_a_token_readable_by_others_and_missing_scopes(gworld: GoogleWorld) -> None:
    gworld.write_token(scopes=(gauth.EVENTS_READONLY,))
    gworld.token_path.chmod(0o644)
    out = gworld.run("doctor")
    assert f"chmod 600 {gworld.token_path}" in out.out
    assert "missing scope calendar.app.created" in out.out
    assert gworld.access not in out.out and gworld.refresh not in out.out  # no secrets shown
    # Both are ✗ lines, and a ✗ is exit status 1 (a timer or script can ask).
    crosses = [ln for ln in out.out.splitlines() if ln.startswith("✗ google")]
    assert len(crosses) >= 2 and out.code == 1


def _auth(gworld: GoogleWorld, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")
    browser = _Browser()
    monkeypatch.setattr(webbrowser, "get", lambda using=None: browser)
    return gworld.run("auth", "google", "--client-secrets", str(_secrets(gworld)))


def test_a_partial_grant_is_saved_and_names_the_box_to_tick(
    gworld: GoogleWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Granular consent: the user unticks a box. oauthlib's "Scope has changed" must not
    lose the grant; calsync keeps what was granted and says which box gives what."""
    gworld.token_path.unlink()
    gworld.emu.untick = {gauth.CALENDARLIST_READONLY}
    out = _auth(gworld, monkeypatch)
    assert out.code == 1
    assert "Scope has changed" not in out.err
    info = json.loads(gworld.token_path.read_text())
    assert sorted(info["scopes"]) == sorted([gauth.EVENTS_READONLY, gauth.APP_CREATED])
    assert "See the list of Google calendars you’re subscribed to" in out.err
    assert "saved the Google authorisation" in out.out
    doctor = gworld.run("doctor")
    assert "missing scope calendar.calendarlist.readonly" in doctor.out
    assert "See the list of Google calendars you’re subscribed to" in doctor.out
    sync = gworld.sync("2026-11-22T20:00")
    assert sync.code == 1 and "See the list of Google calendars" in sync.err
    # Ticking the box the second time completes the authorisation.
    gworld.emu.untick = set()
    again = gworld.run("auth", "google", "--client-secrets", str(_secrets(gworld)))
    assert again.code == 0, again.err
    assert gauth.CALENDARLIST_READONLY in json.loads(gworld.token_path.read_text())["scopes"]


def test_authorising_again_still_gets_a_refresh_token(
    gworld: GoogleWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Google sends a refresh token on the first consent only, unless prompt=consent."""
    gworld.token_path.unlink()
    assert _auth(gworld, monkeypatch).code == 0
    first = json.loads(gworld.token_path.read_text())["refresh_token"]
    out = gworld.run("auth", "google", "--client-secrets", str(_secrets(gworld)))
    assert out.code == 0, out.err
    second = json.loads(gworld.token_path.read_text())["refresh_token"]
    assert second and second != first
