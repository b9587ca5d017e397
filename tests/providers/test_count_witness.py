"""The services' own counts as a second witness for a shrink (Trakt's and SIMKL's statistics)."""

from dataclasses import replace

import aiohttp
import pytest

from custom_components.crosswatch.clients.http import RetryPolicy
from custom_components.crosswatch.clients.simkl.client import SimklApi
from custom_components.crosswatch.engine.payloads import Feature
from custom_components.crosswatch.engine.provider import CountWitness, ProviderError
from custom_components.crosswatch.engine.snapshot import Completeness
from custom_components.crosswatch.providers.simkl import SimklAccount, SimklProvider
from tests.providers.conftest import Serve
from tests.reads import read_whole
from tests.simulators import simkl as simkl_sim

from .test_trakt_provider import at, make_rig


async def test_trakt_counts_the_plays_and_ratings_a_read_saw_and_not_the_watchlist(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig = await make_rig(serve, session)
    rig.sim.seed_play("movie", 1, at(0))
    rig.sim.seed_play("movie", 1, at(60))
    rig.sim.seed_play("episode", 102, at(5))
    rig.sim.seed_rating("movie", 1, 8, at(1))
    assert isinstance(rig.provider, CountWitness)

    history = await rig.read(Feature.HISTORY)
    ratings = await rig.read(Feature.RATINGS)
    watchlist = await rig.read(Feature.WATCHLIST)

    assert await rig.provider.count_agrees(history) is True
    assert await rig.provider.count_agrees(ratings) is True
    assert await rig.provider.count_agrees(watchlist) is None
    # A read that saw fewer plays than Trakt counts is contradicted.
    short = replace(history, completeness=Completeness(all_pages=True, seen_total=1))
    assert await rig.provider.count_agrees(short) is False
    assert any(path.startswith("GET /users/") and path.endswith("/stats") for path in rig.paths())


async def test_trakt_statistics_without_the_counts_cannot_witness(
    serve: Serve, session: aiohttp.ClientSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    rig = await make_rig(serve, session)
    history = await rig.read(Feature.HISTORY)
    monkeypatch.setattr(rig.sim, "stats", lambda: {"movies": {}})

    with pytest.raises(ProviderError, match="no movies plays"):
        await rig.provider.count_agrees(history)


async def test_simkl_counts_the_watchlist_titles_a_read_saw_and_nothing_else(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    sim = simkl_sim.SimklState()
    sim.add_title("movies", 100, "The Matrix", 1999, imdb="tt0133093")
    sim.add_title("shows", 200, "Dark", 2017, episodes=2, imdb="tt5753856")
    sim.add_title("movies", 102, "Heat", 1995, imdb="tt0113277")
    sim.user_lists(100, "plantowatch")
    sim.user_lists(200, "plantowatch")
    sim.user_lists(102, "completed")
    api = SimklApi(
        session,
        simkl_sim.CLIENT_ID,
        simkl_sim.TOKEN,
        base_url=await serve(simkl_sim.simkl_app(sim)),
        retry=RetryPolicy(backoff=0),
    )
    provider = SimklProvider(api, SimklAccount("51", "Andrew"))
    assert isinstance(provider, CountWitness)

    watchlist = (await read_whole(provider, Feature.WATCHLIST, None)).snapshot
    history = (await read_whole(provider, Feature.HISTORY, None)).snapshot

    assert len(watchlist) == 2
    assert await provider.count_agrees(watchlist) is True
    assert await provider.count_agrees(history) is None
    sim.user_removes(200)  # the lists changed since that read: the count no longer agrees
    assert await provider.count_agrees(watchlist) is False
