"""Shared set-up for the SIMKL tests: a seeded simulator, a provider on it, and fake time."""

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

import aiohttp
from aiohttp import web

from custom_components.crosswatch.clients.http import RetryPolicy
from custom_components.crosswatch.clients.simkl.client import SimklApi
from custom_components.crosswatch.engine.items import MediaItem, MediaType
from custom_components.crosswatch.engine.payloads import Entry
from custom_components.crosswatch.engine.snapshot import Snapshot
from custom_components.crosswatch.providers.simkl import SimklAccount, SimklProvider
from tests.providers.conftest import Serve
from tests.simulators.simkl import CLIENT_ID, TOKEN, SimklState, simkl_app

WATCHED_MATRIX = datetime(2020, 1, 1, 20, 0, tzinfo=UTC)
DARK_E1 = datetime(2021, 3, 1, 21, 0, tzinfo=UTC)
DARK_E2 = datetime(2021, 3, 2, 21, 0, tzinfo=UTC)
HXH_E1 = datetime(2019, 5, 5, 10, 0, tzinfo=UTC)


@dataclass
class FakeTime:
    """A clock that moves only when something sleeps, and the simulator's clock with it."""

    state: SimklState | None = None
    now: float = 1000.0
    slept: list[float] = field(default_factory=list)

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds
        if self.state is not None:
            self.state.advance(seconds)


@dataclass
class Rig:
    state: SimklState
    provider: SimklProvider
    api: SimklApi
    base: str
    time: FakeTime
    app: web.Application


def seeded_state() -> SimklState:
    """An account with a watched and a listed movie, a show, an anime series and an anime film."""
    state = SimklState()
    state.add_title("movies", 100, "The Matrix", 1999, imdb="tt0133093", tmdb="603")
    state.add_title("movies", 101, "Inception", 2010, imdb="tt1375666", tmdb="27205")
    state.add_title("movies", 102, "Heat", 1995, imdb="tt0113277", tmdb="949")
    state.add_title(
        "shows", 200, "Dark", 2017, episodes=3, imdb="tt5753856", tvdb="334824", tmdb="70523"
    )
    state.add_title(
        "anime", 300, "Hunter x Hunter", 2011, episodes=2, anime_type="tv",
        mal="11061", anidb="8550", tvdb="252322", imdb="tt2098220",
    )  # fmt: skip
    state.add_title(
        "anime", 301, "Violet Evergarden the Movie", 2020, anime_type="movie",
        mal="37987", imdb="tt8652818",
    )  # fmt: skip
    state.user_lists(100, "completed", watched_at=WATCHED_MATRIX)
    state.user_lists(101, "plantowatch")
    state.user_lists(200, "watching", episodes={(1, 1): DARK_E1, (1, 2): DARK_E2})
    state.user_lists(300, "completed", episodes={(1, 1): HXH_E1, (1, 2): None})
    state.user_lists(301, "completed")
    state.user_rates(100, 9)
    state.user_rates(200, 8)
    return state


async def make_rig(
    serve: Serve, session: aiohttp.ClientSession, state: SimklState | None = None
) -> Rig:
    state = state or seeded_state()
    app = simkl_app(state)
    base = await serve(app)
    time = FakeTime(state)
    api = SimklApi(
        session,
        CLIENT_ID,
        TOKEN,
        base_url=base,
        retry=RetryPolicy(backoff=0),
        sleep=time.sleep,
        clock=time.clock,
    )
    provider = SimklProvider(api, SimklAccount("51", "Andrew Masyk"), now=lambda: state.now)
    return Rig(state, provider, api, base, time, app)


def find(
    snapshot: Snapshot,
    media_type: str,
    ids: Mapping[str, object],
    *,
    season: int | None = None,
    episode: int | None = None,
) -> Entry:
    """The snapshot's entry for an item described by ids (and season/episode)."""
    kind = MediaType(media_type)
    if kind is MediaType.EPISODE:
        item = MediaItem.create(kind, show_ids=ids, season=season, episode=episode)
    else:
        item = MediaItem.create(kind, ids=ids)
    entry = snapshot.find(item)
    assert entry is not None, (
        f"{media_type} {ids} {season}x{episode} not in {list(snapshot.entries)}"
    )
    return entry


def has(
    snapshot: Snapshot,
    media_type: str,
    ids: Mapping[str, object],
    *,
    season: int | None = None,
    episode: int | None = None,
) -> bool:
    try:
        find(snapshot, media_type, ids, season=season, episode=episode)
    except AssertionError:
        return False
    return True
