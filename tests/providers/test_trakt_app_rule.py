"""Trakt's 2026 app rule in the client and the adapter: a refused app is no refused sign-in.

Since 2026-07-31 own API apps need VIP; a deleted client id gets 403 on every request, and
"VIP required" is 426 (../shared/research/provider-facts-2026.md, Trakt).
"""

import aiohttp
import pytest

from custom_components.crosswatch.clients.errors import (
    CrossWatchAppRefusedError,
    CrossWatchAuthenticationError,
)
from custom_components.crosswatch.clients.tokens import Tokens
from custom_components.crosswatch.clients.trakt import TraktAppDeletedError, TraktVipRequiredError
from custom_components.crosswatch.clients.trakt.auth import (
    refresh_tokens,
    request_device_code,
)
from custom_components.crosswatch.engine.payloads import Feature, Listed
from custom_components.crosswatch.engine.plan import Action
from custom_components.crosswatch.engine.provider import (
    AccountLockedError,
    AuthError,
    WriteRequest,
)
from custom_components.crosswatch.providers.client_errors import AppRefusedError
from tests.providers.conftest import Serve
from tests.providers.test_trakt_auth import APP, _http
from tests.providers.test_trakt_provider import MATRIX, NOW, make_rig
from tests.simulators.trakt import TraktSim

pytestmark = pytest.mark.usefixtures("socket_enabled")

REFUSALS = [
    ("app_deleted", TraktAppDeletedError, 403, "trakt_app_deleted"),
    ("vip_required", TraktVipRequiredError, 426, "trakt_vip_required"),
]


@pytest.mark.parametrize(("quirk", "error", "status", "code"), REFUSALS)
async def test_a_refused_app_is_its_own_error_not_a_refused_sign_in(
    serve: Serve,
    session: aiohttp.ClientSession,
    quirk: str,
    error: type[CrossWatchAppRefusedError],
    status: int,
    code: str,
) -> None:
    rig = await make_rig(serve, session)
    setattr(rig.sim.quirks, quirk, True)

    with pytest.raises(error) as caught:
        await rig.client.settings()

    assert not isinstance(caught.value, CrossWatchAuthenticationError)
    assert (caught.value.status, caught.value.code) == (status, code)
    # One request, no retry, and no refresh: new tokens cannot get past a refused app.
    assert rig.paths() == ["GET /users/settings"]
    assert rig.saved == []


@pytest.mark.parametrize(("quirk", "error", "status", "code"), REFUSALS)
async def test_the_adapter_reports_a_refused_app_as_a_locked_account_never_as_auth(
    serve: Serve,
    session: aiohttp.ClientSession,
    quirk: str,
    error: type[CrossWatchAppRefusedError],
    status: int,
    code: str,
) -> None:
    rig = await make_rig(serve, session)
    await rig.provider.health()
    setattr(rig.sim.quirks, quirk, True)

    with pytest.raises(AppRefusedError) as on_health:
        await rig.provider.health()
    with pytest.raises(AppRefusedError) as on_write:
        await rig.provider.write(Feature.WATCHLIST, Action.ADD, [WriteRequest(MATRIX, Listed())])

    for caught in (on_health, on_write):
        assert caught.value.code == code
        # The engine stops writing to the side, as for a locked account, and asks no reauth.
        assert isinstance(caught.value, AccountLockedError)
        assert not isinstance(caught.value, AuthError)
        assert isinstance(caught.value.__cause__, error)
    assert rig.sim.watchlist == []


@pytest.mark.parametrize(("quirk", "error", "status", "code"), REFUSALS)
async def test_the_sign_in_tells_a_refused_app_from_wrong_credentials(
    serve: Serve,
    session: aiohttp.ClientSession,
    quirk: str,
    error: type[CrossWatchAppRefusedError],
    status: int,
    code: str,
) -> None:
    sim = TraktSim()
    http = await _http(serve, session, sim)
    refresh = Tokens.from_oauth_reply(sim.issue_tokens()).refresh_token
    assert refresh is not None
    setattr(sim.quirks, quirk, True)

    with pytest.raises(error):
        await request_device_code(http, APP)
    with pytest.raises(error):
        await refresh_tokens(http, APP, refresh, now=lambda: NOW)
    # The refresh token was not spent: Trakt never got to it.
    assert refresh in sim.refresh_tokens
