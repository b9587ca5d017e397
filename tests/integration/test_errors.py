"""Errors translated in one place: what each boundary makes of the engine's and providers' errors."""

from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.exceptions import (
    ConfigEntryAuthFailed,
    ConfigEntryNotReady,
    HomeAssistantError,
    ServiceValidationError,
)
from homeassistant.helpers.update_coordinator import UpdateFailed
import pytest

from custom_components.crosswatch.const import DOMAIN
from custom_components.crosswatch.engine.provider import AuthError, ProviderError
from custom_components.crosswatch.errors import Boundary, ErrorSubject, translate_errors
from tests.providers.conftest import Serve
from tests.simulators import simkl as simkl_sim, trakt as trakt_sim

from .helpers import add_pair, set_up_accounts, sync_entry

PAIR = {"pair": "Movies"}
ACCOUNT = {"account": "SIMKL (Andrew)"}


@dataclass
class Subject:
    """Something a translated method runs on; it counts the reauths it was asked to start."""

    placeholders: dict[str, str]
    refused: list[AuthError] = field(default_factory=list)

    @property
    def error_subject(self) -> ErrorSubject:
        return ErrorSubject(self.placeholders, self.refused.append)


def failing(
    boundary: Boundary, error: BaseException
) -> Callable[[Subject], Coroutine[Any, Any, None]]:
    """An action at `boundary` that fails with `error`."""

    @translate_errors(boundary)
    async def act(subject: Subject) -> None:
        raise error

    return act


@pytest.mark.parametrize(
    ("boundary", "placeholders", "error", "raised", "key", "shown"),
    [
        (Boundary.UPDATE, PAIR, AuthError("401"), UpdateFailed, "auth_failed", PAIR),
        (
            Boundary.UPDATE,
            PAIR,
            ProviderError("down"),
            UpdateFailed,
            "run_failed",
            {**PAIR, "error": "down"},
        ),
        (Boundary.ACTION, PAIR, AuthError("401"), HomeAssistantError, "auth_failed", PAIR),
        (
            Boundary.ACTION,
            PAIR,
            ProviderError("down"),
            HomeAssistantError,
            "run_failed",
            {**PAIR, "error": "down"},
        ),
        (
            Boundary.SETUP,
            ACCOUNT,
            AuthError("401"),
            ConfigEntryAuthFailed,
            "account_auth_failed",
            ACCOUNT,
        ),
        (
            Boundary.SETUP,
            ACCOUNT,
            ProviderError("down"),
            ConfigEntryNotReady,
            "account_unavailable",
            {**ACCOUNT, "error": "down"},
        ),
    ],
)
async def test_each_boundary_raises_its_own_translated_error(
    boundary: Boundary,
    placeholders: dict[str, str],
    error: ProviderError,
    raised: type[HomeAssistantError],
    key: str,
    shown: dict[str, str],
) -> None:
    subject = Subject(placeholders)

    with pytest.raises(raised) as caught:
        await failing(boundary, error)(subject)

    assert type(caught.value) is raised  # an action's error is not an UpdateFailed
    assert caught.value.translation_domain == DOMAIN
    assert caught.value.translation_key == key
    assert caught.value.translation_placeholders == shown
    assert caught.value.__cause__ is error


async def test_a_refused_sign_in_asks_the_subject_to_start_a_reauth() -> None:
    subject = Subject(PAIR)
    refused = AuthError("401", provider="simkl:51")

    with pytest.raises(HomeAssistantError):
        await failing(Boundary.ACTION, refused)(subject)
    with pytest.raises(HomeAssistantError):
        await failing(Boundary.ACTION, ProviderError("down"))(subject)

    assert subject.refused == [refused]


@pytest.mark.parametrize(
    "error",
    [
        ServiceValidationError(translation_domain=DOMAIN, translation_key="unknown_pair"),
        HomeAssistantError(translation_domain=DOMAIN, translation_key="store_closed"),
        RuntimeError("a bug"),
    ],
)
async def test_errors_that_are_not_a_providers_pass_through(error: Exception) -> None:
    with pytest.raises(type(error)) as caught:
        await failing(Boundary.ACTION, error)(Subject(PAIR))

    assert caught.value is error


async def test_pressing_sync_now_while_an_account_refuses_says_so_and_asks_to_sign_in_again(
    hass: HomeAssistant, serve: Serve, trakt: trakt_sim.TraktSim, simkl: simkl_sim.SimklState
) -> None:
    await set_up_accounts(hass, serve, trakt, simkl)
    sync = sync_entry()
    sync.add_to_hass(hass)
    assert await hass.config_entries.async_setup(sync.entry_id)
    await add_pair(hass, sync, source="trakt:alice", target="simkl:51")
    simkl.quirks.token_revoked = True

    with pytest.raises(HomeAssistantError) as refused:
        await hass.services.async_call(
            "button", "press", {"entity_id": "button.movies_sync_now"}, blocking=True
        )

    assert refused.value.translation_key == "auth_failed"
    assert refused.value.translation_placeholders == PAIR
    flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert [flow["context"]["source"] for flow in flows] == ["reauth"]
