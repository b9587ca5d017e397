"""The housekeeping actions: unresolved items, the blackbox, held removals, caches."""

from typing import Any
from unittest.mock import patch

from homeassistant.core import Context, HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError, Unauthorized
from homeassistant.helpers import device_registry as dr
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, MockUser

from custom_components.crosswatch.const import DOMAIN
from tests.providers.conftest import Serve
from tests.simulators import simkl as simkl_sim, trakt as trakt_sim

from .helpers import add_pair, pair_device, simkl_entry, state, sync_entry, trakt_entry


@pytest.fixture
async def pair(
    hass: HomeAssistant, serve: Serve, trakt: trakt_sim.TraktSim, simkl: simkl_sim.SimklState
) -> str:
    """Trakt → SIMKL watchlist, where SIMKL does not know Dark: it comes back not_found."""
    simkl.add_title("movies", 100, "The Matrix", 1999, imdb="tt0133093", tmdb="603")
    trakt.seed_watchlist("movie", 1)
    trakt.seed_watchlist("show", 10)  # Dark: not in SIMKL's catalogue
    for entry in (
        trakt_entry(await serve(trakt_sim.make_app(trakt)), trakt),
        simkl_entry(await serve(simkl_sim.simkl_app(simkl)), simkl),
    ):
        entry.add_to_hass(hass)
        assert await hass.config_entries.async_setup(entry.entry_id)
    sync = sync_entry()
    sync.add_to_hass(hass)
    assert await hass.config_entries.async_setup(sync.entry_id)
    await add_pair(hass, sync, source="trakt:alice", target="simkl:51", mode="add_only")
    return pair_device(hass, sync).id


async def call(hass: HomeAssistant, service: str, data: dict[str, Any]) -> Any:
    return await hass.services.async_call(
        DOMAIN, service, data, blocking=True, return_response=True
    )


async def test_a_rejected_item_is_listed_and_can_be_retried_now(
    hass: HomeAssistant, pair: str, simkl: simkl_sim.SimklState
) -> None:
    listed = await call(hass, "list_unresolved", {"pair": pair})
    assert [(u["item"], u["reason"], u["attempts"]) for u in listed["unresolved"]] == [
        ("Dark (2017)", "not_found", 1)
    ]
    assert state(hass, "sensor.movies_unresolved_items") == "1"
    simkl.add_title(
        "shows", 200, "Dark", 2017, episodes=2, imdb="tt5753856", tvdb="334824", tmdb="70523"
    )

    await hass.services.async_call(DOMAIN, "retry_unresolved", {"pair": pair}, blocking=True)
    await hass.async_block_till_done(wait_background_tasks=True)

    assert (await call(hass, "list_unresolved", {"pair": pair}))["unresolved"] == []
    assert 200 in simkl.lists


async def test_clearing_the_blackbox_and_rejecting_nothing_held_are_harmless(
    hass: HomeAssistant, pair: str
) -> None:
    await hass.services.async_call(DOMAIN, "clear_blackbox", {"pair": pair}, blocking=True)

    assert await call(hass, "reject_held", {"pair": pair}) == {"rejected": 0}
    assert await call(hass, "approve_held", {"pair": pair}) == {"applied": 0, "errors": []}


@pytest.mark.parametrize("feature", [{"feature": "watchlist"}, {}], ids=["watchlist", "all"])
async def test_busting_an_accounts_cache_reads_in_full_what_its_activities_hide(
    hass: HomeAssistant,
    pair: str,
    trakt: trakt_sim.TraktSim,
    simkl: simkl_sim.SimklState,
    feature: dict[str, str],
) -> None:
    trakt_entry_ = hass.config_entries.async_entry_for_domain_unique_id(DOMAIN, "trakt:alice")
    assert trakt_entry_ is not None
    (trakt_device,) = dr.async_entries_for_config_entry(dr.async_get(hass), trakt_entry_.entry_id)
    simkl.add_title("movies", 102, "Heat", 1995, imdb="tt0113277", tmdb="949")
    trakt.quirks.frozen_activities = True  # Trakt's activities lag behind its lists
    trakt.seed_watchlist("movie", 2)  # Heat, listed on Trakt's website

    await call(hass, "sync", {"pair": pair})  # Sync now: the activities say nothing moved
    assert 102 not in simkl.lists

    await hass.services.async_call(
        DOMAIN, "bust_cache", {"account": trakt_device.id, **feature}, blocking=True
    )
    await call(hass, "sync", {"pair": pair})

    assert 102 in simkl.lists


async def test_actions_name_what_they_do_not_know(hass: HomeAssistant, pair: str) -> None:
    with pytest.raises(ServiceValidationError):
        await call(hass, "list_unresolved", {"pair": "not-a-device"})
    with pytest.raises(ServiceValidationError):
        await hass.services.async_call(DOMAIN, "bust_cache", {"account": pair}, blocking=True)


async def test_a_dry_sync_returns_the_preview_and_changes_nothing(
    hass: HomeAssistant, pair: str, trakt: trakt_sim.TraktSim, simkl: simkl_sim.SimklState
) -> None:
    simkl.add_title("movies", 102, "Heat", 1995, imdb="tt0113277", tmdb="949")
    trakt.seed_watchlist("movie", 2)

    response = await call(hass, "sync", {"pair": pair, "dry_run": True})

    (run,) = response["runs"]
    assert run["pair"] == "Movies"
    assert run["dry_run"] is True
    assert run["features"]["watchlist"]["planned"] >= 1
    assert 102 not in simkl.lists


async def test_syncing_every_pair_goes_on_past_a_pair_that_fails(
    hass: HomeAssistant, pair: str, trakt: trakt_sim.TraktSim, simkl: simkl_sim.SimklState
) -> None:
    sync = hass.config_entries.async_entries(DOMAIN)[-1]
    assert isinstance(sync, MockConfigEntry)
    await add_pair(hass, sync, name="Reverse", source="simkl:51", target="trakt:alice")
    failing, working = sync.runtime_data.coordinators.values()
    refused = HomeAssistantError("Trakt refused the sign-in")

    with patch.object(failing, "async_run", side_effect=refused):
        response = await call(hass, "sync", {})

    first, second = response["runs"]
    assert first == {
        "pair": failing.subentry.title,
        "pair_id": failing.pair_id,
        "status": "failed",
        "error": "Trakt refused the sign-in",
    }
    assert second["pair"] == working.subentry.title
    # It ran: with nothing to do but Dark, which SIMKL does not know, it says just that.
    assert second["status"] == "unresolved", second


async def test_syncing_one_pair_that_fails_raises_its_error(hass: HomeAssistant, pair: str) -> None:
    sync = hass.config_entries.async_entries(DOMAIN)[-1]
    (coordinator,) = sync.runtime_data.coordinators.values()

    with (
        patch.object(coordinator, "async_run", side_effect=HomeAssistantError("refused")),
        pytest.raises(HomeAssistantError, match="refused"),
    ):
        await call(hass, "sync", {"pair": pair})


async def test_preview_shows_what_the_next_sync_would_do_without_doing_it(
    hass: HomeAssistant, pair: str, trakt: trakt_sim.TraktSim, simkl: simkl_sim.SimklState
) -> None:
    simkl.add_title("movies", 102, "Heat", 1995, imdb="tt0113277", tmdb="949")
    trakt.seed_watchlist("movie", 2)
    last_run = state(hass, "sensor.movies_last_run")

    await hass.services.async_call(
        "button", "press", {"entity_id": "button.movies_preview"}, blocking=True
    )

    # Heat. Not Dark: SIMKL did not know it last time, so it is unresolved, not planned.
    assert state(hass, "sensor.movies_planned_adds") == "1"
    assert state(hass, "sensor.movies_unresolved_items") == "1"
    assert state(hass, "sensor.movies_last_run") == last_run
    assert 102 not in simkl.lists

    await hass.services.async_call(
        "button", "press", {"entity_id": "button.movies_sync_now"}, blocking=True
    )

    assert simkl.lists[102].status == "plantowatch"
    assert state(hass, "sensor.movies_last_run") != last_run

    await hass.services.async_call(
        "button", "press", {"entity_id": "button.movies_preview"}, blocking=True
    )

    assert state(hass, "sensor.movies_planned_adds") == "0"  # only Dark is left: unresolved


async def test_a_phantom_write_is_listed_with_its_reason_and_can_be_retried(
    hass: HomeAssistant, serve: Serve, trakt: trakt_sim.TraktSim, simkl: simkl_sim.SimklState
) -> None:
    """SIMKL → Trakt: Trakt confirms the Matrix, then loses it; the user gives it a new try."""
    simkl.add_title("movies", 100, "The Matrix", 1999, imdb="tt0133093", tmdb="603")
    simkl.user_lists(100, "plantowatch")
    for entry in (
        trakt_entry(await serve(trakt_sim.make_app(trakt)), trakt),
        simkl_entry(await serve(simkl_sim.simkl_app(simkl)), simkl),
    ):
        entry.add_to_hass(hass)
        assert await hass.config_entries.async_setup(entry.entry_id)
    sync = sync_entry()
    sync.add_to_hass(hass)
    assert await hass.config_entries.async_setup(sync.entry_id)
    await add_pair(hass, sync, source="simkl:51", target="trakt:alice", mode="add_only")
    pair = pair_device(hass, sync).id
    assert [row["ref"] for row in trakt.watchlist] == [("movie", 1)]
    trakt.watchlist.clear()  # lost without a trace: no activity moves
    for _ in range(3):
        await call(hass, "sync", {"pair": pair})

    listed = await call(hass, "list_unresolved", {"pair": pair})
    (phantom,) = listed["phantoms"]
    assert (phantom["item"], phantom["side"], phantom["action"]) == (
        "The Matrix (1999)",
        "b",
        "add",
    )
    assert phantom["reason"].startswith("the service confirmed it, but")
    assert trakt.watchlist == []

    retried = await call(hass, "retry_phantoms", {"pair": pair})
    await hass.async_block_till_done(wait_background_tasks=True)

    assert [p["item"] for p in retried["requeued"]] == ["The Matrix (1999)"]
    assert [row["ref"] for row in trakt.watchlist] == [("movie", 1)]
    assert (await call(hass, "list_unresolved", {"pair": pair}))["phantoms"] == []


@pytest.mark.parametrize("action", ["get_plan", "list_unresolved", "retry_phantoms"])
async def test_actions_that_answer_with_watch_data_are_for_administrators_only(
    hass: HomeAssistant, pair: str, hass_read_only_user: MockUser, action: str
) -> None:
    with pytest.raises(Unauthorized):
        await hass.services.async_call(
            DOMAIN, action, {"pair": pair}, blocking=True, return_response=True,
            context=Context(user_id=hass_read_only_user.id),
        )  # fmt: skip


async def test_an_administrator_may_read_the_plan(
    hass: HomeAssistant, pair: str, hass_admin_user: MockUser
) -> None:
    preview = await hass.services.async_call(
        DOMAIN, "get_plan", {"pair": pair}, blocking=True, return_response=True,
        context=Context(user_id=hass_admin_user.id),
    )  # fmt: skip

    assert preview is not None
    assert "operations" in preview
