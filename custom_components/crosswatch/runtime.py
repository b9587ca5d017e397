"""What the sync entry holds while loaded: the state store, the pipeline and the pairs."""

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.util import dt as dt_util

from .const import DOMAIN, MEMO_TTL
from .engine.memo import SnapshotMemo
from .engine.pipeline import Pipeline
from .engine.store import StateStore

if TYPE_CHECKING:
    from .coordinator import PairCoordinator


@dataclass(slots=True)
class SyncRuntime:
    """The store, the pipeline over it, and one coordinator per pair."""

    store: StateStore
    pipeline: Pipeline
    # Runs share one SQLite connection and one memo: one run at a time keeps each run's
    # transactions its own.
    run_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    coordinators: dict[str, PairCoordinator] = field(default_factory=dict)
    closed: bool = False

    async def async_use_store[T](self, hass: HomeAssistant, function: Callable[[], T]) -> T:
        """Run `function` (a store call) in the executor, never beside a run or the close.

        The store is one SQLite connection: a read in one worker thread while another closes
        it crashes the process, and a write beside a run's transaction would join it.
        """
        async with self.run_lock:
            if self.closed:
                raise HomeAssistantError(translation_domain=DOMAIN, translation_key="store_closed")
            return await hass.async_add_executor_job(function)


type SyncConfigEntry = ConfigEntry[SyncRuntime]


def store_path(hass: HomeAssistant) -> Path:
    """Where the state store lives: beside Home Assistant's own storage."""
    return Path(hass.config.path(".storage", DOMAIN, "state.db"))


def _now() -> datetime:
    return dt_util.utcnow()


async def async_open_runtime(hass: HomeAssistant) -> SyncRuntime:
    """Open (creating and migrating) the store off the event loop, and build the pipeline."""
    store = await hass.async_add_executor_job(StateStore, store_path(hass))

    async def run_blocking[T](function: Callable[[], T]) -> T:
        return await hass.async_add_executor_job(function)

    pipeline = Pipeline(
        store,
        run_blocking=run_blocking,
        memo=SnapshotMemo(MEMO_TTL),
        clock=_now,
    )
    return SyncRuntime(store, pipeline)


async def async_close_runtime(hass: HomeAssistant, runtime: SyncRuntime) -> None:
    """Close the store off the event loop (after any run in progress)."""
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
