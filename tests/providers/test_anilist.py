"""The AniList GraphQL client against the simulator, over loopback."""

from base64 import urlsafe_b64encode
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import date
import json
from typing import Any

import aiohttp
from aiohttp import web
from graphql import GraphQLSchema, parse, validate
import pytest

from custom_components.crosswatch.clients.anilist.client import (
    API_URL,
    PER_CHUNK,
    REQUESTS_PER_MINUTE,
    AniListClient,
    GraphQLError,
    authorize_url,
    tokens_from_pin,
    validate_token,
)
from custom_components.crosswatch.clients.anilist.models import EntryChange, ScoreFormat
from custom_components.crosswatch.clients.anilist.queries import COLLECTION_QUERY, DOCUMENTS
from custom_components.crosswatch.clients.errors import (
    CrossWatchAuthenticationError,
    CrossWatchClientError,
    CrossWatchRateLimitError,
)
from custom_components.crosswatch.clients.http import RetryPolicy, Throttle
from tests.simulators.anilist import (
    ALICE_ID,
    ALICE_TOKEN,
    RATE_LIMIT,
    FakeTime,
    Fault,
    Sim,
    document_problems,
    load_schema,
    start_sim,
)
from tests.simulators.openapi import specs_dir

type Serve = Callable[[web.Application], Awaitable[str]]

# Loopback only: the simulator runs in this process.
pytestmark = pytest.mark.usefixtures("socket_enabled")


def official_schema() -> GraphQLSchema:
    """AniList's published schema; skips the test when the shared specs are absent."""
    return load_schema(specs_dir() / "anilist" / "schema.graphql")


@pytest.fixture
async def sim(serve: Serve, session: aiohttp.ClientSession) -> AsyncIterator[Sim]:
    """The simulator seeded with alice's list; afterwards, every client document must be valid."""
    running = await start_sim(serve, session)
    yield running
    running.check_client_documents()


async def canned(serve: Serve, status: int, body: Any, **headers: str) -> str:
    """A server answering every request with one reply: for replies the simulator never sends."""

    async def handle(_request: web.Request) -> web.Response:
        text = body if isinstance(body, str) else json.dumps(body)
        return web.Response(
            status=status, text=text, content_type="application/json", headers=headers
        )

    app = web.Application()
    app.router.add_post("/", handle)
    return await serve(app)


def canned_client(session: aiohttp.ClientSession, url: str) -> AniListClient:
    time = FakeTime()
    return AniListClient(
        session,
        tokens_from_pin("t"),
        base_url=url,
        throttle=Throttle(clock=time.clock, sleep=time.sleep),
        retry=RetryPolicy(backoff=0),
        sleep=time.sleep,
    )


def jwt(claims: dict[str, Any]) -> str:
    def part(data: dict[str, Any]) -> str:
        return urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

    return f"{part({'alg': 'RS256', 'typ': 'JWT'})}.{part(claims)}.signature"


# --- documents -----------------------------------------------------------------------------


def test_every_document_the_client_sends_validates_against_the_official_schema() -> None:
    schema = official_schema()
    for document in DOCUMENTS:
        assert validate(schema, parse(document)) == [], document


def test_the_simulator_executes_the_official_schema_when_the_specs_are_present() -> None:
    path = specs_dir() / "anilist" / "schema.graphql"
    assert load_schema() is load_schema(path)
    assert "MediaTrend" in load_schema().type_map  # far beyond the embedded excerpt


async def test_every_request_of_a_session_validates_against_the_official_schema(
    sim: Sim,
) -> None:
    schema = official_schema()
    client = sim.client()
    viewer = await client.viewer()
    await client.collection_chunk(viewer.id, viewer.score_format, 1)
    await client.lookup([1, 5114])
    await client.save_entry(EntryChange(30, status="PLANNING"), ScoreFormat.POINT_10)
    entry = sim.state.entry_for(ALICE_ID, 30)
    assert entry is not None
    assert await client.delete_entry(entry.id)
    assert len(sim.recorded) == 5
    for request in sim.recorded:
        assert request.method == "POST"
        assert request.path == "/"
        assert document_problems(schema, request) == []


async def test_an_invalid_document_is_refused_like_anilist_does(sim: Sim) -> None:
    client = sim.client()
    with pytest.raises(GraphQLError) as caught:
        await client.execute("query { Viewer { id nickname } }")
    assert caught.value.status == 400
    assert "nickname" in str(caught.value)
    assert not caught.value.not_found


# --- authentication ------------------------------------------------------------------------


def test_authorize_url_opens_the_implicit_grant_that_shows_a_pin_token() -> None:
    assert authorize_url("1234") == (
        "https://anilist.co/api/v2/oauth/authorize?client_id=1234&response_type=token"
    )


def test_a_pasted_jwt_token_expires_when_its_exp_claim_says() -> None:
    token = jwt({"aud": "1234", "exp": 1_767_225_600, "sub": "5000001"})
    tokens = tokens_from_pin(f"  {token}\n")
    assert tokens.access_token == token
    assert tokens.refresh_token is None
    assert tokens.expires_at == 1_767_225_600.0


@pytest.mark.parametrize(
    "token",
    [
        "opaque-token",
        "a.!!!not-base64!!!.c",
        jwt({"sub": "1"}),
        jwt({"exp": True}),
        jwt({"exp": "soon"}),
        "a." + urlsafe_b64encode(b"[1, 2]").decode() + ".c",
    ],
)
def test_a_token_without_a_readable_expiry_never_expires_on_our_side(token: str) -> None:
    assert tokens_from_pin(token).expires_at is None


def test_an_empty_pasted_token_is_refused_before_any_request() -> None:
    with pytest.raises(ValueError, match="empty"):
        tokens_from_pin("   ")


async def test_validating_a_token_names_the_account_and_its_score_format(
    sim: Sim, session: aiohttp.ClientSession
) -> None:
    viewer = await validate_token(session, ALICE_TOKEN, base_url=sim.url)
    assert (viewer.id, viewer.name) == (ALICE_ID, "alice")
    assert viewer.score_format is ScoreFormat.POINT_10_DECIMAL


async def test_validating_an_unknown_token_is_an_auth_error(
    sim: Sim, session: aiohttp.ClientSession
) -> None:
    with pytest.raises(CrossWatchAuthenticationError, match="Invalid token"):
        await validate_token(session, "stolen", base_url=sim.url, retry=RetryPolicy(backoff=0))


async def test_validating_an_empty_paste_is_an_auth_error_without_a_request(
    sim: Sim, session: aiohttp.ClientSession
) -> None:
    with pytest.raises(CrossWatchAuthenticationError, match="empty"):
        await validate_token(session, " ", base_url=sim.url)
    assert sim.state.requests == 0


def test_the_client_talks_to_graphql_anilist_co_unless_told_otherwise() -> None:
    assert API_URL == "https://graphql.anilist.co"


async def test_a_token_that_expires_mid_run_is_an_auth_error(sim: Sim) -> None:
    client = sim.client()
    sim.state.quirks.token_expires_after = 1
    await client.viewer()
    with pytest.raises(CrossWatchAuthenticationError):
        await client.viewer()


async def test_a_401_inside_a_200_body_is_an_auth_error_too(sim: Sim) -> None:
    client = sim.client()
    sim.state.quirks.token_expires_after = 0
    sim.state.quirks.expired_http_status = 200
    with pytest.raises(CrossWatchAuthenticationError, match="Invalid token"):
        await client.viewer()


async def test_a_viewer_query_without_a_token_is_an_auth_error(
    sim: Sim, session: aiohttp.ClientSession
) -> None:
    async with session.post(sim.url, json={"query": "query { Viewer { id } }"}) as reply:
        assert reply.status == 401
        body = await reply.json()
    assert body["errors"][0] == {"message": "Unauthorized.", "status": 401, "locations": [
        {"line": 1, "column": 9}
    ]}  # fmt: skip


# --- queries -------------------------------------------------------------------------------


async def test_the_viewer_query_gives_id_name_and_score_format(sim: Sim) -> None:
    viewer = await sim.client().viewer()
    assert (viewer.id, viewer.name, viewer.score_format) == (
        ALICE_ID,
        "alice",
        ScoreFormat.POINT_10_DECIMAL,
    )


async def test_the_collection_is_the_anime_list_with_scores_in_the_asked_format(
    sim: Sim,
) -> None:
    chunk = await sim.client().collection_chunk(ALICE_ID, ScoreFormat.POINT_5, 1)
    by_media = {entry.media_id: entry for entry in chunk.entries}
    assert set(by_media) == {1, 5114, 21519, 16498, 20958, 21, 9253}  # not the manga
    bebop = by_media[1]
    assert (bebop.status, bebop.score, bebop.progress, bebop.repeat) == ("COMPLETED", 5, 26, 1)
    assert bebop.completed_at is not None
    assert bebop.completed_at.isoformat() == "2021-03-04"
    assert (bebop.title, bebop.year, bebop.id_mal, bebop.format) == (
        "Cowboy Bebop", 1998, 1, "TV"
    )  # fmt: skip
    assert by_media[21519].format == "MOVIE"
    assert by_media[9253].score == 3
    assert not chunk.has_next
    assert chunk.malformed == 0
    body = sim.recorded[-1].body
    assert body["query"] == COLLECTION_QUERY
    assert body["variables"] == {
        "userId": ALICE_ID,
        "format": "POINT_5",
        "chunk": 1,
        "perChunk": PER_CHUNK,
    }


async def test_chunks_report_whether_another_follows(sim: Sim) -> None:
    client = sim.client()
    first = await client.collection_chunk(ALICE_ID, ScoreFormat.POINT_100, 1, 4)
    second = await client.collection_chunk(ALICE_ID, ScoreFormat.POINT_100, 2, 4)
    assert first.has_next
    assert not second.has_next
    assert len(first.entries) == 4
    assert len(second.entries) == 3
    assert {e.id for e in first.entries}.isdisjoint({e.id for e in second.entries})


async def test_the_lookup_gives_the_viewer_and_each_media_with_its_entry(sim: Sim) -> None:
    lookup = await sim.client().lookup([1, 30, 424242])
    assert lookup.viewer.id == ALICE_ID
    assert set(lookup.media) == {1, 30}
    bebop = lookup.media[1].entry
    assert bebop is not None
    assert (bebop.status, bebop.progress, bebop.repeat, bebop.score_raw) == (
        "COMPLETED", 26, 1, 90
    )  # fmt: skip
    assert lookup.media[30].entry is None
    assert lookup.media[30].episodes == 26


# --- mutations -----------------------------------------------------------------------------


async def test_save_creates_an_entry_and_answers_with_what_it_stored(sim: Sim) -> None:
    saved = await sim.client().save_entry(
        EntryChange(
            30,
            status="COMPLETED",
            progress=99,
            repeat=2,
            score_raw=73,
            completed_at=date(2024, 5, 6),
        ),
        ScoreFormat.POINT_100,
    )
    assert saved is not None
    assert (saved.status, saved.progress, saved.repeat, saved.score) == ("COMPLETED", 26, 2, 73)
    stored = sim.state.entry_for(ALICE_ID, 30)
    assert stored is not None
    assert stored.completed_at == (2024, 5, 6)
    assert sim.state.mutations == ["SaveMediaListEntry"]


async def test_save_with_an_unknown_media_is_a_validation_error_naming_the_argument(
    sim: Sim,
) -> None:
    with pytest.raises(GraphQLError) as caught:
        await sim.client().save_entry(EntryChange(999999, status="PLANNING"))
    assert caught.value.invalid
    assert "mediaId: The selected media id is invalid." in str(caught.value)


async def test_deleting_an_entry_that_is_gone_is_not_found(sim: Sim) -> None:
    with pytest.raises(GraphQLError) as caught:
        await sim.client().delete_entry(987654)
    assert caught.value.not_found


async def test_a_media_that_does_not_exist_is_not_found(sim: Sim) -> None:
    with pytest.raises(GraphQLError) as caught:
        await sim.client().execute("query ($id: Int) { Media(id: $id) { id } }", {"id": 999})
    assert caught.value.status == 404
    assert "Not Found." in str(caught.value)


# --- pacing and faults ---------------------------------------------------------------------


async def test_requests_are_paced_at_thirty_a_minute(sim: Sim) -> None:
    client = sim.client()
    for _ in range(REQUESTS_PER_MINUTE + 1):
        await client.viewer()
    assert sum(sim.time.slept) >= 60
    assert client.requests_made == REQUESTS_PER_MINUTE + 1


async def test_a_client_paced_as_it_is_by_default_is_never_refused_by_anilist(sim: Sim) -> None:
    client = sim.client()
    # A 150-title sync's worth: five minutes of AniList's 30 a minute.
    for _ in range(5 * RATE_LIMIT):
        await client.viewer()
    assert sim.state.refused == 0
    assert client.requests_made == 5 * RATE_LIMIT
    assert sim.time.now >= 4 * 60  # the fifth minute's requests waited for it


async def test_a_client_asking_faster_than_anilist_serves_waits_out_its_retry_after(
    sim: Sim,
) -> None:
    # Paced at the documented 90, three times what AniList serves.
    eager = Throttle(limit=90, window=60, clock=sim.time.clock, sleep=sim.time.sleep)
    client = sim.client(throttle=eager)
    for _ in range(2 * RATE_LIMIT):
        viewer = await client.viewer()
        assert viewer.id == ALICE_ID
    assert sim.state.refused >= 1  # AniList said no ...
    assert sim.time.now >= 60  # ... and the client waited as it said, then went on


async def test_a_429_storm_is_waited_out_for_its_retry_after(sim: Sim) -> None:
    sim.state.quirks.schedule(Fault.RATE_LIMITED, 2)
    sim.state.quirks.retry_after = 7
    viewer = await sim.client().viewer()
    assert viewer.id == ALICE_ID
    assert sum(s for s in sim.time.slept if s > 0) >= 14
    assert sim.state.requests == 3


async def test_a_429_asking_for_more_than_a_minute_is_a_rate_limit_error(sim: Sim) -> None:
    sim.state.quirks.schedule(Fault.RATE_LIMITED)
    sim.state.quirks.retry_after = 600
    with pytest.raises(CrossWatchRateLimitError) as caught:
        await sim.client().viewer()
    assert caught.value.retry_after == 600


async def test_a_storm_longer_than_the_retries_is_a_rate_limit_error(sim: Sim) -> None:
    sim.state.quirks.schedule(Fault.RATE_LIMITED, 4)
    with pytest.raises(CrossWatchRateLimitError):
        await sim.client().viewer()


async def test_a_spent_budget_holds_the_next_request_until_the_reset(sim: Sim) -> None:
    client = sim.client()
    sim.state.quirks.remaining = 0
    await client.viewer()
    sim.state.quirks.remaining = None
    await client.viewer()
    assert sim.time.slept
    assert 25 <= max(sim.time.slept) <= 30


async def test_server_errors_are_retried(sim: Sim) -> None:
    sim.state.quirks.schedule(Fault.SERVER_ERROR)
    sim.state.quirks.schedule(Fault.BAD_GATEWAY, after=1)
    assert (await sim.client().viewer()).id == ALICE_ID
    assert sim.state.requests == 3


async def test_persistent_server_errors_are_a_provider_error(sim: Sim) -> None:
    sim.state.quirks.schedule(Fault.SERVER_ERROR, 4)
    with pytest.raises(CrossWatchClientError, match="trouble"):
        await sim.client().viewer()


async def test_an_empty_200_is_a_provider_error_not_an_empty_list(sim: Sim) -> None:
    sim.state.quirks.schedule(Fault.EMPTY_200)
    with pytest.raises(CrossWatchClientError, match="empty reply"):
        await sim.client().collection_chunk(ALICE_ID, ScoreFormat.POINT_10, 1)


# --- replies the simulator never sends -----------------------------------------------------


async def test_a_429_inside_a_200_body_is_a_rate_limit_error(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    url = await canned(serve, 200, {"errors": [{"message": "Too Many Requests.", "status": 429}]})
    with pytest.raises(CrossWatchRateLimitError):
        await canned_client(session, url).viewer()


async def test_errors_that_are_not_objects_still_become_a_clear_error(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    url = await canned(serve, 400, {"errors": ["something broke"], "data": None})
    with pytest.raises(GraphQLError, match="something broke") as caught:
        await canned_client(session, url).viewer()
    assert caught.value.status == 400


async def test_an_error_status_without_errors_is_still_an_error(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    url = await canned(serve, 404, {"data": None})
    with pytest.raises(GraphQLError, match="unknown error") as caught:
        await canned_client(session, url).viewer()
    assert caught.value.not_found


async def test_validation_errors_without_a_message_list_the_arguments(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    body = {"errors": [{"status": 422, "validation": {"score": "too high"}}], "data": None}
    url = await canned(serve, 400, body)
    with pytest.raises(GraphQLError, match="score: too high") as caught:
        await canned_client(session, url).viewer()
    assert caught.value.invalid


async def test_a_reply_without_data_is_a_provider_error(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    url = await canned(serve, 200, {"data": None})
    with pytest.raises(CrossWatchClientError, match="without data"):
        await canned_client(session, url).viewer()


async def test_a_missing_viewer_means_the_token_is_not_accepted(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    url = await canned(serve, 200, {"data": {"Viewer": None}})
    with pytest.raises(CrossWatchAuthenticationError):
        await canned_client(session, url).viewer()


@pytest.mark.parametrize(
    ("viewer", "message"),
    [
        ({"id": 1}, "without id or name"),
        ({"id": 1, "name": "x", "mediaListOptions": {"scoreFormat": "POINT_7"}}, "POINT_7"),
    ],
)
async def test_a_viewer_we_cannot_use_is_a_provider_error(
    serve: Serve, session: aiohttp.ClientSession, viewer: dict[str, Any], message: str
) -> None:
    url = await canned(serve, 200, {"data": {"Viewer": viewer}})
    with pytest.raises(CrossWatchClientError, match=message):
        await canned_client(session, url).viewer()


async def test_a_viewer_without_list_options_scores_on_the_100_point_default(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    url = await canned(serve, 200, {"data": {"Viewer": {"id": "7", "name": "x"}}})
    viewer = await canned_client(session, url).viewer()
    assert (viewer.id, viewer.score_format) == (7, ScoreFormat.POINT_100)


async def test_a_collection_missing_from_the_reply_is_a_provider_error(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    url = await canned(serve, 200, {"data": {"MediaListCollection": None}})
    with pytest.raises(CrossWatchClientError, match="no list collection"):
        await canned_client(session, url).collection_chunk(1, ScoreFormat.POINT_10, 1)


async def test_unreadable_entries_are_counted_not_guessed(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    entries = [
        {"id": 1, "mediaId": 10, "status": "PLANNING", "score": True, "repeat": -3, "progress": True,
         "createdAt": 0, "completedAt": {"year": 2020, "month": 2, "day": 30},
         "media": {"title": {"romaji": " ", "english": "Fallback"}, "idMal": "77"}},
        {"id": "x", "mediaId": 11, "status": "PLANNING"},
        {"id": 2, "mediaId": 12},
        "garbage",
        None,
    ]  # fmt: skip
    body = {
        "data": {"MediaListCollection": {"lists": [{"entries": entries}], "hasNextChunk": False}}
    }
    url = await canned(serve, 200, body)
    chunk = await canned_client(session, url).collection_chunk(1, ScoreFormat.POINT_10, 1)
    assert chunk.malformed == 4
    (entry,) = chunk.entries
    assert (entry.title, entry.id_mal, entry.score, entry.repeat, entry.progress) == (
        "Fallback", 77, 0.0, 0, 0
    )  # fmt: skip
    assert entry.created_at is None
    assert entry.completed_at is None
    assert not chunk.has_next


@pytest.mark.parametrize(
    "collection",
    [
        {"lists": [{"entries": []}, "x"], "hasNextChunk": False},  # a list that is no object
        {"lists": [{"entries": "x"}], "hasNextChunk": False},  # entries that are no list
        {"lists": None, "hasNextChunk": False},
        {"hasNextChunk": False},
        {"lists": []},  # whether another chunk follows is unknown
    ],
)
async def test_a_collection_that_lost_its_shape_is_an_error_not_an_empty_chunk(
    serve: Serve, session: aiohttp.ClientSession, collection: dict[str, object]
) -> None:
    url = await canned(serve, 200, {"data": {"MediaListCollection": collection}})
    with pytest.raises(CrossWatchClientError):
        await canned_client(session, url).collection_chunk(1, ScoreFormat.POINT_10, 1)


async def test_a_save_reply_without_an_entry_says_nothing_was_stored(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    url = await canned(serve, 200, {"data": {"SaveMediaListEntry": {"id": 5.0, "status": None}}})
    assert await canned_client(session, url).save_entry(EntryChange(1)) is None


async def test_lookup_skips_media_it_cannot_read(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    media = [
        {"id": None},
        {"id": 3, "episodes": 12.0, "mediaListEntry": {"id": 9, "status": None}},
        {"id": 4, "mediaListEntry": {"id": 10, "status": "PLANNING", "score": 0}},
    ]
    body = {"data": {"Viewer": {"id": 1, "name": "x"}, "Page": {"media": media}}}
    url = await canned(serve, 200, body)
    lookup = await canned_client(session, url).lookup([3, 4])
    assert set(lookup.media) == {3, 4}
    assert lookup.media[3].entry is None
    assert lookup.media[3].episodes == 12
    assert lookup.media[4].entry is not None
    assert lookup.media[4].entry.progress == 0
