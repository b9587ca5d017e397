"""The base entity: described by an entity description, on its pair's or its account's device.

A pair's entities sit on the pair's device, an account's on the account's own. Platforms pass
the coordinator and a description; the base names the entity (unique id and device) from them.
"""

from dataclasses import dataclass
from typing import Any

from homeassistant.config_entries import ConfigEntry
from homeassistant.helpers.device_registry import DeviceEntryType, DeviceInfo
from homeassistant.helpers.entity import EntityDescription
from homeassistant.helpers.update_coordinator import CoordinatorEntity, DataUpdateCoordinator

from .account_coordinator import AccountCoordinator
from .const import CONF_KIND, DOMAIN
from .coordinator import PairCoordinator
from .errors import ErrorSubject
from .upcoming_coordinator import UpcomingCoordinator

MANUFACTURER = "CrossWatch"
SERVICE_NAMES = {
    "plex": "Plex",
    "jellyfin": "Jellyfin",
    "emby": "Emby",
    "trakt": "Trakt",
    "simkl": "SIMKL",
    "anilist": "AniList",
    "mdblist": "MDBList",
}


@dataclass(frozen=True, slots=True)
class _Owner:
    """What an entity belongs to: the prefix of its unique id, and its device."""

    unique_id: str
    device: DeviceInfo


def account_device(entry: ConfigEntry) -> DeviceInfo:
    """The service device of an account entry."""
    kind = str(entry.data.get(CONF_KIND, ""))
    return DeviceInfo(
        identifiers={(DOMAIN, str(entry.unique_id))},
        name=entry.title,
        manufacturer=SERVICE_NAMES.get(kind, kind),
        model="Account",
        entry_type=DeviceEntryType.SERVICE,
    )


def _owner(coordinator: DataUpdateCoordinator[Any]) -> _Owner:
    if isinstance(coordinator, PairCoordinator):
        return _Owner(
            coordinator.pair_id,
            DeviceInfo(
                identifiers={(DOMAIN, coordinator.pair_id)},
                name=coordinator.subentry.title,
                manufacturer=MANUFACTURER,
                model="Sync pair",
                entry_type=DeviceEntryType.SERVICE,
            ),
        )
    if isinstance(coordinator, AccountCoordinator | UpcomingCoordinator):
        entry = coordinator.config_entry
        return _Owner(str(entry.unique_id), account_device(entry))
    raise TypeError(f"no CrossWatch device owns the entities of {coordinator.name}")


class CrossWatchEntity[CoordinatorT: DataUpdateCoordinator[Any]](CoordinatorEntity[CoordinatorT]):
    """An entity of a pair or of an account, named by its description's key."""

    _attr_has_entity_name = True

    def __init__(self, coordinator: CoordinatorT, description: EntityDescription) -> None:
        """Describe the entity, on the device of the pair or account it belongs to."""
        super().__init__(coordinator)
        self.entity_description = description
        owner = _owner(coordinator)
        self._attr_unique_id = f"{owner.unique_id}_{description.key}"
        self._attr_device_info = owner.device


class PairEntity(CrossWatchEntity[PairCoordinator]):
    """An entity of one sync pair; its actions' errors name the pair."""

    @property
    def error_subject(self) -> ErrorSubject:
        """Who an action's failure names: the pair (see `translate_errors`)."""
        return self.coordinator.error_subject
