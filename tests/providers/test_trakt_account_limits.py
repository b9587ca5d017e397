"""Trakt's account limits for 2026 (free / VIP): watchlist 250 / 5,000, ratings 10,000 / 20,000.

Read from the account's plan, planned around by the engine's account-limit guard, and a 420
over them names the list and the limit (../shared/research/provider-facts-2026.md, Trakt).
"""

import aiohttp
import pytest

from custom_components.crosswatch.engine.payloads import Feature, Rated
from custom_components.crosswatch.engine.plan import Action
from custom_components.crosswatch.engine.provider import AccountLimitError, WriteRequest
from tests.providers.conftest import Serve
from tests.providers.test_trakt_provider import HEAT, MATRIX, make_rig
from tests.simulators.trakt import TraktSim

pytestmark = pytest.mark.usefixtures("socket_enabled")


@pytest.mark.parametrize(("vip", "ratings"), [(False, 10_000), (True, 20_000)])
async def test_the_account_limits_follow_the_account_s_plan(
    serve: Serve, session: aiohttp.ClientSession, vip: bool, ratings: int
) -> None:
    sim = TraktSim()
    sim.vip = vip
    rig = await make_rig(serve, session, sim)

    await rig.provider.health()

    assert rig.provider.capabilities.limits[Feature.RATINGS] == ratings
    assert rig.provider.capabilities.limits[Feature.WATCHLIST] == (5_000 if vip else 250)


async def test_an_account_that_upgrades_gets_the_vip_ratings_limit_at_its_next_health_check(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig = await make_rig(serve, session)
    await rig.provider.health()
    rig.sim.vip = True

    await rig.provider.health()

    assert rig.provider.capabilities.limits[Feature.RATINGS] == 20_000


async def test_a_rating_over_the_plan_s_limit_is_refused_with_420_naming_ratings_and_the_limit(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    sim = TraktSim()
    sim.ratings_limit = 1  # as a free account at its 10,000
    rig = await make_rig(serve, session, sim)
    await rig.provider.write(Feature.RATINGS, Action.ADD, [WriteRequest(MATRIX, Rated(8))])

    with pytest.raises(AccountLimitError) as caught:
        await rig.provider.write(Feature.RATINGS, Action.ADD, [WriteRequest(HEAT, Rated(7))])

    assert caught.value.limit == 1
    assert str(caught.value).startswith("Trakt refused more ratings: ")
    assert "VIP" in str(caught.value)
    assert len(rig.sim.ratings) == 1  # nothing stored
    # Changing a rating the account already holds takes no room.
    await rig.provider.write(Feature.RATINGS, Action.ADD, [WriteRequest(MATRIX, Rated(9))])
