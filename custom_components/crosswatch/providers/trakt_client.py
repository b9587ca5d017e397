"""An async Trakt API client: authenticated requests, pagination, ETags and Trakt's own errors.

Everything goes through the shared `HttpClient`. On top of it this module adds what is
particular to Trakt:
- the required headers and a Bearer token that is refreshed ahead of expiry, and once more on
  a 401, behind a lock because refresh tokens are single-use;
- pagination at 250 items a page, following `X-Pagination-Page-Count`, with the evidence a
  snapshot needs (announced total, records seen, and why a read stopped early);
- ETag revalidation of cached pages, and busting them after our own writes;
- 420 (account limit) and 423 (locked account) as the engine's errors;
- the quota Trakt reports in its `X-Ratelimit` header, bucket by bucket;
- writes that are not idempotent (adding plays) are never retried after a reply that may have
  been applied (5xx, timeout): Trakt does not deduplicate plays.
"""

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
import json
import time
from typing import Any, TypeGuard

import aiohttp

from ..engine.provider import (
    AccountLimitError,
    AccountLockedError,
    AuthError,
    ProviderError,
    RateLimitError,
)
from .http import (
    Clock,
    HttpClient,
    JsonValue,
    QuotaLog,
    RateLimit,
    Response,
    RetryPolicy,
    Sleep,
    Throttle,
)
from .tokens import Tokens, TokenSaver
from .trakt_auth import TraktApp, refresh_tokens

DEFAULT_BASE_URL = "https://api.trakt.tv"
USER_AGENT = "CrossWatch/0.1 (Home Assistant)"
PAGE_LIMIT = 250
# Trakt's published limits: one authed write a second, 1000 GETs per five minutes.
WRITE_INTERVAL = 1.0
GET_LIMIT = 1000
GET_WINDOW = 300.0
# Access tokens live 7 days; renewing a day early keeps a long sync from straddling expiry.
REFRESH_MARGIN = 86400.0
# The bucket a sync spends: Trakt's GETs as a signed-in user (1000 every five minutes). Writes
# have their own bucket, one call a second, which the write throttle already keeps to.
READ_QUOTA = "AUTHED_API_GET_LIMIT"
_API_OK = frozenset({200, 201, 204, 401, 420, 423})


def make_http(
    session: aiohttp.ClientSession,
    app: TraktApp,
    *,
    base_url: str = DEFAULT_BASE_URL,
    user_agent: str = USER_AGENT,
    retry: RetryPolicy | None = None,
    sleep: Sleep = asyncio.sleep,
    clock: Clock | None = None,
    throttles: tuple[Throttle, Throttle] | None = None,
    quotas: QuotaLog | None = None,
) -> HttpClient:
    """An HttpClient with Trakt's headers and limits (also what the device flow uses).

    `throttles` (reads, writes) and `quotas` let two clients of one account share Trakt's
    limits and what Trakt reported about them.
    """
    reads, writes = throttles or trakt_throttles(sleep=sleep, clock=clock)
    return HttpClient(
        session,
        base_url,
        service="Trakt",
        headers={
            "Content-Type": "application/json",
            "User-Agent": user_agent,
            "trakt-api-key": app.client_id,
            "trakt-api-version": "2",
        },
        read_throttle=reads,
        write_throttle=writes,
        retry=retry,
        sleep=sleep,
        quotas=quotas,
    )


def trakt_throttles(
    *, sleep: Sleep = asyncio.sleep, clock: Clock | None = None
) -> tuple[Throttle, Throttle]:
    """Pacing for Trakt's published limits: (GETs, writes)."""
    return (
        Throttle(limit=GET_LIMIT, window=GET_WINDOW, clock=clock, sleep=sleep),
        Throttle(WRITE_INTERVAL, clock=clock, sleep=sleep),
    )


@dataclass(frozen=True, slots=True)
class Page:
    """One page as it was read (or revalidated): its items and pagination headers."""

    items: tuple[Any, ...]
    page_count: int | None
    item_count: int | None
    etag: str | None


@dataclass(frozen=True, slots=True)
class PagedRead:
    """Every item a paginated read reached, and the evidence of how far it got."""

    items: tuple[Any, ...]
    expected_total: int | None
    all_pages: bool
    failure: str | None
    etag: str | None  # the first page's validator
    changed: bool  # False when every page was revalidated unchanged (304)


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
        user_agent: str = USER_AGENT,
        retry: RetryPolicy | None = None,
        sleep: Sleep = asyncio.sleep,
        clock: Clock | None = None,
        now: Callable[[], float] = time.time,
    ) -> None:
        """Talk to Trakt for one account; every new token pair goes to `save_tokens` first.

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
        self._app = app
        self._tokens = tokens
        self._unsaved: Tokens | None = None
        self._save = save_tokens
        self._now = now
        self._lock = asyncio.Lock()
        self._pages: dict[tuple[str, int], Page] = {}

    @property
    def requests_made(self) -> int:
        """Requests sent by both underlying clients."""
        return self.http.requests.count + self._once.requests.count

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
                raise AuthError("the Trakt access token expired and there is no refresh token")
            fresh = await refresh_tokens(self.http, self._app, stale.refresh_token, now=self._now)
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
            )
            if reply.status != 401:
                return _checked(reply)
            if refreshed:
                raise AuthError("Trakt refused the refreshed credentials (HTTP 401)")
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
    ) -> Response:
        if idempotent:
            return await self.http.request(
                method, path, params=params, json_body=json_body, headers=headers, ok=_API_OK
            )
        # A 429 was certainly not applied, so it may be repeated; a 5xx or timeout may have been.
        for attempt in range(self._retry.attempts):
            try:
                return await self._once.request(
                    method, path, params=params, json_body=json_body, headers=headers, ok=_API_OK
                )
            except RateLimitError as err:
                if attempt + 1 == self._retry.attempts or (
                    err.retry_after is not None and err.retry_after > self._retry.max_retry_after
                ):
                    raise
        raise ProviderError("Trakt could not be asked")  # pragma: no cover - attempts >= 1

    # -- reads ----------------------------------------------------------------------------

    async def get_json(self, path: str, params: Mapping[str, str | int] | None = None) -> Any:
        """GET one unpaginated resource as JSON."""
        return (await self.request("GET", path, params=params)).json()

    async def get_pages(
        self, path: str, params: Mapping[str, str | int] | None = None, *, revalidate: bool = False
    ) -> PagedRead:
        """Read every page of `path`; a fault midway ends the read with the failure noted.

        With `revalidate`, pages read before are asked for with If-None-Match and a 304 reuses
        them. AuthError, RateLimitError and account errors are raised: they concern the run.
        """
        items: list[Any] = []
        expected: int | None = None
        first_etag: str | None = None
        changed = False
        number, page_count = 1, 1
        while number <= page_count:
            try:
                page, fresh = await self._page(path, params, number, revalidate=revalidate)
            except AuthError, RateLimitError, AccountLimitError, AccountLockedError:
                raise
            except ProviderError as err:
                return PagedRead(tuple(items), expected, False, f"page {number}: {err}", None, True)
            changed = changed or fresh
            if number == 1:
                first_etag, expected = page.etag, page.item_count
                page_count = page.page_count or 1
            items.extend(page.items)
            if number < page_count and len(page.items) < PAGE_LIMIT:
                failure = f"page {number} of {page_count} held {len(page.items)} items"
                return PagedRead(tuple(items), expected, False, failure, None, True)
            number += 1
        return PagedRead(tuple(items), expected, True, None, first_etag, changed)

    async def _page(
        self, path: str, params: Mapping[str, str | int] | None, number: int, *, revalidate: bool
    ) -> tuple[Page, bool]:
        cached = self._pages.get((path, number)) if revalidate else None
        headers = {"If-None-Match": cached.etag} if cached and cached.etag else None
        reply = await self.request(
            "GET", path, params={**(params or {}), "page": number, "limit": PAGE_LIMIT},
            headers=headers,
        )  # fmt: skip
        if reply.status == 304 and cached is not None:
            return cached, False
        body = reply.json()
        if not isinstance(body, list):
            raise ProviderError(f"Trakt sent a page of {path} that is not a list")
        page = Page(
            tuple(body),
            _int_header(reply.headers, "X-Pagination-Page-Count"),
            _int_header(reply.headers, "X-Pagination-Item-Count"),
            _header(reply.headers, "ETag"),
        )
        if revalidate:
            self._pages[(path, number)] = page
        return page, True

    def forget_pages(self, prefix: str) -> None:
        """Bust the cached pages (and ETags) of every path under `prefix`."""
        for key in [key for key in self._pages if key[0].startswith(prefix)]:
            del self._pages[key]

    # -- writes ---------------------------------------------------------------------------

    async def post(self, path: str, body: JsonValue, *, idempotent: bool = True) -> Any:
        """POST a sync body; the reply as JSON."""
        return (await self.request("POST", path, json_body=body, idempotent=idempotent)).json()


def _checked(reply: Response) -> Response:
    if reply.status == 420:
        limit = _int_header(reply.headers, "X-Account-Limit")
        vip = (_header(reply.headers, "X-VIP-User") or "").lower() == "true"
        hint = "" if vip else " (Trakt VIP raises it)"
        raise AccountLimitError(
            f"the Trakt account is at its limit of {limit or 'its'} items{hint}", limit
        )
    if reply.status == 423:
        raise AccountLockedError(
            "Trakt has locked or deactivated this account; the owner must contact Trakt support"
        )
    return reply


def parse_rate_limit(headers: Mapping[str, str]) -> RateLimit | None:
    """The quota in Trakt's `X-Ratelimit` header, a JSON object.

    E.g. `{"name": "AUTHED_API_GET_LIMIT", "period": 300, "limit": 1000, "remaining": 0,
    "until": "2020-10-10T00:24:00Z"}`. Trakt calls it optional: some replies (and 429s sent
    before the rate limiter) come without it, and anything unreadable counts as absent.
    """
    raw = _header(headers, "X-Ratelimit")
    if raw is None:
        return None
    try:
        data = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    remaining, limit, name = data.get("remaining"), data.get("limit"), data.get("name")
    if not _is_int(remaining):
        return None
    return RateLimit(
        remaining=max(0, remaining),
        limit=limit if _is_int(limit) else None,
        resets_at=_instant(data.get("until")),
        bucket=name if isinstance(name, str) else "",
    )


def _is_int(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _instant(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _header(headers: Mapping[str, str], name: str) -> str | None:
    wanted = name.lower()
    return next((value for key, value in headers.items() if key.lower() == wanted), None)


def _int_header(headers: Mapping[str, str], name: str) -> int | None:
    value = _header(headers, name)
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None
