"""SIMKL's HTTP API as CrossWatch uses it: headers, pacing and one method per endpoint.

Every call goes through the shared `HttpClient`. SIMKL publishes two limits that matter here:
about ten GETs a second and one POST a second, so reads and writes get separate throttles.
SIMKL suspends API keys that poll `/sync/all-items` blindly; this module only offers the calls,
the adapter in `providers/simkl` decides when a pull is justified by `/sync/activities`. Every
reply is parsed into the models of `models.py` before it leaves: no raw JSON reaches the adapter.
"""

import asyncio
from collections.abc import Mapping, Sequence
from functools import partial
from typing import Final, Protocol

import aiohttp

from ..errors import (
    CrossWatchAuthenticationError,
    CrossWatchInvalidResponseError,
    CrossWatchReadOnlyError,
)
from ..http import Clock, HttpClient, JsonValue, Response, RetryPolicy, Sleep, Throttle
from ..off_loop import off_loop
from ..scrobble import ScrobbleBody, ScrobbleReply, ScrobbleVerb, scrobble_reply
from .calendar import CALENDAR_FILES, CalendarFile, calendar_url_for, parse_calendar_file
from .models import (
    Activities,
    ListedRow,
    RatedRow,
    SearchResult,
    SyncObject,
    UserSettings,
    UserStats,
    WriteReply,
    parse_activities,
    parse_listed,
    parse_rated,
    parse_search,
    parse_settings,
    parse_stats,
    parse_write_reply,
    write_body,
)

DEFAULT_BASE_URL: Final = "https://api.simkl.com"
APP_NAME: Final = "crosswatch"
DEFAULT_APP_VERSION: Final = "0.1.0"
SERVICE: Final = "SIMKL"
_OK: Final = frozenset({200, 201, 204, 401, 403})


class AccessTokens(Protocol):
    """Who hands out the account's access token, and renews it when SIMKL refuses it."""

    async def access_token(self) -> str:
        """The token to send now."""

    async def refused(self, access_token: str) -> str:
        """SIMKL answered 401 to `access_token`: a token to try once more, or an auth error."""


class StaticToken:
    """A token that is never renewed (a V1 token, or a test's): a 401 is final."""

    def __init__(self, access_token: str) -> None:
        """Hand out `access_token`."""
        self._token = access_token

    async def access_token(self) -> str:
        """The token."""
        return self._token

    async def refused(self, access_token: str) -> str:
        """Nothing renews it: SIMKL's refusal stands."""
        raise CrossWatchAuthenticationError(f"{SERVICE} refused the access token (HTTP 401)")


def base_headers(client_id: str, app_version: str) -> dict[str, str]:
    """The headers SIMKL asks every app to send, identifying the app and its key."""
    return {
        "simkl-api-key": client_id,
        "Content-Type": "application/json",
        # The blueprint asks for a descriptive User-Agent "to avoid accidental blocking".
        "User-Agent": f"CrossWatch/{app_version} (Home Assistant integration)",
        "app-name": APP_NAME,
        "app-version": app_version,
    }


def base_params(client_id: str, app_version: str) -> dict[str, str]:
    """The URL parameters SIMKL's current docs ask of every request (412 without them).

    The app's name and version, and its key (the docs accept `client_id` in the URL as well
    as the `simkl-api-key` header). The headers stay too: older docs asked for them there.
    """
    return {"client_id": client_id, "app-name": APP_NAME, "app-version": app_version}


# SIMKL answers a bucket of /sync/all-items whole, in one body: a listed title takes about 480
# bytes at `extended=full` (the blueprint's fields, as the simulator renders them), and each
# watched episode with its date about 70 more. 100,000 listed anime come to 48 MB, past the
# shared 32 MB cap, and a read that cannot pull a bucket can only be partial, every run (the
# AniList ⇄ SIMKL bench at 100,000 never settled). The body is decoded in slices either way.
LIST_BODY_CAP: Final = 256 * 1024 * 1024


def make_http(
    session: aiohttp.ClientSession,
    client_id: str,
    *,
    access_token: str | None = None,
    base_url: str = DEFAULT_BASE_URL,
    app_version: str = DEFAULT_APP_VERSION,
    retry: RetryPolicy | None = None,
    sleep: Sleep = asyncio.sleep,
    clock: Clock | None = None,
) -> HttpClient:
    """An HttpClient for SIMKL: 10 GET/s, 1 POST/s, with the token when there is one.

    Every request carries the app's name, version and key as URL parameters.
    """
    headers = base_headers(client_id, app_version)
    if access_token is not None:
        headers["Authorization"] = f"Bearer {access_token}"
    return HttpClient(
        session,
        base_url,
        service=SERVICE,
        headers=headers,
        params=base_params(client_id, app_version),
        read_throttle=Throttle(limit=10, window=1.0, clock=clock, sleep=sleep),
        write_throttle=Throttle(1.0, clock=clock, sleep=sleep),
        retry=retry,
        sleep=sleep,
        max_body=LIST_BODY_CAP,
    )


class SimklApi:
    """The SIMKL endpoints of an authorized account."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        client_id: str,
        access_token: str | AccessTokens,
        *,
        base_url: str = DEFAULT_BASE_URL,
        calendar_url: str | None = None,
        app_version: str = DEFAULT_APP_VERSION,
        retry: RetryPolicy | None = None,
        sleep: Sleep = asyncio.sleep,
        clock: Clock | None = None,
    ) -> None:
        """Bind the session, the app's key and the user's token (or who renews it).

        The calendar files come from SIMKL's data host (`calendar_url_for`), without credentials
        and without the API's URL parameters (the files ignore query strings, and SIMKL asks
        apps not to add any).
        """
        self.tokens = StaticToken(access_token) if isinstance(access_token, str) else access_token
        self.http = make_http(
            session,
            client_id,
            base_url=base_url,
            app_version=app_version,
            retry=retry,
            sleep=sleep,
            clock=clock,
        )
        self.calendar_http = HttpClient(
            session,
            calendar_url_for(base_url, calendar_url),
            service=f"{SERVICE} calendar",
            headers={"User-Agent": base_headers(client_id, app_version)["User-Agent"]},
            read_throttle=Throttle(limit=10, window=1.0, clock=clock, sleep=sleep),
            retry=retry,
            sleep=sleep,
            carries_credentials=False,
        )

    async def _request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str | int] | None = None,
        json_body: JsonValue = None,
        idempotent: bool | None = None,
        ok: frozenset[int] = _OK,
    ) -> Response:
        """One call with the account's token; after a 401, once more with a renewed one.

        A 403 `insufficient_scope` is a read-only grant (no `media:write`): renewing cannot
        help, so it is raised as such at once.
        """
        token = await self.tokens.access_token()
        for attempt in range(2):
            reply = await self.http.request(
                method,
                path,
                params=params,
                json_body=json_body,
                headers={"Authorization": f"Bearer {token}"},
                ok=ok,
                idempotent=idempotent,
            )
            if reply.status == 403:
                raise _forbidden(reply)
            if reply.status != 401:
                return reply
            if attempt:
                break
            token = await self.tokens.refused(token)
        raise CrossWatchAuthenticationError(f"{SERVICE} refused the renewed token (HTTP 401)")

    async def settings(self) -> UserSettings:
        """POST /users/settings: the account id and the user's name."""
        reply = await self._request("POST", "/users/settings", idempotent=True)
        return parse_settings(reply.json())

    async def stats(self, user_id: str) -> UserStats:
        """POST /users/{user_id}/stats: how many titles each list holds, counted apart."""
        reply = await self._request("POST", f"/users/{user_id}/stats", idempotent=True)
        return parse_stats(reply.json())

    async def activities(self) -> Activities:
        """GET /sync/activities: when each bucket and list last changed."""
        reply = await self._request("GET", "/sync/activities")
        return parse_activities(reply.json())

    async def all_items(self, bucket: str, date_from: str | None) -> tuple[ListedRow, ...]:
        """GET /sync/all-items/{type}: every listed item of a bucket, or those changed since.

        `extended=full` with `episode_watched_at=yes` gives the watched episodes with their dates;
        `include_all_episodes=yes` gives them for shows marked completed too, which otherwise
        come without their episodes (provider-facts-2026.md).
        """
        params: dict[str, str | int] = {
            "extended": "full",
            "episode_watched_at": "yes",
            "include_all_episodes": "yes",
        }
        if date_from is not None:
            params["date_from"] = date_from
        reply = await self._request("GET", f"/sync/all-items/{bucket}", params=params)
        body = reply.json()
        return await off_loop(partial(parse_listed, body, bucket), size=_rows(body, bucket))

    async def listed_statuses(self, bucket: str) -> dict[int, str]:
        """GET /sync/all-items/{type} without details: each listed title's SIMKL id and list.

        The lightest read of what the user lists (no episodes, no watched dates).
        """
        reply = await self._request("GET", f"/sync/all-items/{bucket}")
        body = reply.json()
        rows = await off_loop(partial(parse_listed, body, bucket), size=_rows(body, bucket))
        statuses: dict[int, str] = {}
        for row in rows:
            simkl = row.media.ids.get("simkl")
            if simkl is not None and simkl.isdecimal() and row.status is not None:
                statuses[int(simkl)] = row.status
        return statuses

    async def calendar(self, bucket: str) -> CalendarFile:
        """The calendar file of a bucket (`shows` or `anime`): what airs in the next 33 days."""
        name = CALENDAR_FILES[bucket]
        reply = await self.calendar_http.request("GET", f"/{name}")
        body = reply.json()
        size = len(body) if isinstance(body, list) else 0
        return await off_loop(partial(parse_calendar_file, body, name), size=size)

    async def ratings(self, bucket: str, date_from: str | None) -> tuple[RatedRow, ...]:
        """POST /sync/ratings/{type}: the rated items of a bucket, or those changed since."""
        params: Mapping[str, str | int] | None = (
            {"date_from": date_from} if date_from is not None else None
        )
        reply = await self._request(
            "POST", f"/sync/ratings/{bucket}", params=params, idempotent=True
        )
        body = reply.json()
        return await off_loop(partial(parse_rated, body, bucket), size=_rows(body, bucket))

    async def search(self, kind: str, query: str) -> tuple[SearchResult, ...]:
        """GET /search/{movie|tv|anime}?q=: the first page of titles, by SIMKL's relevance."""
        if kind not in ("movie", "tv", "anime"):
            raise ValueError(f"SIMKL searches movie, tv or anime, not {kind}")
        reply = await self._request("GET", f"/search/{kind}", params={"q": query})
        return parse_search(reply.json(), kind)

    async def post(self, path: str, sections: Mapping[str, Sequence[SyncObject]]) -> WriteReply:
        """POST a sync write of each section's objects, and what its reply says per item."""
        reply = await self._request("POST", path, json_body=write_body(sections))
        return parse_write_reply(reply.json())

    async def scrobble(self, verb: ScrobbleVerb, body: ScrobbleBody) -> ScrobbleReply:
        """POST /scrobble/{start|pause|stop}: what plays and how far (clients/scrobble.py).

        A scrobble may be repeated after a reply that was lost: SIMKL refuses a second stop of
        an item it recorded within the hour with a 409, its word that it holds the play. SIMKL
        takes one scrobble of a user at a time: the write throttle keeps its calls a second
        apart.
        """
        reply = await self._request(
            "POST", f"/scrobble/{verb.value}", json_body=body.to_json(), idempotent=True,
            ok=_OK | {409},
        )  # fmt: skip
        return scrobble_reply(reply)


def _forbidden(reply: Response) -> CrossWatchAuthenticationError:
    """A 403: a read-only grant asked to write, or the app's key refused."""
    try:
        body = reply.json()
    except CrossWatchInvalidResponseError:  # an unreadable body says nothing more
        body = None
    error = body.get("error") if isinstance(body, dict) else None
    if error == "insufficient_scope":
        return CrossWatchReadOnlyError(
            f"{SERVICE} lets CrossWatch read this account but not change it (HTTP 403"
            " insufficient_scope): sign in again and allow CrossWatch to change your lists"
        )
    return CrossWatchAuthenticationError(
        f"{SERVICE} refused the credentials (HTTP 403{f' {error}' if error else ''})"
    )


def _rows(body: JsonValue, bucket: str) -> int:
    """How many rows a list reply holds (to tell whether parsing it may hold the loop)."""
    rows = body.get(bucket) if isinstance(body, dict) else None
    return len(rows) if isinstance(rows, list) else 0
