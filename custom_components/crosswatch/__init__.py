"""CrossWatch: keep watchlists, watch history and ratings in sync across media services.

Two kinds of config entries:
- one per provider account (Plex, Jellyfin, Emby, Trakt, SIMKL, AniList): a client and the
  engine provider on it;
- the single "CrossWatch sync" entry, whose config subentries are the sync pairs: it owns the
  state store, the pipeline, and one coordinator per pair.
"""

from functools import partial

from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import EVENT_HOMEASSISTANT_STARTED, Platform
from homeassistant.core import CoreState, Event, HomeAssistant, callback
from homeassistant.helpers import config_validation as cv, issue_registry as ir
from homeassistant.helpers.dispatcher import async_dispatcher_connect
from homeassistant.helpers.typing import ConfigType

from .account_coordinator import AccountCoordinator, app_refused_issue_id
from .accounts import (
    AccountParts,
    async_create_account,
    async_forget_simkl,
    async_forget_trakt,
    async_track_simkl_v1,
)
from .anime_map import AnimeMap, anime_map_url, async_forget_anime_map_issue, involves_anilist
from .backups import DEFAULT_BACKUPS_KEPT, BackupFolder, backup_folder
from .const import CONF_ACCOUNT_ID, CONF_BACKUPS_KEPT, CONF_KIND, DOMAIN, SUBENTRY_PAIR, Kind
from .coordinator import LastSynced, PairCoordinator, PairState, PairStatus
from .playback import async_follow_playback
from .runtime import (
    ACCOUNT_ACTIVITY,
    ACCOUNT_EDITED,
    AccountConfigEntry,
    AccountRuntime,
    SyncConfigEntry,
    async_close_runtime,
    async_open_runtime,
    async_remove_store,
    entry_kind,
    is_sync_entry,
    loaded_accounts,
    loaded_sync_runtime,
)
from .services import async_setup_services
from .upcoming_coordinator import UpcomingCoordinator, upcoming_store

CONFIG_SCHEMA = cv.config_entry_only_config_schema(DOMAIN)
SYNC_PLATFORMS = [Platform.BINARY_SENSOR, Platform.BUTTON, Platform.EVENT, Platform.SENSOR]
ACCOUNT_PLATFORMS = [Platform.CALENDAR, Platform.SENSOR, Platform.TODO]


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    """Register the actions; configuration happens through config entries only."""
    async_setup_services(hass)
    return True


async def async_setup_entry(
    hass: HomeAssistant, entry: SyncConfigEntry | AccountConfigEntry
) -> bool:
    """Set up an account entry or the sync entry."""
    if is_sync_entry(entry):
        return await _async_setup_sync(hass, entry)
    return await _async_setup_account(hass, entry)


async def async_unload_entry(
    hass: HomeAssistant, entry: SyncConfigEntry | AccountConfigEntry
) -> bool:
    """Unload an entry; the sync entry closes its store."""
    if is_sync_entry(entry):
        unloaded = await hass.config_entries.async_unload_platforms(entry, SYNC_PLATFORMS)
        if unloaded:
            await async_close_runtime(hass, entry.runtime_data)
        return unloaded
    return await hass.config_entries.async_unload_platforms(entry, ACCOUNT_PLATFORMS)


async def async_remove_entry(
    hass: HomeAssistant, entry: SyncConfigEntry | AccountConfigEntry
) -> None:
    """Removing the sync entry removes its state; removing an account leaves pairs waiting."""
    if is_sync_entry(entry):
        await async_remove_store(hass)
        return
    await upcoming_store(hass, entry.entry_id).async_remove()
    if entry.data.get(CONF_KIND) == Kind.SIMKL:
        await async_forget_simkl(hass, entry)
    if entry.data.get(CONF_KIND) == Kind.TRAKT:
        await async_forget_trakt(hass, entry)
    ir.async_delete_issue(hass, DOMAIN, app_refused_issue_id(entry.entry_id))
    # The entry is already gone: its pairs find it missing, show waiting and raise the repair now
    # rather than at their next interval.
    if (sync := loaded_sync_runtime(hass)) is None:
        return
    for coordinator in sync.coordinators.values():
        if entry.unique_id in (coordinator.pair.source, coordinator.pair.target):
            coordinator.config_entry.async_create_background_task(
                hass, coordinator.async_refresh(), f"{DOMAIN} lost {coordinator.pair_id}"
            )


async def _async_setup_account(hass: HomeAssistant, entry: AccountConfigEntry) -> bool:
    parts = await async_create_account(hass, entry)
    provider = parts.provider
    coordinator = AccountCoordinator(hass, entry, provider)
    # Refused: reauth. Unreachable: Home Assistant retries the setup later.
    await coordinator.async_check_before_setup()
    async_track_simkl_v1(hass, entry)
    # That was the first health check; the coordinator checks again on its interval.
    coordinator.async_set_updated_data(await coordinator.async_state(None))
    account = AccountRuntime(
        entry_kind(entry),
        str(entry.data[CONF_ACCOUNT_ID]),
        provider,
        coordinator,
        str(entry.unique_id),
        upcoming := _upcoming(hass, entry, parts),
    )
    if upcoming is not None:
        await upcoming.async_start()  # the kept read at once; the service when it is due
    entry.runtime_data = account
    entry.async_on_unload(
        async_dispatcher_connect(
            hass, ACCOUNT_ACTIVITY.format(account.unique_id), coordinator.async_receive_activity
        )
    )
    await hass.config_entries.async_forward_entry_setups(entry, ACCOUNT_PLATFORMS)

    @callback
    def tell_the_pairs_when_loaded() -> None:
        if entry.state is ConfigEntryState.LOADED:
            _async_account_loaded(hass, account)

    # Pairs look for loaded accounts, and this one is loaded only once setup returns.
    entry.async_on_unload(entry.async_on_state_change(tell_the_pairs_when_loaded))
    return True


def _upcoming(
    hass: HomeAssistant, entry: AccountConfigEntry, parts: AccountParts
) -> UpcomingCoordinator | None:
    return None if parts.upcoming is None else UpcomingCoordinator(hass, entry, parts.upcoming)


@callback
def _async_account_loaded(hass: HomeAssistant, account: AccountRuntime) -> None:
    """The sync side meets a loaded account: it sends its counts, and waiting pairs run now.

    A paused pair of the account resumes when the account loads while Home Assistant runs: a
    sign-in again (reauthentication reloads the entry) or a change the user made may be what
    it lacked. Loading at startup resumes nothing.
    """
    if (sync := loaded_sync_runtime(hass)) is None:
        return  # the sync entry publishes to every loaded account when it loads
    for coordinator in sync.coordinators.values():
        pair = coordinator.pair
        if hass.is_running and account.unique_id in (pair.source, pair.target):
            coordinator.async_resume()
        entry = coordinator.config_entry
        waiting = coordinator.data is not None and coordinator.data.waiting_for
        if waiting and account.unique_id in waiting:
            entry.async_create_background_task(
                hass, coordinator.async_refresh(), f"{DOMAIN} wake {coordinator.pair_id}"
            )
    hass.async_create_background_task(
        sync.async_publish_counts(hass, account), f"{DOMAIN} counts of {account.unique_id}"
    )


async def _async_setup_sync(hass: HomeAssistant, entry: SyncConfigEntry) -> bool:
    kept = int(entry.options.get(CONF_BACKUPS_KEPT, DEFAULT_BACKUPS_KEPT))
    runtime = await async_open_runtime(hass, BackupFolder(hass, backup_folder(hass), keep=kept))
    entry.runtime_data = runtime
    pairs = {
        sid: sub for sid, sub in entry.subentries.items() if sub.subentry_type == SUBENTRY_PAIR
    }
    # Pairs removed since the last load leave nothing behind in the store.
    known = await runtime.async_use_store(hass, runtime.store.pairs)
    for gone in set(known) - set(pairs):
        await runtime.async_use_store(hass, partial(runtime.store.forget_pair, gone))
        ir.async_delete_issue(hass, DOMAIN, f"pair_waiting_{gone}")
    for subentry_id, subentry in pairs.items():
        coordinator = PairCoordinator(hass, entry, subentry)
        coordinator.data = await _last_known_state(hass, entry, subentry_id)
        await coordinator.async_restore_pause()
        runtime.coordinators[subentry_id] = coordinator
    for coordinator in runtime.coordinators.values():
        if coordinator.pair.follows_playback:  # finished plays sync at once (playback.py)
            entry.async_on_unload(async_follow_playback(hass, coordinator))
    # Loaded when a pair with an AniList account first runs; every pair lends ids from it.
    runtime.anime_map = AnimeMap(hass, entry, anime_map_url(entry))
    if not any(involves_anilist(c.pair) for c in runtime.coordinators.values()):
        async_forget_anime_map_issue(hass)
    await hass.config_entries.async_forward_entry_setups(entry, SYNC_PLATFORMS)
    entry.async_on_unload(entry.add_update_listener(_async_reload))
    entry.async_on_unload(
        async_dispatcher_connect(hass, ACCOUNT_EDITED, runtime.async_account_edited)
    )

    @callback
    def first_runs(_: Event | None = None) -> None:
        # After startup, so that account entries have had their chance to load.
        for coordinator in runtime.coordinators.values():
            entry.async_create_background_task(
                hass, coordinator.async_refresh(), f"{DOMAIN} first run {coordinator.pair_id}"
            )

    if hass.state is CoreState.running:
        first_runs()
    else:
        entry.async_on_unload(hass.bus.async_listen_once(EVENT_HOMEASSISTANT_STARTED, first_runs))
    for account in loaded_accounts(hass):
        await runtime.async_publish_counts(hass, account)
    return True


async def _last_known_state(hass: HomeAssistant, entry: SyncConfigEntry, pair_id: str) -> PairState:
    """What the store remembers of the pair, so entities survive restarts before a run."""
    store = entry.runtime_data.store
    use = entry.runtime_data.async_use_store
    # The pair's last result is its last full run's: a targeted run synced one played item.
    runs = await use(hass, partial(store.runs, pair_id, 1, full_only=True))
    changing = await use(hass, partial(store.last_changing_run, pair_id))
    held = await use(hass, partial(store.held, pair_id))
    unresolved = await use(hass, partial(store.unresolved, pair_id))
    if not runs:
        return PairState(PairStatus.SKIPPED, held=len(held), unresolved=len(unresolved))
    last = runs[0]
    status = (
        PairStatus(last.status)
        if last.status in {s.value for s in PairStatus}
        else PairStatus.PARTIAL  # cancelled, or cut off before it could say
    )
    return PairState(
        status,
        held=len(held),
        unresolved=len(unresolved),
        last_run=last.finished_at,
        last_synced=(
            LastSynced.from_record(changing.finished_at, changing.result) if changing else None
        ),
    )


async def _async_reload(hass: HomeAssistant, entry: SyncConfigEntry) -> None:
    """Pairs were added, changed or removed: reload the sync entry."""
    await hass.config_entries.async_reload(entry.entry_id)
