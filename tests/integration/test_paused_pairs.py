"""A pair that fails run after run pauses itself, says why in a repair, and resumes when asked.

Five failed runs in a row (the pair's `pause_after_failures`) stop its schedule: a repair
names the pair, the count and the last error, and the last-result sensor says "paused". The
repair resumes it, as do Sync now and signing in again to one of its accounts: the pair runs
once, and pauses again if that run fails too. The streak is read from the store's run records,
so a pause outlives a restart.
"""

import contextlib
from datetime import timedelta
from http import HTTPStatus
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import issue_registry as ir
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
    async_fire_time_changed,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.crosswatch.const import DOMAIN, EVENT_RUN_FINISHED
from tests.providers.conftest import Serve
from tests.simulators import simkl as simkl_sim, trakt as trakt_sim

from .helpers import (
    add_pair,
    one_film_each,
    pair_device,
    set_up_accounts,
    state,
    sync_entry,
)


@pytest.fixture
async def accounts(
    hass: HomeAssistant, serve: Serve, trakt: trakt_sim.TraktSim, simkl: simkl_sim.SimklState
) -> tuple[MockConfigEntry, MockConfigEntry]:
    one_film_each(trakt, simkl)
    # Both services know both films, so a run that reaches them does all it plans.
    trakt.add_movie(50, "Heat", 1995, imdb="tt0113277", tmdb=949)
    simkl.add_title("movies", 100, "The Matrix", 1999, imdb="tt0133093", tmdb="603")
    return await set_up_accounts(hass, serve, trakt, simkl)


async def a_pair(hass: HomeAssistant, **fields: Any) -> MockConfigEntry:
    sync = sync_entry()
    sync.add_to_hass(hass)
    assert await hass.config_entries.async_setup(sync.entry_id)
    await add_pair(hass, sync, source="trakt:alice", target="simkl:51", **fields)
    return sync


async def sync_now(hass: HomeAssistant, sync: MockConfigEntry) -> None:
    """The sync action; a run that fails answers with its error (here: sign in again)."""
    with contextlib.suppress(HomeAssistantError):
        await hass.services.async_call(
            DOMAIN, "sync", {"pair": pair_device(hass, sync).id}, blocking=True
        )
    await hass.async_block_till_done(wait_background_tasks=True)


def paused_issue(hass: HomeAssistant, sync: MockConfigEntry) -> ir.IssueEntry | None:
    return ir.async_get(hass).async_get_issue(DOMAIN, f"pair_paused_{next(iter(sync.subentries))}")


async def failing_pair(hass: HomeAssistant, simkl: simkl_sim.SimklState) -> MockConfigEntry:
    """A pair whose first run (on creation) and four more fail: SIMKL refuses its token."""
    simkl.quirks.token_revoked = True
    sync = await a_pair(hass)
    for _ in range(4):
        await sync_now(hass, sync)
    return sync


async def test_five_failed_runs_in_a_row_pause_the_pair_and_raise_a_repair_naming_the_error(
    hass: HomeAssistant, accounts: object, simkl: simkl_sim.SimklState
) -> None:
    simkl.quirks.token_revoked = True
    sync = await a_pair(hass)
    for _ in range(3):
        await sync_now(hass, sync)
    assert paused_issue(hass, sync) is None  # four failures: not yet

    await sync_now(hass, sync)

    assert state(hass, "sensor.movies_last_result") == "paused"
    assert state(hass, "binary_sensor.movies_needs_attention") == "on"
    issue = paused_issue(hass, sync)
    assert issue is not None
    assert issue.is_fixable
    assert issue.severity is ir.IssueSeverity.ERROR
    assert issue.translation_placeholders is not None
    assert issue.translation_placeholders["runs"] == "5"
    assert "SIMKL" in issue.translation_placeholders["error"]


async def test_a_paused_pair_does_not_run_on_its_schedule(
    hass: HomeAssistant, accounts: object, simkl: simkl_sim.SimklState
) -> None:
    await failing_pair(hass, simkl)
    simkl.quirks.token_revoked = False  # a new sign-in, but nobody said so
    runs = async_capture_events(hass, EVENT_RUN_FINISHED)

    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(hours=6))
    await hass.async_block_till_done(wait_background_tasks=True)

    assert runs == []
    assert state(hass, "sensor.movies_last_result") == "paused"


async def resume_from_the_repair(
    hass: HomeAssistant, hass_client: ClientSessionGenerator, issue_id: str
) -> dict[str, Any]:
    client = await hass_client()
    started = await client.post(
        "/api/repairs/issues/fix", json={"handler": DOMAIN, "issue_id": issue_id}
    )
    assert started.status == HTTPStatus.OK
    form = await started.json()
    assert form["type"] == "form"
    assert form["step_id"] == "confirm"
    done = await client.post(f"/api/repairs/issues/fix/{form['flow_id']}", json={})
    assert done.status == HTTPStatus.OK
    await hass.async_block_till_done(wait_background_tasks=True)
    return dict(form)


async def test_resuming_from_the_repair_runs_the_pair_and_its_schedule_again(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    accounts: object,
    simkl: simkl_sim.SimklState,
) -> None:
    assert await async_setup_component(hass, "repairs", {})
    sync = await failing_pair(hass, simkl)
    issue = paused_issue(hass, sync)
    assert issue is not None
    simkl.quirks.token_revoked = False  # the user signed in again

    form = await resume_from_the_repair(hass, hass_client, issue.issue_id)

    assert form["description_placeholders"]["runs"] == "5"
    assert state(hass, "sensor.movies_last_result") == "success"
    assert paused_issue(hass, sync) is None
    runs = async_capture_events(hass, EVENT_RUN_FINISHED)
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(hours=2))
    await hass.async_block_till_done(wait_background_tasks=True)
    assert len(runs) == 1  # scheduled again


async def test_a_resumed_pair_whose_run_fails_again_pauses_again(
    hass: HomeAssistant, accounts: object, simkl: simkl_sim.SimklState
) -> None:
    sync = await failing_pair(hass, simkl)

    await sync_now(hass, sync)  # Sync now resumes it: one more run, which fails

    assert state(hass, "sensor.movies_last_result") == "paused"
    issue = paused_issue(hass, sync)
    assert issue is not None
    assert issue.translation_placeholders is not None
    assert issue.translation_placeholders["runs"] == "6"


async def test_a_pause_outlives_a_restart(
    hass: HomeAssistant, accounts: object, simkl: simkl_sim.SimklState
) -> None:
    sync = await failing_pair(hass, simkl)
    simkl.quirks.token_revoked = False
    runs = async_capture_events(hass, EVENT_RUN_FINISHED)

    assert await hass.config_entries.async_reload(sync.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)

    assert runs == []  # no first run for a paused pair
    assert state(hass, "sensor.movies_last_result") == "paused"
    assert paused_issue(hass, sync) is not None


async def test_signing_in_again_to_an_account_resumes_its_paused_pair(
    hass: HomeAssistant,
    accounts: tuple[MockConfigEntry, MockConfigEntry],
    simkl: simkl_sim.SimklState,
) -> None:
    sync = await failing_pair(hass, simkl)
    simkl.quirks.token_revoked = False

    # Reauthentication ends by reloading the account entry.
    assert await hass.config_entries.async_reload(accounts[1].entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)

    assert state(hass, "sensor.movies_last_result") == "success"
    assert paused_issue(hass, sync) is None


async def test_a_pair_set_to_pause_after_zero_failures_never_pauses(
    hass: HomeAssistant, accounts: object, simkl: simkl_sim.SimklState
) -> None:
    simkl.quirks.token_revoked = True
    sync = await a_pair(
        hass,
        guards={
            "delete_budget_floor": 5,
            "delete_budget_percent": 2,
            "drop_guard_percent": 10,
            "tombstone_ttl_days": 30,
            "pause_after_failures": 0,
        },
    )
    for _ in range(6):
        await sync_now(hass, sync)

    assert paused_issue(hass, sync) is None
    simkl.quirks.token_revoked = False
    runs = async_capture_events(hass, EVENT_RUN_FINISHED)
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(hours=2))
    await hass.async_block_till_done(wait_background_tasks=True)
    assert len(runs) == 1  # still on its schedule
