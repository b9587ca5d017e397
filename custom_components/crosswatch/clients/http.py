"""The HTTP layer every provider client shares: pacing, retries and error mapping.

Providers differ in their endpoints, not in how a careful client talks to them. One place
decides what a 429, a 5xx, a timeout or a 401 means, so every service degrades the same way:
transient faults are retried with backoff, rate limits honour Retry-After, and anything that
cannot be trusted surfaces as one of the client errors (`errors.py`), which the providers
translate into the engine's at one boundary.
"""

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
import json
import logging
from typing import Final, Protocol, runtime_checkable

import aiohttp
from yarl import URL

from .errors import (
    CrossWatchAuthenticationError,
    CrossWatchClientError,
    CrossWatchConnectionError,
    CrossWatchConnectionLostError,
    CrossWatchInvalidResponseError,
    CrossWatchRateLimitError,
    CrossWatchResponseError,
    CrossWatchServerError,
    CrossWatchTimeoutError,
)
from .json_slices import JsonValue as JsonValue, decode_in_slices  # noqa: PLC0414 - re-exported

_LOGGER = logging.getLogger(__name__)

type Clock = Callable[[], float]
type Sleep = Callable[[float], Awaitable[None]]

# The largest reply body read, by default: ten years of one user's lists fit many times over,
# and a server that sends more is broken or hostile. The whole body is held in memory; a large
# one is decoded in slices (a worker thread would not free the event loop: json.loads keeps the
# GIL), so the cap bounds memory rather than the longest stall.
MAX_BODY: Final = 32 * 1024 * 1024
# A JSON body this large is decoded in slices (`json_slices`): decoded at once, it would hold
# the event loop for longer than Home Assistant tolerates (about 10 ms a megabyte here).
SLICED_DECODE_AT: Final = 1024 * 1024
_REDIRECTS: Final = frozenset({301, 302, 303, 307, 308})
_MAX_HOPS: Final = 5


class Throttle:
    """Spaces calls at least `interval` seconds apart and at most `limit` per `window`.

    Callers await `wait()` before each request. Shared by all calls of one client, so
    concurrent reads still respect the service's published limits.
    """

    def __init__(
        self,
        interval: float = 0.0,
        *,
        limit: int | None = None,
        window: float = 0.0,
        clock: Clock | None = None,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        """Configure the pacing; clock and sleep are injectable so tests need no real time."""
        self._interval = interval
        self._limit = limit
        self._window = window
        self._clock = clock or _monotonic
        self._sleep = sleep
        self._lock = asyncio.Lock()
        self._last: float | None = None
        self._recent: deque[float] = deque()
        self._blocked_until = 0.0

    def block_for(self, seconds: float) -> None:
        """Hold every call for `seconds` (a Retry-After from the service)."""
        self._blocked_until = max(self._blocked_until, self._clock() + seconds)

    async def wait(self) -> None:
        """Return once a call may be made, and count it."""
        async with self._lock:
            now = self._clock()
            delay = self._blocked_until - now
            if self._last is not None:
                delay = max(delay, self._last + self._interval - now)
            if self._limit is not None:
                while self._recent and self._recent[0] <= now - self._window:
                    self._recent.popleft()
                if len(self._recent) >= self._limit:
                    delay = max(delay, self._recent[0] + self._window - now)
            if delay > 0:
                await self._sleep(delay)
                now = self._clock()
            self._last = now
            if self._limit is not None:
                self._recent.append(now)


def _monotonic() -> float:
    return asyncio.get_running_loop().time()


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How transient faults are retried."""

    attempts: int = 4  # tries in all, for 5xx, timeouts, connection errors and short 429s
    backoff: float = 1.0  # seconds before the first retry, doubling each time
    max_retry_after: float = 60.0  # a longer Retry-After is raised to the caller instead
    timeout: float = 30.0  # seconds for one request


@dataclass(frozen=True, slots=True)
class Response:
    """A successful reply: status, headers and the raw body (large JSON already decoded)."""

    status: int
    headers: Mapping[str, str]
    body: bytes
    # A large JSON body, decoded in slices while the reply came in (`decode_large`): a 1-tuple,
    # since the document itself may be null.
    decoded: tuple[JsonValue] | None = None

    def json(self) -> JsonValue:
        """The body as JSON (None for an empty body). Each client's parser narrows it."""
        if self.decoded is not None:
            return self.decoded[0]
        if not self.body.strip():
            return None
        try:
            value: JsonValue = json.loads(self.body)
        except ValueError as err:
            raise CrossWatchInvalidResponseError(
                f"the service sent a body that is not JSON: {err}"
            ) from err
        return value


async def decode_large(reply: Response) -> Response:
    """The reply, with a large JSON body decoded in slices that let the event loop run.

    A body that is not JSON after all is left as it is: `Response.json` then raises the same
    error it always did.
    """
    if len(reply.body) < SLICED_DECODE_AT or reply.body.lstrip()[:1] not in (b"[", b"{"):
        return reply
    try:
        text = reply.body.decode()
        value = await decode_in_slices(text)
    except ValueError:  # UnicodeDecodeError and json.JSONDecodeError both are
        return reply
    return Response(reply.status, reply.headers, reply.body, (value,))


@dataclass(slots=True)
class RequestCounter:
    """How many requests a client made, for the run result."""

    count: int = 0
    by_status: dict[int, int] = field(default_factory=dict)

    def record(self, status: int) -> None:
        """Count one answered request."""
        self.count += 1
        self.by_status[status] = self.by_status.get(status, 0) + 1


@dataclass(frozen=True, slots=True)
class RateLimit:
    """What a service said about its request quota in the headers of one reply."""

    remaining: int
    limit: int | None = None
    resets_at: datetime | None = None  # when the quota is refilled, when the service says
    bucket: str = ""  # the service's name for the quota, for services with several


type RateLimitParser = Callable[[Mapping[str, str]], RateLimit | None]


class QuotaLog:
    """The latest quota report of each of a service's buckets, as its replies carried them.

    Only what the service itself reported is kept: a service that sends no such headers
    leaves the log empty, and nothing is estimated from the requests we made.
    """

    def __init__(self, parse: RateLimitParser) -> None:
        """Read reports with `parse`, which knows the service's headers."""
        self._parse = parse
        self._latest: dict[str, RateLimit] = {}

    def record(self, headers: Mapping[str, str]) -> None:
        """Keep the report a reply carried, if it carried one."""
        report = self._parse(headers)
        if report is not None:
            self._latest[report.bucket] = report

    def latest(self, bucket: str = "") -> RateLimit | None:
        """The last report of `bucket` (the only bucket, for most services), if any."""
        return self._latest.get(bucket)


@runtime_checkable
class QuotaReporter(Protocol):
    """A provider whose service reports its remaining request quota."""

    @property
    def rate_limit(self) -> RateLimit | None:
        """What the service last reported, or None before its first report."""


def header(headers: Mapping[str, str], name: str) -> str | None:
    """A header's value, whatever the case the service spelled its name in."""
    wanted = name.lower()
    return next((v for k, v in headers.items() if k.lower() == wanted), None)


class HttpClient:
    """Sends requests to one service with its headers, pacing and retry policy."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        base_url: str,
        *,
        service: str,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
        read_throttle: Throttle | None = None,
        write_throttle: Throttle | None = None,
        retry: RetryPolicy | None = None,
        sleep: Sleep = asyncio.sleep,
        quotas: QuotaLog | None = None,
        max_body: int = MAX_BODY,
        carries_credentials: bool = True,
    ) -> None:
        """Bind the session and the service's base URL (overridable for simulators).

        `headers` and the query `params` go with every request; a request's own win.
        `quotas` records the quota reports of every reply (clients of one account share it).
        A reply body larger than `max_body` bytes is refused. A client that sends no
        credentials (a public download) may follow a redirect to any server.
        """
        self._session = session
        self.base_url = base_url.rstrip("/")
        self.service = service
        self._headers = dict(headers or {})
        self._params = dict(params or {})
        self._reads = read_throttle or Throttle()
        self._writes = write_throttle or self._reads
        self._retry = retry or RetryPolicy()
        self._sleep = sleep
        self.requests = RequestCounter()
        self.quotas = quotas
        self._max_body = max_body
        self._carries_credentials = carries_credentials

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str | int] | None = None,
        json_body: JsonValue = None,
        form_body: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        ok: frozenset[int] = frozenset({200, 201, 204}),
        url: str | None = None,
        idempotent: bool | None = None,
    ) -> Response:
        """Send one request, retrying transient faults; return the reply or raise.

        Statuses in `ok` (and 304) are returned. 401 and 403 raise
        CrossWatchAuthenticationError, 429 beyond the retry budget raises
        CrossWatchRateLimitError, a 5xx beyond it CrossWatchServerError, and anything else
        CrossWatchResponseError. A timeout and a connection lost after it was made raise
        outcome-unknown errors; a connection never made raises CrossWatchConnectionError.

        A request that is not `idempotent` (by default, anything but GET and HEAD; a read sent
        as POST says it is) is repeated only when it certainly was not acted on: a 429, or a
        connection never made. After a 5xx, a timeout or a lost connection the service may
        have stored it, and repeating it would store it twice (a second play on Plex, a
        doubled history entry): the outcome-unknown error is raised at once.

        `form_body` sends the fields form-encoded (OAuth endpoints) instead of a JSON body.
        """
        repeatable = method in {"GET", "HEAD"} if idempotent is None else idempotent
        target = url or f"{self.base_url}{path}"
        throttle = self._reads if method == "GET" else self._writes
        merged = {**self._headers, **(headers or {})}
        query = {**self._params, **(params or {})} or None
        last_error: CrossWatchClientError = CrossWatchConnectionError(
            f"{self.service} could not be asked"
        )  # attempts >= 1
        for attempt in range(self._retry.attempts):
            if attempt:
                await self._sleep(self._retry.backoff * 2 ** (attempt - 1))
            await throttle.wait()
            try:
                status, reply_headers, body = await self._send(
                    method,
                    target,
                    params=query,
                    json_body=json_body,
                    form_body=form_body,
                    headers=merged,
                )
            except TimeoutError:
                last_error = CrossWatchTimeoutError(f"{self.service} did not answer in time")
                if not repeatable:
                    raise last_error from None
                continue
            except aiohttp.ClientConnectorError as err:
                # The connection was never made: nothing was sent.
                last_error = CrossWatchConnectionError(f"cannot reach {self.service}: {err}")
                continue
            except aiohttp.ClientError as err:
                # Sent, then the connection broke: the service may have acted on it.
                last_error = CrossWatchConnectionLostError(
                    f"{self.service} sent no usable answer: {err}"
                )
                if not repeatable:
                    raise last_error from err
                continue
            self.requests.record(status)
            if self.quotas is not None:
                self.quotas.record(reply_headers)
            if status in ok or status == 304:
                return await decode_large(Response(status, reply_headers, body))
            error = self._error_for(status, reply_headers, body, throttle)
            if error is None:
                last_error = (
                    CrossWatchRateLimitError(
                        f"{self.service} kept asking to slow down",
                        _retry_after(headers=reply_headers),
                    )
                    if status == 429
                    else CrossWatchServerError(status, f"{self.service} is having trouble")
                )
                if status != 429 and not repeatable:
                    raise last_error
                continue
            raise error
        raise last_error

    async def _send(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, str | int] | None,
        json_body: JsonValue,
        form_body: Mapping[str, str] | None = None,
        headers: Mapping[str, str],
    ) -> tuple[int, dict[str, str], bytes]:
        """One request, following redirects only where the credentials may go.

        aiohttp would follow any redirect with every header we set, and ours carry tokens (a
        Plex token is the user's plex.tv account). So redirects are followed here: to the same
        host and port, over the same scheme or up from http to https. A redirect anywhere else
        is refused with an error that names the new address.
        """
        here, timeout = URL(url), aiohttp.ClientTimeout(total=self._retry.timeout)
        for _ in range(_MAX_HOPS + 1):
            async with self._session.request(
                method, here, params=params, json=json_body, data=form_body,
                headers=headers, timeout=timeout, allow_redirects=False,
            ) as reply:  # fmt: skip
                status, reply_headers = reply.status, dict(reply.headers)
                location = reply.headers.get("Location")
                if status not in _REDIRECTS or location is None:
                    return status, reply_headers, await self._read_body(reply)
            there = here.join(URL(location))
            if self._carries_credentials and not _same_server(here, there):
                raise CrossWatchResponseError(
                    status,
                    f"{self.service} redirected to another server ({there.origin()}); your"
                    " credentials are not sent there. If that is the right address, use it"
                    " as the server URL",
                )
            if status == 303 or (status in (301, 302) and method == "POST"):
                # As browsers do; 307 and 308 keep the method and the body.
                method, json_body, form_body = "GET", None, None
            here, params = there, None  # the new address carries its own query
        raise CrossWatchResponseError(status, f"{self.service} redirected too many times")

    async def _read_body(self, reply: aiohttp.ClientResponse) -> bytes:
        """The body, refused once it passes the size cap (announced or counted)."""
        announced = reply.content_length
        if announced is not None and announced > self._max_body:
            raise self._too_large()
        chunks: list[bytes] = []
        size = 0
        async for chunk in reply.content.iter_chunked(256 * 1024):
            size += len(chunk)
            if size > self._max_body:
                raise self._too_large()
            chunks.append(chunk)
        return b"".join(chunks)

    def _too_large(self) -> CrossWatchInvalidResponseError:
        limit = self._max_body // (1024 * 1024)
        return CrossWatchInvalidResponseError(
            f"{self.service} sent a reply larger than {limit} MB; CrossWatch does not read"
            " more, to keep Home Assistant responsive"
        )

    def _error_for(
        self, status: int, headers: Mapping[str, str], body: bytes, throttle: Throttle
    ) -> CrossWatchClientError | None:
        """The error for a failed reply, or None when it is worth retrying."""
        text = body.decode("utf-8", "replace")
        if status in (401, 403):
            return CrossWatchAuthenticationError(
                f"{self.service} refused the credentials (HTTP {status})"
            )
        if status == 429:
            retry_after = _retry_after(headers)
            if retry_after is not None and retry_after > self._retry.max_retry_after:
                return CrossWatchRateLimitError(
                    f"{self.service} asked to wait {retry_after:.0f} s", retry_after
                )
            wait = retry_after if retry_after is not None else self._retry.backoff
            _LOGGER.debug("%s rate limited; waiting %.1f s", self.service, wait)
            throttle.block_for(wait)
            return None
        if status >= 500:
            return None
        return CrossWatchResponseError(status, f"{self.service} refused the request", text)


def _same_server(here: URL, there: URL) -> bool:
    """Whether a redirect stays with the server we were given (an upgrade to https may)."""
    if there.host != here.host:
        return False
    if there.scheme == here.scheme:
        return there.port == here.port
    # http → https on the same host: the default ports, or the same explicit one.
    return (here.scheme, there.scheme) == ("http", "https") and (
        there.port == here.port or (here.port, there.port) == (80, 443)
    )


def _retry_after(headers: Mapping[str, str]) -> float | None:
    """Retry-After in seconds, when the service sent a number of seconds."""
    value = header(headers, "Retry-After")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


async def speaks_tls(session: aiohttp.ClientSession, url: str, *, within: float) -> bool:
    """Whether the server at an https `url` completes a TLS handshake.

    What is sent is a GET of the address itself, without credentials. A reply of any status
    counts, and so does a certificate the session will not trust: a server speaks TLS there,
    and trusting it is a choice for the user, not a reason to fall back to plain http. A
    refused or unresolvable connection, a timeout, or a peer that does not speak TLS (a plain
    http port answers a handshake with nonsense) does not count.
    """
    try:
        async with session.get(
            url, allow_redirects=False, timeout=aiohttp.ClientTimeout(total=within)
        ):
            return True
    except aiohttp.ClientConnectorCertificateError:
        return True
    except TimeoutError, aiohttp.ClientConnectorError, aiohttp.InvalidURL:
        return False
    except aiohttp.ClientError:
        return True  # the handshake was made; only the HTTP exchange after it broke
