"""`calsync auth google` and the Google lines of `calsync doctor`.

The consent flow is google-auth-oauthlib's installed-app flow: a local web server waits
for Google's redirect. With --no-browser the URL is printed instead, with the ssh port
forward a headless server needs (the redirect goes to localhost on the machine that
runs the browser).
"""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Any

import click

from calsync.config import Config, GoogleSettings, default_config, default_config_path
from calsync.errors import AuthError, CalsyncError, MissingExtraError
from calsync.extras import require

# calsync.google.auth (google-auth and its crypto) is imported inside the commands that
# use it: `calsync --help` must not pay for it, and it is an optional extra.

NO_BROWSER_PORT = 8085


def _config(app: Any) -> Config:
    """The config when there is one; `auth google` also works before it is written."""
    path = getattr(app, "config_path", None)
    if path is not None or default_config_path().exists():
        config: Config = app.load_config()
        return config
    return default_config()


@click.group()
def auth() -> None:
    """Authorise calsync to use a calendar service."""


@auth.command("google")
@click.option(
    "--client-secrets",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    required=True,
    help="The OAuth client file (type 'Desktop app') from Google Cloud Console.",
)
@click.option(
    "--no-browser",
    is_flag=True,
    help="Print the URL instead of opening a browser (headless servers: see the ssh hint).",
)
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=None,
    help=f"Local port for Google's redirect (default: any free one; {NO_BROWSER_PORT} "
    "with --no-browser).",
)
@click.pass_obj
def google(app: Any, client_secrets: Path, no_browser: bool, port: int | None) -> None:
    """Let calsync read your runs and write its strength calendar in Google Calendar.

    Asks only for the scopes your config needs: read-only events for runs calendars,
    free/busy for busy calendars, and access to calendars calsync creates for the
    output. The token is stored in the state dir with mode 0600.

    \b
    Examples:
      calsync auth google --client-secrets ~/Downloads/client_secret.json
      calsync auth google --client-secrets secret.json --no-browser --port 8085
    """
    require("google", "calsync auth google")
    from calsync.google import auth as gauth

    config = _config(app)
    scopes = gauth.needed_scopes(config)
    if port is None:
        port = NO_BROWSER_PORT if no_browser else 0
    click.echo("calsync asks Google for:")
    for s in scopes:
        click.echo(f"  {s.rsplit('/', 1)[-1]}: {gauth.SCOPES[s]}")
    if no_browser:
        prompt = (
            "\nOpen this URL in a browser on your own computer:\n\n    {url}\n\n"
            f"Google then redirects to http://localhost:{port}/ on that computer. When calsync "
            "runs on a remote server, forward the port first, from your computer:\n\n"
            f"    ssh -N -L {port}:localhost:{port} USER@SERVER\n\n"
            "Waiting for the authorisation..."
        )
    else:
        prompt = "\nYour browser opens Google's consent page; if it does not, open:\n\n    {url}\n"
    creds = gauth.run_flow(
        client_secrets,
        scopes,
        port=port,
        open_browser=not no_browser,
        prompt=prompt,
        success_message="calsync is authorised. You may close this window.",
    )
    if not creds.refresh_token:
        raise AuthError(
            "Google sent no refresh token, so calsync could not stay authorised",
            hint="remove calsync's access at https://myaccount.google.com/permissions "
            "and run `calsync auth google` again",
        )
    path = gauth.token_path(config)
    try:
        gauth.save_credentials(creds, path)
    except OSError as e:
        raise AuthError(
            f"{path}: cannot save the Google authorisation: {e.strerror or e}"
        ) from None
    click.echo(f"saved the Google authorisation to {path} (mode 0600)")
    held = set(creds.scopes or ())
    missing = [s for s in scopes if s not in held]
    if missing:
        raise AuthError(
            "Google granted only part of what calsync asked for: "
            + ", ".join(gauth.short(s) for s in missing)
            + " was left unticked on the consent screen",
            hint=f"{gauth.REAUTH} again and tick " + gauth.tick_hint(missing),
        )


def doctor_lines(config: Config) -> list[str]:
    """What `calsync doctor` says about Google: token file, scopes held and what for."""
    try:
        require("google", "the config")
    except MissingExtraError as e:
        return [f"google:    PROBLEM: {e.message}"]
    from calsync.google import auth as gauth

    path = gauth.token_path(config)
    lines: list[str] = []
    if config.google.api_endpoint != GoogleSettings().api_endpoint:
        lines.append(f"google:    API endpoint {config.google.api_endpoint}")
    try:
        info = gauth.read_token_file(path)
    except AuthError as e:
        return [*lines, f"google:    PROBLEM: {e.message}"]
    if info is None:
        return [*lines, f"google:    PROBLEM: not authorised ({path} missing): {gauth.REAUTH}"]
    mode = stat.S_IMODE(path.stat().st_mode)
    lines.append(f"google:    token {path} (mode {mode:04o})")
    if mode & 0o077:
        lines.append(f"google:    PROBLEM: the token is readable by others: chmod 600 {path}")
    held = [str(s) for s in info.get("scopes") or ()]
    for s in held:
        lines.append(
            f"  scope {s.rsplit('/', 1)[-1]}: {gauth.SCOPES.get(s, 'not used by calsync')}"
        )
    for s in gauth.needed_scopes(config):
        if s not in held:
            lines.append(
                f"google:    PROBLEM: missing scope {gauth.short(s)} "
                f"(to {gauth.SCOPES[s]}): {gauth.REAUTH} and tick the box "
                f"{gauth.CONSENT_BOXES.get(s, gauth.short(s))!r}"
            )
    if not info.get("refresh_token"):
        lines.append(f"google:    PROBLEM: the token has no refresh token: {gauth.REAUTH}")
    if info.get("expiry"):
        lines.append(f"  access token expires {info['expiry']} (refreshed automatically)")
    if config.output_google is not None:
        from calsync.sinks.google_write import quota_pause

        try:
            until = quota_pause(config)
        except CalsyncError as e:
            lines.append(f"google:    PROBLEM: {e.message}")
            until = None
        if until is not None:
            lines.append(
                "google:    PROBLEM: Google Calendar usage limits exceeded: writes paused "
                f"until {until:%Y-%m-%d %H:%M} UTC (reads go on)"
            )
    if config.output_google is not None and config.state_path.exists():
        from calsync.sinks.google import OUTPUT
        from calsync.state import StateStore

        name = config.output_google.calendar
        with StateStore(config.state_path).reader() as view:
            cal_id = view.calendar(OUTPUT, name)
        lines.append(
            f"google:    calendar {name!r}: {cal_id}"
            if cal_id
            else f"google:    calendar {name!r}: not made yet (the first sync makes it)"
        )
    return lines
