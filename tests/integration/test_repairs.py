"""Held removals become a fixable repair: the user sees counts and examples, then decides."""

from http import HTTPStatus
from typing import Any
from unittest.mock import patch

from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import device_registry as dr, issue_registry as ir
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.crosswatch.const import DOMAIN, SYNC_ENTRY_UNIQUE_ID
from tests.providers.conftest import Serve
from tests.simulators import simkl as simkl_sim, trakt as trakt_sim

from .helpers import add_pair, attributes, pair_device, simkl_entry, state, sync_entry, trakt_entry

FILMS = 12


def simkl_watchlist(simkl: simkl_sim.SimklState) -> set[int]:
    return {sid for sid, listing in simkl.lists.items() if listing.status == "plantowatch"}


@pytest.fixture
async def held(
    hass: HomeAssistant, serve: Serve, trakt: trakt_sim.TraktSim, simkl: simkl_sim.SimklState
) -> str:
    """A two-way pair in sync on 12 films; then the user unlists 8 on Trakt at once."""
    for n in range(FILMS):
        trakt.add_movie(100 + n, f"Film {n}", 1990 + n, tmdb=5000 + n)
        simkl.add_title("movies", 700 + n, f"Film {n}", 1990 + n, tmdb=str(5000 + n))
        trakt.seed_watchlist("movie", 100 + n)
        simkl.user_lists(700 + n, "plantowatch")
    for entry in (
        trakt_entry(await serve(trakt_sim.make_app(trakt)), trakt),
        simkl_entry(await serve(simkl_sim.simkl_app(simkl)), simkl),
    ):
        entry.add_to_hass(hass)
        assert await hass.config_entries.async_setup(entry.entry_id)
    sync = sync_entry()
    sync.add_to_hass(hass)
    assert await hass.config_entries.async_setup(sync.entry_id)
    await add_pair(hass, sync, source="trakt:alice", target="simkl:51")
    for n in range(8):
        trakt.unlist("movie", 100 + n)
    # Two thirds of the list at once: the first sync doubts it, the second's reads confirm it.
    for _ in range(2):
        await hass.services.async_call(
            DOMAIN, "sync", {"pair": pair_device(hass, sync).id}, blocking=True
        )
    return next(iter(sync.subentries))


async def test_removals_over_the_budget_are_held_and_raise_a_fixable_repair(
    hass: HomeAssistant, held: str, simkl: simkl_sim.SimklState
) -> None:
    assert len(simkl_watchlist(simkl)) == FILMS - 5  # the budget: max(5, 2 % of 12)
    assert state(hass, "sensor.movies_held_operations") == "3"
    assert state(hass, "sensor.movies_last_result") == "held"
    assert state(hass, "binary_sensor.movies_needs_attention") == "on"
    assert attributes(hass, "event.movies_run")["event_type"] == "held"
    issue = ir.async_get(hass).async_get_issue(DOMAIN, f"held_{held}")
    assert issue is not None
    assert issue.is_fixable


async def fix(hass_client: ClientSessionGenerator, issue_id: str, choice: str) -> dict[str, Any]:
    client = await hass_client()
    started = await client.post(
        "/api/repairs/issues/fix", json={"handler": DOMAIN, "issue_id": issue_id}
    )
    assert started.status == HTTPStatus.OK
    flow = await started.json()
    assert flow["type"] == "menu"
    assert flow["description_placeholders"]["count"] == "3"
    assert "… " not in flow["description_placeholders"]["examples"]  # all three are named
    chosen = await client.post(
        f"/api/repairs/issues/fix/{flow['flow_id']}", json={"next_step_id": choice}
    )
    assert chosen.status == HTTPStatus.OK
    return dict(await chosen.json())


async def test_approving_the_repair_applies_the_held_removals(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    held: str,
    simkl: simkl_sim.SimklState,
) -> None:
    assert await async_setup_component(hass, "repairs", {})

    result = await fix(hass_client, f"held_{held}", "approve")

    assert result["type"] == "create_entry"
    assert len(simkl_watchlist(simkl)) == FILMS - 8
    assert state(hass, "sensor.movies_held_operations") == "0"
    assert ir.async_get(hass).async_get_issue(DOMAIN, f"held_{held}") is None


async def test_rejecting_the_repair_keeps_the_items_and_never_holds_them_again(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    held: str,
    simkl: simkl_sim.SimklState,
) -> None:
    assert await async_setup_component(hass, "repairs", {})

    result = await fix(hass_client, f"held_{held}", "reject")
    await hass.services.async_call(DOMAIN, "sync", {}, blocking=True)

    assert result["type"] == "create_entry"
    assert len(simkl_watchlist(simkl)) == FILMS - 5
    assert state(hass, "sensor.movies_held_operations") == "0"
    assert ir.async_get(hass).async_get_issue(DOMAIN, f"held_{held}") is None


async def test_the_repair_says_which_service_would_lose_which_items_and_why(
    hass: HomeAssistant, hass_client: ClientSessionGenerator, held: str
) -> None:
    assert await async_setup_component(hass, "repairs", {})
    client = await hass_client()

    started = await client.post(
        "/api/repairs/issues/fix", json={"handler": DOMAIN, "issue_id": f"held_{held}"}
    )
    flow = await started.json()

    heading, *items = flow["description_placeholders"]["examples"].splitlines()
    assert heading == (
        "SIMKL (Andrew Masyk) would lose these from its Watchlist, because that is more"
        " removals than one sync may make at once:"
    )
    assert items == ["- Film 5 (1995)", "- Film 6 (1996)", "- Film 7 (1997)"]
    for code in ("over_delete_budget", "remove ", "(watchlist"):
        assert code not in flow["description_placeholders"]["examples"]


async def test_the_repair_names_a_few_held_removals_and_counts_the_rest(
    hass: HomeAssistant, hass_client: ClientSessionGenerator, held: str
) -> None:
    assert await async_setup_component(hass, "repairs", {})
    client = await hass_client()

    with patch("custom_components.crosswatch.repairs.EXAMPLES", 2):
        started = await client.post(
            "/api/repairs/issues/fix", json={"handler": DOMAIN, "issue_id": f"held_{held}"}
        )
    flow = await started.json()

    examples = flow["description_placeholders"]["examples"].splitlines()
    assert len(examples) == 4  # the heading, two titles and the count of the rest
    assert examples[-1] == "- … 1 more"


async def test_approving_while_an_account_refuses_its_token_asks_to_sign_in_again(
    hass: HomeAssistant, held: str, simkl: simkl_sim.SimklState
) -> None:
    simkl.quirks.token_revoked = True
    sync = hass.config_entries.async_entry_for_domain_unique_id(DOMAIN, SYNC_ENTRY_UNIQUE_ID)
    assert sync is not None
    (device,) = [
        device
        for device in dr.async_entries_for_config_entry(dr.async_get(hass), sync.entry_id)
        if (DOMAIN, held) in device.identifiers
    ]

    with pytest.raises(HomeAssistantError) as refused:
        await hass.services.async_call(
            DOMAIN, "approve_held", {"pair": device.id}, blocking=True, return_response=True
        )

    # Translated, naming the pair; never the provider's raw AuthError.
    assert refused.value.translation_key == "auth_failed"
    assert refused.value.translation_placeholders == {"pair": "Movies"}
    simkl_account = hass.config_entries.async_entry_for_domain_unique_id(DOMAIN, "simkl:51")
    assert simkl_account is not None
    reauths = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert [(flow["context"]["source"], flow["context"]["entry_id"]) for flow in reauths] == [
        ("reauth", simkl_account.entry_id)
    ]


async def test_approving_the_repair_while_an_account_refuses_says_why_and_asks_to_sign_in_again(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    held: str,
    simkl: simkl_sim.SimklState,
) -> None:
    assert await async_setup_component(hass, "repairs", {})
    simkl.quirks.token_revoked = True

    result = await fix(hass_client, f"held_{held}", "approve")

    assert result["type"] == "abort"
    assert result["reason"] == "approve_failed"
    assert "Movies" in result["description_placeholders"]["error"]
    reauths = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert [flow["context"]["source"] for flow in reauths] == ["reauth"]
    assert state(hass, "sensor.movies_held_operations") == "3"  # still waiting for a decision
