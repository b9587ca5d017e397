"""Provider clients run against simulators on loopback; no Home Assistant instance is needed."""

from collections.abc import AsyncIterator

import aiohttp
import pytest

from tests.simulators.serving import Serve, serving

__all__ = ["Serve"]


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations() -> None:
    """Replace the suite-wide fixture, which starts Home Assistant for every test."""


@pytest.fixture
async def serve(socket_enabled: None) -> AsyncIterator[Serve]:
    """Start simulator apps on 127.0.0.1; returns each one's base URL. Stopped after the test.

    Home Assistant's test plugin blocks sockets; simulators need loopback ones.
    """
    async with serving() as start:
        yield start


@pytest.fixture
async def session(socket_enabled: None) -> AsyncIterator[aiohttp.ClientSession]:
    """The aiohttp session a client is given, as Home Assistant would inject its own."""
    async with aiohttp.ClientSession() as client_session:
        yield client_session
