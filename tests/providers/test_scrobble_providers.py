"""Live scrobbles through the Trakt and SIMKL adapters, against their simulators.

Both services record a play themselves for a stop at 80 % or more, keep a stop below it as a
paused session, and refuse a second stop of the same item within their window (409), which the
adapters read as the service's word that it holds the play.
"""

import aiohttp
import pytest

from custom_components.crosswatch.engine.items import MediaItem, MediaType
from custom_components.crosswatch.engine.provider import OutcomeUnknownError, ProviderError
from custom_components.crosswatch.engine.scrobble import ScrobbleAction
from tests.providers.conftest import Serve
from tests.providers.test_simkl_support import make_rig as make_simkl_rig
from tests.providers.test_trakt_provider import MATRIX, episode, make_rig as make_trakt_rig
from tests.simulators.trakt import TraktSim

pytestmark = pytest.mark.usefixtures("socket_enabled")

DARK_E3 = MediaItem.create(
    MediaType.EPISODE, title="Dark", show_ids={"tvdb": "334824"}, season=1, episode=3
)
HEAT = MediaItem.create(MediaType.MOVIE, title="Heat", year=1995, ids={"imdb": "tt0113277"})


def trakt_plays(sim: TraktSim, ref: tuple[str, int]) -> int:
    return sum(1 for row in sim.history if row["ref"] == ref)


async def test_trakt_records_a_play_for_a_stop_at_eighty_percent_or_more_and_only_then(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig = await make_trakt_rig(serve, session)
    provider, sim = rig.provider, rig.sim

    started = await provider.scrobble(ScrobbleAction.START, MATRIX, 0.0)
    paused = await provider.scrobble(ScrobbleAction.STOP, MATRIX, 79.5)
    assert (started.action, started.recorded_play) == ("start", False)
    assert (paused.action, paused.recorded_play) == ("pause", False)
    assert trakt_plays(sim, ("movie", 1)) == 0

    scrobbled = await provider.scrobble(ScrobbleAction.STOP, MATRIX, 80.0)
    assert (scrobbled.action, scrobbled.recorded_play) == ("scrobble", True)
    assert trakt_plays(sim, ("movie", 1)) == 1


async def test_trakt_answers_a_repeated_stop_with_409_dating_the_play_it_kept(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig = await make_trakt_rig(serve, session)
    first = await rig.provider.scrobble(ScrobbleAction.STOP, MATRIX, 97.0)
    again = await rig.provider.scrobble(ScrobbleAction.STOP, MATRIX, 99.0)

    assert first.recorded_play
    assert first.recorded_at is None  # Trakt's 201 does not date the play
    assert again.recorded_play
    assert again.action is None
    kept = rig.sim.scrobbled[("movie", 1)]
    assert again.recorded_at is not None
    assert abs((again.recorded_at - kept).total_seconds()) < 0.001  # Trakt writes milliseconds
    assert trakt_plays(rig.sim, ("movie", 1)) == 1


async def test_trakt_scrobbles_an_episode_by_its_show_and_numbering(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig = await make_trakt_rig(serve, session)
    done = await rig.provider.scrobble(ScrobbleAction.STOP, episode(1, 2), 90.0)

    assert done.recorded_play
    assert trakt_plays(rig.sim, ("episode", 102)) == 1
    _, body = rig.sim.scrobble_calls[-1]
    assert body["show"] == {"ids": {"tmdb": 70523}}
    assert body["episode"] == {"season": 1, "number": 2}


async def test_an_item_trakt_cannot_match_is_refused_before_anything_is_sent(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig = await make_trakt_rig(serve, session)
    nameless = MediaItem.create(MediaType.MOVIE, title="Home video", year=2020)

    with pytest.raises(ProviderError, match="no id Trakt can match on"):
        await rig.provider.scrobble(ScrobbleAction.START, nameless, 0.0)
    assert rig.sim.scrobble_calls == []


async def test_a_stop_whose_reply_was_lost_is_sent_again_and_trakt_keeps_one_play(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig = await make_trakt_rig(serve, session)
    rig.sim.quirks.lost_scrobble_replies = 1  # recorded, then answered 503

    done = await rig.provider.scrobble(ScrobbleAction.STOP, MATRIX, 95.0)

    assert len(rig.sim.scrobble_calls) == 2  # sent again: Trakt answered 409 the second time
    assert done.recorded_play
    assert done.recorded_at is not None
    assert trakt_plays(rig.sim, ("movie", 1)) == 1


async def test_a_trakt_that_stays_down_fails_the_scrobble_after_the_retries(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig = await make_trakt_rig(serve, session)
    rig.sim.quirks.scrobbles_down = True

    with pytest.raises(OutcomeUnknownError):
        await rig.provider.scrobble(ScrobbleAction.STOP, MATRIX, 95.0)
    assert trakt_plays(rig.sim, ("movie", 1)) == 0


async def test_simkl_marks_a_stopped_episode_watched_at_eighty_percent_and_refuses_a_repeat(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig = await make_simkl_rig(serve, session)
    provider, state = rig.provider, rig.state
    before = dict(state.lists[200].episodes)

    paused = await provider.scrobble(ScrobbleAction.STOP, DARK_E3, 50.0)
    assert (paused.action, paused.recorded_play) == ("pause", False)
    assert state.lists[200].episodes == before

    scrobbled = await provider.scrobble(ScrobbleAction.STOP, HEAT, 85.0)
    again = await provider.scrobble(ScrobbleAction.STOP, HEAT, 86.0)
    assert (scrobbled.action, scrobbled.recorded_play) == ("scrobble", True)
    assert again.recorded_play
    assert again.recorded_at is not None
    assert state.lists[102].status == "completed"
    assert [action for action, _ in state.scrobble_calls] == ["stop", "stop", "stop"]
