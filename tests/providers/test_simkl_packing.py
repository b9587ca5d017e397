"""SIMKL's cache rests packed between runs, and answers exactly as it did live.

At 100,000 titles the cached library and its index held about 80 MB between runs (issue 16):
between runs each bucket is kept as compressed rows instead, and a run that needs the entries
makes them live again in the executor.

- Packing round-trips exactly: the same titles and ratings (ids, episodes, dates and their
  zones), in the same order, under the same cache keys, with the same index and version.
- A packed bucket is never searched as if it were empty: a lookup before it is live again
  fails loudly.
- A provider that rests between every step reads and writes exactly as one that never does:
  the same snapshots, the same write outcomes, the same deltas merged.
"""

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta, timezone

import aiohttp
from hypothesis import given, strategies as st
import pytest

from custom_components.crosswatch.engine.items import MediaItem, MediaType
from custom_components.crosswatch.engine.payloads import Entry, Feature, Listed, Rated, Watched
from custom_components.crosswatch.engine.plan import Action
from custom_components.crosswatch.engine.provider import (
    AnyRead,
    PackedRead,
    Rests,
    WriteOutcome,
    WriteRequest,
)
from custom_components.crosswatch.providers.simkl.cache import Library, entries_of
from custom_components.crosswatch.providers.simkl.packing import pack_ratings, pack_titles
from custom_components.crosswatch.providers.simkl.parse import Rating, Title
from tests.providers.conftest import Serve
from tests.providers.test_simkl_cache_index import (
    ITEMS,
    STEPS,
    Clear,
    Merge,
    Replace,
    entry_key,
)
from tests.providers.test_simkl_support import make_rig, seeded_state

WHEN = datetime(2024, 1, 1, tzinfo=UTC)
MOMENTS = st.one_of(
    st.none(),
    st.datetimes(timezones=st.sampled_from([UTC, timezone(timedelta(hours=-5, minutes=-30))])),
    st.datetimes(),  # naive: kept naive
)
EPISODES = st.builds(
    lambda show, season, number: MediaItem.create(
        MediaType.EPISODE, title=show.title, show_ids=show.ids(), season=season, episode=number
    ),
    ITEMS.filter(lambda item: bool(item.tokens)),
    st.integers(0, 3),
    st.integers(1, 30),
)
TITLES = st.builds(
    Title,
    ITEMS,
    st.sampled_from(["plantowatch", "completed", "watching", None]),
    MOMENTS,
    MOMENTS,
    st.lists(st.tuples(EPISODES, MOMENTS), max_size=4).map(tuple),
)
RATINGS = st.builds(Rating, ITEMS, st.integers(1, 10), MOMENTS)


def same_moments(a: datetime | None, b: datetime | None) -> bool:
    """Equal, and equally aware: the same instant in the same offset (or both naive)."""
    if a is None or b is None:
        return a is b
    return a == b and a.utcoffset() == b.utcoffset() and a.isoformat() == b.isoformat()


@given(st.lists(TITLES, max_size=30))
def test_packed_titles_unpack_to_the_same_titles_in_the_same_order(titles: list[Title]) -> None:
    packed = pack_titles(titles)

    back = list(packed.entries())

    assert back == titles
    assert len(packed) == len(titles)
    for was, now in zip(titles, back, strict=True):
        assert now.item.key == was.item.key  # no id parsed again: the same canonical key
        assert same_moments(now.listed_at, was.listed_at)
        assert same_moments(now.last_watched_at, was.last_watched_at)
        for (_, before), (_, after) in zip(was.episodes, now.episodes, strict=True):
            assert same_moments(after, before)


@given(st.lists(RATINGS, max_size=30))
def test_packed_ratings_unpack_to_the_same_ratings_in_the_same_order(
    ratings: list[Rating],
) -> None:
    back = list(pack_ratings(ratings).entries())

    assert back == ratings
    for was, now in zip(ratings, back, strict=True):
        assert same_moments(now.rated_at, was.rated_at)


def test_a_packed_bucket_is_compressed_bytes_and_unpacks_under_its_cache_keys() -> None:
    titles = [
        Title(
            MediaItem.create(
                MediaType.MOVIE,
                title=f"Film {n}",
                year=2000,
                ids={"simkl": 10_000 + n, "imdb": f"tt{1_000_000 + n}", "tmdb": n + 1},
            ),
            "plantowatch",
            WHEN,
            None,
        )
        for n in range(5_000)
    ]

    packed = pack_titles(titles)

    assert all(isinstance(chunk, bytes) for chunk in packed.chunks)
    assert packed.size < 60 * len(titles)  # about 25 bytes a title here, not kilobytes
    assert list(entries_of(packed).items()) == [(entry_key(t.item), t) for t in titles]


def applied(steps: Sequence[Replace | Merge | Clear]) -> Library[Title]:
    library: Library[Title] = Library(pack_titles)
    for n, step in enumerate(steps):
        match step:
            case Replace(bucket, titles):
                library.replace(bucket, {"all": str(n)}, titles, WHEN)
            case Merge(bucket, titles, cleared) if bucket in library:
                library.merge(bucket, {"all": str(n)}, titles, cleared)
            case Clear():
                library.clear()
    return library


def contents(library: Library[Title]) -> list[tuple[str, list[tuple[str, Title]]]]:
    return [(b, list(entries_of(c.entries).items())) for b, c in library.items()]


@given(STEPS, st.lists(ITEMS, max_size=6), st.lists(TITLES, max_size=3))
async def test_a_library_at_rest_answers_as_it_did_live(
    steps: list[Replace | Merge | Clear], probes: list[MediaItem], delta: list[Title]
) -> None:
    library = applied(steps)
    before = contents(library)
    version = library.version
    seen = [t.item for s in steps if not isinstance(s, Clear) for t in s.titles]
    answers = [library.where(item) for item in (*seen, *probes)]
    found = [library.find(item) for item in (*seen, *probes)]

    await library.rest()

    assert all(library.packed(bucket) for bucket in library)
    assert contents(library) == before  # packed, the same entries in the same order
    assert library.version == version  # nothing changed: a read of it is the one built before
    if library:
        with pytest.raises(RuntimeError, match="packed"):
            library.where(matrix())

    await library.live()

    assert not any(library.packed(bucket) for bucket in library)
    assert contents(library) == before
    assert library.version == version
    assert [library.where(item) for item in (*seen, *probes)] == answers
    assert [library.find(item) for item in (*seen, *probes)] == found
    # A delta merged after a rest lands as it would have on the library never packed.
    never = applied(steps)
    for bucket in list(library)[:1]:
        library.merge(bucket, {"all": "delta"}, delta, probes[:1])
        never.merge(bucket, {"all": "delta"}, delta, probes[:1])
    assert contents(library) == contents(never)
    assert [library.where(item) for item in (*seen, *probes)] == [
        never.where(item) for item in (*seen, *probes)
    ]


def entries(read: AnyRead) -> Mapping[str, Entry]:
    return (read.unpacked() if isinstance(read, PackedRead) else read).snapshot.entries


def matrix() -> MediaItem:
    return MediaItem.create(
        MediaType.MOVIE, title="The Matrix", year=1999, ids={"imdb": "tt0133093"}
    )


def heat() -> MediaItem:
    return MediaItem.create(MediaType.MOVIE, title="Heat", year=1995, ids={"imdb": "tt0113277"})


async def a_session(serve: Serve, session: aiohttp.ClientSession, *, rest: bool) -> list[object]:
    """Reads, writes and the user's own changes, resting between every step when `rest`."""
    rig = await make_rig(serve, session, seeded_state())
    provider = rig.provider
    assert isinstance(provider, Rests)
    seen: list[object] = []

    async def step() -> None:
        if rest:
            await provider.rest()

    for feature in Feature:
        seen.append(dict(entries(await provider.read(feature, None))))
        await step()
    # The user lists a title and rates one: deltas, merged into the cache that rested.
    rig.state.user_lists(102, "plantowatch")
    rig.state.user_rates(101, 6)
    for feature in Feature:
        seen.append(dict(entries(await provider.read(feature, None))))
        await step()
    for feature, request in (
        (Feature.WATCHLIST, WriteRequest(matrix(), Listed(WHEN))),  # completed: not moved
        (Feature.WATCHLIST, WriteRequest(heat(), Listed(WHEN))),  # listed already
        (Feature.RATINGS, WriteRequest(heat(), Rated(8.0, WHEN))),
        (Feature.HISTORY, WriteRequest(heat(), Watched.from_plays((WHEN,)))),
    ):
        results = await provider.write(feature, Action.ADD, [request])
        seen.append([(r.outcome, r.reason) for r in results])
        await step()
    results = await provider.write(
        Feature.WATCHLIST, Action.REMOVE, [WriteRequest(heat(), Listed(None))]
    )
    seen.append([(r.outcome, r.reason) for r in results])
    await step()
    # The user completes a title; the writes' buckets are pulled in full until they show.
    rig.state.user_lists(101, "completed", watched_at=WHEN)
    for _ in range(2):  # the change, then nothing more: the read built before
        for feature in Feature:
            seen.append(dict(entries(await provider.read(feature, None))))
            await step()
    return seen


@pytest.mark.usefixtures("socket_enabled")
async def test_a_provider_that_rests_between_steps_reads_and_writes_as_one_that_never_does(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    resting = await a_session(serve, session, rest=True)
    awake = await a_session(serve, session, rest=False)

    assert resting == awake
    assert resting[6] == [(WriteOutcome.REJECTED, "in_simkl_list:completed")]
