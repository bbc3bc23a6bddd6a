"""The one retry policy: what is retried, how long it waits, when it gives up."""

from __future__ import annotations

import email.message
import json
import urllib.error
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from calsync import retry


def _http_error(code: int, retry_after: str | None = None) -> urllib.error.HTTPError:
    headers = email.message.Message()
    if retry_after is not None:
        headers["Retry-After"] = retry_after
    return urllib.error.HTTPError("http://x/", code, "x", headers, None)


def _run(errors: list[BaseException], policy: retry.Policy = retry.DEFAULT) -> list[float]:
    """Fail with `errors` in turn, then succeed; the waits the policy asked for."""
    waits: list[float] = []
    todo = list(errors)

    def fn() -> str:
        if todo:
            raise todo.pop(0)
        return "ok"

    assert retry.retrying(policy, sleep=waits.append)(fn) == "ok"
    return waits


@pytest.mark.parametrize(
    ("exc", "retried"),
    [
        (_http_error(429), True),
        (_http_error(500), True),
        (_http_error(503), True),
        (_http_error(404), False),
        (_http_error(403), False),  # a plain 403 is a permission problem, not a rate limit
        (urllib.error.URLError(ConnectionRefusedError()), True),
        (urllib.error.URLError("unknown url type"), False),
        (ConnectionResetError(), True),
        (TimeoutError(), True),
        (retry.TransientError("short body"), True),
        (ValueError("bug"), False),
    ],
)
def test_what_is_retried(exc: BaseException, retried: bool) -> None:
    assert retry.is_retryable(exc) is retried


def test_google_error_bodies_are_parsed() -> None:
    error = {
        "code": 403,
        "message": "Rate Limit Exceeded",
        "errors": [{"reason": "rateLimitExceeded"}],
    }
    body = json.dumps({"error": error}).encode()
    assert retry.parse_error_body(body) == ("rateLimitExceeded", "Rate Limit Exceeded")
    oauth = b'{"error": "invalid_grant", "error_description": "Token has been expired or revoked."}'
    assert retry.parse_error_body(oauth) == ("invalid_grant", "Token has been expired or revoked.")
    assert retry.parse_error_body(b"<html>Bad Gateway</html>") == ("", "<html>Bad Gateway</html>")


def test_retry_after_in_seconds_or_as_a_date() -> None:
    assert retry.parse_retry_after("7") == 7.0
    soon = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    assert 25 <= (retry.parse_retry_after(soon) or 0) <= 31
    assert retry.parse_retry_after("soon") is None


def test_retry_after_is_honoured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(retry, "TIME_SCALE", 1.0)
    waits = _run([_http_error(429, "12"), _http_error(429, "3")])
    assert waits[0] >= 12 and waits[1] >= 3


@given(st.integers(1, 6))
def test_backoff_grows_exponentially_with_jitter_and_a_ceiling(failures: int) -> None:
    policy = retry.Policy(max_attempts=10, max_seconds=1e6, initial_wait=1.0, max_wait=8.0)
    old = retry.TIME_SCALE
    retry.TIME_SCALE = 1.0
    try:
        waits = _run([ConnectionResetError()] * failures, policy)
    finally:
        retry.TIME_SCALE = old
    assert len(waits) == failures
    for n, w in enumerate(waits, start=1):
        assert 0.5 <= w <= min(8.0, 2 ** (n - 1))


def test_gives_up_after_the_attempts_and_reraises() -> None:
    policy = retry.Policy(max_attempts=3)
    calls = []

    def fn() -> None:
        calls.append(1)
        raise _http_error(500)

    with pytest.raises(urllib.error.HTTPError):
        retry.retrying(policy, sleep=lambda s: None)(fn)
    assert len(calls) == 3


def test_a_retry_after_past_the_time_budget_stops_at_once() -> None:
    policy = retry.Policy(max_seconds=60)
    calls = []

    def fn() -> None:
        calls.append(1)
        raise _http_error(503, "3600")

    old = retry.TIME_SCALE
    retry.TIME_SCALE = 1.0
    try:
        with pytest.raises(urllib.error.HTTPError):
            retry.retrying(policy, sleep=lambda s: None)(fn)
    finally:
        retry.TIME_SCALE = old
    assert len(calls) == 1
