"""The upcoming-episodes calendar of a tracker account (Trakt, SIMKL, AniList).

Thin: the episodes come from the account's `UpcomingCoordinator`, read on its own schedule and
kept across restarts. Asking the calendar for a range never asks the service: it answers from
the last read, whatever part of the range that read covered.
"""

from datetime import datetime

from homeassistant.components.calendar import (
    CalendarEntity,
    CalendarEntityDescription,
    CalendarEvent,
)
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.util import dt as dt_util

from .entity import CrossWatchEntity
from .runtime import AccountConfigEntry, SyncConfigEntry, is_sync_entry
from .upcoming import UpcomingEpisode
from .upcoming_coordinator import UpcomingCoordinator

PARALLEL_UPDATES = 0  # coordinator entities: nothing to poll

UPCOMING = CalendarEntityDescription(key="upcoming_episodes", translation_key="upcoming_episodes")


async def async_setup_entry(
    hass: HomeAssistant,
    entry: SyncConfigEntry | AccountConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """A tracker account's calendar; other accounts have none."""
    if is_sync_entry(entry) or entry.runtime_data.upcoming is None:
        return
    async_add_entities([UpcomingCalendar(entry.runtime_data.upcoming, UPCOMING)])


def calendar_event(episode: UpcomingEpisode) -> CalendarEvent:
    """An episode as a calendar event (a timed one, or an all-day one without a time)."""
    return CalendarEvent(
        start=episode.start,
        end=episode.end,
        summary=episode.summary,
        description=episode.description,
        uid=episode.uid,
    )


class UpcomingCalendar(CrossWatchEntity[UpcomingCoordinator], CalendarEntity):
    """The episodes of the account's shows that air in the coming weeks."""

    @property
    def available(self) -> bool:
        """Available once there is a read to show, even when the latest one failed."""
        return self.coordinator.data is not None

    @property
    def event(self) -> CalendarEvent | None:
        """The episode airing now, or else the next one to air."""
        now = dt_util.now()
        for event in self._events():
            if event.end_datetime_local > now:
                return event
        return None

    async def async_get_events(
        self, hass: HomeAssistant, start_date: datetime, end_date: datetime
    ) -> list[CalendarEvent]:
        """The kept episodes that overlap the range (never a read of the service)."""
        return [
            event
            for event in self._events()
            if event.start_datetime_local < end_date and event.end_datetime_local > start_date
        ]

    def _events(self) -> list[CalendarEvent]:
        read = self.coordinator.data
        return [calendar_event(episode) for episode in read.episodes] if read else []
