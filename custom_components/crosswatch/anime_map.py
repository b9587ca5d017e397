"""The anime id mapping list, switched on: AniList items match Trakt, Plex, Jellyfin and Emby.

AniList knows an anime by its AniList and MyAnimeList ids; the others by TVDB, TMDB or IMDb.
The public mapping list (providers/anime_lists.py) links them, and the engine's ID backfill
lends an item the ids the other side writes by (engine/backfill.py).

- It is loaded once a pair with an AniList account first runs (that run waits for it), and
  the pipeline lends ids from it to every pair from then on: only items that carry none of the
  ids every service shares are looked up, so other pairs pay nothing for it.
- `load_id_map` keeps the parsed list in the state store: a restart reads it from there, and
  asks the source again only once the copy is a week old (conditionally, by its ETag).
  Downloading never holds the store; parsing and indexing run in the executor.
- When the list cannot be had (the host is down, the body is not the list), a repair says so,
  the pairs go on with the copy in hand or with the ids the services give, and the next try
  comes in a few hours. The repair clears itself once a download succeeds.
- The URL is an option of the sync entry (`CONF_ANIME_MAP_URL`); changing it reloads the entry,
  and a copy is cached per URL, so another URL never serves the old list.
"""

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import partial
from typing import Final

from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.event import async_track_point_in_utc_time
from homeassistant.util import dt as dt_util

from .const import CONF_ANIME_MAP_URL, DOMAIN, LOGGER, Kind
from .engine.backfill import REFRESH_EVERY, load_id_map
from .pairs import PairConfig
from .providers.anime_lists import DEFAULT_URL, AnimeListLoader
from .runtime import StoreClosedError, SyncConfigEntry

ISSUE_ID: Final = "anime_map_unavailable"
# After a failed download: soon enough that a short outage costs a day of nothing, rarely
# enough that a host that is down for good sees four requests a day from us.
RETRY_AFTER: Final = timedelta(hours=6)


def anime_map_url(entry: SyncConfigEntry) -> str:
    """Where the list is downloaded from: the sync entry's option, else Fribb's list."""
    return str(entry.options.get(CONF_ANIME_MAP_URL) or DEFAULT_URL)


def involves_anilist(pair: PairConfig) -> bool:
    """Whether one side of a pair is an AniList account (by its entry's unique id)."""
    prefix = f"{Kind.ANILIST.value}:"
    return pair.source.startswith(prefix) or pair.target.startswith(prefix)


class AnimeMap:
    """Loads the list into the sync entry's pipeline when a pair needs it, then keeps it fresh."""

    def __init__(self, hass: HomeAssistant, entry: SyncConfigEntry, url: str) -> None:
        """The list at `url`, for the pipeline of `entry` (loaded: its runtime data is set)."""
        self._hass = hass
        self._entry = entry
        self.url = url
        self._loader = AnimeListLoader(
            async_get_clientsession(hass), run_blocking=self._in_executor, url=url
        )
        self._first: asyncio.Task[None] | None = None
        self._missing = False  # whether a load found neither the list nor a copy of it
        self._next: CALLBACK_TYPE | None = None
        entry.async_on_unload(self._cancel_next)

    async def async_ready(self) -> None:
        """Load the list unless it was loaded already (the first AniList pair's run waits)."""
        if self._first is None:
            self._first = self._entry.async_create_background_task(
                self._hass, self.async_load(), f"{DOMAIN} anime id map"
            )
        # A run cancelled while it waits leaves the load to finish for the next one; a load that
        # went wrong (logged as the task's error) leaves the runs to the ids the services give.
        await asyncio.wait([self._first])

    async def async_load(self) -> None:
        """Put the cached list in use, refreshed from its source when a week old; then plan."""
        runtime = self._entry.runtime_data

        async def use_store[T](function: Callable[[], T]) -> T:
            # Each store call alone, never beside a run; the download holds nothing.
            return await runtime.async_use_store(self._hass, function)

        now = dt_util.utcnow()
        try:
            status = await load_id_map(self._loader, runtime.store, run_blocking=use_store, now=now)
        except StoreClosedError:
            return  # the sync entry is unloading
        if status.id_map is not None:
            runtime.pipeline.use_id_map(status.id_map)
            if self._missing:
                # What could not be written without the list may be writable now: retry it.
                self._missing = False
                try:
                    await self._async_retry_unresolved(now)
                except StoreClosedError:
                    return
        else:
            self._missing = True
        if status.warning is None:
            ir.async_delete_issue(self._hass, DOMAIN, ISSUE_ID)
            self._plan((status.checked_at or now) + REFRESH_EVERY)
            LOGGER.debug(
                "The anime id map from %s holds %s titles", self.url, len(status.id_map or ())
            )
            return
        LOGGER.warning("%s", status.warning)
        kept = status.id_map is not None  # an older copy stays in use
        ir.async_create_issue(
            self._hass,
            DOMAIN,
            ISSUE_ID,
            is_fixable=False,
            severity=ir.IssueSeverity.WARNING,
            translation_key="anime_map_stale" if kept else "anime_map_unavailable",
            translation_placeholders={"url": self.url, "error": status.warning},
        )
        self._plan(now + RETRY_AFTER)

    async def _async_retry_unresolved(self, now: datetime) -> None:
        """Make the unresolved items of every pair with an AniList account due now."""
        runtime = self._entry.runtime_data
        for pair_id, coordinator in runtime.coordinators.items():
            if involves_anilist(coordinator.pair):
                await runtime.async_use_store(
                    self._hass, partial(runtime.store.retry_unresolved, pair_id, now)
                )

    @callback
    def _plan(self, when: datetime) -> None:
        """Load again at `when` (while the entry stays loaded)."""
        self._cancel_next()

        @callback
        def load_again(_: datetime) -> None:
            self._next = None
            self._entry.async_create_background_task(
                self._hass, self.async_load(), f"{DOMAIN} anime id map refresh"
            )

        self._next = async_track_point_in_utc_time(self._hass, load_again, when)

    @callback
    def _cancel_next(self) -> None:
        if self._next is not None:
            self._next()
            self._next = None

    async def _in_executor[T](self, function: Callable[[], T]) -> T:
        return await self._hass.async_add_executor_job(function)


@callback
def async_forget_anime_map_issue(hass: HomeAssistant) -> None:
    """No pair needs the list any more: its repair, if any, no longer applies."""
    ir.async_delete_issue(hass, DOMAIN, ISSUE_ID)
