"""SIMKL's AUTH V2: the device sign-in, expiring tokens and the one refresher of a grant.

Sources: `shared/specs/simkl/auth-v2.md` (derived from public V2 clients; section numbers below
are that page's). What this module relies on:
- the device flow (§7): POST `/oauth2/device` with `client_id` and `scope`, then POST
  `/oauth2/token` with the device grant every `interval` seconds; `authorization_pending` and
  `slow_down` (+5 s, kept) go on, `expired_token`, `invalid_grant` and `access_denied` end it.
  Whether SIMKL ever answers `access_denied` is disputed (§7.4): both are handled;
- every /oauth2 body is form encoded, with `Accept: application/json` (§5); `app-name` and
  `app-version` ride in the URL as on every SIMKL call (harmless if SIMKL ignores them, §5);
- access tokens last 7 days, refresh tokens 180 days from their last use (§9); a refresh kills
  the grant's previous access token at once and returns the same refresh token or none (§10);
- the grant is read-only unless it carries `media:write` (§6); a reply without `scope` was
  granted what was asked (§6, one source: the reading chosen here);
- revoke is best effort and always answers 200 (§11);
- the browser sign-in (§8): the consent page is GET `https://simkl.com/oauth2/authorize` (on
  simkl.com, not the API host, §4) with PKCE, S256 only; the code comes back to the redirect URI
  and is exchanged once on POST `/oauth2/token` with the same `redirect_uri` and the verifier.
  A code is spent by any exchange, failed ones included: a failure means signing in again.

`SimklGrant` is the single owner of one account's tokens: one lock, refresh a day before the
access token expires, every new pair saved (the config entry) before it is used, and after a
401 the stored pair is read again first, since another owner may already have renewed it.
"""

import asyncio
import base64
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
import hashlib
import secrets
import string
import time
from typing import Any, Final

import aiohttp

from ..errors import (
    CrossWatchAuthenticationError,
    CrossWatchInvalidResponseError,
    CrossWatchResponseError,
)
from ..http import HttpClient, RetryPolicy, Sleep, Throttle
from ..tokens import Tokens, TokenSaver
from .client import APP_NAME, DEFAULT_APP_VERSION, DEFAULT_BASE_URL, SERVICE

SCOPE: Final = "media:read media:write"
WRITE_SCOPE: Final = "media:write"
DEVICE_GRANT: Final = "urn:ietf:params:oauth:grant-type:device_code"
# V1 (the PIN login and its never-expiring tokens) stops working after this day (§2).
V1_SUNSET: Final = datetime(2027, 3, 31, 23, 59, 59, tzinfo=UTC)
# Renew this long before the access token expires: SIMKL's own guidance is "a day or so" (§10).
REFRESH_MARGIN: Final = 86400.0
SLOW_DOWN_STEP: Final = 5.0
V2_ACCESS_PREFIX: Final = "simkl_at_"
AUTHORIZATION_CODE_GRANT: Final = "authorization_code"
# The consent page is on simkl.com; the same path on the API host is a 404 (§4).
DEFAULT_AUTHORIZE_URL: Final = "https://simkl.com/oauth2/authorize"
AUTHORIZE_PATH: Final = "/oauth2/authorize"
# RFC 7636 §4.1: 43 to 128 characters of the unreserved alphabet.
VERIFIER_ALPHABET: Final = string.ascii_letters + string.digits + "-._~"
VERIFIER_LENGTHS: Final = range(43, 129)

type TokenLoader = Callable[[], Tokens]


def is_v2(tokens: Tokens) -> bool:
    """Whether a stored pair is a V2 grant (it has a refresh token) rather than a V1 token."""
    return tokens.refresh_token is not None or tokens.access_token.startswith(V2_ACCESS_PREFIX)


@dataclass(frozen=True, slots=True)
class DeviceCode:
    """What `/oauth2/device` answered, and when (seconds since the epoch)."""

    device_code: str
    user_code: str
    verification_uri: str  # where the code is typed; the complete URI carries it already
    expires_in: int
    interval: int
    issued_at: float

    @property
    def expires_at(self) -> float:
        """When the code stops working (seconds since the epoch)."""
        return self.issued_at + self.expires_in


@dataclass(frozen=True, slots=True)
class Grant:
    """A signed-in grant: its tokens and the scopes SIMKL granted."""

    tokens: Tokens
    scopes: frozenset[str]

    @property
    def can_write(self) -> bool:
        """Whether the grant may change the user's lists (`media:write`)."""
        return WRITE_SCOPE in self.scopes


def new_code_verifier(length: int = 128) -> str:
    """A fresh PKCE code verifier: `length` (43 to 128) random unreserved characters."""
    if length not in VERIFIER_LENGTHS:
        raise ValueError(f"a PKCE verifier has 43 to 128 characters, not {length}")
    return "".join(secrets.choice(VERIFIER_ALPHABET) for _ in range(length))


def code_challenge(verifier: str) -> str:
    """The S256 challenge of a verifier: its SHA-256, base64url without padding."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


def authorize_url_for(base_url: str) -> str:
    """Where the consent page is: simkl.com for SIMKL's API, else the test server itself.

    A base URL other than SIMKL's own is a test server (a simulator), which serves the consent
    page on the same address.
    """
    if base_url.rstrip("/") == DEFAULT_BASE_URL:
        return DEFAULT_AUTHORIZE_URL
    return f"{base_url.rstrip('/')}{AUTHORIZE_PATH}"


class DeviceStatus(StrEnum):
    """What one poll of the device grant said."""

    AUTHORIZED = "authorized"
    PENDING = "authorization_pending"
    SLOW_DOWN = "slow_down"
    EXPIRED = "expired_token"
    INVALID = "invalid_grant"  # used already, or issued to another client
    DENIED = "access_denied"

    @property
    def final(self) -> bool:
        """Whether polling this code again is pointless."""
        return self not in (DeviceStatus.PENDING, DeviceStatus.SLOW_DOWN)


class DeviceFlowError(CrossWatchAuthenticationError):
    """The device sign-in ended without a grant (expired, refused, or the code was spent)."""

    def __init__(self, status: DeviceStatus) -> None:
        """Keep the status that ended the sign-in."""
        super().__init__(f"the SIMKL sign-in ended: {status.value}")
        self.status = status


@dataclass(frozen=True, slots=True)
class DevicePoll:
    """One poll's outcome: the grant once authorized, and the interval from then on."""

    status: DeviceStatus
    interval: float
    grant: Grant | None = None


class SimklOAuth:
    """The /oauth2 endpoints for one public client id (a "TV, devices" app: no secret)."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        client_id: str,
        *,
        base_url: str = DEFAULT_BASE_URL,
        app_version: str = DEFAULT_APP_VERSION,
        retry: RetryPolicy | None = None,
        sleep: Sleep = asyncio.sleep,
        now: Callable[[], float] = time.time,
    ) -> None:
        """Bind the session and the app's client id; `sleep` and `now` are for tests."""
        self.client_id = client_id
        self._app_version = app_version
        self._sleep = sleep
        self._now = now
        self.http = HttpClient(
            session,
            base_url,
            service=SERVICE,
            headers={
                "Accept": "application/json",
                "User-Agent": f"CrossWatch/{app_version} (Home Assistant integration)",
            },
            read_throttle=Throttle(1.0, sleep=sleep),
            retry=retry,
            sleep=sleep,
        )

    async def _post(self, path: str, form: Mapping[str, str]) -> tuple[int, dict[str, Any]]:
        reply = await self.http.request(
            "POST",
            path,
            params={"app-name": APP_NAME, "app-version": self._app_version},
            form_body={"client_id": self.client_id, **form},
            ok=frozenset({200, 400, 401}),
        )
        body = reply.json()
        return reply.status, body if isinstance(body, dict) else {}

    async def request_device_code(self, scope: str = SCOPE) -> DeviceCode:
        """Ask for a device code and the user code to show (an auth error: unknown app)."""
        status, data = await self._post("/oauth2/device", {"scope": scope})
        if status != 200:
            raise CrossWatchAuthenticationError(
                f"SIMKL refused the app's client id ({data.get('error') or status})"
            )
        try:
            return DeviceCode(
                device_code=str(data["device_code"]),
                user_code=str(data["user_code"]),
                verification_uri=str(
                    data.get("verification_uri_complete") or data["verification_uri"]
                ),
                expires_in=int(data.get("expires_in") or 900),
                interval=int(data.get("interval") or 5),
                issued_at=self._now(),
            )
        except (KeyError, TypeError, ValueError) as err:
            raise CrossWatchInvalidResponseError(
                f"SIMKL sent an unusable device code reply: {err!r}"
            ) from err

    async def poll(self, code: DeviceCode, interval: float | None = None) -> DevicePoll:
        """Poll the device grant once; `interval` is the current one (raised by slow downs)."""
        current = float(code.interval if interval is None else interval)
        status, data = await self._post(
            "/oauth2/token", {"grant_type": DEVICE_GRANT, "device_code": code.device_code}
        )
        if status == 200:
            return DevicePoll(DeviceStatus.AUTHORIZED, current, self._grant(data, None))
        error = str(data.get("error") or "")
        if status == 401:
            raise CrossWatchAuthenticationError(f"SIMKL refused the app ({error or status})")
        try:
            said = DeviceStatus(error)
        except ValueError as err:
            raise CrossWatchResponseError(
                status, f"SIMKL refused the device code: {error}"
            ) from err
        if said is DeviceStatus.SLOW_DOWN:
            return DevicePoll(said, current + SLOW_DOWN_STEP)
        return DevicePoll(said, current)

    async def wait_for_grant(self, code: DeviceCode) -> Grant:
        """Poll at the code's interval until the user acts; DeviceFlowError if they never do.

        A declined code may simply stay pending until it expires (§7.4): expiry ends the wait.
        """
        interval = float(code.interval)
        while True:
            if self._now() + interval > code.expires_at:
                raise DeviceFlowError(DeviceStatus.EXPIRED)
            await self._sleep(interval)
            result = await self.poll(code, interval)
            if result.grant is not None:
                return result.grant
            if result.status.final:
                raise DeviceFlowError(result.status)
            interval = result.interval

    async def exchange_code(self, code: str, verifier: str, redirect_uri: str) -> Grant:
        """Trade the browser sign-in's code for a grant (§8.3); an auth error if SIMKL refuses.

        `redirect_uri` must be the one the consent page was opened with. The code is spent
        whatever SIMKL answers: a refusal means signing in again, never another try with it.
        """
        status, data = await self._post(
            "/oauth2/token",
            {
                "grant_type": AUTHORIZATION_CODE_GRANT,
                "code": code,
                "redirect_uri": redirect_uri,
                "code_verifier": verifier,
            },
        )
        if status != 200:
            raise CrossWatchAuthenticationError(
                f"SIMKL refused the sign-in code ({data.get('error') or status})"
            )
        return self._grant(data, None)

    async def refresh(self, refresh_token: str) -> Tokens:
        """A new access token for the grant (the previous one dies at once: save this first).

        SIMKL's refresh tokens do not rotate: the reply's, else the one used, is kept.
        """
        status, data = await self._post(
            "/oauth2/token", {"grant_type": "refresh_token", "refresh_token": refresh_token}
        )
        if status != 200:
            raise CrossWatchAuthenticationError(
                f"SIMKL refused to renew the token ({data.get('error') or status}); sign in again"
            )
        return self._grant(data, refresh_token).tokens

    async def revoke(self, token: str) -> None:
        """Revoke the grant the token belongs to (best effort: SIMKL always answers 200)."""
        await self._post("/oauth2/revoke", {"token": token})

    def _grant(self, data: Mapping[str, Any], refresh_token: str | None) -> Grant:
        try:
            tokens = Tokens.from_oauth_reply(data, now=self._now())
        except (KeyError, TypeError, ValueError) as err:
            raise CrossWatchInvalidResponseError(
                f"SIMKL sent an unusable token reply: {err!r}"
            ) from err
        if tokens.refresh_token is None and refresh_token is not None:
            tokens = Tokens(tokens.access_token, refresh_token, tokens.expires_at)
        scope = data.get("scope")
        scopes = str(scope).split() if scope else SCOPE.split()
        return Grant(tokens, frozenset(scopes))


class SimklGrant:
    """The one owner of an account's tokens: renews them, saves them, hands them out.

    Every refresh kills the grant's previous access token, so two refreshers of one grant log
    each other out. Here one lock admits one refresh at a time; each new pair is saved before
    it is used; and a caller whose token was refused first reads the stored pair again (the
    loader), and uses it if someone else renewed it meanwhile. A V1 token (no refresh token, no
    expiry) is handed out as it is: it works until SIMKL ends V1.
    """

    def __init__(
        self,
        tokens: Tokens,
        *,
        oauth: SimklOAuth | None,
        save: TokenSaver,
        load: TokenLoader | None = None,
        now: Callable[[], float] = time.time,
        margin: float = REFRESH_MARGIN,
    ) -> None:
        """Own `tokens`; `oauth` renews them (None: they cannot be), `save` persists them."""
        self._tokens = tokens
        self._oauth = oauth
        self._save = save
        self._load = load or (lambda: self._tokens)
        self._now = now
        self._margin = margin
        self._lock = asyncio.Lock()
        self.refreshes = 0  # how many times this owner renewed the token

    @property
    def tokens(self) -> Tokens:
        """The pair in use."""
        return self._tokens

    @property
    def renewable(self) -> bool:
        """Whether the access token can be renewed (a V2 grant with its refresh token)."""
        return self._oauth is not None and self._tokens.refresh_token is not None

    async def access_token(self) -> str:
        """A token to send: the stored one, renewed first when it expires within a day."""
        self._adopt_stored()
        if self.renewable and self._tokens.expires_within(self._margin, now=self._now()):
            await self._renew(self._tokens.access_token)
        return self._tokens.access_token

    async def refused(self, access_token: str) -> str:
        """SIMKL answered 401 to `access_token`: the stored pair if it is newer, else renew."""
        if not self.renewable:
            raise CrossWatchAuthenticationError("SIMKL refused the access token (HTTP 401)")
        await self._renew(access_token)
        return self._tokens.access_token

    async def revoke(self) -> None:
        """End the grant on SIMKL's side (best effort); nothing is renewed afterwards."""
        if self._oauth is None or not is_v2(self._tokens):
            return
        await self._oauth.revoke(self._tokens.refresh_token or self._tokens.access_token)

    def _adopt_stored(self) -> None:
        stored = self._load()
        if stored.access_token != self._tokens.access_token:
            self._tokens = stored

    async def _renew(self, stale: str) -> None:
        async with self._lock:
            self._adopt_stored()
            current = self._tokens
            if current.access_token != stale and not current.expires_within(
                self._margin, now=self._now()
            ):
                return  # renewed by another caller (or owner) while this one waited
            if self._oauth is None or current.refresh_token is None:
                raise CrossWatchAuthenticationError("the SIMKL grant has no refresh token")
            fresh = await self._oauth.refresh(current.refresh_token)
            self.refreshes += 1
            # The old access token is dead now: persist the new pair before anything uses it.
            await self._save(fresh)
            self._tokens = fresh
