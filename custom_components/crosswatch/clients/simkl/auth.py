"""SIMKL's PIN flow, in steps a Home Assistant config flow can drive.

The app asks for a code (`GET /oauth/pin`), shows `user_code` and `verification_url`, then polls
`GET /oauth/pin/{USER_CODE}` no faster than `interval` until it answers with an access token or
`expires_in` has passed. SIMKL tokens never expire, so there is no refresh token to keep.
"""

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
import time

import aiohttp

from ..errors import (
    CrossWatchAuthenticationError,
)
from ..http import RetryPolicy, Sleep
from ..tokens import Tokens
from .client import DEFAULT_APP_VERSION, DEFAULT_BASE_URL, make_http
from .models import expect_object

SLOW_DOWN_STEP = 5  # seconds added to the interval each time SIMKL asks us to slow down


class PinStatus(StrEnum):
    """Where an authorization by PIN stands."""

    PENDING = "pending"  # the user has not entered the code yet
    SLOW_DOWN = "slow_down"  # we polled faster than the interval
    AUTHORIZED = "authorized"  # the token is there
    EXPIRED = "expired"  # the code is no longer valid: start again


@dataclass(frozen=True, slots=True)
class PinCode:
    """A code to show the user, and how to poll for it."""

    user_code: str
    device_code: str | None
    verification_url: str
    expires_in: int
    interval: int
    requested_at: float  # the auth clock's reading when the code was issued


@dataclass(frozen=True, slots=True)
class PinPoll:
    """The answer to one poll."""

    status: PinStatus
    access_token: str | None = None
    message: str | None = None


class SimklPinAuth:
    """Requests PIN codes and polls them, without ever blocking the event loop."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        client_id: str,
        *,
        base_url: str = DEFAULT_BASE_URL,
        app_version: str = DEFAULT_APP_VERSION,
        retry: RetryPolicy | None = None,
        sleep: Sleep = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Bind the session and the app's key; sleep and clock are injectable for tests."""
        self._client_id = client_id
        self._sleep = sleep
        self._clock = clock
        self.http = make_http(
            session,
            client_id,
            base_url=base_url,
            app_version=app_version,
            retry=retry,
            sleep=sleep,
            clock=clock,
        )

    async def request_code(self, redirect: str | None = None) -> PinCode:
        """Ask SIMKL for a code to show the user."""
        params = {"client_id": self._client_id}
        if redirect is not None:
            params["redirect"] = redirect
        reply = expect_object(
            (await self.http.request("GET", "/oauth/pin", params=params)).json(), "a PIN code"
        )
        user_code = reply.get("user_code")
        if reply.get("result") != "OK" or not isinstance(user_code, str) or not user_code:
            raise CrossWatchAuthenticationError(
                f"SIMKL did not issue a PIN code: {reply.get('message') or reply}"
            )
        device_code = reply.get("device_code")
        return PinCode(
            user_code=user_code,
            device_code=str(device_code) if device_code else None,
            verification_url=str(reply.get("verification_url") or "https://simkl.com/pin/"),
            expires_in=_int(reply.get("expires_in"), 900),
            interval=_int(reply.get("interval"), 5),
            requested_at=self._clock(),
        )

    async def poll_once(self, code: PinCode) -> PinPoll:
        """Ask once whether the user has entered the code."""
        if self._clock() - code.requested_at >= code.expires_in:
            # SIMKL asks apps to stop polling once the code has expired.
            return PinPoll(PinStatus.EXPIRED, message="the code expired")
        reply = await self.http.request(
            "GET",
            f"/oauth/pin/{code.user_code}",
            params={"client_id": self._client_id},
            ok=frozenset({200, 404}),
        )
        if reply.status == 404:
            return PinPoll(PinStatus.EXPIRED, message="SIMKL no longer knows the code")
        body = expect_object(reply.json(), "a PIN status")
        token = body.get("access_token")
        if body.get("result") == "OK" and isinstance(token, str) and token:
            return PinPoll(PinStatus.AUTHORIZED, access_token=token)
        message = str(body.get("message") or "")
        lowered = message.casefold()
        if "pending" in lowered:
            return PinPoll(PinStatus.PENDING, message=message)
        if "slow" in lowered:
            return PinPoll(PinStatus.SLOW_DOWN, message=message)
        # The blueprint documents only "pending" and "slow down"; anything else means the code
        # cannot succeed any more, and the user must start again.
        return PinPoll(PinStatus.EXPIRED, message=message or "SIMKL refused the code")

    async def wait_for_token(self, code: PinCode) -> Tokens:
        """Poll at the code's interval until the user authorizes; an auth error once it expires."""
        interval = max(1, code.interval)
        while True:
            await self._sleep(interval)
            poll = await self.poll_once(code)
            if poll.status is PinStatus.AUTHORIZED and poll.access_token:
                return Tokens(access_token=poll.access_token)
            if poll.status is PinStatus.EXPIRED:
                raise CrossWatchAuthenticationError(
                    f"the SIMKL code {code.user_code} expired: {poll.message}"
                )
            if poll.status is PinStatus.SLOW_DOWN:
                interval += SLOW_DOWN_STEP


def _int(value: object, default: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return default
    try:
        return int(value)
    except ValueError:
        return default
