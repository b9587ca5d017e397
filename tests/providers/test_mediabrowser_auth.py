"""Logging in to Jellyfin and Emby, the identity headers, and what health checks refuse."""

from dataclasses import fields
from datetime import UTC, datetime, timedelta, timezone

import aiohttp
import pytest

from custom_components.crosswatch.engine.provider import AuthError, ProviderError
from custom_components.crosswatch.providers import jellyfin
from custom_components.crosswatch.providers.emby import EmbyProvider
from custom_components.crosswatch.providers.http import RetryPolicy
from custom_components.crosswatch.providers.jellyfin import (
    JellyfinProvider,
    JellyfinQuickConnect,
    QuickConnectCode,
    QuickConnectStatus,
    sign_in,
)
from custom_components.crosswatch.providers.mediabrowser import MediaBrowserAccount
from custom_components.crosswatch.providers.mediabrowser_client import (
    EMBY,
    JELLYFIN,
    Credentials,
    DeviceInfo,
    MediaBrowserClient,
    credentials_from,
)
from tests.simulators.mediabrowser import Flavour, MediaBrowserQuirks

from .conftest import Serve
from .test_mediabrowser_support import DEVICE, FLAVOURS, make_rig

PASSWORD = "correct horse"


@pytest.mark.parametrize("flavour", FLAVOURS)
async def test_a_login_by_name_keeps_the_token_and_the_user_and_never_the_password(
    serve: Serve, session: aiohttp.ClientSession, flavour: Flavour
) -> None:
    rig = await make_rig(serve, session, flavour)

    account, credentials = await sign_in(rig.anonymous(session), "alice", PASSWORD)

    assert [f.name for f in fields(Credentials)] == ["access_token", "user_id", "user_name"]
    assert PASSWORD not in repr(credentials)
    assert PASSWORD not in repr(account)
    assert rig.state.tokens[credentials.access_token] == rig.user.id
    assert account == MediaBrowserAccount(rig.state.server_id, "Living Room", rig.user.id, "alice")


@pytest.mark.parametrize("flavour", FLAVOURS)
async def test_a_wrong_password_is_an_auth_error(
    serve: Serve, session: aiohttp.ClientSession, flavour: Flavour
) -> None:
    rig = await make_rig(serve, session, flavour)

    with pytest.raises(AuthError):
        await sign_in(rig.anonymous(session), "alice", "wrong")


@pytest.mark.parametrize("flavour", FLAVOURS)
async def test_the_key_names_flavour_server_and_user_and_survives_a_new_token(
    serve: Serve, session: aiohttp.ClientSession, flavour: Flavour
) -> None:
    rig = await make_rig(serve, session, flavour)

    assert rig.provider.key == f"{flavour}:{rig.state.server_id}:{rig.user.id}"
    assert rig.provider.name == f"{rig.client.flavour.name} (alice on Living Room)"
    await rig.provider.health()
    assert rig.provider.requests_made == 2


async def test_jellyfin_identifies_itself_only_with_the_mediabrowser_authorization_header() -> None:
    headers = JELLYFIN.client_header(DEVICE, "t0k")

    assert headers == {
        "Authorization": 'MediaBrowser Client="CrossWatch", Device="Home Assistant", '
        'DeviceId="cw-test-device", Version="0.1.0", Token="t0k"'
    }
    assert "Token" not in JELLYFIN.client_header(DEVICE, None)["Authorization"]


async def test_emby_sends_the_token_in_x_emby_token_beside_its_client_header() -> None:
    headers = EMBY.client_header(DEVICE, "t0k")

    assert headers["X-Emby-Token"] == "t0k"
    assert headers["X-Emby-Authorization"].startswith('Emby Client="CrossWatch"')
    assert "X-Emby-Token" not in EMBY.client_header(DEVICE, None)


async def test_header_values_cannot_break_out_of_their_quotes() -> None:
    header = JELLYFIN.client_header(DeviceInfo('d"1', "1,0", device='HA", Token="x'), None)

    assert header["Authorization"].count('"') == 8


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


async def test_emby_refuses_a_login_without_its_client_header(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig = await make_rig(serve, session, Flavour.EMBY)

    body = {"Username": "alice", "Pw": PASSWORD}
    async with session.post(f"{rig.base}/emby/Users/AuthenticateByName", json=body) as reply:
        assert reply.status == 400
    async with session.get(
        f"{rig.base}/emby/System/Info/Public", params={"api_key": "nope"}
    ) as reply:
        assert reply.status == 200  # public, whatever the token


async def test_an_emby_client_adds_the_emby_base_path_once(session: aiohttp.ClientSession) -> None:
    for url in ("http://emby.local:8096", "http://emby.local:8096/", "http://emby.local:8096/emby"):
        client = MediaBrowserClient(session, EMBY, url, device=DEVICE)
        assert client.http.base_url == "http://emby.local:8096/emby"
    assert MediaBrowserClient(session, JELLYFIN, "http://j/", device=DEVICE).http.base_url == (
        "http://j"
    )


def test_played_dates_go_out_in_each_flavours_format() -> None:
    when = datetime(2024, 3, 1, 21, 5, 9, 123456, tzinfo=timezone(timedelta(hours=1)))

    assert JELLYFIN.date_played(when) == "2024-03-01T20:05:09Z"
    assert EMBY.date_played(when) == "20240301200509"
    assert EMBY.date_played(datetime(2024, 3, 1, 20, 5, 9)) == "20240301200509"  # noqa: DTZ001
    assert JELLYFIN.query("StartIndex") == "startIndex"
    assert EMBY.query("StartIndex") == "StartIndex"


def test_an_authentication_result_without_token_or_user_is_refused() -> None:
    with pytest.raises(ProviderError, match="access token"):
        credentials_from({"User": {"Id": "u"}, "AccessToken": ""})
    with pytest.raises(ProviderError, match="user"):
        credentials_from({"AccessToken": "t"})
    assert credentials_from({"User": {"Id": "u"}, "AccessToken": "t"}).user_name == "u"


# Quick Connect --------------------------------------------------------------------------


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
    with pytest.raises(ProviderError, match="no Quick Connect result"):
        jellyfin._result([])


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


def test_emby_has_no_quick_connect(session: aiohttp.ClientSession) -> None:
    with pytest.raises(ValueError, match="Emby has no Quick Connect"):
        JellyfinQuickConnect(MediaBrowserClient(session, EMBY, "http://e", device=DEVICE))


# Health ----------------------------------------------------------------------------------


@pytest.mark.parametrize("flavour", FLAVOURS)
async def test_a_revoked_token_is_an_auth_error(
    serve: Serve, session: aiohttp.ClientSession, flavour: Flavour
) -> None:
    rig = await make_rig(serve, session, flavour, quirks=MediaBrowserQuirks(token_revoked=True))

    with pytest.raises(AuthError):
        await rig.provider.health()


@pytest.mark.parametrize("flavour", FLAVOURS)
async def test_health_refuses_another_server_at_the_same_address(
    serve: Serve, session: aiohttp.ClientSession, flavour: Flavour
) -> None:
    rig = await make_rig(serve, session, flavour)
    rig.state.server_id = "f" * 32  # reinstalled

    with pytest.raises(AuthError, match="now server"):
        await rig.provider.health()


@pytest.mark.parametrize("flavour", FLAVOURS)
async def test_health_refuses_a_token_that_now_belongs_to_someone_else(
    serve: Serve, session: aiohttp.ClientSession, flavour: Flavour
) -> None:
    rig = await make_rig(serve, session, flavour)
    bob = rig.state.add_user("bob", "pw")
    token = next(iter(rig.state.tokens))
    rig.state.tokens[token] = bob.id
    if flavour is Flavour.EMBY:
        rig.state.users[rig.user.id] = bob  # Emby asks for the user by id

    with pytest.raises(AuthError):
        await rig.provider.health()


async def test_a_provider_refuses_a_client_of_the_other_flavour(
    session: aiohttp.ClientSession,
) -> None:
    account = MediaBrowserAccount("s", "S", "u", "U")
    with pytest.raises(ValueError, match="needs a Jellyfin client"):
        JellyfinProvider(MediaBrowserClient(session, EMBY, "http://e", device=DEVICE), account)
    with pytest.raises(ValueError, match="needs a Emby client"):
        EmbyProvider(MediaBrowserClient(session, JELLYFIN, "http://j", device=DEVICE), account)


async def test_a_server_reply_without_an_id_is_refused(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig = await make_rig(serve, session, Flavour.JELLYFIN)
    rig.state.server_id = ""

    with pytest.raises(ProviderError, match="server id"):
        await rig.client.public_info()
    assert UTC is not None
