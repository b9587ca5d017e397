"""SIMKL AUTH V2: the device sign-in, tokens that expire, and the one refresher of a grant."""

import asyncio
from dataclasses import dataclass, field
from datetime import timedelta

import aiohttp
from aiohttp import web
import pytest

from custom_components.crosswatch.clients.errors import (
    CrossWatchAuthenticationError,
    CrossWatchInvalidResponseError,
    CrossWatchReadOnlyError,
    CrossWatchResponseError,
)
from custom_components.crosswatch.clients.http import RetryPolicy
from custom_components.crosswatch.clients.simkl.auth import (
    DeviceCode,
    DeviceFlowError,
    DeviceStatus,
    SimklGrant,
    SimklOAuth,
)
from custom_components.crosswatch.clients.simkl.client import SimklApi
from custom_components.crosswatch.clients.tokens import Tokens
from custom_components.crosswatch.engine.items import MediaItem, MediaType
from custom_components.crosswatch.engine.payloads import Feature, Listed
from custom_components.crosswatch.engine.plan import Action
from custom_components.crosswatch.engine.provider import AuthError, WriteRequest
from custom_components.crosswatch.providers.simkl import SimklAccount, SimklProvider
from tests.providers.conftest import Serve
from tests.providers.test_simkl_support import FakeTime, seeded_state
from tests.simulators.simkl import V2_CLIENT_ID, SimklState, simkl_app

pytestmark = pytest.mark.usefixtures("socket_enabled")


@dataclass
class Store:
    """The config entry's tokens: what `save` wrote last is what `load` reads."""

    tokens: Tokens
    saves: list[Tokens] = field(default_factory=list)

    async def save(self, tokens: Tokens) -> None:
        self.saves.append(tokens)
        self.tokens = tokens

    def load(self) -> Tokens:
        return self.tokens


@dataclass
class V2Rig:
    state: SimklState
    base: str
    time: FakeTime
    oauth: SimklOAuth
    session: aiohttp.ClientSession

    def grant(self, store: Store) -> SimklGrant:
        return SimklGrant(
            store.tokens, oauth=self.oauth, save=store.save, load=store.load, now=self.now
        )

    def api(self, grant: SimklGrant) -> SimklApi:
        return SimklApi(
            self.session,
            V2_CLIENT_ID,
            grant,
            base_url=self.base,
            retry=RetryPolicy(backoff=0),
            sleep=self.time.sleep,
            clock=self.time.clock,
        )

    def now(self) -> float:
        return self.state.now.timestamp()


async def v2_rig(
    serve: Serve, session: aiohttp.ClientSession, client_id: str = V2_CLIENT_ID
) -> V2Rig:
    state = seeded_state()
    base = await serve(simkl_app(state))
    time = FakeTime(state)
    oauth = SimklOAuth(
        session,
        client_id,
        base_url=base,
        retry=RetryPolicy(backoff=0),
        sleep=time.sleep,
        now=lambda: state.now.timestamp(),  # noqa: PLW0108 - `state.now` moves
    )
    return V2Rig(state, base, time, oauth, session)


async def signed_in(rig: V2Rig, scope: str = "media:read media:write") -> Store:
    """A grant as the device sign-in leaves it in the entry."""
    code = await rig.oauth.request_device_code(scope)
    rig.state.approve_device(code.user_code)
    grant = await rig.oauth.wait_for_grant(code)
    return Store(grant.tokens)


async def test_the_device_sign_in_asks_for_read_and_write_and_gets_expiring_tokens(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig = await v2_rig(serve, session)
    code = await rig.oauth.request_device_code()
    assert code.verification_uri == f"https://simkl.com/pin?user_code={code.user_code}"
    assert (await rig.oauth.poll(code)).status is DeviceStatus.PENDING
    rig.state.approve_device(code.user_code)

    grant = await rig.oauth.wait_for_grant(code)

    assert grant.can_write
    assert grant.tokens.access_token.startswith("simkl_at_")
    assert grant.tokens.refresh_token is not None
    assert grant.tokens.refresh_token.startswith("simkl_rt_")
    assert grant.tokens.expires_at == pytest.approx(rig.now() + 7 * 86400, abs=1)
    assert rig.state.device_codes[code.device_code].scope == "media:read media:write"


async def test_a_sign_in_without_the_write_scope_is_granted_read_only(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig = await v2_rig(serve, session)
    code = await rig.oauth.request_device_code("media:reed")  # misspelt
    rig.state.approve_device(code.user_code)
    grant = await rig.oauth.wait_for_grant(code)
    assert not grant.can_write


async def test_polling_too_fast_slows_down_and_an_expired_code_ends_the_sign_in(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig = await v2_rig(serve, session)
    code = await rig.oauth.request_device_code()
    await rig.oauth.poll(code)
    slowed = await rig.oauth.poll(code)
    assert slowed.status is DeviceStatus.SLOW_DOWN
    assert slowed.interval == code.interval + 5

    with pytest.raises(DeviceFlowError) as ended:
        await rig.oauth.wait_for_grant(code)
    assert ended.value.status is DeviceStatus.EXPIRED


async def test_a_declined_code_ends_the_sign_in_when_simkl_says_so(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig = await v2_rig(serve, session)
    rig.state.quirks.device_denial_reported = True
    code = await rig.oauth.request_device_code()
    rig.state.deny_device(code.user_code)
    with pytest.raises(DeviceFlowError) as ended:
        await rig.oauth.wait_for_grant(code)
    assert ended.value.status is DeviceStatus.DENIED


async def test_a_v1_client_id_is_refused_by_the_v2_sign_in(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig = await v2_rig(serve, session, client_id="simkl-client-id")
    with pytest.raises(CrossWatchAuthenticationError, match="invalid_client"):
        await rig.oauth.request_device_code()


async def test_oauth2_calls_without_the_app_parameters_are_refused_with_412(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig = await v2_rig(serve, session)
    async with session.post(
        f"{rig.base}/oauth2/device", data={"client_id": V2_CLIENT_ID, "scope": "media:read"}
    ) as reply:
        assert reply.status == 412
        assert set((await reply.json())["missing"]) == {"app-name", "app-version"}


async def test_a_v2_account_survives_an_eight_day_gap(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig = await v2_rig(serve, session)
    store = await signed_in(rig)
    first = store.tokens.access_token
    rig.state.advance(timedelta(days=8).total_seconds())  # HA was off: the token expired

    provider = SimklProvider(rig.api(rig.grant(store)), SimklAccount("51", "Andrew Masyk"))
    await provider.health()

    assert len(store.saves) == 1  # renewed once, and saved
    assert store.tokens.access_token != first
    assert store.tokens.refresh_token is not None
    assert rig.state.live_grant(store.tokens.access_token) is not None


async def test_a_token_is_renewed_a_day_before_it_expires_not_after(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig = await v2_rig(serve, session)
    store = await signed_in(rig)
    grant = rig.grant(store)
    api = rig.api(grant)
    rig.state.advance(timedelta(days=5).total_seconds())
    await api.settings()
    assert store.saves == []
    rig.state.advance(timedelta(days=1, hours=1).total_seconds())  # 23 hours left
    await api.settings()
    assert len(store.saves) == 1
    assert store.tokens.expires_at == pytest.approx(rig.now() + 7 * 86400, abs=1)


async def test_a_refresh_race_of_one_account_ends_with_one_valid_token_and_no_logout(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig = await v2_rig(serve, session)
    store = await signed_in(rig)
    grant = rig.grant(store)
    rig.state.advance(timedelta(days=6, hours=12).total_seconds())  # inside the margin

    # Two pair runs and the health check of the same account start at once.
    runs = [rig.api(grant) for _ in range(3)]
    await asyncio.gather(*(api.settings() for api in runs), *(api.activities() for api in runs))

    assert grant.refreshes == 1
    assert len(store.saves) == 1
    assert rig.state.grants[0].refreshes == 1
    assert rig.state.live_grant(store.tokens.access_token) is not None
    # Each run keeps working with the one token.
    await asyncio.gather(*(api.settings() for api in runs))
    assert len(store.saves) == 1


async def test_after_a_401_the_stored_token_is_read_again_before_refreshing(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig = await v2_rig(serve, session)
    store = await signed_in(rig)
    stale = store.tokens
    # Another owner of the entry (one from before a reload, say) renews the token...
    other = rig.grant(store)
    await other.refused(stale.access_token)
    assert other.refreshes == 1
    # ...just after this owner read the entry: its first look still sees the old pair.
    looks = iter([stale])
    mine = SimklGrant(
        stale,
        oauth=rig.oauth,
        save=store.save,
        load=lambda: next(looks, store.tokens),
        now=rig.now,
    )

    await rig.api(mine).settings()  # a 401 for the dead token, then the stored one

    assert mine.refreshes == 0  # it took the stored token instead of killing it
    assert rig.state.grants[0].refreshes == 1
    assert mine.tokens == store.tokens
    assert rig.state.live_grant(store.tokens.access_token) is not None


async def test_a_401_renews_once_and_retries(serve: Serve, session: aiohttp.ClientSession) -> None:
    rig = await v2_rig(serve, session)
    store = await signed_in(rig)
    grant = rig.grant(store)
    api = rig.api(grant)
    # SIMKL ended the token early (say, the user refreshed it elsewhere): the next call is a 401.
    rig.state.killed_tokens.add(rig.state.grants[0].access_token)
    rig.state.grants[0].access_token = "simkl_at_ended_elsewhere"

    await api.settings()

    assert grant.refreshes == 1
    assert store.tokens.access_token == rig.state.grants[0].access_token


async def test_a_revoked_grant_is_an_auth_error_that_asks_for_a_new_sign_in(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig = await v2_rig(serve, session)
    store = await signed_in(rig)
    grant = rig.grant(store)
    await grant.revoke()
    assert rig.state.grants[0].revoked
    provider = SimklProvider(rig.api(grant), SimklAccount("51", "Andrew Masyk"))
    with pytest.raises(AuthError, match="sign in again"):
        await provider.health()


async def test_a_read_only_grant_reads_but_its_writes_fail_as_read_only(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig = await v2_rig(serve, session)
    store = await signed_in(rig, scope="media:read")
    grant = rig.grant(store)
    provider = SimklProvider(rig.api(grant), SimklAccount("51", "Andrew Masyk"))
    await provider.read(Feature.WATCHLIST, None)
    movie = MediaItem.create(MediaType.MOVIE, title="Heat", ids={"imdb": "tt0113277"})

    with pytest.raises(AuthError) as refused:
        await provider.write(Feature.WATCHLIST, Action.ADD, [WriteRequest(movie, Listed(None))])

    assert isinstance(refused.value.__cause__, CrossWatchReadOnlyError)
    assert grant.refreshes == 0  # a 403 is not cured by renewing


async def test_a_v1_token_is_used_as_it_is_and_never_renewed(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig = await v2_rig(serve, session)
    store = Store(Tokens("simkl-user-token"))
    grant = rig.grant(store)
    assert not grant.renewable
    rig.state.advance(timedelta(days=400).total_seconds())
    await rig.api(grant).settings()
    assert store.saves == []


async def test_each_renewal_extends_the_sign_in_and_181_days_unused_end_it(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig = await v2_rig(serve, session)
    store = await signed_in(rig)
    grant = rig.grant(store)
    api = rig.api(grant)
    for _ in range(30):  # seven months of weekly use: the 180 days slide along
        rig.state.advance(timedelta(days=7).total_seconds())
        await api.settings()
    assert grant.refreshes == 30

    rig.state.advance(timedelta(days=181).total_seconds())
    with pytest.raises(CrossWatchAuthenticationError, match="sign in again"):
        await api.settings()
    assert len(store.saves) == 30  # nothing unusable was saved


async def test_a_device_reply_without_its_codes_is_an_invalid_response(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    async def device(request: web.Request) -> web.Response:
        return web.json_response({"user_code": "ABCD-EFGH"})

    app = web.Application()
    app.router.add_post("/oauth2/device", device)
    oauth = SimklOAuth(session, V2_CLIENT_ID, base_url=await serve(app))
    with pytest.raises(CrossWatchInvalidResponseError, match="device code"):
        await oauth.request_device_code()


async def test_an_unknown_poll_error_is_a_response_error_not_a_pending_code(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    async def token(request: web.Request) -> web.Response:
        return web.json_response({"error": "server_is_confused"}, status=400)

    app = web.Application()
    app.router.add_post("/oauth2/token", token)
    oauth = SimklOAuth(session, V2_CLIENT_ID, base_url=await serve(app))
    code = DeviceCode("dc", "ABCD-EFGH", "https://simkl.com/pin", 900, 5, 0.0)
    with pytest.raises(CrossWatchResponseError, match="server_is_confused"):
        await oauth.poll(code)
