"""HTTP faults no simulator offers, as an aiohttp middleware in front of a simulator's app.

A `Gate` holds a short script of faults. Each fault targets list reads, writes, or any request,
and applies to a bounded number of matching requests (a service that lies forever is
indistinguishable from the user's own change). Read faults let the simulator answer first and
then rewrite its reply, so the gate knows whether the rewrite hid items that were there: such a
read *lied*, and the run that made it had a partial read whatever the reply claimed.

Write faults let the simulator commit the write first (a lost reply), or commit only half of a
batch and answer `{"ok": true}`.
"""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import StrEnum
import hashlib
import json
from typing import Any, Protocol

from aiohttp import web
from aiohttp.typedefs import Middleware

type Json = Any
type Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class FaultKind(StrEnum):
    """What the gate does to a request it faults."""

    EMPTY = "an empty 200"
    TINY = "a tiny list whose headers claim it is complete"
    MALFORMED = "a malformed 200"
    SERVER_ERROR = "a 503 in mid-read"
    RATE_LIMITED = "a 429 with Retry-After"
    LOST_REPLY = "a 502 after the service committed the write"
    HALF_OK = "ok: true with half the items dropped"
    REVOKE = "the token stops working mid-run"


class Target(StrEnum):
    """Which requests a fault may hit."""

    READ = "list read"
    LATER_PAGE = "list read past the first page"
    WRITE = "write"
    ANY = "any request"


TARGETS = {
    FaultKind.EMPTY: Target.READ,
    FaultKind.TINY: Target.READ,
    FaultKind.MALFORMED: Target.READ,
    FaultKind.SERVER_ERROR: Target.LATER_PAGE,
    FaultKind.RATE_LIMITED: Target.ANY,
    FaultKind.LOST_REPLY: Target.WRITE,
    FaultKind.HALF_OK: Target.WRITE,
    FaultKind.REVOKE: Target.ANY,
}


@dataclass
class Fault:
    """One scripted fault: it lets `skip` matching requests through, then hits `left` of them."""

    kind: FaultKind
    left: int
    skip: int = 0
    retry_after: int = 1
    keep: int | None = None  # a tiny list's length (default: a quarter of the real one)


@dataclass(frozen=True, slots=True)
class Fired:
    """A fault that hit a request: what, where, and whether it hid items that were there."""

    kind: FaultKind
    path: str
    during: str  # "read" or "write": what the provider was doing (see Gate.phase)
    lied: bool


class Shape(Protocol):
    """How one service's requests and replies look, for the faults to recognise and rewrite."""

    def is_list_read(self, request: web.Request, body: Json) -> bool:
        """Whether the request reads a list of the user's items."""

    def is_later_page(self, request: web.Request, body: Json) -> bool:
        """Whether the request reads a list past its first page (or after another list)."""

    def is_write(self, request: web.Request, body: Json) -> bool:
        """Whether the request changes the user's items."""

    def rows(self, reply: Json) -> int:
        """How many of the user's items a list reply holds."""

    def rows_beyond(self, request: web.Request, reply: Json) -> int:
        """How many of the user's items the list holds on pages after this reply.

        A cut rewrites the totals to say the list ends with it, so a client never asks for
        those pages: the cut hides them too, even when this page held none of the user's items.
        """

    def cut(self, reply: Json, keep: int) -> Json:
        """The reply with only its first `keep` items, its totals saying that is all."""

    def malformed(self, reply: Json) -> Json:
        """The reply broken where a list belongs."""

    def halve(self, body: Json) -> Json | None:
        """A write body with every other item dropped (None: the service has no batches)."""

    def ok_reply(self) -> web.Response:
        """What the service answers a write with when it says nothing per item."""

    def revoke(self) -> None:
        """Make the user's token stop working."""


_HEADERS_TO_RECOMPUTE = ("content-length", "content-type", "etag")


@dataclass
class Gate:
    """The faults waiting for one simulator's requests, and what fired."""

    shape: Shape
    faults: list[Fault] = field(default_factory=list)
    fired: list[Fired] = field(default_factory=list)
    phase: str = "read"  # set by the harness's provider wrapper around reads and writes
    # Counts that simulators' own quirks decremented: (name, before) per request, to log them.
    native: Callable[[], dict[str, int]] = dict
    native_fired: list[tuple[str, str, str]] = field(default_factory=list)

    def add(self, fault: Fault) -> None:
        """Script one more fault."""
        self.faults.append(fault)

    def clear(self) -> None:
        """No faults any more."""
        self.faults.clear()

    def _take(self, request: web.Request, body: Json) -> Fault | None:
        matches = {
            Target.READ: self.shape.is_list_read(request, body),
            Target.LATER_PAGE: self.shape.is_later_page(request, body),
            Target.WRITE: self.shape.is_write(request, body),
            Target.ANY: True,
        }
        for fault in self.faults:
            if not matches[TARGETS[fault.kind]]:
                continue
            if fault.skip > 0:
                fault.skip -= 1
                return None
            fault.left -= 1
            if fault.left <= 0:
                self.faults.remove(fault)
            return fault
        return None

    def middleware(self) -> Middleware:
        """The aiohttp middleware; put it first, so it sees requests before the simulator."""

        @web.middleware
        async def gate(request: web.Request, handler: Handler) -> web.StreamResponse:
            body: Json = None
            if request.can_read_body and request.content_type == "application/json":
                try:
                    body = await request.json()
                except ValueError:
                    body = None
            before = self.native()
            fault = self._take(request, body)
            reply = await self._faulted(fault, request, body, handler)
            after = self.native()
            for name, count in before.items():
                if after.get(name, count) < count:
                    self.native_fired.append((name, request.path, self.phase))
            return reply

        return gate

    async def _faulted(
        self, fault: Fault | None, request: web.Request, body: Json, handler: Handler
    ) -> web.StreamResponse:
        if fault is None:
            return await handler(request)
        kind = fault.kind
        if kind is FaultKind.RATE_LIMITED:
            self.fired.append(Fired(kind, request.path, self.phase, lied=False))
            return web.json_response(
                {"error": "rate limited"},
                status=429,
                headers={"Retry-After": str(fault.retry_after)},
            )
        if kind is FaultKind.REVOKE:
            self.shape.revoke()
            self.fired.append(Fired(kind, request.path, self.phase, lied=False))
            return await handler(request)
        if kind is FaultKind.SERVER_ERROR:
            # The service fails before reading anything: nothing committed, nothing read.
            self.fired.append(Fired(kind, request.path, self.phase, lied=False))
            return web.json_response({"error": "overloaded"}, status=503)
        if kind is FaultKind.LOST_REPLY:
            committed = await handler(request)
            self.fired.append(Fired(kind, request.path, self.phase, lied=False))
            if committed.status >= 400:
                return committed
            return web.Response(status=502, text="<html>502 Bad Gateway</html>")
        if kind is FaultKind.HALF_OK:
            halved = self.shape.halve(body)
            if halved is None:
                return await handler(request)
            # The service stores only what the halved body names, and answers "ok".
            request._read_bytes = json.dumps(halved).encode()
            committed = await handler(request)
            self.fired.append(Fired(kind, request.path, self.phase, lied=False))
            return committed if committed.status >= 400 else self.shape.ok_reply()
        return await self._rewritten(fault, request, handler)

    async def _rewritten(
        self, fault: Fault, request: web.Request, handler: Handler
    ) -> web.StreamResponse:
        kind = fault.kind
        # Ask for the full body (no If-None-Match), so the gate knows what the truth held.
        if "If-None-Match" in request.headers:
            headers = {k: v for k, v in request.headers.items() if k.lower() != "if-none-match"}
            request = request.clone(headers=headers)
        real = await handler(request)
        if real.status != 200 or not isinstance(real, web.Response) or real.body is None:
            return real
        raw = real.body
        text = raw.decode() if isinstance(raw, bytes) else str(raw)
        try:
            reply: Json = json.loads(text) if text.strip() else None
        except ValueError:
            return real  # the simulator's own quirk already broke this body: leave it broken
        rows = self.shape.rows(reply)
        beyond = self.shape.rows_beyond(request, reply)
        if kind is FaultKind.EMPTY:
            new, lied = self.shape.cut(reply, 0), rows + beyond > 0
        elif kind is FaultKind.TINY:
            keep = min(rows, fault.keep if fault.keep is not None else max(1, rows // 4))
            new = self.shape.cut(reply, keep)
            # What the cut kept of the rows that count (Plex's watched ones), not how many rows
            # it kept: a cut of Plex's library keeps its first rows, watched or not.
            lied = self.shape.rows(new) < rows or beyond > 0
        else:
            new, lied = self.shape.malformed(reply), rows > 0
        self.fired.append(Fired(kind, request.path, self.phase, lied=lied))
        encoded = json.dumps(new)
        kept = {k: v for k, v in real.headers.items() if k.lower() not in _HEADERS_TO_RECOMPUTE}
        kept |= _recount(
            real.headers, self.shape.rows(new) if kind is not FaultKind.MALFORMED else 0
        )
        # A validator of the body actually sent, as a real server would compute it.
        kept["ETag"] = f'"{hashlib.sha256(encoded.encode()).hexdigest()[:20]}"'
        return web.Response(text=encoded, content_type="application/json", headers=kept)


def _recount(headers: Any, count: int) -> dict[str, str]:
    """Pagination headers that agree with a rewritten body (Trakt's and Plex's)."""
    fixed: dict[str, str] = {}
    for name in headers:
        lower = name.lower()
        if lower == "x-pagination-item-count":
            fixed[name] = str(count)
        elif lower == "x-pagination-page-count":
            fixed[name] = "1"
        elif lower == "x-plex-container-total-size":
            fixed[name] = str(count)
    return fixed
