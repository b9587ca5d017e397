"""The simulators `script/bench_loop.py` syncs against, served from a child process of their own.

    python script/bench_loop_serve.py trakt-simkl 10000

Seeds the project's simulators (tests/simulators/) for one pair kind with N titles per side,
serves them on 127.0.0.1 ports of their own, prints one JSON line (the base URLs and what the
parent needs to sign in), and serves until its standard input closes. The simulators build
and serialise replies of up to 100,000 rows; in a process of their own that CPU time is not
counted as a stall of the loop the benchmark measures.

The watchlists (trakt-simkl): about 99 % of the titles are on both sides and 0.5 % on one
side only, so a first run has some adds to make both ways. Of the shared titles, 94 % carry
both an IMDb and a TMDb id, 3 % one of them and 3 % none (matched by title and year), roughly
like real libraries. The titles on one side only all carry both ids, so that the other side's
catalogue finds them when they are added there.

Real Trakt caps a watchlist at 250 titles (free) or 5,000 (VIP) in 2026
(shared/research/provider-facts-2026.md); the simulator is given a cap above the bench's sizes,
since what is measured is our event loop, not Trakt's plan. Its rate limits are kept as
documented (1,000 GETs per 5 minutes, 1 write a second): waits they cause are reported by the
parent, not hidden.

The simulators look titles up and render list rows by walking everything they hold, which is
right for the few dozen titles of a test and hopeless for 100,000 (a 100k Trakt watchlist read
page by page would render 40 million rows). The subclasses here index the lookups and reuse
rendered rows while a list is unchanged; what they answer is what the simulators answer.
"""

import argparse
import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
import json
from pathlib import Path
import sys
import time
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from aiohttp import web

from tests.simulators import simkl as simkl_sim, trakt as trakt_sim
from tests.simulators.serving import serving

type Json = Any
LISTED = datetime(2025, 6, 1, tzinfo=UTC)  # when the user listed the seeded titles


# -- the library --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Title:
    """One film of the generated library and where it is listed."""

    n: int
    imdb: str | None
    tmdb: int | None
    on_trakt: bool
    on_simkl: bool

    @property
    def name(self) -> str:
        return f"Bench Film {self.n}"

    @property
    def year(self) -> int:
        return 1950 + self.n % 75


def library(size: int) -> list[Title]:
    """N titles on each side: shared ones first, then 0.5 % on Trakt only, 0.5 % on SIMKL only."""
    only = max(1, size // 200)
    shared = size - only
    titles = []
    for n in range(shared + 2 * only):
        share = n % 100
        imdb: str | None = f"tt{2_000_000 + n}"
        tmdb: int | None = 500_000 + n
        if n < shared and share >= 94:
            # One id only (the two sides agree on it), or none: matched by title and year.
            imdb, tmdb = (
                (imdb, None) if share < 96 else (None, tmdb) if share < 97 else (None, None)
            )
        titles.append(Title(n, imdb, tmdb, n < shared + only, n < shared or n >= shared + only))
    return titles


# -- Trakt --------------------------------------------------------------------------------------


class IndexedTraktSim(trakt_sim.TraktSim):
    """TraktSim whose movie lookups go through indexes (the movies are not changed once seeded)."""

    def __init__(self, *, watchlist_limit: int) -> None:
        super().__init__(watchlist_limit=watchlist_limit)
        self._index: dict[tuple[str, Json], trakt_sim.Movie] | None = None

    def find(self, kind: str, ids: Json) -> Json:
        """Trakt's match order (trakt, imdb, tmdb, tvdb, slug), by index for movies."""
        if kind != "movie" or not isinstance(ids, dict):
            return super().find(kind, ids)
        if self._index is None:
            index: dict[tuple[str, Json], trakt_sim.Movie] = {}
            for movie in self.movies.values():
                for name, value in movie.ids().items():
                    index.setdefault((name, value), movie)  # the first one, as the walk finds
            self._index = index
        for name in ("trakt", "imdb", "tmdb", "tvdb", "slug"):
            wanted = ids.get(name)
            if wanted is not None and (found := self._index.get((name, wanted))) is not None:
                return found
        return None


class CachedRowsApi(trakt_sim._Api):  # noqa: SLF001 - the simulator's handlers, reused as they are
    """The simulator's handlers, rendering a list once per state rather than once per page.

    Every change of a list moves the simulator's clock (`_moved` ticks it), so rows kept for
    the clock's time are the rows the simulator would render again. Lag quirks (which make
    rows depend on the read) are never switched on here.
    """

    def __init__(self, sim: trakt_sim.TraktSim) -> None:
        super().__init__(sim)
        self._kept: dict[tuple[str, str | None], tuple[datetime, list[Json]]] = {}

    def _rows(self, feature: str, kind: str | None, *, first_page: bool) -> list[Json]:
        clock = self.sim._clock  # noqa: SLF001 - moves on every change of a list
        kept = self._kept.get((feature, kind))
        if kept is not None and kept[0] == clock:
            return kept[1]
        rows = super()._rows(feature, kind, first_page=first_page)
        self._kept[(feature, kind)] = (clock, rows)
        return rows


def trakt_app(sim: trakt_sim.TraktSim) -> web.Application:
    """Serve the simulator as `trakt_sim.make_app` does, with `CachedRowsApi`'s handlers."""
    app = trakt_sim._recording_app(sim)  # noqa: SLF001
    api = CachedRowsApi(sim)
    trakt_sim._oauth_routes(app, api)  # noqa: SLF001
    trakt_sim._api_routes(app, api)  # noqa: SLF001
    return app


def seed_trakt(titles: list[Title]) -> IndexedTraktSim:
    """Every title in Trakt's catalogue; those on Trakt on the watchlist."""
    sim = IndexedTraktSim(watchlist_limit=2 * len(titles))
    # The parent's client judges token expiry by the wall clock, as Home Assistant's does.
    sim.issued_at = time.time
    for title in titles:
        sim.add_movie(title.n + 1, title.name, title.year, imdb=title.imdb, tmdb=title.tmdb)
        if title.on_trakt:
            sim.seed_watchlist("movie", title.n + 1, listed_at=LISTED)
    return sim


# -- SIMKL --------------------------------------------------------------------------------------


class IndexedSimklState(simkl_sim.SimklState):
    """SimklState whose title lookups go through an index (the catalogue is not changed)."""

    def __init__(self) -> None:
        super().__init__()
        self._index: dict[tuple[str, str], list[tuple[int, simkl_sim.Title]]] | None = None

    def resolve(self, section: str, obj: Json) -> simkl_sim.Title | None:
        """The first catalogue title any of the object's ids names, as the walk finds it."""
        ids = obj.get("ids") if isinstance(obj, dict) else None
        if not isinstance(ids, dict):
            return None
        if self._index is None:
            index: dict[tuple[str, str], list[tuple[int, simkl_sim.Title]]] = {}
            for position, title in enumerate(self.catalog.values()):
                for key, value in {"simkl": str(title.simkl), **title.ids}.items():
                    index.setdefault((key, str(value)), []).append((position, title))
            self._index = index
        kinds = ("movies", "anime") if section == "movies" else ("shows", "anime")
        movies = section == "movies"
        found = [
            (position, title)
            for key, value in ids.items()
            for position, title in self._index.get((key, str(value)), [])
            if title.kind in kinds
            and (title.kind != "anime" or movies == (title.anime_type == "movie"))
        ]
        return min(found, key=lambda pair: pair[0])[1] if found else None


def seed_simkl(titles: list[Title]) -> IndexedSimklState:
    """Every title in SIMKL's catalogue; those on SIMKL listed as plan to watch."""
    state = IndexedSimklState()
    listed = sum(title.on_simkl for title in titles)
    # Each listing moves the simulator's clock a second: start it early enough that it ends
    # near the wall clock, which the parent's provider dates its reads by.
    state.now = datetime.now(UTC) - timedelta(seconds=listed + 60)
    for title in titles:
        ids = {"imdb": title.imdb, "tmdb": None if title.tmdb is None else str(title.tmdb)}
        known = {key: value for key, value in ids.items() if value is not None}
        # add_title takes ids as keywords, which a mapping of them cannot be typed as.
        state.add_title("movies", 1_000_000 + title.n, title.name, title.year).ids.update(known)
        if title.on_simkl:
            state.user_lists(1_000_000 + title.n, "plantowatch")
    return state


async def follow_wall_clock(state: simkl_sim.SimklState) -> None:
    """Keep SIMKL's clock from falling behind the wall clock (it moves only on changes)."""
    while True:
        state.now = max(state.now, datetime.now(UTC))
        await asyncio.sleep(1)


# -- serving ------------------------------------------------------------------------------------


async def serve_trakt_simkl(size: int, stop: Callable[[], asyncio.Future[bytes]]) -> None:
    titles = library(size)
    sim, state = seed_trakt(titles), seed_simkl(titles)
    async with serving() as start:
        urls = {
            "trakt": await start(trakt_app(sim)),
            "simkl": await start(simkl_sim.simkl_app(state)),
        }
        hello = {
            "urls": urls,
            "trakt": {"client_id": trakt_sim.CLIENT_ID, "client_secret": trakt_sim.CLIENT_SECRET,
                      "tokens": sim.issue_tokens(), "slug": sim.slug},
            "simkl": {"client_id": simkl_sim.CLIENT_ID, "token": simkl_sim.TOKEN,
                      "account_id": str(state.account_id), "account_name": state.name},
            "seeded": {"trakt": len(sim.watchlist), "simkl": len(state.lists)},
        }  # fmt: skip
        print(json.dumps(hello), flush=True)
        clock = asyncio.create_task(follow_wall_clock(state))
        try:
            await stop()
        finally:
            clock.cancel()


PAIRS = ("trakt-simkl",)  # pair kinds served; script/bench_loop.py names the same


async def main(pair: str, size: int) -> None:
    loop = asyncio.get_running_loop()

    def stdin_closed() -> asyncio.Future[bytes]:
        # The parent closes our stdin when it is done (or dies): then we stop.
        return loop.run_in_executor(None, sys.stdin.buffer.read)

    match pair:
        case "trakt-simkl":
            await serve_trakt_simkl(size, stdin_closed)
        case _:
            raise SystemExit(f"no simulators for the pair kind {pair!r}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("pair", choices=PAIRS)
    parser.add_argument("size", type=int)
    args = parser.parse_args()
    asyncio.run(main(args.pair, args.size))
