"""The feed's HTTP server: waitress with the feed's request limits (what they buy against
slow clients), a channel that answers a GET sent with `Expect: 100-continue`, waitress's
queue warnings rate-limited, and the warning for a server exposed with no front. The
app it serves is `calsync.feed.FeedApp`.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from calsync.errors import ConfigError

if TYPE_CHECKING:
    from calsync.feed import FeedApp

log = logging.getLogger("calsync.feed")  # the name the feed's log lines have always had

# waitress limits: a feed request is a request line and a few headers, never a body.
# What they buy against slow clients (README "What `calsync serve` withstands"): an idle
# connection is closed after `channel_timeout` (checked every `cleanup_interval`), and
# `connection_limit` connections are served at once (poll(), so past select()'s 1024
# descriptors); beyond that new ones wait in the kernel's `backlog`. A client that
# trickles a header line every few seconds is never idle: only a front (nginx's
# client_header_timeout, deploy/nginx/calsync.conf) bounds it.
WAITRESS_LIMITS: Mapping[str, Any] = {
    "max_request_header_size": 16 * 1024,
    "max_request_body_size": 1024,
    "channel_timeout": 15,
    "cleanup_interval": 5,
    "connection_limit": 1000,
    "asyncore_use_poll": True,
    "backlog": 1024,
    "ident": "calsync",
    "clear_untrusted_proxy_headers": True,
}
QUEUE_WARNING_SECONDS = 60.0  # waitress's "Task queue depth" warning: once a minute at most


def create_server(app: FeedApp, listen: str, *, threads: int = 8) -> Any:
    """A waitress server bound to `listen` (HOST:PORT), with the feed's request limits."""
    from waitress import create_server as waitress_server
    from waitress.server import BaseWSGIServer

    limits = dict(WAITRESS_LIMITS)
    limits["connection_limit"] = _connection_limit(int(limits["connection_limit"]))
    _quiet_queue_warnings()
    sockets: dict[int, Any] = {}
    try:
        server = waitress_server(app, map=sockets, listen=listen, threads=threads, **limits)
    except (OSError, ValueError) as e:  # waitress: ValueError for a host it cannot parse
        raise ConfigError("[feed] listen", [f"cannot listen on {listen}: {e}"]) from None
    for dispatcher in sockets.values():
        if isinstance(dispatcher, BaseWSGIServer):
            dispatcher.channel_class = _channel_class()
    return server


def _connection_limit(wanted: int) -> int:
    """`wanted`, with the open-files limit raised to fit it when the hard limit allows;
    else what fits (each connection is a descriptor)."""
    import resource

    spare = 64  # the state file, the listening sockets, logs
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need = wanted + spare
    if soft != resource.RLIM_INFINITY and soft < need:
        new = need if hard == resource.RLIM_INFINITY else min(need, hard)
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (new, hard))
        soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
        if soft < need:
            log.warning(
                "open-files limit %d: serving at most %d connections at once", soft, soft - spare
            )
            return max(soft - spare, 16)
    return wanted


_CHANNEL: Any = None


def _channel_class() -> Any:
    """waitress's channel, answering a GET that says `Expect: 100-continue`.

    waitress sends the 100 and then waits for a body that a GET never sends (the client
    waits too: the request hangs). A request without a body gets its answer instead,
    which RFC 9110 allows (the 100 is only an invitation to send the body)."""
    global _CHANNEL
    if _CHANNEL is None:
        from waitress.channel import HTTPChannel
        from waitress.parser import HTTPRequestParser

        class Parser(HTTPRequestParser):  # type: ignore[misc]
            def parse_header(self, header_plus: bytes) -> None:
                super().parse_header(header_plus)
                body = bool(getattr(self, "chunked", False) or getattr(self, "content_length", 0))
                if not body:
                    self.expect_continue = False

        class Channel(HTTPChannel):  # type: ignore[misc]
            parser_class = Parser

        _CHANNEL = Channel
    return _CHANNEL


class _RateLimit(logging.Filter):
    """Lets one "Task queue depth" warning through per interval, saying how many it
    held back: under load waitress logs one per request (73k lines in 4 minutes)."""

    def __init__(self, seconds: float) -> None:
        super().__init__()
        self.seconds = seconds
        self.last = -seconds
        self.held = 0
        self.lock = threading.Lock()

    def filter(self, record: logging.LogRecord) -> bool:
        if not str(record.msg).startswith("Task queue depth"):
            return True
        now = time.monotonic()
        with self.lock:
            if now - self.last < self.seconds:
                self.held += 1
                return False
            if self.held:
                record.msg = f"{record.msg} ({self.held} more such warnings held back)"
            self.last, self.held = now, 0
        return True


def _quiet_queue_warnings() -> None:
    queue_log = logging.getLogger("waitress.queue")
    if not any(isinstance(f, _RateLimit) for f in queue_log.filters):
        queue_log.addFilter(_RateLimit(QUEUE_WARNING_SECONDS))


def exposure_warning(bound: list[str], base_url: str) -> str | None:
    """A warning when the server listens beyond loopback with no front named: waitress
    alone serves `connection_limit` slow clients at most."""
    import ipaddress

    exposed = []
    for addr in bound:
        host = addr.rsplit(":", 1)[0].strip("[]")
        try:
            loopback = ipaddress.ip_address(host).is_loopback
        except ValueError:
            loopback = host == "localhost"
        if not loopback:
            exposed.append(addr)
    if not exposed or base_url:
        return None
    return (
        f"listening on {', '.join(exposed)}, beyond this machine, with no front: a few hundred"
        " slow clients can hold every connection. Put a reverse proxy in front (the shipped"
        " deploy/nginx/calsync.conf) and set [feed] base_url to its public URL"
    )


def bound_addresses(server: Any) -> list[str]:
    """HOST:PORT of each socket the server listens on (the real port when 0 was asked)."""
    pairs = getattr(server, "effective_listen", None)
    if pairs is None:
        pairs = [(server.effective_host, server.effective_port)]
    out = []
    for host, port in pairs:
        out.append(f"[{host}]:{port}" if ":" in str(host) else f"{host}:{port}")
    return out
