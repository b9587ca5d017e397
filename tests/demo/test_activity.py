"""The demo's simulated viewer: she watches what a person would, and each play syncs once."""

import asyncio
from collections import Counter
from datetime import UTC, datetime, timedelta
import logging
from pathlib import Path

import aiohttp
import pytest

from custom_components.crosswatch.engine.payloads import Feature
from custom_components.crosswatch.engine.pipeline import PairSpec, RunStatus
from custom_components.crosswatch.engine.planner import SyncMode
from custom_components.crosswatch.engine.store import StateStore
from tests.demo import activity, simulators as server, world as demo
from tests.demo.pairs import plex_and_trakt
from tests.demo.test_world import _start
from tests.providers.conftest import Serve
from tests.providers.test_servers_e2e import make_pipeline
from tests.realhass import demo as realhass_demo


def test_the_viewer_goes_on_with_a_started_show_before_anything_else() -> None:
    world = demo.build_world()
    plex = world.plex
    item = activity.next_to_watch(plex)

    assert item is not None
    assert item.kind == "episode"
    assert item.view_count == 0
    siblings = [i for i in plex.items.values() if i.show_key == item.show_key]
    assert any(e.view_count for e in siblings)  # the show is under way
    earlier_unseen = [
        e
        for e in siblings
        if not e.view_count and (e.season, e.episode) < (item.season, item.episode)
    ]
    assert earlier_unseen == []  # and this is its next episode


def test_a_play_lands_on_plex_at_the_current_time_with_a_name_a_person_reads() -> None:
    plex = demo.build_world().plex
    plex.now = 1_800_000_000
    item = activity.next_to_watch(plex)
    assert item is not None
    plays = len(plex.plays)

    play = activity.watch_next(plex)

    assert play == activity.Play(item.rating_key, activity.label(plex, item), 1_800_000_000)
    assert (item.view_count, item.last_viewed_at) == (1, 1_800_000_000)
    assert plex.plays[plays:] == [(item.rating_key, 1_800_000_000)]
    show = plex.items[item.show_key or ""]
    assert play.label == f"{show.title} S{item.season:02d}E{item.episode:02d}"


def test_the_viewer_sees_every_unseen_title_once_then_stops() -> None:
    plex = demo.build_world().plex
    unseen = {key for key, i in plex.items.items() if i.kind != "show" and not i.view_count}
    kinds = []

    watched = []
    while (play := activity.watch_next(plex)) is not None:
        watched.append(play.rating_key)
        kinds.append(plex.items[play.rating_key].kind)

    assert sorted(watched) == sorted(unseen)  # each once, nothing seen twice
    assert "movie" in kinds
    assert kinds.index("movie") > 0  # started shows first
    assert activity.watch_next(plex) is None
    film = plex.items[watched[kinds.index("movie")]]
    assert activity.label(plex, film) == f"{film.title} ({film.year})"


async def test_a_play_on_plex_is_carried_to_trakt_once_by_the_next_sync(
    serve: Serve, session: aiohttp.ClientSession, tmp_path: Path
) -> None:
    world = demo.build_world()
    plex, trakt = await plex_and_trakt(serve, session, world)
    spec = PairSpec("plex-trakt", SyncMode.ADD_ONLY, frozenset({Feature.HISTORY}))
    clock = [datetime(2026, 11, 1, tzinfo=UTC)]
    with StateStore(tmp_path / "state.db") as store:
        pipeline = make_pipeline(store, clock)
        assert (await pipeline.run(spec, plex, trakt)).status is RunStatus.SUCCESS
        plays_before = Counter(tuple(row["ref"]) for row in world.trakt.history)

        play = activity.watch_next(world.plex)
        assert play is not None
        clock[0] += timedelta(hours=1)
        carried = await pipeline.run(spec, plex, trakt)
        clock[0] += timedelta(hours=1)
        again = await pipeline.run(spec, plex, trakt)

    assert carried.status is RunStatus.SUCCESS, carried.errors
    assert carried.features[Feature.HISTORY].applied == 1, carried.plan.to_json()
    assert again.plan.is_empty, again.plan.to_json()
    added = Counter(tuple(row["ref"]) for row in world.trakt.history) - plays_before
    assert sum(added.values()) == 1


async def test_the_server_plays_one_title_each_interval_and_logs_it(
    socket_enabled: None, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=server.LOGGER.name)
    stop = asyncio.Event()
    task, _ = await _start(tmp_path, stop, watch_every=0.5)
    plays = len(demo.build_world().plex.plays)
    await asyncio.sleep(1.8)  # the loop wakes each second: at least one play
    stop.set()
    served = await task

    new = served.plex.plays[plays:]
    assert 1 <= len(new) <= 3
    logged = [r.getMessage() for r in caplog.records if " watched " in r.getMessage()]
    assert len(logged) == len(new)
    first = activity.label(served.plex, served.plex.items[new[0][0]])
    assert logged[0] == f"{demo.USER} watched {first} on Plex"


@pytest.mark.parametrize("value", ["soon", "-5", "nan"])
def test_the_demo_refuses_a_watch_interval_that_is_not_seconds(
    value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        realhass_demo.main(["--watch-every", value])
    assert exited.value.code == 2
    assert "--watch-every" in capsys.readouterr().err
