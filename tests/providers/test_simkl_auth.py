"""SIMKL's PIN flow, step by step as a config flow drives it, and the headers every call sends."""

import aiohttp
from aiohttp import web
import pytest

from custom_components.crosswatch.clients.errors import CrossWatchAuthenticationError
from custom_components.crosswatch.clients.http import RetryPolicy
from custom_components.crosswatch.clients.simkl.auth import (
    PinCode,
    PinStatus,
    SimklPinAuth,
)
from custom_components.crosswatch.clients.simkl.client import SimklApi
from custom_components.crosswatch.engine.provider import ProviderError
from custom_components.crosswatch.providers.simkl import fetch_account
from tests.providers.conftest import Serve
from tests.providers.test_simkl_support import FakeTime, make_rig
from tests.simulators.simkl import CLIENT_ID, TOKEN, SimklState, simkl_app

# The simulator listens on loopback.
pytestmark = pytest.mark.usefixtures("socket_enabled")


async def pin_auth(
    serve: Serve, session: aiohttp.ClientSession, state: SimklState, client_id: str = CLIENT_ID
) -> tuple[SimklPinAuth, FakeTime]:
    base = await serve(simkl_app(state))
    time = FakeTime(state)
    auth = SimklPinAuth(
        session,
        client_id,
        base_url=base,
        retry=RetryPolicy(backoff=0),
        sleep=time.sleep,
        clock=time.clock,
    )
    return auth, time


async def test_a_code_is_pending_until_the_user_approves_it(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    state = SimklState()
    auth, _ = await pin_auth(serve, session, state)
    code = await auth.request_code(redirect="https://example.invalid/done")

    assert code.user_code == "K0001"
    assert code.verification_url == "https://simkl.com/pin/"
    assert (code.expires_in, code.interval) == (900, 5)
    assert (await auth.poll_once(code)).status is PinStatus.PENDING
    state.advance(5)
    state.approve_pin(code.user_code)
    poll = await auth.poll_once(code)
    assert poll.status is PinStatus.AUTHORIZED
    assert poll.access_token == TOKEN


async def test_polling_faster_than_the_interval_is_told_to_slow_down(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    state = SimklState()
    auth, _ = await pin_auth(serve, session, state)
    code = await auth.request_code()
    await auth.poll_once(code)
    assert (await auth.poll_once(code)).status is PinStatus.SLOW_DOWN


async def test_waiting_for_the_token_polls_at_the_interval_and_backs_off_when_told(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    state = SimklState()
    auth, time = await pin_auth(serve, session, state)
    code = await auth.request_code()
    # A code whose interval is shorter than SIMKL's makes the first polls too fast.
    hasty = PinCode(
        code.user_code, code.device_code, code.verification_url, 900, 2, code.requested_at
    )

    async def sleep_then_approve(seconds: float) -> None:
        await time.sleep(seconds)
        if len(time.slept) == 3:
            state.approve_pin(code.user_code)

    auth._sleep = sleep_then_approve

    tokens = await auth.wait_for_token(hasty)

    assert tokens.access_token == TOKEN
    assert tokens.refresh_token is None
    assert tokens.expires_at is None  # SIMKL tokens never expire
    # pending, then "slow down" (two seconds is too fast), then five seconds slower.
    assert time.slept == [2, 2, 7]


async def test_an_expired_code_stops_the_flow(serve: Serve, session: aiohttp.ClientSession) -> None:
    state = SimklState()
    auth, time = await pin_auth(serve, session, state)
    code = await auth.request_code()
    state.quirks.pin_codes_expire = True

    assert (await auth.poll_once(code)).status is PinStatus.EXPIRED
    with pytest.raises(CrossWatchAuthenticationError, match="expired"):
        await auth.wait_for_token(code)

    # Past expires_in the client stops asking at all.
    state.quirks.pin_codes_expire = False
    calls = auth.http.requests.count
    time.now += 900
    assert (await auth.poll_once(code)).status is PinStatus.EXPIRED
    assert auth.http.requests.count == calls


async def test_a_code_simkl_does_not_know_reads_as_expired(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    state = SimklState()
    auth, time = await pin_auth(serve, session, state)
    ghost = PinCode("ZZZZZ", None, "https://simkl.com/pin/", 900, 5, time.now)
    poll = await auth.poll_once(ghost)
    assert poll.status is PinStatus.EXPIRED


async def test_a_refused_code_request_raises_auth_error(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    state = SimklState()
    auth, _ = await pin_auth(serve, session, state, client_id="wrong")
    with pytest.raises(CrossWatchAuthenticationError):
        await auth.request_code()


async def test_a_code_reply_with_odd_numbers_falls_back_to_simkls_defaults(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    async def pin(request: web.Request) -> web.Response:
        return web.json_response(
            {"result": "OK", "user_code": "AB123", "expires_in": "soon", "interval": None}
        )

    async def status(request: web.Request) -> web.Response:
        return web.json_response({"result": "KO", "message": "Code already used"})

    app = web.Application()
    app.router.add_get("/oauth/pin", pin)
    app.router.add_get("/oauth/pin/{USER_CODE}", status)
    auth = SimklPinAuth(session, CLIENT_ID, base_url=await serve(app))
    code = await auth.request_code()
    assert (code.expires_in, code.interval, code.device_code) == (900, 5, None)
    poll = await auth.poll_once(code)
    assert poll.status is PinStatus.EXPIRED
    assert poll.message == "Code already used"


async def test_every_call_identifies_the_app_and_sync_calls_carry_the_token(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig = await make_rig(serve, session)
    account = await fetch_account(rig.api)
    assert (account.id, account.name) == ("51", "Andrew Masyk")
    headers = rig.state.headers_seen[-1]
    assert headers["simkl-api-key"] == CLIENT_ID
    assert headers["Authorization"] == f"Bearer {TOKEN}"
    assert headers["app-name"] == "crosswatch"
    assert headers["app-version"]
    assert headers["User-Agent"].startswith("CrossWatch/")


async def test_settings_without_an_account_id_are_a_provider_error(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    async def settings(request: web.Request) -> web.Response:
        return web.json_response({"user": {"name": "x"}, "account": {}})

    app = web.Application()
    app.router.add_post("/users/settings", settings)
    api = SimklApi(session, CLIENT_ID, TOKEN, base_url=await serve(app))
    with pytest.raises(ProviderError, match="did not name the account"):
        await fetch_account(api)
