"""How CrossWatch talks to Trakt at all: hosts, headers, pacing and the quota Trakt reports.

Shared by the API client and the device sign-in (`auth`), so both keep to Trakt's limits.
"""

import asyncio
from collections.abc import Mapping
from datetime import UTC, datetime
import json
from typing import TypeGuard

import aiohttp

from ..http import Clock, HttpClient, QuotaLog, RateLimit, RetryPolicy, Sleep, Throttle, header
from .auth import TraktApp

DEFAULT_BASE_URL = "https://api.trakt.tv"
# The 2026 contract declares every OAuth endpoint (device code, token, revoke) on its own host.
DEFAULT_AUTH_URL = "https://auth.trakt.tv"
USER_AGENT = "CrossWatch/0.1 (Home Assistant)"
# Trakt's published limits: one authed write a second, 1000 GETs per five minutes. The client
# counts a call when it may be sent, Trakt when it arrives: a send delayed on its way would land
# within the same second or window, so both keep a little to spare.
WRITE_INTERVAL = 1.1
GET_LIMIT = 1000
GET_WINDOW = 305.0


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


def auth_url_for(base_url: str, auth_url: str | None = None) -> str:
    """Where the OAuth endpoints are: `auth_url` when given, else Trakt's auth host.

    A base URL other than Trakt's own is a test server (a simulator), which serves OAuth on the
    same address unless it was given an auth URL of its own.
    """
    if auth_url:
        return auth_url.rstrip("/")
    if base_url.rstrip("/") == DEFAULT_BASE_URL:
        return DEFAULT_AUTH_URL
    return base_url.rstrip("/")


def trakt_throttles(
    *, sleep: Sleep = asyncio.sleep, clock: Clock | None = None
) -> tuple[Throttle, Throttle]:
    """Pacing for Trakt's published limits: (GETs, writes)."""
    return (
        Throttle(limit=GET_LIMIT, window=GET_WINDOW, clock=clock, sleep=sleep),
        Throttle(WRITE_INTERVAL, clock=clock, sleep=sleep),
    )


def parse_rate_limit(headers: Mapping[str, str]) -> RateLimit | None:
    """The quota in Trakt's `X-Ratelimit` header, a JSON object.

    E.g. `{"name": "AUTHED_API_GET_LIMIT", "period": 300, "limit": 1000, "remaining": 0,
    "until": "2020-10-10T00:24:00Z"}`. Trakt calls it optional: some replies (and 429s sent
    before the rate limiter) come without it, and anything unreadable counts as absent.
    """
    raw = header(headers, "X-Ratelimit")
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
