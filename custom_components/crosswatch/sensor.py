"""Sensors: what a pair planned and did, and what an account holds."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

from homeassistant.components.sensor import (
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator

from .account_coordinator import AccountCoordinator, AccountState
from .coordinator import PairState, PairStatus
from .engine.payloads import Feature
from .engine.plan import Action
from .entity import CrossWatchEntity
from .runtime import AccountConfigEntry, SyncConfigEntry, is_sync_entry

PARALLEL_UPDATES = 0  # coordinator entities: nothing to poll


def _planned(state: PairState, action: Action) -> int | None:
    plan = state.latest_plan
    if plan is None:
        return None
    return sum(1 for op in plan.plan.operations if op.action is action)


def _planned_by_feature(state: PairState, action: Action) -> dict[str, int]:
    plan = state.latest_plan
    if plan is None:
        return {}
    counts = dict.fromkeys((f.value for f in plan.features), 0)
    for op in plan.plan.operations:
        if op.action is action:
            counts[op.feature.value] = counts.get(op.feature.value, 0) + 1
    return counts


type SensorValue = int | str | datetime | None


def _last_synced_title(state: PairState) -> str | None:
    """The first title the latest run that changed something wrote."""
    synced = state.last_synced
    return synced.changes.titles[0].title if synced is not None else None


def _last_synced_attributes(state: PairState) -> dict[str, Any]:
    """When, how many per action, and the titles named (each with its action and service)."""
    synced = state.last_synced
    if synced is None:
        return {}
    changes = synced.changes.as_dict()
    return {"synced_at": synced.at.isoformat(), **changes}


@dataclass(frozen=True, kw_only=True)
class CrossWatchSensorDescription[StateT](SensorEntityDescription):
    """A sensor: its value and (small) attributes from its coordinator's state."""

    value_fn: Callable[[StateT], SensorValue]
    attributes_fn: Callable[[StateT], dict[str, Any]] = lambda _: {}
    # False: the state cannot tell the value (a service that cannot count it), not "unknown".
    available_fn: Callable[[StateT], bool] = lambda _: True


type PairSensorDescription = CrossWatchSensorDescription[PairState]


PAIR_SENSORS: tuple[PairSensorDescription, ...] = (
    *(
        CrossWatchSensorDescription(
            key=f"planned_{name}",
            translation_key=f"planned_{name}",
            state_class=SensorStateClass.MEASUREMENT,
            value_fn=partial(_planned, action=action),
            attributes_fn=partial(_planned_by_feature, action=action),
        )
        for name, action in (
            ("adds", Action.ADD),
            ("removes", Action.REMOVE),
            ("updates", Action.UPDATE),
        )
    ),
    CrossWatchSensorDescription(
        key="last_run",
        translation_key="last_run",
        device_class=SensorDeviceClass.TIMESTAMP,
        value_fn=lambda s: s.last_run,
    ),
    CrossWatchSensorDescription(
        key="last_result",
        translation_key="last_result",
        device_class=SensorDeviceClass.ENUM,
        options=[status.value for status in PairStatus],
        value_fn=lambda s: s.status.value,
        attributes_fn=lambda s: {
            "errors": list(s.result.errors[:5]) if s.result else [],
            "incomplete_reads": [r.as_dict() for r in s.result.incomplete] if s.result else [],
            "duration": round(s.result.duration, 1) if s.result else None,
            "waiting_for": list(s.waiting_for),
        },
    ),
    CrossWatchSensorDescription(
        key="last_synced",
        translation_key="last_synced",
        value_fn=_last_synced_title,
        attributes_fn=_last_synced_attributes,
    ),
    CrossWatchSensorDescription(
        key="held",
        translation_key="held",
        state_class=SensorStateClass.MEASUREMENT,
        value_fn=lambda s: s.held,
    ),
    CrossWatchSensorDescription(
        key="unresolved",
        translation_key="unresolved",
        state_class=SensorStateClass.MEASUREMENT,
        value_fn=lambda s: s.unresolved,
    ),
    CrossWatchSensorDescription(
        key="phantoms",
        translation_key="phantoms",
        state_class=SensorStateClass.MEASUREMENT,
        value_fn=lambda s: s.phantoms,
    ),
)


def _items(state: AccountState, feature: Feature) -> int | None:
    return state.count(feature)


def _countable(state: AccountState, feature: Feature) -> bool:
    return state.countable(feature)


def _quota_attributes(state: AccountState) -> dict[str, Any]:
    quota = state.rate_limit
    if quota is None:
        return {}
    return {
        "limit": quota.limit,
        "resets_at": quota.resets_at.isoformat() if quota.resets_at else None,
    }


@dataclass(frozen=True, kw_only=True)
class AccountSensorDescription(CrossWatchSensorDescription[AccountState]):
    """An account sensor, which some services' accounts lack (`exists_fn`)."""

    exists_fn: Callable[[AccountCoordinator], bool] = lambda _: True


ACCOUNT_SENSORS: tuple[AccountSensorDescription, ...] = (
    *(
        AccountSensorDescription(
            key=f"{feature.value}_items",
            translation_key=f"{feature.value}_items",
            state_class=SensorStateClass.MEASUREMENT,
            value_fn=partial(_items, feature=feature),
            available_fn=partial(_countable, feature=feature),
        )
        for feature in Feature
    ),
    AccountSensorDescription(
        key="api_health",
        translation_key="api_health",
        device_class=SensorDeviceClass.ENUM,
        options=["ok", "unreachable"],
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda s: "ok" if s.reachable else "unreachable",
    ),
    AccountSensorDescription(
        key="requests",
        translation_key="requests",
        state_class=SensorStateClass.TOTAL_INCREASING,
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=False,
        value_fn=lambda s: s.requests_made,
    ),
    AccountSensorDescription(
        # What the service last reported, never an estimate: only for services that report it.
        key="rate_limit_remaining",
        translation_key="rate_limit_remaining",
        state_class=SensorStateClass.MEASUREMENT,
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=False,
        value_fn=lambda s: s.rate_limit.remaining if s.rate_limit else None,
        attributes_fn=_quota_attributes,
        exists_fn=lambda coordinator: coordinator.reports_quota,
    ),
    AccountSensorDescription(
        key="token_expiry",
        translation_key="token_expiry",
        device_class=SensorDeviceClass.TIMESTAMP,
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda s: s.token_expires_at,
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: SyncConfigEntry | AccountConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the pair sensors (sync entry) or the account sensors (account entry)."""
    if is_sync_entry(entry):
        for subentry_id, coordinator in entry.runtime_data.coordinators.items():
            async_add_entities(
                [CrossWatchSensor(coordinator, description) for description in PAIR_SENSORS],
                config_subentry_id=subentry_id,
            )
        return
    account = entry.runtime_data.coordinator
    async_add_entities(
        CrossWatchSensor(account, description)
        for description in ACCOUNT_SENSORS
        if description.exists_fn(account)
    )


class CrossWatchSensor[StateT](CrossWatchEntity[DataUpdateCoordinator[StateT]], SensorEntity):
    """A number or state of one pair or one account."""

    entity_description: CrossWatchSensorDescription[StateT]

    @property
    def available(self) -> bool:
        """Unavailable with its coordinator, or when the state cannot tell the value."""
        return super().available and self.entity_description.available_fn(self.coordinator.data)

    @property
    def native_value(self) -> SensorValue:
        """The sensor's value."""
        return self.entity_description.value_fn(self.coordinator.data)

    @property
    def extra_state_attributes(self) -> dict[str, Any]:
        """Small attributes only: never item lists (the recorder drops large ones)."""
        return self.entity_description.attributes_fn(self.coordinator.data)
