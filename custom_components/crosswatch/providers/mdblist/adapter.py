"""MDBList as a CrossWatch provider: watchlist, watch history (one watched state) and ratings.

Every read pulls the feature in full, page by page, and says how complete it is: all pages
read, how many rows, and for the watchlist the total MDBList announces. MDBList's deltas
(`since`) do not show removals (only its journal does, `shared/specs/mdblist/README.md` §4.2),
so a full read is the only present snapshot; the daily quota (1,000 requests on the free tier)
allows it, one page of up to 1,000 rows per call. `/sync/last_activities` gives the watermark.
A page that fails after others were read gives a partial snapshot, never a short one.

MDBList keeps one watched state per item, not plays (§7.2), and ratings 1-10 (§3). Watchlist
writes take IMDb or TMDb ids only (§7.1). Replies count per bucket (`writes.py`).
"""

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
import functools
from typing import Final, Literal

from ...clients.http import RateLimit
from ...clients.mdblist.client import WATCHLIST_IDS, MdblistApi, SyncPath
from ...clients.mdblist.models import ListedRow, Page, RatedRow, User, WatchedRow, WriteReply
from ...clients.off_loop import off_loop
from ...engine.capabilities import Capabilities, HistorySupport
from ...engine.cursor import Checkpoint
from ...engine.items import MediaItem, MediaType
from ...engine.payloads import Entry, Feature, Listed, Rated, Watched
from ...engine.plan import Action
from ...engine.provider import (
    AccountLimitError,
    AccountLockedError,
    AuthError,
    ItemCounts,
    ProviderError,
    RateLimitError,
    Read,
    WriteRequest,
    WriteResult,
)
from ...engine.ratings import RatingScale, to_normalized
from ...engine.snapshot import Completeness, Snapshot, partial, versioned
from ..client_errors import translates_client_errors, translating
from .writes import Batch, history_batch, outcomes, ratings_batch, rejected, watchlist_batch

CAPABILITIES: Final = Capabilities(
    features=frozenset(Feature),
    history=HistorySupport(
        multiple_plays=False, sets_watched_at=True, precision=timedelta(seconds=1)
    ),
    rating_scale=RatingScale.INTEGER_1_10,
    batch_size=100,  # MDBList's own plugin sends 100 items per POST (§2)
    # Replies count per bucket; only not_found can name an item.
    confirms_per_item=False,
)
# Errors a partial snapshot must not hide: the account or its quota needs attention.
FATAL: Final = (AuthError, RateLimitError, AccountLockedError, AccountLimitError)


@dataclass(frozen=True, slots=True)
class MdblistAccount:
    """The MDBList account an API key belongs to."""

    id: str
    name: str


@translates_client_errors
async def fetch_account(api: MdblistApi) -> MdblistAccount:
    """Ask `/user` whose key this is (for the config flow)."""
    user = await api.user()
    return MdblistAccount(str(user.user_id), user.username)


def daily_quota(user: User, now: datetime) -> RateLimit | None:
    """The daily request quota `/user` reported; it is refilled at midnight UTC (§2)."""
    if user.daily_limit is None or user.used_today is None:
        return None
    midnight = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return RateLimit(
        remaining=max(0, user.daily_limit - user.used_today),
        limit=user.daily_limit,
        resets_at=midnight + timedelta(days=1),
        bucket="daily",
    )


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _item(
    media_type: MediaType, title: str | None, year: int | None, ids: dict[str, str]
) -> MediaItem:
    try:
        return MediaItem.create(media_type, title=title, year=year, ids=ids)
    except ValueError as err:
        raise ProviderError(f"an MDBList row names no title: {err}") from err


def _listed(row: ListedRow) -> Entry:
    kind = MediaType.MOVIE if row.mediatype == "movie" else MediaType.SHOW
    return Entry(_item(kind, row.title, row.year, dict(row.ids)), Listed(row.listed_at))


def _watched(row: WatchedRow) -> Entry:
    state = Watched.from_plays((row.watched_at,)) if row.watched_at else Watched.from_state(1, None)
    if row.season is None:
        return Entry(_item(MediaType.MOVIE, row.title, row.year, dict(row.ids)), state)
    try:
        item = MediaItem.create(
            MediaType.EPISODE,
            title=row.title,
            year=row.year,
            show_ids=dict(row.ids),
            season=row.season,
            episode=row.number,
        )
    except ValueError as err:
        raise ProviderError(f"an MDBList episode row names no show: {err}") from err
    return Entry(item, state)


def _rated(row: RatedRow) -> Entry | None:
    kind = MediaType.MOVIE if row.mediatype == "movie" else MediaType.SHOW
    value = to_normalized(RatingScale.INTEGER_1_10, row.rating)
    if value is None:
        return None
    return Entry(_item(kind, row.title, row.year, dict(row.ids)), Rated(value, row.rated_at))


class MdblistProvider:
    """An MDBList account as the engine uses it."""

    def __init__(
        self, api: MdblistApi, account: MdblistAccount, *, now: Callable[[], datetime] = _utcnow
    ) -> None:
        """Bind the API client to the account its key belongs to."""
        self._api = translating(api)
        self._account = account
        self._now = now
        self._quota: RateLimit | None = None

    @property
    def key(self) -> str:
        """The account's stable id, e.g. 'mdblist:4242'."""
        return f"mdblist:{self._account.id}"

    @property
    def name(self) -> str:
        """How the account reads in plans."""
        return f"MDBList ({self._account.name})"

    @property
    def capabilities(self) -> Capabilities:
        """What MDBList holds and how it answers writes."""
        return CAPABILITIES

    @property
    def requests_made(self) -> int:
        """Every HTTP request this provider has made."""
        return self._api.http.requests.count

    @property
    def rate_limit(self) -> RateLimit | None:
        """The daily quota as `/user` last reported it (at the latest health check)."""
        return self._quota

    @translates_client_errors
    async def health(self) -> None:
        """Check the key still works and still belongs to the configured account."""
        user = await self._api.user()
        account = MdblistAccount(str(user.user_id), user.username)
        self._quota = daily_quota(user, self._now())
        if account.id != self._account.id:
            raise AuthError(
                f"the MDBList API key now belongs to account {account.id}, not {self._account.id}"
            )
        self._account = account

    def forget_reads(self, feature: Feature | None = None, *, validated: bool = False) -> None:
        """Nothing is kept between reads: every read asks MDBList in full."""

    async def count_items(self, *, ask: bool) -> ItemCounts:
        """MDBList counts only its watchlist: its watched and rated items are untold.

        Its sync endpoints page without totals, and it offers no statistics, so only a whole
        read (a pair's) can count them.
        """
        del ask
        why = "MDBList gives no count of them apart from reading them all"
        return ItemCounts({}, {Feature.HISTORY: why, Feature.RATINGS: why})

    # Search --------------------------------------------------------------------------------

    @property
    def search_name(self) -> str:
        """Search results are MDBList's."""
        return "MDBList"

    @translates_client_errors
    async def search_titles(self, text: str) -> Sequence[MediaItem]:
        """Movies, then shows, MDBList finds for `text`, each by its relevance.

        A hit without an IMDb or TMDb id is left out: the watchlist takes no other (§7.1).
        """
        found: list[MediaItem] = []
        searched: tuple[tuple[Literal["movie", "show"], MediaType], ...] = (
            ("movie", MediaType.MOVIE),
            ("show", MediaType.SHOW),
        )
        for mediatype, kind in searched:
            for hit in await self._api.search(mediatype, text):
                if not hit.title or not any(key in hit.ids for key in WATCHLIST_IDS):
                    continue
                found.append(_item(kind, hit.title, hit.year, dict(hit.ids)))
        return found

    # Reads ---------------------------------------------------------------------------------

    @translates_client_errors
    async def read(self, feature: Feature, checkpoint: Checkpoint | None) -> Read:
        """A present snapshot of one feature, every page of it."""
        activities = await self._api.last_activities()
        if feature is Feature.WATCHLIST:
            return await self._read(
                feature, self._api.watchlist_page, _listed, activities.server_time
            )
        if feature is Feature.HISTORY:
            return await self._read(
                feature, self._api.watched_page, _watched, activities.server_time
            )
        return await self._read(feature, self._api.ratings_page, _rated, activities.server_time)

    async def _read[R](
        self,
        feature: Feature,
        fetch: Callable[[int], Awaitable[Page[R]]],
        entry: Callable[[R], Entry | None],
        watermark: str | None,
    ) -> Read:
        entries: list[Entry] = []
        rows = 0
        total: int | None = None
        failure: str | None = None
        while True:
            try:
                page = await fetch(rows)
            except FATAL:
                raise
            except ProviderError as err:
                if not rows:
                    raise
                failure = f"page after {rows} rows: {err}"
                break
            rows += len(page.rows)
            total = page.total if page.total is not None else total
            entries.extend(e for e in map(entry, page.rows) if e is not None)
            if not page.has_more:
                break
            if not page.rows:
                failure = "MDBList said more rows follow but sent none"
                break
        if failure is not None:
            snapshot = Snapshot.build(self.name, feature, entries, partial(failure))
            return Read(snapshot, None)
        completeness = Completeness(
            all_pages=True, expected_total=total, seen_total=rows, watermark=watermark
        )
        snapshot, version = await off_loop(
            functools.partial(versioned, self.name, feature, entries, completeness),
            size=len(entries),
        )
        checkpoint = Checkpoint(self.key, feature, watermark, None, self._now())
        return Read(snapshot, checkpoint, version)

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
            batch = watchlist_batch(requests)
            reply = (
                await self._api.watchlist_write(removal, batch.flat) if batch.flat else WriteReply()
            )
            return outcomes(batch, requests, reply)
        if feature is Feature.HISTORY:
            path: SyncPath = "/sync/watched/remove" if removal else "/sync/watched"
            return await self._sync(path, history_batch(requests, removal), requests)
        path = "/sync/ratings/remove" if removal else "/sync/ratings"
        return await self._sync(path, ratings_batch(requests, removal), requests)

    async def _sync(
        self, path: SyncPath, batch: Batch, requests: Sequence[WriteRequest]
    ) -> Sequence[WriteResult]:
        reply = await self._api.sync_write(path, batch.sections) if batch.sections else WriteReply()
        return outcomes(batch, requests, reply)
