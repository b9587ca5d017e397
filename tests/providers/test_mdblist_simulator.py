"""The MDBList simulator behaves as `shared/specs/mdblist/README.md` says MDBList does."""

from datetime import timedelta

import aiohttp
import pytest

from tests.providers.conftest import Serve
from tests.providers.test_mdblist_support import make_rig
from tests.simulators.mdblist import WINDOW_WRITES, MdblistState, mdblist_app

pytestmark = pytest.mark.usefixtures("socket_enabled")
type Json = object


async def _get(session: aiohttp.ClientSession, url: str, **params: str) -> tuple[int, Json, str]:
    async with session.get(url, params=params) as reply:
        body = await reply.json() if reply.content_type == "application/json" else None
        return reply.status, body, reply.headers.get("Retry-After", "")


async def _post(session: aiohttp.ClientSession, url: str, body: Json, key: str) -> tuple[int, Json]:
    async with session.post(url, params={"apikey": key}, json=body) as reply:
        return reply.status, await reply.json() if reply.status == 200 else None


async def test_a_request_without_the_right_api_key_is_refused_with_401(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig = await make_rig(serve, session)
    assert (await _get(session, f"{rig.base}/user"))[0] == 401
    assert (await _get(session, f"{rig.base}/user", apikey="wrong"))[0] == 401
    status, body, _ = await _get(session, f"{rig.base}/user", apikey=rig.state.api_key)
    assert status == 200
    assert isinstance(body, dict)
    assert body["username"] == "andrea"


async def test_a_free_account_gets_1000_requests_a_day_then_waits_until_midnight_utc(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    state = MdblistState()  # free tier, at 12:00 UTC
    base = await serve(mdblist_app(state))
    state.day = state.now.replace(hour=0)
    state.used_today = 998  # the account made 998 requests earlier today
    status, body, _ = await _get(session, f"{base}/user", apikey=state.api_key)
    assert status == 200
    assert isinstance(body, dict)
    assert (body["api_requests"], body["api_requests_count"]) == (1000, 999)
    assert (await _get(session, f"{base}/sync/watched", apikey=state.api_key))[0] == 200

    status, _, retry_after = await _get(session, f"{base}/sync/watched", apikey=state.api_key)
    assert status == 429
    assert int(retry_after) == 12 * 3600 + 1  # until midnight UTC, hours away

    state.advance(12 * 3600 + 1)
    assert (await _get(session, f"{base}/sync/watched", apikey=state.api_key))[0] == 200


async def test_300_writes_in_five_minutes_are_answered_then_429_until_the_window_moves(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    state = MdblistState(tier="vip")
    base = await serve(mdblist_app(state))
    url = f"{base}/watchlist/items/remove"
    for _ in range(WINDOW_WRITES):
        assert (await _post(session, url, {"movies": []}, state.api_key))[0] == 200
    async with session.post(url, params={"apikey": state.api_key}, json={}) as reply:
        assert reply.status == 429
        assert 0 < int(reply.headers["Retry-After"]) <= 301
    state.advance(timedelta(minutes=5).total_seconds())
    assert (await _post(session, url, {"movies": []}, state.api_key))[0] == 200


async def test_watchlist_writes_match_imdb_or_tmdb_ids_only(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig = await make_rig(serve, session)
    url, key = f"{rig.base}/watchlist/items/add", rig.state.api_key
    # Heat by its mdblist slug: not matched.
    status, body = await _post(session, url, {"movies": [{"mdblist": "c1hz"}]}, key)
    assert status == 200
    assert body == {
        "added": {"movies": 0, "shows": 0},
        "existing": {"movies": 0, "shows": 0},
        "not_found": {"movies": 1, "shows": 0},
    }
    status, body = await _post(session, url, {"movies": [{"tmdb": 949}]}, key)
    assert isinstance(body, dict)
    assert body["added"] == {"movies": 1, "shows": 0}
    assert "c1hz" in rig.state.watchlist


async def test_sync_watched_keeps_only_the_latest_watched_state(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig = await make_rig(serve, session)
    url, key = f"{rig.base}/sync/watched", rig.state.api_key
    heat = {"ids": {"imdb": "tt0113277"}}
    later, earlier = "2024-02-01T20:00:00Z", "2023-01-01T20:00:00Z"
    _, first = await _post(session, url, {"movies": [heat | {"watched_at": later}]}, key)
    _, second = await _post(session, url, {"movies": [heat | {"watched_at": earlier}]}, key)
    assert isinstance(first, dict)
    assert isinstance(second, dict)
    assert first["added"]["movies"] == 1
    assert second["updated"]["movies"] == 1

    _, body, _ = await _get(session, url, apikey=key)
    assert isinstance(body, dict)
    heats = [r for r in body["movies"] if r["movie"]["title"] == "Heat"]
    assert heats == [{"movie": heats[0]["movie"], "last_watched_at": "2024-02-01T20:00:00.000Z"}]


async def test_pages_say_whether_more_follow_and_the_watchlist_its_totals(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig = await make_rig(serve, session)
    url, key = f"{rig.base}/watchlist/items", rig.state.api_key
    _, first, _ = await _get(session, url, apikey=key, offset="0", limit="1")
    _, second, _ = await _get(session, url, apikey=key, offset="1", limit="1")
    assert isinstance(first, dict)
    assert isinstance(second, dict)
    assert [r["title"] for r in first["movies"] + first["shows"]] == ["Inception"]
    assert first["pagination"] == {"has_more": True, "total_movies": 1, "total_shows": 1}
    assert [r["title"] for r in second["movies"] + second["shows"]] == ["Dark"]
    assert second["pagination"]["has_more"] is False
    # Watchlist rows carry the TMDb id as `id`.
    assert second["shows"][0]["id"] == 70523


async def test_an_unknown_episode_of_a_known_show_is_not_found(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig = await make_rig(serve, session)
    dark = {"ids": {"tmdb": 70523}, "seasons": [{"number": 1, "episodes": [{"number": 9}]}]}
    status, body = await _post(
        session, f"{rig.base}/sync/watched", {"shows": [dark]}, rig.state.api_key
    )
    assert status == 200
    assert isinstance(body, dict)
    assert body["not_found"]["episodes"] == [{"ids": {"tmdb": 70523}, "season": 1, "number": 9}]
    assert body["added"]["episodes"] == 0
