"""Sync when playback ends, in Home Assistant: a followed player's finished play reaches Trakt.

Plex (signed in by its flow) → Trakt history on their simulators, the pair added through the
subentry flow with players to follow. A media player's state changes as a Plex player's do;
the play that finishes runs the pair for that one item, once, without a library scan.
"""

from collections import Counter
from datetime import timedelta
from typing import Any

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import Event, HomeAssistant, State
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.util import dt as dt_util
import pytest

from custom_components.crosswatch import _last_known_state
from custom_components.crosswatch.const import EVENT_PLAYBACK_FINISHED
from custom_components.crosswatch.coordinator import PairStatus
from custom_components.crosswatch.playback import player_state
from tests.integration import test_server_pairs as server_pairs
from tests.integration.test_server_pairs import (
    Plex,
    history_pair,
    press,
    start_sync,
    trakt_plays,
)
from tests.providers.test_servers_e2e import TRAKT_FILM
from tests.simulators import trakt as trakt_sim

from .helpers import add_pair, state

# The Plex → Trakt accounts of the media-server pair tests, connected through their flows.
plex = server_pairs.plex
trakt = server_pairs.trakt
plex_and_trakt = server_pairs.plex_and_trakt
quick_pin_polls = server_pairs.quick_pin_polls

PLAYER = "media_player.living_room"
FILM = "Spirited Away"  # not watched on Plex yet
TWO_HOURS = 7200


def playing(rating_key: str, position: float, **extra: Any) -> dict[str, Any]:
    """A Plex player's attributes while it plays a film, its position reported now."""
    return {
        "media_content_id": rating_key,
        "media_content_type": "movie",
        "media_title": FILM,
        "media_duration": TWO_HOURS,
        "media_position": position,
        "media_position_updated_at": dt_util.utcnow(),
        **extra,
    }


@pytest.fixture
def played(hass: HomeAssistant) -> list[Event]:
    events: list[Event] = []
    hass.bus.async_listen(EVENT_PLAYBACK_FINISHED, events.append)
    return events


async def test_the_pair_form_stores_the_players_to_follow(
    hass: HomeAssistant, plex_and_trakt: tuple[ConfigEntry, ConfigEntry]
) -> None:
    sync = await start_sync(hass)

    result = await add_pair(
        hass, sync, name="Plex plays", follow_players=[PLAYER], **history_pair(*plex_and_trakt)
    )

    assert result["type"] is FlowResultType.CREATE_ENTRY
    (subentry,) = sync.subentries.values()
    assert subentry.data["follow_players"] == [PLAYER]


async def test_following_players_needs_history_from_a_media_server(
    hass: HomeAssistant, plex_and_trakt: tuple[ConfigEntry, ConfigEntry]
) -> None:
    sync = await start_sync(hass)
    plex_entry, trakt_entry = plex_and_trakt

    no_history = await add_pair(
        hass, sync, follow_players=[PLAYER],
        **history_pair(plex_entry, trakt_entry, features=["watchlist"]),
    )  # fmt: skip
    from_trakt = await add_pair(
        hass, sync, follow_players=[PLAYER], **history_pair(trakt_entry, plex_entry)
    )

    assert no_history["errors"] == {"follow_players": "follow_needs_history"}
    assert from_trakt["errors"] == {"follow_players": "follow_needs_server_source"}
    assert not sync.subentries


async def test_a_finished_play_on_a_followed_player_reaches_trakt_once_without_a_scan(
    hass: HomeAssistant,
    plex_and_trakt: tuple[ConfigEntry, ConfigEntry],
    plex: Plex,
    trakt: trakt_sim.TraktSim,
    played: list[Event],
) -> None:
    sync = await start_sync(hass)
    await add_pair(
        hass, sync, name="Plex plays", follow_players=[PLAYER], **history_pair(*plex_and_trakt)
    )
    film = plex.sim.item(FILM)
    hass.states.async_set(PLAYER, "playing", playing(film.rating_key, 0.0))
    hass.states.async_set(PLAYER, "playing", playing(film.rating_key, 0.93 * TWO_HOURS))
    plex.sim.finish_play(film)  # the server marks it watched as the player reaches the end
    scans, plays = plex.sim.section_reads, len(trakt.history)

    hass.states.async_set(PLAYER, "idle", {})
    await hass.async_block_till_done(wait_background_tasks=True)

    assert [e.data["outcome"] for e in played] == ["synced"]
    store = sync.runtime_data.store
    pair_id = next(iter(sync.subentries))
    runs = await hass.async_add_executor_job(store.runs, pair_id, 10)
    assert [run.status for run in runs].count("targeted") == 1  # exactly one targeted run
    assert played[0].data["title"] == FILM
    assert played[0].data["entity_id"] == PLAYER
    assert trakt_plays(trakt)[("movie", TRAKT_FILM[FILM])] == 1
    assert len(trakt.history) == plays + 1
    assert plex.sim.section_reads == scans  # the one item was read, not the library
    assert plex.sim.item_reads == [film.rating_key]
    # The pair's last result is still its last full run's; the title shows as last synced.
    assert state(hass, "sensor.plex_plays_last_result") == "success"
    await press(hass, "button.plex_plays_sync_now")
    assert state(hass, "sensor.plex_plays_last_result") == "success"
    assert trakt_plays(trakt)[("movie", TRAKT_FILM[FILM])] == 1


async def test_a_play_stopped_half_way_or_on_another_player_starts_no_run(
    hass: HomeAssistant,
    plex_and_trakt: tuple[ConfigEntry, ConfigEntry],
    plex: Plex,
    trakt: trakt_sim.TraktSim,
    played: list[Event],
) -> None:
    sync = await start_sync(hass)
    await add_pair(
        hass, sync, name="Plex plays", follow_players=[PLAYER], **history_pair(*plex_and_trakt)
    )
    film = plex.sim.item(FILM)
    plays = Counter(trakt_plays(trakt))
    hass.states.async_set(PLAYER, "playing", playing(film.rating_key, 0.5 * TWO_HOURS))
    hass.states.async_set(PLAYER, "idle", {})
    other = "media_player.kitchen"
    hass.states.async_set(other, "playing", playing(film.rating_key, 0.95 * TWO_HOURS))
    hass.states.async_set(other, "idle", {})
    await hass.async_block_till_done(wait_background_tasks=True)

    assert played == []
    assert plex.sim.item_reads == []
    assert trakt_plays(trakt) == plays


async def test_the_players_are_no_longer_followed_once_the_sync_entry_unloads(
    hass: HomeAssistant,
    plex_and_trakt: tuple[ConfigEntry, ConfigEntry],
    plex: Plex,
    played: list[Event],
) -> None:
    sync = await start_sync(hass)
    await add_pair(
        hass, sync, name="Plex plays", follow_players=[PLAYER], **history_pair(*plex_and_trakt)
    )
    film = plex.sim.item(FILM)
    assert await hass.config_entries.async_unload(sync.entry_id)

    hass.states.async_set(PLAYER, "playing", playing(film.rating_key, 0.97 * TWO_HOURS))
    hass.states.async_set(PLAYER, "off", {})
    await hass.async_block_till_done(wait_background_tasks=True)

    assert played == []
    assert plex.sim.item_reads == []


async def test_a_play_the_server_does_not_show_is_reported_and_not_synced(
    hass: HomeAssistant,
    plex_and_trakt: tuple[ConfigEntry, ConfigEntry],
    plex: Plex,
    trakt: trakt_sim.TraktSim,
    played: list[Event],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("custom_components.crosswatch.engine.targeted.RETRY_DELAY", 0.0)
    sync = await start_sync(hass)
    await add_pair(
        hass, sync, name="Plex plays", follow_players=[PLAYER], **history_pair(*plex_and_trakt)
    )
    film = plex.sim.item(FILM)
    start = dt_util.utcnow() - timedelta(hours=2)
    hass.states.async_set(
        PLAYER, "playing",
        playing(film.rating_key, 0.95 * TWO_HOURS) | {"media_position_updated_at": start},
    )  # fmt: skip

    hass.states.async_set(PLAYER, "off", {})  # the server never marks it watched
    await hass.async_block_till_done(wait_background_tasks=True)

    assert [e.data["outcome"] for e in played] == ["not_watched_on_server"]
    assert len(plex.sim.item_reads) == 4  # a bounded number of cheap reads
    assert ("movie", TRAKT_FILM[FILM]) not in trakt_plays(trakt)


async def test_after_a_restart_the_pair_shows_its_last_full_run_not_the_targeted_one(
    hass: HomeAssistant,
    plex_and_trakt: tuple[ConfigEntry, ConfigEntry],
    plex: Plex,
    trakt: trakt_sim.TraktSim,
    played: list[Event],
) -> None:
    sync = await start_sync(hass)
    await add_pair(
        hass, sync, name="Plex plays", follow_players=[PLAYER], **history_pair(*plex_and_trakt)
    )
    film = plex.sim.item(FILM)
    hass.states.async_set(PLAYER, "playing", playing(film.rating_key, 0.95 * TWO_HOURS))
    plex.sim.finish_play(film)
    hass.states.async_set(PLAYER, "idle", {})
    await hass.async_block_till_done(wait_background_tasks=True)
    assert [e.data["outcome"] for e in played] == ["synced"]

    # What the entities show after a restart, before the pair's first run: from the store.
    remembered = await _last_known_state(hass, sync, next(iter(sync.subentries)))

    assert remembered.status is PairStatus.SUCCESS
    assert remembered.last_synced is not None
    assert [t.title for t in remembered.last_synced.changes.titles] == [f"{FILM} (2001)"]


def test_a_player_state_is_read_from_its_attributes_as_home_assistant_keeps_them() -> None:
    updated = dt_util.utcnow()
    live = State(
        PLAYER, "playing",
        {
            "media_content_id": 1234, "media_content_type": "episode", "media_title": "Chapter",
            "media_series_title": "Dark", "media_season": "1", "media_episode": 2,
            "media_duration": 3600, "media_position": 12.5, "media_position_updated_at": updated,
        },
    )  # fmt: skip
    # After a restart the attributes come back from JSON: the moment as text.
    restored = State(PLAYER, "paused", {"media_position_updated_at": updated.isoformat()})
    odd = State(
        PLAYER, "idle", {"media_position": "soon", "media_duration": -5, "media_season": None}
    )

    read = player_state(live)
    assert (read.content_id, read.season, read.episode) == ("1234", 1, 2)
    assert (read.duration, read.position, read.position_updated_at) == (3600.0, 12.5, updated)
    assert player_state(restored).position_updated_at == updated
    assert (player_state(odd).position, player_state(odd).duration) == (None, None)
    assert player_state(odd).season is None
