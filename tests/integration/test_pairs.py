"""Sync pairs in a running Home Assistant: flows, runs, entities, events and actions."""

from collections.abc import Callable
from typing import Any

from homeassistant.config_entries import SOURCE_USER, ConfigEntryState
from homeassistant.core import Event, HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import issue_registry as ir
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.crosswatch import logbook
from custom_components.crosswatch.const import DOMAIN
from tests.providers.conftest import Serve
from tests.simulators import simkl as simkl_sim, trakt as trakt_sim

from .helpers import add_pair, attributes, pair_device, simkl_entry, state, sync_entry, trakt_entry

MATRIX = ("movie", 1)


@pytest.fixture
async def accounts(
    hass: HomeAssistant,
    serve: Serve,
    trakt: trakt_sim.TraktSim,
    simkl: simkl_sim.SimklState,
) -> tuple[str, str]:
    """Trakt and SIMKL connected, with the Matrix on Trakt's watchlist and Heat on SIMKL's."""
    simkl.add_title("movies", 100, "The Matrix", 1999, imdb="tt0133093", tmdb="603")
    simkl.add_title("movies", 102, "Heat", 1995, imdb="tt0113277", tmdb="949")
    simkl.add_title(
        "shows", 200, "Dark", 2017, episodes=2, imdb="tt5753856", tvdb="334824", tmdb="70523"
    )
    trakt.seed_watchlist(*MATRIX)
    simkl.user_lists(102, "plantowatch")
    trakt_url = await serve(trakt_sim.make_app(trakt))
    simkl_url = await serve(simkl_sim.simkl_app(simkl))
    for entry in (trakt_entry(trakt_url, trakt), simkl_entry(simkl_url, simkl)):
        entry.add_to_hass(hass)
        assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    return "trakt:alice", "simkl:51"


@pytest.fixture
async def sync(hass: HomeAssistant) -> MockConfigEntry:
    """The sync entry, set up, without pairs."""
    entry = sync_entry()
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    return entry


async def test_a_two_way_pair_syncs_on_creation_and_its_entities_show_the_run(
    hass: HomeAssistant,
    accounts: tuple[str, str],
    trakt: trakt_sim.TraktSim,
    simkl: simkl_sim.SimklState,
) -> None:
    sync = sync_entry()
    sync.add_to_hass(hass)
    assert await hass.config_entries.async_setup(sync.entry_id)
    events: list[object] = []
    hass.bus.async_listen("crosswatch_run_finished", events.append)

    result = await add_pair(hass, sync, source=accounts[0], target=accounts[1])

    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert sync.state is ConfigEntryState.LOADED
    assert {row["ref"] for row in trakt.watchlist} == {MATRIX, ("movie", 2)}
    assert {sid for sid, listing in simkl.lists.items() if listing.status == "plantowatch"} == {
        100,
        102,
    }
    assert state(hass, "sensor.movies_last_result") == "success"
    assert state(hass, "sensor.movies_planned_adds") == "2"
    assert state(hass, "sensor.movies_held_operations") == "0"
    assert state(hass, "binary_sensor.movies_running") == "off"
    assert state(hass, "binary_sensor.movies_needs_attention") == "off"
    event = attributes(hass, "event.movies_run")
    assert event["event_type"] == "completed"
    assert event["features"]["watchlist"]["applied"] == 2
    (finished,) = events
    assert finished.data["pair"] == "Movies"  # type: ignore[attr-defined]
    assert finished.data["pair_id"] == next(iter(sync.subentries))  # type: ignore[attr-defined]
    assert pair_device(hass, sync).name == "Movies"


async def test_what_a_sync_changed_is_named_by_the_event_the_logbook_and_last_synced(
    hass: HomeAssistant, accounts: tuple[str, str], sync: MockConfigEntry
) -> None:
    synced: list[Event] = []
    hass.bus.async_listen("crosswatch_items_synced", synced.append)

    await add_pair(hass, sync, source=accounts[0], target=accounts[1])

    (event,) = synced
    changes = event.data["changes"]
    assert (changes["added"], changes["removed"], changes["updated"]) == (2, 0, 0)
    assert {(t["title"], t["service"]) for t in changes["titles"]} == {
        ("The Matrix (1999)", "SIMKL (Andrew Masyk)"),
        ("Heat (1995)", "Trakt (alice)"),
    }
    assert attributes(hass, "event.movies_run")["changes"] == changes
    described: dict[str, Callable[[Event], dict[str, str]]] = {}
    logbook.async_describe_events(hass, lambda _, kind, fn: described.__setitem__(kind, fn))
    line = described["crosswatch_items_synced"](event)
    assert line["name"] == "Movies"
    assert line["message"].startswith("added ")
    assert "The Matrix (1999) to SIMKL (Andrew Masyk)" in line["message"]
    assert state(hass, "sensor.movies_last_synced") == changes["titles"][0]["title"]
    assert attributes(hass, "sensor.movies_last_synced")["added"] == 2

    # A sync that changes nothing leaves it; a restart keeps it (from the store).
    await hass.services.async_call(DOMAIN, "sync", {}, blocking=True)
    assert len(synced) == 1
    assert await hass.config_entries.async_reload(sync.entry_id)
    await hass.async_block_till_done()
    assert state(hass, "sensor.movies_last_synced") == changes["titles"][0]["title"]
    assert attributes(hass, "sensor.movies_last_synced")["titles"] == changes["titles"]


async def test_the_same_pair_cannot_be_added_twice_nor_to_itself(
    hass: HomeAssistant, accounts: tuple[str, str]
) -> None:
    sync = sync_entry()
    sync.add_to_hass(hass)
    assert await hass.config_entries.async_setup(sync.entry_id)
    await add_pair(hass, sync, source=accounts[0], target=accounts[1])

    again = await add_pair(hass, sync, source=accounts[0], target=accounts[1])
    itself = await add_pair(hass, sync, source=accounts[0], target=accounts[0])

    assert again["type"] is FlowResultType.ABORT
    assert again["reason"] == "already_configured"
    assert itself["errors"] == {"target": "same_account"}


def _suggested(schema: Any, key: str) -> Any:
    marker = next(m for m in schema.schema if m == key)
    return (marker.description or {}).get("suggested_value")


async def test_a_new_pair_suggests_two_different_accounts_and_then_one_not_paired_yet(
    hass: HomeAssistant, accounts: tuple[str, str], sync: MockConfigEntry
) -> None:
    first = await hass.config_entries.subentries.async_init(
        (sync.entry_id, "pair"), context={"source": SOURCE_USER}
    )

    suggested = (
        _suggested(first["data_schema"], "source"),
        _suggested(first["data_schema"], "target"),
    )
    assert set(suggested) == set(accounts)
    await add_pair(hass, sync, source=suggested[0], target=suggested[1])
    second = await hass.config_entries.subentries.async_init(
        (sync.entry_id, "pair"), context={"source": SOURCE_USER}
    )
    # With that pair made, the reverse direction is the one not paired yet.
    assert (
        _suggested(second["data_schema"], "source"),
        _suggested(second["data_schema"], "target"),
    ) == (suggested[1], suggested[0])


async def test_a_pair_whose_account_is_gone_waits_and_raises_a_repair(
    hass: HomeAssistant, accounts: tuple[str, str]
) -> None:
    sync = sync_entry()
    sync.add_to_hass(hass)
    assert await hass.config_entries.async_setup(sync.entry_id)
    await add_pair(hass, sync, source=accounts[0], target=accounts[1])
    simkl_entry_id = hass.config_entries.async_entry_for_domain_unique_id(DOMAIN, accounts[1])
    assert simkl_entry_id is not None

    await hass.config_entries.async_remove(simkl_entry_id.entry_id)
    await hass.services.async_call(DOMAIN, "sync", {}, blocking=True)

    assert state(hass, "sensor.movies_last_result") == "skipped"
    assert state(hass, "binary_sensor.movies_needs_attention") == "on"
    pair_id = next(iter(sync.subentries))
    assert ir.async_get(hass).async_get_issue(DOMAIN, f"pair_waiting_{pair_id}") is not None
    assert sync.state is ConfigEntryState.LOADED


async def test_sync_and_get_plan_actions_answer_with_the_run_and_the_plan(
    hass: HomeAssistant,
    accounts: tuple[str, str],
    trakt: trakt_sim.TraktSim,
) -> None:
    sync = sync_entry()
    sync.add_to_hass(hass)
    assert await hass.config_entries.async_setup(sync.entry_id)
    await add_pair(hass, sync, source=accounts[0], target=accounts[1], mode="add_only")
    device = pair_device(hass, sync)
    trakt.seed_watchlist("show", 10)  # Dark, new on Trakt

    plan: Any = await hass.services.async_call(
        DOMAIN, "get_plan", {"pair": device.id}, blocking=True, return_response=True
    )
    assert plan is not None
    assert [op["item"]["title"] for op in plan["operations"]] == ["Dark"]
    assert plan["operations"][0]["reason"] == "missing_on_target"

    response: Any = await hass.services.async_call(
        DOMAIN, "sync", {"pair": device.id}, blocking=True, return_response=True
    )
    assert response is not None
    (run,) = response["runs"]
    assert run["status"] == "success"
    assert run["features"]["watchlist"]["applied"] == 1


async def test_a_read_that_fails_midway_shows_partial_and_names_the_read_everywhere(
    hass: HomeAssistant,
    accounts: tuple[str, str],
    trakt: trakt_sim.TraktSim,
) -> None:
    sync = sync_entry()
    sync.add_to_hass(hass)
    assert await hass.config_entries.async_setup(sync.entry_id)
    await add_pair(hass, sync, source=accounts[0], target=accounts[1])
    device = pair_device(hass, sync)
    # Every first page of Trakt's lists answers 503, however often the client retries; the
    # movies category has news, so it is read again.
    trakt.seed_watchlist("show", 10)
    trakt.quirks.server_error_on_page = 1
    trakt.quirks.server_errors = 100

    response: Any = await hass.services.async_call(
        DOMAIN, "sync", {"pair": device.id}, blocking=True, return_response=True
    )

    (run,) = response["runs"]
    assert run["status"] == "partial"
    (read,) = run["incomplete_reads"]
    assert (read["provider"], read["feature"]) == ("Trakt (alice)", "watchlist")
    assert "503" in read["reason"]
    assert state(hass, "sensor.movies_last_result") == "partial"
    sensor = attributes(hass, "sensor.movies_last_result")
    assert sensor["incomplete_reads"] == run["incomplete_reads"]
    event = attributes(hass, "event.movies_run")
    assert event["event_type"] == "partial"
    assert event["incomplete_reads"] == run["incomplete_reads"]
