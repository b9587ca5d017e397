"""Trakt as an engine provider: watchlist, play history and ratings of one account.

Reads are present snapshots built from an in-memory cache per category (movies, shows,
seasons, episodes). A cold start reads everything; after that `/sync/last_activities` says which
categories moved, and only those are read again, every page in full (never a 304: Trakt's
caches have answered 304 for lists that had changed). Activities only decide what to read
again: our own writes and unrelated changes move them too, so they are no evidence for what a
read lost (the engine's drop guard judges a shrink).

What the cache may claim:
- A cached body is paired with the activity stamp it is known to reflect, and is reused only
  while the stamp is the same. A stamp that moved while the body stayed the same is no proof the
  body caught up (Trakt's lists lag behind its activities, and behind our writes): the category
  is read again on every read until its body changes, or until `settle_reads` reads and
  `settle_time` have passed. Our writes start the same wait for exactly the categories they
  touch, whatever the activities say (they freeze at times).
- Activities that are not JSON or lack a category's stamp vouch for nothing: those categories
  are read in full, nothing read is cached under no stamp, and the read's watermark is None.
- A body with fewer records than the cached one is reported as read (the engine's drop guard
  judges a shrink) but never stands in for later reads until another read confirms it.
- A cache older than `max_cache_age` is read again in full, in case activities stop advancing.

Completeness is judged category by category: a category is complete when the total Trakt
announced (X-Pagination-Item-Count) matches the records read, or, without a total, when every
page Trakt announced (X-Pagination-Page-Count) was read and each one before the last was full.
Any category that cannot show that makes the snapshot partial, naming it and its counts; a
read that failed midway never replaces the cache.

Writes send only ids Trakt matches on and answer per item from `not_found` (see `writes`); a
lost reply is raised as `OutcomeUnknownError`. The cache's rules are in `cache`, the mapping of
records to entries in `entries`; the client hands all of them typed records, never JSON.
"""

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from functools import partial
import hashlib
from itertools import chain
import json
import logging
import time

from ...clients.http import RateLimit
from ...clients.off_loop import off_loop
from ...clients.scrobble import ScrobbleVerb
from ...clients.trakt.client import TraktClient
from ...clients.trakt.models import (
    CategoryActivity,
    LastActivities,
    RecordType,
    format_time,
    parse_time,
)
from ...engine.capabilities import Capabilities, HistorySupport
from ...engine.cursor import Checkpoint
from ...engine.items import MediaItem
from ...engine.packed import PackedEntries, pack_entries, unpack_entries
from ...engine.payloads import Entry, Feature
from ...engine.plan import Action
from ...engine.provider import (
    AccountLimitError,
    AnyRead,
    ItemCounts,
    ProviderError,
    WriteOutcome,
    WriteRequest,
    WriteResult,
)
from ...engine.ratings import RatingScale
from ...engine.scrobble import ScrobbleAction, Scrobbled
from ...engine.snapshot import Completeness, Snapshot
from ..built import BuiltSnapshots
from ..client_errors import translates_client_errors, translating
from .cache import CategoryRead, ReadCache
from .entries import history_entries, item_of, rating_entries, watchlist_entries
from .writes import (
    NO_USABLE_ID,
    Placement,
    body,
    outcomes,
    placement,
    scrobble_body,
    touched,
)

__all__ = [
    "CATEGORIES",
    "NO_USABLE_ID",
    "PATHS",
    "TraktProvider",
    "format_time",
    "item_of",
    "parse_time",
]

_LOGGER = logging.getLogger(__name__)

# The categories each feature is read in.
CATEGORIES: Mapping[Feature, tuple[str, ...]] = {
    Feature.WATCHLIST: ("movies", "shows", "seasons", "episodes"),
    Feature.HISTORY: ("movies", "episodes"),
    Feature.RATINGS: ("movies", "shows", "seasons", "episodes"),
}
PATHS: Mapping[Feature, str] = {
    Feature.WATCHLIST: "/sync/watchlist",
    Feature.HISTORY: "/sync/history",
    Feature.RATINGS: "/sync/ratings",
}
# What /users/{id}/stats counts of each feature, as the records a read of it sees.
_STATS: Mapping[Feature, tuple[tuple[str, str], ...]] = {
    Feature.HISTORY: (("movies", "plays"), ("episodes", "plays")),
    Feature.RATINGS: (
        ("movies", "ratings"),
        ("shows", "ratings"),
        ("seasons", "ratings"),
        ("episodes", "ratings"),
    ),
}
# What /users/{id}/stats counts of each feature as the items a read of it keys: a history read
# keys each movie and episode once, however often it was played ("watched", not "plays").
_ITEM_STATS: Mapping[Feature, tuple[tuple[str, str], ...]] = {
    Feature.HISTORY: (("movies", "watched"), ("episodes", "watched")),
    Feature.RATINGS: _STATS[Feature.RATINGS],
}


class TraktProvider:
    """One Trakt account as the engine sees it."""

    def __init__(
        self,
        client: TraktClient,
        *,
        slug: str | None = None,
        settle_reads: int = 3,
        settle_time: timedelta = timedelta(hours=1),
        max_cache_age: timedelta = timedelta(hours=24),
        now: Callable[[], float] = time.time,
    ) -> None:
        """Wrap a client; `slug` (the account's, once known) keeps `key` stable before health().

        A category that moved without its body changing (or that we wrote to) is read again
        until its body changes, or for at least `settle_reads` reads and `settle_time`.
        """
        self._client = translating(client)
        self._slug = slug
        self._now = now
        self._limits: dict[Feature, int] = {}
        self._built = BuiltSnapshots()
        self._cache = ReadCache(
            settle_reads=settle_reads,
            settle_time=settle_time.total_seconds(),
            max_age=max_cache_age.total_seconds(),
            now=now,
        )

    @property
    def key(self) -> str:
        """'trakt:<slug>' once the account is known."""
        return f"trakt:{self._slug}" if self._slug else "trakt"

    @property
    def name(self) -> str:
        """'Trakt (<slug>)'."""
        return f"Trakt ({self._slug})" if self._slug else "Trakt"

    @property
    def capabilities(self) -> Capabilities:
        """Plays with their dates, integer ratings 1-10, per-item write answers."""
        return Capabilities(
            features=frozenset(Feature),
            # Trakt's docs promise seconds, but the engine's notes say minutes: matching plays
            # within a minute can at worst merge two plays, where a too-fine precision would
            # send the same play again on every run.
            history=HistorySupport(
                multiple_plays=True, sets_watched_at=True, precision=timedelta(minutes=1)
            ),
            rating_scale=RatingScale.INTEGER_1_10,
            batch_size=100,
            confirms_per_item=True,
            limits=dict(self._limits),
        )

    @property
    def requests_made(self) -> int:
        """HTTP requests sent so far."""
        return self._client.requests_made

    @property
    def rate_limit(self) -> RateLimit | None:
        """The read quota Trakt last reported (its X-Ratelimit header)."""
        return self._client.rate_limit

    @translates_client_errors
    async def health(self) -> None:
        """Read `/users/settings`: the account's slug and its plan's limits.

        The watchlist's is the one Trakt reports, else its plan's; the ratings' is its plan's
        (free or VIP, as the settings say: Trakt reports no ratings limit). Unknown stays unset.
        """
        settings = await self._client.settings()  # no slug: a ProviderError, as any bad reply
        self._slug = settings.slug
        plan = settings.plan_limits
        watchlist = settings.watchlist_limit or (plan.watchlist if plan else None)
        for feature, limit in (
            (Feature.WATCHLIST, watchlist),
            (Feature.RATINGS, plan.ratings if plan else None),
        ):
            if limit is None:
                self._limits.pop(feature, None)
            else:
                self._limits[feature] = limit

    @translates_client_errors
    async def count_agrees(self, snapshot: Snapshot) -> bool | None:
        """Whether Trakt's own statistics count the plays or ratings `snapshot` saw.

        `/users/{id}/stats` counts them apart from the lists, so it is a second witness when a
        list seems to have shrunk. The watchlist has no such count.
        """
        fields = _STATS.get(snapshot.feature)
        if fields is None:
            return None
        stats = await self._client.stats(self._slug or "me")
        counted = 0
        for group, name in fields:
            value = stats.count(group, name)
            if value is None:
                raise ProviderError(f"Trakt's statistics give no {group} {name}")
            counted += value
        return counted == snapshot.completeness.seen_total

    @translates_client_errors
    async def count_items(self, *, ask: bool) -> ItemCounts:
        """The watched and rated items `/users/{id}/stats` counts: one request, when asked.

        A group the statistics leave out makes its feature untold, never 0.
        """
        if not ask:
            return ItemCounts({}, {})
        stats = await self._client.stats(self._slug or "me")
        counted: dict[Feature, int] = {}
        untold: dict[Feature, str] = {}
        for feature, fields in _ITEM_STATS.items():
            values = [stats.count(group, name) for group, name in fields]
            if any(value is None for value in values):
                untold[feature] = "Trakt's statistics left this count out"
            else:
                counted[feature] = sum(value or 0 for value in values)
        return ItemCounts(counted, untold)

    # -- reads ----------------------------------------------------------------------------

    @translates_client_errors
    async def read(self, feature: Feature, checkpoint: Checkpoint | None) -> AnyRead:
        """A present snapshot of `feature`, re-reading only the categories that moved."""
        del checkpoint  # the cache and the stamps it was read under decide what to read again
        stamps = await self._stamps(feature)
        parts: list[Sequence[Entry] | PackedEntries] = []  # each category's entries
        failures: list[str] = []
        expected: int | None = 0
        seen = 0
        all_pages = True
        etags: dict[str, str] = {}
        bodies: list[str] = []  # each category's records as received, for the read's version
        for category in CATEGORIES[feature]:
            key = (feature, category)
            cached = self._cache.reusable(key, stamps[category])
            if cached is not None:
                bodies.append(f"{category}:{cached.rows}:{cached.digest}")
                parts.append(cached.entries)
                seen += cached.rows
                expected = None if expected is None else expected + cached.rows
                if cached.etag:
                    etags[category] = cached.etag
                continue
            got = await self._read_category(feature, category)
            bodies.append(f"{category}:{got.rows}:{got.paged.digest}")
            parts.append(got.entries)
            seen += got.rows
            total = got.proven_total
            expected = None if expected is None or total is None else expected + total
            all_pages = all_pages and got.paged.all_pages
            if got.paged.etag:
                etags[category] = got.paged.etag
            problem = got.problem
            if problem is not None:
                failures.append(f"{category}: {problem}")
                continue
            packed = await off_loop(partial(pack_entries, got.entries), size=len(got.entries))
            self._cache.keep(key, got, stamps[category], packed)
        completeness = Completeness(
            all_pages=all_pages,
            expected_total=expected,
            seen_total=seen,
            watermark=_watermark(stamps),
            etag=json.dumps(etags, sort_keys=True) if etags else None,
            failure="; ".join(failures) or None,
        )
        # The entries are a function of the records, so equal records make an equal read: a
        # read of the same version is the snapshot built for it before.
        build = partial(_snapshot, self.name, feature, parts, completeness)
        size = sum(part.count if isinstance(part, PackedEntries) else len(part) for part in parts)
        return await self._built.read_for(
            feature,
            None if failures else _version(feature, bodies),
            partial(off_loop, build, size=size),
            Checkpoint(
                provider=self.key,
                feature=feature,
                watermark=completeness.watermark,
                etag=completeness.etag,
                updated_at=datetime.fromtimestamp(self._now(), UTC),
            ),
        )

    def forget_reads(self, feature: Feature | None = None, *, validated: bool = False) -> None:
        """With `validated`, fetch every page of the feature on the next read.

        Whatever the activities say then. Every read asks the activities first, so nothing is
        ever reused unchecked.
        """
        if not validated:
            return
        features = [feature] if feature else list(Feature)
        self._cache.forget((each, category) for each in features for category in CATEGORIES[each])

    async def _stamps(self, feature: Feature) -> dict[str, str | None]:
        """Each category's activity stamp; None where `/sync/last_activities` did not say.

        A reply that is not JSON, or lacks a stamp, vouches for nothing: those categories are
        read in full, and the read is complete only if those reads are. No reply at all (a
        fault the shared client gave up on) fails the read, as any other request would.
        """
        activities: LastActivities = await self._client.last_activities()
        if activities.unreadable is not None:
            _LOGGER.warning(
                "Trakt sent activities that are not JSON (%s): reading in full",
                activities.unreadable,
            )
        return {
            category: _stamp(activities.category(category), feature)
            for category in CATEGORIES[feature]
        }

    async def _read_category(self, feature: Feature, category: str) -> CategoryRead:
        match feature:
            case Feature.WATCHLIST:
                listed = await self._client.watchlist(category)
                entries, unreadable = await off_loop(
                    partial(watchlist_entries, listed.records), size=len(listed.records)
                )
                return CategoryRead(tuple(entries), listed, listed.malformed + unreadable)
            case Feature.HISTORY:
                plays = await self._client.history(category)
                entries, unreadable = await off_loop(
                    partial(history_entries, plays.records), size=len(plays.records)
                )
                return CategoryRead(tuple(entries), plays, plays.malformed + unreadable)
            case Feature.RATINGS:
                rated = await self._client.ratings(category)
                entries, unreadable = await off_loop(
                    partial(rating_entries, rated.records), size=len(rated.records)
                )
                return CategoryRead(tuple(entries), rated, rated.malformed + unreadable)

    # -- search ---------------------------------------------------------------------------

    @property
    def search_name(self) -> str:
        """Search results are Trakt's."""
        return "Trakt"

    @translates_client_errors
    async def search_titles(self, text: str) -> Sequence[MediaItem]:
        """Movies and shows Trakt finds for `text`, by its relevance score, best first."""
        hits = [
            *await self._client.search(RecordType.MOVIE, text),
            *await self._client.search(RecordType.SHOW, text),
        ]
        hits.sort(key=lambda hit: hit.score, reverse=True)  # stable: movies first on a tie
        found: list[MediaItem] = []
        for hit in hits:
            try:
                found.append(item_of(hit.media))
            except ValueError:
                continue  # names no item: nothing to list
        return found

    # -- writes ---------------------------------------------------------------------------

    @translates_client_errors
    async def write(
        self, feature: Feature, action: Action, requests: Sequence[WriteRequest]
    ) -> Sequence[WriteResult]:
        """Write one batch; items Trakt lists as not found are rejected, the rest confirmed."""
        if action is Action.CONFLICT:
            return [
                WriteResult(r.item, WriteOutcome.REJECTED, "a conflict is never written")
                for r in requests
            ]
        removing = action is Action.REMOVE
        sent: list[tuple[WriteRequest, Placement]] = []
        results: dict[int, WriteResult] = {}
        answers: Iterator[tuple[WriteOutcome, str | None]] = iter(())
        for index, request in enumerate(requests):
            where = placement(request.item)
            if where is None:
                results[index] = WriteResult(request.item, WriteOutcome.REJECTED, NO_USABLE_ID)
            else:
                sent.append((request, where))
        if sent:
            batch = body(feature, sent, removing)
            path = f"{PATHS[feature]}/remove" if removing else PATHS[feature]
            placements = [where for _, where in sent]
            # Plays are the one thing Trakt does not deduplicate: never repeat an add blindly.
            idempotent = removing or feature is not Feature.HISTORY
            # Any other error reaches the engine as it is: OutcomeUnknownError above all (a
            # reply lost after Trakt may have stored the batch) must never become a failure,
            # which the engine would send again.
            try:
                reply = await self._client.sync(path, batch, idempotent=idempotent)
            except AccountLimitError as err:
                if err.limit is None and feature in self._limits:
                    raise AccountLimitError(str(err), self._limits[feature]) from err
                raise
            finally:
                # Whatever the reply, the write may have landed: wait for it to show.
                self._cache.written(touched(feature, placements, removing=removing))
            answers = iter(outcomes(reply, placements))
        for index, request in enumerate(requests):
            if index not in results:
                outcome, reason = next(answers)
                results[index] = WriteResult(request.item, outcome, reason)
        return [results[index] for index in range(len(requests))]

    @translates_client_errors
    async def scrobble(self, action: ScrobbleAction, item: MediaItem, progress: float) -> Scrobbled:
        """One live scrobble call (engine/scrobble.py), by the ids a sync write sends.

        A stop that recorded a play moves the history like a write: its categories are read
        again until they show it.
        """
        where = placement(item)
        sent = scrobble_body(item, where, progress) if where is not None else None
        if where is None or sent is None:
            raise ProviderError(f"{item.title or item.key}: {NO_USABLE_ID}")
        reply = await self._client.scrobble(ScrobbleVerb(action.value), sent)
        if reply.recorded_play or action is ScrobbleAction.STOP:
            self._cache.written(touched(Feature.HISTORY, [where], removing=False))
        return Scrobbled(reply.action, reply.recorded_play, reply.watched_at)


def _stamp(activity: CategoryActivity, feature: Feature) -> str | None:
    """The activity field that dates changes to `feature` in one category."""
    match feature:
        case Feature.WATCHLIST:
            return activity.watchlisted_at
        case Feature.HISTORY:
            return activity.watched_at
        case Feature.RATINGS:
            return activity.rated_at


def _watermark(stamps: Mapping[str, str | None]) -> str | None:
    """The stamps a read went by; None when any is unknown."""
    if any(stamp is None for stamp in stamps.values()):
        return None
    return json.dumps(dict(stamps), sort_keys=True)


def _snapshot(
    provider: str,
    feature: Feature,
    parts: Sequence[Sequence[Entry] | PackedEntries],
    completeness: Completeness,
) -> Snapshot:
    """The snapshot of the categories' entries, kept ones unpacked (pure; for the executor)."""
    entries = chain.from_iterable(
        unpack_entries(part) if isinstance(part, PackedEntries) else part for part in parts
    )
    return Snapshot.build(provider, feature, entries, completeness)


def _version(feature: Feature, bodies: Iterable[str]) -> str:
    """The read's version (`Read.version`): a digest of every category's records as received."""
    digest = hashlib.sha256(feature.value.encode())
    for records in bodies:
        digest.update(b"\n" + records.encode())
    return digest.hexdigest()
