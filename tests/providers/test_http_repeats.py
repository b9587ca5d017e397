"""The shared HTTP layer repeats a request only when repeating it cannot store it twice."""

import aiohttp
from aiohttp import web
import pytest

from custom_components.crosswatch.clients.errors import (
    CrossWatchOutcomeUnknownError,
    CrossWatchServerError,
)
from custom_components.crosswatch.clients.http import HttpClient, RetryPolicy

from .conftest import Serve


def failing_first(status: int, times: int = 1) -> tuple[web.Application, list[str]]:
    """An app that stores every request, answers `status` to the first `times`, then 200."""
    stored: list[str] = []

    async def handler(request: web.Request) -> web.Response:
        stored.append(request.method)
        if len(stored) <= times:
            headers = {"Retry-After": "0"} if status == 429 else {}
            return web.Response(status=status, text="<html>Bad Gateway</html>", headers=headers)
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handler)
    return app, stored


def client(session: aiohttp.ClientSession, url: str) -> HttpClient:
    return HttpClient(session, url, service="Example", retry=RetryPolicy(backoff=0))


async def test_a_write_whose_reply_was_lost_is_not_sent_again(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    # Plex's scrobble is a PUT that counts a play each time: repeated after a 502 that came
    # after the server stored it, the user would have watched the film twice.
    app, stored = failing_first(502)

    with pytest.raises(CrossWatchServerError) as raised:
        await client(session, await serve(app)).request("PUT", "/:/scrobble")

    assert stored == ["PUT"]
    assert isinstance(raised.value, CrossWatchOutcomeUnknownError)


async def test_a_read_is_repeated_after_a_server_error(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    app, stored = failing_first(503)

    reply = await client(session, await serve(app)).request("GET", "/sync/activities")

    assert reply.json() == {"ok": True}
    assert stored == ["GET", "GET"]


async def test_a_read_sent_as_post_is_repeated_when_it_says_it_is_idempotent(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    app, stored = failing_first(503)

    reply = await client(session, await serve(app)).request(
        "POST", "/users/settings", idempotent=True
    )

    assert reply.json() == {"ok": True}
    assert stored == ["POST", "POST"]


async def test_a_write_refused_with_429_is_sent_again_since_it_was_not_stored(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    app, stored = failing_first(429)

    reply = await client(session, await serve(app)).request("POST", "/sync/history")

    assert reply.json() == {"ok": True}
    assert stored == ["POST", "POST"]
