"""The shared HTTP layer: what a 429, a 5xx, a timeout or a 401 means for every provider."""

import asyncio
from collections.abc import Awaitable, Callable

import aiohttp
from aiohttp import web
import pytest

from custom_components.crosswatch.clients.errors import (
    CrossWatchAuthenticationError,
    CrossWatchConnectionError,
    CrossWatchConnectionLostError,
    CrossWatchInvalidResponseError,
    CrossWatchOutcomeUnknownError,
    CrossWatchRateLimitError,
    CrossWatchResponseError,
    CrossWatchServerError,
    CrossWatchTimeoutError,
)
from custom_components.crosswatch.clients.http import (
    HttpClient,
    Response,
    RetryPolicy,
    Throttle,
)
from custom_components.crosswatch.clients.tokens import Tokens

from .conftest import Serve

type Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class FakeTime:
    """A clock that only moves when something sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def scripted(*replies: web.Response) -> tuple[web.Application, list[str]]:
    """An app answering each request with the next scripted reply."""
    seen: list[str] = []
    queue = list(replies)

    async def handler(request: web.Request) -> web.Response:
        seen.append(f"{request.method} {request.path_qs}")
        return queue.pop(0)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handler)
    return app, seen


def client(session: aiohttp.ClientSession, url: str, time: FakeTime, **policy: float) -> HttpClient:
    throttle = Throttle(clock=time, sleep=time.sleep)
    return HttpClient(
        session,
        url,
        service="Example",
        headers={"x-api-key": "k"},
        read_throttle=throttle,
        retry=RetryPolicy(**{"backoff": 1.0, **policy}),  # type: ignore[arg-type]
        sleep=time.sleep,
    )


async def test_a_5xx_is_retried_with_doubling_backoff_until_it_succeeds(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    app, seen = scripted(
        web.Response(status=502), web.Response(status=503), web.json_response({"ok": True})
    )
    time = FakeTime()
    http = client(session, await serve(app), time)

    reply = await http.request("GET", "/thing", params={"page": 1})

    assert reply.json() == {"ok": True}
    assert seen == ["GET /thing?page=1"] * 3
    assert time.sleeps == [1.0, 2.0]
    assert http.requests.count == 3
    assert http.requests.by_status == {502: 1, 503: 1, 200: 1}


async def test_a_5xx_that_never_ends_raises_once_the_attempts_are_spent(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    app, seen = scripted(*[web.Response(status=500) for _ in range(4)])
    http = client(session, await serve(app), FakeTime())

    with pytest.raises(CrossWatchServerError, match="HTTP 500") as caught:
        await http.request("GET", "/sync/activities")

    assert caught.value.status == 500
    assert isinstance(caught.value, CrossWatchOutcomeUnknownError)  # it may have acted
    assert len(seen) == 4


async def test_a_short_retry_after_is_waited_out_and_the_request_repeated(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    app, seen = scripted(
        web.Response(status=429, headers={"Retry-After": "7"}), web.json_response([1])
    )
    time = FakeTime()
    http = client(session, await serve(app), time, backoff=0.0)

    reply = await http.request("GET", "/list")

    assert reply.json() == [1]
    assert len(seen) == 2
    assert 7.0 in time.sleeps  # the throttle held the next call for the whole Retry-After


async def test_a_long_retry_after_is_handed_to_the_caller(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    app, _ = scripted(web.Response(status=429, headers={"Retry-After": "3600"}))
    http = client(session, await serve(app), FakeTime())

    with pytest.raises(CrossWatchRateLimitError) as caught:
        await http.request("GET", "/list")

    assert caught.value.retry_after == 3600


async def test_a_429_storm_ends_as_a_rate_limit_error(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    app, seen = scripted(
        *[web.Response(status=429, headers={"Retry-After": "soon"}) for _ in range(4)]
    )
    http = client(session, await serve(app), FakeTime(), backoff=0.5)

    with pytest.raises(CrossWatchRateLimitError, match="kept asking"):
        await http.request("GET", "/list")

    assert len(seen) == 4


@pytest.mark.parametrize("status", [401, 403])
async def test_refused_credentials_are_an_auth_error_at_once(
    serve: Serve, session: aiohttp.ClientSession, status: int
) -> None:
    app, seen = scripted(web.Response(status=status))
    http = client(session, await serve(app), FakeTime())

    with pytest.raises(CrossWatchAuthenticationError):
        await http.request("GET", "/me")

    assert len(seen) == 1


async def test_other_client_errors_are_not_retried_and_keep_the_body(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    app, seen = scripted(web.Response(status=404, text='{"error":"not found"}'))
    http = client(session, await serve(app), FakeTime())

    with pytest.raises(CrossWatchResponseError) as caught:
        await http.request("GET", "/missing")

    assert (caught.value.status, caught.value.body) == (404, '{"error":"not found"}')
    assert not isinstance(caught.value, CrossWatchOutcomeUnknownError)
    assert len(seen) == 1


async def test_statuses_the_caller_expects_are_returned_and_304_always_is(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    app, _ = scripted(web.Response(status=420), web.Response(status=304))
    http = client(session, await serve(app), FakeTime())

    limited = await http.request("POST", "/add", ok=frozenset({420}))
    unchanged = await http.request("GET", "/list")

    assert (limited.status, unchanged.status) == (420, 304)
    assert unchanged.json() is None


async def test_a_server_that_never_answers_times_out_into_a_provider_error(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(5)
        return web.Response()

    app = web.Application()
    app.router.add_get("/slow", slow)
    http = client(session, await serve(app), FakeTime(), timeout=0.05, attempts=2)

    with pytest.raises(CrossWatchTimeoutError, match="did not answer in time") as caught:
        await http.request("GET", "/slow")
    assert isinstance(caught.value, CrossWatchOutcomeUnknownError)


async def test_an_unreachable_server_is_a_provider_error(session: aiohttp.ClientSession) -> None:
    http = client(session, "http://127.0.0.1:9", FakeTime(), attempts=2)

    with pytest.raises(CrossWatchConnectionError, match="cannot reach Example") as caught:
        await http.request("GET", "/")
    # Nothing was sent: not outcome-unknown.
    assert not isinstance(caught.value, CrossWatchOutcomeUnknownError)


async def test_a_connection_lost_after_sending_is_outcome_unknown(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    async def hang_up(request: web.Request) -> web.StreamResponse:
        await request.read()
        assert request.transport is not None
        request.transport.close()
        return web.Response()

    app = web.Application()
    app.router.add_post("/sync", hang_up)
    http = client(session, await serve(app), FakeTime(), attempts=1)

    with pytest.raises(CrossWatchConnectionLostError) as caught:
        await http.request("POST", "/sync", json_body={"movies": []})
    assert isinstance(caught.value, CrossWatchOutcomeUnknownError)
    assert isinstance(caught.value, CrossWatchConnectionError)


def test_a_body_that_is_not_json_is_a_provider_error() -> None:
    with pytest.raises(CrossWatchInvalidResponseError, match="not JSON"):
        Response(200, {}, b"<html>").json()


async def test_the_throttle_spaces_calls_and_caps_them_per_window() -> None:
    time = FakeTime()
    spaced = Throttle(1.0, clock=time, sleep=time.sleep)
    for _ in range(3):
        await spaced.wait()
    assert time.sleeps == [1.0, 1.0]

    time = FakeTime()
    capped = Throttle(limit=2, window=60.0, clock=time, sleep=time.sleep)
    for _ in range(3):
        await capped.wait()
    assert time.sleeps == [60.0]  # the third call waits for the first to leave the window
    time.now += 61
    await capped.wait()  # the window has emptied: no wait
    assert time.sleeps == [60.0]


async def test_the_default_clock_is_the_event_loops() -> None:
    throttle = Throttle(0.01)
    await throttle.wait()
    await throttle.wait()


async def test_a_429_without_retry_after_backs_off_by_the_policy(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    app, seen = scripted(web.Response(status=429), web.json_response({}))
    time = FakeTime()
    http = client(session, await serve(app), time, backoff=2.0)

    await http.request("GET", "/list")

    assert len(seen) == 2
    assert 2.0 in time.sleeps


def test_tokens_round_trip_and_know_when_they_expire() -> None:
    tokens = Tokens.from_oauth_reply(
        {"access_token": "a", "refresh_token": "r", "expires_in": 7200, "created_at": 1000}
    )

    assert tokens == Tokens("a", "r", 8200.0)
    assert Tokens.from_dict(tokens.as_dict()) == tokens
    assert tokens.expires_within(300, now=7950)
    assert not tokens.expires_within(300, now=1000)
    assert not Tokens("a").expires_within(300)
    assert Tokens.from_oauth_reply({"access_token": "x"}, now=5) == Tokens("x", None, None)
