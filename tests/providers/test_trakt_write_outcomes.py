"""What a Trakt write may claim: confirmed only item by item, unknown when the reply says less.

A reply that was lost after the request went out is `OutcomeUnknownError`, never a plain failure:
the applier would send a failed write again, and Trakt stores every play it is sent.
"""

from dataclasses import replace

import aiohttp
import pytest

from custom_components.crosswatch.clients.http import Response, RetryPolicy
from custom_components.crosswatch.engine.payloads import Feature, Listed, Watched
from custom_components.crosswatch.engine.pipeline import PairSpec, RunStatus
from custom_components.crosswatch.engine.plan import Action
from custom_components.crosswatch.engine.planner import SyncMode
from custom_components.crosswatch.engine.provider import (
    OutcomeUnknownError,
    WriteOutcome,
    WriteRequest,
)
from tests.providers.conftest import Serve
from tests.providers.test_engine_e2e import (  # noqa: F401 - `services` is a fixture
    DARK_1,
    DARK_2,
    MATRIX_WATCHED,
    Services,
    services,
)
from tests.providers.test_trakt_provider import HEAT, MATRIX, UNKNOWN, at, episode, make_rig
from tests.simulators import trakt as trakt_sim

pytestmark = pytest.mark.usefixtures("socket_enabled")

W, H = Feature.WATCHLIST, Feature.HISTORY


async def test_a_reply_with_counts_only_leaves_every_outcome_unknown(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig = await make_rig(serve, session)
    rig.sim.quirks.count_only_replies = True

    results = await rig.provider.write(
        W, Action.ADD, [WriteRequest(HEAT, Listed()), WriteRequest(UNKNOWN, Listed())]
    )

    assert [r.outcome for r in results] == [WriteOutcome.UNKNOWN, WriteOutcome.UNKNOWN]
    assert [r.reason for r in results] == [None, None]


async def test_an_ok_only_reply_to_a_play_leaves_its_outcome_unknown(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig = await make_rig(serve, session)
    rig.sim.quirks.ok_only_replies = True

    results = await rig.provider.write(
        H, Action.ADD, [WriteRequest(MATRIX, Watched.from_plays([at(0)]))]
    )

    assert [r.outcome for r in results] == [WriteOutcome.UNKNOWN]


async def test_a_2xx_write_reply_that_is_not_json_leaves_every_outcome_unknown(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig = await make_rig(serve, session)
    original = rig.client.request

    async def garbled(method: str, path: str, **kwargs: object) -> Response:
        reply = await original(method, path, **kwargs)  # type: ignore[arg-type]
        return replace(reply, body=b"<html>Created</html>") if method == "POST" else reply

    rig.client.request = garbled  # type: ignore[method-assign]
    results = await rig.provider.write(
        H, Action.ADD, [WriteRequest(MATRIX, Watched.from_plays([at(0)]))]
    )

    # Trakt took the request (a 2xx); what it did item by item, the body no longer says.
    assert [r.outcome for r in results] == [WriteOutcome.UNKNOWN]
    assert len(rig.sim.history) == 1


async def test_a_lost_reply_to_a_history_add_is_an_unknown_outcome_sent_once(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig = await make_rig(serve, session)
    rig.sim.quirks.write_errors = 1  # applied, then 503

    with pytest.raises(OutcomeUnknownError):
        await rig.provider.write(H, Action.ADD, [WriteRequest(MATRIX, Watched.from_plays([at(0)]))])

    assert [r.path for r in rig.app_requests if r.method == "POST"] == ["/sync/history"]
    assert len(rig.sim.history) == 1


async def test_a_watchlist_add_whose_every_reply_is_lost_is_an_unknown_outcome(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig = await make_rig(serve, session)
    rig.sim.quirks.write_errors = 4  # every attempt is applied, then answers 503

    with pytest.raises(OutcomeUnknownError):
        await rig.provider.write(W, Action.ADD, [WriteRequest(HEAT, Listed())])

    assert [row["ref"] for row in rig.sim.watchlist] == [("movie", 2)]  # listing is idempotent


async def test_a_history_add_that_times_out_is_an_unknown_outcome_sent_once(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig = await make_rig(serve, session, retry=RetryPolicy(backoff=0, timeout=0.2))
    rig.sim.quirks.write_delay = 0.6  # stored at once, answered after the client gave up

    with pytest.raises(OutcomeUnknownError, match="in time"):
        await rig.provider.write(
            H, Action.ADD, [WriteRequest(episode(1, 1), Watched.from_plays([at(0)]))]
        )

    assert [r.path for r in rig.app_requests if r.method == "POST"] == ["/sync/history"]
    assert [play["ref"] for play in rig.sim.history] == [("episode", 101)]


# Two reads late is within the provider's settle reads; five is beyond them.
@pytest.mark.parametrize("late", [2, 5])
async def test_a_lost_history_reply_while_trakt_lags_never_duplicates_a_play(
    services: Services,  # noqa: F811 - the fixture imported above
    late: int,
) -> None:
    s = services
    s.simkl_sim.user_lists(100, "completed", watched_at=MATRIX_WATCHED)
    s.simkl_sim.user_lists(200, "watching", episodes={(1, 1): DARK_1, (1, 2): DARK_2})
    s.trakt_sim.quirks.write_errors = 1  # the play POST is stored, its reply lost (503)
    s.trakt_sim.quirks.visible_after_reads = late  # and Trakt's lists show it that many reads late
    spec = PairSpec("simkl-trakt", SyncMode.ADD_ONLY, frozenset({H}))

    first = await s.run(spec, s.simkl, s.trakt)
    later = [await s.run(spec, s.simkl, s.trakt) for _ in range(late + 3)]

    assert first.status is RunStatus.PARTIAL  # the lost reply is reported ...
    assert first.features[H].errors == 1
    assert first.features[H].applied == 3  # ... and its writes wait as unknown, not failed
    expected = {
        ("movie", 1): [trakt_sim.stamp(MATRIX_WATCHED)],
        ("episode", 101): [trakt_sim.stamp(DARK_1)],
        ("episode", 102): [trakt_sim.stamp(DARK_2)],
    }
    plays: dict[tuple[str, int], list[str]] = {}
    for row in s.trakt_sim.history:
        plays.setdefault(tuple(row["ref"]), []).append(row["watched_at"])
    assert plays == expected
    assert [r.features[H].applied for r in later] == [0] * len(later)
    # Once Trakt shows the plays, they are verified: no longer pending, never phantoms.
    assert later[-1].status is RunStatus.SUCCESS, later[-1].errors
    assert later[-1].plan.is_empty
    assert later[-1].features[H].phantoms == 0
    assert later[-1].events == ()
