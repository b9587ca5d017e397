"""The demo's world and its server run without Home Assistant."""

import pytest

from tests.providers.conftest import serve, session

__all__ = ["serve", "session"]  # loopback simulators and a client session, as the providers use


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations() -> None:
    """Replace the suite-wide fixture, which starts Home Assistant for every test."""
