"""Jellyfin only: Quick Connect, the MediaBrowser authorization header, and Jellyfin 12's refusals."""

import aiohttp
import pytest

from custom_components.crosswatch.clients.errors import (
    CrossWatchInvalidResponseError,
    CrossWatchResponseError,
)
from custom_components.crosswatch.clients.http import RetryPolicy
from custom_components.crosswatch.clients.mediabrowser import (
    JELLYFIN,
    MediaBrowserClient,
    parse_quick_connect,
)
from custom_components.crosswatch.engine.provider import AuthError, ProviderError
from custom_components.crosswatch.providers.client_errors import HttpError
from custom_components.crosswatch.providers.jellyfin import (
    JellyfinQuickConnect,
    QuickConnectCode,
    QuickConnectStatus,
)
from tests.simulators.mediabrowser import Flavour, MediaBrowserQuirks

from .conftest import Serve
from .test_mediabrowser_support import DEVICE, make_rig


async def test_quick_connect_goes_initiate_then_pending_then_authorized_then_a_token(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig = await make_rig(serve, session, Flavour.JELLYFIN)
    quick = JellyfinQuickConnect(rig.anonymous(session))

    assert await quick.enabled() is True
    request = await quick.initiate()
    assert len(request.code) == 6
    assert request.secret
    assert await quick.poll(request) is QuickConnectStatus.PENDING
    # The user types the code into a Jellyfin app that is logged in.
    await rig.client.call(
        "POST", "/QuickConnect/Authorize", params={"code": request.code, "userId": rig.user.id}
    )
    assert await quick.poll(request) is QuickConnectStatus.AUTHORIZED

    account, credentials = await quick.authenticate(request)

    assert account.user_id == rig.user.id
    assert account.server_id == rig.state.server_id
    assert rig.state.tokens[credentials.access_token] == rig.user.id
    assert await quick.poll(request) is QuickConnectStatus.EXPIRED  # the secret was used up


async def test_quick_connect_reports_a_forgotten_secret_as_expired_and_an_unapproved_one_fails(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig = await make_rig(serve, session, Flavour.JELLYFIN)
    quick = JellyfinQuickConnect(rig.anonymous(session))

    assert await quick.poll(QuickConnectCode("000000", "unknown")) is QuickConnectStatus.EXPIRED
    pending = await quick.initiate()
    with pytest.raises(ProviderError, match="HTTP 400"):
        await quick.authenticate(pending)


async def test_quick_connect_switched_off_says_so_instead_of_asking_for_a_login(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig = await make_rig(
        serve, session, Flavour.JELLYFIN, quirks=MediaBrowserQuirks(quick_connect=False)
    )
    quick = JellyfinQuickConnect(rig.anonymous(session))

    assert await quick.enabled() is False
    with pytest.raises(ProviderError, match="switched off") as raised:
        await quick.initiate()
    assert not isinstance(raised.value, AuthError)


async def test_quick_connect_refuses_a_malformed_result(
    serve: Serve, session: aiohttp.ClientSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    rig = await make_rig(serve, session, Flavour.JELLYFIN)
    quick = JellyfinQuickConnect(rig.anonymous(session))
    request = await quick.initiate()
    rig.state.quick_connect[request.secret].code = None  # type: ignore[assignment]

    with pytest.raises(ProviderError, match="no code or secret"):
        await quick.poll(request)
    with pytest.raises(CrossWatchInvalidResponseError, match="no Quick Connect result"):
        parse_quick_connect([])


async def test_quick_connect_errors_other_than_an_unknown_secret_propagate(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig = await make_rig(serve, session, Flavour.JELLYFIN)
    request = await JellyfinQuickConnect(rig.anonymous(session)).initiate()
    broken = MediaBrowserClient(
        session, JELLYFIN, rig.base + "/nowhere", device=DEVICE, retry=RetryPolicy(backoff=0)
    )
    # Only "unknown secret" means expired; anything else is an error, never a quiet status.
    with pytest.raises(AuthError):
        await JellyfinQuickConnect(broken).poll(request)
    rig.state.quick_connect.clear()
    assert await JellyfinQuickConnect(rig.anonymous(session)).poll(request) is (
        QuickConnectStatus.EXPIRED
    )


async def test_a_quick_connect_poll_that_fails_otherwise_raises_instead_of_reading_pending(
    serve: Serve, session: aiohttp.ClientSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    rig = await make_rig(serve, session, Flavour.JELLYFIN)
    client = rig.anonymous(session)
    quick = JellyfinQuickConnect(client)
    request = await quick.initiate()

    async def unavailable(*args: object, **kwargs: object) -> None:
        raise CrossWatchResponseError(503, "Jellyfin is having trouble")

    monkeypatch.setattr(client, "call", unavailable)

    with pytest.raises(HttpError, match="503"):
        await quick.poll(request)


async def test_jellyfin_identifies_itself_only_with_the_mediabrowser_authorization_header() -> None:
    headers = JELLYFIN.client_header(DEVICE, "t0k")

    assert headers == {
        "Authorization": 'MediaBrowser Client="CrossWatch", Device="Home Assistant", '
        'DeviceId="cw-test-device", Version="0.1.0", Token="t0k"'
    }
    assert "Token" not in JELLYFIN.client_header(DEVICE, None)["Authorization"]


async def test_a_jellyfin_12_server_accepts_the_client_and_refuses_the_legacy_forms(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig = await make_rig(
        serve, session, Flavour.JELLYFIN, quirks=MediaBrowserQuirks(jellyfin12=True)
    )
    token = next(iter(rig.state.tokens))
    await rig.provider.health()  # the client's own header works on 12

    legacy = [
        ({"X-Emby-Token": token}, {}),
        ({}, {"api_key": token}),
        ({"X-Emby-Authorization": f'MediaBrowser Client="x", Token="{token}"'}, {}),
    ]
    for headers, params in legacy:
        async with session.get(f"{rig.base}/Users/Me", headers=headers, params=params) as reply:
            assert reply.status == 401
    rig.state.quirks.jellyfin12 = False  # 10.11 still takes them
    for headers, params in legacy:
        async with session.get(f"{rig.base}/Users/Me", headers=headers, params=params) as reply:
            assert reply.status == 200
