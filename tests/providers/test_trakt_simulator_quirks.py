"""The Trakt simulator's fault quirks answer as `Quirks` documents them.

A fault harness combines them and trusts each to mean what it says; these checks talk to the
simulator over HTTP with no client of ours in between.
"""

from collections.abc import Mapping
from dataclasses import dataclass
import json

import aiohttp
import pytest

from tests.providers.conftest import Serve
from tests.simulators.trakt import CLIENT_ID, TraktSim, make_app, seed_catalogue

pytestmark = pytest.mark.usefixtures("socket_enabled")


@dataclass
class Api:
    sim: TraktSim
    base: str
    session: aiohttp.ClientSession
    token: str

    async def call(
        self,
        method: str,
        path: str,
        *,
        body: object = None,
        headers: Mapping[str, str] | None = None,
        query: Mapping[str, str] | None = None,
    ) -> tuple[int, Mapping[str, str], bytes]:
        sent = {
            "trakt-api-key": CLIENT_ID,
            "trakt-api-version": "2",
            "Content-Type": "application/json",
            "Authorization": f"Bearer {self.token}",
            **(headers or {}),
        }
        async with self.session.request(
            method, f"{self.base}{path}", json=body, headers=sent, params=query
        ) as reply:
            return reply.status, reply.headers.copy(), await reply.read()  # any case


@pytest.fixture
async def api(serve: Serve, session: aiohttp.ClientSession) -> Api:
    sim = TraktSim(watchlist_limit=1000)
    seed_catalogue(sim)
    for number in range(5):
        sim.add_movie(5000 + number, f"Film {number}", 2000, tmdb=90000 + number)
        sim.seed_watchlist("movie", 5000 + number)
    return Api(sim, await serve(make_app(sim)), session, sim.issue_tokens()["access_token"])


PAGE = {"page": "1", "limit": "250"}
MOVIES = "/sync/watchlist/movies"


async def test_stale_etag_answers_304_to_any_if_none_match_whatever_changed(api: Api) -> None:
    _, headers, _ = await api.call("GET", MOVIES, query=PAGE)
    api.sim.seed_watchlist("movie", 1)
    api.sim.quirks.stale_etag = True

    status, stale, body = await api.call(
        "GET", MOVIES, query=PAGE, headers={"If-None-Match": headers["ETag"]}
    )
    fresh_status, _, fresh = await api.call("GET", MOVIES, query=PAGE)

    assert (status, stale["ETag"], body) == (304, headers["ETag"], b"")
    assert fresh_status == 200
    assert len(json.loads(fresh)) == 6  # without If-None-Match, the list as it is


async def test_unrelated_activity_moves_stamps_and_no_list(api: Api) -> None:
    _, _, before = await api.call("GET", "/sync/last_activities")
    _, _, listed = await api.call("GET", MOVIES, query=PAGE)
    api.sim.quirks.unrelated_activity = True

    _, _, after = await api.call("GET", "/sync/last_activities")
    _, _, listed_after = await api.call("GET", MOVIES, query=PAGE)

    old, new = json.loads(before), json.loads(after)
    for group in ("movies", "shows", "seasons", "episodes"):
        assert new[group]["watchlisted_at"] > old[group]["watchlisted_at"]
        assert new[group]["rated_at"] > old[group]["rated_at"]
    assert new["movies"]["watched_at"] > old["movies"]["watched_at"]
    assert listed_after == listed


async def test_malformed_replies_cycle_through_bodies_that_are_not_a_list(api: Api) -> None:
    api.sim.quirks.malformed_replies = 4
    bodies = [(await api.call("GET", MOVIES, query=PAGE))[2] for _ in range(5)]

    assert bodies[0].startswith(b"<html>")  # 4 left: not JSON at all
    assert json.loads(bodies[1]).keys() == {"items"}  # 3 left: an object where the list goes
    assert bodies[2:4] == [b"null", b"{}"]  # 2 left, 1 left
    assert len(json.loads(bodies[4])) == 5  # spent: the list again


async def test_no_total_header_keeps_the_page_count(api: Api) -> None:
    api.sim.quirks.no_total_header = True

    status, headers, _ = await api.call("GET", MOVIES, query=PAGE)

    assert status == 200
    assert "X-Pagination-Item-Count" not in headers
    assert headers["X-Pagination-Page-Count"] == "1"


async def test_tiny_replies_claim_exactly_the_three_rows_they_hold(api: Api) -> None:
    api.sim.quirks.tiny_replies = 1

    _, headers, body = await api.call("GET", MOVIES, query=PAGE)
    _, _, after = await api.call("GET", MOVIES, query=PAGE)

    assert len(json.loads(body)) == 3
    assert (headers["X-Pagination-Item-Count"], headers["X-Pagination-Page-Count"]) == ("3", "1")
    assert len(json.loads(after)) == 5


async def test_count_only_replies_store_the_write_and_name_nothing_not_found(api: Api) -> None:
    api.sim.quirks.count_only_replies = True

    status, _, body = await api.call(
        "POST", "/sync/watchlist", body={"movies": [{"ids": {"trakt": 1}}, {"ids": {"trakt": 9}}]}
    )

    assert status == 201
    assert "not_found" not in json.loads(body)
    assert ("movie", 1) in {row["ref"] for row in api.sim.watchlist}


async def test_write_delay_answers_late_after_storing_the_write(
    api: Api, session: aiohttp.ClientSession
) -> None:
    api.sim.quirks.write_delay = 0.5

    with pytest.raises(TimeoutError):
        async with session.post(
            f"{api.base}/sync/history",
            json={"movies": [{"ids": {"trakt": 1}, "watched_at": "2020-01-01T00:00:00.000Z"}]},
            headers={
                "trakt-api-key": CLIENT_ID,
                "trakt-api-version": "2",
                "Authorization": f"Bearer {api.token}",
            },
            timeout=aiohttp.ClientTimeout(total=0.1),
        ):
            pass

    assert [play["ref"] for play in api.sim.history] == [("movie", 1)]
