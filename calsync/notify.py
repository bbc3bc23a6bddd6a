"""The systemd notify protocol (sd_notify), in a few lines of stdlib.

systemd passes a datagram socket in `NOTIFY_SOCKET` to services of `Type=notify`; a
service says "READY=1" when it is up, "WATCHDOG=1" to prove it is alive, "STATUS=..." for
`systemctl status`, and "STOPPING=1" on the way out. Without `NOTIFY_SOCKET` every call
is a no-op, so the same code runs under systemd, in a terminal and in tests.
"""

from __future__ import annotations

import logging
import os
import socket

log = logging.getLogger(__name__)


def notify(*fields: str) -> bool:
    """Send `fields` (e.g. "READY=1", "STATUS=syncing") to systemd; True if sent."""
    addr = os.environ.get("NOTIFY_SOCKET", "")
    if not addr or not fields:
        return False
    if addr[0] == "@":  # abstract namespace socket
        addr = "\0" + addr[1:]
    elif addr[0] != "/":
        log.debug("NOTIFY_SOCKET %r is neither a path nor abstract; not notifying", addr)
        return False
    payload = "\n".join(fields).encode("utf-8", "replace")
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as s:
            s.connect(addr)
            s.sendall(payload)
    except OSError as e:
        log.debug("sd_notify to %s failed: %s", addr, e)
        return False
    return True


def watchdog_seconds() -> float | None:
    """The watchdog timeout systemd expects pings within, or None when there is none.

    `WATCHDOG_USEC` is set with `WatchdogSec=`; `WATCHDOG_PID`, when set, names the one
    process meant (a child that inherited the environment must not ping for its parent).
    """
    usec = os.environ.get("WATCHDOG_USEC", "")
    pid = os.environ.get("WATCHDOG_PID", "")
    if not usec:
        return None
    if pid and pid != str(os.getpid()):
        return None
    try:
        value = int(usec)
    except ValueError:
        return None
    return value / 1_000_000 if value > 0 else None
