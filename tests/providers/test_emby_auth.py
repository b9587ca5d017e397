"""Emby only: the `/emby` base path, `X-Emby-Token`, its login header, and no Quick Connect."""

import aiohttp
import pytest

from custom_components.crosswatch.clients.mediabrowser import (
    EMBY,
    JELLYFIN,
    MediaBrowserClient,
)
from custom_components.crosswatch.providers.jellyfin import (
    JellyfinQuickConnect,
)
from tests.simulators.mediabrowser import Flavour

from .conftest import Serve
from .test_mediabrowser_support import DEVICE, make_rig


async def test_emby_sends_the_token_in_x_emby_token_beside_its_client_header() -> None:
    headers = EMBY.client_header(DEVICE, "t0k")

    assert headers["X-Emby-Token"] == "t0k"
    assert headers["X-Emby-Authorization"].startswith('Emby Client="CrossWatch"')
    assert "X-Emby-Token" not in EMBY.client_header(DEVICE, None)


async def test_emby_refuses_a_login_without_its_client_header(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig = await make_rig(serve, session, Flavour.EMBY)

    body = {"Username": "alice", "Pw": "correct horse"}
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


def test_emby_has_no_quick_connect(session: aiohttp.ClientSession) -> None:
    with pytest.raises(ValueError, match="Emby has no Quick Connect"):
        JellyfinQuickConnect(MediaBrowserClient(session, EMBY, "http://e", device=DEVICE))
