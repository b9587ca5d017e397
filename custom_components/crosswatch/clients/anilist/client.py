"""AniList: an async GraphQL client for one account's anime list.

AniList speaks GraphQL only: every call is a POST of `{query, variables}` to one URL, and
failures come back as `{"errors": [{"message", "status"}]}` bodies (with the HTTP status mirroring
the first error's). The client sends every request through the shared `HttpClient`, paced at 30
requests a minute: AniList documents 90, but has long served about 30 and answers 429 beyond.

Authentication is the implicit grant with the PIN redirect: the user opens `authorize_url()`,
AniList shows a token valid for a year, and the user pastes it. There is no refresh; an expired or
revoked token surfaces as `CrossWatchAuthenticationError` and the account needs a new token.

The engine adapter built on this client is `providers/anilist_provider.py`; the replies' typed
models are in `models.py`, the GraphQL documents in `queries.py`.
"""

import asyncio
from base64 import urlsafe_b64decode
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
import json
import time
from types import MappingProxyType
from typing import Any, Final
from urllib.parse import urlencode

import aiohttp

from ..errors import (
    CrossWatchAuthenticationError,
    CrossWatchClientError,
    CrossWatchInvalidResponseError,
    CrossWatchRateLimitError,
)
from ..http import HttpClient, QuotaLog, RateLimit, RetryPolicy, Sleep, Throttle, header
from ..tokens import Tokens
from .airing import Airing, parse_airing_page, parse_followed_page
from .models import (
    Chunk,
    EntryChange,
    FoundMedia,
    GraphQLProblem,
    ListEntry,
    ListMark,
    LiveMedia,
    Lookup,
    SavedEntry,
    ScoreFormat,
    Viewer,
    as_int,
    as_number,
    as_object,
    as_objects,
    as_records,
    parse_found_media,
    parse_list_entry,
    parse_live_media,
    parse_viewer,
)
from .queries import (
    AIRING_QUERY,
    COLLECTION_QUERY,
    DELETE_MUTATION,
    FOLLOWED_QUERY,
    LATEST_CHANGE_QUERY,
    LOOKUP_QUERY,
    SAVE_MUTATION,
    SEARCH_QUERY,
    STATISTICS_QUERY,
    VIEWER_QUERY,
)

API_URL: Final = "https://graphql.anilist.co"
AUTHORIZE_URL: Final = "https://anilist.co/api/v2/oauth/authorize"
REQUESTS_PER_MINUTE: Final = 30
# The minute the client counts them over, with a second to spare: AniList counts a request when
# it arrives, the client when it may be sent.
RATE_WINDOW: Final = 61.0
PER_CHUNK: Final = 500  # MediaListCollection's documented maximum
SEARCH_PER_PAGE: Final = 10  # of search results: the best few are all a pick looks at
PAGE_SIZE: Final = 50  # the most a Page serves since 2026 (a larger perPage is served 50)

_OK_STATUSES: Final = frozenset({200, 400, 404})  # GraphQL error bodies we read ourselves
_AUTH_MESSAGES: Final = frozenset({"invalid token", "unauthorized", "unauthorized."})


def authorize_url(client_id: str) -> str:
    """The page where the user authorizes CrossWatch and is shown a token to paste."""
    return f"{AUTHORIZE_URL}?{urlencode({'client_id': client_id, 'response_type': 'token'})}"


def tokens_from_pin(token: str) -> Tokens:
    """Tokens for a pasted access token, expiring when its JWT `exp` claim says.

    AniList tokens are JWTs valid for a year. Reading the claim (not verifying it: only AniList
    can) lets health checks ask for reauthentication before a sync fails on a dead token.
    """
    token = token.strip()
    if not token:
        raise ValueError("the token is empty")
    return Tokens(access_token=token, expires_at=_jwt_expiry(token))


def _jwt_expiry(token: str) -> float | None:
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        claims = json.loads(urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except ValueError:
        return None
    expiry = claims.get("exp") if isinstance(claims, dict) else None
    if isinstance(expiry, bool) or not isinstance(expiry, int | float):
        return None
    return float(expiry)


class GraphQLError(CrossWatchClientError):
    """AniList answered with GraphQL errors that are not about credentials or pacing."""

    def __init__(self, problems: Sequence[GraphQLProblem], http_status: int) -> None:
        """Keep every problem; the status is the first error's, else the HTTP status."""
        self.problems = tuple(problems)
        first = self.problems[0].status if self.problems else None
        self.status = first if first is not None else http_status
        text = "; ".join(problem.message for problem in self.problems) or "unknown error"
        super().__init__(f"AniList refused the request ({self.status}): {text}")

    @property
    def not_found(self) -> bool:
        """Whether AniList said the thing asked for does not exist."""
        return self.status == 404

    @property
    def invalid(self) -> bool:
        """Whether AniList refused the arguments themselves."""
        return self.status in (400, 422) and any(p.validation for p in self.problems)


class AniListClient:
    """Sends GraphQL documents to AniList for one token."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        tokens: Tokens,
        *,
        base_url: str = API_URL,
        throttle: Throttle | None = None,
        retry: RetryPolicy | None = None,
        sleep: Sleep = asyncio.sleep,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        """Bind the session and token; the base URL is overridable for the simulator."""
        self.tokens = tokens
        self._throttle = throttle or Throttle(
            limit=REQUESTS_PER_MINUTE, window=RATE_WINDOW, sleep=sleep
        )
        self._wall_clock = wall_clock
        self._quotas = QuotaLog(parse_rate_limit)
        self._http = HttpClient(
            session,
            base_url,
            service="AniList",
            headers={
                "Authorization": f"Bearer {tokens.access_token}",
                "Accept": "application/json",
            },
            read_throttle=self._throttle,
            retry=retry,
            sleep=sleep,
            quotas=self._quotas,
        )

    @property
    def requests_made(self) -> int:
        """Requests answered so far."""
        return self._http.requests.count

    @property
    def rate_limit(self) -> RateLimit | None:
        """The quota AniList reported in its last reply that carried one."""
        return self._quotas.latest()

    async def execute(
        self, document: str, variables: Mapping[str, Any] | None = None
    ) -> Mapping[str, Any]:
        """Run one document; return its `data`, or raise the error its reply stands for."""
        response = await self._http.request(
            "POST",
            "",
            json_body={"query": document, "variables": dict(variables or {})},
            ok=_OK_STATUSES,
            # A query changes nothing, so it may be repeated; a mutation may not (see request).
            idempotent=not document.lstrip().startswith("mutation"),
        )
        self._respect_rate_limit(response.headers)
        payload = response.json()
        if not isinstance(payload, dict):
            raise CrossWatchInvalidResponseError("AniList sent an empty reply")
        problems = _problems(payload.get("errors"))
        if problems or response.status != 200:
            raise _error_for(problems, response.status)
        data = payload.get("data")
        if not isinstance(data, dict):
            raise CrossWatchInvalidResponseError("AniList sent a reply without data")
        return data

    def _respect_rate_limit(self, headers: Mapping[str, str]) -> None:
        """Hold further requests when AniList says this minute's budget is spent."""
        values = {key.lower(): value for key, value in headers.items()}
        remaining = as_int(values.get("x-ratelimit-remaining"))
        reset = as_int(values.get("x-ratelimit-reset"))
        if remaining is None or remaining > 0 or reset is None:
            return
        # Reset is a Unix time; a clock skewed by more than a minute must not stall us longer.
        wait = min(60.0, max(0.0, reset - self._wall_clock()))
        if wait:
            self._throttle.block_for(wait)

    async def viewer(self) -> Viewer:
        """The account the token belongs to."""
        data = await self.execute(VIEWER_QUERY)
        return parse_viewer(data.get("Viewer"))

    async def collection_chunk(
        self, user_id: int, score_format: ScoreFormat, chunk: int, per_chunk: int = PER_CHUNK
    ) -> Chunk:
        """One chunk of the user's anime list collection, scores in `score_format`."""
        data = await self.execute(
            COLLECTION_QUERY,
            {
                "userId": user_id,
                "format": score_format.value,
                "chunk": chunk,
                "perChunk": per_chunk,
            },
        )
        collection = data.get("MediaListCollection")
        if not isinstance(collection, dict):
            raise CrossWatchInvalidResponseError("AniList sent no list collection")
        # An empty list is `"lists": []`; a null or missing one (or null entries) is a reply
        # that lost its content, and reading it as empty would make every entry look removed.
        groups = collection.get("lists")
        if not isinstance(groups, list) or not all(isinstance(g, dict) for g in groups):
            raise CrossWatchInvalidResponseError("AniList sent a list collection without its lists")
        has_next = collection.get("hasNextChunk")
        if not isinstance(has_next, bool):
            raise CrossWatchInvalidResponseError(
                "AniList did not say whether another chunk follows"
            )
        entries: list[ListEntry] = []
        malformed = 0
        for group in groups:
            rows = group.get("entries")
            if not isinstance(rows, list):
                raise CrossWatchInvalidResponseError("AniList sent a list without its entries")
            for raw in as_records(rows):
                entry = parse_list_entry(raw)
                if entry is None:
                    malformed += 1
                else:
                    entries.append(entry)
        return Chunk(tuple(entries), malformed, has_next)

    async def status_counts(self, user_id: int) -> Mapping[str, int]:
        """How many anime of each list status AniList's own statistics count for the user.

        AniList keeps these apart from the list itself, so a list reply that lost entries does
        not take them along. A status without entries may be left out: it counts nothing.
        """
        return _status_counts(await self.execute(STATISTICS_QUERY, {"userId": user_id}))

    async def latest_change(self, user_id: int) -> ListMark:
        """The user's anime entry edited last, and the statistics' count of each status."""
        data = await self.execute(LATEST_CHANGE_QUERY, {"userId": user_id})
        rows = as_object(data.get("Page")).get("mediaList")
        if not isinstance(rows, list):
            raise CrossWatchInvalidResponseError("AniList sent a page without its list entries")
        latest: tuple[int, int] | None = None
        if rows:
            row = rows[0] if isinstance(rows[0], dict) else {}
            entry_id, updated_at = as_int(row.get("id")), as_int(row.get("updatedAt"))
            if entry_id is None or updated_at is None:
                raise CrossWatchInvalidResponseError("AniList sent an entry without its dates")
            latest = (entry_id, updated_at)
        return ListMark(latest, MappingProxyType(dict(_status_counts(data))))

    async def followed_media(self, user_id: int, *, max_pages: int = 20) -> tuple[int, ...]:
        """The media ids of the user's CURRENT and PLANNING anime (up to `max_pages` pages)."""
        ids: list[int] = []
        for page in range(1, max_pages + 1):
            data = await self.execute(
                FOLLOWED_QUERY, {"userId": user_id, "page": page, "perPage": PAGE_SIZE}
            )
            found = parse_followed_page(data)
            ids.extend(found.media_ids)
            if not found.has_next:
                break
        return tuple(dict.fromkeys(ids))

    async def airing(
        self, media_ids: Sequence[int], after: datetime, before: datetime, *, max_pages: int = 5
    ) -> tuple[Airing, ...]:
        """The airings of `media_ids` strictly between `after` and `before`, 50 media a query.

        Each query is paged up to `max_pages` pages of 50 airings.
        """
        airings: list[Airing] = []
        for start in range(0, len(media_ids), PAGE_SIZE):
            chunk = list(media_ids[start : start + PAGE_SIZE])
            for page in range(1, max_pages + 1):
                variables = {
                    "ids": chunk,
                    "after": int(after.timestamp()),
                    "before": int(before.timestamp()),
                    "page": page,
                    "perPage": PAGE_SIZE,
                }
                found = parse_airing_page(await self.execute(AIRING_QUERY, variables))
                airings.extend(found.airings)
                if not found.has_next:
                    break
        return tuple(airings)

    async def lookup(self, media_ids: Sequence[int]) -> Lookup:
        """The viewer and the live entries of up to 50 media."""
        data = await self.execute(LOOKUP_QUERY, {"ids": list(media_ids), "perPage": 50})
        found = as_object(data.get("Page")).get("media")
        if not isinstance(found, list):
            # Not "none of them exist": a removal would then be confirmed without looking.
            raise CrossWatchInvalidResponseError("AniList sent a lookup without its media")
        media: dict[int, LiveMedia] = {}
        for raw in as_objects(found):
            found = parse_live_media(raw)
            if found is not None:
                media[found.id] = found
        return Lookup(parse_viewer(data.get("Viewer")), media)

    async def search(self, text: str) -> tuple[FoundMedia, ...]:
        """Anime whose titles match `text`: AniList's best match first, then the most popular."""
        data = await self.execute(SEARCH_QUERY, {"search": text, "perPage": SEARCH_PER_PAGE})
        found = as_object(data.get("Page")).get("media")
        if not isinstance(found, list):
            raise CrossWatchInvalidResponseError("AniList sent a search without its media")
        return tuple(m for m in map(parse_found_media, as_objects(found)) if m is not None)

    async def save_entry(
        self, change: EntryChange, score_format: ScoreFormat | None = None
    ) -> SavedEntry | None:
        """Create or update the viewer's entry for a media; the stored entry, as AniList says.

        `score_format` is the format of the reply's score (AniList's default when None).
        """
        data = await self.execute(SAVE_MUTATION, change.variables(score_format))
        reply = as_object(data.get("SaveMediaListEntry"))
        entry_id, status = as_int(reply.get("id")), reply.get("status")
        if entry_id is None or not isinstance(status, str):
            return None
        return SavedEntry(
            entry_id,
            status,
            as_number(reply.get("score")),
            as_int(reply.get("progress")) or 0,
            as_int(reply.get("repeat")) or 0,
        )

    async def delete_entry(self, entry_id: int) -> bool:
        """Delete one list entry; whether AniList says it did."""
        data = await self.execute(DELETE_MUTATION, {"id": entry_id})
        deleted = data.get("DeleteMediaListEntry")
        return isinstance(deleted, dict) and deleted.get("deleted") is True


async def validate_token(
    session: aiohttp.ClientSession,
    token: str,
    *,
    base_url: str = API_URL,
    retry: RetryPolicy | None = None,
    sleep: Sleep = asyncio.sleep,
) -> Viewer:
    """Check a pasted token by asking AniList whose it is.

    CrossWatchAuthenticationError when it is refused.
    """
    try:
        tokens = tokens_from_pin(token)
    except ValueError as err:
        raise CrossWatchAuthenticationError(f"no AniList token: {err}") from err
    client = AniListClient(session, tokens, base_url=base_url, retry=retry, sleep=sleep)
    return await client.viewer()


def _status_counts(data: Mapping[str, Any]) -> dict[str, int]:
    """The statistics' count of each list status in a reply that asked for them."""
    anime = as_object(as_object(as_object(data.get("User")).get("statistics")).get("anime"))
    statuses = anime.get("statuses")
    if not isinstance(statuses, list):
        raise CrossWatchInvalidResponseError("AniList sent statistics without statuses")
    counts: dict[str, int] = {}
    for row in statuses:
        status = row.get("status") if isinstance(row, dict) else None
        count = as_int(row.get("count")) if isinstance(row, dict) else None
        if not isinstance(status, str) or count is None:
            raise CrossWatchInvalidResponseError("AniList sent a status count it cannot be")
        counts[status] = counts.get(status, 0) + count
    return counts


def parse_rate_limit(headers: Mapping[str, str]) -> RateLimit | None:
    """AniList's quota from a reply's headers.

    Every reply carries `X-RateLimit-Limit` and `X-RateLimit-Remaining`; a 429 (and every reply
    during the minute-long timeout that follows) adds `Retry-After` and `X-RateLimit-Reset`, a
    Unix time. AniList's docs warn that the limit header may state more than is served while
    the API is degraded; the numbers are kept as AniList sent them.
    """
    remaining = as_int(header(headers, "X-RateLimit-Remaining"))
    if remaining is None:
        return None
    reset = as_int(header(headers, "X-RateLimit-Reset"))
    return RateLimit(
        remaining=max(0, remaining),
        limit=as_int(header(headers, "X-RateLimit-Limit")),
        resets_at=datetime.fromtimestamp(reset, UTC) if reset is not None and reset > 0 else None,
    )


def _problems(raw: object) -> list[GraphQLProblem]:
    if not isinstance(raw, list):
        return []
    problems = []
    for error in raw:
        if not isinstance(error, dict):
            problems.append(GraphQLProblem(str(error), None, validation=False))
            continue
        validation = error.get("validation")
        message = str(error.get("message") or "")
        if isinstance(validation, dict) and validation:
            details = "; ".join(
                f"{name}: {' '.join(map(str, reasons)) if isinstance(reasons, list) else reasons}"
                for name, reasons in validation.items()
            )
            message = f"{message} ({details})" if message else details
        problems.append(GraphQLProblem(message, as_int(error.get("status")), bool(validation)))
    return problems


def _error_for(problems: Sequence[GraphQLProblem], http_status: int) -> CrossWatchClientError:
    for problem in problems:
        if problem.status in (401, 403) or problem.message.strip().lower() in _AUTH_MESSAGES:
            return CrossWatchAuthenticationError(f"AniList refused the token: {problem.message}")
        if problem.status == 429:
            return CrossWatchRateLimitError(f"AniList asked to slow down: {problem.message}")
    return GraphQLError(problems, http_status)
