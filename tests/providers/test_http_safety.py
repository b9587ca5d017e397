"""The shared HTTP layer keeps credentials with their server, and refuses oversized replies."""

import aiohttp
from aiohttp import web
import pytest
from yarl import URL

from custom_components.crosswatch.clients import http as http_module
from custom_components.crosswatch.clients.errors import (
    CrossWatchInvalidResponseError,
    CrossWatchResponseError,
)
from custom_components.crosswatch.clients.http import HttpClient, RetryPolicy

from .conftest import Serve


def recording() -> tuple[web.Application, list[dict[str, str]]]:
    """An app that records the headers of every request and answers `{"ok": true}`."""
    seen: list[dict[str, str]] = []

    async def handler(request: web.Request) -> web.Response:
        seen.append(dict(request.headers))
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handler)
    return app, seen


def redirecting(to: str, status: int = 302) -> web.Application:
    async def handler(request: web.Request) -> web.Response:
        return web.Response(status=status, headers={"Location": to})

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handler)
    return app


def client(session: aiohttp.ClientSession, url: str, **options: int) -> HttpClient:
    return HttpClient(
        session, url, service="Example", headers={"X-Plex-Token": "secret"},
        retry=RetryPolicy(backoff=0), **options,  # type: ignore[arg-type]
    )  # fmt: skip


async def test_a_redirect_to_another_server_is_refused_and_the_token_stays_home(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    elsewhere, seen = recording()
    other = await serve(elsewhere)
    home = await serve(redirecting(f"{other}/collect"))

    with pytest.raises(CrossWatchResponseError, match="redirected to another server"):
        await client(session, home).request("GET", "/library")

    assert seen == []  # not even a request without the token: the user must choose the address


async def test_a_redirect_within_the_same_server_is_followed_with_the_credentials(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    seen: list[str] = []

    async def moved(request: web.Request) -> web.Response:
        seen.append(f"{request.method} {request.path} {request.headers.get('X-Plex-Token')}")
        if request.path == "/old":
            return web.Response(status=303, headers={"Location": "/new?page=2"})
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", moved)
    reply = await client(session, await serve(app)).request("POST", "/old", json_body={"a": 1})

    assert reply.json() == {"ok": True}
    assert seen == ["POST /old secret", "GET /new secret"]  # 303: the body is not sent again


async def test_a_public_download_without_credentials_may_follow_a_redirect_anywhere(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    mirror, seen = recording()
    home = await serve(redirecting(f"{await serve(mirror)}/list.json"))
    public = HttpClient(session, home, service="a list", carries_credentials=False)

    reply = await public.request("GET", "")

    assert reply.json() == {"ok": True}
    assert len(seen) == 1


@pytest.mark.parametrize(
    ("start", "target", "same"),
    [
        ("http://nas:8096/a", "http://nas:8096/b", True),
        ("http://nas/a", "https://nas/b", True),  # an upgrade to https on the default ports
        ("http://nas:8096/a", "https://nas:8096/b", True),
        ("https://nas/a", "http://nas/b", False),  # never down to plain http
        ("http://nas:8096/a", "http://nas:8920/b", False),
        ("https://plex.example/a", "https://evil.example/b", False),
    ],
)
def test_which_redirects_stay_with_the_server(start: str, target: str, same: bool) -> None:
    assert http_module._same_server(URL(start), URL(target)) is same


async def test_a_reply_larger_than_the_cap_is_refused_with_a_clear_error(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    big = b"[" + b"1," * 700_000 + b"1]"

    async def announced(request: web.Request) -> web.Response:
        return web.Response(body=big, content_type="application/json")

    async def streamed(request: web.Request) -> web.StreamResponse:
        reply = web.StreamResponse()  # chunked: no Content-Length to judge by
        await reply.prepare(request)
        for start in range(0, len(big), 100_000):
            await reply.write(big[start : start + 100_000])
        await reply.write_eof()
        return reply

    app = web.Application()
    app.router.add_get("/announced", announced)
    app.router.add_get("/streamed", streamed)
    http = client(session, await serve(app), max_body=1024 * 1024)

    for path in ("/announced", "/streamed"):
        with pytest.raises(CrossWatchInvalidResponseError, match="larger than 1 MB"):
            await http.request("GET", path)
