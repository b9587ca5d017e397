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

Writes send only ids Trakt matches on (never a bare title, which Trakt resolves to "the most
current" item of that name) and answer per item from `not_found`; a reply without per-item
detail leaves every item unknown, and a lost reply is raised as `OutcomeUnknownError`.
"""

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
import hashlib
import json
import logging
import time
from typing import Any

from ...clients.errors import CrossWatchInvalidResponseError
from ...clients.http import RateLimit
from ...clients.trakt.client import PagedRead, TraktClient
from ...engine.capabilities import Capabilities, HistorySupport
from ...engine.cursor import Checkpoint
from ...engine.ids import Namespace, normalize_id
from ...engine.items import MediaItem, MediaType
from ...engine.payloads import Entry, Feature, Listed, Payload, Rated, Watched
from ...engine.plan import Action
from ...engine.provider import (
    AccountLimitError,
    ProviderError,
    Read,
    WriteOutcome,
    WriteRequest,
    WriteResult,
)
from ...engine.ratings import RatingScale, from_normalized, to_normalized
from ...engine.snapshot import Completeness, Snapshot
from ..client_errors import translates_client_errors, translating

_LOGGER = logging.getLogger(__name__)

# The categories each feature is read in, and the activity field that dates their changes.
CATEGORIES: Mapping[Feature, tuple[str, ...]] = {
    Feature.WATCHLIST: ("movies", "shows", "seasons", "episodes"),
    Feature.HISTORY: ("movies", "episodes"),
    Feature.RATINGS: ("movies", "shows", "seasons", "episodes"),
}
ACTIVITY_FIELD: Mapping[Feature, str] = {
    Feature.WATCHLIST: "watchlisted_at",
    Feature.HISTORY: "watched_at",
    Feature.RATINGS: "rated_at",
}
PATHS: Mapping[Feature, str] = {
    Feature.WATCHLIST: "/sync/watchlist",
    Feature.HISTORY: "/sync/history",
    Feature.RATINGS: "/sync/ratings",
}
# Ids Trakt matches on, per top-level array of a sync body, with their JSON types.
_SYNC_IDS: Mapping[str, tuple[str, ...]] = {
    "movies": ("trakt", "slug", "imdb", "tmdb"),
    "shows": ("trakt", "slug", "imdb", "tmdb", "tvdb"),
    "seasons": ("trakt", "tmdb", "tvdb"),
    "episodes": ("trakt", "tvdb", "imdb", "tmdb"),
}
_STRING_IDS = frozenset({"imdb", "slug"})
_ROW_KINDS = {
    "movie": MediaType.MOVIE,
    "show": MediaType.SHOW,
    "season": MediaType.SEASON,
    "episode": MediaType.EPISODE,
}
NO_USABLE_ID = "no id Trakt can match on"
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


# What history and watchlist categories a write to one top-level array of a sync body touches.
_HISTORY_CATEGORY: Mapping[str, str] = {
    "movies": "movies",
    "shows": "episodes",
    "seasons": "episodes",
    "episodes": "episodes",
}
# Trakt takes what is watched off the watchlist: a movie; an episode's show, season and itself.
_CLEARED_BY_PLAYS: Mapping[str, tuple[str, ...]] = {
    "movies": ("movies",),
    "shows": ("shows", "seasons", "episodes"),
    "seasons": ("shows", "seasons", "episodes"),
    "episodes": ("shows", "seasons", "episodes"),
}
_PAGINATION_UNPROVEN = (
    "records read, and no X-Pagination-Item-Count or X-Pagination-Page-Count"
    " to show that was all of them"
)

type _Key = tuple[Feature, str]


@dataclass(frozen=True, slots=True)
class _Category:
    """One category as last read in full: its entries and the evidence of that read."""

    entries: tuple[Entry, ...]
    rows: int  # records read (history: plays)
    digest: str  # of the records as read: whether a later body is the same
    activity: str  # the activity stamp this body was read under
    etag: str | None
    read_at: float


@dataclass(frozen=True, slots=True)
class _Unsettled:
    """A category whose body may lag behind a change: read again until it shows one."""

    since: float
    reads: int  # complete reads since the change
    digest: str | None  # the body before the change, when it was known


@dataclass(frozen=True, slots=True)
class _Placement:
    """Where an item goes in a sync body: a top-level array, or nested under its show."""

    array: str
    ids: Mapping[str, int | str]
    season: int | None = None
    episode: int | None = None

    @property
    def nested(self) -> bool:
        return self.array == "shows" and self.season is not None


@dataclass(frozen=True, slots=True)
class _CategoryRead:
    """One category as just read, and whether that read proves it saw all of it."""

    entries: tuple[Entry, ...]
    paged: PagedRead
    unreadable: int  # records that could not be mapped to an entry

    @property
    def rows(self) -> int:
        return len(self.paged.items)

    @property
    def problem(self) -> str | None:
        """Why this read is not provably the whole category, or None when it is."""
        paged, rows = self.paged, self.rows
        announced = paged.expected_total
        reasons: list[str] = []
        if paged.failure is not None:
            counted = f"{rows} of {announced} announced" if announced is not None else f"{rows}"
            reasons.append(f"{paged.failure} ({counted} records read)")
        elif announced is not None:
            if announced != rows:
                reasons.append(f"{rows} of {announced} announced records read")
        elif paged.page_count is None:
            # One page with no count at all: Trakt may have paged it at another size, or
            # dropped the headers; what was read may be any part of the list.
            reasons.append(f"{rows} {_PAGINATION_UNPROVEN}")
        if self.unreadable:
            # A row we cannot read would look like an item the user removed.
            reasons.append(f"{self.unreadable} records could not be read")
        return "; ".join(reasons) or None

    @property
    def proven_total(self) -> int | None:
        """The category's size as the evidence shows it, or None when it cannot."""
        if self.problem is not None:
            return None
        return self.paged.expected_total if self.paged.expected_total is not None else self.rows

    @property
    def digest(self) -> str:
        text = json.dumps(self.paged.items, sort_keys=True, separators=(",", ":"), default=str)
        return hashlib.sha256(text.encode()).hexdigest()


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
        self._settle_reads = settle_reads
        self._settle_time = settle_time.total_seconds()
        self._max_age = max_cache_age.total_seconds()
        self._now = now
        self._limits: dict[Feature, int] = {}
        self._cache: dict[_Key, _Category] = {}
        self._unsettled: dict[_Key, _Unsettled] = {}

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
        """Read `/users/settings`: the account's slug and its plan's limits."""
        settings = await self._client.get_json("/users/settings")
        try:
            slug = settings["user"]["ids"]["slug"]
        except (KeyError, TypeError) as err:
            raise ProviderError("Trakt sent settings without the account's slug") from err
        if not isinstance(slug, str) or not slug:
            raise ProviderError("Trakt sent settings without the account's slug")
        self._slug = slug
        limits = settings.get("limits") if isinstance(settings, dict) else None
        watchlist = limits.get("watchlist") if isinstance(limits, dict) else None
        cap = watchlist.get("item_count") if isinstance(watchlist, dict) else None
        if isinstance(cap, int) and not isinstance(cap, bool) and cap > 0:
            self._limits[Feature.WATCHLIST] = cap

    @translates_client_errors
    async def count_agrees(self, snapshot: Snapshot) -> bool | None:
        """Whether Trakt's own statistics count the plays or ratings `snapshot` saw.

        `/users/{id}/stats` counts them apart from the lists, so it is a second witness when a
        list seems to have shrunk. The watchlist has no such count.
        """
        fields = _STATS.get(snapshot.feature)
        if fields is None:
            return None
        stats = await self._client.get_json(f"/users/{self._slug or 'me'}/stats")
        counted = 0
        for group, name in fields:
            section = stats.get(group) if isinstance(stats, dict) else None
            value = section.get(name) if isinstance(section, dict) else None
            if not isinstance(value, int) or isinstance(value, bool):
                raise ProviderError(f"Trakt's statistics give no {group} {name}")
            counted += value
        return counted == snapshot.completeness.seen_total

    # -- reads ----------------------------------------------------------------------------

    @translates_client_errors
    async def read(self, feature: Feature, checkpoint: Checkpoint | None) -> Read:
        """A present snapshot of `feature`, re-reading only the categories that moved."""
        del checkpoint  # the cache and the stamps it was read under decide what to read again
        stamps = await self._stamps(feature)
        entries: list[Entry] = []
        failures: list[str] = []
        expected: int | None = 0
        seen = 0
        all_pages = True
        etags: dict[str, str] = {}
        for category in CATEGORIES[feature]:
            key = (feature, category)
            cached = self._reusable(key, stamps[category])
            if cached is not None:
                entries.extend(cached.entries)
                seen += cached.rows
                expected = None if expected is None else expected + cached.rows
                if cached.etag:
                    etags[category] = cached.etag
                continue
            got = await self._read_category(feature, category)
            entries.extend(got.entries)
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
            self._keep(key, got, stamps[category])
        completeness = Completeness(
            all_pages=all_pages,
            expected_total=expected,
            seen_total=seen,
            watermark=_watermark(stamps),
            etag=json.dumps(etags, sort_keys=True) if etags else None,
            failure="; ".join(failures) or None,
        )
        snapshot = Snapshot.build(self.name, feature, entries, completeness)
        return Read(
            snapshot,
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
        for each in [feature] if feature else list(Feature):
            for category in CATEGORIES[each]:
                self._cache.pop((each, category), None)

    async def _stamps(self, feature: Feature) -> dict[str, str | None]:
        """Each category's activity stamp; None where `/sync/last_activities` did not say.

        A reply that is not JSON, or lacks a stamp, vouches for nothing: those categories are
        read in full, and the read is complete only if those reads are. No reply at all (a
        fault the shared client gave up on) fails the read, as any other request would.
        """
        reply = await self._client.request("GET", "/sync/last_activities")
        try:
            activities = reply.json()
        except CrossWatchInvalidResponseError as err:
            _LOGGER.warning("Trakt sent activities that are not JSON (%s): reading in full", err)
            activities = None
        return {
            category: _activity(activities, category, ACTIVITY_FIELD[feature])
            for category in CATEGORIES[feature]
        }

    def _reusable(self, key: _Key, stamp: str | None) -> _Category | None:
        cached = self._cache.get(key)
        if (
            cached is None
            or stamp is None
            or cached.activity != stamp
            or key in self._unsettled
            or self._now() - cached.read_at > self._max_age
        ):
            return None
        return cached

    def _keep(self, key: _Key, got: _CategoryRead, stamp: str | None) -> None:
        """Cache a complete read under the stamp it was read under, unless that proves nothing."""
        before = self._cache.get(key)
        digest = got.digest
        unsettled = self._unsettled.get(key)
        if unsettled is not None:
            reads = unsettled.reads + 1
            changed = unsettled.digest is not None and digest != unsettled.digest
            waited = (
                reads >= self._settle_reads and self._now() - unsettled.since >= self._settle_time
            )
            if changed or waited:
                del self._unsettled[key]
            else:
                self._unsettled[key] = replace(unsettled, reads=reads)
        elif (
            before is not None
            and stamp is not None
            and stamp != before.activity
            and digest == before.digest
        ):
            # The stamp moved, the body did not: a change Trakt's lists do not show yet, or one
            # that left them as they were. Read it again until the body changes (or long
            # enough to call it the latter).
            self._unsettled[key] = _Unsettled(self._now(), 1, digest)
        if stamp is None:
            return  # no stamp vouches for this body; an earlier pair, if any, still holds
        if before is not None and got.rows < before.rows:
            # Fewer records than last time, the classic hiccup when it is none at all: report
            # it as read (the engine's drop guard judges it), but only a second read that
            # agrees may stand in for later reads.
            self._cache.pop(key, None)
            return
        self._cache[key] = _Category(
            got.entries, got.rows, digest, stamp, got.paged.etag, self._now()
        )

    async def _read_category(self, feature: Feature, category: str) -> _CategoryRead:
        paged = await self._client.get_pages(f"{PATHS[feature]}/{category}")
        entries, unreadable = _entries(feature, paged.items)
        return _CategoryRead(tuple(entries), paged, unreadable)

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
        sent: list[tuple[WriteRequest, _Placement]] = []
        results: dict[int, WriteResult] = {}
        outcomes: Iterator[tuple[WriteOutcome, str | None]] = iter(())
        for index, request in enumerate(requests):
            placement = _placement(request.item)
            if placement is None:
                results[index] = WriteResult(request.item, WriteOutcome.REJECTED, NO_USABLE_ID)
            else:
                sent.append((request, placement))
        if sent:
            body = _body(feature, sent, removing)
            path = f"{PATHS[feature]}/remove" if removing else PATHS[feature]
            placements = [placement for _, placement in sent]
            # Plays are the one thing Trakt does not deduplicate: never repeat an add blindly.
            idempotent = removing or feature is not Feature.HISTORY
            # Any other error reaches the engine as it is: OutcomeUnknownError above all (a
            # reply lost after Trakt may have stored the batch) must never become a failure,
            # which the engine would send again.
            try:
                reply = await self._client.post(path, body, idempotent=idempotent)
            except AccountLimitError as err:
                if err.limit is None and feature in self._limits:
                    raise AccountLimitError(str(err), self._limits[feature]) from err
                raise
            finally:
                # Whatever the reply, the write may have landed: wait for it to show.
                self._written(_touched(feature, placements, removing=removing))
            outcomes = iter(_outcomes(reply, placements))
        for index, request in enumerate(requests):
            if index not in results:
                outcome, reason = next(outcomes)
                results[index] = WriteResult(request.item, outcome, reason)
        return [results[index] for index in range(len(requests))]

    def _written(self, touched: Iterable[_Key]) -> None:
        """Make the next reads fetch what a write touched, whatever activities say."""
        for key in touched:
            cached = self._cache.get(key)
            self._unsettled[key] = _Unsettled(self._now(), 0, cached.digest if cached else None)


def _touched(feature: Feature, placements: Iterable[_Placement], *, removing: bool) -> set[_Key]:
    """The categories a write changes: its own, and the watchlist's that plays clear."""
    touched: set[_Key] = set()
    for placement in placements:
        array = placement.array
        if placement.nested:
            array = "seasons" if placement.episode is None else "episodes"
        if feature is Feature.HISTORY:
            touched.add((feature, _HISTORY_CATEGORY[array]))
            if not removing:
                touched.update((Feature.WATCHLIST, c) for c in _CLEARED_BY_PLAYS[array])
        else:
            touched.add((feature, array))
    return touched


def _activity(activities: Any, category: str, name: str) -> str | None:
    group = activities.get(category) if isinstance(activities, dict) else None
    value = group.get(name) if isinstance(group, dict) else None
    return value if isinstance(value, str) and value else None


def _watermark(stamps: Mapping[str, str | None]) -> str | None:
    """The stamps a read went by; None when any is unknown."""
    if any(stamp is None for stamp in stamps.values()):
        return None
    return json.dumps(dict(stamps), sort_keys=True)


def parse_time(text: Any) -> datetime | None:
    """A Trakt timestamp ('2014-09-01T09:10:11.000Z') as an aware datetime, or None."""
    if not isinstance(text, str):
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def format_time(moment: datetime) -> str:
    """A datetime as Trakt writes them, in UTC to the millisecond."""
    utc = moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


# -- mapping Trakt records to items and payloads ----------------------------------------------


def item_of(row: Mapping[str, Any]) -> MediaItem:
    """The item of one watchlist, history or ratings record; ValueError when unusable."""
    kind = _ROW_KINDS.get(str(row.get("type")))
    if kind is None:
        raise ValueError(f"unknown record type {row.get('type')!r}")
    if kind in (MediaType.MOVIE, MediaType.SHOW):
        media = _mapping(row.get(kind.value))
        return MediaItem.create(
            kind, title=media.get("title"), year=_year(media), ids=_mapping(media.get("ids"))
        )
    show = _mapping(row.get("show"))
    own = _mapping(row.get(kind.value))
    if kind is MediaType.SEASON:
        season, episode = own.get("number"), None
    else:
        season, episode = own.get("season"), own.get("number")
    if not isinstance(season, int) or (kind is MediaType.EPISODE and not isinstance(episode, int)):
        raise ValueError("a season or episode record without its numbering")
    return MediaItem.create(
        kind,
        title=show.get("title"),
        year=_year(show),
        ids=_mapping(own.get("ids")),
        show_ids=_mapping(show.get("ids")),
        season=season,
        episode=episode,
    )


def _mapping(value: Any) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise TypeError("a record without its media object")
    return value


def _year(media: Mapping[str, Any]) -> int | None:
    year = media.get("year")
    return year if isinstance(year, int) and not isinstance(year, bool) else None


def _entries(feature: Feature, rows: Iterable[Any]) -> tuple[list[Entry], int]:
    """Entries of one category's records, and how many records could not be read."""
    unreadable = 0
    if feature is Feature.HISTORY:
        plays: dict[str, tuple[MediaItem, list[datetime]]] = {}
        for row in rows:
            try:
                item = item_of(row)
                watched_at = parse_time(row.get("watched_at"))
            except ValueError, TypeError, AttributeError:
                unreadable += 1
                continue
            if watched_at is None:
                unreadable += 1
                continue
            plays.setdefault(item.key, (item, []))[1].append(watched_at)
        history = [Entry(item, Watched.from_plays(dates)) for item, dates in plays.values()]
        return history, unreadable
    entries: list[Entry] = []
    for row in rows:
        try:
            entries.append(Entry(item_of(row), _payload(feature, row)))
        except ValueError, TypeError, AttributeError:
            unreadable += 1
    return entries, unreadable


def _payload(feature: Feature, row: Mapping[str, Any]) -> Payload:
    if feature is Feature.WATCHLIST:
        return Listed(parse_time(row.get("listed_at")))
    value = to_normalized(RatingScale.INTEGER_1_10, row.get("rating"))
    if value is None:
        raise ValueError("a rating record without a rating")
    return Rated(value, parse_time(row.get("rated_at")))


# -- building sync bodies and reading their replies -------------------------------------------


def _sync_ids(ids: Mapping[str, str], array: str) -> dict[str, int | str]:
    usable: dict[str, int | str] = {}
    for name in _SYNC_IDS[array]:
        value = ids.get(name)
        if value is None:
            continue
        usable[name] = value if name in _STRING_IDS else int(value)
    return usable


def _placement(item: MediaItem) -> _Placement | None:
    """Where `item` goes in a sync body, or None when it has no id Trakt could match on."""
    own = item.ids()
    match item.type:
        case MediaType.MOVIE:
            ids = _sync_ids(own, "movies")
            return _Placement("movies", ids) if ids else None
        case MediaType.SHOW | MediaType.ANIME:
            ids = _sync_ids(own, "shows")
            return _Placement("shows", ids) if ids else None
    # Seasons and episodes: by their show and numbering, which every provider agrees on, else
    # by their own ids.
    show = _sync_ids(item.show_ids(), "shows")
    if show:
        return _Placement("shows", show, item.season, item.episode)
    array = "episodes" if item.type is MediaType.EPISODE else "seasons"
    ids = _sync_ids(own, array)
    return _Placement(array, ids) if ids else None


def _details(feature: Feature, payload: Payload | None, removing: bool) -> list[dict[str, Any]]:
    """The per-item fields to send: one dict per object (history: one per play)."""
    if removing:
        return [{}]
    if feature is Feature.HISTORY and isinstance(payload, Watched):
        dates = payload.plays or ((payload.last_watched_at,) if payload.last_watched_at else ())
        # No date at all: one play, which Trakt dates at the time it receives it.
        return [{"watched_at": format_time(d)} for d in dates] or [{}]
    if feature is Feature.RATINGS and isinstance(payload, Rated):
        detail: dict[str, Any] = {
            "rating": int(from_normalized(RatingScale.INTEGER_1_10, payload.value))
        }
        if payload.rated_at is not None:
            detail["rated_at"] = format_time(payload.rated_at)
        return [detail]
    if feature is Feature.RATINGS:
        raise ProviderError("a rating write needs the rating to write")
    return [{}]


def _body(
    feature: Feature, sent: Sequence[tuple[WriteRequest, _Placement]], removing: bool
) -> dict[str, list[dict[str, Any]]]:
    body: dict[str, list[dict[str, Any]]] = {name: [] for name in _SYNC_IDS}
    shows: dict[str, dict[str, Any]] = {}
    for request, placement in sent:
        details = _details(feature, request.payload, removing)
        if not placement.nested:
            body[placement.array].extend({"ids": dict(placement.ids), **d} for d in details)
            continue
        key = json.dumps(placement.ids, sort_keys=True)
        show = shows.get(key)
        if show is None:
            show = shows[key] = {"ids": dict(placement.ids), "seasons": []}
            body["shows"].append(show)
        if placement.episode is None:
            # A season of its own: an object that also lists episodes would only mean those.
            show["seasons"].append({"number": placement.season, **details[0]})
            continue
        season = next(
            (s for s in show["seasons"] if s["number"] == placement.season and "episodes" in s),
            None,
        )
        if season is None:
            season = {"number": placement.season, "episodes": []}
            show["seasons"].append(season)
        season["episodes"].extend({"number": placement.episode, **d} for d in details)
    return {name: objects for name, objects in body.items() if objects}


def _outcomes(
    reply: Any, placements: Sequence[_Placement]
) -> list[tuple[WriteOutcome, str | None]]:
    """Per placement: rejected when `not_found` lists it, else confirmed; unknown without detail."""
    not_found = reply.get("not_found") if isinstance(reply, dict) else None
    if not isinstance(not_found, dict):
        return [(WriteOutcome.UNKNOWN, None)] * len(placements)
    return [
        (WriteOutcome.REJECTED, "not_found")
        if _listed(not_found, placement)
        else (WriteOutcome.CONFIRMED, None)
        for placement in placements
    ]


def _listed(not_found: Mapping[str, Any], placement: _Placement) -> bool:
    listed = not_found.get(placement.array)
    if not isinstance(listed, list):
        return False
    for entry in listed:
        if not isinstance(entry, dict) or not _same_ids(entry.get("ids"), placement.ids):
            continue
        if not placement.nested:
            if "seasons" not in entry:
                return True
            continue
        seasons = entry.get("seasons")
        if not isinstance(seasons, list):
            return True  # the show itself was not found: nothing under it was written
        for season in seasons:
            if not isinstance(season, dict) or season.get("number") != placement.season:
                continue
            episodes = season.get("episodes")
            if not isinstance(episodes, list):
                return True  # the whole season was not found
            if placement.episode is not None and any(
                isinstance(e, dict) and e.get("number") == placement.episode for e in episodes
            ):
                return True
    return False


def _same_ids(listed: Any, sent: Mapping[str, int | str]) -> bool:
    """Whether a not_found entry's ids are (a subset of) the ids we sent for an item."""
    if not isinstance(listed, dict) or not listed:
        return False
    for name, value in listed.items():
        if value is None:
            continue
        namespace = _NAMESPACES.get(name)
        if namespace is None or name not in sent:
            return False
        if normalize_id(namespace, value) != normalize_id(namespace, sent[name]):
            return False
    return True


_NAMESPACES: Mapping[str, Namespace] = {
    "trakt": Namespace.TRAKT,
    "slug": Namespace.SLUG,
    "imdb": Namespace.IMDB,
    "tmdb": Namespace.TMDB,
    "tvdb": Namespace.TVDB,
}
