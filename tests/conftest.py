"""Shared fixtures. The Google Calendar emulator's live in tests/fakes/google_fixtures.py."""

import pytest

from calsync import retry
from tests.fakes.google_fixtures import emulator, fast_retries, gworld  # noqa: F401


@pytest.fixture(autouse=True)
def _no_real_retry_waits(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every network retry in the suite runs the real loop with waits scaled down a
    thousandfold; a test about the waits themselves sets `retry.TIME_SCALE` back to 1."""
    monkeypatch.setattr(retry, "TIME_SCALE", 0.001)
