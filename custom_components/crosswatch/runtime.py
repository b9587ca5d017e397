"""What each kind of entry holds while loaded, its typed entry alias, and typed lookups.

A leaf module: the rest of the glue imports it, and it imports no glue module at run time
(the coordinators only for type checking). Two kinds of entries:
- an account entry holds an `AccountRuntime` (`AccountConfigEntry`);
- the sync entry holds a `SyncRuntime` (`SyncConfigEntry`): the store, the pipeline, the pairs.

The sync side depends on the accounts (a pair runs on their providers); the accounts never look
at the sync side. What an account shows of the pairs' work (its item counts) the sync side
publishes on `ACCOUNT_ACTIVITY`, and the account's coordinator receives it. The one thing an
account asks of the sync side is to take turns with the runs (`async_between_runs`), and the
one thing it tells it is that the user edited its lists (`ACCOUNT_EDITED`).
"""

import asyncio
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, TypeIs

from homeassistant.config_entries import ConfigEntry, ConfigEntryState
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers.dispatcher import async_dispatcher_send
from homeassistant.helpers.event import async_call_later
from homeassistant.util import dt as dt_util
from homeassistant.util.signal_type import SignalType, SignalTypeFormat

from .const import CONF_KIND, DOMAIN, MEMO_TTL, Kind
from .engine.memo import SnapshotMemo
from .engine.payloads import Feature
from .engine.pipeline import Pipeline
from .engine.provider import Provider
from .engine.store import StateStore

if TYPE_CHECKING:
    from .account_coordinator import AccountCoordinator
    from .anime_map import AnimeMap
    from .backups import BackupFolder
    from .coordinator import PairCoordinator
    from .upcoming_coordinator import UpcomingCoordinator


@dataclass(frozen=True, slots=True)
class AccountRuntime:
    """What a loaded account entry offers the sync entry: its provider."""

    kind: Kind
    account_id: str
    provider: Provider
    coordinator: AccountCoordinator
    unique_id: str  # the entry's: pairs name their accounts by it
    upcoming: UpcomingCoordinator | None = None  # a tracker's calendar reads


@dataclass(frozen=True, slots=True)
class AccountActivity:
    """A pair used an account: what the store now knows the account holds, if it read it.

    `item_counts` is None when a run only used the account (a preview, a failed run): the
    account then shows its new request count and quota, and keeps its counts.
    """

    item_counts: Mapping[Feature, int] | None = None


# Sent by the sync side (formatted with the account entry's unique id), after each run of a pair
# on the account, after approved held removals are applied, and whenever either entry loads.
ACCOUNT_ACTIVITY = SignalTypeFormat[AccountActivity]("crosswatch_account_activity_{}")


@dataclass(frozen=True, slots=True)
class AccountEdit:
    """The user changed an account's lists through CrossWatch (its watchlist to-do list).

    Like an edit in the service's own app, it is the user's, not a sync's: no pair records it
    as its own write. The sync side only forgets the reads it shares of those features, so
    that the pairs' next runs see the edit.
    """

    provider: Provider
    features: frozenset[Feature]


# Sent by an account's to-do list after each change it made; the sync entry listens.
ACCOUNT_EDITED = SignalType[AccountEdit]("crosswatch_account_edited")


class StoreClosedError(HomeAssistantError):
    """The sync entry is unloading: its store takes no more calls."""


@dataclass(slots=True)
class SyncRuntime:
    """The store, the pipeline over it, one coordinator per pair, and the anime id map."""

    store: StateStore
    pipeline: Pipeline
    backups: BackupFolder  # where the pipeline keeps its backups (listed in diagnostics)
    # Runs share one SQLite connection and one memo: one run at a time keeps each run's
    # transactions its own.
    run_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    coordinators: dict[str, PairCoordinator] = field(default_factory=dict)
    anime_map: AnimeMap | None = None  # set once the entry is set up
    closed: bool = False
    # The pending call that forgets the reads runs shared, MEMO_TTL after the last run.
    _expiring_reads: CALLBACK_TYPE | None = None

    @callback
    def expire_shared_reads_later(self, hass: HomeAssistant) -> None:
        """Forget the reads the runs shared once MEMO_TTL has passed since this last one.

        A read of 100,000 items is tens of megabytes: it serves the pairs that run together,
        and must not stay between runs. Every read kept is then at least MEMO_TTL old.
        """
        if self._expiring_reads is not None:
            self._expiring_reads()

        @callback
        def expire(_now: datetime) -> None:
            self._expiring_reads = None
            self.pipeline.forget_shared_reads()

        self._expiring_reads = async_call_later(hass, MEMO_TTL, expire)

    @callback
    def cancel_expiry(self) -> None:
        """Drop the pending expiry (the entry unloads)."""
        if self._expiring_reads is not None:
            self._expiring_reads()
            self._expiring_reads = None

    async def async_use_store[T](self, hass: HomeAssistant, function: Callable[[], T]) -> T:
        """Run `function` (a store call) in the executor, never beside a run or the close.

        The store is one SQLite connection: a read in one worker thread while another closes
        it crashes the process, and a write beside a run's transaction would join it.
        """
        async with self.run_lock:
            if self.closed:
                raise StoreClosedError(translation_domain=DOMAIN, translation_key="store_closed")
            return await hass.async_add_executor_job(function)

    @callback
    def async_account_edited(self, edit: AccountEdit) -> None:
        """The user edited an account: the pairs' next reads of what changed are fresh."""
        for feature in edit.features:
            self.pipeline.bust(edit.provider, feature)

    async def async_publish_counts(self, hass: HomeAssistant, account: AccountRuntime) -> None:
        """Tell an account what the store now knows it holds (its sensors show it)."""
        try:
            counts = await self.async_use_store(
                hass, partial(self.store.item_counts, account.provider.name)
            )
        except StoreClosedError:
            return  # the sync entry is unloading; it publishes again when it loads
        publish_activity(hass, account, AccountActivity(counts))


@callback
def publish_activity(
    hass: HomeAssistant, account: AccountRuntime, activity: AccountActivity
) -> None:
    """Send an account what a pair's work told about it (the account's coordinator listens)."""
    async_dispatcher_send(hass, ACCOUNT_ACTIVITY.format(account.unique_id), activity)


type AccountConfigEntry = ConfigEntry[AccountRuntime]
type SyncConfigEntry = ConfigEntry[SyncRuntime]


def entry_kind(entry: ConfigEntry) -> Kind:
    """What an entry is; the sync entry of the first release stored no kind."""
    return Kind(entry.data.get(CONF_KIND, Kind.SYNC))


def is_sync_entry(entry: ConfigEntry) -> TypeIs[SyncConfigEntry]:
    """Whether an entry is the sync entry (its runtime data, once loaded, a SyncRuntime)."""
    return entry_kind(entry) is Kind.SYNC


def is_account_entry(entry: ConfigEntry) -> TypeIs[AccountConfigEntry]:
    """Whether an entry is an account (its runtime data, once loaded, an AccountRuntime)."""
    return entry_kind(entry) is not Kind.SYNC


def runtime_if_set[RuntimeT](entry: ConfigEntry[RuntimeT]) -> RuntimeT | None:
    """An entry's runtime data while it has some (Home Assistant drops it on unload)."""
    return entry.runtime_data if hasattr(entry, "runtime_data") else None


@callback
def loaded_sync_runtime(hass: HomeAssistant) -> SyncRuntime | None:
    """The loaded sync entry's runtime, if the sync entry is loaded."""
    for entry in hass.config_entries.async_loaded_entries(DOMAIN):
        if is_sync_entry(entry):
            return entry.runtime_data
    return None


@callback
def loaded_accounts(hass: HomeAssistant) -> list[AccountRuntime]:
    """Every loaded account entry's runtime."""
    return [
        entry.runtime_data
        for entry in hass.config_entries.async_loaded_entries(DOMAIN)
        if is_account_entry(entry)
    ]


@callback
def loaded_account(hass: HomeAssistant, unique_id: str) -> AccountRuntime | None:
    """The runtime of the account entry with this unique id, if it is loaded."""
    entry = hass.config_entries.async_entry_for_domain_unique_id(DOMAIN, unique_id)
    if entry is None or entry.state is not ConfigEntryState.LOADED or not is_account_entry(entry):
        return None
    return entry.runtime_data


@asynccontextmanager
async def async_between_runs(hass: HomeAssistant) -> AsyncIterator[None]:
    """Hold off the pairs' runs while an account's own entity uses its provider.

    A provider's caches and its read and write paths serve one caller at a time: a pair's run
    (which holds the sync entry's run lock from its first read to its last write), or an
    account's to-do list. The list's reads and edits wait for a run in progress, and a run
    waits for them. Without the sync entry, no pair runs.
    """
    sync = loaded_sync_runtime(hass)
    if sync is None:
        yield
        return
    async with sync.run_lock:
        yield


def store_path(hass: HomeAssistant) -> Path:
    """Where the state store lives: beside Home Assistant's own storage."""
    return Path(hass.config.path(".storage", DOMAIN, "state.db"))


def _now() -> datetime:
    return dt_util.utcnow()


async def async_open_runtime(hass: HomeAssistant, backups: BackupFolder) -> SyncRuntime:
    """Open (creating and migrating) the store off the event loop, and build the pipeline."""
    store = await hass.async_add_executor_job(StateStore, store_path(hass))

    async def run_blocking[T](function: Callable[[], T]) -> T:
        return await hass.async_add_executor_job(function)

    pipeline = Pipeline(
        store,
        run_blocking=run_blocking,
        memo=SnapshotMemo(MEMO_TTL),
        clock=_now,
        backups=backups,
    )
    return SyncRuntime(store, pipeline, backups)


async def async_close_runtime(hass: HomeAssistant, runtime: SyncRuntime) -> None:
    """Close the store off the event loop (after any run in progress)."""
    runtime.cancel_expiry()
    async with runtime.run_lock:
        runtime.closed = True
        await hass.async_add_executor_job(runtime.store.close)


async def async_remove_store(hass: HomeAssistant) -> None:
    """Delete the store and its WAL files (the sync entry was removed)."""
    path = store_path(hass)

    def remove() -> None:
        for suffix in ("", "-wal", "-shm"):
            candidate = path.with_name(path.name + suffix)
            candidate.unlink(missing_ok=True)

    await hass.async_add_executor_job(partial(remove))
