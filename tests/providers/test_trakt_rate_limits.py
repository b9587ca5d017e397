"""Trakt's rate limits, enforced by the simulator and honoured by the client.

One write (POST, PUT, DELETE) a second per user, 1000 GETs every five minutes; over either, a
429 with Retry-After that was not acted on (specs/trakt/trakt.apib, "Rate Limiting").
"""

import json

import aiohttp
import pytest

from custom_components.crosswatch.clients.http import RetryPolicy
from custom_components.crosswatch.clients.tokens import Tokens
from custom_components.crosswatch.clients.trakt import TraktClient
from custom_components.crosswatch.clients.trakt.transport import WRITE_INTERVAL
from custom_components.crosswatch.engine.payloads import Feature, Listed
from custom_components.crosswatch.engine.plan import Action
from custom_components.crosswatch.engine.provider import WriteOutcome, WriteRequest
from custom_components.crosswatch.providers.trakt import TraktProvider
from tests.providers.conftest import Serve
from tests.providers.test_trakt_auth import APP
from tests.providers.test_trakt_provider import HEAT, MATRIX, make_rig
from tests.providers.test_trakt_simulator_quirks import Api
from tests.simulators.trakt import TraktSim, make_app, seed_catalogue

pytestmark = pytest.mark.usefixtures("socket_enabled")

MATRIX_BODY = {"movies": [{"ids": {"trakt": 1}}]}
HEAT_BODY = {"movies": [{"ids": {"trakt": 2}}]}


@pytest.fixture
def now() -> list[float]:
    """The simulator's rate clock, set by hand (seconds)."""
    return [0.0]


@pytest.fixture
async def api(serve: Serve, session: aiohttp.ClientSession, now: list[float]) -> Api:
    sim = TraktSim(watchlist_limit=1000)
    seed_catalogue(sim)
    sim.rate_clock = lambda: now[0]
    return Api(sim, await serve(make_app(sim)), session, sim.issue_tokens()["access_token"])


async def test_a_second_write_within_the_second_is_refused_with_retry_after_and_not_applied(
    api: Api, now: list[float]
) -> None:
    status, _, _ = await api.call("POST", "/sync/watchlist", body=MATRIX_BODY)
    assert status == 201

    now[0] = 0.4
    status, headers, _ = await api.call("POST", "/sync/watchlist", body=HEAT_BODY)
    assert status == 429
    assert headers["Retry-After"] == "1"
    assert json.loads(headers["X-Ratelimit"])["remaining"] == 0
    assert [row["ref"] for row in api.sim.watchlist] == [("movie", 1)]

    now[0] = 1.0
    status, _, _ = await api.call("POST", "/sync/watchlist", body=HEAT_BODY)
    assert status == 201
    assert [row["ref"] for row in api.sim.watchlist] == [("movie", 1), ("movie", 2)]


async def test_reads_are_refused_past_1000_in_five_minutes_until_the_period_ends(
    api: Api, now: list[float]
) -> None:
    api.sim.buckets["GET"].used = 999  # as if 999 GETs had just been made
    api.sim.buckets["GET"].started = api.sim.rate_now()

    assert (await api.call("GET", "/users/settings"))[0] == 200
    now[0] = 120.0
    status, headers, _ = await api.call("GET", "/users/settings")
    assert status == 429
    assert headers["Retry-After"] == "180"
    # Writes have their own bucket.
    assert (await api.call("POST", "/sync/watchlist", body=MATRIX_BODY))[0] == 201

    now[0] = 300.0
    assert (await api.call("GET", "/users/settings"))[0] == 200


async def test_the_client_paces_its_writes_so_trakt_never_has_to_refuse_one(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig = await make_rig(serve, session, TraktSim(watchlist_limit=1000))
    for item in (MATRIX, HEAT):
        results = await rig.provider.write(
            Feature.WATCHLIST, Action.ADD, [WriteRequest(item, Listed())]
        )
        assert [r.outcome for r in results] == [WriteOutcome.CONFIRMED]
    assert len(rig.sim.watchlist) == 2
    assert 429 not in rig.client.http.requests.by_status


async def test_a_write_refused_for_the_rate_is_sent_again_after_retry_after(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    # Two clients of one account, each pacing only itself (two Home Assistant instances, say).
    sim = TraktSim(watchlist_limit=1000)
    seed_catalogue(sim)
    base = await serve(make_app(sim))
    time = sim.client_time()
    providers = [
        TraktProvider(
            TraktClient(
                session,
                APP,
                Tokens.from_oauth_reply(sim.issue_tokens()),
                _ignore,
                base_url=base,
                retry=RetryPolicy(backoff=0),
                sleep=time.sleep,
                clock=time.clock,
            )
        )
        for _ in range(2)
    ]

    first = await providers[0].write(
        Feature.WATCHLIST, Action.ADD, [WriteRequest(MATRIX, Listed())]
    )
    second = await providers[1].write(Feature.WATCHLIST, Action.ADD, [WriteRequest(HEAT, Listed())])

    assert [r.outcome for r in (*first, *second)] == [WriteOutcome.CONFIRMED] * 2
    assert len(sim.watchlist) == 2
    # The Retry-After Trakt sent (1 s), within the client's own spacing of writes, and no more.
    assert [s for s in time.sleeps if s] == [WRITE_INTERVAL]


async def _ignore(tokens: Tokens) -> None:
    return None
