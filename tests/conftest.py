"""Shared fixtures. The Google Calendar emulator's live in tests/fakes/google_fixtures.py."""

from __future__ import annotations

import pytest

from calsync import retry
from tests import real_calendars
from tests.fakes.google_fixtures import emulator, fast_retries, gworld  # noqa: F401


@pytest.fixture(autouse=True)
def _no_real_retry_waits(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every network retry in the suite runs the real loop with waits scaled down a
    thousandfold; a test about the waits themselves sets `retry.TIME_SCALE` back to 1."""
    monkeypatch.setattr(retry, "TIME_SCALE", 0.001)


@pytest.fixture(autouse=True)
def _no_terminal_width_from_the_runner(monkeypatch: pytest.MonkeyPatch) -> None:
    """The text views fit $COLUMNS; the runner's own (a terminal, or pytest-xdist's
    workers, which set it) must not change what a test sees. A test about widths sets it."""
    monkeypatch.delenv("COLUMNS", raising=False)
    monkeypatch.delenv("LINES", raising=False)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip the real-world tier, saying why, when the real calendars are not beside the repo."""
    if real_calendars.PRESENT:
        return
    skip = pytest.mark.skip(reason=real_calendars.REASON)
    for item in items:
        if item.get_closest_marker("realworld"):
            item.add_marker(skip, append=False)  # before "empty parameter set"
