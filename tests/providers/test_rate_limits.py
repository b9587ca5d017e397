"""What Trakt and AniList report about their remaining quota, parsed where the replies arrive.

Sources: Trakt's rate-limiting docs (trakt/trakt.apib "Rate Limiting", docs.trakt.tv): an
`X-Ratelimit` JSON object and `Retry-After`; AniList's (AniList/ApiV2-GraphQL-Docs
docs/guide/rate-limiting.md): `X-RateLimit-Limit` and `X-RateLimit-Remaining` on every reply,
`Retry-After` and `X-RateLimit-Reset` on a 429. Plex, Jellyfin, Emby and SIMKL report none.
"""

from datetime import UTC, datetime

import aiohttp
import pytest

from custom_components.crosswatch.clients import trakt as trakt_client
from custom_components.crosswatch.clients.anilist import client as anilist
from custom_components.crosswatch.clients.errors import CrossWatchRateLimitError
from custom_components.crosswatch.clients.http import QuotaLog, RateLimit
from custom_components.crosswatch.engine.payloads import Feature, Listed
from custom_components.crosswatch.engine.plan import Action
from custom_components.crosswatch.engine.provider import RateLimitError, WriteRequest
from custom_components.crosswatch.providers.anilist_provider import AniListProvider
from custom_components.crosswatch.providers.emby import EmbyProvider
from custom_components.crosswatch.providers.jellyfin import JellyfinProvider
from custom_components.crosswatch.providers.plex import PlexProvider
from custom_components.crosswatch.providers.simkl import SimklProvider
from custom_components.crosswatch.providers.trakt import TraktProvider
from tests.providers.conftest import Serve
from tests.providers.test_trakt_provider import MATRIX, make_rig
from tests.simulators.anilist import RATE_LIMIT, Fault, Sim, start_sim

pytestmark = pytest.mark.usefixtures("socket_enabled")

DOCUMENTED = (
    '{"name":"UNAUTHED_API_GET_LIMIT","period":300,"limit":1000,"remaining":0,'
    '"until":"2020-10-10T00:24:00Z"}'
)


# -- parsing -------------------------------------------------------------------------------


def test_trakt_s_documented_header_is_read_whatever_its_case() -> None:
    for name in ("X-Ratelimit", "x-ratelimit", "X-RateLimit"):
        assert trakt_client.parse_rate_limit({name: DOCUMENTED}) == RateLimit(
            remaining=0,
            limit=1000,
            resets_at=datetime(2020, 10, 10, 0, 24, tzinfo=UTC),
            bucket="UNAUTHED_API_GET_LIMIT",
        )


@pytest.mark.parametrize(
    "value",
    [
        "not json",
        "[1, 2]",
        '{"name": "AUTHED_API_GET_LIMIT", "limit": 1000}',
        '{"remaining": "12"}',
        '{"remaining": true}',
    ],
)
def test_an_unreadable_trakt_header_counts_as_absent(value: str) -> None:
    assert trakt_client.parse_rate_limit({"X-Ratelimit": value}) is None
    assert trakt_client.parse_rate_limit({"Retry-After": "10"}) is None


def test_a_trakt_report_keeps_what_it_can_read() -> None:
    report = trakt_client.parse_rate_limit(
        {"X-Ratelimit": '{"remaining": 5, "limit": "lots", "until": "soon"}'}
    )
    assert report == RateLimit(remaining=5)
    naive = trakt_client.parse_rate_limit(
        {"X-Ratelimit": '{"remaining": 5, "until": "2020-10-10T00:24:00"}'}
    )
    assert naive is not None
    assert naive.resets_at == datetime(2020, 10, 10, 0, 24, tzinfo=UTC)


def test_anilist_s_headers_on_a_reply_and_on_a_429() -> None:
    assert anilist.parse_rate_limit(
        {"X-RateLimit-Limit": "90", "X-RateLimit-Remaining": "59"}
    ) == RateLimit(remaining=59, limit=90)
    assert anilist.parse_rate_limit(
        {
            "Retry-After": "30",
            "x-ratelimit-limit": "90",
            "x-ratelimit-remaining": "0",
            "x-ratelimit-reset": "1502035959",
        }
    ) == RateLimit(remaining=0, limit=90, resets_at=datetime.fromtimestamp(1502035959, UTC))
    assert anilist.parse_rate_limit({"X-RateLimit-Limit": "90"}) is None
    assert anilist.parse_rate_limit({"X-RateLimit-Remaining": "many"}) is None


def test_the_log_keeps_the_latest_report_of_each_bucket() -> None:
    log = QuotaLog(trakt_client.parse_rate_limit)
    assert log.latest("AUTHED_API_GET_LIMIT") is None
    log.record({"X-Ratelimit": '{"name": "AUTHED_API_GET_LIMIT", "remaining": 999}'})
    log.record({"X-Ratelimit": '{"name": "AUTHED_API_POST_LIMIT", "remaining": 0}'})
    log.record({"Content-Type": "application/json"})  # no report: nothing forgotten
    log.record({"X-Ratelimit": '{"name": "AUTHED_API_GET_LIMIT", "remaining": 998}'})
    get = log.latest("AUTHED_API_GET_LIMIT")
    post = log.latest("AUTHED_API_POST_LIMIT")
    assert (get and get.remaining, post and post.remaining) == (998, 0)


def test_only_the_services_that_report_a_quota_offer_one() -> None:
    for reporting in (TraktProvider, AniListProvider):
        assert hasattr(reporting, "rate_limit")
    for silent in (PlexProvider, JellyfinProvider, EmbyProvider, SimklProvider):
        assert not hasattr(silent, "rate_limit"), silent


# -- carried up from the simulators ----------------------------------------------------------


async def test_trakt_reports_its_read_quota_not_the_write_pacing(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig = await make_rig(serve, session)
    before = rig.provider.rate_limit  # nothing reported before the first reply

    await rig.provider.health()
    after_health = rig.provider.rate_limit
    await rig.provider.write(Feature.WATCHLIST, Action.ADD, [WriteRequest(MATRIX, Listed())])

    assert before is None
    assert after_health is not None
    assert (after_health.bucket, after_health.limit, after_health.remaining) == (
        "AUTHED_API_GET_LIMIT",
        1000,
        999,
    )
    assert after_health.resets_at is not None
    assert rig.provider.rate_limit == after_health  # the write spent the other bucket


async def test_trakt_s_429_leaves_the_read_quota_at_zero(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig = await make_rig(serve, session)
    await rig.provider.health()
    rig.sim.quirks.rate_limit_storm, rig.sim.quirks.retry_after = 1, 600

    with pytest.raises(RateLimitError):
        await rig.provider.read(Feature.WATCHLIST, None)

    quota = rig.provider.rate_limit
    assert quota is not None
    assert quota.remaining == 0


async def test_trakt_without_the_header_reports_nothing(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig = await make_rig(serve, session)
    rig.sim.quirks.no_ratelimit_header = True
    await rig.provider.health()
    assert rig.provider.rate_limit is None


@pytest.fixture
async def sim(serve: Serve, session: aiohttp.ClientSession) -> Sim:
    return await start_sim(serve, session)


async def test_anilist_reports_every_reply_s_quota(sim: Sim) -> None:
    client = sim.client()
    before = client.rate_limit

    await client.viewer()
    first = client.rate_limit
    await client.viewer()

    assert before is None
    # AniList serves 30 a minute (RATE_LIMIT) and counts each reply against it.
    assert first == RateLimit(remaining=RATE_LIMIT - 1, limit=RATE_LIMIT)
    assert client.rate_limit == RateLimit(remaining=RATE_LIMIT - 2, limit=RATE_LIMIT)


async def test_anilist_s_429_reports_an_empty_quota_and_when_it_refills(sim: Sim) -> None:
    client = sim.client()
    sim.state.quirks.schedule(Fault.RATE_LIMITED)
    sim.state.quirks.retry_after = 600

    with pytest.raises(CrossWatchRateLimitError):
        await client.viewer()

    quota = client.rate_limit
    assert quota is not None
    assert (quota.remaining, quota.limit) == (0, RATE_LIMIT)
    assert quota.resets_at == datetime.fromtimestamp(sim.state.now + 600, UTC)
