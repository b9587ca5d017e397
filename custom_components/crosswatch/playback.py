"""Sync when playback ends: follow a pair's media players, and sync each finished play at once.

A pair that syncs watch history from a media server may follow `media_player` entities (its
option `follow_players`). When one of them finishes a play (engine/playback.py decides), the
pair's coordinator runs a targeted run of that one item (engine/targeted.py): read from the
server by the id the player reports, once the server shows the play, and written to the target
through the same pipeline and records as every run.

With the pair's option `scrobble` (its target Trakt or SIMKL), the same state changes are also
scrobbled live (engine/scrobble.py): start, pause and stop, with the progress. The item is found
on the server once per play, and a stop the target recorded as a play is recorded in the pair's
records before the finished play's targeted run, which therefore sends no second play. A
scrobble that fails is logged, with the reason in the user's words; nothing waits on it, and
the finished play is still synced by its targeted run.

The listener is set up with the sync entry and removed when it unloads; the runs it starts are
the entry's background tasks, cancelled with it.
"""

import asyncio
from collections.abc import Sequence
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
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers.event import async_track_state_change_event
from homeassistant.util import dt as dt_util

from .const import DOMAIN, LOGGER
from .engine.items import MediaItem
from .engine.payloads import Feature
from .engine.playback import PlayerState, finished_play
from .engine.provider import AuthError, ItemReader, ProviderError, Read
from .engine.scrobble import ItemFinder, ScrobbleAction, ScrobbleCall, Scrobbler, scrobble_calls

if TYPE_CHECKING:
    from .coordinator import PairCoordinator


@callback
def async_follow_playback(hass: HomeAssistant, coordinator: PairCoordinator) -> CALLBACK_TYPE:
    """Listen to the pair's followed players; returns the call that stops listening."""

    @callback
    def changed(event: Event[EventStateChangedData]) -> None:
        old, new = event.data["old_state"], event.data["new_state"]
        # A player that appears (Home Assistant starting) finishes nothing, but what it plays
        # is scrobbled from there on.
        before = player_state(old) if old is not None else PlayerState("off")
        after = player_state(new) if new is not None else PlayerState("off")
        now = dt_util.utcnow()
        play = finished_play(before, after, now) if old is not None else None
        calls = scrobble_calls(before, after, now) if coordinator.pair.scrobbles else ()
        if play is None and not calls:
            return
        entity_id = event.data["entity_id"]
        coordinator.config_entry.async_create_background_task(
            hass,
            coordinator.async_playback_changed(entity_id, calls, play),
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


class LiveScrobbles:
    """A pair's live scrobbles to its target, call after call in the order the changes came.

    Holds the item each followed player plays, found on the server once per play (at its first
    call) and forgotten at its stop. Asking the server takes turns with the runs (the run lock).
    """

    def __init__(self, coordinator: PairCoordinator) -> None:
        """Scrobble for `coordinator`'s pair."""
        self._coordinator = coordinator
        self._lock = asyncio.Lock()  # FIFO: the calls go out in the order they were asked for
        self._items: dict[str, tuple[str, MediaItem | None]] = {}  # entity -> (content, item)

    async def send(self, entity_id: str, calls: Sequence[ScrobbleCall]) -> None:
        """Send `calls` for a change of `entity_id`; a failure is logged, never raised."""
        async with self._lock:
            for call in calls:
                await self._send(entity_id, call)

    async def _send(self, entity_id: str, call: ScrobbleCall) -> None:
        coordinator = self._coordinator
        source, target = coordinator.accounts()
        if source is None or target is None:
            LOGGER.debug("%s: %s not scrobbled: an account is not loaded", entity_id, call.label)
            return
        tracker, server = target.provider, source.provider
        if not isinstance(tracker, Scrobbler) or not isinstance(server, ItemFinder):
            return
        runtime = coordinator.config_entry.runtime_data
        try:
            item = await self._item(entity_id, call.content_id, server, runtime.run_lock)
            if item is None:
                LOGGER.info(
                    "%s: %s is not in the library of %s: not scrobbled",
                    coordinator.subentry.title, call.label, server.name,
                )  # fmt: skip
                return
            done = await tracker.scrobble(call.action, item, call.progress)
        except ProviderError as err:
            if isinstance(err, AuthError):
                coordinator.error_subject.on_refused(err)
            LOGGER.warning("%s", self._failure(call, tracker.name, err))
            return
        finally:
            if call.action is ScrobbleAction.STOP:
                self._items.pop(entity_id, None)  # the play is over: the next one is found anew
        LOGGER.info(
            "%s: %s %s on %s at %.0f %% (%s)",
            coordinator.subentry.title, call.label, call.action.value, tracker.name,
            call.progress, done.action or "no answer",
        )  # fmt: skip
        if done.recorded_play:
            # The target holds this play now: the pair's records say so before the finished
            # play's targeted run plans, so neither it nor a later run sends it again.
            async with runtime.run_lock:
                await runtime.pipeline.record_scrobbled_play(
                    coordinator.pair_id, tracker, item, done.recorded_at or dt_util.utcnow()
                )

    async def _item(
        self, entity_id: str, content_id: str, server: ItemFinder, lock: asyncio.Lock
    ) -> MediaItem | None:
        kept = self._items.get(entity_id)
        if kept is not None and kept[0] == content_id:
            return kept[1]
        async with lock:
            item = await server.find_item(content_id)
        self._items[entity_id] = (content_id, item)
        return item

    def _failure(self, call: ScrobbleCall, tracker: str, err: ProviderError) -> str:
        """Why a call failed, in the user's words (the exceptions' translations)."""
        return str(
            HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="scrobble_failed",
                translation_placeholders={
                    "pair": self._coordinator.subentry.title,
                    "action": call.action.value,
                    "title": call.label,
                    "tracker": tracker,
                    "error": str(err),
                },
            )
        )


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
