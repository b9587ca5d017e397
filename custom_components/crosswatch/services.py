"""CrossWatch actions: sync, preview, decide on held removals, fix one entry, restore, tidy up."""

from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from functools import partial
from typing import Any

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import (
    HomeAssistant,
    ServiceCall,
    ServiceResponse,
    SupportsResponse,
    callback,
)
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import config_validation as cv, device_registry as dr
from homeassistant.helpers.service import async_register_admin_service
from homeassistant.util import dt as dt_util
import voluptuous as vol

from .backups import BackupListing
from .const import DOMAIN
from .coordinator import PairCoordinator, PairState
from .engine.forgetting import ItemMatch
from .engine.payloads import Feature
from .engine.plan import PairSide
from .engine.provider import WriteOutcome
from .engine.records import PendingWrite
from .engine.restore import BackupUnreadableError
from .errors import Boundary, translate_errors
from .removal import ItemRemoval
from .runtime import AccountConfigEntry, AccountRuntime, is_account_entry, loaded_sync_runtime

ATTR_PAIR = "pair"
ATTR_ACCOUNT = "account"
ATTR_FEATURES = "features"
ATTR_FEATURE = "feature"
ATTR_DRY_RUN = "dry_run"
ATTR_LIMIT = "limit"
ATTR_ITEM = "item"
ATTR_SIDE = "side"
# How the user names a pair's sides, and how the store does.
SIDES = {"source": PairSide.A.value, "target": PairSide.B.value}

FEATURES = vol.All(cv.ensure_list, [vol.In([f.value for f in Feature])])
PAIR_SCHEMA = vol.Schema({vol.Required(ATTR_PAIR): cv.string})
SYNC_SCHEMA = vol.Schema(
    {
        vol.Optional(ATTR_PAIR): cv.string,
        vol.Optional(ATTR_FEATURES): FEATURES,
        vol.Optional(ATTR_DRY_RUN): cv.boolean,
    }
)
PLAN_SCHEMA = vol.Schema(
    {
        vol.Required(ATTR_PAIR): cv.string,
        vol.Optional(ATTR_LIMIT, default=100): vol.All(vol.Coerce(int), vol.Range(1, 1000)),
    }
)
FORGET_SCHEMA = vol.Schema(
    {
        vol.Required(ATTR_PAIR): cv.string,
        vol.Required(ATTR_ITEM): cv.string,
        vol.Optional(ATTR_SIDE): vol.In(list(SIDES)),
        vol.Optional(ATTR_FEATURE): vol.In([f.value for f in Feature]),
    }
)
ATTR_BACKUP = "backup"
RESTORE_SCHEMA = vol.Schema(
    {
        vol.Required(ATTR_PAIR): cv.string,
        vol.Required(ATTR_SIDE): vol.In(list(SIDES)),
        vol.Optional(ATTR_BACKUP): cv.string,
        vol.Optional(ATTR_FEATURE): vol.In([f.value for f in Feature]),
        vol.Optional(ATTR_DRY_RUN, default=True): cv.boolean,
        vol.Optional(ATTR_LIMIT, default=25): vol.All(vol.Coerce(int), vol.Range(1, 1000)),
    }
)
REMOVE_SCHEMA = vol.Schema(
    {
        vol.Required(ATTR_ACCOUNT): cv.string,
        vol.Required(ATTR_FEATURE): vol.In([f.value for f in Feature]),
        vol.Required(ATTR_ITEM): cv.string,
    }
)
BUST_SCHEMA = vol.Schema(
    {
        vol.Required(ATTR_ACCOUNT): cv.string,
        vol.Optional(ATTR_FEATURE): vol.In([f.value for f in Feature]),
    }
)


def _coordinators(hass: HomeAssistant) -> list[PairCoordinator]:
    sync = loaded_sync_runtime(hass)
    return list(sync.coordinators.values()) if sync is not None else []


def _pair(hass: HomeAssistant, device_id: str) -> PairCoordinator:
    """The pair a device (the pair's own device) stands for."""
    device = dr.async_get(hass).async_get(device_id)
    for coordinator in _coordinators(hass):
        if device is not None and (DOMAIN, coordinator.pair_id) in device.identifiers:
            return coordinator
    raise ServiceValidationError(
        translation_domain=DOMAIN,
        translation_key="unknown_pair",
        translation_placeholders={"pair": device_id},
    )


def _account(hass: HomeAssistant, device_id: str) -> AccountRuntime:
    return _account_entry(hass, device_id).runtime_data


def _account_entry(hass: HomeAssistant, device_id: str) -> AccountConfigEntry:
    """The loaded account entry a device (the account's own device) stands for."""
    device = dr.async_get(hass).async_get(device_id)
    for entry_id in device.config_entries if device else ():
        entry = hass.config_entries.async_get_entry(entry_id)
        if (
            entry is not None
            and entry.domain == DOMAIN
            and entry.state is ConfigEntryState.LOADED
            and is_account_entry(entry)
        ):
            return entry
    raise ServiceValidationError(
        translation_domain=DOMAIN,
        translation_key="unknown_account",
        translation_placeholders={"account": device_id},
    )


async def _sync(call: ServiceCall) -> ServiceResponse:
    hass = call.hass
    pairs = [_pair(hass, call.data[ATTR_PAIR])] if ATTR_PAIR in call.data else _coordinators(hass)
    features = [Feature(f) for f in call.data.get(ATTR_FEATURES, [])]
    dry_run = call.data.get(ATTR_DRY_RUN)
    summaries: list[Any] = []
    for coordinator in pairs:
        try:
            state = await _run(coordinator, dry_run=dry_run, features=features)
        except HomeAssistantError as err:
            if len(pairs) == 1:
                raise
            # One pair's failure (a refused sign-in, a rate limit) must not stop the others.
            summaries.append({**coordinator.describe(None), "status": "failed", "error": str(err)})
            continue
        if dry_run and coordinator.preview is not None:
            summaries.append(coordinator.describe(coordinator.preview))
            continue
        coordinator.async_set_updated_data(state)
        summaries.append(coordinator.describe(state.result))
    return {"runs": summaries} if call.return_response else None


@translate_errors(Boundary.ACTION)
async def _run(
    coordinator: PairCoordinator, *, dry_run: bool | None, features: list[Feature]
) -> PairState:
    """One pair's run as an action asks for it: both sides read anew."""
    return await coordinator.async_run(dry_run=dry_run, features=features, fresh=True)


async def _get_plan(call: ServiceCall) -> ServiceResponse:
    coordinator = _pair(call.hass, call.data[ATTR_PAIR])
    await _run(coordinator, dry_run=True, features=[])
    preview = coordinator.preview
    if preview is None:
        raise HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key="pair_waiting",
            translation_placeholders={"pair": coordinator.subentry.title},
        )
    plan = preview.plan.as_dict()
    limit = call.data[ATTR_LIMIT]
    operations = plan.get("operations", [])
    notes = plan.get("notes", [])
    return {
        **plan,
        "operations": operations[:limit],
        "notes": notes[:limit],
        "truncated": len(operations) > limit or len(notes) > limit,
        "events": [
            {"code": e.code.value, "side": e.side.value, "count": e.count, "detail": e.detail}
            for e in preview.events
        ],
    }


async def _approve_held(call: ServiceCall) -> ServiceResponse:
    report = await _pair(call.hass, call.data[ATTR_PAIR]).async_approve_held()
    return {"applied": len(report.applied), "errors": list(report.errors)}


async def _reject_held(call: ServiceCall) -> ServiceResponse:
    rejected = await _pair(call.hass, call.data[ATTR_PAIR]).async_reject_held()
    return {"rejected": rejected}


async def _bust_cache(call: ServiceCall) -> ServiceResponse:
    hass = call.hass
    account = _account(hass, call.data[ATTR_ACCOUNT])
    feature = Feature(call.data[ATTR_FEATURE]) if ATTR_FEATURE in call.data else None
    if (sync := loaded_sync_runtime(hass)) is not None:
        sync.pipeline.bust(account.provider, feature, everything=True)
        await sync.async_use_store(
            hass, partial(sync.store.clear_checkpoints, account.provider.key, feature)
        )
    return None


async def _list_unresolved(call: ServiceCall) -> ServiceResponse:
    coordinator = _pair(call.hass, call.data[ATTR_PAIR])
    runtime = coordinator.config_entry.runtime_data
    items = await runtime.async_use_store(
        call.hass, partial(runtime.store.unresolved, coordinator.pair_id)
    )
    phantoms = await runtime.async_use_store(
        call.hass,
        partial(
            runtime.store.phantoms,
            coordinator.pair_id,
            coordinator.pair.spec(coordinator.pair_id).phantom_after,
        ),
    )
    return {
        "phantoms": [_phantom(write) for write in phantoms],
        "unresolved": [
            {
                "item": u.item.label(),
                "feature": u.scope.feature.value,
                "side": u.scope.side,
                "reason": u.reason,
                "attempts": u.attempts,
                "next_attempt_at": u.next_attempt_at.isoformat(),
            }
            for u in items
        ],
    }


def _phantom(write: PendingWrite) -> dict[str, Any]:
    answer = "confirmed it" if write.outcome == "confirmed" else "gave no answer for it"
    return {
        "item": write.item.label(),
        "feature": write.scope.feature.value,
        "side": write.scope.side,
        "action": write.action.value,
        "written_at": write.written_at.isoformat(),
        "reason": (
            f"the service {answer}, but {write.misses} complete reads since have not shown it"
        ),
    }


async def _retry_phantoms(call: ServiceCall) -> ServiceResponse:
    phantoms = await _pair(call.hass, call.data[ATTR_PAIR]).async_requeue_phantoms()
    return {"requeued": [_phantom(write) for write in phantoms]} if call.return_response else None


async def _retry_unresolved(call: ServiceCall) -> ServiceResponse:
    coordinator = _pair(call.hass, call.data[ATTR_PAIR])
    runtime = coordinator.config_entry.runtime_data
    await runtime.async_use_store(
        call.hass, partial(runtime.store.retry_unresolved, coordinator.pair_id, dt_util.utcnow())
    )
    await coordinator.async_request_refresh()
    return None


async def _forget_item(call: ServiceCall) -> ServiceResponse:
    """Forget one item's records in the pair's store; the next run plans it afresh."""
    coordinator = _pair(call.hass, call.data[ATTR_PAIR])
    try:
        match = ItemMatch.parse(call.data[ATTR_ITEM])
    except ValueError as err:
        raise ServiceValidationError(
            translation_domain=DOMAIN, translation_key="item_not_named"
        ) from err
    runtime = coordinator.config_entry.runtime_data
    side = SIDES[call.data[ATTR_SIDE]] if ATTR_SIDE in call.data else None
    # Never beside a run that decides from these records (the store waits for the run lock).
    forgotten = await runtime.async_use_store(
        call.hass,
        partial(
            runtime.store.forget_item, coordinator.pair_id, match, side=side,
            feature=call.data.get(ATTR_FEATURE),
        ),
    )  # fmt: skip
    if not forgotten.any:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="nothing_to_forget",
            translation_placeholders={"pair": coordinator.subentry.title, "item": match.text},
        )
    await coordinator.async_refresh_counts()
    if not call.return_response:
        return None
    return {"items": list(forgotten.items), "forgotten": dict(forgotten.records)}


async def _remove_item(call: ServiceCall) -> ServiceResponse:
    """Remove one entry from one feature of an account, as the user's own edit."""
    entry = _account_entry(call.hass, call.data[ATTR_ACCOUNT])
    try:
        match = ItemMatch.parse(call.data[ATTR_ITEM])
    except ValueError as err:
        raise ServiceValidationError(
            translation_domain=DOMAIN, translation_key="remove_item_not_named"
        ) from err
    removed = await ItemRemoval(call.hass, entry).remove(Feature(call.data[ATTR_FEATURE]), match)
    if not call.return_response:
        return None
    return {"removed": removed.label, "feature": removed.feature.value, "outcome": removed.outcome}


async def _restore_backup(call: ServiceCall) -> ServiceResponse:
    """Add back to one side of a pair what a backup holds of it; a dry run by default."""
    coordinator = _pair(call.hass, call.data[ATTR_PAIR])
    folder = coordinator.config_entry.runtime_data.backups
    listing = _chosen_backup(
        coordinator, await folder.async_list(), call.data.get(ATTR_BACKUP),
        call.data.get(ATTR_FEATURE),
    )  # fmt: skip
    try:
        backup = await folder.async_load(listing)
    except BackupUnreadableError as err:
        raise HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key="backup_unreadable",
            translation_placeholders={"backup": listing.file, "error": str(err)},
        ) from err
    side = PairSide(SIDES[call.data[ATTR_SIDE]])
    dry_run = bool(call.data[ATTR_DRY_RUN])
    try:
        restored = await coordinator.async_restore(backup, side, dry_run=dry_run)
    except ValueError as err:  # a partial read: missing cannot be told from unseen
        raise HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key="restore_not_possible",
            translation_placeholders={"pair": coordinator.subentry.title, "error": str(err)},
        ) from err
    limit = call.data[ATTR_LIMIT]
    missing = [op.item.label() for op in restored.plan.operations]
    answer: dict[str, Any] = {
        "backup": listing.file,
        "taken_at": listing.taken_at,
        "feature": backup.feature.value,
        "side": call.data[ATTR_SIDE],
        "dry_run": dry_run,
        "missing": len(missing),
        "items": missing[:limit],
    }
    if restored.results is not None:
        answer["restored"] = len(restored.results) - restored.count(WriteOutcome.REJECTED)
        answer["rejected"] = [
            {"item": r.item.label(), "reason": r.reason}
            for r in restored.results
            if r.outcome is WriteOutcome.REJECTED
        ][:limit]
        answer["error"] = restored.error
    return answer if call.return_response else None


def _chosen_backup(
    coordinator: PairCoordinator,
    listings: list[BackupListing],
    name: str | None,
    feature: str | None,
) -> BackupListing:
    """The backup the call names, else the pair's newest (of the feature, if given)."""
    mine = [
        b
        for b in listings
        if b.pair == coordinator.pair_id and (feature is None or b.feature == feature)
    ]
    chosen = [b for b in mine if b.file == name] if name is not None else mine[-1:]
    if not chosen:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="no_backup",
            translation_placeholders={
                "pair": coordinator.subentry.title, "backup": name or feature or "-",
            },
        )  # fmt: skip
    return chosen[0]


async def _clear_blackbox(call: ServiceCall) -> ServiceResponse:
    coordinator = _pair(call.hass, call.data[ATTR_PAIR])
    runtime = coordinator.config_entry.runtime_data
    await runtime.async_use_store(
        call.hass, partial(runtime.store.clear_blackbox, coordinator.pair_id)
    )
    await coordinator.async_refresh_counts()
    return None


# Schemas are typed Any: Home Assistant swaps voluptuous for probatio between the releases we
# support, and each release's stubs name only its own schema class.
type _Handler = Callable[[ServiceCall], Coroutine[Any, Any, ServiceResponse]]


@dataclass(frozen=True, slots=True)
class _Action:
    name: str
    handler: _Handler
    schema: Any
    response: SupportsResponse
    # Watch history is personal: an action that answers with titles is for administrators.
    admin: bool = False


_SERVICES: tuple[_Action, ...] = (
    _Action("sync", _sync, SYNC_SCHEMA, SupportsResponse.OPTIONAL),
    _Action("get_plan", _get_plan, PLAN_SCHEMA, SupportsResponse.ONLY, admin=True),
    _Action("approve_held", _approve_held, PAIR_SCHEMA, SupportsResponse.OPTIONAL),
    _Action("reject_held", _reject_held, PAIR_SCHEMA, SupportsResponse.OPTIONAL),
    _Action("bust_cache", _bust_cache, BUST_SCHEMA, SupportsResponse.NONE),
    _Action("list_unresolved", _list_unresolved, PAIR_SCHEMA, SupportsResponse.ONLY, admin=True),
    _Action("retry_unresolved", _retry_unresolved, PAIR_SCHEMA, SupportsResponse.NONE),
    _Action("retry_phantoms", _retry_phantoms, PAIR_SCHEMA, SupportsResponse.OPTIONAL, admin=True),
    _Action("clear_blackbox", _clear_blackbox, PAIR_SCHEMA, SupportsResponse.NONE),
    _Action("forget_item", _forget_item, FORGET_SCHEMA, SupportsResponse.OPTIONAL, admin=True),
    _Action("remove_item", _remove_item, REMOVE_SCHEMA, SupportsResponse.OPTIONAL, admin=True),
    _Action(
        "restore_backup", _restore_backup, RESTORE_SCHEMA, SupportsResponse.OPTIONAL, admin=True
    ),
)


@callback
def async_setup_services(hass: HomeAssistant) -> None:
    """Register every CrossWatch action (once, from async_setup)."""
    for action in _SERVICES:
        if action.admin:
            async_register_admin_service(
                hass, DOMAIN, action.name, action.handler, action.schema, action.response
            )
        else:
            hass.services.async_register(
                DOMAIN, action.name, action.handler, schema=action.schema,
                supports_response=action.response,
            )  # fmt: skip
