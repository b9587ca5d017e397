"""Logging in to Jellyfin and Emby, the identity headers, and what health checks refuse."""

from dataclasses import fields
from datetime import UTC, datetime, timedelta, timezone

import aiohttp
import pytest

from custom_components.crosswatch.clients.errors import CrossWatchClientError
from custom_components.crosswatch.clients.mediabrowser import (
    EMBY,
    JELLYFIN,
    Credentials,
    DeviceInfo,
    MediaBrowserClient,
    credentials_from,
)
from custom_components.crosswatch.engine.provider import AuthError
from custom_components.crosswatch.providers.emby import EmbyProvider
from custom_components.crosswatch.providers.jellyfin import (
    JellyfinProvider,
    sign_in,
)
from custom_components.crosswatch.providers.mediabrowser import MediaBrowserAccount
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


async def test_header_values_cannot_break_out_of_their_quotes() -> None:
    header = JELLYFIN.client_header(DeviceInfo('d"1', "1,0", device='HA", Token="x'), None)

    assert header["Authorization"].count('"') == 8


def test_played_dates_go_out_in_each_flavours_format() -> None:
    when = datetime(2024, 3, 1, 21, 5, 9, 123456, tzinfo=timezone(timedelta(hours=1)))

    assert JELLYFIN.date_played(when) == "2024-03-01T20:05:09Z"
    assert EMBY.date_played(when) == "20240301200509"
    assert EMBY.date_played(datetime(2024, 3, 1, 20, 5, 9)) == "20240301200509"  # noqa: DTZ001
    assert JELLYFIN.query("StartIndex") == "startIndex"
    assert EMBY.query("StartIndex") == "StartIndex"


def test_an_authentication_result_without_token_or_user_is_refused() -> None:
    with pytest.raises(CrossWatchClientError, match="access token"):
        credentials_from({"User": {"Id": "u"}, "AccessToken": ""})
    with pytest.raises(CrossWatchClientError, match="user"):
        credentials_from({"AccessToken": "t"})
    assert credentials_from({"User": {"Id": "u"}, "AccessToken": "t"}).user_name == "u"


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

    with pytest.raises(CrossWatchClientError, match="server id"):
        await rig.client.public_info()
    assert UTC is not None
