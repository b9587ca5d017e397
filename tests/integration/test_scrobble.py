"""Live scrobbling in Home Assistant: a followed player's play reaches Trakt as it plays.

Plex (signed in by its flow) → Trakt history on their simulators, the pair added through the
subentry flow with a player to follow and "Scrobble what plays" on. The player's state changes
as a Plex player's do: playing starts a scrobble, pausing pauses it, stopping stops it with the
progress; Trakt records a play for a stop at 80 % or more, and the finished play's targeted
sync and the next full run then send no second one.
"""

from collections import Counter
import logging
from typing import Any

from aiohttp import web
from homeassistant.config_entries import ConfigEntry
from homeassistant.core import Event, HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
import pytest

from custom_components.crosswatch.const import EVENT_PLAYBACK_FINISHED
from tests.integration import test_server_pairs as server_pairs
from tests.integration.test_playback import FILM, PLAYER, TWO_HOURS, playing
from tests.integration.test_server_pairs import (
    Jellyfin,
    Plex,
    connect_plex_server,
    connect_trakt,
    history_pair,
    press,
    sign_in_to_jellyfin,
    sign_in_to_plex,
    start_sync,
    trakt_plays,
)
from tests.providers.test_servers_e2e import FILMS, TRAKT_FILM
from tests.simulators import simkl as simkl_sim, trakt as trakt_sim
from tests.simulators.openapi import RECORDED, RecordedRequest
from tests.simulators.serving import Serve

from .helpers import add_pair, simkl_entry

plex = server_pairs.plex
trakt = server_pairs.trakt
plex_and_trakt = server_pairs.plex_and_trakt
jellyfin = server_pairs.jellyfin
quick_pin_polls = server_pairs.quick_pin_polls


@pytest.fixture
def played(hass: HomeAssistant) -> list[Event]:
    events: list[Event] = []
    hass.bus.async_listen(EVENT_PLAYBACK_FINISHED, events.append)
    return events


async def scrobbling_pair(
    hass: HomeAssistant, accounts: tuple[ConfigEntry, ConfigEntry], **fields: Any
) -> Any:
    """The sync entry with a Plex → Trakt history pair that follows PLAYER and scrobbles."""
    sync = await start_sync(hass)
    result = await add_pair(
        hass, sync, name="Plex plays", follow_players=[PLAYER], scrobble=True,
        **history_pair(*accounts, **fields),
    )  # fmt: skip
    assert result["type"] is FlowResultType.CREATE_ENTRY, result
    return sync


def history_writes(app: web.Application) -> list[RecordedRequest]:
    """The history writes SIMKL received."""
    return [r for r in app[RECORDED] if r.method == "POST" and r.path == "/sync/history"]


def calls(sim: trakt_sim.TraktSim) -> list[tuple[str, float]]:
    """The scrobbles Trakt received: (call, progress rounded to a whole percent)."""
    return [(action, round(body["progress"])) for action, body in sim.scrobble_calls]


async def test_the_pair_form_stores_scrobbling_for_a_pair_that_follows_players_into_trakt(
    hass: HomeAssistant, plex_and_trakt: tuple[ConfigEntry, ConfigEntry]
) -> None:
    sync = await scrobbling_pair(hass, plex_and_trakt)

    (subentry,) = sync.subentries.values()
    assert subentry.data["scrobble"] is True
    assert sync.runtime_data.coordinators[subentry.subentry_id].pair.scrobbles


async def test_scrobbling_needs_players_to_follow_and_a_tracker_as_the_target(
    hass: HomeAssistant, plex: Plex, jellyfin: Jellyfin, trakt: trakt_sim.TraktSim, serve: Serve
) -> None:
    plex_entry = await connect_plex_server(hass, plex)
    trakt_entry = await connect_trakt(hass, await serve(trakt_sim.make_app(trakt)), trakt)
    jellyfin_entry = await sign_in_to_jellyfin(hass, jellyfin.url)
    sync = await start_sync(hass)

    no_players = await add_pair(hass, sync, scrobble=True, **history_pair(plex_entry, trakt_entry))
    into_jellyfin = await add_pair(
        hass, sync, scrobble=True, follow_players=[PLAYER],
        **history_pair(plex_entry, jellyfin_entry),
    )  # fmt: skip

    assert no_players["errors"] == {"scrobble": "scrobble_needs_players"}
    assert into_jellyfin["errors"] == {"scrobble": "scrobble_needs_tracker"}
    assert not sync.subentries


async def test_a_followed_play_is_scrobbled_as_it_starts_pauses_and_stops_finding_it_once(
    hass: HomeAssistant,
    plex_and_trakt: tuple[ConfigEntry, ConfigEntry],
    plex: Plex,
    trakt: trakt_sim.TraktSim,
    played: list[Event],
) -> None:
    await scrobbling_pair(hass, plex_and_trakt)
    film = plex.sim.item(FILM)
    plays = Counter(trakt_plays(trakt))

    hass.states.async_set(PLAYER, "playing", playing(film.rating_key, 0.0))
    hass.states.async_set(PLAYER, "paused", playing(film.rating_key, 0.4 * TWO_HOURS))
    hass.states.async_set(PLAYER, "playing", playing(film.rating_key, 0.4 * TWO_HOURS))
    hass.states.async_set(PLAYER, "idle", {} | {"media_position": 0.5 * TWO_HOURS})
    await hass.async_block_till_done(wait_background_tasks=True)

    assert calls(trakt) == [("start", 0), ("pause", 40), ("start", 40), ("stop", 40)]
    assert plex.sim.item_reads == [film.rating_key]  # found once for the whole play
    # Stopped at 40 %: Trakt keeps it as a paused session, records no play; nothing finished.
    assert trakt.scrobbles[("movie", TRAKT_FILM[FILM])] == ("pause", 40.0)
    assert Counter(trakt_plays(trakt)) == plays
    assert played == []


async def test_a_scrobbled_stop_then_the_targeted_sync_and_a_full_run_leave_one_play_on_trakt(
    hass: HomeAssistant,
    plex_and_trakt: tuple[ConfigEntry, ConfigEntry],
    plex: Plex,
    trakt: trakt_sim.TraktSim,
    played: list[Event],
) -> None:
    await scrobbling_pair(hass, plex_and_trakt)
    film = plex.sim.item(FILM)
    hass.states.async_set(PLAYER, "playing", playing(film.rating_key, 0.0))
    hass.states.async_set(PLAYER, "playing", playing(film.rating_key, 0.95 * TWO_HOURS))
    plex.sim.finish_play(film)

    hass.states.async_set(PLAYER, "idle", {})
    await hass.async_block_till_done(wait_background_tasks=True)

    assert calls(trakt) == [("start", 0), ("stop", 95)]
    assert trakt_plays(trakt)[("movie", TRAKT_FILM[FILM])] == 1  # Trakt's own, from the stop
    assert [e.data["outcome"] for e in played] == ["in_sync"]
    await press(hass, "button.plex_plays_sync_now")
    await press(hass, "button.plex_plays_sync_now")
    assert trakt_plays(trakt)[("movie", TRAKT_FILM[FILM])] == 1


async def test_the_sync_never_adds_a_second_play_when_trakt_history_lags_behind_a_scrobble(
    hass: HomeAssistant,
    plex_and_trakt: tuple[ConfigEntry, ConfigEntry],
    plex: Plex,
    trakt: trakt_sim.TraktSim,
    played: list[Event],
) -> None:
    await scrobbling_pair(hass, plex_and_trakt)
    film = plex.sim.item(FILM)
    # Trakt's history reads show the scrobbled play only from the third read after it.
    trakt.quirks.visible_after_reads = 2
    hass.states.async_set(PLAYER, "playing", playing(film.rating_key, 0.95 * TWO_HOURS))
    plex.sim.finish_play(film)

    hass.states.async_set(PLAYER, "off", {})
    await hass.async_block_till_done(wait_background_tasks=True)
    for _ in range(3):  # runs while the read lags, and after it caught up
        await press(hass, "button.plex_plays_sync_now")

    assert calls(trakt) == [("start", 95), ("stop", 95)]
    assert [e.data["outcome"] for e in played] == ["in_sync"]
    assert trakt_plays(trakt)[("movie", TRAKT_FILM[FILM])] == 1


async def test_a_scrobble_to_a_trakt_that_is_down_is_logged_translated_and_the_play_still_syncs(
    hass: HomeAssistant,
    plex_and_trakt: tuple[ConfigEntry, ConfigEntry],
    plex: Plex,
    trakt: trakt_sim.TraktSim,
    played: list[Event],
    caplog: pytest.LogCaptureFixture,
) -> None:
    await scrobbling_pair(hass, plex_and_trakt)
    film = plex.sim.item(FILM)
    trakt.quirks.scrobbles_down = True
    hass.states.async_set(PLAYER, "playing", playing(film.rating_key, 0.95 * TWO_HOURS))
    plex.sim.finish_play(film)

    with caplog.at_level(logging.WARNING):
        hass.states.async_set(PLAYER, "idle", {})
        await hass.async_block_till_done(wait_background_tasks=True)

    failures = [r.getMessage() for r in caplog.records if "could not be scrobbled" in r.message]
    assert len(failures) == 2  # the start and the stop
    assert failures[-1].startswith(f"Plex plays: the stop of {FILM} could not be scrobbled to")
    # Nothing is lost: the finished play reaches Trakt by its targeted sync, once.
    assert [e.data["outcome"] for e in played] == ["synced"]
    assert trakt_plays(trakt)[("movie", TRAKT_FILM[FILM])] == 1
    await press(hass, "button.plex_plays_sync_now")
    assert trakt_plays(trakt)[("movie", TRAKT_FILM[FILM])] == 1


async def test_a_pair_without_the_option_scrobbles_nothing(
    hass: HomeAssistant,
    plex_and_trakt: tuple[ConfigEntry, ConfigEntry],
    plex: Plex,
    trakt: trakt_sim.TraktSim,
) -> None:
    sync = await start_sync(hass)
    await add_pair(
        hass, sync, name="Plex plays", follow_players=[PLAYER], **history_pair(*plex_and_trakt)
    )
    film = plex.sim.item(FILM)

    hass.states.async_set(PLAYER, "playing", playing(film.rating_key, 0.0))
    hass.states.async_set(PLAYER, "paused", playing(film.rating_key, 0.3 * TWO_HOURS))
    hass.states.async_set(PLAYER, "idle", {})
    await hass.async_block_till_done(wait_background_tasks=True)

    assert trakt.scrobble_calls == []
    assert plex.sim.item_reads == []


async def test_two_way_never_removes_a_play_trakt_recorded_from_a_stop_short_of_the_finish(
    hass: HomeAssistant,
    plex_and_trakt: tuple[ConfigEntry, ConfigEntry],
    plex: Plex,
    trakt: trakt_sim.TraktSim,
    played: list[Event],
) -> None:
    await scrobbling_pair(hass, plex_and_trakt, mode="two_way")
    film = plex.sim.item(FILM)
    hass.states.async_set(PLAYER, "playing", playing(film.rating_key, 0.85 * TWO_HOURS))
    hass.states.async_set(PLAYER, "idle", {})  # at 85 %: Trakt records it, Plex does not
    await hass.async_block_till_done(wait_background_tasks=True)
    assert played == []
    assert trakt_plays(trakt)[("movie", TRAKT_FILM[FILM])] == 1

    for _ in range(3):
        await press(hass, "button.plex_plays_sync_now")

    assert trakt_plays(trakt)[("movie", TRAKT_FILM[FILM])] == 1
    # The play is Trakt's own (no copy of ours): two-way, it is carried to Plex, once.
    assert film.view_count == 1


async def test_a_play_scrobbled_to_simkl_is_marked_watched_there_once_with_the_sync(
    hass: HomeAssistant, plex: Plex, serve: Serve, played: list[Event]
) -> None:
    simkl = simkl_sim.SimklState()
    for number, (title, year, imdb, tmdb) in enumerate(FILMS, start=700):
        simkl.add_title("movies", number, title, year, imdb=imdb, tmdb=str(tmdb))
    app = simkl_sim.simkl_app(simkl)
    account = simkl_entry(await serve(app), simkl)
    account.add_to_hass(hass)
    assert await hass.config_entries.async_setup(account.entry_id)
    plex_entry = await sign_in_to_plex(hass, plex)
    await scrobbling_pair(hass, (plex_entry, account))
    film = plex.sim.item(FILM)
    writes_before = len(history_writes(app))
    hass.states.async_set(PLAYER, "playing", playing(film.rating_key, 0.2 * TWO_HOURS))
    hass.states.async_set(PLAYER, "playing", playing(film.rating_key, 0.96 * TWO_HOURS))
    plex.sim.finish_play(film)

    hass.states.async_set(PLAYER, "idle", {})
    await hass.async_block_till_done(wait_background_tasks=True)
    await press(hass, "button.plex_plays_sync_now")

    assert [(action, round(body["progress"])) for action, body in simkl.scrobble_calls] == [
        ("start", 20), ("stop", 96)
    ]  # fmt: skip
    spirited = next(t for t in simkl.catalog.values() if t.title == FILM)
    assert simkl.lists[spirited.simkl].status == "completed"
    assert [e.data["outcome"] for e in played] == ["in_sync"]
    assert len(history_writes(app)) == writes_before  # the play was not sent again
