"""Trakt as an engine provider: watchlist, play history and ratings of one account.

Reads are present snapshots built from an in-memory cache per category (movies, shows,
seasons, episodes). A cold start reads everything; after that `/sync/last_activities` says which
categories moved, and only those are read again. A category is also read again for a few reads
after we wrote to it (Trakt's own caches lag behind writes) and once its cache is older than
`max_cache_age` (in case activities stop advancing). A read that failed midway never replaces
the cache and gives a partial snapshot.

Writes send only ids Trakt matches on (never a bare title, which Trakt resolves to "the most
current" item of that name) and answer per item from `not_found`.
"""

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
import json
import time
from typing import Any

from ..engine.capabilities import Capabilities, HistorySupport
from ..engine.ids import Namespace, normalize_id
from ..engine.items import MediaItem, MediaType
from ..engine.payloads import Entry, Feature, Listed, Payload, Rated, Watched
from ..engine.plan import Action
from ..engine.provider import (
    AccountLimitError,
    ProviderError,
    Read,
    WriteOutcome,
    WriteRequest,
    WriteResult,
)
from ..engine.ratings import RatingScale, from_normalized, to_normalized
from ..engine.snapshot import Completeness, Snapshot
from ..engine.store import Checkpoint
from .http import RateLimit
from .trakt_client import TraktClient

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


@dataclass(frozen=True, slots=True)
class _Category:
    """One category as last read in full: its entries and the evidence of that read."""

    entries: tuple[Entry, ...]
    rows: int  # records read (history: plays)
    activity: str | None  # the activity timestamp the read corresponds to
    etag: str | None
    read_at: float


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


@dataclass(slots=True)
class _CategoryRead:
    entries: list[Entry] = field(default_factory=list)
    rows: int = 0
    expected: int | None = None
    failure: str | None = None
    all_pages: bool = True
    etag: str | None = None
    changed: bool = False


class TraktProvider:
    """One Trakt account as the engine sees it."""

    def __init__(
        self,
        client: TraktClient,
        *,
        slug: str | None = None,
        settle_reads: int = 3,
        max_cache_age: timedelta = timedelta(hours=24),
        now: Callable[[], float] = time.time,
    ) -> None:
        """Wrap a client; `slug` (the account's, once known) keeps `key` stable before health()."""
        self._client = client
        self._slug = slug
        self._settle_reads = settle_reads
        self._max_age = max_cache_age.total_seconds()
        self._now = now
        self._limits: dict[Feature, int] = {}
        self._cache: dict[tuple[Feature, str], _Category] = {}
        self._force: dict[tuple[Feature, str], int] = {}
        self._previous: dict[Feature, tuple[str | None, str | None]] = {}

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

    # -- reads ----------------------------------------------------------------------------

    async def read(self, feature: Feature, checkpoint: Checkpoint | None) -> Read:
        """A present snapshot of `feature`, re-reading only the categories that moved."""
        activities = await self._client.get_json("/sync/last_activities")
        stamps = {
            category: _activity(activities, category, ACTIVITY_FIELD[feature])
            for category in CATEGORIES[feature]
        }
        entries: list[Entry] = []
        failures: list[str] = []
        expected: int | None = 0
        seen = 0
        all_pages, content_changed = True, False
        etags: dict[str, str] = {}
        for category in CATEGORIES[feature]:
            cached = self._reusable(feature, category, stamps[category])
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
            expected = None if expected is None or got.expected is None else expected + got.expected
            all_pages = all_pages and got.all_pages
            content_changed = content_changed or got.changed
            if got.etag:
                etags[category] = got.etag
            if got.failure:
                failures.append(f"{category}: {got.failure}")
                continue
            if got.expected is not None and got.expected != got.rows:
                continue  # truncated without an error: evidence enough not to keep it
            self._keep(feature, category, got, stamps[category])
        completeness = Completeness(
            all_pages=all_pages,
            expected_total=expected,
            seen_total=seen,
            watermark=_watermark(stamps),
            etag=json.dumps(etags, sort_keys=True) if etags else None,
            failure="; ".join(failures) or None,
        )
        snapshot = Snapshot.build(self.name, feature, entries, completeness)
        moved = self._moved(feature, checkpoint, completeness, content_changed)
        self._previous[feature] = (completeness.watermark, completeness.etag)
        return Read(
            snapshot,
            Checkpoint(
                provider=self.key,
                feature=feature,
                watermark=completeness.watermark,
                etag=completeness.etag,
                updated_at=datetime.fromtimestamp(self._now(), UTC),
            ),
            checkpoint_moved=moved,
        )

    def forget_reads(self, feature: Feature | None = None, *, validated: bool = False) -> None:
        """With `validated`, fetch every page of the feature on the next read.

        Whatever the activities and ETags say then. Every read asks the activities first, so
        nothing is ever reused unchecked.
        """
        if not validated:
            return
        for each in [feature] if feature else list(Feature):
            self._client.forget_pages(PATHS[each])
            for category in CATEGORIES[each]:
                self._cache.pop((each, category), None)
            self._previous.pop(each, None)

    def _reusable(self, feature: Feature, category: str, stamp: str | None) -> _Category | None:
        key = (feature, category)
        cached = self._cache.get(key)
        if (
            cached is None
            or stamp is None
            or cached.activity != stamp
            or self._force.get(key, 0) > 0
            or self._now() - cached.read_at > self._max_age
        ):
            return None
        return cached

    def _keep(self, feature: Feature, category: str, got: _CategoryRead, stamp: str | None) -> None:
        key = (feature, category)
        before = self._cache.get(key)
        # An empty answer where there was something is the classic hiccup: report it as read
        # (the engine's drop guard judges it), but never let it stand in for later reads.
        if got.rows == 0 and before is not None and before.rows:
            self._cache.pop(key, None)
            return
        self._cache[key] = _Category(tuple(got.entries), got.rows, stamp, got.etag, self._now())

    async def _read_category(self, feature: Feature, category: str) -> _CategoryRead:
        key = (feature, category)
        if self._force.get(key, 0) > 0:
            self._force[key] -= 1
        paged = await self._client.get_pages(
            f"{PATHS[feature]}/{category}", revalidate=feature is Feature.WATCHLIST
        )
        got = _CategoryRead(
            rows=len(paged.items),
            expected=paged.expected_total,
            failure=paged.failure,
            all_pages=paged.all_pages,
            etag=paged.etag,
            changed=paged.changed,
        )
        got.entries, unreadable = _entries(feature, paged.items)
        if unreadable:
            # A row we cannot read would look like an item the user removed.
            note = f"{unreadable} records could not be read"
            got.failure = f"{got.failure}; {note}" if got.failure else note
        return got

    def _moved(
        self,
        feature: Feature,
        checkpoint: Checkpoint | None,
        completeness: Completeness,
        content_changed: bool,
    ) -> bool:
        if checkpoint is not None:
            previous_watermark, previous_etag = checkpoint.watermark, checkpoint.etag
        else:
            previous_watermark, previous_etag = self._previous.get(feature, (None, None))
        if _advanced(previous_watermark, completeness.watermark):
            return True
        return (
            content_changed
            and previous_etag is not None
            and completeness.etag is not None
            and previous_etag != completeness.etag
        )

    # -- writes ---------------------------------------------------------------------------

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
            # Plays are the one thing Trakt does not deduplicate: never repeat an add blindly.
            idempotent = removing or feature is not Feature.HISTORY
            try:
                reply = await self._client.post(path, body, idempotent=idempotent)
            except AccountLimitError as err:
                if err.limit is None and feature in self._limits:
                    raise AccountLimitError(str(err), self._limits[feature]) from err
                raise
            finally:
                self._written(feature)
            outcomes = iter(_outcomes(reply, [placement for _, placement in sent]))
        for index, request in enumerate(requests):
            if index not in results:
                outcome, reason = next(outcomes)
                results[index] = WriteResult(request.item, outcome, reason)
        return [results[index] for index in range(len(requests))]

    def _written(self, feature: Feature) -> None:
        """Make the next reads fetch what a write touched, whatever activities and ETags say."""
        touched = [feature]
        if feature is Feature.HISTORY:
            touched.append(Feature.WATCHLIST)  # Trakt takes watched items off the watchlist
        for each in touched:
            self._client.forget_pages(PATHS[each])
            for category in CATEGORIES[each]:
                self._force[(each, category)] = self._settle_reads


def _activity(activities: Any, category: str, name: str) -> str | None:
    group = activities.get(category) if isinstance(activities, dict) else None
    value = group.get(name) if isinstance(group, dict) else None
    return value if isinstance(value, str) and value else None


def _watermark(stamps: Mapping[str, str | None]) -> str:
    return json.dumps(dict(stamps), sort_keys=True)


def _advanced(previous: str | None, current: str | None) -> bool:
    """Whether any category's activity is later than it was (unreadable history: no)."""
    before, after = _stamps(previous), _stamps(current)
    if before is None or after is None:
        return False
    for category, stamp in after.items():
        if stamp is None:
            continue
        old = before.get(category)
        if old is None or stamp > old:
            return True
    return False


def _stamps(watermark: str | None) -> dict[str, datetime | None] | None:
    if watermark is None:
        return None
    try:
        raw = json.loads(watermark)
    except ValueError:
        return None
    if not isinstance(raw, dict):
        return None
    return {str(k): parse_time(v) if isinstance(v, str) else None for k, v in raw.items()}


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
