"""Sync when playback ends: follow a pair's media players, and sync each finished play at once.

A pair that syncs watch history from a media server may follow `media_player` entities (its
option `follow_players`). When one of them finishes a play (engine/playback.py decides), the
pair's coordinator runs a targeted run of that one item (engine/targeted.py): read from the
server by the id the player reports, once the server shows the play, and written to the target
through the same pipeline and records as every run.

The listener is set up with the sync entry and removed when it unloads; the runs it starts are
the entry's background tasks, cancelled with it.
"""

import asyncio
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from homeassistant.core import (
    CALLBACK_TYPE,
    Event,
    EventStateChangedData,
    HomeAssistant,
    State,
    callback,
)
from homeassistant.helpers.event import async_track_state_change_event
from homeassistant.util import dt as dt_util

from .const import DOMAIN
from .engine.payloads import Feature
from .engine.playback import PlayerState, finished_play
from .engine.provider import ItemReader, Read

if TYPE_CHECKING:
    from .coordinator import PairCoordinator


@callback
def async_follow_playback(hass: HomeAssistant, coordinator: PairCoordinator) -> CALLBACK_TYPE:
    """Listen to the pair's followed players; returns the call that stops listening."""

    @callback
    def changed(event: Event[EventStateChangedData]) -> None:
        old, new = event.data["old_state"], event.data["new_state"]
        if old is None:
            return
        play = finished_play(
            player_state(old),
            player_state(new) if new is not None else PlayerState("off"),
            dt_util.utcnow(),
        )
        if play is None:
            return
        entity_id = event.data["entity_id"]
        coordinator.config_entry.async_create_background_task(
            hass,
            coordinator.async_sync_play(entity_id, play),
            f"{DOMAIN} play on {entity_id} for {coordinator.pair_id}",
        )

    return async_track_state_change_event(hass, list(coordinator.pair.follow_players), changed)


def player_state(state: State) -> PlayerState:
    """A media player's state as the finish rules read it (attributes of any type tolerated)."""
    attributes = state.attributes
    return PlayerState(
        state.state,
        content_id=_text(attributes.get("media_content_id")),
        content_type=_text(attributes.get("media_content_type")),
        title=_text(attributes.get("media_title")),
        series_title=_text(attributes.get("media_series_title")),
        season=_whole(attributes.get("media_season")),
        episode=_whole(attributes.get("media_episode")),
        duration=_seconds(attributes.get("media_duration")),
        position=_seconds(attributes.get("media_position")),
        position_updated_at=_moment(attributes.get("media_position_updated_at")),
    )


@dataclass(frozen=True, slots=True)
class TakingTurns:
    """An item reader that reads only between the pairs' runs (the sync entry's run lock).

    A provider serves one caller at a time; the waits between reads happen outside the lock,
    so a run is never held up by a server that has not marked the play yet.
    """

    reader: ItemReader
    lock: asyncio.Lock

    async def read_item(self, feature: Feature, local_id: str) -> Read:
        """The reader's read, while no run is under way."""
        async with self.lock:
            return await self.reader.read_item(feature, local_id)


def _text(value: Any) -> str | None:
    return str(value) if value not in (None, "") else None


def _whole(value: Any) -> int | None:
    try:
        return int(value)
    except TypeError, ValueError:
        return None


def _seconds(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        number = float(value)
    except TypeError, ValueError:
        return None
    return number if number >= 0 else None


def _moment(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str):
        return dt_util.parse_datetime(value)
    return None
