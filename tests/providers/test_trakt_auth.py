"""Trakt's device flow and token refresh, against the simulator over loopback."""

import aiohttp
from aiohttp import web
import pytest

from custom_components.crosswatch.clients.errors import (
    CrossWatchAuthenticationError,
    CrossWatchClientError,
)
from custom_components.crosswatch.clients.http import HttpClient, RetryPolicy
from custom_components.crosswatch.clients.trakt.auth import (
    DeviceCode,
    DeviceFlowError,
    PollStatus,
    TraktApp,
    poll_device_token,
    refresh_tokens,
    request_device_code,
    revoke_token,
    wait_for_device_token,
)
from custom_components.crosswatch.clients.trakt.errors import TraktAppDeletedError
from custom_components.crosswatch.clients.trakt.transport import make_http
from tests.providers.conftest import Serve
from tests.simulators.trakt import CLIENT_ID, CLIENT_SECRET, FakeTime, TraktSim, make_app

# The simulator listens on 127.0.0.1; Home Assistant's plugin still refuses any other host.
pytestmark = pytest.mark.usefixtures("socket_enabled")

APP = TraktApp(CLIENT_ID, CLIENT_SECRET)
NOW = 1_704_070_800.0


async def _http(serve: Serve, session: aiohttp.ClientSession, sim: TraktSim) -> HttpClient:
    time = FakeTime()
    return make_http(
        session,
        APP,
        base_url=await serve(make_app(sim)),
        retry=RetryPolicy(backoff=0),
        sleep=time.sleep,
        clock=time.clock,
    )


async def test_device_flow_issues_tokens_once_the_user_approves_the_code(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    sim = TraktSim()
    http = await _http(serve, session, sim)
    code = await request_device_code(http, APP, now=lambda: NOW)
    assert code.verification_url == "https://trakt.tv/activate"
    assert (code.interval, code.expires_at) == (5, NOW + 600)

    pending = await poll_device_token(http, APP, code)
    assert (pending.status, pending.tokens, pending.status.final) == (
        PollStatus.PENDING,
        None,
        False,
    )

    sim.approve(code.user_code)
    done = await poll_device_token(http, APP, code, now=lambda: NOW)
    assert done.status is PollStatus.AUTHORIZED
    assert done.tokens is not None
    assert done.tokens.access_token in sim.access_tokens
    assert done.tokens.refresh_token in sim.refresh_tokens

    again = await poll_device_token(http, APP, code)
    assert again.status is PollStatus.ALREADY_USED
    assert again.status.final


@pytest.mark.parametrize(
    ("act", "expected"),
    [("deny", PollStatus.DENIED), ("expire", PollStatus.EXPIRED)],
)
async def test_polling_reports_denied_and_expired_codes(
    serve: Serve, session: aiohttp.ClientSession, act: str, expected: PollStatus
) -> None:
    sim = TraktSim()
    http = await _http(serve, session, sim)
    code = await request_device_code(http, APP)
    getattr(sim, act)(code.user_code)
    result = await poll_device_token(http, APP, code)
    assert result.status is expected
    assert result.tokens is None


async def test_polling_an_unknown_device_code_reports_it_invalid(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    http = await _http(serve, session, TraktSim())
    bogus = DeviceCode("nope", "NOPE", "https://trakt.tv/activate", 600, 5, NOW)
    assert (await poll_device_token(http, APP, bogus)).status is PollStatus.INVALID


async def test_slow_down_lengthens_the_polling_interval(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    sim = TraktSim()
    http = await _http(serve, session, sim)
    code = await request_device_code(http, APP)
    sim.quirks.slow_down_polls = 1
    slowed = await poll_device_token(http, APP, code)
    assert (slowed.status, slowed.interval) == (PollStatus.SLOW_DOWN, 10.0)
    assert not slowed.status.final


async def test_waiting_polls_at_the_interval_slows_down_when_told_and_returns_the_tokens(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    sim = TraktSim()
    http = await _http(serve, session, sim)
    clock = FakeTime()
    clock.now = NOW
    code = await request_device_code(http, APP, now=clock.clock)
    sim.quirks.slow_down_polls = 1

    async def sleep(seconds: float) -> None:
        await clock.sleep(seconds)
        if len(clock.sleeps) == 3:
            sim.approve(code.user_code)

    tokens = await wait_for_device_token(http, APP, code, sleep=sleep, now=clock.clock)
    assert clock.sleeps == [5.0, 10.0, 10.0]
    assert tokens.access_token in sim.access_tokens
    assert tokens.expires_at == sim.issue_tokens()["created_at"] + sim.token_expires_in


async def test_waiting_stops_when_the_user_denies(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    sim = TraktSim()
    http = await _http(serve, session, sim)
    code = await request_device_code(http, APP, now=lambda: NOW)
    sim.deny(code.user_code)
    clock = FakeTime()
    clock.now = NOW
    with pytest.raises(DeviceFlowError, match="denied") as caught:
        await wait_for_device_token(http, APP, code, sleep=clock.sleep, now=clock.clock)
    assert caught.value.status is PollStatus.DENIED


async def test_waiting_gives_up_by_itself_when_the_code_runs_out(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    sim = TraktSim()
    http = await _http(serve, session, sim)
    code = await request_device_code(http, APP, now=lambda: NOW)
    clock = FakeTime()
    clock.now = NOW
    with pytest.raises(DeviceFlowError, match="expired") as caught:
        await wait_for_device_token(http, APP, code, sleep=clock.sleep, now=clock.clock)
    assert caught.value.status is PollStatus.EXPIRED
    assert sum(clock.sleeps) <= 600
    assert len(clock.sleeps) == 120  # polled at the interval, never after expiry


async def test_refresh_tokens_are_single_use(serve: Serve, session: aiohttp.ClientSession) -> None:
    sim = TraktSim()
    http = await _http(serve, session, sim)
    first = sim.issue_tokens()
    fresh = await refresh_tokens(http, APP, first["refresh_token"], now=lambda: NOW)
    assert fresh.access_token in sim.access_tokens
    assert fresh.refresh_token != first["refresh_token"]
    with pytest.raises(CrossWatchAuthenticationError, match="invalid_grant"):
        await refresh_tokens(http, APP, first["refresh_token"])


async def test_revoking_an_access_token_ends_its_authorization_refresh_token_included(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    sim = TraktSim()
    http = await _http(serve, session, sim)
    kept, revoked = sim.issue_tokens(), sim.issue_tokens()

    await revoke_token(http, APP, str(revoked["access_token"]))

    assert revoked["access_token"] not in sim.access_tokens
    with pytest.raises(CrossWatchAuthenticationError, match="invalid_grant"):
        await refresh_tokens(http, APP, str(revoked["refresh_token"]))
    assert kept["access_token"] in sim.access_tokens  # another authorization is untouched
    await revoke_token(http, APP, str(revoked["access_token"]))  # again: no error


async def test_revoking_with_a_deleted_app_says_the_app_was_refused(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    sim = TraktSim()
    sim.quirks.app_deleted = True
    http = await _http(serve, session, sim)

    with pytest.raises(TraktAppDeletedError):
        await revoke_token(http, APP, str(sim.issue_tokens()["access_token"]))


async def test_unusable_oauth_replies_are_provider_errors(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    app = web.Application()

    async def junk(request: web.Request) -> web.Response:
        return web.json_response(["not", "an", "object"])

    async def partial_code(request: web.Request) -> web.Response:
        return web.json_response({"device_code": "x"})

    async def tokenless(request: web.Request) -> web.Response:
        return web.json_response({"token_type": "bearer"})

    app.router.add_post("/oauth/device/code", partial_code)
    app.router.add_post("/oauth/device/token", junk)
    app.router.add_post("/oauth/token", tokenless)
    http = make_http(session, APP, base_url=await serve(app), retry=RetryPolicy(backoff=0))
    with pytest.raises(CrossWatchClientError, match="unusable device code"):
        await request_device_code(http, APP)
    code = DeviceCode("d", "U", "https://trakt.tv/activate", 600, 5, NOW)
    with pytest.raises(CrossWatchClientError, match="unusable token"):
        await poll_device_token(http, APP, code)
    with pytest.raises(CrossWatchClientError, match="unusable token"):
        await refresh_tokens(http, APP, "r")
