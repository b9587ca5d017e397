"""SIMKL's HTTP API as CrossWatch uses it: headers, pacing and one method per endpoint.

Every call goes through the shared `HttpClient`. SIMKL publishes two limits that matter here:
about ten GETs a second and one POST a second, so reads and writes get separate throttles.
SIMKL suspends API keys that poll `/sync/all-items` blindly; this module only offers the calls,
the adapter in `providers/simkl` decides when a pull is justified by `/sync/activities`. Every
reply is parsed into the models of `models.py` before it leaves: no raw JSON reaches the adapter.
"""

import asyncio
from collections.abc import Mapping, Sequence
from typing import Final

import aiohttp

from ..http import Clock, HttpClient, RetryPolicy, Sleep, Throttle
from .models import (
    Activities,
    ListedRow,
    RatedRow,
    SyncObject,
    UserSettings,
    UserStats,
    WriteReply,
    parse_activities,
    parse_listed,
    parse_rated,
    parse_settings,
    parse_stats,
    parse_write_reply,
    write_body,
)

DEFAULT_BASE_URL: Final = "https://api.simkl.com"
APP_NAME: Final = "crosswatch"
DEFAULT_APP_VERSION: Final = "0.1.0"
SERVICE: Final = "SIMKL"


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
    )


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

    async def settings(self) -> UserSettings:
        """POST /users/settings: the account id and the user's name."""
        reply = await self.http.request("POST", "/users/settings")
        return parse_settings(reply.json())

    async def stats(self, user_id: str) -> UserStats:
        """POST /users/{user_id}/stats: how many titles each list holds, counted apart."""
        reply = await self.http.request("POST", f"/users/{user_id}/stats")
        return parse_stats(reply.json())

    async def activities(self) -> Activities:
        """GET /sync/activities: when each bucket and list last changed."""
        reply = await self.http.request("GET", "/sync/activities")
        return parse_activities(reply.json())

    async def all_items(self, bucket: str, date_from: str | None) -> tuple[ListedRow, ...]:
        """GET /sync/all-items/{type}: every listed item of a bucket, or those changed since.

        `extended=full` with `episode_watched_at=yes` gives the watched episodes with their dates.
        """
        params: dict[str, str | int] = {"extended": "full", "episode_watched_at": "yes"}
        if date_from is not None:
            params["date_from"] = date_from
        reply = await self.http.request("GET", f"/sync/all-items/{bucket}", params=params)
        return parse_listed(reply.json(), bucket)

    async def ratings(self, bucket: str, date_from: str | None) -> tuple[RatedRow, ...]:
        """POST /sync/ratings/{type}: the rated items of a bucket, or those changed since."""
        params: Mapping[str, str | int] | None = (
            {"date_from": date_from} if date_from is not None else None
        )
        reply = await self.http.request("POST", f"/sync/ratings/{bucket}", params=params)
        return parse_rated(reply.json(), bucket)

    async def post(self, path: str, sections: Mapping[str, Sequence[SyncObject]]) -> WriteReply:
        """POST a sync write of each section's objects, and what its reply says per item."""
        reply = await self.http.request("POST", path, json_body=write_body(sections))
        return parse_write_reply(reply.json())
