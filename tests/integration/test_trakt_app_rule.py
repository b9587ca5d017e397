"""Trakt's 2026 app rule: a deleted app (403) or VIP required (426) is a repair, never a reauth."""

from dataclasses import dataclass
from datetime import timedelta

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.exceptions import ConfigEntryError, HomeAssistantError
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.translation import (
    async_get_cached_translations,
    async_get_translations,
)
from homeassistant.helpers.update_coordinator import UpdateFailed
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import async_fire_time_changed

from custom_components.crosswatch.account_coordinator import HEALTH_INTERVAL
from custom_components.crosswatch.const import DOMAIN
from custom_components.crosswatch.engine.provider import AuthError
from custom_components.crosswatch.errors import Boundary, ErrorSubject, translate_errors
from custom_components.crosswatch.providers.client_errors import AppRefusedError
from tests.providers.conftest import Serve
from tests.simulators import trakt as trakt_sim

from .helpers import trakt_entry
from .test_trakt_flow import credentials, start, user_code, wait

REFUSALS = [("app_deleted", "trakt_app_deleted"), ("vip_required", "trakt_vip_required")]


def refuse(sim: trakt_sim.TraktSim, quirk: str) -> None:
    setattr(sim.quirks, quirk, True)


def reauth_flows(hass: HomeAssistant) -> list[str]:
    flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    return [flow["context"]["source"] for flow in flows if flow["context"]["source"] == "reauth"]


@pytest.mark.parametrize(("quirk", "key"), REFUSALS)
async def test_a_free_trakt_user_whose_app_was_deleted_gets_a_repair_not_a_reauth(
    hass: HomeAssistant, serve: Serve, trakt: trakt_sim.TraktSim, quirk: str, key: str
) -> None:
    entry = trakt_entry(await serve(trakt_sim.make_app(trakt)), trakt)
    entry.add_to_hass(hass)
    refuse(trakt, quirk)

    assert not await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()

    # No retry and no reauth: neither could get past Trakt's refusal of the app.
    assert entry.state is ConfigEntryState.SETUP_ERROR
    assert entry.reason == translated_reason(hass, key, entry.title)
    assert reauth_flows(hass) == []
    issue = ir.async_get(hass).async_get_issue(DOMAIN, f"app_refused_{entry.entry_id}")
    assert issue is not None
    assert issue.translation_key == key
    assert issue.translation_placeholders == {"account": entry.title}
    assert issue.severity is ir.IssueSeverity.ERROR
    assert not issue.is_fixable


def translated_reason(hass: HomeAssistant, key: str, title: str) -> str:
    """What Home Assistant shows as the entry's setup error (the exception's message)."""
    messages = async_get_cached_translations(hass, "en", "exceptions", DOMAIN)
    message = messages[f"component.{DOMAIN}.exceptions.{key}.message"]
    return message.format(subject=title).rstrip(".")  # as Home Assistant shows it


@pytest.mark.parametrize(
    ("boundary", "raised"),
    [
        (Boundary.UPDATE, UpdateFailed),
        (Boundary.ACTION, HomeAssistantError),
        (Boundary.SETUP, ConfigEntryError),
    ],
)
async def test_a_refused_app_reads_as_itself_at_every_boundary_and_starts_no_reauth(
    boundary: Boundary, raised: type[HomeAssistantError]
) -> None:
    reauths: list[AuthError] = []
    repairs: list[AppRefusedError] = []

    @dataclass
    class Pair:
        error_subject: ErrorSubject

    @translate_errors(boundary)
    async def act(subject: Pair) -> None:
        raise AppRefusedError("HTTP 426", "trakt_vip_required")

    with pytest.raises(raised) as caught:
        await act(Pair(ErrorSubject({"pair": "Movies"}, reauths.append, repairs.append)))

    assert type(caught.value) is raised
    assert caught.value.translation_key == "trakt_vip_required"
    assert caught.value.translation_placeholders == {"pair": "Movies", "subject": "Movies"}
    assert reauths == []
    assert [err.code for err in repairs] == ["trakt_vip_required"]


async def test_the_repair_explains_the_2026_rule_and_suggests_simkl_or_mdblist(
    hass: HomeAssistant,
) -> None:
    issues = await async_get_translations(hass, "en", "issues", [DOMAIN])
    for key in ("trakt_app_deleted", "trakt_vip_required"):
        text = issues[f"component.{DOMAIN}.issues.{key}.description"]
        assert "VIP" in text
        assert "one community app" in text
        assert "SIMKL" in text
        assert "MDBList" in text
        assert "{account}" in text


async def test_a_trakt_app_deleted_while_connected_raises_the_repair_at_the_next_health_check(
    hass: HomeAssistant, serve: Serve, trakt: trakt_sim.TraktSim
) -> None:
    entry = trakt_entry(await serve(trakt_sim.make_app(trakt)), trakt)
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    issue_id = f"app_refused_{entry.entry_id}"

    trakt.quirks.app_deleted = True
    await health_check(hass)

    issue = ir.async_get(hass).async_get_issue(DOMAIN, issue_id)
    assert issue is not None
    assert issue.translation_key == "trakt_app_deleted"
    assert reauth_flows(hass) == []
    assert not entry.runtime_data.coordinator.data.reachable

    # The owner renewed VIP and the app is served again: the repair goes by itself.
    trakt.quirks.app_deleted = False
    await health_check(hass, 2)

    assert ir.async_get(hass).async_get_issue(DOMAIN, issue_id) is None
    assert entry.runtime_data.coordinator.data.reachable


async def health_check(hass: HomeAssistant, times: int = 1) -> None:
    """Let the account's health check come round (its interval, and a minute for jitter)."""
    later = dt_util.utcnow() + times * (HEALTH_INTERVAL + timedelta(minutes=1))
    async_fire_time_changed(hass, later)
    await hass.async_block_till_done(wait_background_tasks=True)


async def test_removing_the_account_removes_its_repair(
    hass: HomeAssistant, serve: Serve, trakt: trakt_sim.TraktSim
) -> None:
    entry = trakt_entry(await serve(trakt_sim.make_app(trakt)), trakt)
    entry.add_to_hass(hass)
    trakt.quirks.app_deleted = True
    await hass.config_entries.async_setup(entry.entry_id)
    assert ir.async_get(hass).async_get_issue(DOMAIN, f"app_refused_{entry.entry_id}")

    await hass.config_entries.async_remove(entry.entry_id)

    assert ir.async_get(hass).async_get_issue(DOMAIN, f"app_refused_{entry.entry_id}") is None


@pytest.mark.parametrize(("quirk", "key"), REFUSALS)
async def test_connecting_with_a_refused_trakt_app_says_why_at_the_first_step(
    hass: HomeAssistant, serve: Serve, trakt: trakt_sim.TraktSim, quirk: str, key: str
) -> None:
    url = await serve(trakt_sim.make_app(trakt))
    refuse(trakt, quirk)

    result = await credentials(hass, (await start(hass))["flow_id"], url)

    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "trakt"
    assert result["errors"] == {"base": key}


async def test_a_trakt_app_refused_after_the_code_was_approved_says_why(
    hass: HomeAssistant, serve: Serve, trakt: trakt_sim.TraktSim
) -> None:
    url = await serve(trakt_sim.make_app(trakt))
    result = await credentials(hass, (await start(hass))["flow_id"], url)
    trakt.approve(user_code(trakt))
    await hass.async_block_till_done(wait_background_tasks=True)
    trakt.quirks.vip_required = True  # the owner's VIP ran out meanwhile

    result = await wait(hass, result["flow_id"])

    assert result["step_id"] == "trakt_retry"
    assert result["errors"] == {"base": "trakt_vip_required"}
