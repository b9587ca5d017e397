"""The AniList simulator itself: it must refuse and answer what AniList refuses and answers."""

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLObjectType,
    build_schema,
)
import pytest

from tests.simulators.anilist import (
    ALICE_ID,
    ALICE_TOKEN,
    FALLBACK_SDL,
    MAX_PER_PAGE,
    RATE_LIMIT,
    Sim,
    format_from_raw,
    load_schema,
    raw_from_format,
    start_sim,
)
from tests.simulators.openapi import specs_dir

type Serve = Callable[[web.Application], Awaitable[str]]

# Loopback only: the simulator runs in this process.
pytestmark = pytest.mark.usefixtures("socket_enabled")


@pytest.fixture
async def sim(serve: Serve, session: aiohttp.ClientSession) -> Sim:
    return await start_sim(serve, session)


async def post(
    sim: Sim, query: str, variables: dict[str, Any] | None = None, token: str | None = ALICE_TOKEN
) -> tuple[int, dict[str, Any]]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with sim.session.post(
        sim.url, json={"query": query, "variables": variables or {}}, headers=headers
    ) as reply:
        return reply.status, await reply.json()


def test_the_embedded_schema_is_a_faithful_excerpt_of_the_official_one() -> None:
    official = load_schema(specs_dir() / "anilist" / "schema.graphql")
    excerpt = build_schema(FALLBACK_SDL)
    for name, kind in excerpt.type_map.items():
        if name.startswith("__"):
            continue
        original = official.type_map[name]
        assert type(original) is type(kind), name
        if isinstance(kind, GraphQLEnumType):
            assert set(kind.values) <= set(original.values), name  # type: ignore[attr-defined]
        if isinstance(kind, GraphQLObjectType | GraphQLInputObjectType):
            for field_name, field in kind.fields.items():
                theirs = original.fields[field_name]  # type: ignore[attr-defined]
                assert str(theirs.type) == str(field.type), f"{name}.{field_name}"
                for arg_name, arg in getattr(field, "args", {}).items():
                    assert str(theirs.args[arg_name].type) == str(arg.type), (
                        f"{name}.{field_name}({arg_name})"
                    )


def test_without_the_specs_the_simulator_falls_back_to_the_excerpt(tmp_path: Path) -> None:
    schema = load_schema(tmp_path / "absent.graphql")
    assert "MediaTrend" not in schema.type_map
    assert "MediaListCollection" in schema.type_map


async def test_a_request_without_a_query_is_refused(sim: Sim) -> None:
    async with sim.session.post(sim.url, data=b"not json") as reply:
        assert reply.status == 400
        body = await reply.json()
    assert body["errors"][0]["message"] == "Must provide query string."


async def test_an_unknown_argument_is_a_400_with_its_location(sim: Sim) -> None:
    status, body = await post(sim, "query { Viewer { id } Media(shoeSize: 3) { id } }")
    assert status == 400
    assert body["data"] is None
    error = body["errors"][0]
    assert "shoeSize" in error["message"]
    assert error["status"] == 400
    assert error["locations"] == [{"line": 1, "column": 29}]


async def test_the_collection_needs_a_media_type_and_a_known_user(sim: Sim) -> None:
    status, body = await post(
        sim, "query { MediaListCollection(userId: 5000001) { hasNextChunk } }"
    )
    assert status == 400
    assert body["errors"][0]["validation"] == {"type": ["The type field is required."]}
    status, body = await post(
        sim, "query { MediaListCollection(userId: 1, type: ANIME) { hasNextChunk } }"
    )
    assert status == 404


async def test_the_collection_can_be_asked_by_user_name_and_unchunked(sim: Sim) -> None:
    status, body = await post(
        sim,
        'query { MediaListCollection(userName: "alice", type: ANIME) '
        "{ hasNextChunk user { name } lists { name isCustomList entries { mediaId } } } }",
        token=None,
    )
    assert status == 200
    collection = body["data"]["MediaListCollection"]
    assert collection["user"] == {"name": "alice"}
    assert collection["hasNextChunk"] is False
    assert [group["name"] for group in collection["lists"]] == [
        "Watching", "Completed", "Paused", "Dropped", "Planning"
    ]  # fmt: skip


async def test_media_is_found_by_id_or_mal_id_and_shows_the_viewers_entry(sim: Sim) -> None:
    query = "query ($mal: Int) { Media(idMal: $mal, type: ANIME) { id mediaListEntry { status } } }"
    status, body = await post(sim, query, {"mal": 32281})
    assert status == 200
    assert body["data"]["Media"] == {"id": 21519, "mediaListEntry": {"status": "COMPLETED"}}
    status, body = await post(sim, query, {"mal": 32281}, token=None)
    assert body["data"]["Media"]["mediaListEntry"] is None
    status, _ = await post(sim, "query { Media(id: 30002, type: ANIME) { id } }")
    assert status == 404


async def test_pages_filter_media_and_cap_the_page_size(sim: Sim) -> None:
    status, body = await post(
        sim, "query { Page(page: 1, perPage: 500) { pageInfo { perPage } media(id: 30) { id } } }"
    )
    assert status == 200
    assert body["data"]["Page"] == {"pageInfo": {"perPage": 50}, "media": [{"id": 30}]}


async def test_mutations_need_a_token(sim: Sim) -> None:
    status, body = await post(
        sim, "mutation { DeleteMediaListEntry(id: 1) { deleted } }", token=None
    )
    assert status == 401
    assert body["errors"][0]["message"] == "Unauthorized."


async def test_nobody_saves_or_deletes_another_users_entry(sim: Sim) -> None:
    sim.state.add_user(77, "mallory", "mallory-token")
    entry = sim.state.entry_for(ALICE_ID, 1)
    assert entry is not None
    for mutation in (
        f"mutation {{ SaveMediaListEntry(id: {entry.id}, status: DROPPED) {{ id }} }}",
        f"mutation {{ DeleteMediaListEntry(id: {entry.id}) {{ deleted }} }}",
    ):
        status, _ = await post(sim, mutation, token="mallory-token")
        assert status == 404
    assert entry.status == "COMPLETED"


async def test_save_by_entry_id_updates_that_entry(sim: Sim) -> None:
    entry = sim.state.entry_for(ALICE_ID, 9253)
    assert entry is not None
    status, body = await post(
        sim,
        "mutation ($id: Int) { SaveMediaListEntry(id: $id, status: CURRENT, "
        "startedAt: {year: 2024, month: 1, day: 2}) { status startedAt { year } } }",
        {"id": entry.id},
    )
    assert status == 200
    assert body["data"]["SaveMediaListEntry"] == {"status": "CURRENT", "startedAt": {"year": 2024}}
    assert entry.started_at == (2024, 1, 2)


async def test_an_entry_created_without_a_status_starts_as_current(sim: Sim) -> None:
    status, body = await post(
        sim, "mutation { SaveMediaListEntry(mediaId: 30, progress: 3) { status progress } }"
    )
    assert status == 200
    assert body["data"]["SaveMediaListEntry"] == {"status": "CURRENT", "progress": 3}


@pytest.mark.parametrize(
    ("arguments", "field"),
    [("scoreRaw: 101", "scoreRaw"), ("score: 4", "score")],
)
async def test_scores_out_of_range_are_validation_errors(
    sim: Sim, arguments: str, field: str
) -> None:
    sim.state.users[ALICE_ID].score_format = "POINT_3"
    status, body = await post(
        sim, f"mutation {{ SaveMediaListEntry(mediaId: 1, {arguments}) {{ id }} }}"
    )
    assert status == 400
    assert field in body["errors"][0]["validation"]


@pytest.mark.parametrize(
    ("score_format", "native", "raw"),
    [
        ("POINT_100", 73, 73),
        ("POINT_10_DECIMAL", 7.3, 73),
        ("POINT_10", 7, 70),
        ("POINT_5", 4, 80),
        ("POINT_3", 1, 35),
        ("POINT_3", 2, 60),
        ("POINT_3", 3, 85),
        ("POINT_3", 0, 0),
    ],
)
def test_scores_convert_between_formats_and_the_100_point_scale(
    score_format: str, native: float, raw: float
) -> None:
    assert raw_from_format(native, score_format) == raw
    assert format_from_raw(raw, score_format) == native


# -- the rate limit: 30 a minute, as AniList serves it ------------------------------------------


async def test_the_thirty_first_request_in_a_minute_is_refused_until_the_first_leaves_it(
    sim: Sim,
) -> None:
    remaining = []
    for _ in range(RATE_LIMIT):
        async with sim.session.post(sim.url, json={"query": "{ Viewer { id } }"}) as reply:
            assert reply.status != 429
            assert reply.headers["X-RateLimit-Limit"] == "30"
            remaining.append(int(reply.headers["X-RateLimit-Remaining"]))
        sim.time.now += 1  # one a second: thirty in half a minute
    assert remaining == list(range(RATE_LIMIT - 1, -1, -1))

    async with sim.session.post(sim.url, json={"query": "{ Viewer { id } }"}) as reply:
        assert reply.status == 429
        body = await reply.json()
        headers = reply.headers
    assert body["errors"][0]["status"] == 429
    # The first request was at 0 and it is 30 now: a slot frees at 60.
    assert headers["Retry-After"] == "30"
    assert headers["X-RateLimit-Remaining"] == "0"
    assert int(headers["X-RateLimit-Reset"]) == sim.state.now + 30
    assert sim.state.refused == 1

    sim.time.now = 60.0
    status, _ = await post(sim, "{ Viewer { id } }")
    assert status == 200


async def test_a_page_holds_at_most_fifty_media(sim: Sim) -> None:
    for media_id in range(100_000, 100_080):
        sim.state.add_media(media_id, f"Show {media_id}")
    query = "query ($page: Int) { Page(page: $page, perPage: 80) { media(type: ANIME) { id } } }"

    _, first = await post(sim, query, {"page": 1})
    _, second = await post(sim, query, {"page": 2})

    shown = [m["id"] for page in (first, second) for m in page["data"]["Page"]["media"]]
    assert len(first["data"]["Page"]["media"]) == MAX_PER_PAGE == 50
    assert shown == sorted(m.id for m in sim.state.media.values() if m.type == "ANIME")[:100]
