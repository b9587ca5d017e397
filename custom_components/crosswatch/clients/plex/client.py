"""An async client for one Plex account on one Plex Media Server, and for Plex's online services.

Four hosts, each through the shared `HttpClient`:
- the server (PMS): library sections and their items, play history, scrobble and rate;
- plex.tv: the account;
- Discover (`discover.provider.plex.tv`): the account's watchlist, read and written;
- metadata (`metadata.provider.plex.tv`): imdb/tmdb/tvdb ids to Plex's own metadata ids,
  which is what the watchlist is written by.

Every base URL can be overridden (simulators, a reverse proxy). Plex answers XML unless asked
for JSON, so every request says `Accept: application/json`.

Lists are read in pages (`X-Plex-Container-Start`/`-Size`), checking each page's `offset` and
the announced `totalSize`: a page that fails, comes back short, or announces a different total
ends the read with the reason, so the caller can build a partial snapshot instead of a short one.
A 200 that is not a list reply (no `MediaContainer`, a list that is null or not a list, a list
left out by a container that does not say it is empty, a body that is not JSON) is such a
failure too, never an empty list.

Every reply is parsed into the records of `models.py` here, once: callers get no JSON.

Discover leaves the external-id list (`Guid`) out of some watchlist rows, and may list its
records under `Video` instead of `Metadata` (../shared/research/provider-facts-2026.md, Plex;
seerr-team/seerr#2948). A row without an imdb, tmdb or tvdb id is looked up by its ratingKey in
Discover's per-item metadata (`/library/metadata/{ratingKey}`, the path and reply of the PMS
description's `getMetadataItem`, and the reply that carries the Guids), a few at a time, and the
ids found are kept per ratingKey so that the next read asks only about titles new to it. A title
the lookup finds no ids for stays as Discover sent it; a lookup that fails leaves the read
partial, with the reason.
"""

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
import math
from types import MappingProxyType
from typing import Final
from urllib.parse import quote

import aiohttp

from ..errors import (
    CrossWatchAuthenticationError,
    CrossWatchClientError,
    CrossWatchInvalidResponseError,
    CrossWatchRateLimitError,
    CrossWatchResponseError,
)
from ..http import HttpClient, RetryPolicy, Sleep, Throttle
from .auth import PLEX_TV_URL, PlexApp, get_account, get_identity
from .models import (
    Metadata,
    PlexAccount,
    Section,
    TalliedState,
    Tally,
    external_guids,
    parse_first_characters,
    parse_item,
    parse_matches,
    parse_page,
    parse_search,
    parse_sections,
)

DISCOVER_URL = "https://discover.provider.plex.tv"
METADATA_URL = "https://metadata.provider.plex.tv"
LIBRARY = "com.plexapp.plugins.library"  # the media provider identifier of the library
PAGE_SIZE = 200  # library pages; Plex serves far larger ones, but a failure then costs less
WATCHLIST_PAGE_SIZE = 100
SEARCH_LIMIT = 20  # Discover hits asked for per search
LOOKUP_CONCURRENCY = 4  # Discover per-item metadata lookups in flight at once
LOOKED_UP_TYPES = frozenset({"movie", "show"})  # what a watchlist holds that ids are sought for
# Plex item types in `type=` filters.
TYPE_MOVIE, TYPE_SHOW, TYPE_EPISODE = 1, 2, 4
# Each tallied state's field and the date the server stamps it with.
_TALLIED: Final = MappingProxyType(
    {
        TalliedState.WATCHED: ("viewCount", "lastViewedAt"),
        TalliedState.RATED: ("userRating", "lastRatedAt"),
    }
)


@dataclass(frozen=True, slots=True)
class PagedRead:
    """Every record a paged read reached, and the evidence of how far it got."""

    items: tuple[Metadata, ...]
    expected_total: int | None  # the totalSize the first page announced
    all_pages: bool
    failure: str | None


class PlexClient:
    """Calls to one Plex account and one of its servers."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        app: PlexApp,
        *,
        server_url: str,
        server_token: str,
        account_token: str | None = None,
        plex_tv_url: str = PLEX_TV_URL,
        discover_url: str = DISCOVER_URL,
        metadata_url: str = METADATA_URL,
        retry: RetryPolicy | None = None,
        sleep: Sleep = asyncio.sleep,
        page_size: int = PAGE_SIZE,
        watchlist_page_size: int = WATCHLIST_PAGE_SIZE,
    ) -> None:
        """Bind the server and the account.

        `server_token` is the server's access token from `/api/v2/resources` (for a server the
        account owns, the account token itself). `account_token` (default: the server token)
        reaches plex.tv, Discover and the metadata service.
        """
        account = account_token or server_token

        def http(url: str, service: str, token: str) -> HttpClient:
            return HttpClient(
                session, url, service=service, headers=app.headers(token),
                read_throttle=Throttle(sleep=sleep), retry=retry, sleep=sleep,
            )  # fmt: skip

        self.server = http(server_url, "Plex Media Server", server_token)
        self.plex_tv = http(plex_tv_url, "plex.tv", account)
        self.discover = http(discover_url, "Plex Discover", account)
        self.metadata = http(metadata_url, "Plex metadata", account)
        self._page_size = page_size
        self._watchlist_page_size = watchlist_page_size
        # ratingKey -> the external guids Discover's per-item metadata gave the title.
        self._looked_up: dict[str, tuple[str, ...]] = {}

    @property
    def requests_made(self) -> int:
        """Requests sent to all four hosts."""
        return sum(
            http.requests.count
            for http in (self.server, self.plex_tv, self.discover, self.metadata)
        )

    # -- account and server ---------------------------------------------------------------

    async def account(self) -> PlexAccount:
        """The plex.tv account of the account token."""
        return await get_account(self.plex_tv)

    async def machine_identifier(self) -> str:
        """The server's machine identifier."""
        return await get_identity(self.server)

    async def history_access(self) -> bool:
        """Whether this token may read the server's play history (admin only).

        A managed, home or shared user's token is refused there while the rest of the library
        works: current servers answer 401 (../shared/research/provider-facts-2026.md, Plex),
        older ones 403. Either is a capability, not an authentication failure, once the same
        token reads the user's own library sections; a token the server refuses there too was
        revoked, and that raises the authentication error.
        """
        reply = await self.server.request(
            "GET",
            "/status/sessions/history/all",
            # The history operation declares no paging parameters; the headers are the
            # original form of Plex paging and work on every list.
            headers={"X-Plex-Container-Start": "0", "X-Plex-Container-Size": "1"},
            ok=frozenset({200, 401, 403}),
        )
        if reply.status == 200:
            return True
        await self.server.request("GET", "/library/sections/all")  # 401 here: revoked
        return False

    # -- library --------------------------------------------------------------------------

    async def sections(self) -> list[Section]:
        """The server's library sections."""
        reply = await self.server.request("GET", "/library/sections/all")
        return list(parse_sections(reply.json()))

    async def section_items(self, section: str, plex_type: int) -> PagedRead:
        """Every item of one type in a section, with its Guids."""
        return await self._pages(
            self.server,
            f"/library/sections/{section}/all",
            {"type": plex_type, "includeGuids": 1},
            self._page_size,
        )

    async def section_count(self, section: str, plex_type: int) -> int:
        """How many items of one type the server counts in a section, apart from listing them.

        `firstCharacters` groups a section's items by their first letter and says how many
        each group holds: a count the server computes on its own, so a list reply that lost
        items does not take it along. A section that no longer exists counts nothing.
        """
        try:
            reply = await self.server.request(
                "GET", f"/library/sections/{section}/firstCharacters", params={"type": plex_type}
            )
        except CrossWatchResponseError as err:
            if err.status == 404:
                return 0
            raise
        return sum(parse_first_characters(reply.json()))

    async def tally(self, plex_type: int, state: TalliedState) -> Tally:
        """How many items of one type, in every library section, hold `state`, and its latest date.

        One request across the server's sections (`/library/all`), filtered on the state's
        field and sorted by its date, newest first: the page of one record names the latest
        date, and its total the count. A reply without a total raises
        CrossWatchInvalidResponseError (a tally that cannot say is no tally).
        """
        field, dated = _TALLIED[state]
        reply = await self.server.request(
            "GET",
            "/library/all",
            # A media query (the description's "Media Queries"): `field>>=0` is "above 0".
            params={"type": plex_type, f"{field}>>": 0, "sort": f"{dated}:desc"},
            headers={"X-Plex-Container-Start": "0", "X-Plex-Container-Size": "1"},
        )
        page = parse_page(reply.json(), reply.headers)
        if page.total is None:
            raise CrossWatchInvalidResponseError("a library tally without its total size")
        first = page.items[0] if page.items else None
        latest = None
        if first is not None:
            latest = first.last_viewed_at if state is TalliedState.WATCHED else first.last_rated_at
        return Tally(page.total, latest)

    async def changed_since(
        self, plex_type: int, state: TalliedState, since: datetime
    ) -> PagedRead:
        """Every item of one type, in every library section, with `state` dated `since` or later.

        What moved a tally since a mark: one list across the server's sections (the scope of
        `tally`), filtered on the state's date, paged and checked as every list is. Items whose
        state went since keep their date on some servers and are listed without the state; the
        caller decides what they mean. A media query's dates know only `>>=` (after) and `<<=`
        (before): "after the second before" is "at or after", so a change stamped in the same
        second as the mark is listed too. Only absolute dates are sent (a value with a sign is
        relative to the server's now), so a `since` before 1970 raises ValueError.
        """
        _, dated = _TALLIED[state]
        after = math.floor(since.timestamp()) - 1
        if after < 0:
            raise ValueError("a date before 1970 cannot be asked about")
        return await self._pages(
            self.server,
            "/library/all",
            {"type": plex_type, f"{dated}>>": after},
            self._page_size,
            paged_by_headers=True,  # `/library/all` declares no paging parameters
        )

    async def library_item(self, rating_key: str) -> Metadata | None:
        """One library item by its ratingKey, with its Guids; None when the server has none."""
        try:
            reply = await self.server.request(
                "GET",
                f"/library/metadata/{quote(rating_key, safe='')}",
                params={"includeGuids": 1},
            )
        except CrossWatchResponseError as err:
            if err.status == 404:
                return None
            raise
        return parse_item(reply.json())

    async def scrobble(self, rating_key: str) -> None:
        """Mark an item played (the server dates it now; a date cannot be given)."""
        await self._library_call("/:/scrobble", {"key": rating_key})

    async def unscrobble(self, rating_key: str) -> None:
        """Mark an item unplayed."""
        await self._library_call("/:/unscrobble", {"key": rating_key})

    async def rate(self, rating_key: str, rating: float) -> None:
        """Rate an item 0-10 in half steps; -1 removes the rating."""
        value = int(rating) if float(rating).is_integer() else rating
        await self._library_call("/:/rate", {"key": rating_key, "rating": str(value)})

    async def _library_call(self, path: str, params: Mapping[str, str]) -> None:
        # The specification asks for PUT (GET also works on servers, but is deprecated).
        await self.server.request("PUT", path, params={"identifier": LIBRARY, **params})

    # -- watchlist ------------------------------------------------------------------------

    async def watchlist(self) -> PagedRead:
        """The account's watchlist, with each item's Guids, looked up where Discover left them out.

        Auth and rate-limit errors of a lookup are raised; any other failure of one leaves the
        read partial (its title kept as listed), never short.
        """
        paged = await self._pages(
            self.discover,
            "/library/sections/watchlist/all",
            {"includeGuids": 1},
            self._watchlist_page_size,
        )
        failures = await self._look_up_ids(paged.items)
        items = tuple(self._with_looked_up_ids(row) for row in paged.items)
        failure = paged.failure
        if failures:
            note = f"the ids of {len(failures)} titles could not be looked up ({failures[0]})"
            failure = f"{failure}; {note}" if failure else note
        elif paged.all_pages and paged.failure is None:
            # Forget the titles no longer listed: the cache stays the size of the watchlist.
            listed = {row.rating_key for row in items}
            self._looked_up = {k: v for k, v in self._looked_up.items() if k in listed}
        return PagedRead(items, paged.expected_total, paged.all_pages, failure)

    async def discover_item(self, rating_key: str) -> Metadata | None:
        """One Discover title by its ratingKey, with its Guids; None when Discover knows none."""
        try:
            reply = await self.discover.request(
                "GET", f"/library/metadata/{quote(rating_key, safe='')}"
            )
        except CrossWatchResponseError as err:
            if err.status == 404:
                return None
            raise
        return parse_item(reply.json())

    async def _look_up_ids(self, rows: tuple[Metadata, ...]) -> list[str]:
        """Look up the ids of the rows listed without any, a few at a time; the failures."""
        wanted = sorted(
            {
                key
                for row in rows
                if (key := row.rating_key) is not None
                and row.type in LOOKED_UP_TYPES
                and not external_guids(row.guids)
                and key not in self._looked_up
            }
        )
        gate = asyncio.Semaphore(LOOKUP_CONCURRENCY)
        failures: list[str] = []

        async def look_up(key: str) -> None:
            async with gate:
                try:
                    found = await self.discover_item(key)
                except CrossWatchAuthenticationError, CrossWatchRateLimitError:
                    raise
                except CrossWatchClientError as err:
                    failures.append(f"{key}: {err}")
                    return
            # A title without ids is asked about again next time: Plex may add them.
            if found is not None and (ids := external_guids(found.guids)):
                self._looked_up[key] = ids

        outcomes = await asyncio.gather(*(look_up(key) for key in wanted), return_exceptions=True)
        for outcome in outcomes:
            if isinstance(outcome, BaseException):
                raise outcome
        return failures

    def _with_looked_up_ids(self, row: Metadata) -> Metadata:
        ids = self._looked_up.get(row.rating_key) if row.rating_key is not None else None
        if not ids or external_guids(row.guids):
            return row
        return replace(row, guids=(*(row.guids or ()), *ids))

    async def search(self, text: str) -> tuple[Metadata, ...]:
        """Films and shows Discover finds for `text`, best first (as Plex's apps search it).

        The watchlist is Discover's, so its search is what a title to list is found by; each
        hit's ratingKey is the Plex metadata id a watchlist write goes by.
        """
        reply = await self.discover.request(
            "GET",
            "/library/search",
            params={
                "query": text,
                "limit": SEARCH_LIMIT,
                "searchTypes": "movies,tv",
                "searchProviders": "discover",
                "includeMetadata": 1,
            },
        )
        return parse_search(reply.json())

    async def add_to_watchlist(self, rating_key: str) -> None:
        """Put a Discover item (by its metadata id) on the watchlist."""
        await self.discover.request(
            "PUT", "/actions/addToWatchlist", params={"ratingKey": rating_key}
        )

    async def remove_from_watchlist(self, rating_key: str) -> None:
        """Take a Discover item off the watchlist."""
        await self.discover.request(
            "PUT", "/actions/removeFromWatchlist", params={"ratingKey": rating_key}
        )

    async def matches(self, plex_type: int, guid: str) -> list[Metadata]:
        """Plex metadata items for an external guid ('imdb://tt...', 'tmdb://...', 'tvdb://...')."""
        try:
            reply = await self.metadata.request(
                "GET", "/library/metadata/matches", params={"type": plex_type, "guid": guid}
            )
        except CrossWatchResponseError as err:
            if err.status == 404:  # the metadata service knows no such title
                return []
            raise
        return list(parse_matches(reply.json()))

    # -- paging ---------------------------------------------------------------------------

    async def _pages(
        self,
        http: HttpClient,
        path: str,
        params: Mapping[str, str | int],
        size: int,
        *,
        paged_by_headers: bool = False,
    ) -> PagedRead:
        """Read every page; a fault midway ends the read with the reason noted.

        The paging goes in the query, or with `paged_by_headers` in the headers (their original
        form, which every list takes: for lists that declare no paging parameters).
        Auth and rate-limit errors are raised: they concern the whole run, not one list.
        """
        items: list[Metadata] = []
        expected: int | None = None
        start = 0
        while True:
            paging = {"X-Plex-Container-Start": str(start), "X-Plex-Container-Size": str(size)}
            query = dict(params) if paged_by_headers else {**params, **paging}
            try:
                reply = await http.request(
                    "GET", path, params=query, headers=paging if paged_by_headers else None
                )
                page = parse_page(reply.json(), reply.headers)
            except CrossWatchAuthenticationError, CrossWatchRateLimitError:
                raise
            except CrossWatchClientError as err:
                return _stopped(items, expected, f"page at {start}: {err}")
            total, offset = page.total, page.offset
            if offset is not None and offset != start:
                return _stopped(items, expected, f"asked for {start}, got a page at {offset}")
            if start == 0:
                expected = total
            elif total != expected:
                return _stopped(
                    items, expected, f"the total changed from {expected} to {total} while reading"
                )
            items.extend(page.items)
            start += len(page.items)
            if expected is None:
                # No total announced: only a short page says the list is over.
                if len(page.items) < size:
                    return PagedRead(tuple(items), None, True, None)
                continue
            if start >= expected:
                return PagedRead(tuple(items), expected, True, None)
            if len(page.items) < size:
                held = len(page.items)
                return _stopped(items, expected, f"a page at {start - held} held {held} of {size}")


def _stopped(items: list[Metadata], expected: int | None, failure: str) -> PagedRead:
    return PagedRead(tuple(items), expected, False, failure)
