"""End to end through the engine: a Plex hiccup must not take anything away from Jellyfin.

Plex ⇄ Jellyfin history, two-way, 60 films watched on both. Then Plex answers a library scan
with only 3 films (a well-formed reply that claims 3). Plex has no activity stamp, so nothing
vouches for the shrink: the drop guard must doubt it, and Jellyfin must keep every play.
"""

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp

from custom_components.crosswatch.engine.guards import GuardCode
from custom_components.crosswatch.engine.memo import SnapshotMemo
from custom_components.crosswatch.engine.payloads import Feature
from custom_components.crosswatch.engine.pipeline import PairSpec, Pipeline, RunStatus
from custom_components.crosswatch.engine.plan import Action
from custom_components.crosswatch.engine.planner import SyncMode
from custom_components.crosswatch.engine.store import StateStore
from custom_components.crosswatch.providers.plex.kept import FULL_SCAN_EVERY
from tests.simulators.mediabrowser import Flavour
from tests.simulators.plex import EPOCH, PlexSim

from .conftest import Serve
from .test_mediabrowser_support import make_rig
from .test_plex_support import start_world

H = Feature.HISTORY
FILMS = 60
SPEC = PairSpec("plex-jellyfin", SyncMode.TWO_WAY, frozenset({H}))


async def test_a_plex_scan_of_3_films_where_60_were_removes_nothing_from_jellyfin(
    serve: Serve, session: aiohttp.ClientSession, tmp_path: Path
) -> None:
    sim = PlexSim()
    sim.add_section("1", "movie", "Movies")
    jellyfin = await make_rig(serve, session, Flavour.JELLYFIN, seeded=False)
    for n in range(FILMS):
        imdb, watched_at = f"tt{2000000 + n}", EPOCH - 86400 * (n + 1)
        sim.add_movie("1", f"Film {n}", 1950 + n, imdb=imdb, view_count=1,
                      last_viewed_at=watched_at)  # fmt: skip
        film = jellyfin.state.add_movie(f"Film {n}", 1950 + n, Imdb=imdb)
        jellyfin.state.watch(jellyfin.user, film, datetime.fromtimestamp(watched_at, UTC))
    world = await start_world(serve, session, sim)
    clock = [datetime(2026, 11, 1, tzinfo=UTC)]

    def plex_now() -> float:  # the pair's clock, as Home Assistant's is for both
        return clock[0].timestamp()

    plex = world.provider(library_ttl=0, now=plex_now)
    await plex.health()
    with StateStore(tmp_path / "state.db") as store:
        pipeline = Pipeline(
            store, run_blocking=asyncio.to_thread, memo=SnapshotMemo(timedelta(0)),
            clock=lambda: clock[0],
        )  # fmt: skip
        first = await pipeline.run(SPEC, plex, jellyfin.provider)
        clock[0] += timedelta(seconds=FULL_SCAN_EVERY)  # the daily full scan meets the hiccup
        sim.quirks.fault_path, sim.quirks.tiny_replies = "/sections/1/", 1
        hiccup = await pipeline.run(SPEC, plex, jellyfin.provider)

    assert first.status is RunStatus.SUCCESS, first.errors
    assert first.plan.is_empty
    assert [op for op in hiccup.plan.operations if op.action is Action.REMOVE] == []
    # The tiny scan lost 57 films: Plex was read again, afresh, and that read showed them all.
    assert {event.code for event in hiccup.events} == {GuardCode.READ_AGAIN}
    played = [d for (u, _), d in jellyfin.state.data.items() if u == jellyfin.user.id]
    assert sum(d.played for d in played) == FILMS
