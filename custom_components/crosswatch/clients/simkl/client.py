"""SIMKL's HTTP API as CrossWatch uses it: headers, pacing and one method per endpoint.

Every call goes through the shared `HttpClient`. SIMKL publishes two limits that matter here:
about ten GETs a second and one POST a second, so reads and writes get separate throttles.
SIMKL suspends API keys that poll `/sync/all-items` blindly; this module only offers the calls,
the adapter in `simkl.py` decides when a pull is justified by `/sync/activities`.
"""

import asyncio
from collections.abc import Mapping
from typing import Final

import aiohttp

from ..errors import (
    CrossWatchInvalidResponseError,
)
from ..http import Clock, HttpClient, JsonValue, RetryPolicy, Sleep, Throttle

DEFAULT_BASE_URL: Final = "https://api.simkl.com"
APP_NAME: Final = "crosswatch"
DEFAULT_APP_VERSION: Final = "0.1.0"
SERVICE: Final = "SIMKL"

# The three buckets of a SIMKL account: the path segment of /sync/all-items and /sync/ratings,
# and the key of the same bucket in /sync/activities.
BUCKETS: Final = ("movies", "shows", "anime")
ACTIVITY_KEYS: Final = {"movies": "movies", "shows": "tv_shows", "anime": "anime"}


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
    """An HttpClient for SIMKL: 10 GET/s, 1 POST/s, with the token when there is one."""
    headers = base_headers(client_id, app_version)
    if access_token is not None:
        headers["Authorization"] = f"Bearer {access_token}"
    return HttpClient(
        session,
        base_url,
        service=SERVICE,
        headers=headers,
        read_throttle=Throttle(limit=10, window=1.0, clock=clock, sleep=sleep),
        write_throttle=Throttle(1.0, clock=clock, sleep=sleep),
        retry=retry,
        sleep=sleep,
    )


def expect_object(value: JsonValue, what: str) -> dict[str, JsonValue]:
    """The body as a JSON object, or a CrossWatchInvalidResponseError naming what was expected."""
    if not isinstance(value, dict):
        raise CrossWatchInvalidResponseError(
            f"SIMKL sent {type(value).__name__} where {what} was expected"
        )
    return value


class SimklApi:
    """The SIMKL endpoints of an authorized account."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        client_id: str,
        access_token: str,
        *,
        base_url: str = DEFAULT_BASE_URL,
        app_version: str = DEFAULT_APP_VERSION,
        retry: RetryPolicy | None = None,
        sleep: Sleep = asyncio.sleep,
        clock: Clock | None = None,
    ) -> None:
        """Bind the session, the app's key and the user's token."""
        self.http = make_http(
            session,
            client_id,
            access_token=access_token,
            base_url=base_url,
            app_version=app_version,
            retry=retry,
            sleep=sleep,
            clock=clock,
        )

    async def settings(self) -> dict[str, JsonValue]:
        """POST /users/settings: the account id and the user's name."""
        reply = await self.http.request("POST", "/users/settings")
        return expect_object(reply.json(), "the user's settings")

    async def stats(self, user_id: str) -> dict[str, JsonValue]:
        """POST /users/{user_id}/stats: how many titles each list holds, counted apart."""
        reply = await self.http.request("POST", f"/users/{user_id}/stats")
        return expect_object(reply.json(), "the user's statistics")

    async def activities(self) -> dict[str, JsonValue]:
        """GET /sync/activities: when each bucket and list last changed."""
        reply = await self.http.request("GET", "/sync/activities")
        return expect_object(reply.json(), "the last activities")

    async def all_items(self, bucket: str, date_from: str | None) -> JsonValue:
        """GET /sync/all-items/{type}: every listed item of a bucket, or those changed since.

        `extended=full` with `episode_watched_at=yes` gives the watched episodes with their dates.
        """
        params: dict[str, str | int] = {"extended": "full", "episode_watched_at": "yes"}
        if date_from is not None:
            params["date_from"] = date_from
        reply = await self.http.request("GET", f"/sync/all-items/{bucket}", params=params)
        return reply.json()

    async def ratings(self, bucket: str, date_from: str | None) -> JsonValue:
        """POST /sync/ratings/{type}: the rated items of a bucket, or those changed since."""
        params: Mapping[str, str | int] | None = (
            {"date_from": date_from} if date_from is not None else None
        )
        reply = await self.http.request("POST", f"/sync/ratings/{bucket}", params=params)
        return reply.json()

    async def post(self, path: str, body: Mapping[str, JsonValue]) -> JsonValue:
        """POST a sync write and return its reply body (None when it is empty)."""
        reply = await self.http.request("POST", path, json_body=dict(body))
        return reply.json()
