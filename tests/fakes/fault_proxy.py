"""A small HTTP proxy between calsync and a real CalDAV server that injects faults.

`FaultProxy(upstream_url)` listens on 127.0.0.1 and forwards every request to the
server. Before each request it takes the next fault from `faults` (a list the test
fills; empty means no fault):

- "drop_before": close the connection without forwarding: the server never sees it;
- "drop_after": forward, let the server act, then close without answering: the
  client's answer is lost although the change happened;
- "503": answer 503 with `Retry-After: 1` without forwarding;
- "delay": forward after `delay_seconds`, so a client with a shorter timeout gives up
  while the server still acts on the request;
- "403": answer 403 without forwarding (a server that refuses, e.g. MKCALENDAR).

`method_faults` holds faults for one method only ({"MKCALENDAR": ["drop_after"]}), taken
before `faults`; `before` is called with (method, path) before a request is forwarded
(a test makes its "user edit" there, to race calsync's write).

Every request that reaches the proxy is logged in `log` as (method, path, fault), so
tests count the requests a sync makes where it is real: on the wire. With
`hide_sync_collection` the proxy removes sync-collection from supported-report-set
answers, and refuses the REPORT itself, like a server without RFC 6578.
"""

from __future__ import annotations

import http.client
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

FAULTS = ("drop_before", "drop_after", "503", "delay")  # what the property test draws
# Not forwarded: hop-by-hop headers, and Accept-Encoding (the proxy reads the bodies).
_HOP = {
    "connection",
    "keep-alive",
    "transfer-encoding",
    "content-length",
    "host",
    "accept-encoding",
}
_SYNC_REPORT = re.compile(rb"<([A-Za-z0-9]+:)?supported-report>\s*<([A-Za-z0-9]+:)?report>\s*"
                          rb"<([A-Za-z0-9]+:)?sync-collection\s*/>\s*</([A-Za-z0-9]+:)?report>"
                          rb"\s*</([A-Za-z0-9]+:)?supported-report>")  # fmt: skip


class FaultProxy:
    def __init__(self, upstream: str, delay_seconds: float = 1.5) -> None:
        parts = urlsplit(upstream)
        self.upstream_host = parts.hostname or "127.0.0.1"
        self.upstream_port = parts.port or 80
        self.delay_seconds = delay_seconds
        self.faults: list[str] = []
        self.method_faults: dict[str, list[str]] = {}
        self.before: Callable[[str, str], None] | None = None
        self.log: list[tuple[str, str, str]] = []
        self.hide_sync_collection = False
        self._lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

            def __getattr__(self, name: str) -> Any:
                if name.startswith("do_"):
                    return self._handle
                raise AttributeError(name)

            def _handle(self) -> None:
                proxy._serve(self)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.server.handle_error = lambda request, client_address: None  # type: ignore[method-assign]
        self.port = int(self.server.server_address[1])
        self.url = f"http://127.0.0.1:{self.port}/"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    # ------------------------------------------------------------------ control

    def start(self) -> FaultProxy:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def reset(self) -> None:
        with self._lock:
            self.faults = []
            self.method_faults = {}
            self.before = None
            self.log = []

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for method, _path, _fault in self.log:
            out[method] = out.get(method, 0) + 1
        return out

    def writes(self) -> list[tuple[str, str]]:
        return [(m, p) for m, p, _ in self.log if m in ("PUT", "DELETE", "MKCALENDAR")]

    # ------------------------------------------------------------------ one request

    def _serve(self, h: BaseHTTPRequestHandler) -> None:
        length = int(h.headers.get("Content-Length") or 0)
        body = h.rfile.read(length) if length else b""
        with self._lock:
            mine = self.method_faults.get(h.command)
            if mine:
                fault = mine.pop(0)
            else:
                fault = self.faults.pop(0) if self.faults else ""
            self.log.append((h.command, h.path, fault))
            before = self.before
        if fault == "drop_before":
            return self._drop(h)
        if fault == "503":
            return self._answer(h, 503, [("Retry-After", "1")], b"busy\n")
        if fault == "403":
            return self._answer(h, 403, [("Content-Type", "text/plain")], b"forbidden\n")
        if before is not None:
            before(h.command, h.path)
        if fault == "delay":
            time.sleep(self.delay_seconds)
        if self.hide_sync_collection and h.command == "REPORT" and b"sync-collection" in body:
            return self._answer(h, 403, [("Content-Type", "text/plain")], b"not supported\n")
        conn = http.client.HTTPConnection(self.upstream_host, self.upstream_port, timeout=30)
        try:
            headers = {k: v for k, v in h.headers.items() if k.lower() not in _HOP}
            conn.request(h.command, h.path, body=body, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
            out_headers = [(k, v) for k, v in resp.getheaders() if k.lower() not in _HOP]
            status = resp.status
        finally:
            conn.close()
        if fault == "drop_after":
            return self._drop(h)
        if self.hide_sync_collection and h.command == "PROPFIND":
            data = _SYNC_REPORT.sub(b"", data)
        self._answer(h, status, out_headers, data)

    @staticmethod
    def _answer(
        h: BaseHTTPRequestHandler, status: int, headers: list[tuple[str, str]], data: bytes
    ) -> None:
        try:
            h.send_response(status)
            for k, v in headers:
                h.send_header(k, v)
            h.send_header("Content-Length", str(len(data)))
            h.end_headers()
            if h.command != "HEAD":
                h.wfile.write(data)
            h.wfile.flush()
        except OSError:
            h.close_connection = True

    @staticmethod
    def _drop(h: BaseHTTPRequestHandler) -> None:
        h.close_connection = True
        with suppress(OSError):
            h.connection.shutdown(socket.SHUT_RDWR)


@contextmanager
def fault_proxy(upstream: str, delay_seconds: float = 1.5) -> Iterator[FaultProxy]:
    proxy = FaultProxy(upstream, delay_seconds).start()
    try:
        yield proxy
    finally:
        proxy.stop()
