"""The headers every SIMKL call sends, and whose token it is (the V2 sign-in: test_simkl_auth_v2)."""

import aiohttp
from aiohttp import web
import pytest

from custom_components.crosswatch.clients.simkl.client import SimklApi
from custom_components.crosswatch.engine.provider import ProviderError
from custom_components.crosswatch.providers.simkl import fetch_account
from tests.providers.conftest import Serve
from tests.providers.test_simkl_support import make_rig
from tests.simulators.simkl import CLIENT_ID, TOKEN

# The simulator listens on loopback.
pytestmark = pytest.mark.usefixtures("socket_enabled")


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
