"""Base entities: a pair's entities sit on the pair's device, an account's on its own."""

from homeassistant.config_entries import ConfigEntry
from homeassistant.helpers.device_registry import DeviceEntryType, DeviceInfo
from homeassistant.helpers.update_coordinator import CoordinatorEntity

from .account_coordinator import AccountCoordinator
from .const import CONF_KIND, DOMAIN
from .coordinator import PairCoordinator

MANUFACTURER = "CrossWatch"
SERVICE_NAMES = {
    "plex": "Plex",
    "jellyfin": "Jellyfin",
    "emby": "Emby",
    "trakt": "Trakt",
    "simkl": "SIMKL",
    "anilist": "AniList",
}


class PairEntity(CoordinatorEntity[PairCoordinator]):
    """An entity of one sync pair."""

    _attr_has_entity_name = True

    def __init__(self, coordinator: PairCoordinator, key: str) -> None:
        """Name the entity after its key, on the pair's device."""
        super().__init__(coordinator)
        self._attr_unique_id = f"{coordinator.pair_id}_{key}"
        self._attr_device_info = DeviceInfo(
            identifiers={(DOMAIN, coordinator.pair_id)},
            name=coordinator.subentry.title,
            manufacturer=MANUFACTURER,
            model="Sync pair",
            entry_type=DeviceEntryType.SERVICE,
        )


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


class AccountEntity(CoordinatorEntity[AccountCoordinator]):
    """An entity of one provider account."""

    _attr_has_entity_name = True

    def __init__(self, coordinator: AccountCoordinator, key: str) -> None:
        """Name the entity after its key, on the account's device."""
        super().__init__(coordinator)
        entry = coordinator.config_entry
        self._attr_unique_id = f"{entry.unique_id}_{key}"
        self._attr_device_info = account_device(entry)
