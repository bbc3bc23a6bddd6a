"""The Google Calendar API client: the real google-api-python-client, retried and counted.

- `build(..., static_discovery=True, client_options={"api_endpoint": ...})` so the same
  code talks to Google or to a local emulator (`[google] api_endpoint`).
- Batches are built with an explicit `batch_uri`: `new_batch_http_request()` ignores
  `api_endpoint` (google-api-python-client issue 1107).
- Every call runs under `calsync.retry`'s one policy; inside a batch, only the parts that
  failed in a retryable way are sent again.
- Error bodies are parsed here into `GoogleApiError(status, reason, message)`.
- Every HTTP request (token refreshes and batches included) is counted.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import httplib2
from google_auth_httplib2 import AuthorizedHttp  # type: ignore[import-untyped]
from googleapiclient.discovery import build
from googleapiclient.http import BatchHttpRequest, HttpRequest

from calsync import retry
from calsync.config import Config
from calsync.errors import AuthError, CalsyncError, DiskFullError
from calsync.google import auth

log = logging.getLogger(__name__)

T = TypeVar("T")

# Google accepts up to 1000 calls in one batch request, but every call in it still counts
# against the per-user rate limits, and Calendar answers a burst of writes with 403
# rateLimitExceeded part by part. 50 keeps one batch's burst small, so few parts fail
# and the retried ones go out after a backoff instead of in the same burst.
BATCH_LIMIT = 50

Make = Callable[[Any], HttpRequest]  # service -> request (made afresh for every attempt)


class GoogleApiError(CalsyncError):
    """A Calendar API call failed for good (after retries, when it was retryable)."""

    def __init__(
        self, what: str, status: int, reason: str, message: str, *, retried: bool = False
    ) -> None:
        detail = f"HTTP {status}" if status else "network error"
        if reason:
            detail += f" {reason}"
        hint = None
        if retried:
            hint = "Google kept failing after calsync's retries; the next sync tries again"
        elif status == 404:
            hint = "check the calendar id in the config ([[source]] calendar)"
        super().__init__(
            f"Google Calendar: {what} failed: {detail}: {message or 'no detail'}", hint=hint
        )
        self.what, self.status, self.reason, self.detail = what, status, reason, message


def to_api_error(exc: BaseException, what: str) -> CalsyncError:
    """The user-facing error for anything a call raised."""
    if isinstance(exc, CalsyncError):
        return exc
    denied = auth.auth_error(exc)
    if denied is not None:
        return denied
    failure = retry.http_failure(exc)
    retried = retry.is_retryable(exc)
    if failure is not None:
        if failure.status == 401:
            # google-auth refreshed the token and sent the call again: still refused.
            return AuthError(
                f"Google refused calsync's authorisation for {what}, even after refreshing "
                f"it (HTTP 401): {auth.REAUTH}",
                hint="the OAuth client may have been deleted or its secret reset in Google "
                "Cloud Console; authorising again with the current client file fixes it",
            )
        if failure.status == 403 and failure.reason == "accessNotConfigured":
            project = re.search(r"project[= ](\d+)", failure.message)
            where = f"?project={project.group(1)}" if project else ""
            return AuthError(
                f"Google refused {what}: the Google Calendar API is not enabled for this "
                "OAuth client's project: enable the Google Calendar API for this OAuth client",
                hint="Google Cloud Console > APIs & Services > Library > Google Calendar API "
                "> Enable (https://console.cloud.google.com/apis/library/"
                f"calendar-json.googleapis.com{where}); then wait a few minutes and sync again",
            )
        if failure.status == 403 and failure.reason == "insufficientPermissions":
            return AuthError(
                f"Google refused {what}: the authorisation lacks the scope for it: {auth.REAUTH}"
            )
        return GoogleApiError(
            what, failure.status, failure.reason, failure.message, retried=retried
        )
    return GoogleApiError(what, 0, type(exc).__name__, str(exc)[:300], retried=retried)


class CountingHttp(httplib2.Http):  # type: ignore[misc]
    """httplib2 with a request counter (what `SinkReport.requests` reports)."""

    def __init__(self, timeout: float) -> None:
        super().__init__(timeout=timeout)
        self.count = 0

    def request(self, *args: Any, **kwargs: Any) -> Any:
        self.count += 1
        return super().request(*args, **kwargs)


@dataclass(frozen=True, slots=True)
class Op:
    """One call of a batch, under an id of the caller's choosing."""

    id: str
    make: Make


class _PartsFailed(retry.TransientError):
    """Some parts of a batch failed in a retryable way: send those again."""


class GoogleClient:
    """One authorised connection to the Calendar API, shared by a sync's sources and sink."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self._http: CountingHttp | None = None
        self._authed: AuthorizedHttp | None = None
        self._service: Any = None
        self._saved_token: str | None = None
        self._count_base = 0  # requests made through earlier connections
        # The last free/busy answer: every busy source of one sync reads it (one query).
        self.freebusy_cache: dict[tuple[str, str, tuple[str, ...]], dict[str, Any]] = {}

    @property
    def requests(self) -> int:
        return self._count_base + (self._http.count if self._http is not None else 0)

    def _connect(self) -> Any:
        if self._service is None:
            creds = auth.load_credentials(self.config)
            self._saved_token = creds.token
            self._count_base = self.requests
            self._http = CountingHttp(self.config.google.timeout_seconds)
            self._authed = AuthorizedHttp(creds, http=self._http)
            self._service = build(
                "calendar",
                "v3",
                http=self._authed,
                static_discovery=True,
                cache_discovery=False,
                client_options={"api_endpoint": self.config.google.api_endpoint},
            )
        return self._service

    def _persist_token(self) -> None:
        """Write a refreshed access token back, so the next run does not refresh again."""
        if self._authed is None:
            return
        creds = self._authed.credentials
        if creds.token and creds.token != self._saved_token:
            path = auth.token_path(self.config)
            try:
                auth.save_credentials(creds, path)
            except (OSError, DiskFullError) as e:  # the refresh worked; the next run refreshes
                log.warning("could not save the refreshed Google token to %s: %s", path, e)
            self._saved_token = creds.token

    def execute(self, make: Make, what: str) -> Any:
        """One call, retried by the policy; raises GoogleApiError / AuthError for good."""
        service = self._connect()
        try:
            return retry.call(lambda: make(service).execute(num_retries=0))
        except Exception as e:
            raise self._failed(e, what) from e
        finally:
            self._persist_token()

    def _failed(self, exc: BaseException, what: str) -> CalsyncError:
        err = to_api_error(exc, what)
        if isinstance(err, AuthError):
            # Read the token file again next time: the user may have run `auth google`
            # while a daemon kept this client.
            self._service = self._authed = None
        return err

    def run(self, fn: Callable[[Any], T], what: str) -> T:
        """Several calls that must be retried together (`fn` gets the service and calls
        `.execute(num_retries=0)` itself), e.g. "look for the calendar, else create it"."""
        service = self._connect()
        try:
            return retry.call(lambda: fn(service))
        except Exception as e:
            raise self._failed(e, what) from e
        finally:
            self._persist_token()

    def batch(self, ops: Sequence[Op], what: str) -> dict[str, Any]:
        """Run the calls in batches of 50; result or GoogleApiError per op id.

        Parts that fail with a retryable error are sent again (only those), under the
        same policy as single calls. A whole batch that fails (connection dropped, 5xx
        for the batch itself) is sent again whole: every write calsync batches is safe to
        repeat (client ids, If-Match, deletes of the gone are treated as done).
        """
        service = self._connect()
        assert self._authed is not None
        authed = self._authed
        results: dict[str, Any] = {}
        pending = {op.id: op for op in ops}
        last_error: dict[str, BaseException] = {}

        def attempt() -> None:
            retry_after: float | None = None
            todo = list(pending.values())
            for i in range(0, len(todo), BATCH_LIMIT):
                chunk = todo[i : i + BATCH_LIMIT]

                def done(rid: str, response: Any, exc: BaseException | None) -> None:
                    nonlocal retry_after
                    if exc is None:
                        results[rid] = response
                        pending.pop(rid, None)
                    elif retry.is_retryable(exc):
                        last_error[rid] = exc
                        failure = retry.http_failure(exc)
                        if failure is not None and failure.retry_after is not None:
                            retry_after = max(retry_after or 0.0, failure.retry_after)
                    else:
                        results[rid] = to_api_error(exc, f"{what} ({rid})")
                        pending.pop(rid, None)

                b = BatchHttpRequest(callback=done, batch_uri=self.config.google.batch_uri)
                for op in chunk:
                    b.add(op.make(service), request_id=op.id)
                b.execute(http=authed)
            if pending:
                raise _PartsFailed(
                    f"{len(pending)} of the batched calls failed", retry_after=retry_after
                )

        try:
            retry.call(attempt)
        except _PartsFailed:
            for rid in pending:
                results[rid] = to_api_error(last_error[rid], f"{what} ({rid})")
        except Exception as e:
            raise self._failed(e, what) from e
        finally:
            self._persist_token()
        return results


_clients: dict[int, tuple[Config, GoogleClient]] = {}


def events_list(params: dict[str, Any]) -> Callable[[Any], Any]:
    """The request maker for one page of events.list, for `GoogleClient.execute`."""
    return lambda service: service.events().list(**params)


def client_for(config: Config) -> GoogleClient:
    """The client shared by everything one sync does with this config (one token refresh,
    one free/busy query, one request count)."""
    hit = _clients.get(id(config))
    if hit is not None and hit[0] is config:
        return hit[1]
    if len(_clients) > 8:
        _clients.clear()
    client = GoogleClient(config)
    _clients[id(config)] = (config, client)
    return client
