"""Buttons of a pair: sync now, and preview (a dry run whose plan the get_plan action shows)."""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from homeassistant.components.button import ButtonEntity, ButtonEntityDescription
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .coordinator import PairCoordinator
from .entity import PairEntity
from .errors import Boundary, translate_errors
from .runtime import SyncConfigEntry

PARALLEL_UPDATES = 1


async def _sync_now(coordinator: PairCoordinator) -> None:
    coordinator.async_set_updated_data(await coordinator.async_run(fresh=True))


async def _preview(coordinator: PairCoordinator) -> None:
    await coordinator.async_run(dry_run=True, fresh=True)


@dataclass(frozen=True, kw_only=True)
class PairButtonDescription(ButtonEntityDescription):
    """A pair button and what pressing it does."""

    press_fn: Callable[[PairCoordinator], Awaitable[None]]


PAIR_BUTTONS = (
    PairButtonDescription(key="sync_now", translation_key="sync_now", press_fn=_sync_now),
    PairButtonDescription(key="preview", translation_key="preview", press_fn=_preview),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: SyncConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add each pair's buttons (only the sync entry has this platform)."""
    for subentry_id, coordinator in entry.runtime_data.coordinators.items():
        async_add_entities(
            [PairButton(coordinator, d) for d in PAIR_BUTTONS], config_subentry_id=subentry_id
        )


class PairButton(PairEntity, ButtonEntity):
    """Sync now, or preview."""

    entity_description: PairButtonDescription

    @property
    def available(self) -> bool:
        """A button works even when the last run failed: pressing it is how to retry."""
        return True

    @translate_errors(Boundary.ACTION)
    async def async_press(self) -> None:
        """Do what the button says."""
        await self.entity_description.press_fn(self.coordinator)
