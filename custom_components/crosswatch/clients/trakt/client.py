"""An async Trakt API client: authenticated requests, pagination, ETags and Trakt's own errors.

Everything goes through the shared `HttpClient`. On top of it this module adds what is
particular to Trakt:
- the required headers and a Bearer token that is refreshed ahead of expiry, and once more on
  a 401, behind a lock because refresh tokens are single-use;
- pagination at 250 items a page (Trakt's 2026 cap: a larger limit is clamped, the default is
  100), following `X-Pagination-Page-Count` and judging a page full by the size Trakt said it
  served (`X-Pagination-Limit`), with the evidence a snapshot needs (announced total and page
  count, records seen, and why a read stopped early); `/sync/ratings` is unpaged again since
  2026: its reply without pagination headers is the whole list;
- no conditional requests: a 304 vouches for a page only as well as Trakt's caches do, and those
  have answered 304 for lists that had changed (after our own writes and otherwise), so every
  page is read in full and the caller decides from `/sync/last_activities` what to read at all;
- 420 (account limit) and 423 (locked account) as the client's account errors, and 403 and 426
  as Trakt's refusals of the API app itself (`errors`: a deleted app, VIP required), never as a
  refused sign-in;
- the quota Trakt reports in its `X-Ratelimit` header, bucket by bucket (read in `transport`,
  with the hosts, headers and pacing the device sign-in shares);
- writes that are not idempotent (adding plays) are never retried after a reply that may have
  been applied (5xx, timeout): Trakt does not deduplicate plays. Such a lost reply is raised as
  the shared client's outcome-unknown error, unchanged, for the engine to verify by reading.
"""

import asyncio
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import date
import hashlib
import json
import time
from typing import Any

import aiohttp

from ..errors import (
    CrossWatchAccountLimitError,
    CrossWatchAccountLockedError,
    CrossWatchAuthenticationError,
    CrossWatchClientError,
    CrossWatchInvalidResponseError,
    CrossWatchRateLimitError,
)
from ..http import (
    Clock,
    JsonValue,
    QuotaLog,
    RateLimit,
    Response,
    RetryPolicy,
    Sleep,
    header,
)
from ..scrobble import ScrobbleBody, ScrobbleReply, ScrobbleVerb, scrobble_reply
from ..tokens import Tokens, TokenSaver
from .auth import TraktApp, refresh_tokens
from .calendar import MAX_DAYS, CalendarReply, parse_calendar
from .errors import APP_REFUSALS, raise_for_app_refusal
from .models import (
    HistoryRow,
    LastActivities,
    PagedRead,
    RatingRow,
    RecordType,
    RowParser,
    SearchHit,
    UserSettings,
    UserStats,
    WatchlistRow,
    history_row,
    parse_last_activities,
    parse_settings,
    parse_stats,
    rating_row,
    search_hit,
    watchlist_row,
)
from .sync import (
    SyncBody,
    SyncReply,
    parse_sync_reply,
)
from .transport import (
    DEFAULT_BASE_URL,
    USER_AGENT,
    auth_url_for,
    make_http,
    parse_rate_limit,
    trakt_throttles,
)

PAGE_LIMIT = 250  # Trakt's largest page since 2026; never ask for more
# Access tokens live 7 days; renewing a day early keeps a long sync from straddling expiry.
REFRESH_MARGIN = 86400.0
# The bucket a sync spends: Trakt's GETs as a signed-in user (1000 every five minutes). Writes
# have their own bucket, one call a second, which the write throttle already keeps to.
READ_QUOTA = "AUTHED_API_GET_LIMIT"
SEARCH_LIMIT = 10  # Trakt's own default page of search results
# Characters Trakt's search engine reads as operators unless escaped with a backslash.
_SEARCH_OPERATORS = frozenset('+-&|!(){}[]^"~*?:/\\')
_API_OK = frozenset({200, 201, 204, 401, 420, 423}) | APP_REFUSALS


@dataclass(frozen=True, slots=True)
class Page[T]:
    """One page as it was read: its records, as sent and as parsed, and pagination headers."""

    raw: tuple[object, ...]
    records: tuple[T, ...]
    page_count: int | None
    item_count: int | None
    etag: str | None
    limit: int | None = None  # the page size Trakt said it served (X-Pagination-Limit)


class TraktClient:
    """Authenticated calls to one Trakt account."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        app: TraktApp,
        tokens: Tokens,
        save_tokens: TokenSaver,
        *,
        base_url: str = DEFAULT_BASE_URL,
        auth_url: str | None = None,
        user_agent: str = USER_AGENT,
        retry: RetryPolicy | None = None,
        sleep: Sleep = asyncio.sleep,
        clock: Clock | None = None,
        now: Callable[[], float] = time.time,
    ) -> None:
        """Talk to Trakt for one account; every new token pair goes to `save_tokens` first.

        The API is at `base_url`, OAuth (the token refresh) at `auth_url` (see `auth_url_for`).
        `sleep` and `clock` pace requests (monotonic); `now` dates tokens (the epoch).
        """
        self._retry = retry or RetryPolicy()
        throttles = trakt_throttles(sleep=sleep, clock=clock)
        self._quotas = QuotaLog(parse_rate_limit)
        options: dict[str, Any] = {
            "base_url": base_url, "user_agent": user_agent, "sleep": sleep, "throttles": throttles,
            "quotas": self._quotas,
        }  # fmt: skip
        self.http = make_http(session, app, retry=self._retry, **options)
        # Same limits, one attempt: for writes that must not be repeated blindly.
        self._once = make_http(session, app, retry=replace(self._retry, attempts=1), **options)
        # OAuth is another host, with limits of its own: not the API's buckets.
        self._auth = make_http(
            session,
            app,
            base_url=auth_url_for(base_url, auth_url),
            user_agent=user_agent,
            retry=self._retry,
            sleep=sleep,
            clock=clock,
        )
        self._app = app
        self._tokens = tokens
        self._unsaved: Tokens | None = None
        self._save = save_tokens
        self._now = now
        self._lock = asyncio.Lock()

    @property
    def requests_made(self) -> int:
        """Requests sent by the underlying clients (the API's and OAuth's)."""
        return self.http.requests.count + self._once.requests.count + self._auth.requests.count

    @property
    def tokens(self) -> Tokens:
        """The token pair in use."""
        return self._tokens

    @property
    def rate_limit(self) -> RateLimit | None:
        """The read quota as Trakt last reported it (None until a reply carried it)."""
        return self._quotas.latest(READ_QUOTA)

    # -- authentication -------------------------------------------------------------------

    async def _current_tokens(self) -> Tokens:
        if self._unsaved is not None:
            await self._adopt(self._unsaved)
        if self._tokens.expires_within(REFRESH_MARGIN, now=self._now()):
            await self._refresh(self._tokens)
        return self._tokens

    async def _adopt(self, fresh: Tokens) -> None:
        """Persist a new pair, then use it; until it is saved it is kept aside, never used."""
        self._unsaved = fresh
        await self._save(fresh)
        self._tokens, self._unsaved = fresh, None

    async def _refresh(self, stale: Tokens) -> None:
        async with self._lock:
            if self._tokens is not stale:
                return  # another request refreshed while this one waited
            if self._unsaved is not None:
                await self._adopt(self._unsaved)
                return
            if not stale.refresh_token:
                raise CrossWatchAuthenticationError(
                    "the Trakt access token expired and there is no refresh token"
                )
            fresh = await refresh_tokens(self._auth, self._app, stale.refresh_token, now=self._now)
            await self._adopt(fresh)

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str | int] | None = None,
        json_body: JsonValue = None,
        headers: Mapping[str, str] | None = None,
        idempotent: bool = True,
        ok: frozenset[int] = _API_OK,
    ) -> Response:
        """Send one authenticated call; refresh and retry once on a 401."""
        refreshed = False
        while True:
            tokens = await self._current_tokens()
            reply = await self._send(
                method,
                path,
                params=params,
                json_body=json_body,
                headers={**(headers or {}), "Authorization": f"Bearer {tokens.access_token}"},
                idempotent=idempotent,
                ok=ok,
            )
            if reply.status != 401:
                return _checked(reply)
            if refreshed:
                raise CrossWatchAuthenticationError(
                    "Trakt refused the refreshed credentials (HTTP 401)"
                )
            await self._refresh(tokens)
            refreshed = True

    async def _send(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str | int] | None,
        json_body: JsonValue,
        headers: Mapping[str, str],
        idempotent: bool,
        ok: frozenset[int],
    ) -> Response:
        if idempotent:
            return await self.http.request(
                method, path, params=params, json_body=json_body, headers=headers, ok=ok,
                idempotent=True,
            )  # fmt: skip
        # A 429 was certainly not applied, so it may be repeated; a 5xx or timeout may have been.
        for attempt in range(self._retry.attempts):
            try:
                return await self._once.request(
                    method, path, params=params, json_body=json_body, headers=headers, ok=ok
                )
            except CrossWatchRateLimitError as err:
                if attempt + 1 == self._retry.attempts or (
                    err.retry_after is not None and err.retry_after > self._retry.max_retry_after
                ):
                    raise
        raise CrossWatchInvalidResponseError(
            "Trakt could not be asked"
        )  # pragma: no cover - attempts >= 1

    # -- reads ----------------------------------------------------------------------------

    async def settings(self) -> UserSettings:
        """`/users/settings`: the account's slug and its plan's watchlist limit."""
        return parse_settings(await self._get_json("/users/settings"))

    async def stats(self, user: str) -> UserStats:
        """`/users/{user}/stats`: the plays and ratings Trakt counts apart from the lists."""
        return parse_stats(await self._get_json(f"/users/{user}/stats"))

    async def last_activities(self) -> LastActivities:
        """`/sync/last_activities`; a body that is not JSON gives no stamps, and says why.

        No reply at all (a fault the shared client gave up on) is raised like any other.
        """
        reply = await self.request("GET", "/sync/last_activities")
        try:
            body = reply.json()
        except CrossWatchInvalidResponseError as err:
            return LastActivities(unreadable=str(err))
        return parse_last_activities(body)

    async def watchlist(self, category: str) -> PagedRead[WatchlistRow]:
        """Every page of `/sync/watchlist/{category}`."""
        return await self.get_pages(f"/sync/watchlist/{category}", watchlist_row)

    async def history(self, category: str) -> PagedRead[HistoryRow]:
        """Every page of `/sync/history/{category}`: one record per play."""
        return await self.get_pages(f"/sync/history/{category}", history_row)

    async def ratings(self, category: str) -> PagedRead[RatingRow]:
        """`/sync/ratings/{category}`: unpaged since 2026, and followed should Trakt page it."""
        return await self.get_pages(f"/sync/ratings/{category}", rating_row, unpaged=True)

    async def search(self, kind: RecordType, query: str) -> tuple[SearchHit, ...]:
        """The first page of `/search/{movie|show}` for `query`, most relevant first.

        The query is sent as literal text: Trakt's search engine reads characters such as
        `:` or `-` as operators ("Mission: Impossible"), so they are escaped. Results that
        cannot be read are left out: a search is a suggestion, not an inventory.
        """
        if kind not in (RecordType.MOVIE, RecordType.SHOW):
            raise ValueError(f"Trakt searches movies and shows here, not {kind}")
        literal = "".join(f"\\{c}" if c in _SEARCH_OPERATORS else c for c in query)
        reply = await self.request(
            "GET", f"/search/{kind.value}", params={"query": literal, "limit": SEARCH_LIMIT}
        )
        body = reply.json()
        if not isinstance(body, list):
            raise CrossWatchInvalidResponseError("Trakt sent search results that are not a list")
        return tuple(hit for hit in map(search_hit, body) if hit is not None)

    async def my_calendar(self, start: date, days: int) -> CalendarReply:
        """`/calendars/my/shows/{start}/{days}`: the user's shows airing, with runtimes.

        Trakt serves at most 33 days a request; asking for more is the caller's mistake.
        """
        if not 1 <= days <= MAX_DAYS:
            raise ValueError(f"Trakt serves 1 to {MAX_DAYS} calendar days, not {days}")
        reply = await self.request(
            "GET", f"/calendars/my/shows/{start.isoformat()}/{days}", params={"extended": "full"}
        )
        return parse_calendar(reply.json())

    async def _get_json(self, path: str) -> JsonValue:
        """GET one unpaginated resource as JSON."""
        return (await self.request("GET", path)).json()

    async def get_pages[T](
        self,
        path: str,
        parse: RowParser[T],
        params: Mapping[str, str | int] | None = None,
        *,
        unpaged: bool = False,
    ) -> PagedRead[T]:
        """Read every page of `path`; a fault midway ends the read with the failure noted.

        `unpaged`: the endpoint answers the whole list at once, so a first reply without any
        pagination header is all of it. One with pagination headers is followed page by page.

        A page that is not a JSON list, a page before the last one that is not full, and a page
        whose total disagrees with the first one's all end the read as failed: what was read
        cannot be all of the list. Auth, rate-limit and account errors are raised: they concern
        the run. Each record is parsed with `parse`; those it cannot read are counted.
        """
        rows = 0
        digest = _Digest()
        records: list[T] = []
        expected: int | None = None
        announced_pages: int | None = None
        first_etag: str | None = None
        number, page_count = 1, 1

        whole = False

        def done(failure: str | None, etag: str | None) -> PagedRead[T]:
            return PagedRead(
                records=tuple(records),
                rows=rows,
                malformed=rows - len(records),
                expected_total=expected,
                page_count=announced_pages,
                all_pages=failure is None,
                failure=failure,
                etag=etag,
                digest=digest.hexdigest(),
                unpaged=whole and failure is None,
            )

        while number <= page_count:
            try:
                page = await self._page(path, params, number, parse)
            except (
                CrossWatchAuthenticationError,
                CrossWatchRateLimitError,
                CrossWatchAccountLimitError,
                CrossWatchAccountLockedError,
            ):
                raise
            except CrossWatchClientError as err:
                return done(f"page {number}: {err}", None)
            if number == 1:
                first_etag, expected = page.etag, page.item_count
                announced_pages = page.page_count
                page_count = page.page_count or 1
                whole = unpaged and page.page_count is None and page.item_count is None
            elif page.item_count is not None and page.item_count != expected:
                # The list changed between pages: rows may have moved past the pages read.
                return done(
                    f"page {number} announced {page.item_count} items, page 1 {expected}", None
                )
            rows += len(page.raw)
            digest.update(page.raw)
            records.extend(page.records)
            if number < page_count and len(page.raw) < min(page.limit or PAGE_LIMIT, PAGE_LIMIT):
                return done(f"page {number} of {page_count} held {len(page.raw)} items", None)
            number += 1
        return done(None, first_etag)

    async def _page[T](
        self,
        path: str,
        params: Mapping[str, str | int] | None,
        number: int,
        parse: RowParser[T],
    ) -> Page[T]:
        reply = await self.request(
            "GET", path, params={**(params or {}), "page": number, "limit": PAGE_LIMIT}
        )
        # A 304 (never asked for: no If-None-Match is sent) has no body, and fails here too.
        body = reply.json()
        if not isinstance(body, list):
            raise CrossWatchInvalidResponseError(f"Trakt sent a page of {path} that is not a list")
        return Page(
            tuple(body),
            tuple(record for record in map(parse, body) if record is not None),
            _int_header(reply.headers, "X-Pagination-Page-Count"),
            _int_header(reply.headers, "X-Pagination-Item-Count"),
            header(reply.headers, "ETag"),
            _int_header(reply.headers, "X-Pagination-Limit"),
        )

    # -- writes ---------------------------------------------------------------------------

    async def sync(self, path: str, body: SyncBody, *, idempotent: bool = True) -> SyncReply:
        """POST a sync body; its reply, or one that says nothing when it cannot be read.

        A 2xx means Trakt took the request: a body we cannot read (not JSON) changes nothing
        about that, it only leaves what became of each item unsaid. Raising here would count
        the write as failed, and a failed play is sent again: a second play on Trakt.
        A 420 (the account is at its plan's limit) names the list it refused to grow.
        """
        try:
            reply = await self.request(
                "POST", path, json_body=body.to_json(), idempotent=idempotent
            )
        except CrossWatchAccountLimitError as err:
            what = path.strip("/").split("/")[1] if path.count("/") > 1 else path
            raise CrossWatchAccountLimitError(
                f"Trakt refused more {what}: {err}", err.limit
            ) from err
        try:
            return parse_sync_reply(reply.json())
        except CrossWatchClientError:
            return SyncReply()

    async def scrobble(self, verb: ScrobbleVerb, body: ScrobbleBody) -> ScrobbleReply:
        """POST `/scrobble/{start|pause|stop}`: what plays and how far (clients/scrobble.py).

        Unlike a play sent to `/sync/history`, a scrobble may be repeated after a reply that was
        lost: Trakt refuses a second stop of an item it has just recorded with a 409, which is
        its word that it holds the play, and is answered as such. So a stop is retried as a
        read is, and at worst recorded once. Writes share Trakt's write bucket (one call a
        second), which the write throttle keeps to.
        """
        reply = await self.request(
            "POST", f"/scrobble/{verb.value}", json_body=body.to_json(), idempotent=True,
            ok=_API_OK | {409},
        )  # fmt: skip
        return scrobble_reply(reply)


class _Digest:
    """A fingerprint of the records as sent: equal for reads of the same records.

    Taken page by page as the pages come in: over a whole list of 100,000 records at the end,
    it would hold the event loop for a third of a second.
    """

    def __init__(self) -> None:
        self._hash = hashlib.sha256()

    def update(self, records: Iterable[object]) -> None:
        for record in records:
            self._hash.update(
                json.dumps(record, sort_keys=True, separators=(",", ":"), default=str).encode()
            )
            self._hash.update(b"\n")

    def hexdigest(self) -> str:
        return self._hash.hexdigest()


def _checked(reply: Response) -> Response:
    raise_for_app_refusal(reply)
    if reply.status == 420:
        limit = _int_header(reply.headers, "X-Account-Limit")
        vip = (header(reply.headers, "X-VIP-User") or "").lower() == "true"
        hint = "" if vip else " (Trakt VIP raises it)"
        size = f"{limit:,}" if limit is not None else "its"
        raise CrossWatchAccountLimitError(
            f"the Trakt account is at its limit of {size} items{hint}", limit
        )
    if reply.status == 423:
        raise CrossWatchAccountLockedError(
            "Trakt has locked or deactivated this account; the owner must contact Trakt support"
        )
    return reply


def _int_header(headers: Mapping[str, str], name: str) -> int | None:
    value = header(headers, name)
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None
