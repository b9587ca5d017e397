"""SIMKL's read cache never believes more than SIMKL's bodies showed.

- Bucket stamps (the watermark) advance only with a body that reflects them.
- An empty full pull is reported, but becomes the base for later reads only once a second full
  pull agrees.
- A body of an undocumented shape is a failed pull, never an empty list.
- Activities without a bucket's section cannot say what changed; the bucket is pulled in full.
- Writes fold nothing into the cache; the buckets they touched are pulled in full next.
"""

from datetime import UTC, datetime
import json

import aiohttp
import pytest

from custom_components.crosswatch.engine.items import MediaItem, MediaType
from custom_components.crosswatch.engine.payloads import Feature, Listed, Rated, Watched
from custom_components.crosswatch.engine.plan import Action
from custom_components.crosswatch.engine.provider import (
    OutcomeUnknownError,
    Read,
    WriteOutcome,
    WriteRequest,
)
from custom_components.crosswatch.providers.simkl import SimklAccount, SimklProvider
from custom_components.crosswatch.providers.simkl.cache import SETTLE_PULLS
from tests.providers.conftest import Serve
from tests.providers.test_simkl_support import Rig, find, has, make_rig
from tests.reads import read_whole
from tests.simulators.simkl import Call

# The simulator listens on loopback.
pytestmark = pytest.mark.usefixtures("socket_enabled")

INCEPTION = {"imdb": "tt1375666"}
HEAT = {"imdb": "tt0113277"}
MATRIX = {"imdb": "tt0133093"}
LONG_AGO = datetime(2015, 6, 1, 20, 30, tzinfo=UTC)


def movie(imdb: str) -> MediaItem:
    return MediaItem.create(MediaType.MOVIE, ids={"imdb": imdb})


def stamps(read: Read) -> dict[str, dict[str, str | None]]:
    assert read.checkpoint is not None
    parsed: dict[str, dict[str, str | None]] = json.loads(read.checkpoint.watermark or "{}")
    return parsed


def pulls(rig: Rig, since: int, bucket: str = "movies") -> list[Call]:
    """The all-items and ratings calls for `bucket` after the first `since` calls."""
    return [c for c in rig.state.calls[since:] if c.type == bucket]


def full(calls: list[Call]) -> list[Call]:
    return [c for c in calls if "date_from" not in c.query]


# 1. Stamps advance only with a body that reflects them -------------------------------------


async def test_an_empty_body_for_a_delta_never_advances_the_stamps_so_the_change_is_still_seen(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig = await make_rig(serve, session)
    first = await read_whole(rig.provider, Feature.WATCHLIST, None)
    rig.state.user_lists(102, "plantowatch")
    rig.state.quirks.empty_bodies = 1  # the delta for the moved bucket answers an empty 200

    read = await read_whole(rig.provider, Feature.WATCHLIST, first.checkpoint)
    later = await read_whole(rig.provider, Feature.WATCHLIST, read.checkpoint)

    assert read.snapshot.complete
    assert has(later.snapshot, "movie", HEAT)  # before: never again, the stamps had moved on
    assert has(later.snapshot, "movie", INCEPTION)


async def test_a_delta_that_comes_back_empty_although_the_bucket_moved_is_followed_by_a_full_pull(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig = await make_rig(serve, session)
    first = await read_whole(rig.provider, Feature.HISTORY, None)
    # Another app marks Heat watched, back-dated: SIMKL files it under the date it was watched,
    # so no date_from delta ever shows it, though the activities moved.
    rig.state.user_lists(102, "completed", watched_at=LONG_AGO)
    rig.state.lists[102].changed_at = LONG_AGO
    before = len(rig.state.calls)

    read = await read_whole(rig.provider, Feature.HISTORY, first.checkpoint)

    movies = pulls(rig, before)
    assert ["date_from" in c.query for c in movies] == [True, False]  # the delta, then in full
    assert find(read.snapshot, "movie", HEAT).payload == Watched.from_plays((LONG_AGO,))
    assert read.snapshot.complete


async def test_a_bucket_key_holding_null_is_a_failed_pull_and_keeps_stamps_and_cache(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig = await make_rig(serve, session)
    first = await read_whole(rig.provider, Feature.WATCHLIST, None)
    rig.state.user_lists(102, "plantowatch")
    rig.state.quirks.malformed_bodies = 1  # {"movies": null}: the blueprint says a list belongs

    failed = await read_whole(rig.provider, Feature.WATCHLIST, first.checkpoint)
    recovered = await read_whole(rig.provider, Feature.WATCHLIST, first.checkpoint)

    assert not failed.snapshot.complete
    assert "movies" in (failed.snapshot.completeness.failure or "")
    assert failed.checkpoint is first.checkpoint
    assert has(failed.snapshot, "movie", INCEPTION)  # what was known before is still there
    assert recovered.snapshot.complete
    assert has(recovered.snapshot, "movie", HEAT)


async def test_undocumented_shapes_are_failed_pulls_never_empty_buckets(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig = await make_rig(serve, session)
    # In turn: {"movies": null}, {"shows": "temporarily unavailable"}, the anime rows as a list.
    rig.state.quirks.malformed_bodies = 3

    read = await read_whole(rig.provider, Feature.HISTORY, None)

    failure = read.snapshot.completeness.failure or ""
    assert not read.snapshot.complete
    assert read.checkpoint is None
    for bucket in ("movies", "shows", "anime"):
        assert f"{bucket}: " in failure, failure
    assert len(read.snapshot) == 0
    again = await read_whole(rig.provider, Feature.HISTORY, None)
    assert again.snapshot.complete
    assert has(again.snapshot, "movie", MATRIX)


# 2. An empty full pull is reported, never kept without a second one that agrees ---------------


async def test_an_empty_full_pull_is_reported_but_the_next_read_pulls_that_bucket_in_full_again(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig = await make_rig(serve, session)
    first = await read_whole(rig.provider, Feature.WATCHLIST, None)
    rig.state.user_lists(102, "plantowatch")
    rig.state.user_removes(102)  # removed_from_list moved: the movies bucket is pulled in full
    rig.state.quirks.empty_bodies = 1
    before = len(rig.state.calls)

    empty = await read_whole(rig.provider, Feature.WATCHLIST, first.checkpoint)
    again = await read_whole(rig.provider, Feature.WATCHLIST, first.checkpoint)

    # What was read is reported as it is: the engine judges the shrink.
    assert empty.snapshot.complete
    assert not has(empty.snapshot, "movie", INCEPTION)
    # The movies stamps did not advance with an empty body.
    assert stamps(empty)["movies"] == stamps(first)["movies"]
    # The next read pulls the bucket in full again instead of trusting the empty one.
    assert len(full(pulls(rig, before))) == 2
    assert has(again.snapshot, "movie", INCEPTION)


async def test_a_second_empty_full_pull_that_agrees_is_kept(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig = await make_rig(serve, session)
    await read_whole(rig.provider, Feature.WATCHLIST, None)
    rig.state.user_removes(100)
    rig.state.user_removes(101)  # SIMKL now answers null for movies: nothing listed
    before = len(rig.state.calls)

    reads = [await read_whole(rig.provider, Feature.WATCHLIST, None) for _ in range(3)]

    assert all(r.snapshot.complete and not has(r.snapshot, "movie", INCEPTION) for r in reads)
    # Pulled in full twice, then the agreeing empty bucket is the base: no third pull.
    assert len(full(pulls(rig, before))) == 2
    assert len(pulls(rig, before)) == 2


async def test_an_empty_cold_full_pull_is_not_the_base_either(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig = await make_rig(serve, session)
    rig.state.quirks.empty_bodies = 3  # a restart meets three empty 200s

    cold = await read_whole(rig.provider, Feature.WATCHLIST, None)
    again = await read_whole(rig.provider, Feature.WATCHLIST, cold.checkpoint)

    assert cold.snapshot.complete
    assert len(cold.snapshot) == 0
    assert has(again.snapshot, "movie", INCEPTION)


# 3. Activities without a bucket's section -----------------------------------------------------


async def test_a_bucket_missing_from_the_activities_is_pulled_in_full_every_read(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig = await make_rig(serve, session)
    first = await read_whole(rig.provider, Feature.WATCHLIST, None)
    rig.state.quirks.missing_activity_sections = ("movies",)
    rig.state.user_lists(102, "plantowatch")
    before = len(rig.state.calls)

    read = await read_whole(rig.provider, Feature.WATCHLIST, first.checkpoint)
    await read_whole(rig.provider, Feature.WATCHLIST, read.checkpoint)

    assert [c.query.get("date_from") for c in pulls(rig, before)] == [None, None]
    assert pulls(rig, before, "shows") == []  # the buckets with sections are trusted as before
    assert has(read.snapshot, "movie", HEAT)
    assert read.snapshot.complete


# 4. Writes: nothing folded, the touched buckets pulled in full next ---------------------------


def listed(imdb: str, when: datetime | None = LONG_AGO) -> WriteRequest:
    return WriteRequest(movie(imdb), Listed(when))


async def test_writes_answered_ok_that_simkl_dropped_never_show_as_present(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig = await make_rig(serve, session)
    for simkl in (400, 401, 402, 403):
        rig.state.add_title("movies", simkl, f"Film {simkl}", 2000, imdb=f"tt0000{simkl}")
    first = await read_whole(rig.provider, Feature.WATCHLIST, None)
    rig.state.quirks.drop_writes = True  # {"ok": true}, and the 2nd and 4th are never stored
    before = len(rig.state.calls)

    results = await rig.provider.write(
        Feature.WATCHLIST, Action.ADD, [listed(f"tt0000{n}") for n in (400, 401, 402, 403)]
    )
    read = await read_whole(rig.provider, Feature.WATCHLIST, first.checkpoint)

    assert [r.outcome for r in results] == [WriteOutcome.UNKNOWN] * 4
    assert [has(read.snapshot, "movie", {"imdb": f"tt0000{n}"}) for n in (400, 401, 402, 403)] == [
        True,
        False,
        True,
        False,
    ]
    assert len(full(pulls(rig, before))) == 1  # back-dated adds: only a full pull shows them


async def test_a_confirmed_write_shows_only_once_simkl_shows_it(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig = await make_rig(serve, session)
    await read_whole(rig.provider, Feature.HISTORY, None)
    # The simulator counts every request as a read: the first read after the write makes three
    # (activities, movies and anime in full), so the write lands during the second.
    rig.state.quirks.visible_after_reads = 4
    results = await rig.provider.write(
        Feature.HISTORY,
        Action.ADD,
        [WriteRequest(movie(HEAT["imdb"]), Watched.from_plays((LONG_AGO,)))],
    )

    first = await read_whole(rig.provider, Feature.HISTORY, None)
    landed_before_second = 102 in rig.state.lists
    second = await read_whole(rig.provider, Feature.HISTORY, None)

    assert results[0].outcome is WriteOutcome.CONFIRMED  # SIMKL echoed it ...
    assert not landed_before_second
    assert not has(first.snapshot, "movie", HEAT)  # ... but did not show it yet
    assert find(second.snapshot, "movie", HEAT).payload == Watched.from_plays((LONG_AGO,))


async def test_a_stale_body_after_a_write_is_pulled_in_full_again_until_the_write_shows(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig = await make_rig(serve, session)
    await read_whole(rig.provider, Feature.WATCHLIST, None)
    rig.state.quirks.stale_reads_after_write = 3  # three bodies from before the write
    await rig.provider.write(Feature.WATCHLIST, Action.ADD, [listed(HEAT["imdb"])])
    before = len(rig.state.calls)

    reads = [await read_whole(rig.provider, Feature.WATCHLIST, None)]
    while not has(reads[-1].snapshot, "movie", HEAT) and len(reads) < 4:
        reads.append(await read_whole(rig.provider, Feature.WATCHLIST, None))
    settled = len(rig.state.calls)
    after = await read_whole(rig.provider, Feature.WATCHLIST, None)

    assert not has(reads[0].snapshot, "movie", HEAT)  # shown as SIMKL serves it: stale
    assert has(reads[-1].snapshot, "movie", HEAT)  # pulled again until the write showed
    assert len(reads) > 1
    assert len(full(pulls(rig, before))) == len(reads)
    assert has(after.snapshot, "movie", HEAT)
    assert len(rig.state.calls) == settled  # shown: the cache is trusted again


async def test_a_write_whose_reply_was_lost_is_found_by_the_next_full_pull(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig = await make_rig(serve, session)
    first = await read_whole(rig.provider, Feature.WATCHLIST, None)
    rig.state.quirks.lost_write_replies = 4  # stored, then 503 on every try

    with pytest.raises(OutcomeUnknownError):
        await rig.provider.write(Feature.WATCHLIST, Action.ADD, [listed(HEAT["imdb"])])
    read = await read_whole(rig.provider, Feature.WATCHLIST, first.checkpoint)

    assert rig.state.lists[102].status == "plantowatch"
    assert has(read.snapshot, "movie", HEAT)


async def test_a_removal_simkl_dropped_leaves_the_title_and_its_rating_visible(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig = await make_rig(serve, session)
    rig.state.user_rates(101, 6)
    await read_whole(rig.provider, Feature.WATCHLIST, None)
    await read_whole(rig.provider, Feature.RATINGS, None)
    rig.state.quirks.drop_writes = True  # the rating is stored, the removal after it dropped

    rated = await rig.provider.write(
        Feature.RATINGS, Action.ADD, [WriteRequest(movie(HEAT["imdb"]), Rated(5.0, LONG_AGO))]
    )
    removed = await rig.provider.write(
        Feature.WATCHLIST, Action.REMOVE, [WriteRequest(movie(INCEPTION["imdb"]), None)]
    )
    watchlist = await read_whole(rig.provider, Feature.WATCHLIST, None)
    ratings = await read_whole(rig.provider, Feature.RATINGS, None)

    assert [r.outcome for r in (*rated, *removed)] == [WriteOutcome.UNKNOWN] * 2
    assert rig.state.lists[101].status == "plantowatch"
    assert has(watchlist.snapshot, "movie", INCEPTION)
    assert find(ratings.snapshot, "movie", INCEPTION).payload.value == 6.0  # type: ignore[union-attr]
    assert find(ratings.snapshot, "movie", HEAT).payload == Rated(5.0, LONG_AGO)


async def test_a_rating_simkl_dropped_is_not_shown_and_one_it_kept_is(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig = await make_rig(serve, session)
    await read_whole(rig.provider, Feature.RATINGS, None)
    rig.state.quirks.drop_writes = True

    await rig.provider.write(
        Feature.RATINGS,
        Action.ADD,
        [
            WriteRequest(movie(INCEPTION["imdb"]), Rated(7.0, LONG_AGO)),
            WriteRequest(movie(HEAT["imdb"]), Rated(5.0, LONG_AGO)),
        ],
    )
    ratings = await read_whole(rig.provider, Feature.RATINGS, None)

    assert find(ratings.snapshot, "movie", INCEPTION).payload == Rated(7.0, LONG_AGO)
    assert not has(ratings.snapshot, "movie", HEAT)


async def test_a_restarted_provider_and_a_warm_one_agree_after_writes(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig = await make_rig(serve, session)
    for simkl in (400, 401):
        rig.state.add_title("movies", simkl, f"Film {simkl}", 2000, imdb=f"tt0000{simkl}")
    await read_whole(rig.provider, Feature.WATCHLIST, None)
    rig.state.quirks.drop_writes = True
    await rig.provider.write(
        Feature.WATCHLIST, Action.ADD, [listed("tt0000400"), listed("tt0000401")]
    )

    warm = await read_whole(rig.provider, Feature.WATCHLIST, None)
    cold = await read_whole(
        SimklProvider(rig.api, SimklAccount("51", "Andrew Masyk")), Feature.WATCHLIST, None
    )

    # A cache that showed what SIMKL dropped would lose it on a restart: a "removal".
    assert set(warm.snapshot.entries) == set(cold.snapshot.entries)


async def test_a_write_simkl_dropped_costs_a_bounded_number_of_full_pulls(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig = await make_rig(serve, session)
    rig.state.add_title("movies", 400, "Film 400", 2000, imdb="tt0000400")
    await read_whole(rig.provider, Feature.WATCHLIST, None)
    rig.state.quirks.drop_writes = True
    await rig.provider.write(
        Feature.WATCHLIST, Action.ADD, [listed(HEAT["imdb"]), listed("tt0000400")]
    )
    before = len(rig.state.calls)

    reads = [
        await read_whole(rig.provider, Feature.WATCHLIST, None) for _ in range(SETTLE_PULLS + 2)
    ]

    assert all(has(r.snapshot, "movie", HEAT) for r in reads)
    assert not any(has(r.snapshot, "movie", {"imdb": "tt0000400"}) for r in reads)
    assert len(full(pulls(rig, before))) == SETTLE_PULLS  # then the engine calls it a phantom


async def test_a_write_pulls_in_full_only_the_bucket_simkl_files_a_known_title_in(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig = await make_rig(serve, session)
    await read_whole(rig.provider, Feature.HISTORY, None)
    await rig.provider.write(
        Feature.HISTORY,
        Action.ADD,
        [WriteRequest(movie(INCEPTION["imdb"]), Watched.from_plays((LONG_AGO,)))],
    )
    before = len(rig.state.calls)

    read = await read_whole(rig.provider, Feature.HISTORY, None)

    assert [(c.type, "date_from" in c.query) for c in rig.state.calls[before:]] == [
        ("movies", False)
    ]
    assert find(read.snapshot, "movie", INCEPTION).payload == Watched.from_plays((LONG_AGO,))
