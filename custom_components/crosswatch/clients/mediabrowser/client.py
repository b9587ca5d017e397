"""An async client for the MediaBrowser family: Jellyfin and Emby, with their differences explicit.

Jellyfin forked from Emby (MediaBrowser 3.5) and both still share the data model: items with
`ProviderIds` and per-user `UserData`, paged `QueryResult`s, `AuthenticateByName`. What differs
is spelled out in one place, the `Flavour`:

- base path: none (Jellyfin); `/emby` (Emby);
- identity: `Authorization: MediaBrowser Client=..., Token=...` (Jellyfin); `X-Emby-Token`, with
  `X-Emby-Authorization: Emby Client=...` to log in (Emby);
- query names: camelCase `userId`, `startIndex` (Jellyfin); PascalCase `UserId` (Emby);
- items: `GET /Items?userId=` (Jellyfin 10.9+); `GET /Users/{UserId}/Items` (Emby);
- played: `/UserPlayedItems/{itemId}?userId=&datePlayed=<ISO 8601>` (Jellyfin);
  `/Users/{UserId}/PlayedItems/{Id}?DatePlayed=yyyyMMddHHmmss` (Emby);
- favorites: `/UserFavoriteItems/{itemId}?userId=`; `/Users/{UserId}/FavoriteItems/{Id}`;
- rating: `POST /UserItems/{itemId}/UserData` with only `Rating` (Jellyfin's
  `UpdateUserItemDataDto` is all nullable: absent means unchanged);
  `POST /Users/{UserId}/Items/{ItemId}/UserData` with the whole user data (Emby's
  `UserItemDataDto` is the new user data: `Played` and `IsFavorite` are not nullable, so a bare
  rating would unmark the item). Emby offers no narrower way to store a numeric rating (its
  `/Rating?Likes=` is a like or dislike), so the caller must hand in the user data as it stands
  *now* (see `set_rating`);
- clearing a rating: `DELETE /UserItems/{itemId}/Rating?userId=`;
  `DELETE /Users/{UserId}/Items/{Id}/Rating`;
- Quick Connect: Jellyfin only.

Every user-data write but Emby's UserData update answers the item's whole user data after the
write (`UserItemDataDto`); the write methods return it, as the freshest word on that item.

Jellyfin 12 drops the legacy `X-Emby-*` headers and the `api_key` query, so the Jellyfin flavour
never sends them. The password given to `authenticate_by_name` is sent once and never kept.
"""

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Final

import aiohttp

from ..errors import CrossWatchClientError, CrossWatchInvalidResponseError
from ..http import HttpClient, JsonValue, Response, RetryPolicy, Sleep, Throttle, header
from .models import (
    RATING,
    Credentials,
    Item,
    ItemPage,
    QuickConnectResult,
    ServerInfo,
    UserData,
    credentials_from,
    json_object,
    parse_counts,
    parse_item,
    parse_page,
    parse_quick_connect,
    parse_server_info,
    text,
    user_data_reply,
)

CLIENT_NAME: Final = "CrossWatch"
DEVICE_NAME: Final = "Home Assistant"
# Rows per page: large enough to keep a 20 000-episode library at a hundred requests, small
# enough that a slow server answers each page well within the request timeout.
PAGE_SIZE: Final = 200


@dataclass(frozen=True, slots=True)
class DeviceInfo:
    """How CrossWatch introduces itself; the server lists the session under this device."""

    device_id: str
    version: str
    client: str = CLIENT_NAME
    device: str = DEVICE_NAME


def _field(name: str) -> str:
    """Quote-safe value for the MediaBrowser authorization header."""
    return name.replace('"', "").replace(",", " ")


@dataclass(frozen=True, slots=True)
class Flavour:
    """Everything that differs between Jellyfin and Emby on the wire."""

    name: str  # "Jellyfin" or "Emby": the product, as users know it
    namespace: str  # the local id namespace of its items ("jellyfin" or "emby")
    base_path: str  # where the API lives under the server's URL
    quick_connect: bool  # Jellyfin's code-based login
    # Jellyfin's UpdateUserItemDataDto has only nullable fields: absent means "unchanged".
    # Emby's UserItemDataDto has non-nullable Played and IsFavorite, so a body with only a
    # Rating would unmark the item; Emby gets the state fields as they stand now as well.
    partial_user_data: bool

    @property
    def is_jellyfin(self) -> bool:
        """Whether this is the Jellyfin flavour."""
        return self.namespace == "jellyfin"

    def query(self, name: str) -> str:
        """A query parameter name in this flavour's spelling (given in PascalCase)."""
        return name[0].lower() + name[1:] if self.is_jellyfin else name

    def client_header(self, device: DeviceInfo, token: str | None) -> dict[str, str]:
        """The headers of every request: who we are and, once logged in, the token."""
        fields = (
            f'Client="{_field(device.client)}", Device="{_field(device.device)}", '
            f'DeviceId="{_field(device.device_id)}", Version="{_field(device.version)}"'
        )
        if self.is_jellyfin:
            # Jellyfin 12 accepts only this header: no X-Emby-Token, no api_key.
            token_field = f', Token="{_field(token)}"' if token else ""
            return {"Authorization": f"MediaBrowser {fields}{token_field}"}
        headers = {"X-Emby-Authorization": f"Emby {fields}"}
        if token:
            headers["X-Emby-Token"] = token
        return headers

    def items_path(self, user_id: str) -> tuple[str, dict[str, str]]:
        """Where a user's items are listed, and the query that names the user."""
        if self.is_jellyfin:
            return "/Items", {"userId": user_id}
        return f"/Users/{user_id}/Items", {}

    def item_path(self, user_id: str, item_id: str) -> tuple[str, dict[str, str]]:
        """One item as a user sees it (with its UserData)."""
        if self.is_jellyfin:
            return f"/Items/{item_id}", {"userId": user_id}
        return f"/Users/{user_id}/Items/{item_id}", {}

    def user_path(self, user_id: str) -> str:
        """The logged-in user, to prove the token still works."""
        return "/Users/Me" if self.is_jellyfin else f"/Users/{user_id}"

    def played_path(self, user_id: str, item_id: str) -> tuple[str, dict[str, str]]:
        """Mark played (POST) or unplayed (DELETE)."""
        if self.is_jellyfin:
            return f"/UserPlayedItems/{item_id}", {"userId": user_id}
        return f"/Users/{user_id}/PlayedItems/{item_id}", {}

    def favorite_path(self, user_id: str, item_id: str) -> tuple[str, dict[str, str]]:
        """Mark favorite (POST) or not (DELETE)."""
        if self.is_jellyfin:
            return f"/UserFavoriteItems/{item_id}", {"userId": user_id}
        return f"/Users/{user_id}/FavoriteItems/{item_id}", {}

    def user_data_path(self, user_id: str, item_id: str) -> tuple[str, dict[str, str]]:
        """Update an item's user data (the rating)."""
        if self.is_jellyfin:
            return f"/UserItems/{item_id}/UserData", {"userId": user_id}
        return f"/Users/{user_id}/Items/{item_id}/UserData", {}

    def rating_path(self, user_id: str, item_id: str) -> tuple[str, dict[str, str]]:
        """Delete the user's rating (the like/dislike route, which clears the number too)."""
        if self.is_jellyfin:
            return f"/UserItems/{item_id}/Rating", {"userId": user_id}
        return f"/Users/{user_id}/Items/{item_id}/Rating", {}

    def date_played(self, when: datetime) -> str:
        """`DatePlayed` as the flavour parses it: ISO 8601 (Jellyfin), yyyyMMddHHmmss (Emby)."""
        utc = (when if when.tzinfo else when.replace(tzinfo=UTC)).astimezone(UTC)
        if self.is_jellyfin:
            return utc.strftime("%Y-%m-%dT%H:%M:%SZ")
        return utc.strftime("%Y%m%d%H%M%S")


JELLYFIN: Final = Flavour(
    name="Jellyfin", namespace="jellyfin", base_path="", quick_connect=True, partial_user_data=True
)
EMBY: Final = Flavour(
    name="Emby", namespace="emby", base_path="/emby", quick_connect=False, partial_user_data=False
)


class MediaBrowserClient:
    """Requests to one Jellyfin or Emby server, through the shared HTTP layer."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        flavour: Flavour,
        base_url: str,
        *,
        device: DeviceInfo,
        token: str | None = None,
        retry: RetryPolicy | None = None,
        sleep: Sleep = asyncio.sleep,
        throttle: Throttle | None = None,
        page_size: int = PAGE_SIZE,
    ) -> None:
        """Bind a session to a server's URL (as the user typed it; `/emby` is added for Emby)."""
        self.flavour = flavour
        self.device = device
        self.page_size = page_size
        self._token = token
        root = base_url.rstrip("/")
        if flavour.base_path and not root.endswith(flavour.base_path):
            root += flavour.base_path
        self.http = HttpClient(
            session,
            root,
            service=flavour.name,
            headers={"Accept": "application/json"},
            read_throttle=throttle,
            retry=retry,
            sleep=sleep,
        )

    async def call(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str | int] | None = None,
        json_body: JsonValue = None,
    ) -> Response:
        """One request with this flavour's identity headers."""
        return await self.http.request(
            method,
            path,
            params=params,
            json_body=json_body,
            headers=self.flavour.client_header(self.device, self._token),
        )

    async def public_info(self) -> ServerInfo:
        """The server's id, name and version (`/System/Info/Public`, no login needed)."""
        return parse_server_info((await self.call("GET", "/System/Info/Public")).json())

    async def authenticate_by_name(self, username: str, password: str) -> Credentials:
        """Log in with a user name and password; only the token and user id are kept."""
        reply = await self.call(
            "POST", "/Users/AuthenticateByName", json_body={"Username": username, "Pw": password}
        )
        return credentials_from(reply.json())

    async def current_user(self, user_id: str) -> str:
        """The id of the user the token belongs to (a 401 raises CrossWatchAuthenticationError)."""
        body = json_object((await self.call("GET", self.flavour.user_path(user_id))).json(), "user")
        return text(body.get("Id"), "user id")

    async def items_page(
        self,
        user_id: str,
        *,
        types: Sequence[str],
        start: int,
        limit: int,
        filters: Sequence[str] = (),
        ids: Sequence[str] = (),
        counted: bool = True,
        saved_since: datetime | None = None,
    ) -> ItemPage:
        """One page of the user's items of `types`, with ids, user data and numbering.

        `counted=False` spares Jellyfin the count of every matching item, a query of its own
        on a large library (jellyfin/jellyfin#16003): the page's `total` is then None. Emby
        counts every page whatever is asked. `saved_since` lists only the items whose user
        data the server saved at or after that moment of its own clock (`served_at`).
        """
        path, params = self.flavour.items_path(user_id)
        q = self.flavour.query
        query: dict[str, str | int] = {
            **params,
            q("Recursive"): "true",
            q("IncludeItemTypes"): ",".join(types),
            q("Fields"): "ProviderIds,DateCreated",
            q("EnableUserData"): "true",
            # Oldest first: items added during a read land on the last page, not mid-way.
            q("SortBy"): "DateCreated,SortName",
            q("SortOrder"): "Ascending",
            q("StartIndex"): start,
            q("Limit"): limit,
        }
        if filters:
            query[q("Filters")] = ",".join(filters)
        if ids:
            query[q("Ids")] = ",".join(ids)
        if saved_since is not None:
            query[q("MinDateLastSavedForUser")] = saved_since.astimezone(UTC).strftime(
                "%Y-%m-%dT%H:%M:%S.0000000Z"
            )
        uncounted = not counted and self.flavour.is_jellyfin
        if uncounted:
            query[q("EnableTotalRecordCount")] = "false"
        reply = await self.call("GET", path, params=query)
        page = parse_page(reply.json(), self.flavour.name)
        # Jellyfin answers 0 for a count it was told not to take.
        return replace(
            page, total=None if uncounted else page.total, served_at=_served_at(reply.headers)
        )

    async def search(
        self, user_id: str, text: str, *, types: Sequence[str], limit: int
    ) -> ItemPage:
        """The user's items of `types` whose name holds `text` (`SearchTerm`), best first.

        The server orders the hits itself (a search puts exact names first); the page is not
        counted (Jellyfin would count every match: jellyfin/jellyfin#16003).
        """
        path, params = self.flavour.items_path(user_id)
        q = self.flavour.query
        query: dict[str, str | int] = {
            **params,
            q("Recursive"): "true",
            q("IncludeItemTypes"): ",".join(types),
            q("SearchTerm"): text,
            q("Fields"): "ProviderIds",
            q("Limit"): limit,
        }
        if self.flavour.is_jellyfin:
            query[q("EnableTotalRecordCount")] = "false"
        reply = await self.call("GET", path, params=query)
        return replace(parse_page(reply.json(), self.flavour.name), total=None)

    async def favorite_count(self, user_id: str, types: Sequence[str]) -> int:
        """How many of the user's favourites of `types` the server counts (`/Items/Counts`).

        The server counts them apart from listing them, so a list reply that lost items does
        not take this count along.
        """
        q = self.flavour.query
        query = {q("UserId"): user_id, q("IsFavorite"): "true"}
        reply = await self.call("GET", "/Items/Counts", params=query)
        return parse_counts(reply.json(), types, self.flavour.name)

    async def item(self, user_id: str, item_id: str) -> Item:
        """One item with the user's data."""
        path, params = self.flavour.item_path(user_id, item_id)
        return parse_item(json_object((await self.call("GET", path, params=params)).json(), "item"))

    async def user_data(self, user_id: str, item_id: str) -> UserData:
        """The user's data on one item, as one item read shows it."""
        data = (await self.item(user_id, item_id)).user_data
        if data is None:
            raise CrossWatchInvalidResponseError("the server sent no user data object")
        return data

    async def mark_played(
        self, user_id: str, item_id: str, when: datetime | None
    ) -> UserData | None:
        """Mark an item played, dated `when` where given (the server's clock otherwise).

        Returns the user data the server answered with, if it sent any.
        """
        path, params = self.flavour.played_path(user_id, item_id)
        query: dict[str, str | int] = dict(params)
        if when is not None:
            query[self.flavour.query("DatePlayed")] = self.flavour.date_played(when)
        return _user_data_reply(await self.call("POST", path, params=query))

    async def mark_unplayed(self, user_id: str, item_id: str) -> UserData | None:
        """Mark an item not played (play count and last played date are cleared)."""
        path, params = self.flavour.played_path(user_id, item_id)
        return _user_data_reply(await self.call("DELETE", path, params=params))

    async def set_favorite(self, user_id: str, item_id: str, favorite: bool) -> UserData | None:
        """Add an item to the user's favorites, or take it off."""
        path, params = self.flavour.favorite_path(user_id, item_id)
        return _user_data_reply(
            await self.call("POST" if favorite else "DELETE", path, params=params)
        )

    async def set_rating(
        self, user_id: str, item_id: str, rating: float, current: UserData | None = None
    ) -> UserData | None:
        """Store the user's rating (0-10, a double) and nothing else.

        Jellyfin gets the rating alone. Emby's body replaces the whole user data, so it carries
        the state fields of `current`, which the caller must know to be the user data as it
        stands now: a stale `Played` here would unmark an item just marked played. Without a
        played state and favorite to send (neither is nullable on Emby), the write is refused
        rather than guessed.
        """
        path, params = self.flavour.user_data_path(user_id, item_id)
        if self.flavour.partial_user_data:
            body: dict[str, JsonValue] = {RATING: rating}
        else:
            if current is None or current.played is None or current.is_favorite is None:
                raise CrossWatchClientError(
                    f"{self.flavour.name}: the item's played state and favorite are unknown, "
                    "so a rating cannot be written without risking them"
                )
            body = current.wire()
            body[RATING] = rating
        reply = _user_data_reply(await self.call("POST", path, params=params, json_body=body))
        if reply is None and not self.flavour.partial_user_data and current is not None:
            # Emby answers nothing; what it now holds is what was sent.
            return current.overlaid(UserData(rating=rating, present=frozenset({RATING})))
        return reply

    async def clear_rating(self, user_id: str, item_id: str) -> UserData | None:
        """Delete the user's rating of an item."""
        path, params = self.flavour.rating_path(user_id, item_id)
        return _user_data_reply(await self.call("DELETE", path, params=params))

    # Quick Connect (Jellyfin only) ---------------------------------------------------------

    async def quick_connect_enabled(self) -> bool:
        """Whether the server allows Quick Connect logins."""
        return (await self.call("GET", "/QuickConnect/Enabled")).json() is True

    async def quick_connect_initiate(self) -> QuickConnectResult:
        """Start a Quick Connect request (no login needed): its code and secret."""
        return parse_quick_connect((await self.call("POST", "/QuickConnect/Initiate")).json())

    async def quick_connect_state(self, secret: str) -> QuickConnectResult:
        """Where the request with this secret stands (a 404: the server forgot it)."""
        reply = await self.call("GET", "/QuickConnect/Connect", params={"secret": secret})
        return parse_quick_connect(reply.json())

    async def authenticate_with_quick_connect(self, secret: str) -> Credentials:
        """Exchange an approved request's secret for a token."""
        reply = await self.call(
            "POST", "/Users/AuthenticateWithQuickConnect", json_body={"Secret": secret}
        )
        return credentials_from(reply.json())


def _user_data_reply(response: Response) -> UserData | None:
    """The user data a write answered with; None when it sent none (or nothing readable).

    The write itself succeeded either way: a body we cannot read only means we learn nothing.
    """
    try:
        body = response.json()
    except CrossWatchClientError:
        return None
    return user_data_reply(body)


def _served_at(headers: Mapping[str, str]) -> datetime | None:
    """The reply's `Date` header as aware UTC, or None when absent or unreadable."""
    value = header(headers, "Date")
    if value is None:
        return None
    try:
        served = parsedate_to_datetime(value)
    except TypeError, ValueError:
        return None
    return served.astimezone(UTC) if served.tzinfo is not None else None
