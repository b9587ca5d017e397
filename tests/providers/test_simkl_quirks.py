"""The SIMKL simulator's quirks for combined-quirk runs do what `SimklQuirks` documents.

These speak raw HTTP to the simulator, so they hold whatever the client does with the replies.
"""

from typing import Any

import aiohttp
import pytest

from tests.providers.conftest import Serve
from tests.providers.test_simkl_support import seeded_state
from tests.simulators.simkl import CLIENT_ID, TOKEN, SimklState, simkl_app

# The simulator listens on loopback.
pytestmark = pytest.mark.usefixtures("socket_enabled")

HEADERS = {"simkl-api-key": CLIENT_ID, "Authorization": f"Bearer {TOKEN}"}
APP = {"app-name": "quirk-tests", "app-version": "1"}  # what SIMKL asks every request to name


class Raw:
    """Plain requests to one simulator."""

    def __init__(self, session: aiohttp.ClientSession, base: str) -> None:
        self.session, self.base = session, base

    async def get(self, path: str, **params: str) -> Any:
        async with self.session.get(
            self.base + path, params=APP | params, headers=HEADERS
        ) as reply:
            assert reply.status == 200
            return await reply.json(content_type=None)

    async def post(self, path: str, body: dict[str, Any] | None = None) -> Any:
        async with self.session.post(
            self.base + path, json=body, params=APP, headers=HEADERS
        ) as reply:
            assert reply.status == 200
            return await reply.json(content_type=None)


async def raw(serve: Serve, session: aiohttp.ClientSession, state: SimklState) -> Raw:
    return Raw(session, await serve(simkl_app(state)))


async def test_missing_activity_sections_leave_those_buckets_out_of_the_activities(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    state = seeded_state()
    sim = await raw(serve, session, state)
    state.quirks.missing_activity_sections = ("movies", "anime")

    body = await sim.get("/sync/activities")

    assert "movies" not in body
    assert "anime" not in body
    assert body["tv_shows"]["watching"] is not None


async def test_unrelated_activity_moves_stamps_for_n_calls_without_changing_content(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    state = seeded_state()
    sim = await raw(serve, session, state)
    before = await sim.get("/sync/activities")
    items = await sim.get("/sync/all-items/movies")
    state.quirks.unrelated_activity = 1

    moved = await sim.get("/sync/activities")
    again = await sim.get("/sync/activities")

    for section in ("movies", "tv_shows", "anime"):
        for key in ("plantowatch", "removed_from_list", "rated_at", "all"):
            assert moved[section][key] != before[section][key], (section, key)
    assert moved == again  # only N calls move stamps
    assert await sim.get("/sync/all-items/movies") == items


async def test_malformed_bodies_serve_undocumented_shapes_in_turn(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    state = seeded_state()
    sim = await raw(serve, session, state)
    good = await sim.get("/sync/all-items/movies")
    state.quirks.malformed_bodies = 3

    shapes = [
        await sim.get("/sync/all-items/movies"),
        await sim.post("/sync/ratings/movies"),
        await sim.get("/sync/all-items/movies"),
    ]

    assert shapes == [{"movies": None}, {"movies": "temporarily unavailable"}, good["movies"]]
    assert await sim.get("/sync/all-items/movies") == good


async def test_drop_writes_answers_ok_and_stores_every_second_object(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    state = seeded_state()
    sim = await raw(serve, session, state)
    for simkl, title in ((400, "A"), (401, "B"), (402, "C"), (403, "D")):
        state.add_title("movies", simkl, title, 2000, imdb=f"tt0000{simkl}")
    state.quirks.drop_writes = True
    stamps = state.activities["movies"]["plantowatch"]

    reply = await sim.post(
        "/sync/add-to-list",
        {"movies": [{"ids": {"imdb": f"tt0000{n}"}, "to": "plantowatch"} for n in range(400, 404)]},
    )
    rated = await sim.post("/sync/ratings", {"movies": [{"ids": {"simkl": 102}, "rating": 5}]})
    await sim.post("/sync/ratings", {"movies": [{"ids": {"simkl": 101}, "rating": 5}]})

    assert reply == {"ok": True}
    assert rated == {"ok": True}
    assert {n for n in range(400, 404) if n in state.lists} == {400, 402}
    assert state.lists[102].rating == 5  # the 5th object is stored (and listed by its rating)
    assert state.lists[101].rating is None  # the 6th is dropped
    assert state.activities["movies"]["plantowatch"] != stamps  # the stored ones moved it


async def test_tiny_bodies_cut_full_pulls_to_two_rows_and_leave_deltas_alone(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    state = seeded_state()
    sim = await raw(serve, session, state)
    state.user_lists(102, "plantowatch")
    full = await sim.get("/sync/all-items/movies")
    state.quirks.tiny_bodies = 2

    delta = await sim.get("/sync/all-items/movies", date_from="2024-01-01T00:00:00Z")
    tiny = await sim.get("/sync/all-items/movies")
    ratings = await sim.post("/sync/ratings/movies")

    assert len(full["movies"]) == 3
    assert delta == full  # every row changed after the date: a delta is never cut
    assert tiny == {"movies": full["movies"][:2]}
    assert len(ratings["movies"]) == 1  # only one rated movie: nothing to cut
    assert await sim.get("/sync/all-items/movies") == full


async def test_lost_write_replies_store_the_write_and_answer_503(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    state = seeded_state()
    base = await serve(simkl_app(state))
    state.quirks.lost_write_replies = 2
    body = {"movies": [{"ids": {"simkl": 102}, "to": "plantowatch"}]}

    async with session.post(
        f"{base}/sync/add-to-list", json=body, params=APP, headers=HEADERS
    ) as reply:
        assert reply.status == 503
    async with session.post(
        f"{base}/sync/history/remove", json=body, params=APP, headers=HEADERS
    ) as reply:
        assert reply.status == 503

    assert 102 not in state.lists  # stored by the add, then removed: both were applied
    assert state.activities["movies"]["removed_from_list"] is not None
    async with session.post(
        f"{base}/sync/add-to-list", json=body, params=APP, headers=HEADERS
    ) as reply:
        assert reply.status == 200
    assert state.lists[102].status == "plantowatch"
