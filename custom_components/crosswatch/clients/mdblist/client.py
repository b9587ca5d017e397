"""MDBList's user-data API as CrossWatch uses it: the API key, pacing and one method per call.

Every call goes through the shared `HttpClient` with the key as the `apikey` URL parameter, as
MDBList documents it (`shared/specs/mdblist/README.md` §1). Pacing follows MDBList's own plugin
(§2): reads 0.32 s apart, writes 1.1 s apart, which keeps within its 1,000 reads and 300 writes
per 5 minutes. A 429 whose Retry-After is short is waited out; the daily quota's (until midnight
UTC) is raised as a rate-limit error. Replies are parsed into `models.py` before they leave.
"""

import asyncio
from collections.abc import Mapping, Sequence
from typing import Final, Literal

import aiohttp

from ..http import Clock, HttpClient, JsonValue, RetryPolicy, Sleep, Throttle
from .models import (
    Activities,
    Ids,
    ListedRow,
    Page,
    RatedRow,
    SearchHit,
    SyncObject,
    User,
    WatchedRow,
    WriteReply,
    parse_activities,
    parse_ratings,
    parse_search,
    parse_user,
    parse_watched,
    parse_watchlist,
    parse_write_reply,
    sync_json,
    wire_ids,
)

DEFAULT_BASE_URL: Final = "https://api.mdblist.com"
SERVICE: Final = "MDBList"
PAGE_SIZE: Final = 1000  # rows a sync read asks for (MDBList's plugin: 100-1000)
WATCHLIST_PAGE_SIZE: Final = 200  # as CrossWatch's own MDBList module pages the watchlist
# Watchlist writes match IMDb and TMDb ids only (§7.1).
WATCHLIST_IDS: Final = ("imdb", "tmdb")

type SyncPath = Literal[
    "/sync/watched", "/sync/watched/remove", "/sync/ratings", "/sync/ratings/remove"
]


class MdblistApi:
    """The MDBList calls of one account, authorized by its API key."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        api_key: str,
        *,
        base_url: str = DEFAULT_BASE_URL,
        retry: RetryPolicy | None = None,
        sleep: Sleep = asyncio.sleep,
        clock: Clock | None = None,
    ) -> None:
        """Bind the session and the user's API key."""
        self.http = HttpClient(
            session,
            base_url,
            service=SERVICE,
            headers={"User-Agent": "CrossWatch (Home Assistant integration)"},
            params={"apikey": api_key},
            read_throttle=Throttle(0.32, clock=clock, sleep=sleep),
            write_throttle=Throttle(1.1, clock=clock, sleep=sleep),
            retry=retry,
            sleep=sleep,
        )

    async def user(self) -> User:
        """GET /user: whose key this is (401 for a bad key) and the daily quota."""
        return parse_user((await self.http.request("GET", "/user")).json())

    async def last_activities(self) -> Activities:
        """GET /sync/last_activities."""
        return parse_activities((await self.http.request("GET", "/sync/last_activities")).json())

    async def search(self, mediatype: Literal["movie", "show"], text: str) -> tuple[SearchHit, ...]:
        """GET /search/{mediatype}?query=: the titles MDBList finds, by its relevance.

        Not in the derived description (`openapi.yaml`); the path, the `query` parameter and the
        reply's shape are those of the command-line client the spec cites ([3p E1]).
        """
        reply = await self.http.request("GET", f"/search/{mediatype}", params={"query": text})
        return parse_search(reply.json(), mediatype)

    async def watchlist_page(self, offset: int) -> Page[ListedRow]:
        """One page of the watchlist, movies and shows."""
        params = {"offset": offset, "limit": WATCHLIST_PAGE_SIZE}
        reply = await self.http.request("GET", "/watchlist/items", params=params)
        return parse_watchlist(reply.json())

    async def watched_page(self, offset: int) -> Page[WatchedRow]:
        """One page of the watched movies and episodes (latest state only)."""
        params = {"offset": offset, "limit": PAGE_SIZE}
        reply = await self.http.request("GET", "/sync/watched", params=params)
        return parse_watched(reply.json())

    async def ratings_page(self, offset: int) -> Page[RatedRow]:
        """One page of the rated movies and shows."""
        params = {"offset": offset, "limit": PAGE_SIZE}
        reply = await self.http.request("GET", "/sync/ratings", params=params)
        return parse_ratings(reply.json())

    async def watchlist_write(
        self, removal: bool, sections: Mapping[str, Sequence[Ids]]
    ) -> WriteReply:
        """POST /watchlist/items/add or /remove with flat IMDb/TMDb id objects."""
        path = "/watchlist/items/remove" if removal else "/watchlist/items/add"
        body: JsonValue = {
            section: [wire_ids(ids, WATCHLIST_IDS) for ids in objects]
            for section, objects in sections.items()
        }
        return parse_write_reply((await self.http.request("POST", path, json_body=body)).json())

    async def sync_write(
        self, path: SyncPath, sections: Mapping[str, Sequence[SyncObject]]
    ) -> WriteReply:
        """POST a `/sync/...` write of each section's objects."""
        body: JsonValue = {
            section: [sync_json(obj) for obj in objects] for section, objects in sections.items()
        }
        return parse_write_reply((await self.http.request("POST", path, json_body=body)).json())
