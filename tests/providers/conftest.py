"""Provider clients run against simulators on loopback; no Home Assistant instance is needed."""

from collections.abc import AsyncIterator, Awaitable, Callable

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestServer
import pytest

type Serve = Callable[[web.Application], Awaitable[str]]


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations() -> None:
    """Replace the suite-wide fixture, which starts Home Assistant for every test."""


@pytest.fixture
async def serve(socket_enabled: None) -> AsyncIterator[Serve]:
    """Start simulator apps on 127.0.0.1; returns each one's base URL. Stopped after the test.

    Home Assistant's test plugin blocks sockets; simulators need loopback ones.
    """
    servers: list[TestServer] = []

    async def start(app: web.Application) -> str:
        server = TestServer(app, host="127.0.0.1")
        await server.start_server()
        servers.append(server)
        return str(server.make_url("")).rstrip("/")

    yield start
    for server in servers:
        await server.close()


@pytest.fixture
async def session(socket_enabled: None) -> AsyncIterator[aiohttp.ClientSession]:
    """The aiohttp session a client is given, as Home Assistant would inject its own."""
    async with aiohttp.ClientSession() as client_session:
        yield client_session
