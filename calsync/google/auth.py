"""Google OAuth for an installed app: the consent flow, the token file, refresh errors.

The token is `Credentials.to_json()` (access token, refresh token, client id/secret,
token URI, scopes, expiry) in a 0600 file in the state dir. google-auth refreshes the
access token when it expires; calsync writes the refreshed token back after each use.

Least privilege: calsync asks only for the scopes its config needs, each the narrowest
Google has for the job (see SCOPES).
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

from google.oauth2.credentials import Credentials

from calsync.atomic import write_file
from calsync.config import Config
from calsync.errors import AuthError
from calsync.model import Role

log = logging.getLogger(__name__)

_BASE = "https://www.googleapis.com/auth/"
EVENTS_READONLY = _BASE + "calendar.events.readonly"
FREEBUSY = _BASE + "calendar.freebusy"
APP_CREATED = _BASE + "calendar.app.created"
CALENDARLIST_READONLY = _BASE + "calendar.calendarlist.readonly"

# Every scope calsync may ask for, and what it is used for (shown by `calsync doctor`).
SCOPES: dict[str, str] = {
    EVENTS_READONLY: "read the runs in your calendars (read-only)",
    FREEBUSY: "read only busy/free time of your busy calendars",
    APP_CREATED: "create the strength calendar and write only in calendars calsync created",
    CALENDARLIST_READONLY: "see the names of your calendars, so calsync finds the strength "
    "calendar it made before instead of making a second one (after a lost answer from "
    "Google or a lost state folder); calendar.app.created alone cannot list calendars",
}

# The box for each scope on Google's consent screen (the scope's description in Google's
# discovery document, which is the text the screen shows).
CONSENT_BOXES: dict[str, str] = {
    EVENTS_READONLY: "View events on all your calendars",
    FREEBUSY: "View your availability in your calendars",
    APP_CREATED: "Make secondary Google calendars, and see, create, change, and delete "
    "events on them",
    CALENDARLIST_READONLY: "See the list of Google calendars you’re subscribed to",
}

REAUTH = "run `calsync auth google --client-secrets FILE`"
TESTING_HINT = (
    'apps in Google\'s "Testing" publishing status get refresh tokens that expire after '
    '7 days; publish the OAuth app ("In production") for lasting authorisation'
)


def token_path(config: Config) -> Path:
    return config.google.token_path or config.state_dir / "google-token.json"


def needed_scopes(config: Config) -> list[str]:
    """The scopes this config needs; all three when it names no Google part yet."""
    need = []
    google = [s for s in config.sources if s.type == "google"]
    if any(s.role is Role.RUNS for s in google):
        need.append(EVENTS_READONLY)
    if any(s.role is Role.BUSY for s in google):
        need.append(FREEBUSY)
    if config.output_google is not None:
        # calendars.insert chooses the new calendar's id, and calendar.app.created may
        # not list calendars (calendarList.list is not among its methods in Google's
        # discovery document): without a scope that lists them, an insert whose answer
        # is lost, or a lost state folder, would make a second calendar. The narrowest
        # scope that lists calendars is calendarlist.readonly (names and colours, no
        # events).
        need += [APP_CREATED, CALENDARLIST_READONLY]
    return need or list(SCOPES)


def read_token_file(path: Path) -> dict[str, Any] | None:
    """The stored token as JSON, None when there is none; AuthError when unreadable."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as e:
        raise AuthError(f"{path}: cannot read the Google token: {e}") from None
    try:
        info = json.loads(text)
    except ValueError:
        raise AuthError(f"{path}: the Google token is not JSON", hint=REAUTH) from None
    if not isinstance(info, dict):
        raise AuthError(f"{path}: the Google token is not a JSON object", hint=REAUTH)
    return info


def load_credentials(config: Config) -> Credentials:
    path = token_path(config)
    info = read_token_file(path)
    if info is None:
        raise AuthError(f"no Google authorisation ({path} does not exist): {REAUTH}")
    try:
        creds: Credentials = Credentials.from_authorized_user_info(info)  # type: ignore[no-untyped-call]
    except (ValueError, KeyError) as e:
        raise AuthError(f"{path}: the Google token is incomplete ({e})", hint=REAUTH) from None
    # from_authorized_user_info always sets Google's token endpoint; the configured one
    # wins, so the same code refreshes against Google or a local emulator.
    expiry = creds.expiry
    creds = creds.with_token_uri(config.google.token_uri)
    creds.expiry = expiry  # the copy forgets it, and would never refresh before a call
    held = set(creds.scopes or ())
    missing = [s for s in needed_scopes(config) if held and s not in held]
    if missing:
        raise AuthError(
            f"the Google authorisation in {path} lacks {', '.join(short(s) for s in missing)}",
            hint=f"{REAUTH} and tick " + tick_hint(missing),
        )
    return creds


def short(scope: str) -> str:
    return scope.rsplit("/", 1)[-1]


def tick_hint(missing: list[str]) -> str:
    """Which box on Google's consent screen to tick, and what calsync does with it."""
    return "; ".join(
        f"the box {CONSENT_BOXES.get(s, short(s))!r} (calsync uses it to {SCOPES.get(s, '?')})"
        for s in missing
    )


def granted(creds: Credentials, requested: list[str]) -> list[str]:
    """The scopes the user really granted: Google's consent screen lets them untick any."""
    got = getattr(creds, "granted_scopes", None)
    return sorted(str(s) for s in got) if got else sorted(requested)


def save_credentials(creds: Credentials, path: Path) -> None:
    """Write the token atomically with mode 0600 (the directory 0700 when we create it)."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    write_file(path, str(creds.to_json()), mode=0o600)  # type: ignore[no-untyped-call]


def auth_error(exc: BaseException) -> AuthError | None:
    """The user's message for a failed token refresh, or None when it is not one."""
    if type(exc).__name__ != "RefreshError":
        return None
    text = str(exc)
    if "invalid_grant" in text:
        return AuthError(f"Google authorisation expired or revoked: {REAUTH}", hint=TESTING_HINT)
    return AuthError(f"Google refused to refresh the authorisation ({text[:200]}): {REAUTH}")


def run_flow(
    client_secrets: Path,
    scopes: list[str],
    *,
    port: int,
    open_browser: bool,
    prompt: str,
    success_message: str,
    timeout_seconds: float = 600,
) -> Credentials:
    """The installed-app consent flow: a local server receives Google's redirect."""
    from google_auth_oauthlib.flow import InstalledAppFlow

    try:
        flow = InstalledAppFlow.from_client_secrets_file(str(client_secrets), scopes=scopes)
    except (ValueError, KeyError, OSError) as e:
        raise AuthError(
            f"{client_secrets}: not an OAuth client secrets file ({e})",
            hint="download it from Google Cloud Console > APIs & Services > Credentials "
            "(an OAuth client ID of type 'Desktop app')",
        ) from None
    # Granular consent: the user may untick scopes. oauthlib then raises "Scope has
    # changed" unless told to accept it; calsync compares the grant with what it needs
    # itself (see `granted`).
    relax = os.environ.get("OAUTHLIB_RELAX_TOKEN_SCOPE")
    os.environ["OAUTHLIB_RELAX_TOKEN_SCOPE"] = "1"
    try:
        creds: Credentials = flow.run_local_server(
            host="localhost",
            port=port,
            open_browser=open_browser,
            authorization_prompt_message=prompt,
            success_message=success_message,
            timeout_seconds=timeout_seconds,
            # The consent screen every time: Google sends a refresh token only on the
            # first consent otherwise, and a re-authorisation would come back without one.
            prompt="consent",
            access_type="offline",
        )
    except Exception as e:  # oauthlib raises many types; all mean "no token"
        if isinstance(e, AuthError):
            raise
        if type(e).__name__ == "WSGITimeoutError":
            raise AuthError(
                f"no answer from Google within {timeout_seconds:g} s: the consent page was "
                "not completed, or its redirect did not reach this machine",
                hint="on a remote server, forward the port with ssh as printed above",
            ) from None
        raise AuthError(f"Google authorisation failed: {type(e).__name__}: {e}") from None
    finally:
        if relax is None:
            os.environ.pop("OAUTHLIB_RELAX_TOKEN_SCOPE", None)
        else:
            os.environ["OAUTHLIB_RELAX_TOKEN_SCOPE"] = relax
    # Keep the granted scopes as the credentials' scopes: what is saved, what doctor
    # shows, and what a refresh asks for.
    scopes_granted = granted(creds, scopes)
    out: Credentials = Credentials(  # type: ignore[no-untyped-call]
        creds.token,
        refresh_token=creds.refresh_token,
        token_uri=creds.token_uri,
        client_id=creds.client_id,
        client_secret=creds.client_secret,
        scopes=scopes_granted,
        granted_scopes=scopes_granted,
        expiry=creds.expiry,
    )
    return out
