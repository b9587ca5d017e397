"""SIMKL as a CrossWatch provider: watchlist, watch history and ratings.

Reads follow SIMKL's sync rules, because SIMKL suspends API keys that poll blindly: every read
asks `/sync/activities` first and pulls only the buckets (movies, shows, anime) whose stamps
moved, with `date_from` set to where the previous pull stood. What was pulled is kept per bucket
(the cache), so every read still returns the whole inventory (a present snapshot). The
activities only decide what to pull again: our own writes and unrelated changes move them too, so
they are no evidence for what a read lost (the engine's drop guard judges shrinks).

How the cache decides what to pull, and why it never believes more than SIMKL's bodies
showed, is told in `cache.py`. The client parses SIMKL's replies into typed rows; `parse.py`
turns them into the engine's items and entries, and `writes.py` turns write requests into
SIMKL's objects and its replies into per-item outcomes. This module binds them to the engine.

SIMKL's only way to take an item off the watchlist is `/sync/history/remove`, which also deletes
its rating and, for an item in another list, its history. Removals are therefore only sent for
items a fresh read shows on the watchlist, and adds never move an item that sits in another
list (a completed movie would lose its watched state).
"""

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
import functools
from typing import Final

from ...clients.off_loop import off_loop
from ...clients.scrobble import ScrobbleVerb
from ...clients.simkl.client import SimklApi
from ...clients.simkl.models import BUCKETS, SyncObject
from ...engine.capabilities import Capabilities, HistorySupport
from ...engine.cursor import Checkpoint
from ...engine.items import MediaItem
from ...engine.payloads import Feature
from ...engine.plan import Action
from ...engine.provider import (
    AnyRead,
    AuthError,
    ItemCounts,
    ProviderError,
    Read,
    WriteOutcome,
    WriteRequest,
    WriteResult,
)
from ...engine.ratings import RatingScale
from ...engine.scrobble import ScrobbleAction, Scrobbled
from ...engine.snapshot import Completeness, Snapshot, partial
from ..built import BuiltSnapshots
from ..client_errors import translates_client_errors, translating
from .cache import FATAL, DeltaCache, Held, Kind, entries_of, handed, serialize
from .parse import WATCHLIST_STATUS, HasItem, media_item
from .writes import (
    Sent,
    absorb,
    fingerprint,
    history_object,
    listed_object,
    outcome,
    plain_object,
    rating_object,
    rejected,
    scrobble_body,
)

CAPABILITIES: Final = Capabilities(
    features=frozenset(Feature),
    history=HistorySupport(
        multiple_plays=False, sets_watched_at=True, precision=timedelta(seconds=1)
    ),
    rating_scale=RatingScale.INTEGER_1_10,
    batch_size=100,
    # Watchlist adds echo each item, but history, rating and removal replies give counts only.
    confirms_per_item=False,
    watchlist_removal_clears_rating=True,
)


@dataclass(frozen=True, slots=True)
class SimklAccount:
    """The SIMKL account a token belongs to."""

    id: str
    name: str


@translates_client_errors
async def fetch_account(api: SimklApi) -> SimklAccount:
    """Ask `/users/settings` whose token this is (for the config flow and health checks)."""
    settings = await api.settings()  # raises when they do not name the account
    return SimklAccount(settings.account_id, settings.name or settings.account_id)


def _utcnow() -> datetime:
    return datetime.now(UTC)


class SimklProvider:
    """A SIMKL account as the engine uses it."""

    def __init__(
        self,
        api: SimklApi,
        account: SimklAccount,
        *,
        now: Callable[[], datetime] = _utcnow,
        max_cache_age: timedelta = timedelta(hours=24),
    ) -> None:
        """Bind the API client to the account its token belongs to."""
        self._api = translating(api)
        self._account = account
        self._built = BuiltSnapshots()
        self._cache = DeltaCache(
            self._api.all_items, self._api.ratings, now=now, max_cache_age=max_cache_age
        )
        self._now = now
        # List buckets the latest read could not pull and knows nothing of from before: an
        # add-to-list of a title not found elsewhere may land on one of its titles there.
        self._unread_lists: frozenset[str] = frozenset()
        # Each feature's count, by the version of the library it was counted from: the health
        # check asks every 15 minutes, and the library rarely changed since.
        self._kept_counts: dict[Feature, tuple[str, int | None]] = {}

    @property
    def key(self) -> str:
        """The account's stable id, e.g. 'simkl:51'."""
        return f"simkl:{self._account.id}"

    @property
    def name(self) -> str:
        """How the account reads in plans."""
        return f"SIMKL ({self._account.name})"

    @property
    def capabilities(self) -> Capabilities:
        """What SIMKL holds and how it answers writes."""
        return CAPABILITIES

    @property
    def requests_made(self) -> int:
        """Every HTTP request this provider has made."""
        return self._api.http.requests.count

    @translates_client_errors
    async def health(self) -> None:
        """Check the token still works and still belongs to the configured account."""
        account = await fetch_account(self._api)
        if account.id != self._account.id:
            raise AuthError(
                f"the SIMKL token now belongs to account {account.id}, not {self._account.id}"
            )
        self._account = account  # the name as SIMKL shows it now (users can rename themselves)

    @translates_client_errors
    async def count_agrees(self, snapshot: Snapshot) -> bool | None:
        """Whether SIMKL's own statistics count the watchlist titles `snapshot` saw.

        The statistics count each list's titles apart from the lists themselves, so they are a
        second witness when the watchlist seems to have shrunk. History and ratings have no
        such count.
        """
        if snapshot.feature is not Feature.WATCHLIST:
            return None
        stats = await self._api.stats(self._account.id)  # raises when a group has no count
        return sum(stats.plan_to_watch.values()) == snapshot.completeness.seen_total

    async def count_items(self, *, ask: bool) -> ItemCounts:
        """The watched and rated items of what the provider keeps pulled, with no request.

        SIMKL's statistics count titles per list and episodes, not the items a history read
        keys, so the count is the cache's: the lists of titles the to-do list's first read
        pulls (watchlist and history share them), the ratings once a read pulled them. What
        no full pull showed whole (or showed suspiciously empty) is not counted. `ask` changes
        nothing: SIMKL suspends keys that poll blindly.
        """
        del ask
        counted = {
            feature: count
            for feature, count in (
                (Feature.HISTORY, await self._kept_count(self._cache.list_kind, Feature.HISTORY)),
                (Feature.RATINGS, await self._kept_count(self._cache.rating_kind, Feature.RATINGS)),
            )
            if count is not None
        }
        return ItemCounts(counted, {})

    async def _kept_count[T: HasItem, R](self, kind: Kind[T, R], feature: Feature) -> int | None:
        """The items of `feature` the last full pulls showed, when every bucket is known."""
        view = self._cache.last_seen(kind)
        if view is None:
            return None
        version = kind.caches.version
        known = self._kept_counts.get(feature)
        if known is not None and known[0] == version:
            return known[1]  # the same entries: no snapshot of 100,000 titles built again
        snapshot = await self._snapshot(kind, feature, view, [], None)
        count = len(snapshot) if snapshot.complete else None
        self._kept_counts[feature] = (version, count)
        return count

    # Reads ---------------------------------------------------------------------------------

    @translates_client_errors
    async def read(self, feature: Feature, checkpoint: Checkpoint | None) -> AnyRead:
        """A present snapshot of one feature, pulling only what the activities call for."""
        if feature is Feature.RATINGS:
            return await self._read(self._cache.rating_kind, feature, checkpoint)
        return await self._read(self._cache.list_kind, feature, checkpoint)

    async def rest(self) -> None:
        """Between runs, keep the cached library packed (a few megabytes instead of tens)."""
        await self._cache.rest()

    def forget_reads(self, feature: Feature | None = None, *, validated: bool = False) -> None:
        """With `validated`, pull the feature's lists in full on the next read.

        Whatever the activities say then; watchlist and history share the lists of titles.
        Every read asks the activities first, so nothing is ever reused unchecked.
        """
        if not validated:
            return
        self._cache.forget(feature)

    async def _read[T: HasItem, R](
        self, kind: Kind[T, R], feature: Feature, checkpoint: Checkpoint | None
    ) -> AnyRead:
        try:
            stamps = (await self._api.activities()).buckets
        except FATAL:
            raise
        except ProviderError as err:
            known = {bucket: cache.entries for bucket, cache in kind.caches.items()}
            self._note_unread(kind, frozenset(BUCKETS))
            snapshot = await self._snapshot(kind, feature, known, [f"activities: {err}"], None)
            return Read(snapshot, checkpoint)
        pulled = await self._cache.refresh(kind, stamps, self.name)
        self._note_unread(kind, pulled.failed)
        watermark = serialize(pulled.stamps)
        if pulled.failures:
            # A checkpoint names the content a read saw: this one saw only part of it.
            failures = list(pulled.failures)
            snapshot = await self._snapshot(kind, feature, pulled.view, failures, watermark)
            return Read(snapshot, checkpoint)
        # What this read showed is the cache's buckets as they stand, less those whose empty
        # full pull was not kept (seen empty): the two name it (`Read.version`), and a read of
        # the same version is the snapshot built for it before.
        unkept = ",".join(sorted(pulled.unkept))
        return await self._built.read_for(
            feature,
            f"{feature.value}:{kind.caches.version}:{unkept}",
            functools.partial(self._snapshot, kind, feature, pulled.view, [], watermark),
            Checkpoint(self.key, feature, watermark, None, self._now()),
        )

    def _note_unread[T: HasItem, R](self, kind: Kind[T, R], failed: frozenset[str]) -> None:
        if kind is self._cache.list_kind:
            self._unread_lists = frozenset(b for b in failed if kind.caches.get(b) is None)

    async def _snapshot[T: HasItem, R](
        self,
        kind: Kind[T, R],
        feature: Feature,
        view: Mapping[str, Held[T]],
        failures: list[str],
        watermark: str | None,
    ) -> Snapshot:
        missing = [
            b for b in BUCKETS if b not in view and not any(f.startswith(f"{b}:") for f in failures)
        ]
        reasons = failures + [f"{b}: never read" for b in missing]
        # A copy to work on in a worker thread: a write on the loop may change the cache meanwhile
        # (packed buckets are unpacked there).
        still = {bucket: handed(entries) for bucket, entries in view.items()}

        def indexed() -> Snapshot:
            live = {bucket: entries_of(held) for bucket, held in still.items()}
            entries = list(kind.entries(feature, live))
            completeness = (
                partial("; ".join(reasons))
                if reasons
                else Completeness(all_pages=True, seen_total=len(entries), watermark=watermark)
            )
            return Snapshot.build(self.name, feature, entries, completeness)

        return await off_loop(indexed, size=sum(map(len, still.values())))

    # Search --------------------------------------------------------------------------------

    @property
    def search_name(self) -> str:
        """Search results are SIMKL's."""
        return "SIMKL"

    @translates_client_errors
    async def search_titles(self, text: str) -> Sequence[MediaItem]:
        """Movies, then shows, then anime SIMKL finds for `text`, each by its relevance."""
        found: list[MediaItem] = []
        for kind in ("movie", "tv", "anime"):
            for result in await self._api.search(kind, text):
                try:
                    found.append(media_item(result.bucket, result.media))
                except ProviderError:
                    continue  # names no item: nothing to list
        return found

    # Writes --------------------------------------------------------------------------------

    @translates_client_errors
    async def write(
        self, feature: Feature, action: Action, requests: Sequence[WriteRequest]
    ) -> Sequence[WriteResult]:
        """Write one batch; one result per request, in order."""
        if action is Action.CONFLICT:
            return [rejected(r, "conflicts_are_not_written") for r in requests]
        removal = action is Action.REMOVE
        if feature is Feature.WATCHLIST:
            if removal:
                return await self._unlist(requests)
            return await self._list(requests)
        if feature is Feature.HISTORY:
            path = "/sync/history/remove" if removal else "/sync/history"
            return await self._send(feature, removal, path, requests, history_object)
        path = "/sync/ratings/remove" if removal else "/sync/ratings"
        return await self._send(feature, removal, path, requests, rating_object)

    @translates_client_errors
    async def scrobble(self, action: ScrobbleAction, item: MediaItem, progress: float) -> Scrobbled:
        """One live scrobble call (engine/scrobble.py), by the ids a history write sends."""
        sent = scrobble_body(item, progress)
        if isinstance(sent, str):
            raise ProviderError(f"{item.title or item.key}: {sent}")
        reply = await self._api.scrobble(ScrobbleVerb(action.value), sent)
        return Scrobbled(reply.action, reply.recorded_play, reply.watched_at)

    async def _list(self, requests: Sequence[WriteRequest]) -> Sequence[WriteResult]:
        await self._cache.live()  # titles are looked up in the cache
        early: dict[int, WriteResult] = {}
        for number, request in enumerate(requests):
            found = self._cache.lists.find(request.item)
            if found is None and self._unread_lists:
                # add-to-list moves a title between lists: one in a list we could not read
                # would leave it (a completed title would lose its watched state).
                early[number] = rejected(request, "simkl_lists_unreadable")
            elif found is not None and found.status not in (None, WATCHLIST_STATUS):
                # add-to-list would move it out of that list: a completed movie would lose its
                # watched state.
                early[number] = rejected(request, f"in_simkl_list:{found.status}")
        return await self._send(
            Feature.WATCHLIST, False, "/sync/add-to-list", requests, listed_object, early=early
        )

    async def _unlist(self, requests: Sequence[WriteRequest]) -> Sequence[WriteResult]:
        # history/remove deletes whatever SIMKL holds for the item, so decide on fresh facts:
        # what this read saw, never a bucket it could not read.
        stamps = (await self._api.activities()).buckets
        pulled = await self._cache.refresh(self._cache.list_kind, stamps, self.name)
        # The cache's index finds only what this read saw: neither a failed bucket nor one whose
        # empty full pull the cache did not keep (the read saw it empty), in the read's order.
        seen = tuple(b for b in pulled.view if b not in pulled.failed | pulled.unkept)
        await self._cache.live()  # titles are looked up in the cache
        early: dict[int, WriteResult] = {}
        for number, request in enumerate(requests):
            found = self._cache.lists.find(request.item, among=seen)
            if found is None and pulled.failures:
                early[number] = rejected(request, "simkl_lists_unreadable")
            elif found is None or found.status != WATCHLIST_STATUS:
                # Not on the watchlist: removing it would delete its history instead.
                early[number] = rejected(request, "not_on_simkl_watchlist")
        return await self._send(
            Feature.WATCHLIST, True, "/sync/history/remove", requests, plain_object, early=early
        )

    async def _send(
        self,
        feature: Feature,
        removal: bool,
        path: str,
        requests: Sequence[WriteRequest],
        build: Callable[[WriteRequest, bool], tuple[str, SyncObject] | str],
        *,
        early: Mapping[int, WriteResult] | None = None,
    ) -> Sequence[WriteResult]:
        results: dict[int, WriteResult] = dict(early or {})
        sent: dict[tuple[str, str], Sent] = {}
        for number, request in enumerate(requests):
            if number in results:
                continue
            built = build(request, removal)
            if isinstance(built, str):
                results[number] = rejected(request, built)
                continue
            section, body = built
            key = (section, fingerprint(body))
            if key in sent:
                sent[key].body = absorb(sent[key].body, body)
                sent[key].indexes.append(number)
            else:
                sent[key] = Sent(section, body, [number])
        if sent:
            payload: dict[str, list[SyncObject]] = {}
            for one in sent.values():
                payload.setdefault(one.section, []).append(one.body)
            # Marked before sending: a reply lost after SIMKL stored the write (a 5xx, a
            # timeout) must still have the next read pull these buckets in full.
            await self._cache.live()  # each write's title is looked up in the cache
            awaited = self._cache.await_writes(
                feature, removal, [requests[n] for one in sent.values() for n in one.indexes]
            )
            reply = await self._api.post(path, payload)
            refused: set[int] = set()
            for one in sent.values():
                said, reason = outcome(reply, one)
                for number in one.indexes:
                    results[number] = WriteResult(requests[number].item, said, reason)
                    if said is WriteOutcome.REJECTED:
                        refused.add(id(requests[number].item))
            if refused:
                self._cache.refused(awaited, refused)
        return [results[number] for number in range(len(requests))]
