"""The calendar's reads: on their own schedule, kept per account across restarts.

Each tracker account reads its upcoming episodes every `UPCOMING_INTERVAL` (hours: the episodes
of a week hardly move, and every read spends the service's quota), through the account's own
client, so the client's pacing and rate limits hold for the calendar as for a sync.

What was read is kept in a `Store` of the account's own (`.storage/crosswatch.upcoming.<entry
id>`), never in the sync entry's store (the account side never reads it). At setup a kept read
is shown at once; the service is asked only when the kept read is older than the interval, and
otherwise when the rest of the interval has passed.

A failed read changes nothing that was kept: the calendar keeps showing the last read (it stays
available when it has one), and the failure is logged once with its translated message.
"""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Final

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.event import async_call_later
from homeassistant.helpers.storage import Store
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator, UpdateFailed
from homeassistant.util import dt as dt_util

from .clients.errors import CrossWatchClientError
from .const import DOMAIN, LOGGER
from .upcoming import STORED_VERSION, Upcoming, UpcomingReader

UPCOMING_INTERVAL: Final = timedelta(hours=6)
# The window read: from the start of yesterday (UTC), so that an episode airing now is still
# there, for 33 days (Trakt's most in one request; SIMKL's files hold the next 33 days).
WINDOW_DAYS: Final = 33


def store_key(entry_id: str) -> str:
    """The account's cache, under .storage."""
    return f"{DOMAIN}.upcoming.{entry_id}"


def upcoming_store(hass: HomeAssistant, entry_id: str) -> Store[dict[str, object]]:
    """The account's cache of its last read."""
    return Store(hass, STORED_VERSION, store_key(entry_id))


class UpcomingCoordinator(DataUpdateCoordinator[Upcoming]):
    """Reads an account's upcoming episodes every few hours and keeps the last read."""

    config_entry: ConfigEntry

    def __init__(self, hass: HomeAssistant, entry: ConfigEntry, reader: UpcomingReader) -> None:
        """Read through `reader` for `entry`."""
        super().__init__(
            hass,
            LOGGER,
            config_entry=entry,
            name=f"CrossWatch {entry.title} upcoming episodes",
            update_interval=UPCOMING_INTERVAL,
            always_update=False,
        )
        self._reader = reader
        self._store = upcoming_store(hass, entry.entry_id)

    async def async_start(self) -> None:
        """Show the kept read at once; ask the service when it is due (in the background)."""
        kept = await self._async_load_kept()
        if kept is not None:
            self.async_set_updated_data(kept)
        age = dt_util.utcnow() - kept.fetched_at if kept is not None else None
        if age is not None and timedelta(0) <= age < UPCOMING_INTERVAL:
            due = (UPCOMING_INTERVAL - age).total_seconds()
            cancel: Callable[[], None] = async_call_later(self.hass, due, self._async_due)
            self.config_entry.async_on_unload(cancel)
            return
        self.config_entry.async_create_background_task(
            self.hass, self.async_refresh(), f"{DOMAIN} upcoming {self.config_entry.entry_id}"
        )

    @callback
    def _async_due(self, _now: datetime) -> None:
        self.config_entry.async_create_background_task(
            self.hass, self.async_refresh(), f"{DOMAIN} upcoming {self.config_entry.entry_id}"
        )

    async def _async_load_kept(self) -> Upcoming | None:
        raw = await self._store.async_load()
        if raw is None:
            return None
        try:
            return Upcoming.from_stored(raw)
        except (KeyError, TypeError, ValueError) as err:
            LOGGER.warning(
                "The kept upcoming episodes of %s are unreadable (%s); reading them again",
                self.config_entry.title,
                err,
            )
            return None

    async def _async_update_data(self) -> Upcoming:
        now = dt_util.utcnow()
        start = datetime(now.year, now.month, now.day, tzinfo=UTC) - timedelta(days=1)
        end = start + timedelta(days=WINDOW_DAYS)
        try:
            episodes = await self._reader.read(start, end)
        except CrossWatchClientError as err:
            raise UpdateFailed(
                translation_domain=DOMAIN,
                translation_key="upcoming_failed",
                translation_placeholders={"account": self.config_entry.title, "error": str(err)},
            ) from err
        read = Upcoming(now, start, end, episodes)
        await self._store.async_save(read.as_stored())
        return read
