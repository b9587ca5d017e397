"""Jellyfin and Emby on a bad day: malformed, empty and tiny item lists, and what is kept.

A 200 that is not a QueryResult is a failed read (a partial snapshot with the reason), never an
empty list. An episode is never keyed without its series because a series lookup came back
short. The library index writes resolve in is reused only when it was complete, is not empty
and did not shrink; writes change no ids, so they leave it be.
"""

import aiohttp
import pytest

from custom_components.crosswatch.clients.mediabrowser import ItemPage
from custom_components.crosswatch.engine.items import MediaItem, MediaType
from custom_components.crosswatch.engine.payloads import Feature, Listed, Rated
from custom_components.crosswatch.engine.plan import Action
from custom_components.crosswatch.engine.provider import WriteOutcome, WriteRequest
from tests.reads import read_whole
from tests.simulators.mediabrowser import Flavour, Malformed, MediaBrowserQuirks

from .conftest import Serve
from .test_mediabrowser_support import FLAVOURS, WATCHED, Rig, make_rig
from .test_mediabrowser_write import HEAT, MATRIX, H, R, W

FEATURES = (H, W, R)
DARK = MediaItem.create(MediaType.SHOW, title="Dark", year=2017, ids={"tvdb": 334824})


def seed_state(rig: Rig) -> None:
    """Something in every feature: two films played, favorited and rated, an episode played."""
    for item_id in (rig.library.matrix, rig.library.heat):
        rig.state.watch(rig.user, item_id, WATCHED)
        rig.state.favorite(rig.user, item_id)
        rig.state.rate(rig.user, item_id, 7.0)
    rig.state.watch(rig.user, rig.library.dark_s1[0], WATCHED)


@pytest.mark.parametrize("shape", list(Malformed))
@pytest.mark.parametrize("feature", FEATURES)
@pytest.mark.parametrize("flavour", FLAVOURS)
async def test_a_malformed_item_list_makes_the_snapshot_partial_never_short(
    serve: Serve,
    session: aiohttp.ClientSession,
    flavour: Flavour,
    feature: Feature,
    shape: Malformed,
) -> None:
    quirks = MediaBrowserQuirks(malformed_replies=1, malformed_shape=shape)
    rig = await make_rig(serve, session, flavour, quirks=quirks)
    seed_state(rig)

    read = await read_whole(rig.provider, feature, None)

    assert not read.snapshot.complete
    assert "the page at 0 failed" in (read.snapshot.completeness.failure or "")


@pytest.mark.parametrize("shape", list(Malformed))
async def test_a_malformed_series_lookup_leaves_the_episodes_out_and_the_read_partial(
    serve: Serve, session: aiohttp.ClientSession, shape: Malformed
) -> None:
    rig = await make_rig(serve, session, Flavour.EMBY)
    seed_state(rig)
    fault_series_lookups(rig, malformed_replies=1, malformed_shape=shape)

    read = await read_whole(rig.provider, H, None)

    assert set(read.snapshot.entries) == {"imdb:tt0133093", "imdb:tt0113277"}
    assert "series of some episodes" in (read.snapshot.completeness.failure or "")


def fault_series_lookups(rig: Rig, **quirks: object) -> None:
    """Switch the given quirks on just before each series lookup, so only lookups meet them."""
    original = rig.client.items_page

    async def items_page(user_id: str, **query: object) -> ItemPage:
        if query.get("types") == ("Series",):
            for name, value in quirks.items():
                setattr(rig.state.quirks, name, value)
        return await original(user_id, **query)  # type: ignore[arg-type]

    rig.client.items_page = items_page  # type: ignore[method-assign]


@pytest.mark.parametrize("fault", ["empty_replies", "tiny_replies"])
@pytest.mark.parametrize("flavour", FLAVOURS)
async def test_an_episode_whose_series_a_lookup_did_not_return_is_left_out_not_rekeyed(
    serve: Serve, session: aiohttp.ClientSession, flavour: Flavour, fault: str
) -> None:
    """Keyed without its series' ids, an episode would look removed under its old key."""
    rig = await make_rig(serve, session, flavour)
    seed_state(rig)
    for n in range(4):  # more series than a tiny reply holds, Dark last
        rig.state.add_series(f"Filler {n}", 2000 + n, Tvdb=str(100 + n))
    rig.state.items[rig.library.dark].created = rig.state.items[rig.library.dark].created.replace(
        year=2030
    )
    for n in range(4):
        series = next(i for i in rig.state.items.values() if i.name == f"Filler {n}")
        episode = rig.state.add_episode(series.id, 1, 1, Tvdb=str(200 + n))
        rig.state.watch(rig.user, episode, WATCHED)
    fault_series_lookups(rig, **{fault: 1})

    read = await read_whole(rig.provider, H, None)

    assert not read.snapshot.complete
    assert "not returned" in (read.snapshot.completeness.failure or "")
    assert "tvdb:334824:1:1" not in {
        t for e in read.snapshot.entries.values() for t in e.item.tokens
    }
    assert all(
        e.item.type.value != "episode" or e.item.tokens for e in read.snapshot.entries.values()
    )


@pytest.mark.parametrize("flavour", FLAVOURS)
async def test_empty_and_tiny_item_lists_are_well_formed_and_claim_their_size(
    serve: Serve, session: aiohttp.ClientSession, flavour: Flavour
) -> None:
    rig = await make_rig(
        serve, session, flavour, quirks=MediaBrowserQuirks(empty_replies=1, tiny_replies=1)
    )
    ask = {"types": ("Movie", "Series", "Episode"), "start": 0, "limit": 100}

    empty = await rig.client.items_page(rig.user.id, **ask)  # type: ignore[arg-type]
    tiny = await rig.client.items_page(rig.user.id, **ask)  # type: ignore[arg-type]
    true = await rig.client.items_page(rig.user.id, **ask)  # type: ignore[arg-type]

    assert (len(empty.items), empty.total) == (0, 0)
    assert (len(tiny.items), tiny.total) == (3, 3)
    assert (len(true.items), true.total) == (7, 7)  # 3 films, a series, 3 episodes


# -- the library index writes resolve in ---------------------------------------------------------


@pytest.mark.parametrize("fault", ["empty_replies", "tiny_replies"])
@pytest.mark.parametrize("flavour", FLAVOURS)
async def test_a_write_after_an_empty_or_tiny_ratings_read_reads_the_library_again(
    serve: Serve, session: aiohttp.ClientSession, flavour: Flavour, fault: str
) -> None:
    rig = await make_rig(serve, session, flavour)
    await read_whole(rig.provider, R, None)  # a whole-library read: the index
    setattr(rig.state.quirks, fault, 1)
    await read_whole(rig.provider, R, None)  # shrunken: it must not become the index

    # Dark is the fourth item: a tiny reply holds the three films only.
    (result,) = await rig.provider.write(W, Action.ADD, [WriteRequest(DARK, Listed())])

    assert result.outcome is WriteOutcome.CONFIRMED
    assert rig.state.user_data(rig.user.id, rig.library.dark).is_favorite


@pytest.mark.parametrize("flavour", FLAVOURS)
async def test_an_empty_first_index_is_not_reused(
    serve: Serve, session: aiohttp.ClientSession, flavour: Flavour
) -> None:
    rig = await make_rig(serve, session, flavour, quirks=MediaBrowserQuirks(empty_replies=1))

    (first,) = await rig.provider.write(R, Action.ADD, [WriteRequest(MATRIX, Rated(6.0))])
    (second,) = await rig.provider.write(R, Action.ADD, [WriteRequest(HEAT, Rated(6.0))])

    # The first batch resolved in an empty library and could not know better; the next asks.
    assert (first.outcome, second.outcome) == (WriteOutcome.REJECTED, WriteOutcome.CONFIRMED)


async def test_a_partial_index_is_read_again_before_the_next_write(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    quirks = MediaBrowserQuirks(hang_at_start_index=2, hangs=1, hang_seconds=1.0)
    rig = await make_rig(
        serve, session, Flavour.JELLYFIN, quirks=quirks, page_size=2, request_timeout=0.1,
        attempts=1,
    )  # fmt: skip
    partial = await read_whole(rig.provider, R, None)
    reads = rig.state.item_reads

    (result,) = await rig.provider.write(W, Action.ADD, [WriteRequest(HEAT, Listed())])

    assert not partial.snapshot.complete
    assert rig.state.item_reads > reads
    assert result.outcome is WriteOutcome.CONFIRMED


async def test_writes_leave_a_good_index_in_place(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig = await make_rig(serve, session, Flavour.EMBY)
    await read_whole(rig.provider, R, None)
    reads = rig.state.item_reads

    await rig.provider.write(W, Action.ADD, [WriteRequest(HEAT, Listed())])
    await rig.provider.write(R, Action.ADD, [WriteRequest(MATRIX, Rated(5.0))])

    assert rig.state.item_reads == reads


@pytest.mark.parametrize("feature", FEATURES)
@pytest.mark.parametrize("flavour", FLAVOURS)
async def test_no_read_gives_a_checkpoint_even_when_it_shrinks(
    serve: Serve, session: aiohttp.ClientSession, flavour: Flavour, feature: Feature
) -> None:
    rig = await make_rig(serve, session, flavour)
    seed_state(rig)
    full = await read_whole(rig.provider, feature, None)
    rig.state.quirks.empty_replies = 1
    rig.provider.forget_reads(feature, validated=True)  # a scan, not the kept read

    emptied = await read_whole(rig.provider, feature, full.checkpoint)

    assert len(full.snapshot) > len(emptied.snapshot) == 0
    assert [r.checkpoint for r in (full, emptied)] == [None, None]
