"""SIMKL as a CrossWatch provider: watchlist, watch history and ratings.

Reads follow SIMKL's sync rules, because SIMKL suspends API keys that poll blindly: every read
asks `/sync/activities` first and pulls only the buckets (movies, shows, anime) whose stamps
moved, with `date_from` set to where the previous pull stood. What was pulled is kept per bucket
(the cache), so every read still returns the whole inventory (a present snapshot). The
activities only decide what to pull again: our own writes and unrelated changes move them too, so
they are no evidence for what a read lost (the engine's drop guard judges shrinks).

The cache never believes more than SIMKL's bodies showed:

- A bucket's activity stamps (its watermark, and the read's checkpoint) advance only together
  with a body that reflects them. A failed pull leaves the bucket's cache and stamps as they
  were and makes the snapshot partial.
- Which bodies count as "no rows". The blueprint says of `/sync/all-items`: "If a user doesn't
  have anything in his watchlists, the response will be `null`", and its examples key each
  bucket's rows by the bucket's name. So a `null` body, an empty one (our HTTP client cannot
  tell the two apart), or an object without the bucket's key is a bucket without rows; the
  ratings endpoint is read the same way. Anything else the blueprint does not document (a list
  where the object belongs, the bucket's key holding null or a string, a body that is not JSON,
  a row that names no title) is a failed pull of that bucket, never an empty list.
- A delta (`date_from`) without rows legitimately means "nothing filed since then". But the
  activities said the bucket moved, so either the change is filed under an earlier date (SIMKL
  files a back-dated write under the date it was watched) or the stamp moved without one. Only a
  full pull tells which, so one follows at once and the stamps advance with it; taking the
  stamps from the empty delta would hide that change until the next one.
- A full pull without rows is reported to the engine as it was read (the engine judges shrinks
  and confirms them with a later fresh read), but it becomes the cache only once a second full
  pull agrees: until then the bucket keeps what it held and its next read pulls it in full
  again. An empty 200 is the classic hiccup, and a cache that kept it would serve an empty list
  until the stamps move again. Rows are never second-guessed: a short list is SIMKL's answer.
- A bucket is pulled in full when nothing is cached, when `removed_from_list` moved (a delta
  cannot show a removal), when the activities lack its section (we cannot know what changed,
  and a missing stamp is no evidence of change either), after our own writes (below), and at
  least once a day (`max_cache_age`): activities that stopped advancing for a while must not
  hide a change, a removal above all, for good.

Writes fold nothing into the cache: only fresh reads verify, and a cache that showed what SIMKL
answered `ok: true` or a count to would have the engine verify writes SIMKL silently dropped.
Our writes are back-dated, so no delta shows them; each write therefore marks the buckets it may
have touched (the ratings too when it deletes a title's rating), and those are pulled in full
until a full pull shows the write, or `_SETTLE_PULLS` full pulls did not. SIMKL may serve a body
from before a write for a read or two; a write it dropped never shows, and the bound keeps what
that costs finite (the engine reports such writes as phantoms).

SIMKL's only way to take an item off the watchlist is `/sync/history/remove`, which also deletes
its rating and, for an item in another list, its history. Removals are therefore only sent for
items a fresh read shows on the watchlist, and adds never move an item that sits in another
list (a completed movie would lose its watched state).
"""

from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
import json
from typing import Final, Protocol

from ...clients.simkl.client import SimklApi
from ...clients.simkl.models import (
    BUCKETS,
    Echo,
    ListedRow,
    Media,
    RatedRow,
    Stamps,
    SyncEpisode,
    SyncObject,
    SyncSeason,
    WriteReply,
)
from ...engine.capabilities import Capabilities, HistorySupport
from ...engine.cursor import Checkpoint
from ...engine.items import MediaItem, MediaType
from ...engine.payloads import Entry, Feature, Listed, Rated, Watched
from ...engine.plan import Action
from ...engine.provider import (
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
from ...engine.ratings import RatingScale, from_normalized, same_rating, to_normalized
from ...engine.snapshot import Completeness, Snapshot, partial
from ..client_errors import translates_client_errors, translating

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


@translates_client_errors
async def fetch_account(api: SimklApi) -> SimklAccount:
    """Ask `/users/settings` whose token this is (for the config flow and health checks)."""
    settings = await api.settings()  # raises when they do not name the account
    return SimklAccount(settings.account_id, settings.name or settings.account_id)


# The two caches, by name: the lists of titles (watchlist and history) and the ratings.
_LISTS: Final = "lists"
_RATINGS: Final = "ratings"
# Full pulls a written bucket gets for the write to show. SIMKL may serve a body from before a
# write for a read or two; a write it silently dropped never shows (nor does one whose ids the
# view cannot match), and pulling in full for it forever would break SIMKL's polling rules.
_SETTLE_PULLS: Final = 3

type _Stamps = dict[str, str | None]  # as a cache keeps a bucket's activity stamps


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
    """What a full pull (and the deltas after it) showed of one bucket, and the stamps it reflects.

    `stamps` is empty when the activities had no section for the bucket: nothing to compare.
    """

    stamps: _Stamps
    entries: dict[str, T]
    pulled_at: datetime  # when the full pull under it was made


type _View[T: _HasItem] = Mapping[str, Mapping[str, T]]  # bucket -> cache key -> entry


@dataclass(frozen=True, slots=True)
class _Kind[T: _HasItem, R]:
    """One of the two caches, and how to fill it (from rows of type R) and read it out."""

    name: str  # _LISTS or _RATINGS
    caches: dict[str, _Cache[T]]
    keys: tuple[str, ...]  # the activity stamps that say the cached content changed
    fetch: Callable[[str, str | None], Awaitable[Sequence[R]]]  # (bucket, date_from) -> rows
    # A bucket's rows -> the entries they hold, and the items they say no longer count
    # (a rating delta lists a deleted rating as a row without one).
    parse: Callable[[str, Sequence[R]], tuple[list[T], list[MediaItem]]]
    entries: Callable[[Feature, _View[T]], Iterator[Entry]]


@dataclass(frozen=True, slots=True)
class _Pulled[T: _HasItem]:
    """What one read learned of a cache's buckets."""

    view: dict[str, Mapping[str, T]]  # bucket -> entries as this read saw them
    stamps: dict[str, _Stamps]  # bucket -> the stamps its cache reflects (none: not known)
    fresh: frozenset[str]  # the buckets this read pulled in full
    failed: frozenset[str]
    failures: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class _Awaited:
    """A write that no full pull of the buckets it may have touched has shown yet."""

    cache: str  # _LISTS or _RATINGS
    buckets: frozenset[str]
    # The feature whose view shows the write; None when no view can (a season's episodes are
    # SIMKL's to know): one full pull of its buckets settles it.
    feature: Feature | None
    item: MediaItem
    payload: Rated | None  # compared when the write set a rating
    removal: bool
    pulls: int = 0  # full pulls of all its buckets that did not show it


@dataclass(slots=True)
class _Sent:
    """One object of a write body and the requests it carries (more fold into it)."""

    section: str  # "movies" or "shows"
    body: SyncObject
    indexes: list[int]


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
        self._now = now
        self._max_cache_age = max_cache_age
        self._lists: dict[str, _Cache[_Title]] = {}
        self._ratings: dict[str, _Cache[_Rating]] = {}
        self._list_kind = _Kind(
            _LISTS, self._lists, LIST_STATUSES, self._api.all_items, _parse_titles, _list_entries
        )
        self._rating_kind = _Kind(
            _RATINGS, self._ratings, (RATED,), self._api.ratings, _parse_ratings, _rating_entries
        )
        # (cache, bucket) whose last full pull had no rows and was not kept.
        self._empty_once: set[tuple[str, str]] = set()
        self._awaited: list[_Awaited] = []

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

    # Reads ---------------------------------------------------------------------------------

    @translates_client_errors
    async def read(self, feature: Feature, checkpoint: Checkpoint | None) -> Read:
        """A present snapshot of one feature, pulling only what the activities call for."""
        if feature is Feature.RATINGS:
            return await self._read(self._rating_kind, feature, checkpoint)
        return await self._read(self._list_kind, feature, checkpoint)

    def forget_reads(self, feature: Feature | None = None, *, validated: bool = False) -> None:
        """With `validated`, pull the feature's lists in full on the next read.

        Whatever the activities say then; watchlist and history share the lists of titles.
        Every read asks the activities first, so nothing is ever reused unchecked.
        """
        if not validated:
            return
        forgotten: set[str] = set()
        if feature is not Feature.RATINGS:
            self._lists.clear()
            forgotten.add(_LISTS)
        if feature in (None, Feature.RATINGS):
            self._ratings.clear()
            forgotten.add(_RATINGS)
        # A cold start again: an empty full pull must be confirmed anew.
        self._empty_once = {place for place in self._empty_once if place[0] not in forgotten}

    async def _read[T: _HasItem, R](
        self, kind: _Kind[T, R], feature: Feature, checkpoint: Checkpoint | None
    ) -> Read:
        try:
            stamps = (await self._api.activities()).buckets
        except _FATAL:
            raise
        except ProviderError as err:
            known = {bucket: cache.entries for bucket, cache in kind.caches.items()}
            snapshot = self._snapshot(kind, feature, known, [f"activities: {err}"], None)
            return Read(snapshot, checkpoint)
        pulled = await self._refresh(kind, stamps)
        watermark = _serialize(pulled.stamps)
        snapshot = self._snapshot(kind, feature, pulled.view, list(pulled.failures), watermark)
        if pulled.failures:
            # A checkpoint names the content a read saw: this one saw only part of it.
            return Read(snapshot, checkpoint)
        return Read(snapshot, Checkpoint(self.key, feature, watermark, None, self._now()))

    async def _refresh[T: _HasItem, R](
        self, kind: _Kind[T, R], stamps: Mapping[str, Stamps]
    ) -> _Pulled[T]:
        """Bring one cache's buckets up to the activities, and say what this read saw."""
        # Only writes made before this read began can be judged by what it pulls.
        before = {id(awaited) for awaited in self._awaited}
        view: dict[str, Mapping[str, T]] = {}
        fresh: set[str] = set()
        failed: set[str] = set()
        failures: list[str] = []
        for bucket in BUCKETS:
            try:
                seen, full = await self._refresh_bucket(kind, bucket, stamps.get(bucket))
            except _FATAL:
                raise
            except ProviderError as err:
                failed.add(bucket)
                failures.append(f"{bucket}: {err}")
                cache = kind.caches.get(bucket)
                if cache is not None:
                    view[bucket] = cache.entries  # what is known, in a partial snapshot
                continue
            view[bucket] = seen
            if full:
                fresh.add(bucket)
        self._settle(kind, view, frozenset(fresh), before)
        kept = {
            bucket: dict(cache.stamps)
            for bucket, cache in kind.caches.items()
            if cache.stamps and bucket not in failed
        }
        return _Pulled(view, kept, frozenset(fresh), frozenset(failed), tuple(failures))

    async def _refresh_bucket[T: _HasItem, R](
        self, kind: _Kind[T, R], bucket: str, now: Stamps | None
    ) -> tuple[Mapping[str, T], bool]:
        """The bucket as this read sees it, and whether it was pulled in full."""
        cache = kind.caches.get(bucket)
        if cache is None or not now or self._full_pull_due(kind.name, bucket, cache, now):
            return await self._pull_in_full(kind, bucket, cache, now), True
        if all(now.get(key) == cache.stamps.get(key) for key in kind.keys):
            return cache.entries, False  # nothing moved: the cache is what SIMKL holds
        since = cache.stamps.get("all") or max(
            (stamp for key in kind.keys if (stamp := cache.stamps.get(key))), default=None
        )
        if since is not None:
            rows = await kind.fetch(bucket, since)
            if rows:
                kept, cleared = kind.parse(bucket, rows)
                for item in cleared:
                    _drop(cache.entries, item)
                _merge(cache.entries, kept)
                cache.stamps = dict(now)
                return cache.entries, False
            # The bucket moved, yet nothing is filed since: a change filed under an earlier
            # date, or a stamp that moved without one. Only a full pull tells.
        return await self._pull_in_full(kind, bucket, cache, now), True

    def _full_pull_due[T: _HasItem](
        self, cache_name: str, bucket: str, cache: _Cache[T], now: Stamps
    ) -> bool:
        place = (cache_name, bucket)
        return (
            now.get(REMOVED) != cache.stamps.get(REMOVED)  # a delta cannot show a removal
            # Activities that stopped advancing for a while (SIMKL's own caches) must not hide
            # a change for good: at least one full pull a day.
            or self._now() - cache.pulled_at >= self._max_cache_age
            or place in self._empty_once  # an empty full pull waits for a second one
            or any(a.cache == cache_name and bucket in a.buckets for a in self._awaited)
        )

    async def _pull_in_full[T: _HasItem, R](
        self, kind: _Kind[T, R], bucket: str, cache: _Cache[T] | None, now: Stamps | None
    ) -> Mapping[str, T]:
        rows = await kind.fetch(bucket, None)
        kept, _ = kind.parse(bucket, rows)
        fresh = {_entry_key(entry.item): entry for entry in kept}
        place = (kind.name, bucket)
        if not fresh and place not in self._empty_once and (cache is None or cache.entries):
            # Reported as read, but not the base for later reads until a second full pull
            # agrees: the cache and its stamps stay as they were.
            self._empty_once.add(place)
            return fresh
        self._empty_once.discard(place)
        kind.caches[bucket] = _Cache(dict(now or {}), fresh, self._now())
        return fresh

    def _settle[T: _HasItem, R](
        self,
        kind: _Kind[T, R],
        view: Mapping[str, Mapping[str, T]],
        fresh: frozenset[str],
        judged: set[int],
    ) -> None:
        """Stop waiting for writes that a full pull of all their buckets showed (or never will).

        `judged` names (by identity) the awaited writes this read may judge.
        """
        shown: dict[tuple[Feature, frozenset[str]], Snapshot] = {}
        waiting: list[_Awaited] = []
        for awaited in self._awaited:
            if (
                id(awaited) not in judged
                or awaited.cache != kind.name
                or not awaited.buckets <= fresh
            ):
                waiting.append(awaited)
                continue
            if awaited.feature is None:
                continue  # nothing to look for: this full pull was what it needed
            key = (awaited.feature, awaited.buckets)
            if key not in shown:
                entries = kind.entries(awaited.feature, {b: view[b] for b in awaited.buckets})
                shown[key] = Snapshot.build(
                    self.name, awaited.feature, entries, Completeness(all_pages=True)
                )
            if _shows(shown[key], awaited):
                continue
            if awaited.pulls + 1 < _SETTLE_PULLS:
                waiting.append(replace(awaited, pulls=awaited.pulls + 1))
        self._awaited = waiting

    def _snapshot[T: _HasItem, R](
        self,
        kind: _Kind[T, R],
        feature: Feature,
        view: Mapping[str, Mapping[str, T]],
        failures: list[str],
        watermark: str | None,
    ) -> Snapshot:
        missing = [
            b for b in BUCKETS if b not in view and not any(f.startswith(f"{b}:") for f in failures)
        ]
        reasons = failures + [f"{b}: never read" for b in missing]
        entries = list(kind.entries(feature, view))
        completeness = (
            partial("; ".join(reasons))
            if reasons
            else Completeness(all_pages=True, seen_total=len(entries), watermark=watermark)
        )
        return Snapshot.build(self.name, feature, entries, completeness)

    # Writes --------------------------------------------------------------------------------

    @translates_client_errors
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
        lists = {bucket: cache.entries for bucket, cache in self._lists.items()}
        index = _index(lists)
        early: dict[int, WriteResult] = {}
        for number, request in enumerate(requests):
            found = _lookup(lists, index, request.item)
            if found is not None and found.status not in (None, WATCHLIST_STATUS):
                # add-to-list would move it out of that list: a completed movie would lose its
                # watched state.
                early[number] = _rejected(request, f"in_simkl_list:{found.status}")
        return await self._send(
            Feature.WATCHLIST, False, "/sync/add-to-list", requests, _listed_object, early=early
        )

    async def _unlist(self, requests: Sequence[WriteRequest]) -> Sequence[WriteResult]:
        # history/remove deletes whatever SIMKL holds for the item, so decide on fresh facts:
        # what this read saw, never a bucket it could not read.
        pulled = await self._refresh(self._list_kind, (await self._api.activities()).buckets)
        lists = {b: entries for b, entries in pulled.view.items() if b not in pulled.failed}
        index = _index(lists)
        early: dict[int, WriteResult] = {}
        for number, request in enumerate(requests):
            found = _lookup(lists, index, request.item)
            if found is None and pulled.failures:
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
        build: Callable[[WriteRequest, bool], tuple[str, SyncObject] | str],
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
                sent[key].body = _absorb(sent[key].body, body)
                sent[key].indexes.append(number)
            else:
                sent[key] = _Sent(section, body, [number])
        if sent:
            payload: dict[str, list[SyncObject]] = {}
            for one in sent.values():
                payload.setdefault(one.section, []).append(one.body)
            # Marked before sending: a reply lost after SIMKL stored the write (a 5xx, a
            # timeout) must still have the next read pull these buckets in full.
            awaited = self._await(
                feature, removal, [requests[n] for one in sent.values() for n in one.indexes]
            )
            reply = await self._api.post(path, payload)
            refused: set[int] = set()
            for one in sent.values():
                outcome, reason = _outcome(reply, one)
                for number in one.indexes:
                    results[number] = WriteResult(requests[number].item, outcome, reason)
                    if outcome is WriteOutcome.REJECTED:
                        refused.add(id(requests[number].item))
            if refused:
                # SIMKL stored nothing for what it refused: there is nothing to wait for.
                dropped = {id(a) for a in awaited if id(a.item) in refused}
                self._awaited = [a for a in self._awaited if id(a) not in dropped]
        return [results[number] for number in range(len(requests))]

    def _await(
        self, feature: Feature, removal: bool, requests: Iterable[WriteRequest]
    ) -> list[_Awaited]:
        """Mark the buckets each write may touch for full pulls until a full pull shows it."""
        known = _index({b: c.entries for b, c in self._lists.items()})
        rated = _index({b: c.entries for b, c in self._ratings.items()})
        added: list[_Awaited] = []
        for request in requests:
            item = request.item
            title = _title_of(item)
            place = next(
                (
                    found[0]
                    for index in (known, rated)
                    for token in (*title.tokens, title.key)
                    if (found := index.get(token)) is not None
                ),
                None,
            )
            # SIMKL files a title in one bucket for good; one it never showed us may be filed
            # as anime whatever section we sent it in.
            buckets = frozenset(
                (place,)
                if place
                else ("movies" if title.type is MediaType.MOVIE else "shows", "anime")
            )
            rating = request.payload if isinstance(request.payload, Rated) else None
            own = _RATINGS if feature is Feature.RATINGS else _LISTS
            checked = feature if _checkable(feature, item) else None
            added.append(_Awaited(own, buckets, checked, item, rating, removal))
            if removal and feature is not Feature.RATINGS and item is title:
                # history/remove of a title deletes its rating as well.
                added.append(_Awaited(_RATINGS, buckets, Feature.RATINGS, item, None, True))
            if feature is Feature.RATINGS and not removal:
                # Rating a title that is not listed lists it (a movie as completed, a show as
                # watching), and rating a listed movie may move it to completed: SIMKL's to say.
                added.append(_Awaited(_LISTS, buckets, None, item, None, False))
        self._awaited.extend(added)
        return added


# Activities and watermarks -------------------------------------------------------------------


def _serialize(stamps: Mapping[str, Mapping[str, str | None]]) -> str:
    return json.dumps(stamps, sort_keys=True, separators=(",", ":"))


# Parsing -------------------------------------------------------------------------------------


def _parse_titles(bucket: str, rows: Sequence[ListedRow]) -> tuple[list[_Title], list[MediaItem]]:
    return [_parse_title(bucket, row) for row in rows], []


def _parse_ratings(bucket: str, rows: Sequence[RatedRow]) -> tuple[list[_Rating], list[MediaItem]]:
    rated: list[_Rating] = []
    unrated: list[MediaItem] = []
    for row in rows:
        item = _media(bucket, row.media)
        if row.rating is None:
            unrated.append(item)
        else:
            rated.append(_Rating(item, row.rating, row.rated_at))
    return rated, unrated


def _media(bucket: str, media: Media) -> MediaItem:
    """The item a row's media object names."""
    wanted: tuple[str, ...] = SHARED_IDS
    if media.movie:
        media_type = MediaType.MOVIE
    elif bucket == "anime":
        media_type, wanted = MediaType.ANIME, ANIME_SERIES_IDS
    else:
        media_type = MediaType.SHOW
    try:
        return MediaItem.create(
            media_type,
            title=media.title,
            year=media.year,
            ids={k: v for k, v in media.ids.items() if k in wanted},
        )
    except ValueError as err:
        raise ProviderError(f"a SIMKL {bucket} row names no title: {err}") from err


def _parse_title(bucket: str, row: ListedRow) -> _Title:
    item = _media(bucket, row.media)
    show_ids = item.ids()
    episodes = tuple(
        (
            MediaItem.create(
                MediaType.EPISODE,
                title=item.title,
                year=item.year,
                show_ids=show_ids,
                season=episode.season,
                episode=episode.number,
            ),
            episode.watched_at,
        )
        for episode in row.episodes
    )
    return _Title(item, row.status, row.added_to_watchlist_at, row.last_watched_at, episodes)


def _watched(when: datetime | None) -> Watched:
    return Watched.from_plays((when,)) if when else Watched.from_state(1, None)


# Views and caches ----------------------------------------------------------------------------


def _list_entries(feature: Feature, view: _View[_Title]) -> Iterator[Entry]:
    """The watchlist or the history the lists of titles hold."""
    for titles in view.values():
        for title in titles.values():
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


def _rating_entries(feature: Feature, view: _View[_Rating]) -> Iterator[Entry]:
    del feature  # the ratings cache holds ratings only
    for ratings in view.values():
        for rating in ratings.values():
            value = to_normalized(RatingScale.INTEGER_1_10, rating.value)
            if value is not None:
                yield Entry(rating.item, Rated(value, rating.rated_at))


def _checkable(feature: Feature, item: MediaItem) -> bool:
    """Whether the feature's view can show a write of `item`.

    History lists movies and episodes; a title's or a season's episodes are SIMKL's to know.
    """
    if item.type is MediaType.SEASON:
        return False
    if feature is Feature.HISTORY:
        return item.type in (MediaType.MOVIE, MediaType.EPISODE)
    return True


def _shows(view: Snapshot, awaited: _Awaited) -> bool:
    """Whether a fresh view shows the write as made (a removal: the item is gone)."""
    found = view.find(awaited.item)
    if awaited.removal:
        return found is None
    if found is None:
        return False
    if awaited.payload is not None and isinstance(found.payload, Rated):
        scale = RatingScale.INTEGER_1_10
        return same_rating(awaited.payload.value, found.payload.value, scale, scale)
    return True


def _entry_key(item: MediaItem) -> str:
    """Cache key: SIMKL's own id when the item has one, so a re-read replaces its row."""
    return next((t for t in item.tokens if t.startswith("simkl:")), item.key)


def _index[T: _HasItem](view: _View[T]) -> dict[str, tuple[str, str]]:
    """Every token of every title in a view -> (bucket, cache key)."""
    index: dict[str, tuple[str, str]] = {}
    for bucket, entries in view.items():
        for key, entry in entries.items():
            for token in (*entry.item.tokens, key):
                index.setdefault(token, (bucket, key))
    return index


def _lookup[T: _HasItem](
    view: _View[T], index: Mapping[str, tuple[str, str]], item: MediaItem
) -> T | None:
    for token in (*item.tokens, item.key):
        place = index.get(token)
        if place is not None and place[1] in view[place[0]]:
            return view[place[0]][place[1]]
    return None


def _drop[T: _HasItem](entries: dict[str, T], item: MediaItem) -> None:
    wanted = {*item.tokens, item.key}
    for key in [k for k, e in entries.items() if k in wanted or wanted & set(e.item.tokens)]:
        del entries[key]


def _merge[T: _HasItem](entries: dict[str, T], fresh: Iterable[T]) -> None:
    """Put re-read rows in place of what the cache held for the same titles."""
    for entry in fresh:
        _drop(entries, entry.item)
        entries[_entry_key(entry.item)] = entry


def _title_of(item: MediaItem) -> MediaItem:
    """The show an episode or season belongs to; a title itself otherwise."""
    if item.type not in (MediaType.EPISODE, MediaType.SEASON):
        return item
    return MediaItem.create(MediaType.SHOW, title=item.title, year=item.year, ids=item.show_ids())


# Write bodies and replies --------------------------------------------------------------------


def _wire_ids(ids: Mapping[str, str]) -> dict[str, str | int]:
    wire: dict[str, str | int] = {}
    for key in SHARED_IDS:
        value = ids.get(key)
        if value is not None:
            wire[key] = value if key == "imdb" or not value.isdigit() else int(value)
    return wire


def _title_object(item: MediaItem) -> tuple[str, SyncObject] | str:
    """The standard media object for a title (or an episode's or season's show)."""
    numbered = item.type in (MediaType.EPISODE, MediaType.SEASON)
    ids = _wire_ids(item.show_ids() if numbered else item.ids())
    if not ids:
        # SIMKL would match by title alone, and a wrong match here writes to someone else's item.
        return "no_usable_ids"
    body = SyncObject(ids, title=item.title, year=item.year)
    return ("movies" if item.type is MediaType.MOVIE else "shows"), body


def _plain_object(request: WriteRequest, removal: bool) -> tuple[str, SyncObject] | str:
    del removal
    if request.item.type in (MediaType.EPISODE, MediaType.SEASON):
        return "simkl_lists_hold_titles_only"
    return _title_object(request.item)


def _listed_object(request: WriteRequest, removal: bool) -> tuple[str, SyncObject] | str:
    built = _plain_object(request, removal)
    if isinstance(built, str):
        return built
    section, body = built
    listed_at = request.payload.listed_at if isinstance(request.payload, Listed) else None
    return section, replace(body, to=WATCHLIST_STATUS, added_at=listed_at)


def _history_object(request: WriteRequest, removal: bool) -> tuple[str, SyncObject] | str:
    item, payload = request.item, request.payload
    built = _title_object(item)
    if isinstance(built, str):
        return built
    section, body = built
    when = payload.last_watched_at if isinstance(payload, Watched) else None
    stamp = when if when and not removal else None
    if item.type is MediaType.EPISODE:
        episode = SyncEpisode(item.episode, stamp)
        return section, replace(body, seasons=(SyncSeason(item.season, (episode,)),))
    if item.type is MediaType.SEASON:
        return section, replace(body, seasons=(SyncSeason(item.season, watched_at=stamp),))
    return section, replace(body, watched_at=stamp)


def _rating_object(request: WriteRequest, removal: bool) -> tuple[str, SyncObject] | str:
    if request.item.type in (MediaType.EPISODE, MediaType.SEASON):
        return "simkl_rates_titles_only"
    built = _title_object(request.item)
    if isinstance(built, str) or removal:
        return built
    section, body = built
    if not isinstance(request.payload, Rated):
        return "no_rating_given"
    rating = int(from_normalized(RatingScale.INTEGER_1_10, request.payload.value))
    return section, replace(body, rating=rating, rated_at=request.payload.rated_at)


def _fingerprint(body: SyncObject) -> str:
    return json.dumps(dict(body.ids), sort_keys=True)


def _absorb(target: SyncObject, extra: SyncObject) -> SyncObject:
    """Fold another episode or season of the same show into one show object."""
    seasons = list(target.seasons or ())
    for season in extra.seasons or ():
        at = next((i for i, s in enumerate(seasons) if s.number == season.number), None)
        known = None if at is None else seasons[at].episodes
        if at is None or known is None or season.episodes is None:
            seasons.append(season)
        else:
            seasons[at] = replace(seasons[at], episodes=(*known, *season.episodes))
    return replace(target, seasons=tuple(seasons))


def _pairs(ids: Mapping[str, object]) -> frozenset[tuple[str, str]]:
    return frozenset((str(k), str(v).casefold()) for k, v in ids.items() if v is not None)


def _matches(echo: Echo, sent: _Sent) -> bool:
    mine, theirs = _pairs(sent.body.ids), _pairs(echo.ids)
    return bool(mine and theirs) and (theirs <= mine or mine <= theirs)


def _outcome(reply: WriteReply, sent: _Sent) -> tuple[WriteOutcome, str | None]:
    """What a reply says about one sent object: not_found, echoed, or only counted."""
    if any(_matches(echo, sent) for echo in reply.not_found.get(sent.section, ())):
        return WriteOutcome.REJECTED, "not_found"
    confirmed = (*reply.added.get(sent.section, ()), *reply.statuses)
    if any(_matches(echo, sent) for echo in confirmed):
        return WriteOutcome.CONFIRMED, None
    return WriteOutcome.UNKNOWN, None


def _rejected(request: WriteRequest, reason: str) -> WriteResult:
    return WriteResult(request.item, WriteOutcome.REJECTED, reason)
