"""`crosswatch.forget_item`: fix one wrong entry by forgetting what the pair remembers of it.

The story: SIMKL did not know the Matrix, so the pair's add was rejected and waits hours for
its retry. SIMKL knows it now; the user forgets the item on the target, and the next sync sends
it at once. Forgetting changes nothing on the services.
"""

from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.crosswatch.const import DOMAIN
from tests.providers.conftest import Serve
from tests.simulators import simkl as simkl_sim, trakt as trakt_sim

from .helpers import add_pair, one_film_each, pair_device, set_up_accounts, state, sync_entry

MATRIX_ON_SIMKL = 100


@pytest.fixture
async def sync(
    hass: HomeAssistant, serve: Serve, trakt: trakt_sim.TraktSim, simkl: simkl_sim.SimklState
) -> MockConfigEntry:
    """A two-way watchlist pair whose add of the Matrix to SIMKL was rejected (not known)."""
    one_film_each(trakt, simkl)
    trakt.add_movie(50, "Heat", 1995, imdb="tt0113277", tmdb=949)
    await set_up_accounts(hass, serve, trakt, simkl)
    entry = sync_entry()
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await add_pair(hass, entry, source="trakt:alice", target="simkl:51")
    return entry


def simkl_watchlist(simkl: simkl_sim.SimklState) -> set[int]:
    return {sid for sid, listing in simkl.lists.items() if listing.status == "plantowatch"}


async def forget(hass: HomeAssistant, sync: MockConfigEntry, **fields: Any) -> Any:
    return await hass.services.async_call(
        DOMAIN,
        "forget_item",
        {"pair": pair_device(hass, sync).id, **fields},
        blocking=True,
        return_response=True,
    )


async def test_forgetting_a_rejected_item_lets_the_next_sync_send_it_at_once(
    hass: HomeAssistant, sync: MockConfigEntry, simkl: simkl_sim.SimklState
) -> None:
    assert state(hass, "sensor.movies_unresolved_items") == "1"
    simkl.add_title("movies", MATRIX_ON_SIMKL, "The Matrix", 1999, imdb="tt0133093", tmdb="603")
    await hass.services.async_call(
        DOMAIN, "sync", {"pair": pair_device(hass, sync).id}, blocking=True
    )
    assert MATRIX_ON_SIMKL not in simkl_watchlist(simkl)  # still waiting for its retry

    response = await forget(hass, sync, item="imdb:tt0133093", side="target")

    assert response["items"] == ["The Matrix (1999)"]
    assert response["forgotten"]["unresolved"] == 1
    assert state(hass, "sensor.movies_unresolved_items") == "0"
    assert MATRIX_ON_SIMKL not in simkl_watchlist(simkl)  # forgetting writes nothing
    await hass.services.async_call(
        DOMAIN, "sync", {"pair": pair_device(hass, sync).id}, blocking=True
    )
    assert MATRIX_ON_SIMKL in simkl_watchlist(simkl)


async def test_forgetting_an_item_the_pair_does_not_remember_says_so(
    hass: HomeAssistant, sync: MockConfigEntry
) -> None:
    with pytest.raises(ServiceValidationError) as raised:
        await forget(hass, sync, item="Dune (2021)")

    assert raised.value.translation_key == "nothing_to_forget"
    assert raised.value.translation_placeholders == {"pair": "Movies", "item": "Dune (2021)"}


async def test_forgetting_needs_the_item_named(hass: HomeAssistant, sync: MockConfigEntry) -> None:
    with pytest.raises(ServiceValidationError) as raised:
        await forget(hass, sync, item="   ")

    assert raised.value.translation_key == "item_not_named"
