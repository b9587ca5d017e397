"""AniList on a bad day: malformed, empty and tiny list collections, and what the provider keeps.

A 200 whose collection, lists or entries are null, or that is not JSON, is a failed read (the
first chunk raises, a later one makes the read partial), never an empty list. The list is kept
for reuse only when it was read whole, is not empty, and is no shorter than the read before it;
a lookup that answers no media list is an error, not "nothing on the list".
"""

from collections.abc import AsyncIterator, Awaitable, Callable

import aiohttp
from aiohttp import web
import pytest

from custom_components.crosswatch.clients.anilist.models import ScoreFormat
from custom_components.crosswatch.engine.items import MediaItem, MediaType
from custom_components.crosswatch.engine.payloads import Feature
from custom_components.crosswatch.engine.plan import Action
from custom_components.crosswatch.engine.provider import ProviderError, WriteRequest
from custom_components.crosswatch.providers.anilist_provider import AniListProvider
from tests.reads import read_whole
from tests.simulators.anilist import ALICE_ID, Malformed, Sim, start_sim

type Serve = Callable[[web.Application], Awaitable[str]]

pytestmark = pytest.mark.usefixtures("socket_enabled")

W = Feature.WATCHLIST
FILLERS = range(100_000, 100_600)  # more than one chunk of 500


@pytest.fixture
async def sim(serve: Serve, session: aiohttp.ClientSession) -> AsyncIterator[Sim]:
    running = await start_sim(serve, session)
    yield running
    running.check_client_documents()


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def provider_for(sim: Sim) -> AniListProvider:
    return AniListProvider(sim.client(), user_id=ALICE_ID, user_name="alice", clock=Clock())


def fill(sim: Sim) -> None:
    for media_id in FILLERS:
        sim.state.add_media(media_id, f"Filler {media_id}", year=2000)
        sim.state.add_entry(ALICE_ID, media_id, "PLANNING")


# -- malformed collections ------------------------------------------------------------------------


@pytest.mark.parametrize("shape", list(Malformed))
async def test_a_malformed_first_chunk_fails_the_read(sim: Sim, shape: Malformed) -> None:
    quirks = sim.state.quirks
    quirks.malformed_collections, quirks.malformed_shape = 1, shape

    with pytest.raises(ProviderError):
        await provider_for(sim).read(W, None)


@pytest.mark.parametrize("shape", list(Malformed))
async def test_a_malformed_later_chunk_makes_the_read_partial_not_short(
    sim: Sim, shape: Malformed
) -> None:
    fill(sim)
    provider = provider_for(sim)
    original = provider._client.collection_chunk

    async def chunk(*args: object, **kwargs: object) -> object:
        if args[2] == 2:  # the second chunk meets the fault
            sim.state.quirks.malformed_collections = 1
            sim.state.quirks.malformed_shape = shape
        return await original(*args, **kwargs)  # type: ignore[arg-type]

    provider._client.collection_chunk = chunk  # type: ignore[method-assign,assignment]

    read = await read_whole(provider, W, None)

    assert not read.snapshot.complete
    assert "chunk 2 of the list could not be read" in read.snapshot.completeness.describe()


async def test_a_lookup_without_its_media_list_is_an_error_not_an_empty_one(
    sim: Sim, serve: Serve
) -> None:
    async def answer(request: web.Request) -> web.Response:
        viewer = {"id": ALICE_ID, "name": "alice", "mediaListOptions": {"scoreFormat": "POINT_10"}}
        return web.json_response({"data": {"Viewer": viewer, "Page": {"media": None}}})

    app = web.Application()
    app.router.add_post("/", answer)
    client = sim.client()
    client._http.base_url = await serve(app)
    provider = AniListProvider(client, user_id=ALICE_ID, user_name="alice", clock=Clock())
    item = MediaItem.create(MediaType.ANIME, title="Bebop", ids={"anilist": 1})

    # "Not on the list" would confirm the removal of something that may well be there.
    with pytest.raises(ProviderError):
        await provider.write(W, Action.REMOVE, [WriteRequest(item, None)])


# -- the simulator's empty and tiny collections ---------------------------------------------------


async def test_a_tiny_collection_holds_three_entries_and_claims_no_next_chunk(sim: Sim) -> None:
    fill(sim)
    sim.state.quirks.tiny_collections = 1
    scale = ScoreFormat.POINT_10_DECIMAL

    tiny = await sim.client().collection_chunk(ALICE_ID, scale, 1)
    true = await sim.client().collection_chunk(ALICE_ID, scale, 1)

    assert (len(tiny.entries), tiny.has_next) == (3, False)
    assert (len(true.entries), true.has_next) == (500, True)


# -- what the list cache may keep -----------------------------------------------------------------


@pytest.mark.parametrize("fault", ["empty_collections", "tiny_collections"])
async def test_a_list_that_shrank_is_not_reused_the_next_read_asks_again(
    sim: Sim, fault: str
) -> None:
    fill(sim)
    provider = provider_for(sim)
    full = await read_whole(provider, W, None)
    provider.forget_reads(validated=True)  # a fresh read, as the engine asks before a loss
    setattr(sim.state.quirks, fault, 1)
    shrunk = await read_whole(provider, W, None)

    again = await read_whole(provider, W, None)

    assert len(shrunk.snapshot) < len(full.snapshot) == len(again.snapshot)


async def test_an_empty_first_list_is_not_reused(sim: Sim) -> None:
    sim.state.quirks.empty_collections = 1
    provider = provider_for(sim)
    empty = await read_whole(provider, W, None)

    again = await read_whole(provider, W, None)

    assert (len(empty.snapshot), len(again.snapshot) > 0) == (0, True)


async def test_a_list_that_a_second_read_confirms_shorter_is_reused_from_then_on(
    sim: Sim,
) -> None:
    fill(sim)
    provider = provider_for(sim)
    await read_whole(provider, W, None)
    for entry in [e for e in sim.state.entries.values() if e.media_id in FILLERS][:100]:
        del sim.state.entries[entry.id]
    provider.forget_reads()
    await read_whole(provider, W, None)  # shorter: not kept
    await read_whole(provider, W, None)  # as short again: kept
    asked = sim.state.requests

    await read_whole(provider, W, None)

    assert sim.state.requests == asked
