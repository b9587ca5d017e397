"""The five services the harness syncs: each one's simulator, fault gate, user and real provider.

A `Service` owns one simulator state served on loopback for a whole test. Between examples the
state is renewed in place (the served app keeps its reference to the same object), so no server
is restarted per example. Each service knows how the user edits it directly (the simulator's
seeding calls: what a user does on the website or in a player), what it truly holds, and how to
build its real provider and client afresh, as Home Assistant does on a restart.
"""

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum

import aiohttp
from aiohttp import web

from custom_components.crosswatch.clients.anilist.client import (
    RATE_WINDOW,
    REQUESTS_PER_MINUTE,
    AniListClient,
    tokens_from_pin,
)
from custom_components.crosswatch.clients.http import RetryPolicy, Throttle
from custom_components.crosswatch.clients.mediabrowser.client import (
    JELLYFIN,
    DeviceInfo,
    MediaBrowserClient,
)
from custom_components.crosswatch.clients.plex.auth import PlexApp
from custom_components.crosswatch.clients.plex.client import PlexClient
from custom_components.crosswatch.clients.simkl.client import SimklApi
from custom_components.crosswatch.clients.tokens import Tokens
from custom_components.crosswatch.clients.trakt.auth import TraktApp
from custom_components.crosswatch.clients.trakt.client import TraktClient
from custom_components.crosswatch.engine.capabilities import Capabilities
from custom_components.crosswatch.engine.cursor import Checkpoint
from custom_components.crosswatch.engine.items import MediaItem
from custom_components.crosswatch.engine.payloads import Feature
from custom_components.crosswatch.engine.plan import Action
from custom_components.crosswatch.engine.provider import (
    AnyRead,
    CountWitness,
    Provider,
    WriteRequest,
    WriteResult,
)
from custom_components.crosswatch.engine.snapshot import Snapshot
from custom_components.crosswatch.providers.anilist_provider import AniListProvider
from custom_components.crosswatch.providers.jellyfin import JellyfinProvider
from custom_components.crosswatch.providers.mediabrowser import MediaBrowserAccount
from custom_components.crosswatch.providers.plex import PlexProvider
from custom_components.crosswatch.providers.simkl import SimklAccount, SimklProvider
from custom_components.crosswatch.providers.trakt import TraktProvider
from tests.reads import unpacked
from tests.simulators import (
    anilist as anilist_sim,
    mediabrowser as mb_sim,
    plex as plex_sim,
    simkl as simkl_sim,
    trakt as trakt_sim,
)
from tests.simulators.openapi import RECORDED

from .catalogue import (
    CATALOGUE_ANIME,
    CATALOGUE_FILMS,
    simkl_anime_id,
    simkl_film_id,
    trakt_id,
)
from .gate import Gate, Json

W, H = Feature.WATCHLIST, Feature.HISTORY
# Fake time starts here for every service's clients; the harness moves it on by hours.
START = datetime(2026, 11, 1, tzinfo=UTC)
# Small pages, so that a 12-title library spans pages and a fault can hit mid-read.
PAGE_SIZE = 5
RETRY = RetryPolicy(backoff=0)


class Svc(StrEnum):
    """A service, as pairs and the quirk table name it."""

    TRAKT = "trakt"
    SIMKL = "simkl"
    PLEX = "plex"
    JELLYFIN = "jellyfin"
    ANILIST = "anilist"


class FakeTime:
    """Monotonic seconds that move only when a client sleeps or the harness moves them."""

    def __init__(self) -> None:
        self.now = 1_000.0

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds


@dataclass(frozen=True, slots=True)
class ReadRecord:
    """One read a provider made for a run: was it complete, did it fail, what faults it met."""

    feature: Feature
    complete: bool
    failed: bool
    size: int = 0  # items the read showed
    items: tuple[MediaItem, ...] = ()  # the items it showed
    fired: tuple[int, int] = (0, 0)  # the gate's faults that fired during it (a slice)
    native: tuple[int, int] = (0, 0)  # the simulator's own faults that fired during it


@dataclass
class Observed:
    """A real provider, watched: which reads it made, and the gate told what it is doing.

    Nothing is faked or changed: every call goes to the real provider as it is.
    """

    inner: Provider
    gate: Gate
    reads: list[ReadRecord] = field(default_factory=list)

    @property
    def key(self) -> str:
        return self.inner.key

    @property
    def name(self) -> str:
        return self.inner.name

    @property
    def capabilities(self) -> Capabilities:
        return self.inner.capabilities

    @property
    def requests_made(self) -> int:
        return self.inner.requests_made

    async def health(self) -> None:
        await self.inner.health()

    async def read(self, feature: Feature, checkpoint: Checkpoint | None) -> AnyRead:
        self.gate.phase = "read"
        fired, native = len(self.gate.fired), len(self.gate.native_fired)
        try:
            read = await self.inner.read(feature, checkpoint)
        except BaseException:
            self.reads.append(ReadRecord(feature, complete=False, failed=True))
            raise
        seen = unpacked(read).snapshot  # what the read shows; the engine gets it as it came
        self.reads.append(
            ReadRecord(
                feature,
                seen.complete,
                failed=False,
                size=len(seen),
                items=tuple(entry.item for entry in seen.entries.values()),
                fired=(fired, len(self.gate.fired)),
                native=(native, len(self.gate.native_fired)),
            )
        )
        return read

    async def count_agrees(self, snapshot: Snapshot) -> bool | None:
        # The service's own count, where the provider asks one (CountWitness); None as for a
        # provider that keeps none. Without this the engine would never see the witness.
        if not isinstance(self.inner, CountWitness):
            return None
        self.gate.phase = "read"
        return await self.inner.count_agrees(snapshot)

    def forget_reads(self, feature: Feature | None = None, *, validated: bool = False) -> None:
        self.inner.forget_reads(feature, validated=validated)

    async def write(
        self, feature: Feature, action: Action, requests: Sequence[WriteRequest]
    ) -> Sequence[WriteResult]:
        self.gate.phase = "write"
        try:
            return await self.inner.write(feature, action, requests)
        finally:
            self.gate.phase = "read"


def renew(state: object, fresh: object) -> None:
    """Make `state` a fresh simulator state in place: the served app keeps pointing at it."""
    vars(state).clear()
    vars(state).update(vars(fresh))


def _query(request: web.Request) -> dict[str, str]:
    return {k.lower(): v for k, v in request.query.items()}


class Service(ABC):
    """One simulated service, its gate and its user."""

    svc: Svc
    gate: Gate

    def __init__(self) -> None:
        self.time = FakeTime()
        self.anime = False  # whether this service's titles are the catalogue's anime
        self.titles = 0  # how many catalogue titles the library holds (Plex, Jellyfin)

    @abstractmethod
    def apps(self) -> dict[str, web.Application]:
        """The apps to serve, by name; the gate is already their first middleware."""

    @abstractmethod
    def reset(self, *, anime: bool, titles: int) -> None:
        """A fresh simulator: the catalogue, the user, no list entries, no quirks."""

    @abstractmethod
    def holds(self, feature: Feature) -> set[int]:
        """Catalogue positions the user truly holds (watchlist: listed; history: watched)."""

    def before_user_edit(self) -> None:
        """What the service does before the user edits it by hand (see World.edit).

        Services that model eventual consistency by applying our writes late apply them now:
        the service orders writes as it accepted them, so the user's edit comes after ours
        (the lag of what reads show is unchanged until then).
        """
        return  # most simulators apply our writes at once and lag only what reads show

    @abstractmethod
    def add(self, feature: Feature, index: int, when: datetime) -> None:
        """The user lists (watchlist) or plays (history) a title on the service itself."""

    @abstractmethod
    def remove(self, feature: Feature, index: int) -> None:
        """The user unlists (watchlist) or unplays (history) a title on the service itself."""

    @abstractmethod
    def provider(self, session: aiohttp.ClientSession, urls: dict[str, str]) -> Provider:
        """A new real provider on a new client: caches cold, as after a restart."""

    def observed(self, session: aiohttp.ClientSession, urls: dict[str, str]) -> Observed:
        """The real provider, watched (see Observed)."""
        return Observed(self.provider(session, urls), self.gate)

    def clear_recordings(self) -> None:
        """Forget the requests the apps recorded for conformance tests (they only grow)."""
        for app in self.apps().values():
            app[RECORDED].clear()

    def pass_time(self, seconds: float) -> None:
        """Let clocks move on between runs (read reuse windows lapse, as they would)."""
        self.time.now += seconds


def _gated(app: web.Application, gate: Gate) -> web.Application:
    app.middlewares.insert(0, gate.middleware())
    return app


# -- Trakt ---------------------------------------------------------------------------------------


class TraktShape:
    """Trakt's lists are JSON arrays, one category per request; writes are sync bodies."""

    def __init__(self, service: TraktService) -> None:
        self.service = service

    def is_list_read(self, request: web.Request, body: Json) -> bool:
        return (
            request.method == "GET"
            and request.path.count("/") == 3
            and (request.path.startswith(("/sync/watchlist/", "/sync/history/", "/sync/ratings/")))
        )

    def is_later_page(self, request: web.Request, body: Json) -> bool:
        # One page holds 250: "mid-read" is a category after the first (see the quirk's skip).
        return self.is_list_read(request, body)

    def is_write(self, request: web.Request, body: Json) -> bool:
        return request.method == "POST" and request.path.startswith("/sync/")

    def rows(self, reply: Json) -> int:
        return len(reply) if isinstance(reply, list) else 0

    def rows_beyond(self, request: web.Request, reply: Json) -> int:
        # Every row of this service's list replies is one of the user's items: a first page
        # that holds none has no later pages.
        return 0

    def cut(self, reply: Json, keep: int) -> Json:
        return reply[:keep] if isinstance(reply, list) else []

    def malformed(self, reply: Json) -> Json:
        return {}

    def halve(self, body: Json) -> Json | None:
        if not isinstance(body, dict):
            return None
        return {k: v[::2] if isinstance(v, list) else v for k, v in body.items()}

    def ok_reply(self) -> web.Response:
        return web.json_response({"ok": True}, status=201)

    def revoke(self) -> None:
        self.service.sim.revoke_access_tokens()


class TraktService(Service):
    svc = Svc.TRAKT

    def __init__(self) -> None:
        super().__init__()
        self.sim = trakt_sim.TraktSim(watchlist_limit=1000)
        self.sim.rate_clock = self.time.clock  # Trakt's rate limits count on the client's clock
        self.gate = Gate(TraktShape(self), native=self._native)
        self._app = _gated(trakt_sim.make_app(self.sim), self.gate)
        self.tokens: Tokens | None = None
        self.user_plays: set[tuple[int, str]] = set()

    def _native(self) -> dict[str, int]:
        q = self.sim.quirks
        return {"empty_replies": q.empty_replies, "write_errors": q.write_errors,
                "rate_limit_storm": q.rate_limit_storm}  # fmt: skip

    def apps(self) -> dict[str, web.Application]:
        return {"trakt": self._app}

    def reset(self, *, anime: bool, titles: int) -> None:
        renew(self.sim, trakt_sim.TraktSim(watchlist_limit=1000))
        self.sim.issued_at = self.sim._simulated_now
        self.sim.rate_clock = self.time.clock  # Trakt's rate limits count on the client's clock
        for i, film in enumerate(CATALOGUE_FILMS):
            self.sim.add_movie(trakt_id(i), film.title, film.year, imdb=film.imdb, tmdb=film.tmdb)
        self.gate.clear()
        self.tokens = Tokens.from_oauth_reply(self.sim.issue_tokens())
        self.user_plays = set()
        self.anime, self.titles = anime, titles

    def holds(self, feature: Feature) -> set[int]:
        rows = self.sim.watchlist if feature is W else self.sim.history
        return {row["ref"][1] - 1 for row in rows if row["ref"][0] == "movie"}

    def plays(self) -> dict[int, list[str]]:
        """Every play of every catalogue film, as Trakt stores them."""
        found: dict[int, list[str]] = {}
        for play in self.sim.history:
            found.setdefault(play["ref"][1] - 1, []).append(play["watched_at"])
        return found

    def add(self, feature: Feature, index: int, when: datetime) -> None:
        if feature is W:
            # Dated by the service when the user lists it, on a clock that agrees with ours.
            self.sim.seed_watchlist("movie", trakt_id(index), listed_at=when)
        else:
            self.sim.seed_play("movie", trakt_id(index), when)
            self.user_plays.add((index, trakt_sim.stamp(when)))

    def remove(self, feature: Feature, index: int) -> None:
        if feature is W:
            self.sim.unlist("movie", trakt_id(index))
            return
        ref = ("movie", trakt_id(index))
        self.sim.history = [p for p in self.sim.history if p["ref"] != ref]
        self.sim._moved("movies", "watched_at")

    def provider(self, session: aiohttp.ClientSession, urls: dict[str, str]) -> Provider:
        assert self.tokens is not None, "reset() first"

        async def keep(tokens: Tokens) -> None:
            # Home Assistant persists a refreshed pair before using it; a restart reloads it.
            self.tokens = tokens

        sim = self.sim
        client = TraktClient(
            session, TraktApp(trakt_sim.CLIENT_ID, trakt_sim.CLIENT_SECRET), self.tokens, keep,
            base_url=urls["trakt"], retry=RETRY, sleep=self.time.sleep, clock=self.time.clock,
            now=lambda: sim._clock.timestamp(),  # noqa: PLW0108 - the clock object changes
        )  # fmt: skip
        return TraktProvider(client, slug=sim.slug, now=self.time.clock)


# -- SIMKL ---------------------------------------------------------------------------------------


class SimklShape:
    """SIMKL's lists are objects of bucket arrays, one bucket per request (`null`: none)."""

    def __init__(self, service: SimklService) -> None:
        self.service = service

    def is_list_read(self, request: web.Request, body: Json) -> bool:
        return (request.method == "GET" and request.path.startswith("/sync/all-items")) or (
            request.method == "POST" and request.path.startswith("/sync/ratings/")
        )

    def is_later_page(self, request: web.Request, body: Json) -> bool:
        # One request per bucket: "mid-read" is a bucket after the first (see the quirk's skip).
        return self.is_list_read(request, body)

    def is_write(self, request: web.Request, body: Json) -> bool:
        return request.method == "POST" and request.path in (
            "/sync/add-to-list", "/sync/history", "/sync/history/remove", "/sync/ratings",
            "/sync/ratings/remove",
        )  # fmt: skip

    def rows(self, reply: Json) -> int:
        if not isinstance(reply, dict):
            return 0
        return sum(len(v) for v in reply.values() if isinstance(v, list))

    def rows_beyond(self, request: web.Request, reply: Json) -> int:
        # Every row of this service's list replies is one of the user's items: a first page
        # that holds none has no later pages.
        return 0

    def cut(self, reply: Json, keep: int) -> Json:
        if not isinstance(reply, dict):
            return None
        cut = {k: v[:keep] for k, v in reply.items() if isinstance(v, list)}
        return cut if any(cut.values()) else None

    def malformed(self, reply: Json) -> Json:
        return []

    def halve(self, body: Json) -> Json | None:
        if not isinstance(body, dict):
            return None
        return {k: v[::2] if isinstance(v, list) else v for k, v in body.items()}

    def ok_reply(self) -> web.Response:
        return web.json_response({"ok": True})

    def revoke(self) -> None:
        self.service.state.quirks.token_revoked = True


class SimklService(Service):
    svc = Svc.SIMKL

    def __init__(self) -> None:
        super().__init__()
        self.state = simkl_sim.SimklState()
        self.gate = Gate(SimklShape(self), native=self._native)
        self._app = _gated(simkl_sim.simkl_app(self.state), self.gate)

    def _native(self) -> dict[str, int]:
        q = self.state.quirks
        return {"empty_bodies": q.empty_bodies, "server_errors": q.server_errors,
                "truncated_bodies": q.truncated_bodies, "rate_limit_storm": q.rate_limit_storm}  # fmt: skip

    def apps(self) -> dict[str, web.Application]:
        return {"simkl": self._app}

    def reset(self, *, anime: bool, titles: int) -> None:
        renew(self.state, simkl_sim.SimklState())
        self.state.now = START
        for i, film in enumerate(CATALOGUE_FILMS):
            self.state.add_title("movies", simkl_film_id(i), film.title, film.year,
                                 imdb=film.imdb, tmdb=str(film.tmdb))  # fmt: skip
        for i, show in enumerate(CATALOGUE_ANIME):
            self.state.add_title("anime", simkl_anime_id(i), show.title, show.year,
                                 anime_type="tv", episodes=show.episodes, mal=str(show.mal),
                                 anilist=str(show.anilist))  # fmt: skip
        self.gate.clear()
        self.anime, self.titles = anime, titles

    def _id(self, index: int) -> int:
        return simkl_anime_id(index) if self.anime else simkl_film_id(index)

    def holds(self, feature: Feature) -> set[int]:
        assert feature is W, "SIMKL is synced here for its watchlist only"
        base = simkl_anime_id(0) if self.anime else simkl_film_id(0)
        return {
            simkl - base
            for simkl, listing in self.state.lists.items()
            if listing.status == "plantowatch" and 0 <= simkl - base < 1000
        }

    def before_user_edit(self) -> None:
        self.state.apply_delayed_writes()

    def add(self, feature: Feature, index: int, when: datetime) -> None:
        self.state.user_lists(self._id(index), "plantowatch")

    def remove(self, feature: Feature, index: int) -> None:
        if self._id(index) in self.state.lists:
            self.state.user_removes(self._id(index))

    def provider(self, session: aiohttp.ClientSession, urls: dict[str, str]) -> Provider:
        state, time = self.state, self.time

        async def sleep(seconds: float) -> None:
            # SIMKL's clock moves with the client's waits (PIN intervals, Retry-After).
            await time.sleep(seconds)
            state.advance(seconds)

        api = SimklApi(
            session, simkl_sim.CLIENT_ID, simkl_sim.TOKEN, base_url=urls["simkl"], retry=RETRY,
            sleep=sleep, clock=time.clock,
        )  # fmt: skip
        return SimklProvider(api, SimklAccount("51", state.name), now=lambda: state.now)

    def pass_time(self, seconds: float) -> None:
        super().pass_time(seconds)
        self.state.advance(seconds)


# -- Plex ----------------------------------------------------------------------------------------


class PlexShape:
    """Plex pages MediaContainers by X-Plex-Container-Start/-Size and announces totalSize."""

    def __init__(self, service: PlexService) -> None:
        self.service = service

    def is_list_read(self, request: web.Request, body: Json) -> bool:
        return (
            request.method == "GET"
            and request.path.startswith("/library/sections/")
            and (request.path.endswith("/all") and request.path != "/library/sections/all")
        )

    def is_later_page(self, request: web.Request, body: Json) -> bool:
        start = _query(request).get("x-plex-container-start", "0")
        return self.is_list_read(request, body) and start not in ("", "0")

    def is_write(self, request: web.Request, body: Json) -> bool:
        return request.method == "PUT"

    def rows(self, reply: Json) -> int:
        # The harness syncs Plex's history: only watched rows make up what a read must show.
        container = reply.get("MediaContainer") if isinstance(reply, dict) else None
        rows = container.get("Metadata") if isinstance(container, dict) else None
        if not isinstance(rows, list):
            return 0
        return sum(1 for row in rows if isinstance(row, dict) and row.get("viewCount"))

    def rows_beyond(self, request: web.Request, reply: Json) -> int:
        # Plex lists the whole section, watched or not, a page at a time: the watched items of
        # the pages after a first page are what a cut of it hides besides its own.
        if self.is_later_page(request, reply):
            return 0
        section = request.path.split("/")[3]
        watched = sum(
            1
            for item in self.service.sim.items.values()
            if item.section == section and item.kind == "movie" and item.view_count
        )
        return max(0, watched - self.rows(reply))

    def cut(self, reply: Json, keep: int) -> Json:
        container = dict(reply["MediaContainer"])
        rows = list(container.pop("Metadata", []))[:keep]
        container |= {"size": len(rows), "totalSize": len(rows)}
        if rows:
            container["Metadata"] = rows
        return {"MediaContainer": container}

    def malformed(self, reply: Json) -> Json:
        return {"MediaContainer": {"size": 1, "totalSize": 1, "offset": 0, "Metadata": {}}}

    def halve(self, body: Json) -> Json | None:
        return None  # one item per request

    def ok_reply(self) -> web.Response:
        return web.Response(status=200)

    def revoke(self) -> None:
        self.service.sim.quirks.revoked = True


class PlexService(Service):
    svc = Svc.PLEX

    def __init__(self) -> None:
        super().__init__()
        self.sim = plex_sim.PlexSim()
        self.gate = Gate(PlexShape(self))
        apps = plex_sim.make_apps(self.sim)
        self._apps = {
            "server": _gated(apps.server, self.gate),
            "plex_tv": apps.plex_tv,
            "discover": apps.discover,
            "metadata": apps.metadata,
        }

    def apps(self) -> dict[str, web.Application]:
        return self._apps

    def reset(self, *, anime: bool, titles: int) -> None:
        # Plex dates plays by its own clock: kept on the harness's wall clock, as a server's
        # clock and Home Assistant's agree.
        renew(self.sim, plex_sim.PlexSim(now=int(START.timestamp())))
        self.sim.add_section("1", "movie", "Movies")
        self.keys: list[str] = []
        for film in CATALOGUE_FILMS[:titles]:
            item = self.sim.add_movie("1", film.title, film.year, imdb=film.imdb, tmdb=film.tmdb)
            self.keys.append(item.rating_key)
        self.gate.clear()
        self.anime, self.titles = anime, titles

    def _item(self, index: int) -> plex_sim.Item:
        imdb = CATALOGUE_FILMS[index].imdb
        return next(i for i in self.sim.items.values() if i.imdb == imdb)

    def holds(self, feature: Feature) -> set[int]:
        assert feature is H, "Plex is synced here for its history only"
        index = {film.imdb: i for i, film in enumerate(CATALOGUE_FILMS)}
        return {index[i.imdb] for i in self.sim.items.values() if i.view_count and i.imdb}

    def pass_time(self, seconds: float) -> None:
        super().pass_time(seconds)
        self.sim.now += int(seconds)

    def before_user_edit(self) -> None:
        self.sim.apply_delayed_writes()

    def add(self, feature: Feature, index: int, when: datetime) -> None:
        item = self._item(index)
        item.view_count += 1
        self.sim.now = max(self.sim.now, int(when.timestamp()))
        item.last_viewed_at = self.sim.now
        self.sim.plays.append((item.rating_key, item.last_viewed_at))

    def remove(self, feature: Feature, index: int) -> None:
        item = self._item(index)
        item.view_count, item.last_viewed_at = 0, None

    def provider(self, session: aiohttp.ClientSession, urls: dict[str, str]) -> Provider:
        client = PlexClient(
            session, PlexApp(plex_sim.CLIENT_ID), server_url=urls["server"],
            server_token=self.sim.server_token, account_token=self.sim.account_token,
            plex_tv_url=urls["plex_tv"], discover_url=urls["discover"],
            metadata_url=urls["metadata"], retry=RETRY, sleep=self.time.sleep,
            page_size=PAGE_SIZE,
        )  # fmt: skip
        return PlexProvider(client, library_ttl=0, now=self.time.clock)


# -- Jellyfin ------------------------------------------------------------------------------------


class JellyfinShape:
    """Jellyfin pages `Items` by StartIndex/Limit and announces TotalRecordCount."""

    def __init__(self, service: JellyfinService) -> None:
        self.service = service

    def is_list_read(self, request: web.Request, body: Json) -> bool:
        return (
            request.method == "GET" and request.path == "/Items" and ("ids" not in _query(request))
        )

    def is_later_page(self, request: web.Request, body: Json) -> bool:
        start = _query(request).get("startindex", "0")
        return self.is_list_read(request, body) and start not in ("", "0")

    def is_write(self, request: web.Request, body: Json) -> bool:
        return request.method in ("POST", "DELETE") and request.path.startswith(
            ("/UserFavoriteItems/", "/UserPlayedItems/", "/UserItems/")
        )

    def rows(self, reply: Json) -> int:
        items = reply.get("Items") if isinstance(reply, dict) else None
        return len(items) if isinstance(items, list) else 0

    def rows_beyond(self, request: web.Request, reply: Json) -> int:
        # Every row of this service's list replies is one of the user's items: a first page
        # that holds none has no later pages.
        return 0

    def cut(self, reply: Json, keep: int) -> Json:
        return {**reply, "Items": reply["Items"][:keep], "TotalRecordCount": keep}

    def malformed(self, reply: Json) -> Json:
        return {**reply, "Items": None}

    def halve(self, body: Json) -> Json | None:
        return None  # one item per request

    def ok_reply(self) -> web.Response:
        return web.Response(status=200)

    def revoke(self) -> None:
        self.service.state.quirks.token_revoked = True


class JellyfinService(Service):
    svc = Svc.JELLYFIN
    DEVICE = DeviceInfo(device_id="cw-harness", version="0.1.0")

    def __init__(self) -> None:
        super().__init__()
        self.state = mb_sim.MediaBrowserState(mb_sim.Flavour.JELLYFIN)
        self.gate = Gate(JellyfinShape(self))
        self._app = _gated(mb_sim.mediabrowser_app(self.state), self.gate)
        self.token = ""

    def apps(self) -> dict[str, web.Application]:
        return {"jellyfin": self._app}

    def reset(self, *, anime: bool, titles: int) -> None:
        renew(self.state, mb_sim.MediaBrowserState(mb_sim.Flavour.JELLYFIN))
        # The server's clock is the harness's: user data saved between runs is dated then.
        self.state.now = lambda: START + timedelta(seconds=self.time.now)
        self.user = self.state.add_user("alice", "correct horse")
        self.ids = [
            self.state.add_movie(film.title, film.year, Imdb=film.imdb, Tmdb=str(film.tmdb))
            for film in CATALOGUE_FILMS[:titles]
        ]
        self.token = self.state.issue_token(self.user)
        self.gate.clear()
        self.anime, self.titles = anime, titles

    def holds(self, feature: Feature) -> set[int]:
        assert feature is W, "Jellyfin is synced here for its favourites (watchlist) only"
        return {
            i
            for i, item_id in enumerate(self.ids)
            if (data := self.state.data.get((self.user.id, item_id))) and data.is_favorite
        }

    def add(self, feature: Feature, index: int, when: datetime) -> None:
        self.state.favorite(self.user, self.ids[index])

    def remove(self, feature: Feature, index: int) -> None:
        self.state.user_data(self.user.id, self.ids[index]).is_favorite = False

    def provider(self, session: aiohttp.ClientSession, urls: dict[str, str]) -> Provider:
        client = MediaBrowserClient(
            session, JELLYFIN, urls["jellyfin"], device=self.DEVICE, token=self.token,
            retry=RETRY, sleep=self.time.sleep, page_size=PAGE_SIZE,
        )  # fmt: skip
        account = MediaBrowserAccount(
            self.state.server_id, self.state.server_name, self.user.id, self.user.name
        )
        return JellyfinProvider(client, account, clock=self.time.clock)


# -- AniList -------------------------------------------------------------------------------------


class AniListShape:
    """AniList is one GraphQL endpoint: the list is a MediaListCollection of status groups."""

    def __init__(self, service: AniListService) -> None:
        self.service = service

    def _query(self, body: Json) -> str:
        query = body.get("query") if isinstance(body, dict) else None
        return query if isinstance(query, str) else ""

    def is_list_read(self, request: web.Request, body: Json) -> bool:
        return "MediaListCollection" in self._query(body) and not self.is_write(request, body)

    def is_later_page(self, request: web.Request, body: Json) -> bool:
        return False  # one chunk of 500 holds every list here

    def is_write(self, request: web.Request, body: Json) -> bool:
        return self._query(body).lstrip().startswith("mutation")

    def _entries(self, reply: Json) -> list[Json]:
        data = reply.get("data") if isinstance(reply, dict) else None
        collection = data.get("MediaListCollection") if isinstance(data, dict) else None
        lists = collection.get("lists") if isinstance(collection, dict) else None
        return [e for group in lists or [] for e in group.get("entries") or []]

    def rows(self, reply: Json) -> int:
        return len(self._entries(reply))

    def rows_beyond(self, request: web.Request, reply: Json) -> int:
        # Every row of this service's list replies is one of the user's items: a first page
        # that holds none has no later pages.
        return 0

    def cut(self, reply: Json, keep: int) -> Json:
        collection = reply["data"]["MediaListCollection"]
        lists, left = [], keep
        for group in collection.get("lists") or []:
            entries = (group.get("entries") or [])[:left]
            left -= len(entries)
            if entries:
                lists.append({**group, "entries": entries})
        return {"data": {"MediaListCollection": {**collection, "lists": lists}}}

    def malformed(self, reply: Json) -> Json:
        return {"data": {"MediaListCollection": {"lists": {}, "hasNextChunk": False}}}

    def halve(self, body: Json) -> Json | None:
        return None  # one mutation per request

    def ok_reply(self) -> web.Response:
        return web.json_response({"data": None})

    def revoke(self) -> None:
        state = self.service.state
        state.quirks.token_expires_after = state.requests


class AniListService(Service):
    svc = Svc.ANILIST

    def __init__(self) -> None:
        super().__init__()
        self.state = anilist_sim.AniListState()
        self.gate = Gate(AniListShape(self), native=self._native)
        self._app = _gated(anilist_sim.build_app(self.state), self.gate)

    def _native(self) -> dict[str, int]:
        q = self.state.quirks
        return {"empty_collections": q.empty_collections, "script": len(q.script)}

    def apps(self) -> dict[str, web.Application]:
        return {"anilist": self._app}

    def reset(self, *, anime: bool, titles: int) -> None:
        renew(self.state, anilist_sim.AniListState())
        self.state.clock = self.time.clock  # AniList's minute passes as the clients wait
        for show in CATALOGUE_ANIME:
            self.state.add_media(show.anilist, show.romaji, english=show.english, year=show.year,
                                 format=show.format, episodes=show.episodes, id_mal=show.mal)  # fmt: skip
        self.state.add_user(anilist_sim.ALICE_ID, "alice", anilist_sim.ALICE_TOKEN, "POINT_10")
        self.gate.clear()
        self.anime, self.titles = anime, titles

    def holds(self, feature: Feature) -> set[int]:
        assert feature is W, "AniList is synced here for its watchlist (PLANNING) only"
        index = {show.anilist: i for i, show in enumerate(CATALOGUE_ANIME)}
        return {
            index[e.media_id]
            for e in self.state.entries.values()
            if e.user_id == anilist_sim.ALICE_ID and e.status == "PLANNING"
        }

    def add(self, feature: Feature, index: int, when: datetime) -> None:
        media = CATALOGUE_ANIME[index].anilist
        if self.state.entry_for(anilist_sim.ALICE_ID, media) is None:
            # Dated by the service when the user adds it, on a clock that agrees with ours.
            stamp = int(when.timestamp())
            self.state.add_entry(
                anilist_sim.ALICE_ID, media, "PLANNING", created_at=stamp, updated_at=stamp
            )

    def remove(self, feature: Feature, index: int) -> None:
        entry = self.state.entry_for(anilist_sim.ALICE_ID, CATALOGUE_ANIME[index].anilist)
        if entry is not None and entry.status == "PLANNING":
            del self.state.entries[entry.id]

    def provider(self, session: aiohttp.ClientSession, urls: dict[str, str]) -> Provider:
        state, time = self.state, self.time
        client = AniListClient(
            session, tokens_from_pin(anilist_sim.ALICE_TOKEN), base_url=urls["anilist"],
            throttle=Throttle(limit=REQUESTS_PER_MINUTE, window=RATE_WINDOW, clock=time.clock,
                              sleep=time.sleep),
            retry=RETRY, sleep=time.sleep, wall_clock=lambda: float(state.now),
        )  # fmt: skip
        return AniListProvider(
            client, user_id=anilist_sim.ALICE_ID, user_name="alice", clock=time.clock
        )


def all_services() -> dict[Svc, Service]:
    """One of each service, not yet served."""
    made: list[Service] = [
        TraktService(), SimklService(), PlexService(), JellyfinService(), AniListService(),
    ]  # fmt: skip
    return {service.svc: service for service in made}


def catalogue_size(anime: bool) -> int:
    return len(CATALOGUE_ANIME) if anime else len(CATALOGUE_FILMS)
