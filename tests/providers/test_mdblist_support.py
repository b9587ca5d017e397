"""Shared set-up for the MDBList tests: a seeded simulator, a provider on it, and fake time."""

from dataclasses import dataclass, field
from datetime import UTC, datetime

import aiohttp
from aiohttp import web

from custom_components.crosswatch.clients.http import RetryPolicy
from custom_components.crosswatch.clients.mdblist.client import MdblistApi
from custom_components.crosswatch.providers.mdblist import MdblistAccount, MdblistProvider
from tests.providers.conftest import Serve
from tests.simulators.mdblist import API_KEY, MdblistState, Title, mdblist_app

MATRIX_WATCHED = datetime(2020, 1, 1, 20, 0, tzinfo=UTC)
DARK_E1 = datetime(2021, 3, 1, 21, 0, tzinfo=UTC)


@dataclass
class FakeTime:
    """A clock that moves only when something sleeps, and the simulator's clock with it."""

    state: MdblistState
    now: float = 1000.0
    slept: list[float] = field(default_factory=list)

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds
        self.state.advance(seconds)


@dataclass
class Rig:
    state: MdblistState
    provider: MdblistProvider
    api: MdblistApi
    base: str
    time: FakeTime
    app: web.Application


def seeded_state() -> MdblistState:
    """An account with a watched and rated movie, a listed movie and show, and a watched episode."""
    state = MdblistState()
    matrix = state.add(Title("movie", "The Matrix", 1999, "a2na", "tt0133093", 603, trakt=481))
    inception = state.add(Title("movie", "Inception", 2010, "b7xq", "tt1375666", 27205))
    state.add(Title("movie", "Heat", 1995, "c1hz", "tt0113277", 949))
    dark = state.add(
        Title(
            "show", "Dark", 2017, "d4rk", "tt5753856", 70523, tvdb=334824,
            episodes=frozenset({(1, 1), (1, 2), (1, 3)}),
        )
    )  # fmt: skip
    state.watched[(matrix.mdblist, 0, 0)] = MATRIX_WATCHED
    state.watched[(dark.mdblist, 1, 1)] = DARK_E1
    state.ratings[matrix.mdblist] = (9, MATRIX_WATCHED)
    state.ratings[dark.mdblist] = (8, DARK_E1)
    state.watchlist[inception.mdblist] = datetime(2024, 5, 1, tzinfo=UTC)
    state.watchlist[dark.mdblist] = datetime(2024, 5, 2, tzinfo=UTC)
    return state


async def make_rig(
    serve: Serve, session: aiohttp.ClientSession, state: MdblistState | None = None
) -> Rig:
    state = state or seeded_state()
    app = mdblist_app(state)
    base = await serve(app)
    time = FakeTime(state)
    api = MdblistApi(
        session,
        API_KEY,
        base_url=base,
        retry=RetryPolicy(backoff=0),
        sleep=time.sleep,
        clock=time.clock,
    )
    provider = MdblistProvider(api, MdblistAccount("4242", "andrea"), now=lambda: state.now)
    return Rig(state, provider, api, base, time, app)
