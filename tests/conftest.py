"""Shared fixtures. The Google Calendar emulator's live in tests/fakes/google_fixtures.py."""

from tests.fakes.google_fixtures import emulator, fast_retries, gworld  # noqa: F401
