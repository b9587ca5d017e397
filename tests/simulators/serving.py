"""Simulator apps served on loopback for as long as a test needs them."""

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from aiohttp import web
from aiohttp.test_utils import TestServer

type Serve = Callable[[web.Application], Awaitable[str]]


@asynccontextmanager
async def serving() -> AsyncIterator[Serve]:
    """A function that starts an app on 127.0.0.1 and returns its base URL; all stop on exit."""
    servers: list[TestServer] = []

    async def start(app: web.Application) -> str:
        server = TestServer(app, host="127.0.0.1")
        await server.start_server()
        servers.append(server)
        return str(server.make_url("")).rstrip("/")

    try:
        yield start
    finally:
        for server in servers:
            await server.close()
