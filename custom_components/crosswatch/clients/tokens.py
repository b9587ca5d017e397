"""OAuth tokens as the clients keep them, and how a client hands new ones to its owner.

Trakt and SIMKL issue single-use refresh tokens: a refreshed pair that is not persisted at once
locks the account out after the next restart. So a client never keeps tokens to itself; it
passes every new pair to a `TokenSaver` (in Home Assistant: an update of the config entry)
before it uses the new access token.
"""

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
import time
from typing import Any


@dataclass(frozen=True, slots=True)
class Tokens:
    """An access token, the refresh token that renews it, and when it expires."""

    access_token: str
    refresh_token: str | None = None
    expires_at: float | None = None  # seconds since the epoch; None: the service gives no expiry

    def expires_within(self, seconds: float, now: float | None = None) -> bool:
        """Whether the access token expires within `seconds` from now."""
        if self.expires_at is None:
            return False
        return self.expires_at - (time.time() if now is None else now) <= seconds

    @classmethod
    def from_oauth_reply(cls, reply: Mapping[str, Any], now: float | None = None) -> Tokens:
        """Tokens from an RFC 6749 token reply (`access_token`, `refresh_token`, `expires_in`)."""
        issued = float(reply.get("created_at") or (time.time() if now is None else now))
        expires_in = reply.get("expires_in")
        return cls(
            access_token=str(reply["access_token"]),
            refresh_token=str(reply["refresh_token"]) if reply.get("refresh_token") else None,
            expires_at=issued + float(expires_in) if expires_in is not None else None,
        )

    def as_dict(self) -> dict[str, Any]:
        """The tokens as stored in a config entry."""
        return {
            "access_token": self.access_token,
            "refresh_token": self.refresh_token,
            "expires_at": self.expires_at,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Tokens:
        """Tokens as stored by `as_dict`."""
        expires_at = data.get("expires_at")
        return cls(
            access_token=str(data["access_token"]),
            refresh_token=data.get("refresh_token"),
            expires_at=float(expires_at) if expires_at is not None else None,
        )


type TokenSaver = Callable[[Tokens], Awaitable[None]]
