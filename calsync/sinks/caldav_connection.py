"""The CalDAV sink's one connection to its server, shared by its reader and writer.

One `caldav` client opened on first use, every HTTP answer counted (what
`SinkReport.requests` reports), 5xx and 429 turned into retryable errors, and whatever
the library or the network raises turned into the sink's own `SinkError`, naming the
URL it was working on (`target`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from calsync import dav, retry
from calsync.config import CaldavOutput
from calsync.errors import CalsyncError, SinkError


class CaldavConnection:
    def __init__(self, out: CaldavOutput) -> None:
        self.label = out.label
        url = dav.check_url(out.url, "[output.caldav]", SinkError)
        self.account = dav.DavAccount.make(
            url=url,
            username=out.username,
            password_file=out.password_file,
            timeout=out.timeout_seconds,
            label=self.label,
            what="[output.caldav]",
            error=SinkError,
        )
        self.policy = retry.Policy(
            max_attempts=5, max_seconds=max(20.0, 4 * out.timeout_seconds), initial_wait=0.5
        )
        self.requests = 0  # HTTP answers received (auth round trips included)
        self._client: Any = None
        self.target = self.account.url  # what an error names

    def open(self) -> Any:
        if self._client is None:
            client = self.account.client(self.account.password())
            client.__enter__()

            def count(response: Any, *args: Any, **kwargs: Any) -> Any:
                self.requests += 1
                return response

            client.session.hooks.setdefault("response", []).append(count)
            self._client = client
        return self._client

    def close(self) -> None:
        if self._client is not None:
            try:
                self._client.__exit__(None, None, None)
            finally:
                self._client = None

    def send(
        self, method: str, url: str, body: str = "", headers: dict[str, str] | None = None
    ) -> Any:
        """One request; 5xx and 429 become TransientError (the library raises 401/403)."""
        client = self.open()
        what = f"{method} {url}"
        resp = dav.transient(lambda: client.request(url, method, body, headers or {}), what)
        if resp.status >= 500 or resp.status == 429:
            ra = retry.parse_retry_after(resp.headers.get("Retry-After"))
            raise retry.TransientError(f"{what}: HTTP {resp.status}", retry_after=ra)
        return resp

    def read_call(self, fn: Callable[[], Any]) -> Any:
        """A read, retried under the policy (reads are safe to repeat)."""
        return retry.call(fn, self.policy)

    def fail(self, e: BaseException) -> CalsyncError:
        if isinstance(e, CalsyncError):
            return e
        if isinstance(e, retry.TransientError) and e.__cause__ is None:
            return SinkError(f"{self.label}: CalDAV server failed ({e})")
        return self.account.translate(e, self.target)

    def guard(self, fn: Callable[[], Any]) -> Any:
        try:
            return fn()
        except dav.errors_to_translate() as e:
            raise self.fail(e) from None
