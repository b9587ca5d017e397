"""A Trakt account at its plan's watchlist cap: a repair while adds do not fit, gone once they do.

Trakt's free plan caps the watchlist; `/users/settings` says where. A pair whose adds would go
beyond it sends what fits, sets the rest aside and raises the account-limit repair; the run is
partial, not failed. Should Trakt refuse a write anyway (HTTP 420, its reported cap being out
of date), nothing is counted against the items and the repair is the same. Once the adds fit
(the user removed items or upgraded), the next run sends the rest and the repair closes.
"""

from typing import Any

from aiohttp import web
from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.crosswatch.const import DOMAIN
from tests.providers.conftest import Serve
from tests.simulators import simkl as simkl_sim, trakt as trakt_sim
from tests.simulators.openapi import RECORDED

from .helpers import add_pair, attributes, pair_device, simkl_entry, state, sync_entry, trakt_entry

CAP = 4
FILMS = 6  # on the SIMKL watchlist, none yet on Trakt's
MATRIX = ("movie", 1)  # already on Trakt's watchlist: room for three more


@pytest.fixture
async def trakt_app(
    hass: HomeAssistant, serve: Serve, trakt: trakt_sim.TraktSim, simkl: simkl_sim.SimklState
) -> web.Application:
    """SIMKL with six films to watch; Trakt on the free plan, one film listed; both connected.

    The Trakt simulator's app is returned: it records every request it received.
    """
    trakt.watchlist_limit = CAP
    trakt.seed_watchlist(*MATRIX)
    for n in range(FILMS):
        trakt.add_movie(100 + n, f"Film {n}", 1990 + n, tmdb=5000 + n)
        simkl.add_title("movies", 700 + n, f"Film {n}", 1990 + n, tmdb=str(5000 + n))
        simkl.user_lists(700 + n, "plantowatch")
    app = trakt_sim.make_app(trakt)
    for entry in (
        trakt_entry(await serve(app), trakt),
        simkl_entry(await serve(simkl_sim.simkl_app(simkl)), simkl),
    ):
        entry.add_to_hass(hass)
        assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    return app


async def add_films_pair(hass: HomeAssistant) -> tuple[MockConfigEntry, str]:
    """A one-way SIMKL → Trakt watchlist pair, added (and run) through the subentry flow."""
    sync = sync_entry()
    sync.add_to_hass(hass)
    assert await hass.config_entries.async_setup(sync.entry_id)
    await add_pair(hass, sync, source="simkl:51", target="trakt:alice", mode="add_only")
    return sync, next(iter(sync.subentries))


def films_on_trakt(trakt: trakt_sim.TraktSim) -> set[Any]:
    return {tuple(row["ref"]) for row in trakt.watchlist} - {MATRIX}


def limit_issue(hass: HomeAssistant, pair_id: str) -> ir.IssueEntry | None:
    return ir.async_get(hass).async_get_issue(DOMAIN, f"account_limit_{pair_id}")


async def sync_now(hass: HomeAssistant, sync: MockConfigEntry) -> Any:
    response: Any = await hass.services.async_call(
        DOMAIN, "sync", {"pair": pair_device(hass, sync).id}, blocking=True, return_response=True
    )
    (run,) = response["runs"]
    return run


async def test_adds_beyond_the_trakt_cap_are_set_aside_with_a_repair_that_closes_once_they_fit(
    hass: HomeAssistant, trakt_app: web.Application, trakt: trakt_sim.TraktSim
) -> None:
    sync, pair_id = await add_films_pair(hass)

    # Three films fitted; the other three were never sent.
    assert len(trakt.watchlist) == CAP
    assert len(films_on_trakt(trakt)) == CAP - 1
    assert state(hass, "sensor.movies_last_result") == "partial"
    assert attributes(hass, "sensor.movies_last_result")["errors"] == []  # no 420 was needed
    assert attributes(hass, "event.movies_run")["event_type"] == "partial"
    assert state(hass, "sensor.movies_unresolved_items") == "0"  # not the films' fault
    issue = limit_issue(hass, pair_id)
    assert issue is not None
    assert issue.translation_key == "account_limit"
    assert issue.severity is ir.IssueSeverity.WARNING
    assert not issue.is_fixable
    assert issue.translation_placeholders == {
        "pair": "Movies",
        "error": "3 items not added: Trakt (alice) is at its account limit",
    }

    # Still full: the next run sends nothing more, and the repair stays.
    run = await sync_now(hass, sync)
    assert run["status"] == "partial"
    assert run["features"]["watchlist"]["applied"] == 0
    assert len(trakt.watchlist) == CAP
    assert limit_issue(hass, pair_id) is not None

    trakt.watchlist_limit = 100  # the user upgraded
    run = await sync_now(hass, sync)

    assert run["status"] == "success"
    assert run["features"]["watchlist"]["applied"] == FILMS - (CAP - 1)
    assert len(films_on_trakt(trakt)) == FILMS
    assert state(hass, "sensor.movies_last_result") == "success"
    assert limit_issue(hass, pair_id) is None


async def test_a_420_from_trakt_is_a_partial_run_with_the_repair_and_blames_no_item(
    hass: HomeAssistant,
    trakt_app: web.Application,
    trakt: trakt_sim.TraktSim,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Trakt's settings name a cap that is out of date: only the write finds the real one.
    reported = trakt.settings

    def stale_settings() -> dict[str, Any]:
        body: dict[str, Any] = reported()
        body["limits"]["watchlist"]["item_count"] = 1000
        return body

    monkeypatch.setattr(trakt, "settings", stale_settings)

    sync, pair_id = await add_films_pair(hass)

    refused = [r for r in trakt_app[RECORDED] if r.method == "POST" and r.path == "/sync/watchlist"]
    assert len(refused) == 1  # one request of six films, refused whole: nothing more was tried
    assert trakt.watchlist == [trakt.watchlist[0]]
    assert tuple(trakt.watchlist[0]["ref"]) == MATRIX
    assert state(hass, "sensor.movies_last_result") == "partial"
    (error,) = attributes(hass, "sensor.movies_last_result")["errors"]
    assert "at its limit of 4 items" in error
    assert state(hass, "sensor.movies_unresolved_items") == "0"
    issue = limit_issue(hass, pair_id)
    assert issue is not None
    assert issue.translation_key == "account_limit"
    assert issue.translation_placeholders == {"pair": "Movies", "error": "Trakt (alice)"}

    trakt.unlist(*MATRIX)  # the user made room
    trakt.watchlist_limit = 100
    run = await sync_now(hass, sync)

    # The films fit now and go. Trakt's watchlist lost its only item, which one read does not
    # prove: the run is partial until the next run's fresh read agrees.
    assert len(films_on_trakt(trakt)) == FILMS
    assert limit_issue(hass, pair_id) is None
    assert run["status"] == "partial"
    assert [event["code"] for event in run["events"]] == ["snapshot_suspect"]
    run = await sync_now(hass, sync)
    assert run["status"] == "success"
