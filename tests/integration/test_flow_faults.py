"""Account and pair flows when a service misbehaves: each fault is a form error, never a crash."""

from dataclasses import replace
from typing import Any
from unittest.mock import patch

import aiohttp
from homeassistant.config_entries import SOURCE_USER, ConfigFlowResult, SubentryFlowResult
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
import pytest

from custom_components.crosswatch.clients.errors import (
    CrossWatchAuthenticationError,
    CrossWatchConnectionError,
    CrossWatchRateLimitError,
    CrossWatchResponseError,
    CrossWatchServerError,
    CrossWatchTimeoutError,
)
from custom_components.crosswatch.clients.trakt.auth import DeviceFlowError, PollStatus
from custom_components.crosswatch.const import DOMAIN
from custom_components.crosswatch.engine.payloads import Feature
from custom_components.crosswatch.engine.provider import AuthError, ProviderError
from custom_components.crosswatch.errors import form_error
from custom_components.crosswatch.flows import trakt as trakt_flow
from custom_components.crosswatch.flows.base import sign_in_error
from custom_components.crosswatch.providers.client_errors import HttpError
from tests.providers.conftest import Serve
from tests.simulators import simkl as simkl_sim, trakt as trakt_sim

from .helpers import set_up_accounts, simkl_entry, sync_entry, trakt_entry

FLOWS = "custom_components.crosswatch.flows"

# What the clients raise: the flows call them directly.
REQUEST_FAULTS = [
    pytest.param(CrossWatchAuthenticationError("refused"), "invalid_auth", id="auth"),
    pytest.param(
        CrossWatchResponseError(401, "unknown client"), "invalid_auth", id="client-refused"
    ),
    # The service answered: it is reachable, so "cannot connect" would send the user astray.
    pytest.param(CrossWatchServerError(503, "down"), "invalid_response", id="server-error"),
    pytest.param(CrossWatchRateLimitError("slow down"), "invalid_response", id="rate-limited"),
    pytest.param(CrossWatchTimeoutError("did not answer in time"), "cannot_connect", id="timeout"),
    pytest.param(
        CrossWatchConnectionError("cannot reach the service"), "cannot_connect", id="unreachable"
    ),
    pytest.param(RuntimeError("bug"), "unknown", id="unexpected"),
]


def _caused_by(cause: BaseException) -> ProviderError:
    """A ProviderError raised `from cause`, as a provider chains what it caught."""
    err = ProviderError("wrapped")
    err.__cause__ = cause
    return err


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        pytest.param(_caused_by(ConnectionRefusedError()), "cannot_connect", id="refused"),
        pytest.param(_caused_by(TimeoutError()), "cannot_connect", id="timed-out"),
        pytest.param(_caused_by(aiohttp.ServerDisconnectedError()), "cannot_connect", id="dropped"),
        pytest.param(_caused_by(ValueError("not JSON")), "invalid_response", id="not-json"),
        pytest.param(_caused_by(CrossWatchTimeoutError("late")), "cannot_connect", id="client"),
        pytest.param(HttpError(404, "not found"), "invalid_response", id="not-found"),
        pytest.param(AuthError("refused"), "invalid_auth", id="auth"),
        # An adapter's own check of an answer, raised without a cause: the service answered.
        pytest.param(ProviderError("no server"), "invalid_response", id="bare"),
    ],
)
def test_a_form_says_cannot_connect_only_when_the_service_was_not_reached(
    fault: ProviderError, error: str
) -> None:
    assert form_error(fault) == error


async def open_menu(hass: HomeAssistant, service: str) -> ConfigFlowResult:
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    return await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": service}
    )


@pytest.mark.parametrize(("fault", "error"), REQUEST_FAULTS)
async def test_a_trakt_device_code_request_that_fails_is_a_form_error(
    hass: HomeAssistant, fault: Exception, error: str
) -> None:
    result = await open_menu(hass, "trakt")
    with patch(f"{FLOWS}.trakt.request_device_code", side_effect=fault):
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"],
            {"client_id": "id", "client_secret": "secret", "advanced": {"base_url": "http://x"}},
        )

    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": error}


@pytest.mark.parametrize(("fault", "error"), REQUEST_FAULTS)
async def test_a_simkl_pin_request_that_fails_is_a_form_error(
    hass: HomeAssistant, fault: Exception, error: str
) -> None:
    result = await open_menu(hass, "simkl")
    with patch(f"{FLOWS}.simkl.SimklOAuth.request_device_code", side_effect=fault):
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {"client_id": "id", "advanced": {"base_url": "http://x"}}
        )

    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": error}


async def test_an_anilist_token_check_that_crashes_is_an_unknown_error(
    hass: HomeAssistant,
) -> None:
    result = await open_menu(hass, "anilist")
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"client_id": "12345", "advanced": {"base_url": "http://x"}}
    )
    with patch(f"{FLOWS}.anilist.anilist.validate_token", side_effect=RuntimeError("bug")):
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {"token": "pasted"}
        )

    assert result["errors"] == {"base": "unknown"}


def test_a_sign_in_poll_names_why_it_ended_without_a_credential() -> None:
    assert sign_in_error(AuthError("expired")) == "code_expired"
    assert sign_in_error(CrossWatchAuthenticationError("expired")) == "code_expired"
    assert sign_in_error(CrossWatchConnectionError("unreachable")) == "cannot_connect"
    assert sign_in_error(CrossWatchServerError(500, "broken")) == "invalid_response"


def test_a_trakt_device_code_poll_names_trakts_own_reasons_first() -> None:
    assert trakt_flow.poll_error(DeviceFlowError(PollStatus.DENIED)) == "access_denied"
    assert trakt_flow.poll_error(DeviceFlowError(PollStatus.EXPIRED)) == "code_expired"
    assert trakt_flow.poll_error(CrossWatchConnectionError("unreachable")) == "cannot_connect"
    assert sign_in_error(RuntimeError("bug")) == "unknown"
    assert sign_in_error(None) == "unknown"


async def trakt_code_exchanged(
    hass: HomeAssistant, url: str, trakt: trakt_sim.TraktSim
) -> ConfigFlowResult:
    """A Trakt flow whose device code was approved and exchanged; the account check is next."""
    result = await open_menu(hass, "trakt")
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {
            "client_id": trakt_sim.CLIENT_ID,
            "client_secret": trakt_sim.CLIENT_SECRET,
            "advanced": {"base_url": url},
        },
    )
    trakt.approve(list(trakt.device_codes.values())[-1].user_code)
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    await hass.async_block_till_done(wait_background_tasks=True)
    return result


async def test_trakt_tokens_refreshed_while_signing_in_are_the_ones_kept(
    hass: HomeAssistant, serve: Serve, trakt: trakt_sim.TraktSim
) -> None:
    result = await trakt_code_exchanged(hass, await serve(trakt_sim.make_app(trakt)), trakt)
    # The code was exchanged; the access token dies before the account check uses it.
    trakt.revoke_access_tokens()

    result = await hass.config_entries.flow.async_configure(result["flow_id"])

    assert result["type"] is FlowResultType.CREATE_ENTRY
    kept = result["result"].data["tokens"]["access_token"]
    assert kept in trakt.access_tokens


async def test_a_trakt_account_check_that_fails_after_sign_in_offers_a_retry(
    hass: HomeAssistant, serve: Serve, trakt: trakt_sim.TraktSim
) -> None:
    result = await trakt_code_exchanged(hass, await serve(trakt_sim.make_app(trakt)), trakt)

    with patch(
        f"{FLOWS}.trakt.trakt.TraktProvider.health",
        side_effect=_caused_by(CrossWatchConnectionError("unreachable")),
    ):
        result = await hass.config_entries.flow.async_configure(result["flow_id"])

    assert result["step_id"] == "trakt_retry"
    assert result["errors"] == {"base": "cannot_connect"}


async def test_a_simkl_account_check_that_fails_after_sign_in_offers_a_retry(
    hass: HomeAssistant, serve: Serve, simkl: simkl_sim.SimklState
) -> None:
    simkl.pin_interval = 1
    url = await serve(simkl_sim.simkl_app(simkl))
    result = await open_menu(hass, "simkl")
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"client_id": simkl_sim.V2_CLIENT_ID, "advanced": {"base_url": url}}
    )
    simkl.approve_device(list(simkl.device_codes.values())[-1].user_code)
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    await hass.async_block_till_done(wait_background_tasks=True)

    with patch(
        f"{FLOWS}.simkl.simkl.fetch_account",
        side_effect=_caused_by(CrossWatchConnectionError("unreachable")),
    ):
        result = await hass.config_entries.flow.async_configure(result["flow_id"])

    assert result["step_id"] == "simkl_retry"
    assert result["errors"] == {"base": "cannot_connect"}


@pytest.mark.parametrize("service", ["trakt", "simkl"])
async def test_a_reauth_whose_new_code_cannot_be_requested_offers_a_retry(
    hass: HomeAssistant, serve: Serve, service: str
) -> None:
    trakt = trakt_sim.TraktSim()
    simkl = simkl_sim.SimklState()
    entry = (
        trakt_entry(await serve(trakt_sim.make_app(trakt)), trakt)
        if service == "trakt"
        else simkl_entry(await serve(simkl_sim.simkl_app(simkl)), simkl)
    )
    entry.add_to_hass(hass)
    result = await entry.start_reauth_flow(hass)
    assert result["step_id"] == f"{service}_reauth"
    target = (
        f"{FLOWS}.trakt.request_device_code"
        if service == "trakt"
        else f"{FLOWS}.simkl.SimklOAuth.request_device_code"
    )

    with patch(target, side_effect=CrossWatchConnectionError("unreachable")):
        result = await hass.config_entries.flow.async_configure(result["flow_id"], {})

    # SIMKL's reauth asks for the client id again (a V1 account needs its V2 app's): its
    # own form shows the error, and Submit tries again.
    assert result["step_id"] == ("trakt_retry" if service == "trakt" else "simkl_reauth")
    assert result["errors"] == {"base": "cannot_connect"}


async def pair_form(hass: HomeAssistant, serve: Serve) -> tuple[Any, SubentryFlowResult]:
    accounts = await set_up_accounts(hass, serve, trakt_sim.TraktSim(), simkl_sim.SimklState())
    sync = sync_entry()
    sync.add_to_hass(hass)
    assert await hass.config_entries.async_setup(sync.entry_id)
    result = await hass.config_entries.subentries.async_init(
        (sync.entry_id, "pair"), context={"source": SOURCE_USER}
    )
    return accounts, result


def pair_fields(**fields: Any) -> dict[str, Any]:
    return {
        "name": "",
        "source": "trakt:alice",
        "target": "simkl:51",
        "features": ["watchlist"],
        "mode": "two_way",
        "interval_minutes": 60,
        "dry_run": True,
        "guards": {
            "delete_budget_floor": 5,
            "delete_budget_percent": 2,
            "drop_guard_percent": 10,
            "tombstone_ttl_days": 30,
        },
        **fields,
    }


async def test_a_pair_needs_at_least_one_feature(hass: HomeAssistant, serve: Serve) -> None:
    _, result = await pair_form(hass, serve)

    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], pair_fields(features=[])
    )

    assert result["errors"] == {"features": "no_features"}


async def test_a_pair_cannot_ask_an_account_for_a_feature_its_service_lacks(
    hass: HomeAssistant, serve: Serve
) -> None:
    accounts, result = await pair_form(hass, serve)
    provider = accounts[1].runtime_data.provider
    no_ratings = replace(
        provider.capabilities, features=frozenset({Feature.WATCHLIST, Feature.HISTORY})
    )

    with patch.object(type(provider), "capabilities", no_ratings):
        result = await hass.config_entries.subentries.async_configure(
            result["flow_id"], pair_fields(features=["watchlist", "ratings"])
        )

    assert result["errors"] == {"features": "feature_unsupported"}


async def test_an_unnamed_pair_is_titled_after_its_accounts_and_features(
    hass: HomeAssistant, serve: Serve
) -> None:
    _, result = await pair_form(hass, serve)

    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], pair_fields(features=["watchlist", "history"])
    )
    await hass.async_block_till_done(wait_background_tasks=True)

    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "Trakt (alice) ⇄ SIMKL (Andrew) (history, watchlist)"
