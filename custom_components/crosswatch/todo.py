"""The watchlist of each account as a to-do list.

Items are the account's watchlist, read through its provider (the provider's cheap cached
reads) right after setup, every 30 minutes, right after each change made here, and after a pair
used the account. Each complete read also gives the account's watchlist sensor its count (and
the watched and rated sensors theirs, where the provider keeps what the read pulled).
Each change is one single-item write through the provider, so its own write path busts its
caches exactly as a sync's write does:
- add: search the service for the typed title (where the service has a search), pick the best
  hit (watchlist_match.py) and list it;
- complete: a play now (watched), then the item off the watchlist, as the services' apps do;
- delete: off the watchlist.
These are the user's edits, not CrossWatch's: no pair records them as its own writes, so the
pairs' next runs carry them to the other side like an edit made in the service's own app.
A write the service does not confirm (refused, or no answer per item that a fresh read shows)
is raised as a translated error, never taken for success.
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

# The entity classes moved to todo/entity.py after 2026.3; the package exports them in both
# (re-exported without __all__ in the newer one, hence the ignore).
from homeassistant.components.todo import (  # type: ignore[attr-defined,unused-ignore]
    TodoItem,
    TodoListEntity,
)
from homeassistant.components.todo.const import TodoItemStatus, TodoListEntityFeature
from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers.dispatcher import async_dispatcher_connect, async_dispatcher_send
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.update_coordinator import CoordinatorEntity, DataUpdateCoordinator
from homeassistant.util import dt as dt_util

from .const import DOMAIN, LOGGER
from .engine.items import MediaItem
from .engine.payloads import Feature, Listed, Payload, Watched
from .engine.plan import Action
from .engine.provider import (
    AuthError,
    Provider,
    ProviderError,
    Read,
    TitleSearch,
    WriteOutcome,
    WriteRequest,
)
from .engine.snapshot import Snapshot
from .entity import account_device
from .errors import Boundary, ErrorSubject, translate_errors
from .runtime import (
    ACCOUNT_ACTIVITY,
    ACCOUNT_EDITED,
    AccountActivity,
    AccountConfigEntry,
    AccountEdit,
    async_between_runs,
)
from .watchlist_match import best_match, link, parse_request

PARALLEL_UPDATES = 1  # one edit at a time per list: each is read back before the next
WATCHLIST_INTERVAL = timedelta(minutes=30)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: AccountConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """One to-do list per account: its watchlist."""
    coordinator = WatchlistCoordinator(hass, entry)
    # Read in the background: setup waits for no list (AniList serves 30 requests a minute).
    entry.async_create_background_task(
        hass, coordinator.async_refresh(), f"{DOMAIN} first watchlist read {entry.title}"
    )
    entry.async_on_unload(
        async_dispatcher_connect(
            hass, ACCOUNT_ACTIVITY.format(entry.runtime_data.unique_id), coordinator.pair_used
        )
    )
    async_add_entities([WatchlistTodoList(coordinator)])


class WatchlistCoordinator(DataUpdateCoordinator[Snapshot | None]):
    """Reads an account's watchlist through its provider, on its own schedule.

    Its data is None until a read succeeds (the first may fail: the list is then unavailable).
    """

    config_entry: AccountConfigEntry

    def __init__(self, hass: HomeAssistant, entry: AccountConfigEntry) -> None:
        """Read the watchlist of `entry`'s account."""
        super().__init__(
            hass,
            LOGGER,
            config_entry=entry,
            name=f"CrossWatch {entry.title} watchlist",
            update_interval=WATCHLIST_INTERVAL,
        )
        self.provider: Provider = entry.runtime_data.provider
        self._counted_by_reading = False  # the one read of what nothing else counts was made

    @property
    def error_subject(self) -> ErrorSubject:
        """The account is who failed; a refused sign-in starts its reauth."""
        entry = self.config_entry
        return ErrorSubject(
            {"account": entry.title}, on_refused=lambda _: entry.async_start_reauth(self.hass)
        )

    @asynccontextmanager
    async def _using_provider(self) -> AsyncIterator[None]:
        """Between the pairs' runs; after, the account shows its new requests and quota."""
        try:
            async with async_between_runs(self.hass):
                yield
        finally:
            # Told directly, not on ACCOUNT_ACTIVITY: that note would read as a pair's run.
            self.config_entry.runtime_data.coordinator.async_receive_activity(AccountActivity())

    @translate_errors(Boundary.ACCOUNT_UPDATE)
    async def _async_update_data(self) -> Snapshot:
        # The account's watchlist sensor counts from this read, with no request of its own; a
        # failed or partial read counts nothing (a short list is no count). What the provider
        # keeps of it counts the watched and rated items too, where it can (AniList's list).
        account = self.config_entry.runtime_data.coordinator
        try:
            async with self._using_provider():
                read = await self._read(Feature.WATCHLIST)
                if read.snapshot.complete:
                    await account.async_count_kept()
                    await self._count_by_reading()
        except Exception:
            account.async_list_counted(None)
            raise
        if not read.snapshot.complete:
            LOGGER.debug(
                "%s: the watchlist was read in part (%s)",
                self.config_entry.title,
                read.snapshot.completeness.describe(),
            )
        account.async_list_counted(len(read.snapshot) if read.snapshot.complete else None)
        return read.snapshot

    async def _count_by_reading(self) -> None:
        """Once, read each feature that neither the service nor a kept read could count.

        SIMKL pulls its ratings apart from its lists and has no count of them: without this
        read, its rated-items sensor would stay unknown until a pair syncs ratings. A feature
        the service cannot count at all (untold) is not read for it. A failed read only leaves
        the count unknown.
        """
        if self._counted_by_reading:
            return
        self._counted_by_reading = True
        account = self.config_entry.runtime_data.coordinator
        uncounted = [
            feature
            for feature in (Feature.HISTORY, Feature.RATINGS)
            if feature in self.provider.capabilities.features
            and account.data.count(feature) is None
            and feature not in account.data.untold
        ]
        for feature in uncounted:
            try:
                await self._read(feature)
            except AuthError:
                raise
            except ProviderError as err:
                LOGGER.debug(
                    "%s: %s not read to count it (%s)", self.config_entry.title, feature, err
                )
        if uncounted:
            await account.async_count_kept()

    async def _read(self, feature: Feature) -> Read:
        """The provider's read of `feature`, unpacked in the executor when it kept it packed.

        No checkpoint: a read that starts from nothing, which every provider serves from what
        it may reuse and which leaves the pairs' checkpoints (kept per pair side) alone.
        """
        read = await self.provider.read(feature, None)
        if isinstance(read, Read):
            return read
        return await self.hass.async_add_executor_job(read.unpacked)

    @callback
    def pair_used(self, activity: AccountActivity) -> None:
        """A pair ran on the account: what it wrote may have changed the watchlist.

        Every run (and every approval of held removals) sends a note without counts when it
        is done with the account; notes with counts (what the store knows, also sent when an
        entry loads) change nothing on the service, and reading then would race the pairs'
        first runs for no news.
        """
        if activity.item_counts is not None:
            return
        # Not debounced: a pair runs minutes apart at most, and the read is the provider's
        # cheap cached one.
        self.config_entry.async_create_background_task(
            self.hass, self.async_refresh(), f"{DOMAIN} watchlist {self.name}"
        )

    @translate_errors(Boundary.ACCOUNT_ACTION)
    async def async_write(
        self, feature: Feature, action: Action, item: MediaItem, payload: Payload | None
    ) -> None:
        """Write one item; raise unless the service confirms it (or a fresh read shows it)."""
        try:
            async with self._using_provider():
                results = await self.provider.write(feature, action, [WriteRequest(item, payload)])
        finally:
            # Whatever the answer, the write may have landed: the pairs read afresh, the
            # watchlist too (a play takes a title off Trakt's watchlist by itself).
            edited = frozenset({feature, Feature.WATCHLIST})
            async_dispatcher_send(self.hass, ACCOUNT_EDITED, AccountEdit(self.provider, edited))
        result = results[0] if results else None
        if result is not None and result.outcome is WriteOutcome.CONFIRMED:
            return
        if (
            result is not None
            and result.outcome is WriteOutcome.UNKNOWN
            and await self._read_shows(feature, action, item)
        ):
            return
        raise HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key="watchlist_unconfirmed",
            translation_placeholders={
                "account": self.config_entry.title,
                "title": item.label(),
                "reason": (result.reason if result else None) or "-",
            },
        )

    async def _read_shows(self, feature: Feature, action: Action, item: MediaItem) -> bool:
        """Whether a fresh read of `feature` shows what a write without an answer meant."""
        async with self._using_provider():
            self.provider.forget_reads(feature)
            read = await self._read(feature)
        found = read.snapshot.find(item) is not None
        return found if action is Action.ADD else read.snapshot.complete and not found

    @translate_errors(Boundary.ACCOUNT_ACTION)
    async def async_search(self, search: TitleSearch, text: str) -> MediaItem:
        """The title the service finds for `text`; a translated error when none fits."""
        request = parse_request(text, this_year=dt_util.now().year)
        async with self._using_provider():
            found = await search.search_titles(request.title)
        chosen = best_match(found, request)
        if chosen is None:
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="watchlist_no_match",
                translation_placeholders={"service": search.search_name, "text": text},
            )
        LOGGER.info(
            "%s: '%s' found %s (of %d titles); adding it to the watchlist",
            self.config_entry.title,
            text,
            chosen.label(),
            len(found),
        )
        return chosen


class WatchlistTodoList(CoordinatorEntity[WatchlistCoordinator], TodoListEntity):
    """An account's watchlist: add by title, complete as watched, delete to take it off."""

    _attr_has_entity_name = True
    _attr_translation_key = "watchlist"

    def __init__(self, coordinator: WatchlistCoordinator) -> None:
        """The list on the account's device."""
        super().__init__(coordinator)
        entry = coordinator.config_entry
        self._kind = str(entry.runtime_data.kind)
        self._attr_unique_id = f"{entry.unique_id}_watchlist"
        self._attr_device_info = account_device(entry)
        features = TodoListEntityFeature.UPDATE_TODO_ITEM | TodoListEntityFeature.DELETE_TODO_ITEM
        if isinstance(coordinator.provider, TitleSearch):
            features |= TodoListEntityFeature.CREATE_TODO_ITEM
        self._attr_supported_features = features

    @property
    def todo_items(self) -> list[TodoItem] | None:
        """The watchlist, most recently listed first."""
        snapshot = self.coordinator.data
        if snapshot is None:
            return None
        entries = sorted(
            snapshot.entries.values(),
            key=lambda entry: (
                entry.payload.listed_at.timestamp()
                if isinstance(entry.payload, Listed) and entry.payload.listed_at
                else 0.0
            ),
            reverse=True,
        )
        return [
            TodoItem(
                summary=entry.item.label(),
                uid=entry.key,
                status=TodoItemStatus.NEEDS_ACTION,
                description=link(self._kind, entry.item),
            )
            for entry in entries
        ]

    async def async_create_todo_item(self, item: TodoItem) -> None:
        """List the title the service finds for the item's text."""
        search = self.coordinator.provider
        if not isinstance(search, TitleSearch):  # pragma: no cover - the feature is not offered
            raise NotImplementedError
        chosen = await self.coordinator.async_search(search, item.summary or "")
        await self.coordinator.async_write(
            Feature.WATCHLIST, Action.ADD, chosen, Listed(dt_util.utcnow())
        )
        await self.coordinator.async_refresh()

    async def async_update_todo_item(self, item: TodoItem) -> None:
        """Completing an item marks it watched; nothing else of an item can be changed."""
        listed = self._listed(item.uid)
        if item.status != TodoItemStatus.COMPLETED:
            if item.summary not in (None, listed.label()):
                raise HomeAssistantError(
                    translation_domain=DOMAIN,
                    translation_key="watchlist_rename",
                    translation_placeholders={"title": listed.label()},
                )
            return
        await self.coordinator.async_write(
            Feature.HISTORY, Action.ADD, listed, Watched.from_plays([dt_util.utcnow()])
        )
        await self._take_off(listed)

    async def async_delete_todo_items(self, uids: list[str]) -> None:
        """Take the items off the watchlist, one write each."""
        for listed in [self._listed(uid) for uid in uids]:
            await self._take_off(listed)

    async def _take_off(self, listed: MediaItem) -> None:
        """Remove one item, unless the service took it off itself (Trakt does, once watched).

        Only on a fresh read: on SIMKL a watchlist removal takes the title off every list, so
        a removal sent after a play the read missed would take the play away again.
        """
        await self.coordinator.async_refresh()
        snapshot = self.coordinator.data
        if not self.coordinator.last_update_success or snapshot is None:
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="watchlist_not_read",
                translation_placeholders={
                    "account": self.coordinator.config_entry.title,
                    "title": listed.label(),
                },
            )
        if snapshot.find(listed) is not None:
            await self.coordinator.async_write(Feature.WATCHLIST, Action.REMOVE, listed, None)
            await self.coordinator.async_refresh()

    def _listed(self, uid: str | None) -> MediaItem:
        snapshot = self.coordinator.data
        entry = snapshot.entries.get(uid) if snapshot is not None and uid else None
        if entry is None:
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="watchlist_item_gone",
                translation_placeholders={"uid": uid or ""},
            )
        return entry.item
