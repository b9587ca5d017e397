"""Binary sensors of a pair: a run is under way; the pair needs the user's attention."""

from collections.abc import Callable
from dataclasses import dataclass

# Home Assistant moved the device classes to binary_sensor.const after 2026.3; the package
# still re-exports them, without saying so to type checkers.
from homeassistant.components.binary_sensor import (  # type: ignore[attr-defined,unused-ignore]
    BinarySensorDeviceClass,
    BinarySensorEntity,
    BinarySensorEntityDescription,
)
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .coordinator import PairCoordinator
from .entity import PairEntity
from .runtime import SyncConfigEntry

PARALLEL_UPDATES = 0


@dataclass(frozen=True, kw_only=True)
class PairBinarySensorDescription(BinarySensorEntityDescription):
    """A pair binary sensor and how it reads the coordinator."""

    is_on_fn: Callable[[PairCoordinator], bool]


PAIR_BINARY_SENSORS = (
    PairBinarySensorDescription(
        key="running",
        translation_key="running",
        device_class=BinarySensorDeviceClass.RUNNING,
        is_on_fn=lambda c: c.running,
    ),
    PairBinarySensorDescription(
        key="needs_attention",
        translation_key="needs_attention",
        device_class=BinarySensorDeviceClass.PROBLEM,
        is_on_fn=lambda c: c.data is not None and c.data.needs_attention,
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: SyncConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add each pair's binary sensors (only the sync entry has this platform)."""
    for subentry_id, coordinator in entry.runtime_data.coordinators.items():
        async_add_entities(
            [PairBinarySensor(coordinator, d) for d in PAIR_BINARY_SENSORS],
            config_subentry_id=subentry_id,
        )


class PairBinarySensor(PairEntity, BinarySensorEntity):
    """Running, or needs attention."""

    entity_description: PairBinarySensorDescription

    @property
    def available(self) -> bool:
        """Running is known even while the last run failed."""
        return self.entity_description.key == "running" or super().available

    @property
    def is_on(self) -> bool:
        """Whether the condition holds."""
        return self.entity_description.is_on_fn(self.coordinator)
