"""The run event entity of a pair: one event per finished run, with its counts."""

from homeassistant.components.event import EventEntity, EventEntityDescription
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .coordinator import PairStatus
from .entity import PairEntity
from .runtime import SyncConfigEntry

PARALLEL_UPDATES = 0

EVENT_TYPES = {
    PairStatus.SUCCESS: "completed",
    PairStatus.PARTIAL: "partial",
    PairStatus.FAILED: "failed",
    PairStatus.HELD: "held",
    PairStatus.UNRESOLVED: "unresolved",
}


RUN_EVENT = EventEntityDescription(
    key="run", translation_key="run", event_types=list(EVENT_TYPES.values())
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: SyncConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add each pair's run event entity (only the sync entry has this platform)."""
    for subentry_id, coordinator in entry.runtime_data.coordinators.items():
        async_add_entities([PairRunEvent(coordinator, RUN_EVENT)], config_subentry_id=subentry_id)


class PairRunEvent(PairEntity, EventEntity):
    """Fires completed, partial, failed, held or unresolved after each run of the pair."""

    _last_run_id: int | None = None  # the run last fired (or current when added)

    @property
    def available(self) -> bool:
        """Events stay available; a failed run is itself an event."""
        return True

    async def async_added_to_hass(self) -> None:
        """Do not fire for the run that was current when the entity was added."""
        await super().async_added_to_hass()
        result = self.coordinator.data.result if self.coordinator.data else None
        self._last_run_id = result.run_id if result else None

    @callback
    def _handle_coordinator_update(self) -> None:
        state = self.coordinator.data
        result = state.result if state else None
        if result is not None and result.run_id != self._last_run_id and not result.dry_run:
            self._last_run_id = result.run_id
            event_type = EVENT_TYPES.get(state.status)
            if event_type is not None:
                features = result.summary()["features"]
                self._trigger_event(
                    event_type,
                    {
                        "run_id": result.run_id,
                        "features": features,
                        "held": state.held,
                        "unresolved": state.unresolved,
                        "errors": len(result.errors),
                        "incomplete_reads": [r.as_dict() for r in result.incomplete],
                        # What it changed: counts, and the first titles with their service.
                        "changes": result.changes.as_dict(),
                    },
                )
        super()._handle_coordinator_update()
