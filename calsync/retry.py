"""One retry policy for every network call calsync makes (tenacity).

Retried: HTTP 429, 403 with reason `rateLimitExceeded`/`userRateLimitExceeded`, any 5xx,
connection errors and timeouts. Waits grow exponentially with full jitter, never shorter
than the server's `Retry-After`, and the whole thing is capped both in attempts and in
total time. Everything else fails at once, so a wrong calendar id or a missing scope is
reported immediately instead of after a minute of retries.

Errors are classified by duck typing on what the libraries raise (googleapiclient's
`HttpError`, urllib's `HTTPError`, google-auth's transport errors, OSError), so this
module imports no network library itself. Callers with their own notion of a transient
failure raise `TransientError`.

`TIME_SCALE` multiplies every wait: tests set it near zero so the real path (the same
tenacity loop, the same Retry-After parsing) runs without sleeping for seconds.
"""

from __future__ import annotations

import http.client
import json
import logging
import os
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import TypeVar

import tenacity

log = logging.getLogger(__name__)

T = TypeVar("T")


def _time_scale() -> float:
    """CALSYNC_RETRY_TIME_SCALE: for the test suite's child processes (daemon, feed
    server), which cannot be monkeypatched. Not a user setting."""
    try:
        value = float(os.environ.get("CALSYNC_RETRY_TIME_SCALE", "1"))
    except ValueError:
        return 1.0
    return value if 0 < value <= 1 else 1.0


# Multiplies every wait (tests: ~0.001). Not a user setting.
TIME_SCALE = _time_scale()

RATE_LIMIT_REASONS = frozenset({"rateLimitExceeded", "userRateLimitExceeded"})


@dataclass(frozen=True, slots=True)
class Policy:
    max_attempts: int = 7
    max_seconds: float = 120.0  # total time, waits included, before giving up
    initial_wait: float = 1.0
    max_wait: float = 32.0


DEFAULT = Policy()


class TransientError(Exception):
    """A failure worth retrying that no library exception describes (e.g. a short body)."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


@dataclass(frozen=True, slots=True)
class HttpFailure:
    """An HTTP error answer, read from whichever library raised it."""

    status: int
    reason: str  # the first `errors[].reason` of a Google error body, else ""
    message: str
    retry_after: float | None


def http_failure(exc: BaseException) -> HttpFailure | None:
    """The status, Google error reason and Retry-After of an HTTP error, else None."""
    resp = getattr(exc, "resp", None)  # googleapiclient.errors.HttpError
    if resp is not None and hasattr(resp, "status"):
        status = int(resp.status)
        headers = {str(k).lower(): str(v) for k, v in dict(resp).items()}
        content = getattr(exc, "content", b"")
    elif isinstance(getattr(exc, "code", None), int) and hasattr(exc, "headers"):
        status = int(getattr(exc, "code"))  # noqa: B009  (urllib.error.HTTPError)
        headers = {k.lower(): v for k, v in getattr(exc, "headers").items()}  # noqa: B009
        content = b""
    else:
        return None
    reason, message = parse_error_body(content)
    return HttpFailure(status, reason, message, parse_retry_after(headers.get("retry-after")))


def parse_error_body(content: bytes | str | None) -> tuple[str, str]:
    """(reason, message) of Google's `{"error": {"code", "message", "errors": [...]}}`."""
    if not content:
        return "", ""
    try:
        data = json.loads(content)
    except (ValueError, UnicodeDecodeError):
        text = content.decode("utf-8", "replace") if isinstance(content, bytes) else content
        return "", text.strip()[:200]
    err = data.get("error") if isinstance(data, dict) else None
    if isinstance(err, str):  # OAuth endpoints: {"error": "invalid_grant", ...}
        return err, str(data.get("error_description", err))
    if not isinstance(err, dict):
        return "", ""
    message = str(err.get("message", ""))
    errors = err.get("errors")
    reason = ""
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        reason = str(errors[0].get("reason", ""))
    return reason, message


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header: delta-seconds or an HTTP date."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        from datetime import UTC, datetime

        when = parsedate_to_datetime(value)
        return max(0.0, (when - datetime.now(UTC)).total_seconds())
    except (TypeError, ValueError):
        return None


def is_retryable(exc: BaseException) -> bool:
    if isinstance(exc, TransientError):
        return True
    failure = http_failure(exc)
    if failure is not None:
        return (
            failure.status == 429
            or failure.status >= 500
            or (failure.status == 403 and failure.reason in RATE_LIMIT_REASONS)
        )
    name = type(exc).__name__
    if name == "RefreshError":  # google-auth: retryable only when the server said so
        return bool(getattr(exc, "retryable", False))
    if name in ("TransportError", "ServerNotFoundError"):
        return True
    if isinstance(exc, ConnectionError | TimeoutError | http.client.HTTPException):
        return True
    reason = getattr(exc, "reason", None)  # urllib.error.URLError wrapping a socket error
    return isinstance(reason, ConnectionError | TimeoutError)


def _retry_after(exc: BaseException | None) -> float | None:
    if exc is None:
        return None
    if isinstance(exc, TransientError):
        return exc.retry_after
    failure = http_failure(exc)
    return failure.retry_after if failure else None


class _Wait(tenacity.wait.wait_base):
    """Exponential backoff with full jitter, at least Retry-After, times TIME_SCALE."""

    def __init__(self, policy: Policy) -> None:
        self.policy = policy

    def __call__(self, retry_state: tenacity.RetryCallState) -> float:
        p = self.policy
        n = retry_state.attempt_number
        ceiling = min(p.max_wait, p.initial_wait * 2 ** (n - 1))
        wait = random.uniform(p.initial_wait / 2, ceiling)  # noqa: S311 (jitter, not crypto)
        outcome = retry_state.outcome
        ra = _retry_after(outcome.exception() if outcome is not None else None)
        if ra is not None:
            wait = max(wait, ra)
        return wait * TIME_SCALE


class _GiveUpOnLongRetryAfter(tenacity.stop.stop_base):
    """Stop when the server asks us to wait past the time budget: waiting is pointless."""

    def __init__(self, policy: Policy) -> None:
        self.policy = policy

    def __call__(self, retry_state: tenacity.RetryCallState) -> bool:
        outcome = retry_state.outcome
        ra = _retry_after(outcome.exception() if outcome is not None else None)
        if ra is None:
            return False
        elapsed = retry_state.seconds_since_start or 0.0
        return elapsed + ra * TIME_SCALE > self.policy.max_seconds


def _log_retry(retry_state: tenacity.RetryCallState) -> None:
    outcome = retry_state.outcome
    exc = outcome.exception() if outcome is not None else None
    wait = retry_state.next_action.sleep if retry_state.next_action else 0.0
    log.warning(
        "network call failed (%s: %s); attempt %d, retrying in %.2fs",
        type(exc).__name__,
        str(exc)[:200],
        retry_state.attempt_number,
        wait,
    )


def retrying(
    policy: Policy = DEFAULT, sleep: Callable[[float], None] = time.sleep
) -> tenacity.Retrying:
    """The tenacity loop; re-raises the last error once the policy gives up."""
    return tenacity.Retrying(
        sleep=sleep,
        retry=tenacity.retry_if_exception(is_retryable),
        wait=_Wait(policy),
        stop=(
            tenacity.stop_after_attempt(policy.max_attempts)
            | tenacity.stop_after_delay(policy.max_seconds)
            | _GiveUpOnLongRetryAfter(policy)
        ),
        before_sleep=_log_retry,
        reraise=True,
    )


def call(fn: Callable[[], T], policy: Policy = DEFAULT) -> T:
    """Run `fn` under the policy."""
    return retrying(policy)(fn)
