"""Pairs on a SIMKL V2 account: tokens that expire mid-life, concurrent runs, read-only grants."""

import asyncio
from datetime import timedelta
import json
from pathlib import Path

from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
import pytest

from custom_components.crosswatch.clients.errors import CrossWatchReadOnlyError
from custom_components.crosswatch.const import DOMAIN
from custom_components.crosswatch.engine.provider import AuthError
from custom_components.crosswatch.errors import Boundary, ErrorSubject, translated
from custom_components.crosswatch.providers.client_errors import engine_error
from tests.providers.conftest import Serve
from tests.simulators import simkl as simkl_sim, trakt as trakt_sim

from .helpers import add_pair, one_film_each, sync_entry, trakt_entry
from .test_simkl_flow import v2_entry

TRANSLATIONS = (
    Path(__file__).parents[2] / "custom_components" / "crosswatch" / "translations" / "en.json"
)


async def accounts(
    hass: HomeAssistant,
    serve: Serve,
    trakt: trakt_sim.TraktSim,
    simkl: simkl_sim.SimklState,
    scope: str = "media:read media:write",
) -> None:
    """Trakt and a V2 SIMKL account, loaded, and the sync entry."""
    for entry in (
        trakt_entry(await serve(trakt_sim.make_app(trakt)), trakt),
        v2_entry(await serve(simkl_sim.simkl_app(simkl)), simkl, scope),
    ):
        entry.add_to_hass(hass)
        assert await hass.config_entries.async_setup(entry.entry_id)


async def test_concurrent_runs_of_one_account_after_its_token_died_renew_it_once(
    hass: HomeAssistant, serve: Serve, trakt: trakt_sim.TraktSim, simkl: simkl_sim.SimklState
) -> None:
    one_film_each(trakt, simkl)
    await accounts(hass, serve, trakt, simkl)
    sync = sync_entry()
    sync.add_to_hass(hass)
    assert await hass.config_entries.async_setup(sync.entry_id)
    await add_pair(hass, sync, name="Movies", source="trakt:alice", target="simkl:51")
    await add_pair(
        hass, sync, name="Ratings", features=["ratings"], source="simkl:51", target="trakt:alice"
    )
    simkl_account = hass.config_entries.async_entry_for_domain_unique_id(DOMAIN, "simkl:51")
    assert simkl_account is not None
    renewed = simkl.grants[0].refreshes
    # A week passes on SIMKL's side: the access token in the entry is dead.
    simkl.advance(timedelta(days=8).total_seconds())

    pairs = list(sync.runtime_data.coordinators.values())
    await asyncio.gather(
        *(pair.async_refresh() for pair in pairs),
        simkl_account.runtime_data.coordinator.async_refresh(),
    )

    assert simkl.grants[0].refreshes == renewed + 1  # one renewal for all three
    assert simkl_account.data["tokens"]["access_token"] == simkl.grants[0].access_token
    assert simkl.live_grant(simkl_account.data["tokens"]["access_token"]) is not None
    assert all(pair.last_update_success for pair in pairs)
    assert not hass.config_entries.flow.async_progress_by_handler(DOMAIN)  # no one logged out


async def test_a_read_only_grant_asked_to_write_says_so_in_the_users_language(
    hass: HomeAssistant, serve: Serve, trakt: trakt_sim.TraktSim, simkl: simkl_sim.SimklState
) -> None:
    one_film_each(trakt, simkl)
    await accounts(hass, serve, trakt, simkl, scope="media:read")
    sync = sync_entry()
    sync.add_to_hass(hass)
    assert await hass.config_entries.async_setup(sync.entry_id)
    await add_pair(hass, sync, source="trakt:alice", target="simkl:51")

    with pytest.raises(HomeAssistantError) as refused:
        await hass.services.async_call(
            "button", "press", {"entity_id": "button.movies_sync_now"}, blocking=True
        )

    assert refused.value.translation_key == "auth_failed_read_only"
    assert refused.value.translation_placeholders == {"pair": "Movies"}
    # Signing in again (allowing changes) is the fix: the account's reauth is offered.
    flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert [flow["context"]["source"] for flow in flows] == ["reauth"]
    assert simkl.lists[102].status == "plantowatch"  # SIMKL's list is as it was


@pytest.mark.parametrize(
    ("boundary", "subject", "key"),
    [
        (Boundary.UPDATE, {"pair": "Movies"}, "auth_failed_read_only"),
        (Boundary.ACTION, {"pair": "Movies"}, "auth_failed_read_only"),
        (Boundary.SETUP, {"account": "SIMKL (Andrew)"}, "account_auth_failed_read_only"),
    ],
)
def test_a_read_only_refusal_reads_as_such_at_every_boundary(
    boundary: Boundary, subject: dict[str, str], key: str
) -> None:
    cause = CrossWatchReadOnlyError("403 insufficient_scope")
    try:
        raise engine_error(cause) from cause  # as every adapter raises it
    except AuthError as refused:
        error = translated(refused, ErrorSubject(subject), boundary)

    assert error.translation_key == key
    assert error.translation_placeholders == subject
    messages = json.loads(TRANSLATIONS.read_text(encoding="utf-8"))["exceptions"]
    assert "read" in messages[key]["message"]
