"""Trakt's OAuth device flow and token refresh, as steps a config flow can drive.

A Home Assistant config flow cannot block while the user walks to a browser, so the device flow
is split into its steps: ask for a code, show it, then poll once per flow step (or poll until
done, with an injectable sleep). Every request goes through the shared `HttpClient`. Trakt's
refusals of the app itself (403, 426) are raised as the errors of `errors` (a deleted app, VIP
required), not as a failed sign-in: no code the user approves could get past them.

Refresh tokens are single-use: the caller must persist the pair `refresh_tokens` returns before
it uses the new access token (see `tokens.py`). `revoke_token` ends an authorization when the
user removes the account, so no unused app connection is left on their Trakt profile.
"""

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
import time
from typing import Any

from ..errors import (
    CrossWatchAuthenticationError,
    CrossWatchClientError,
    CrossWatchInvalidResponseError,
)
from ..http import HttpClient, Sleep
from ..tokens import Tokens
from .errors import APP_REFUSALS, raise_for_app_refusal

# Trakt's device and refresh grants need a redirect URI; devices use the out-of-band one.
OOB_REDIRECT_URI = "urn:ietf:wg:oauth:2.0:oob"
# RFC 8628: on "slow down", poll that much less often from then on.
SLOW_DOWN_STEP = 5.0


@dataclass(frozen=True, slots=True)
class TraktApp:
    """The user's own Trakt API app: its client id and secret."""

    client_id: str
    client_secret: str


@dataclass(frozen=True, slots=True)
class DeviceCode:
    """What `/oauth/device/code` answered, and when (seconds since the epoch)."""

    device_code: str
    user_code: str
    verification_url: str
    expires_in: int
    interval: int
    issued_at: float

    @property
    def expires_at(self) -> float:
        """When the codes stop working (seconds since the epoch)."""
        return self.issued_at + self.expires_in


class PollStatus(StrEnum):
    """What one poll of `/oauth/device/token` said."""

    AUTHORIZED = "authorized"  # 200: tokens issued
    PENDING = "pending"  # 400: the user has not acted yet
    INVALID = "invalid"  # 404: unknown device code
    ALREADY_USED = "already_used"  # 409: the code was already exchanged
    EXPIRED = "expired"  # 410: restart the flow
    DENIED = "denied"  # 418: the user refused
    SLOW_DOWN = "slow_down"  # 429: polling too fast

    @property
    def final(self) -> bool:
        """Whether polling this code again is pointless."""
        return self not in (PollStatus.PENDING, PollStatus.SLOW_DOWN)


_POLL_STATUS = {
    200: PollStatus.AUTHORIZED,
    400: PollStatus.PENDING,
    404: PollStatus.INVALID,
    409: PollStatus.ALREADY_USED,
    410: PollStatus.EXPIRED,
    418: PollStatus.DENIED,
    429: PollStatus.SLOW_DOWN,
}


@dataclass(frozen=True, slots=True)
class PollResult:
    """One poll's outcome: the tokens once authorized, and how long to wait before the next."""

    status: PollStatus
    interval: float
    tokens: Tokens | None = None


class DeviceFlowError(CrossWatchClientError):
    """The device flow ended without tokens (denied, expired, invalid or already used)."""

    def __init__(self, status: PollStatus) -> None:
        """Keep the poll status that ended the flow."""
        super().__init__(_FLOW_MESSAGES.get(status, f"Trakt device authorization: {status}"))
        self.status = status


_FLOW_MESSAGES = {
    PollStatus.INVALID: "Trakt does not know this device code; start again",
    PollStatus.ALREADY_USED: "this Trakt device code was already used; start again",
    PollStatus.EXPIRED: "the Trakt code expired before it was approved; start again",
    PollStatus.DENIED: "the Trakt authorization was denied",
}


async def request_device_code(
    http: HttpClient, app: TraktApp, *, now: Callable[[], float] = time.time
) -> DeviceCode:
    """Ask Trakt for a device code and the user code to show."""
    reply = raise_for_app_refusal(
        await http.request(
            "POST",
            "/oauth/device/code",
            json_body={"client_id": app.client_id},
            ok=frozenset({200}) | APP_REFUSALS,
        )
    )
    data = _object(reply.json(), "device code")
    try:
        return DeviceCode(
            device_code=str(data["device_code"]),
            user_code=str(data["user_code"]),
            verification_url=str(data["verification_url"]),
            expires_in=int(data["expires_in"]),
            interval=int(data["interval"]),
            issued_at=now(),
        )
    except (KeyError, TypeError, ValueError) as err:
        raise CrossWatchInvalidResponseError(
            f"Trakt sent an unusable device code reply: {err!r}"
        ) from err


async def poll_device_token(
    http: HttpClient,
    app: TraktApp,
    code: DeviceCode,
    *,
    interval: float | None = None,
    now: Callable[[], float] = time.time,
) -> PollResult:
    """Poll once; `interval` is the current polling interval (the code's, unless slowed down)."""
    current = float(code.interval if interval is None else interval)
    reply = await http.request(
        "POST",
        "/oauth/device/token",
        json_body={
            "code": code.device_code,
            "client_id": app.client_id,
            "client_secret": app.client_secret,
        },
        ok=frozenset(_POLL_STATUS) | APP_REFUSALS,
    )
    raise_for_app_refusal(reply)
    status = _POLL_STATUS[reply.status]
    if status is PollStatus.AUTHORIZED:
        return PollResult(status, current, _tokens(reply.json(), now))
    if status is PollStatus.SLOW_DOWN:
        return PollResult(status, current + SLOW_DOWN_STEP)
    return PollResult(status, current)


async def wait_for_device_token(
    http: HttpClient,
    app: TraktApp,
    code: DeviceCode,
    *,
    sleep: Sleep,
    now: Callable[[], float] = time.time,
) -> Tokens:
    """Poll at the code's interval until the user acts; raise DeviceFlowError if they never do."""
    interval = float(code.interval)
    while True:
        if now() + interval > code.expires_at:
            raise DeviceFlowError(PollStatus.EXPIRED)
        await sleep(interval)
        result = await poll_device_token(http, app, code, interval=interval, now=now)
        if result.tokens is not None:
            return result.tokens
        if result.status.final:
            raise DeviceFlowError(result.status)
        interval = result.interval


async def refresh_tokens(
    http: HttpClient, app: TraktApp, refresh_token: str, *, now: Callable[[], float] = time.time
) -> Tokens:
    """Exchange a (single-use) refresh token for a new pair; an auth error when Trakt refuses."""
    reply = await http.request(
        "POST",
        "/oauth/token",
        json_body={
            "refresh_token": refresh_token,
            "client_id": app.client_id,
            "client_secret": app.client_secret,
            "redirect_uri": OOB_REDIRECT_URI,
            "grant_type": "refresh_token",
        },
        ok=frozenset({200, 400, 401}) | APP_REFUSALS,
    )
    raise_for_app_refusal(reply)
    if reply.status != 200:
        detail = reply.json()
        reason = detail.get("error") if isinstance(detail, dict) else None
        raise CrossWatchAuthenticationError(
            f"Trakt refused to refresh the token ({reason or reply.status})"
        )
    return _tokens(reply.json(), now)


async def revoke_token(http: HttpClient, app: TraktApp, access_token: str) -> None:
    """Ask Trakt to revoke an access token (and so the authorization it belongs to).

    Trakt answers 200 whether or not the token was still valid. A deleted app (403) or one
    that needs VIP (426) is refused as such: its authorizations are void anyway.
    """
    raise_for_app_refusal(
        await http.request(
            "POST",
            "/oauth/revoke",
            json_body={
                "token": access_token,
                "client_id": app.client_id,
                "client_secret": app.client_secret,
            },
            ok=frozenset({200}) | APP_REFUSALS,
            idempotent=True,  # revoking twice is revoking once
        )
    )


def _object(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise CrossWatchInvalidResponseError(f"Trakt sent an unusable {what} reply")
    return value


def _tokens(value: Any, now: Callable[[], float]) -> Tokens:
    data = _object(value, "token")
    try:
        return Tokens.from_oauth_reply(data, now=now())
    except (KeyError, TypeError, ValueError) as err:
        raise CrossWatchInvalidResponseError(
            f"Trakt sent an unusable token reply: {err!r}"
        ) from err
