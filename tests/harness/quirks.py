"""The one table of quirks the harness can switch on: add a simulator's new quirk here.

Each `Quirk` says what it does, how long it lasts, and how each service that has it switches it
(`switch(service, strength)`, strength 0 = off). Where a simulator offers the quirk itself, its
own knob is used; otherwise the harness's fault gate (gate.py) does it at the HTTP level.

Transient faults hit a bounded number of requests (1-3 scaled by strength), lags a bounded
number of reads: a service that lies forever is indistinguishable from the user's own change.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from tests.simulators.anilist import Fault as AniListFault

from .gate import Fault, FaultKind
from .services import (
    AniListService,
    JellyfinService,
    PlexService,
    Service,
    SimklService,
    Svc,
    TraktService,
)

type Switch = Callable[[Service, int], None]


class Lasting(StrEnum):
    """How long a quirk stays once switched on."""

    REQUESTS = "a bounded number of requests"
    READS = "a bounded number of reads after a write"
    UNTIL_OFF = "until switched off"
    ONCE = "happens once"


@dataclass(frozen=True, slots=True)
class Quirk:
    """A real-world misbehaviour and how each service that can show it switches it."""

    name: str
    what: str
    lasting: Lasting
    switch: Mapping[Svc, Switch]


# Simulators' own faults that answer a list read with nothing: when one fires on a read of a
# list that held items, that read was partial whatever its reply claimed.
TRUNCATING_NATIVE: Final = frozenset({"empty_replies", "empty_bodies", "empty_collections"})


def _gate(kind: FaultKind, *, skip: int = 0, scale: int = 1, retry_after: int = 1) -> Switch:
    """A fault of the harness's gate: `strength * scale` requests, after `skip` matching ones."""

    def switch(service: Service, strength: int) -> None:
        service.gate.faults = [f for f in service.gate.faults if f.kind is not kind]
        if strength:
            service.gate.add(Fault(kind, strength * scale, skip, retry_after))

    return switch


def _trakt(switch: Callable[[TraktService, int], None]) -> Switch:
    def typed(service: Service, strength: int) -> None:
        assert isinstance(service, TraktService)
        switch(service, strength)

    return typed


def _simkl(switch: Callable[[SimklService, int], None]) -> Switch:
    def typed(service: Service, strength: int) -> None:
        assert isinstance(service, SimklService)
        switch(service, strength)

    return typed


def _plex(switch: Callable[[PlexService, int], None]) -> Switch:
    def typed(service: Service, strength: int) -> None:
        assert isinstance(service, PlexService)
        switch(service, strength)

    return typed


def _jellyfin(switch: Callable[[JellyfinService, int], None]) -> Switch:
    def typed(service: Service, strength: int) -> None:
        assert isinstance(service, JellyfinService)
        switch(service, strength)

    return typed


def _anilist(switch: Callable[[AniListService, int], None]) -> Switch:
    def typed(service: Service, strength: int) -> None:
        assert isinstance(service, AniListService)
        switch(service, strength)

    return typed


def _script(fault: AniListFault, scale: int) -> Switch:
    def switch(service: AniListService, strength: int) -> None:
        service.state.quirks.script.clear()
        for _ in range(strength * scale):
            service.state.quirks.script.append(fault)

    return _anilist(switch)


def _trakt_lag(service: TraktService, strength: int) -> None:
    service.sim.quirks.visible_after_reads = strength
    # The simulator freezes a feature once per lifetime: start a new lag with the next write.
    service.sim._lagging.clear()


def _trakt_unrelated(service: TraktService, strength: int) -> None:
    if strength:
        service.sim._moved("movies", "watchlisted_at")
        service.sim._moved("movies", "watched_at")


def _simkl_unrelated(service: SimklService, strength: int) -> None:
    if strength:
        kind = "anime" if service.anime else "movies"
        service.state.tick()
        service.state.touch(kind, "plantowatch")
        service.state.touch(kind, "removed_from_list")


def _trakt_storm(service: TraktService, strength: int) -> None:
    # Strength 3 asks for two minutes: beyond what the client waits, so the run is told.
    service.sim.quirks.retry_after = 120 if strength == 3 else 1
    service.sim.quirks.rate_limit_storm = strength + (1 if strength == 3 else 0)


def _simkl_storm(service: SimklService, strength: int) -> None:
    service.state.quirks.retry_after = "120" if strength == 3 else "1"
    service.state.quirks.rate_limit_storm = strength + (1 if strength == 3 else 0)


def _simkl_token(service: SimklService, strength: int) -> None:
    _gate(FaultKind.REVOKE, skip=2 * strength)(service, strength)
    if not strength:
        service.state.quirks.token_revoked = False


def _plex_token(service: PlexService, strength: int) -> None:
    _gate(FaultKind.REVOKE, skip=2 * strength)(service, strength)
    if not strength:
        service.sim.quirks.revoked = False


def _jellyfin_token(service: JellyfinService, strength: int) -> None:
    _gate(FaultKind.REVOKE, skip=2 * strength)(service, strength)
    if not strength:
        service.state.quirks.token_revoked = False


def _anilist_token(service: AniListService, strength: int) -> None:
    quirks = service.state.quirks
    quirks.token_expires_after = service.state.requests + 2 * strength if strength else None


def _set[S](attribute: str, wrap: Callable[[Callable[[S, int], None]], Switch]) -> Switch:
    """A simulator's own counter or flag, through the state object (`sim` or `state`)."""

    def switch(service: S, strength: int) -> None:
        state = getattr(service, "sim", None) or getattr(service, "state")  # noqa: B009
        current = getattr(state.quirks, attribute)
        setattr(state.quirks, attribute, bool(strength) if isinstance(current, bool) else strength)

    return wrap(switch)


QUIRKS: Final[tuple[Quirk, ...]] = (
    Quirk(
        "empty_200",
        "a list read answers an empty 200 that claims to be everything",
        Lasting.REQUESTS,
        {
            Svc.TRAKT: _set("empty_replies", _trakt),
            Svc.SIMKL: _set("empty_bodies", _simkl),
            Svc.ANILIST: _set("empty_collections", _anilist),
            Svc.PLEX: _gate(FaultKind.EMPTY),
            Svc.JELLYFIN: _gate(FaultKind.EMPTY),
        },
    ),
    Quirk(
        "tiny_list",
        "a list read answers a quarter of the list, its totals saying that is all",
        Lasting.REQUESTS,
        dict.fromkeys(Svc, _gate(FaultKind.TINY)),
    ),
    Quirk(
        "malformed_200",
        "a list read answers 200 with `{}`, `[]` or a cut body where a list belongs",
        Lasting.REQUESTS,
        {
            Svc.TRAKT: _gate(FaultKind.MALFORMED),
            Svc.SIMKL: _set("truncated_bodies", _simkl),
            Svc.PLEX: _gate(FaultKind.MALFORMED),
            Svc.JELLYFIN: _gate(FaultKind.MALFORMED),
            Svc.ANILIST: _gate(FaultKind.MALFORMED),
        },
    ),
    Quirk(
        "stale_body_after_write",
        "reads after our write serve the body from before it",
        Lasting.READS,
        {Svc.SIMKL: _set("stale_reads_after_write", _simkl)},
    ),
    Quirk(
        "stale_etag_304",
        "after our watchlist write, any If-None-Match gets 304",
        Lasting.UNTIL_OFF,
        {Svc.TRAKT: _set("stale_etag_after_write", _trakt)},
    ),
    Quirk(
        "frozen_activities",
        "the activity timestamps stop advancing",
        Lasting.UNTIL_OFF,
        {
            Svc.TRAKT: _set("frozen_activities", _trakt),
            Svc.SIMKL: _set("frozen_activities", _simkl),
        },
    ),
    Quirk(
        "unrelated_activity",
        "the activity timestamps move for a change that is not in the list",
        Lasting.ONCE,
        {Svc.TRAKT: _trakt(_trakt_unrelated), Svc.SIMKL: _simkl(_simkl_unrelated)},
    ),
    Quirk(
        "visible_after_reads",
        "our write shows only after N more reads",
        Lasting.READS,
        {
            Svc.TRAKT: _trakt(_trakt_lag),
            Svc.SIMKL: _set("visible_after_reads", _simkl),
            Svc.PLEX: _set("visible_after_reads", _plex),
            Svc.JELLYFIN: _set("visible_after_reads", _jellyfin),
            Svc.ANILIST: _set("visibility_lag", _anilist),
        },
    ),
    Quirk(
        "lost_reply",
        "the service commits our write, then the reply is lost (5xx)",
        Lasting.REQUESTS,
        {
            Svc.TRAKT: _set("write_errors", _trakt),
            Svc.SIMKL: _gate(FaultKind.LOST_REPLY),
            Svc.PLEX: _gate(FaultKind.LOST_REPLY),
            Svc.JELLYFIN: _gate(FaultKind.LOST_REPLY),
            Svc.ANILIST: _gate(FaultKind.LOST_REPLY),
        },
    ),
    Quirk(
        "ok_only",
        "writes answer `ok: true` and nothing per item",
        Lasting.UNTIL_OFF,
        {Svc.TRAKT: _set("ok_only_replies", _trakt), Svc.SIMKL: _set("ok_only_replies", _simkl)},
    ),
    Quirk(
        "half_ok",
        "a batch write stores every other item and answers `ok: true`",
        Lasting.REQUESTS,
        {Svc.TRAKT: _gate(FaultKind.HALF_OK), Svc.SIMKL: _gate(FaultKind.HALF_OK)},
    ),
    Quirk(
        "rate_limited",
        "429 with Retry-After (strength 3: two minutes, longer than the client waits)",
        Lasting.REQUESTS,
        {
            Svc.TRAKT: _trakt(_trakt_storm),
            Svc.SIMKL: _simkl(_simkl_storm),
            Svc.ANILIST: _script(AniListFault.RATE_LIMITED, 2),
            Svc.PLEX: _gate(FaultKind.RATE_LIMITED, scale=2),
            Svc.JELLYFIN: _gate(FaultKind.RATE_LIMITED, scale=2, retry_after=120),
        },
    ),
    Quirk(
        "server_error_mid_read",
        "a 503 on a page (or category, or bucket) after the first; 4 of them outlast retries",
        Lasting.REQUESTS,
        {
            Svc.TRAKT: _gate(FaultKind.SERVER_ERROR, skip=1, scale=2),
            Svc.SIMKL: _gate(FaultKind.SERVER_ERROR, skip=1, scale=2),
            Svc.PLEX: _gate(FaultKind.SERVER_ERROR, scale=2),
            Svc.JELLYFIN: _gate(FaultKind.SERVER_ERROR, scale=2),
            Svc.ANILIST: _script(AniListFault.SERVER_ERROR, 2),
        },
    ),
    Quirk(
        "token_expires",
        "the access token stops working a few requests into the run",
        Lasting.UNTIL_OFF,
        {
            Svc.TRAKT: _gate(FaultKind.REVOKE, skip=2),
            Svc.SIMKL: _simkl(_simkl_token),
            Svc.PLEX: _plex(_plex_token),
            Svc.JELLYFIN: _jellyfin(_jellyfin_token),
            Svc.ANILIST: _anilist(_anilist_token),
        },
    ),
)
QUIRK_BY_NAME: Final = {quirk.name: quirk for quirk in QUIRKS}


def all_off(service: Service) -> None:
    """Every quirk of the table off on `service`, and nothing left in its gate."""
    for quirk in QUIRKS:
        switch = quirk.switch.get(service.svc)
        if switch is not None and quirk.lasting is not Lasting.ONCE:
            switch(service, 0)
    service.gate.clear()


def choices(services: tuple[Svc, ...]) -> list[tuple[Svc, str]]:
    """Every (service, quirk name) the table offers for these services, in table order."""
    return [(svc, q.name) for q in QUIRKS for svc in services if svc in q.switch]
