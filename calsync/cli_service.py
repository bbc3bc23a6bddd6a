"""The service commands: `calsync serve`, `calsync daemon`, `calsync feed-url`.

Registered on the main group by `calsync.cli`; they get the global options through the
`AppContext` in `ctx.obj`. Like cli.py, this module may print.
"""

from __future__ import annotations

import logging
import signal
from types import FrameType
from typing import TYPE_CHECKING

import click

from calsync.config import _LISTEN

if TYPE_CHECKING:
    from calsync.cli_context import AppContext
    from calsync.config import Config

log = logging.getLogger("calsync.service")


def _check_listen(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is None:
        return None
    m = _LISTEN.match(value)
    # Port 0 is allowed here (not in the config): the OS picks a free port, logged at start.
    if not m or not 0 <= int(m.group(2)) < 65536:
        raise click.BadParameter(f"{value!r} is not HOST:PORT like '127.0.0.1:8765'")
    return value


@click.command()
@click.option(
    "--listen",
    callback=_check_listen,
    metavar="HOST:PORT",
    help="Address to serve on (default: [feed] listen, 127.0.0.1:8765).",
)
@click.option(
    "--sync/--no-sync",
    "with_sync",
    default=False,
    help="Also run the sync loop in this process (else rely on `calsync daemon`/the timer).",
)
@click.option("--threads", default=8, show_default=True, type=click.IntRange(1, 64))
@click.pass_obj
def serve(app: AppContext, listen: str | None, with_sync: bool, threads: int) -> None:
    """Serve the strength calendar as an ICS feed to subscribe to, and the week view page.

    Serves what the last sync wrote to the state file, re-read whenever it changes: the
    feeds, the plan as JSON and the page at http://HOST:PORT/TOKEN/. With
    --sync this process also syncs every [daemon] interval; without it, run `calsync
    daemon` or the systemd timer beside it. `calsync feed-url` prints the address.

    \b
    Examples:
      calsync serve
      calsync serve --sync --listen 127.0.0.1:8765
    """
    from calsync import feed, feed_server
    from calsync.daemon import Daemon, run_in_thread, setup_service_logging

    setup_service_logging(app.verbose)
    daemon: Daemon | None = None

    # The handlers go in before the first log line: a supervisor (or a test) that reads
    # "listening on" and stops the server at once must find SIGTERM handled, not fatal.
    def on_stop(signum: int, frame: FrameType | None) -> None:
        log.info("got %s: shutting down", signal.Signals(signum).name)
        raise SystemExit(0)  # waitress's run() catches it and closes its threads

    def on_hup(signum: int, frame: FrameType | None) -> None:
        if daemon is not None:
            daemon.request_reload()
        else:
            log.info("got SIGHUP: nothing to reload (restart to change the listen address)")

    signal.signal(signal.SIGTERM, on_stop)
    signal.signal(signal.SIGHUP, on_hup)
    config = app.load_config()
    token = feed.feed_token(config)
    wsgi = feed.FeedApp(
        feed.FeedSource(config.state_path),
        token,
        base_url=config.feed.base_url or None,
        # The page marks today by this clock: --now serves it as of then.
        wall_clock=lambda: app.now(config),
    )
    server = feed_server.create_server(wsgi, listen or config.feed.listen, threads=threads)
    bound = feed_server.bound_addresses(server)
    _log_addresses(config, token, bound)

    thread = None
    if with_sync:
        daemon = Daemon(
            config,
            reload_config=app.reload_config,
            now=lambda: app.now(daemon.config if daemon else config),
        )
        thread = run_in_thread(daemon)
    else:
        log.info("not syncing in this process: `calsync daemon` or the timer keeps the feed fresh")

    from calsync.notify import notify

    notify("READY=1", f"STATUS=serving on {', '.join(bound)}")
    try:
        server.run()
    finally:
        notify("STOPPING=1")
        server.close()
        if daemon is not None and thread is not None:
            from calsync.sources.limits import interrupt_all

            daemon.request_stop()
            interrupt_all()  # a calendar being read stops now; a sync writing commits
            thread.join(timeout=60)  # let a sync under way commit
            daemon.close()
        log.info("feed server stopped")


def _log_addresses(config: Config, token: str, bound: list[str]) -> None:
    """Where the server listens, a warning when it is exposed with no front, and the
    addresses to subscribe to (with the token hidden)."""
    from calsync import feed_server, feed_urls

    for addr in bound:
        log.info("feed server listening on http://%s/", addr)
    exposed = feed_server.exposure_warning(bound, config.feed.base_url)
    if exposed:
        log.warning("%s", exposed)
    urls = feed_urls.feed_urls(config, token, None if config.feed.base_url else bound[0])
    # The token is a secret: logs show only its start; `calsync feed-url` prints it all.
    log.info("subscribe to %s", feed_urls.redact(urls.strength, token))
    log.info("         or %s", feed_urls.redact(urls.strength_webcal, token))
    log.info(
        "busy-only feed %s (run `calsync feed-url` for the full URLs)",
        feed_urls.redact(urls.busy, token),
    )
    log.info("week view page %s", feed_urls.redact(urls.page, token))


@click.command()
@click.pass_obj
def daemon(app: AppContext) -> None:
    """Keep the outputs current: sync every [daemon] interval until stopped.

    Backs off after failures (up to [daemon] max_backoff). SIGTERM/SIGINT finish the
    sync under way and exit; SIGHUP re-reads the config (a broken one is reported and the
    old one kept). Speaks sd_notify under systemd (Type=notify, WatchdogSec=).

    \b
    Examples:
      calsync daemon
      systemctl --user enable --now calsync.service
    """
    from calsync.daemon import Daemon, setup_service_logging

    setup_service_logging(app.verbose)
    config = app.load_config()
    loop = Daemon(config, reload_config=app.reload_config, now=lambda: app.now(loop.config))
    loop.install_signal_handlers()
    try:
        loop.run()
    finally:
        loop.close()


@click.command("feed-url")
@click.option("--webcal", is_flag=True, help="Print only the webcal:// form.")
@click.option("--busy", is_flag=True, help="The busy-only feed (for a work calendar).")
@click.option("--page", is_flag=True, help="Print only the week view page's URL.")
@click.pass_obj
def feed_url(app: AppContext, webcal: bool, busy: bool, page: bool) -> None:
    """Print the feed's subscription URL (makes the token on first use).

    Paste the http URL into "subscribe by URL" (Google Calendar: Other calendars > From
    URL), or open the webcal one on a phone or Mac. Behind a reverse proxy, set
    [feed] base_url to the public address; a loopback URL gets a warning, since a
    calendar service cannot reach it. With --page: the address of the week view, which
    also has "Add to calendar" links.
    """
    from calsync import feed, feed_urls

    config = app.load_config()
    urls = feed_urls.feed_urls(config, feed.feed_token(config))
    if page:
        click.echo(urls.page)
        return
    http = urls.busy if busy else urls.strength
    cal = urls.busy_webcal if busy else urls.strength_webcal
    if webcal:
        click.echo(cal)
    else:
        click.echo(http)
        click.echo(cal)
    where = feed_urls.loopback_host(http)
    if where is not None:
        click.echo(
            f"warning: {where} is this machine only: a calendar service (Google Calendar, "
            "iCloud, Outlook) cannot reach it. Serve the feed behind a reverse proxy with "
            "TLS, or a private tunnel, and set [feed] base_url to its public address "
            '(README: "Exposing the feed").',
            err=True,
        )
