"""SIMKL as a CrossWatch provider: watchlist, watch history and ratings.

Reads follow SIMKL's sync rules, because SIMKL suspends API keys that poll blindly: every read
asks `/sync/activities` first and pulls only the buckets (movies, shows, anime) whose timestamps
moved, with `date_from` set to where the previous pull stood. A full pull happens only on a cold
start or when `removed_from_list` moved, since a delta cannot show a removal. What was pulled is
kept per bucket, so every read still returns the whole inventory (a present snapshot).

A failed pull leaves its bucket's cache as it was and makes the snapshot partial. Our own
back-dated writes never show up in a `date_from` delta (SIMKL files them under the date they were
watched), so what SIMKL accepted, or did not refuse, is folded into the cache.

SIMKL's only way to take an item off the watchlist is `/sync/history/remove`, which also deletes
its rating and, for an item in another list, its history. Removals are therefore only sent for
items the fresh cache shows on the watchlist, and adds never move an item that sits in another
list (a completed movie would lose its watched state).
"""

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
import json
from typing import Final, Protocol

from ..engine.capabilities import Capabilities, HistorySupport
from ..engine.items import MediaItem, MediaType
from ..engine.payloads import Entry, Feature, Listed, Rated, Watched
from ..engine.plan import Action
from ..engine.provider import (
    AccountLimitError,
    AccountLockedError,
    AuthError,
    ProviderError,
    RateLimitError,
    Read,
    WriteOutcome,
    WriteRequest,
    WriteResult,
)
from ..engine.ratings import RatingScale, from_normalized, to_normalized
from ..engine.snapshot import Completeness, Snapshot, partial
from ..engine.store import Checkpoint
from .http import JsonValue
from .simkl_api import ACTIVITY_KEYS, BUCKETS, SimklApi, expect_object

WATCHLIST_STATUS: Final = "plantowatch"
LIST_STATUSES: Final = ("plantowatch", "watching", "completed", "hold", "dropped")
REMOVED: Final = "removed_from_list"
RATED: Final = "rated_at"
# Ids that name the same title everywhere. SIMKL's slugs are its own and would collide with
# Trakt's in the shared "slug" namespace, so they are left out.
SHARED_IDS: Final = ("simkl", "imdb", "tmdb", "tvdb", "mal", "anidb", "anilist", "kitsu")
# SIMKL files each anime season as its own series but gives it the whole show's tvdb, tmdb and
# imdb ids; those would make "Attack on Titan season 2" the same item as the whole show, and
# its episode 1 the same as the show's S01E01. Anime series keep only anime-native ids.
ANIME_SERIES_IDS: Final = ("simkl", "mal", "anidb", "anilist", "kitsu")

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

# Errors that must reach the engine as they are instead of becoming a partial read.
_FATAL = (AuthError, RateLimitError, AccountLockedError, AccountLimitError)


@dataclass(frozen=True, slots=True)
class SimklAccount:
    """The SIMKL account a token belongs to."""

    id: str
    name: str


async def fetch_account(api: SimklApi) -> SimklAccount:
    """Ask `/users/settings` whose token this is (for the config flow and health checks)."""
    settings = await api.settings()
    account = settings.get("account")
    user = settings.get("user")
    account_id = account.get("id") if isinstance(account, dict) else None
    if account_id is None or isinstance(account_id, bool):
        raise ProviderError("SIMKL's settings did not name the account")
    name = user.get("name") if isinstance(user, dict) else None
    return SimklAccount(str(account_id), str(name) if name else str(account_id))


class _HasItem(Protocol):
    @property
    def item(self) -> MediaItem: ...


@dataclass(frozen=True, slots=True)
class _Title:
    """One movie, show or anime on the user's lists, as far as sync needs it."""

    item: MediaItem
    status: str | None
    listed_at: datetime | None
    last_watched_at: datetime | None
    episodes: tuple[tuple[MediaItem, datetime | None], ...] = ()


@dataclass(frozen=True, slots=True)
class _Rating:
    """One rated title."""

    item: MediaItem
    value: int
    rated_at: datetime | None


@dataclass(slots=True)
class _Cache[T: _HasItem]:
    """What is known of one bucket, and the activity timestamps it reflects."""

    stamps: dict[str, str | None]
    entries: dict[str, T]


@dataclass(frozen=True, slots=True)
class _Sent:
    """One object of a write body and the requests it carries."""

    section: str  # "movies" or "shows"
    body: dict[str, JsonValue]
    indexes: list[int]


def _utcnow() -> datetime:
    return datetime.now(UTC)


class SimklProvider:
    """A SIMKL account as the engine uses it."""

    def __init__(
        self, api: SimklApi, account: SimklAccount, *, now: Callable[[], datetime] = _utcnow
    ) -> None:
        """Bind the API client to the account its token belongs to."""
        self._api = api
        self._account = account
        self._now = now
        self._lists: dict[str, _Cache[_Title]] = {}
        self._ratings: dict[str, _Cache[_Rating]] = {}

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

    async def health(self) -> None:
        """Check the token still works and still belongs to the configured account."""
        account = await fetch_account(self._api)
        if account.id != self._account.id:
            raise AuthError(
                f"the SIMKL token now belongs to account {account.id}, not {self._account.id}"
            )
        self._account = account  # the name as SIMKL shows it now (users can rename themselves)

    # Reads ---------------------------------------------------------------------------------

    async def read(self, feature: Feature, checkpoint: Checkpoint | None) -> Read:
        """A present snapshot of one feature, pulling only what the activities say moved."""
        try:
            activities = await self._api.activities()
            stamps = _bucket_stamps(activities)
        except _FATAL:
            raise
        except ProviderError as err:
            snapshot = self._snapshot(feature, [f"activities: {err}"], None)
            return Read(snapshot, checkpoint, checkpoint_moved=False)
        failures = await self._refresh(feature, stamps)
        watermark = _serialize(stamps)
        snapshot = self._snapshot(feature, failures, watermark)
        if failures:
            # The next read must not believe it saw this moment's content.
            return Read(snapshot, checkpoint, checkpoint_moved=False)
        return Read(
            snapshot,
            Checkpoint(self.key, feature, watermark, None, self._now()),
            checkpoint_moved=_moved(feature, stamps, checkpoint),
        )

    def forget_reads(self, feature: Feature | None = None, *, validated: bool = False) -> None:
        """With `validated`, pull the feature's lists in full on the next read.

        Whatever the activities say then; watchlist and history share the lists of titles.
        Every read asks the activities first, so nothing is ever reused unchecked.
        """
        if not validated:
            return
        if feature is not Feature.RATINGS:
            self._lists.clear()
        if feature in (None, Feature.RATINGS):
            self._ratings.clear()

    async def _refresh(
        self, feature: Feature, stamps: Mapping[str, dict[str, str | None]]
    ) -> list[str]:
        """Bring the feature's caches up to the activities; returns what failed."""
        failures: list[str] = []
        for bucket in BUCKETS:
            now = stamps.get(bucket, {})
            try:
                if feature is Feature.RATINGS:
                    await self._refresh_ratings(bucket, now)
                else:
                    await self._refresh_lists(bucket, now)
            except _FATAL:
                raise
            except ProviderError as err:
                failures.append(f"{bucket}: {err}")
        return failures

    async def _refresh_lists(self, bucket: str, now: dict[str, str | None]) -> None:
        cache = self._lists.get(bucket)
        pull = _pull(cache, now, LIST_STATUSES)
        if pull is None:
            if cache is not None:
                cache.stamps = dict(now)
            return
        full, date_from = pull
        body = await self._api.all_items(bucket, date_from)
        titles = [_parse_title(bucket, row) for row in _rows(body, bucket)]
        if full or cache is None:
            self._lists[bucket] = _Cache(dict(now), {_entry_key(t.item): t for t in titles})
            return
        _merge(cache.entries, titles)
        cache.stamps = dict(now)

    async def _refresh_ratings(self, bucket: str, now: dict[str, str | None]) -> None:
        cache = self._ratings.get(bucket)
        pull = _pull(cache, now, (RATED,))
        if pull is None:
            if cache is not None:
                cache.stamps = dict(now)
            return
        full, date_from = pull
        body = await self._api.ratings(bucket, date_from)
        rated: list[_Rating] = []
        unrated: list[MediaItem] = []
        for row in _rows(body, bucket):
            item, value, rated_at = _parse_rating(bucket, row)
            if value is None:
                unrated.append(item)
            else:
                rated.append(_Rating(item, value, rated_at))
        if full or cache is None:
            self._ratings[bucket] = _Cache(dict(now), {_entry_key(r.item): r for r in rated})
            return
        for item in unrated:
            _drop(cache.entries, item)
        _merge(cache.entries, rated)
        cache.stamps = dict(now)

    def _snapshot(self, feature: Feature, failures: list[str], watermark: str | None) -> Snapshot:
        caches: Mapping[str, _Cache[_Title]] | Mapping[str, _Cache[_Rating]] = (
            self._ratings if feature is Feature.RATINGS else self._lists
        )
        missing = [
            b
            for b in BUCKETS
            if b not in caches and not any(f.startswith(f"{b}:") for f in failures)
        ]
        reasons = failures + [f"{b}: never read" for b in missing]
        entries = list(self._entries(feature))
        completeness = (
            partial("; ".join(reasons))
            if reasons
            else Completeness(all_pages=True, seen_total=len(entries), watermark=watermark)
        )
        return Snapshot.build(self.name, feature, entries, completeness)

    def _entries(self, feature: Feature) -> Iterable[Entry]:
        if feature is Feature.RATINGS:
            for ratings in self._ratings.values():
                for rating in ratings.entries.values():
                    value = to_normalized(RatingScale.INTEGER_1_10, rating.value)
                    if value is not None:
                        yield Entry(rating.item, Rated(value, rating.rated_at))
            return
        for cache in self._lists.values():
            for title in cache.entries.values():
                if feature is Feature.WATCHLIST:
                    if title.status == WATCHLIST_STATUS:
                        yield Entry(title.item, Listed(title.listed_at))
                    continue
                for episode, watched_at in title.episodes:
                    yield Entry(episode, _watched(watched_at))
                if title.status == "completed" and (
                    title.item.type is MediaType.MOVIE or not title.episodes
                ):
                    yield Entry(title.item, _watched(title.last_watched_at))

    # Writes --------------------------------------------------------------------------------

    async def write(
        self, feature: Feature, action: Action, requests: Sequence[WriteRequest]
    ) -> Sequence[WriteResult]:
        """Write one batch; one result per request, in order."""
        if action is Action.CONFLICT:
            return [_rejected(r, "conflicts_are_not_written") for r in requests]
        removal = action is Action.REMOVE
        if feature is Feature.WATCHLIST:
            if removal:
                return await self._unlist(requests)
            return await self._list(requests)
        if feature is Feature.HISTORY:
            path = "/sync/history/remove" if removal else "/sync/history"
            return await self._send(feature, removal, path, requests, _history_object)
        path = "/sync/ratings/remove" if removal else "/sync/ratings"
        return await self._send(feature, removal, path, requests, _rating_object)

    async def _list(self, requests: Sequence[WriteRequest]) -> Sequence[WriteResult]:
        index = _index(self._lists)
        early: dict[int, WriteResult] = {}
        for number, request in enumerate(requests):
            found = _lookup(self._lists, index, request.item)
            if found is not None and found.status not in (None, WATCHLIST_STATUS):
                # add-to-list would move it out of that list: a completed movie would lose its
                # watched state.
                early[number] = _rejected(request, f"in_simkl_list:{found.status}")
        return await self._send(
            Feature.WATCHLIST, False, "/sync/add-to-list", requests, _listed_object, early=early
        )

    async def _unlist(self, requests: Sequence[WriteRequest]) -> Sequence[WriteResult]:
        # history/remove deletes whatever SIMKL holds for the item, so decide on fresh facts.
        stamps = _bucket_stamps(await self._api.activities())
        failures = await self._refresh(Feature.WATCHLIST, stamps)
        index = _index(self._lists)
        early: dict[int, WriteResult] = {}
        for number, request in enumerate(requests):
            found = _lookup(self._lists, index, request.item)
            if found is None and failures:
                early[number] = _rejected(request, "simkl_lists_unreadable")
            elif found is None or found.status != WATCHLIST_STATUS:
                # Not on the watchlist: removing it would delete its history instead.
                early[number] = _rejected(request, "not_on_simkl_watchlist")
        return await self._send(
            Feature.WATCHLIST, True, "/sync/history/remove", requests, _plain_object, early=early
        )

    async def _send(
        self,
        feature: Feature,
        removal: bool,
        path: str,
        requests: Sequence[WriteRequest],
        build: Callable[[WriteRequest, bool], tuple[str, dict[str, JsonValue]] | str],
        *,
        early: Mapping[int, WriteResult] | None = None,
    ) -> Sequence[WriteResult]:
        results: dict[int, WriteResult] = dict(early or {})
        sent: dict[tuple[str, str], _Sent] = {}
        for number, request in enumerate(requests):
            if number in results:
                continue
            built = build(request, removal)
            if isinstance(built, str):
                results[number] = _rejected(request, built)
                continue
            section, body = built
            key = (section, _fingerprint(body))
            if key in sent:
                _absorb(sent[key].body, body)
                sent[key].indexes.append(number)
            else:
                sent[key] = _Sent(section, body, [number])
        if sent:
            payload: dict[str, JsonValue] = {}
            for one in sent.values():
                payload.setdefault(one.section, []).append(one.body)
            reply = await self._api.post(path, payload)
            for one in sent.values():
                outcome, reason = _outcome(reply, one)
                for number in one.indexes:
                    results[number] = WriteResult(requests[number].item, outcome, reason)
                    if outcome is not WriteOutcome.REJECTED:
                        self._fold(feature, removal, requests[number])
        return [results[number] for number in range(len(requests))]

    def _fold(self, feature: Feature, removal: bool, request: WriteRequest) -> None:
        """Show an accepted write in the cache: SIMKL's deltas will not show it to us."""
        item, payload = request.item, request.payload
        if feature is Feature.RATINGS:
            if removal:
                _drop_everywhere(self._ratings, item)
            elif isinstance(payload, Rated):
                value = int(from_normalized(RatingScale.INTEGER_1_10, payload.value))
                _put(self._ratings, item, _Rating(_own(item), value, payload.rated_at))
            return
        if not self._lists:
            return  # nothing cached yet: the first read pulls everything
        numbered = item.type in (MediaType.EPISODE, MediaType.SEASON)
        if removal and (feature is Feature.WATCHLIST or not numbered):
            # history/remove of a title takes it off every list and deletes its rating.
            _drop_everywhere(self._lists, _title_of(item))
            _drop_everywhere(self._ratings, _title_of(item))
            return
        if feature is Feature.WATCHLIST:
            listed_at = payload.listed_at if isinstance(payload, Listed) else None
            self._fold_title(item, WATCHLIST_STATUS, listed_at=listed_at or self._now())
        elif removal:
            self._fold_episode(item, None, remove=True)  # an episode, or a whole season
        elif isinstance(payload, Watched):
            if item.type is MediaType.EPISODE:
                self._fold_episode(item, payload.last_watched_at, remove=False)
            elif item.type is not MediaType.SEASON:
                # A season's episodes are SIMKL's to know; the next full pull shows them.
                self._fold_title(item, "completed", watched_at=payload.last_watched_at)

    def _fold_title(
        self,
        item: MediaItem,
        status: str,
        *,
        listed_at: datetime | None = None,
        watched_at: datetime | None = None,
    ) -> None:
        found = _lookup(self._lists, _index(self._lists), item)
        if found is None:
            title = _Title(_own(item), status, listed_at, watched_at)
        else:
            title = replace(
                found,
                status=status,
                listed_at=found.listed_at or listed_at,
                last_watched_at=_later(found.last_watched_at, watched_at),
            )
        _put(self._lists, item, title)

    def _fold_episode(self, item: MediaItem, watched_at: datetime | None, *, remove: bool) -> None:
        show = _title_of(item)
        found = _lookup(self._lists, _index(self._lists), show)
        if found is None:
            if remove:
                return
            found = _Title(_own(show), "watching", None, None)
        kept = tuple(
            (episode, when)
            for episode, when in found.episodes
            if episode.season != item.season
            or (item.type is MediaType.EPISODE and episode.episode != item.episode)
        )
        if not remove:
            episode = MediaItem.create(
                MediaType.EPISODE,
                title=found.item.title,
                year=found.item.year,
                show_ids=found.item.ids(),
                season=item.season,
                episode=item.episode,
            )
            kept = (*kept, (episode, watched_at))
        status = "watching" if found.status in (None, WATCHLIST_STATUS) else found.status
        _put(self._lists, show, replace(found, status=status, episodes=kept))


# Activities and watermarks -------------------------------------------------------------------


def _bucket_stamps(activities: Mapping[str, JsonValue]) -> dict[str, dict[str, str | None]]:
    stamps: dict[str, dict[str, str | None]] = {}
    for bucket in BUCKETS:
        section = activities.get(ACTIVITY_KEYS[bucket])
        if section is None:
            continue
        if not isinstance(section, dict):
            raise ProviderError(f"SIMKL's activities for {bucket} are not an object")
        stamps[bucket] = {
            str(key): value if isinstance(value, str) else None for key, value in section.items()
        }
    return stamps


def _serialize(stamps: Mapping[str, Mapping[str, str | None]]) -> str:
    return json.dumps(stamps, sort_keys=True, separators=(",", ":"))


def _moved(
    feature: Feature, stamps: Mapping[str, Mapping[str, str | None]], checkpoint: Checkpoint | None
) -> bool:
    """Whether a timestamp that matters to the feature moved since the stored checkpoint."""
    if checkpoint is None or checkpoint.watermark is None:
        return False
    try:
        before = json.loads(checkpoint.watermark)
    except ValueError:
        return False
    if not isinstance(before, dict):
        return False
    keys = (RATED, REMOVED) if feature is Feature.RATINGS else (*LIST_STATUSES, REMOVED)
    for bucket in BUCKETS:
        old = before.get(bucket)
        old = old if isinstance(old, dict) else {}
        new = stamps.get(bucket, {})
        if any(old.get(key) != new.get(key) for key in keys):
            return True
    return False


def _pull(
    cache: _Cache[_Title] | _Cache[_Rating] | None,
    now: Mapping[str, str | None],
    keys: tuple[str, ...],
) -> tuple[bool, str | None] | None:
    """(full, date_from) for the pull the activities call for, or None when nothing moved."""
    if cache is None or now.get(REMOVED) != cache.stamps.get(REMOVED):
        return True, None
    if all(now.get(key) == cache.stamps.get(key) for key in keys):
        return None
    since = cache.stamps.get("all") or max(
        (stamp for key in keys if (stamp := cache.stamps.get(key))), default=None
    )
    return (since is None), since


# Parsing -------------------------------------------------------------------------------------


def _rows(body: JsonValue, bucket: str) -> list[JsonValue]:
    """The rows of one bucket in an all-items or ratings reply (`null` means none)."""
    if body is None:
        return []
    rows = expect_object(body, f"the {bucket} list").get(bucket)
    if rows is None:
        return []
    if not isinstance(rows, list):
        raise ProviderError(f"SIMKL's {bucket} list is not a list")
    return rows


def _time(value: JsonValue) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _wire_time(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _media(bucket: str, row: JsonValue) -> tuple[MediaItem, dict[str, JsonValue]]:
    """The title a row is about, and the row itself."""
    if not isinstance(row, dict):
        raise ProviderError(f"a SIMKL {bucket} row is not an object")
    media = row.get("movie") if bucket == "movies" else row.get("show") or row.get("anime")
    if not isinstance(media, dict):
        raise ProviderError(f"a SIMKL {bucket} row has no title object")
    wanted: tuple[str, ...] = SHARED_IDS
    if bucket == "movies" or row.get("anime_type") == "movie":
        media_type = MediaType.MOVIE
    elif bucket == "anime":
        media_type, wanted = MediaType.ANIME, ANIME_SERIES_IDS
    else:
        media_type = MediaType.SHOW
    raw_ids = media.get("ids")
    ids = {k: v for k, v in raw_ids.items() if k in wanted} if isinstance(raw_ids, dict) else {}
    title = media.get("title")
    year = media.get("year")
    try:
        item = MediaItem.create(
            media_type,
            title=title if isinstance(title, str) else None,
            year=int(year) if isinstance(year, int | str) and str(year).isdigit() else None,
            ids=ids,
        )
    except ValueError as err:
        raise ProviderError(f"a SIMKL {bucket} row names no title: {err}") from err
    return item, row


def _parse_title(bucket: str, raw: JsonValue) -> _Title:
    item, row = _media(bucket, raw)
    episodes: list[tuple[MediaItem, datetime | None]] = []
    if item.type is not MediaType.MOVIE:
        numbered = [(1, e) for e in row.get("episodes") or []]
        for season in row.get("seasons") or []:
            if isinstance(season, dict) and isinstance(season.get("number"), int):
                numbered.extend((season["number"], e) for e in season.get("episodes") or [])
        show_ids = item.ids()
        for season_number, episode in numbered:
            if not isinstance(episode, dict) or not isinstance(episode.get("number"), int):
                raise ProviderError(f"a SIMKL {bucket} episode has no number")
            episodes.append(
                (
                    MediaItem.create(
                        MediaType.EPISODE,
                        title=item.title,
                        year=item.year,
                        show_ids=show_ids,
                        season=season_number,
                        episode=episode["number"],
                    ),
                    _time(episode.get("watched_at")),
                )
            )
    status = row.get("status")
    return _Title(
        item,
        status if isinstance(status, str) else None,
        _time(row.get("added_to_watchlist_at")),
        _time(row.get("last_watched_at")),
        tuple(episodes),
    )


def _parse_rating(bucket: str, raw: JsonValue) -> tuple[MediaItem, int | None, datetime | None]:
    item, row = _media(bucket, raw)
    value = row.get("user_rating")
    try:
        normalized = to_normalized(RatingScale.INTEGER_1_10, value)
    except ValueError as err:
        raise ProviderError(f"SIMKL sent a rating that is not 1-10: {value!r}") from err
    if normalized is None:
        return item, None, None
    return item, int(normalized), _time(row.get("user_rated_at"))


def _watched(when: datetime | None) -> Watched:
    return Watched.from_plays((when,)) if when else Watched.from_state(1, None)


def _later(first: datetime | None, second: datetime | None) -> datetime | None:
    dates = [d for d in (first, second) if d is not None]
    return max(dates) if dates else None


# Caches --------------------------------------------------------------------------------------


def _entry_key(item: MediaItem) -> str:
    """Cache key: SIMKL's own id when the item has one, so a re-read replaces its row."""
    return next((t for t in item.tokens if t.startswith("simkl:")), item.key)


def _index[T: _HasItem](caches: Mapping[str, _Cache[T]]) -> dict[str, tuple[str, str]]:
    """Every token of every cached title -> (bucket, cache key)."""
    index: dict[str, tuple[str, str]] = {}
    for bucket, cache in caches.items():
        for key, entry in cache.entries.items():
            for token in (*entry.item.tokens, key):
                index.setdefault(token, (bucket, key))
    return index


def _lookup[T: _HasItem](
    caches: Mapping[str, _Cache[T]], index: Mapping[str, tuple[str, str]], item: MediaItem
) -> T | None:
    for token in (*item.tokens, item.key):
        place = index.get(token)
        if place is not None and place[1] in caches[place[0]].entries:
            return caches[place[0]].entries[place[1]]
    return None


def _drop[T: _HasItem](entries: dict[str, T], item: MediaItem) -> None:
    wanted = {*item.tokens, item.key}
    for key in [k for k, e in entries.items() if k in wanted or wanted & set(e.item.tokens)]:
        del entries[key]


def _drop_everywhere[T: _HasItem](caches: Mapping[str, _Cache[T]], item: MediaItem) -> None:
    for cache in caches.values():
        _drop(cache.entries, item)


def _merge[T: _HasItem](entries: dict[str, T], fresh: Iterable[T]) -> None:
    """Put re-read rows in place of what the cache held for the same titles."""
    for entry in fresh:
        _drop(entries, entry.item)
        entries[_entry_key(entry.item)] = entry


def _put[T: _HasItem](caches: Mapping[str, _Cache[T]], item: MediaItem, entry: T) -> None:
    """Replace what any bucket holds for the item with `entry`."""
    _drop_everywhere(caches, item)
    bucket = {MediaType.MOVIE: "movies", MediaType.ANIME: "anime"}.get(entry.item.type, "shows")
    if bucket not in caches:
        return  # never read: the first read of that bucket pulls it in full
    caches[bucket].entries[_entry_key(entry.item)] = entry


def _title_of(item: MediaItem) -> MediaItem:
    """The show an episode or season belongs to; a title itself otherwise."""
    if item.type not in (MediaType.EPISODE, MediaType.SEASON):
        return item
    return MediaItem.create(MediaType.SHOW, title=item.title, year=item.year, ids=item.show_ids())


def _own(item: MediaItem) -> MediaItem:
    """The item as SIMKL keeps it: external ids only, never another server's local ids."""
    if not item.local_tokens:
        return item
    return MediaItem.from_tokens(
        item.type,
        title=item.title,
        year=item.year,
        season=item.season,
        episode=item.episode,
        tokens=item.tokens,
        local_tokens=(),
    )


# Write bodies and replies --------------------------------------------------------------------


def _wire_ids(ids: Mapping[str, str]) -> dict[str, JsonValue]:
    wire: dict[str, JsonValue] = {}
    for key in SHARED_IDS:
        value = ids.get(key)
        if value is not None:
            wire[key] = value if key == "imdb" or not value.isdigit() else int(value)
    return wire


def _title_object(item: MediaItem) -> tuple[str, dict[str, JsonValue]] | str:
    """The standard media object for a title (or an episode's or season's show)."""
    numbered = item.type in (MediaType.EPISODE, MediaType.SEASON)
    ids = _wire_ids(item.show_ids() if numbered else item.ids())
    if not ids:
        # SIMKL would match by title alone, and a wrong match here writes to someone else's item.
        return "no_usable_ids"
    body: dict[str, JsonValue] = {}
    if item.title:
        body["title"] = item.title
    if item.year:
        body["year"] = item.year
    body["ids"] = ids
    return ("movies" if item.type is MediaType.MOVIE else "shows"), body


def _plain_object(request: WriteRequest, removal: bool) -> tuple[str, dict[str, JsonValue]] | str:
    del removal
    if request.item.type in (MediaType.EPISODE, MediaType.SEASON):
        return "simkl_lists_hold_titles_only"
    return _title_object(request.item)


def _listed_object(request: WriteRequest, removal: bool) -> tuple[str, dict[str, JsonValue]] | str:
    built = _plain_object(request, removal)
    if isinstance(built, str):
        return built
    section, body = built
    body["to"] = WATCHLIST_STATUS
    if isinstance(request.payload, Listed) and request.payload.listed_at:
        body["added_at"] = _wire_time(request.payload.listed_at)
    return section, body


def _history_object(request: WriteRequest, removal: bool) -> tuple[str, dict[str, JsonValue]] | str:
    item, payload = request.item, request.payload
    built = _title_object(item)
    if isinstance(built, str):
        return built
    section, body = built
    when = payload.last_watched_at if isinstance(payload, Watched) else None
    stamp: dict[str, JsonValue] = {"watched_at": _wire_time(when)} if when and not removal else {}
    if item.type is MediaType.EPISODE:
        body["seasons"] = [{"number": item.season, "episodes": [{"number": item.episode, **stamp}]}]
    elif item.type is MediaType.SEASON:
        body["seasons"] = [{"number": item.season, **stamp}]
    else:
        body.update(stamp)
    return section, body


def _rating_object(request: WriteRequest, removal: bool) -> tuple[str, dict[str, JsonValue]] | str:
    if request.item.type in (MediaType.EPISODE, MediaType.SEASON):
        return "simkl_rates_titles_only"
    built = _title_object(request.item)
    if isinstance(built, str) or removal:
        return built
    section, body = built
    if not isinstance(request.payload, Rated):
        return "no_rating_given"
    body["rating"] = from_normalized(RatingScale.INTEGER_1_10, request.payload.value)
    if request.payload.rated_at:
        body["rated_at"] = _wire_time(request.payload.rated_at)
    return section, body


def _fingerprint(body: Mapping[str, JsonValue]) -> str:
    return json.dumps(body.get("ids"), sort_keys=True)


def _absorb(target: dict[str, JsonValue], extra: Mapping[str, JsonValue]) -> None:
    """Fold another episode or season of the same show into one show object."""
    seasons: list[JsonValue] = target.setdefault("seasons", [])
    for season in extra.get("seasons") or []:
        same = next((s for s in seasons if s.get("number") == season.get("number")), None)
        if same is None or "episodes" not in same or "episodes" not in season:
            seasons.append(season)
        else:
            same["episodes"].extend(season["episodes"])


def _pairs(obj: JsonValue) -> frozenset[tuple[str, str]]:
    ids = obj.get("ids") if isinstance(obj, dict) else None
    if not isinstance(ids, dict):
        return frozenset()
    return frozenset((str(k), str(v).casefold()) for k, v in ids.items() if v is not None)


def _matches(echo: JsonValue, sent: _Sent) -> bool:
    mine, theirs = _pairs(sent.body), _pairs(echo)
    return bool(mine and theirs) and (theirs <= mine or mine <= theirs)


def _outcome(reply: JsonValue, sent: _Sent) -> tuple[WriteOutcome, str | None]:
    """What a reply says about one sent object: not_found, echoed, or only counted."""
    if not isinstance(reply, dict):
        return WriteOutcome.UNKNOWN, None
    not_found = reply.get("not_found")
    missing = not_found.get(sent.section) if isinstance(not_found, dict) else None
    if isinstance(missing, list) and any(_matches(echo, sent) for echo in missing):
        return WriteOutcome.REJECTED, "not_found"
    added = reply.get("added")
    if isinstance(added, dict):
        echoes = added.get(sent.section)
        statuses = added.get("statuses")
        confirmed = list(echoes) if isinstance(echoes, list) else []
        if isinstance(statuses, list):
            confirmed.extend(s.get("request") for s in statuses if isinstance(s, dict))
        if any(_matches(echo, sent) for echo in confirmed):
            return WriteOutcome.CONFIRMED, None
    return WriteOutcome.UNKNOWN, None


def _rejected(request: WriteRequest, reason: str) -> WriteResult:
    return WriteResult(request.item, WriteOutcome.REJECTED, reason)
