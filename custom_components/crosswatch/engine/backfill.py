"""ID backfill: lend ids to items that carry only their own provider's ids.

AniList items know only anilist and mal ids, so on their own they can never match a Trakt or
Plex item, and a Trakt or Plex item carries no AniList id to be written to AniList by. Two
sources fill the gap:
- an **ID mapping table** (e.g. a public anime list mapping anilist/mal to tvdb/tmdb/imdb),
  loaded through `IdMapLoader` and cached by the caller;
- the **other side of the same pair**: an item there that shares a token with ours lends us the
  rest of its ids (only to items without the ids every service knows: the others match already).

Enrichment only ever adds ids, and only unambiguous ones: an id that several mapping records
share (every season of one anime maps to the same tvdb series) identifies none of them, and a
record that contradicts an id the item already has is ignored. Enriched items are re-keyed to the
stronger canonical key. What was learned is kept per pair scope, so it survives the other side
losing the item, and never leaks into another pair.
"""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from functools import partial
from typing import Protocol

from .applier import RunBlocking
from .ids import normalize_ids
from .items import MediaItem
from .payloads import Entry
from .provider import ProviderError
from .snapshot import Snapshot
from .store import StateStore

REFRESH_EVERY = timedelta(days=7)
# Ids that every tracker and media server knows: an item with one needs no backfill. Tokens
# are strongest first, so the first token tells.
_WIDELY_SHARED = ("imdb:", "tmdb:", "tvdb:")


@dataclass(frozen=True, slots=True)
class IdRecord:
    """One title's ids across namespaces, e.g. {"anilist": "1", "mal": "1", "tvdb": "76885"}."""

    ids: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class IdMapFetch:
    """What a loader fetched: the records, or None when the source has not changed."""

    records: Sequence[IdRecord] | None
    validator: str | None  # an ETag or Last-Modified to send next time


class IdMapLoader(Protocol):
    """A source of id mappings (e.g. a downloadable anime list)."""

    @property
    def source(self) -> str:
        """A stable name of the source, used to cache what it returned."""

    async def fetch(self, validator: str | None) -> IdMapFetch:
        """Fetch the records; with a validator, answer `records=None` if nothing changed.

        Raises ProviderError when the source cannot be reached; callers go on without it.
        """


class IdMap:
    """Mapping records indexed by every (namespace, id) they contain that is unambiguous."""

    def __init__(self, records: Iterable[IdRecord]) -> None:
        """Index the records; ids shared by several records are dropped as ambiguous."""
        self._records: list[dict[str, str]] = []
        owners: dict[tuple[str, str], int] = {}
        shared: set[tuple[str, str]] = set()
        for record in records:
            ids = {str(ns): value for ns, value in normalize_ids(record.ids).items()}
            if len(ids) < 2:
                continue  # a record that maps an id to nothing lends nothing
            index = len(self._records)
            self._records.append(ids)
            for pair in ids.items():
                if owners.setdefault(pair, index) != index:
                    shared.add(pair)
        for pair in shared:
            del owners[pair]
        self._owners = owners
        # Every id value the map knows, whatever its namespace: most items of a large library
        # are ruled out by one set lookup per token, before their ids are read back.
        self._values = frozenset(value for _, value in owners)

    def __len__(self) -> int:
        """How many records the map holds."""
        return len(self._records)

    def ids_for(self, item: MediaItem) -> dict[str, str]:
        """The unambiguous ids the map lends `item` (those it lacks), or nothing."""
        if not any(token.rpartition(":")[2] in self._values for token in item.tokens):
            return {}  # no id of the item's is in the map (the map's ids hold no colon)
        own = item.ids()
        found = {self._owners.get((ns, value)) for ns, value in own.items()} - {None}
        if len(found) != 1:
            return {}  # unknown, or the item's ids point at different records
        record = self._records[found.pop()]  # type: ignore[index]
        if any(own.get(ns, value) != value for ns, value in record.items()):
            return {}  # the record contradicts what the item says about itself
        return {
            ns: value
            for ns, value in record.items()
            if ns not in own and (ns, value) in self._owners
        }


@dataclass(frozen=True, slots=True)
class Backfilled:
    """A snapshot with enriched items, and what was newly learned (original key -> tokens)."""

    snapshot: Snapshot
    learned: Mapping[str, tuple[str, ...]]


def backfill(
    snapshot: Snapshot,
    *,
    known: Mapping[str, tuple[str, ...]],
    id_map: IdMap | None,
    other: Snapshot | None,
) -> Backfilled:
    """Enrich a snapshot's items with ids from what was learned before, the map and the other side.

    `known` is what earlier runs of this pair scope learned (original key -> tokens). Only items
    that gained tokens are rebuilt; the others are kept as they are.
    """
    entries: list[Entry] = []
    learned: dict[str, tuple[str, ...]] = {}
    changed = False
    for entry in snapshot.entries.values():
        item = entry.item
        widely_shared = bool(item.tokens) and item.tokens[0].startswith(_WIDELY_SHARED)
        if widely_shared and id_map is None:
            # Already matchable everywhere; also keeps in-sync pairs of 100k items cheap.
            entries.append(entry)
            continue
        extra = set(known.get(item.key, ()))
        if id_map is not None:
            # A Trakt or Plex anime learns its AniList id here, so AniList can be written to.
            lent = id_map.ids_for(item)
            if lent:
                extra.update(MediaItem.create(item.type, ids=lent, title=item.title).tokens)
        if other is not None and not widely_shared:
            match = other.find(item)  # a strong match: a shared id token
            if match is not None:
                extra.update(match.item.tokens)
        extra -= set(item.tokens)
        if not extra:
            entries.append(entry)
            continue
        enriched = item.merged(
            MediaItem.from_tokens(
                item.type, title=item.title, year=item.year, season=item.season,
                episode=item.episode, tokens=tuple(extra), local_tokens=(),
            )
        )  # fmt: skip
        entries.append(Entry(enriched, entry.payload))
        changed = True
        added = tuple(sorted(set(enriched.tokens) - set(item.tokens)))
        if added != tuple(sorted(known.get(item.key, ()))):
            learned[item.key] = added
    if not changed:
        return Backfilled(snapshot, {})
    rebuilt = Snapshot.build(
        snapshot.provider, snapshot.feature, entries, snapshot.completeness,
        semantics=snapshot.semantics, removed=snapshot.removed,
    )  # fmt: skip
    return Backfilled(replace(rebuilt, stand_ins=snapshot.stand_ins), learned)


@dataclass(frozen=True, slots=True)
class IdMapStatus:
    """The id map to use this run, and why it may be stale or missing."""

    id_map: IdMap | None
    warning: str | None = None
    checked_at: datetime | None = None  # when the source last answered (None: never)


async def load_id_map(
    loader: IdMapLoader,
    store: StateStore,
    *,
    run_blocking: RunBlocking,
    now: datetime,
    max_age: timedelta = REFRESH_EVERY,
) -> IdMapStatus:
    """The cached id map, refreshed from its source when older than `max_age` (a week).

    A source that cannot be reached leaves the cached copy in use, or none, with a warning:
    matching degrades to the ids providers give, it never stops a run.
    """
    cached = await run_blocking(partial(store.id_map_copy, loader.source))
    warning = None
    if cached is None or now - cached.checked_at >= max_age:
        try:
            fetched = await loader.fetch(cached.validator if cached else None)
        except ProviderError as err:
            warning = f"the id mapping list {loader.source} could not be refreshed: {err}"
        else:
            records = (
                None
                if fetched.records is None
                else [dict(record.ids) for record in fetched.records]
            )
            await run_blocking(
                partial(store.save_id_map, loader.source, records, fetched.validator, now)
            )
            if records is not None:
                cached = await run_blocking(partial(store.id_map_copy, loader.source))
            elif cached is not None:  # unchanged: the copy in hand is current as of now
                cached = replace(cached, checked_at=now)
    if cached is None:
        return IdMapStatus(None, warning)
    id_map = await run_blocking(partial(IdMap, (IdRecord(ids) for ids in cached.records)))
    return IdMapStatus(id_map, warning, cached.checked_at)
