"""The feed's addresses: where subscribers reach `calsync serve` (`[feed] base_url`, else
the listen address), the two feed URLs and the page's, their webcal:// forms, and the
token hidden for logs. No I/O beyond naming this host (`socket.getfqdn()` for a server
listening on every address).
"""

from __future__ import annotations

import socket
from dataclasses import dataclass

from calsync.config import Config


@dataclass(frozen=True, slots=True)
class FeedUrls:
    strength: str
    busy: str

    @property
    def strength_webcal(self) -> str:
        return _webcal(self.strength)

    @property
    def busy_webcal(self) -> str:
        return _webcal(self.busy)

    @property
    def page(self) -> str:
        """The week view page: the folder both feeds are in."""
        return self.strength.rpartition("/")[0] + "/"


def _webcal(url: str) -> str:
    for scheme in ("https://", "http://"):
        if url.startswith(scheme):
            return "webcal://" + url[len(scheme) :]
    return url


def base_url(config: Config, listen: str | None = None) -> str:
    """Where subscribers reach the server: `[feed] base_url`, else http://<listen>."""
    if config.feed.base_url:
        return config.feed.base_url
    hostport = listen or config.feed.listen
    host, _, port = hostport.rpartition(":")
    if host in ("0.0.0.0", "[::]", "::", ""):
        host = socket.getfqdn()
    return f"http://{host}:{port}"


def loopback_host(url: str) -> str | None:
    """The host of `url` when only this machine can reach it (localhost, 127.0.0.0/8,
    ::1), else None."""
    import ipaddress
    import urllib.parse

    host = urllib.parse.urlsplit(url).hostname or ""
    if host == "localhost" or host.endswith(".localhost"):
        return host
    try:
        return host if ipaddress.ip_address(host).is_loopback else None
    except ValueError:
        return None


def feed_urls(config: Config, token: str, listen: str | None = None) -> FeedUrls:
    base = base_url(config, listen)
    return FeedUrls(f"{base}/{token}/strength.ics", f"{base}/{token}/busy.ics")


def redact(url: str, token: str) -> str:
    """The URL with all but the first 4 characters of the token hidden, for logs."""
    return url.replace(token, token[:4] + "…")
