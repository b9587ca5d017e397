"""SIMKL's cache finds titles through an index it keeps up to date, never by walking the library.

A first run of a large library writes in a thousand batches; rebuilding an index of the whole
cache for each one held Home Assistant's event loop for seconds at 100,000 titles (issue 16).

- The maintained index answers every lookup as an index built afresh over the same entries
  would: any token or the cache key finds an entry, and of entries sharing a token the first
  one met walking the buckets (in order) and their entries wins.
- A write batch, and a delta merged into the cache, look at the same number of cached titles
  whether the library holds two hundred or two thousand.
"""

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import aiohttp
from hypothesis import given, strategies as st
import pytest

from custom_components.crosswatch.clients.simkl.models import BUCKETS, ListedRow, Media, RatedRow
from custom_components.crosswatch.engine.items import MediaItem, MediaType
from custom_components.crosswatch.engine.payloads import Feature, Listed, Rated, Watched
from custom_components.crosswatch.engine.plan import Action
from custom_components.crosswatch.engine.provider import WriteOutcome, WriteRequest, WriteResult
from custom_components.crosswatch.providers.simkl.cache import DeltaCache, Library, entries_of
from custom_components.crosswatch.providers.simkl.parse import Rating, Title, View
from tests.providers.conftest import Serve
from tests.providers.test_simkl_support import make_rig
from tests.simulators.simkl import SimklState

WHEN = datetime(2024, 1, 1, tzinfo=UTC)
SMALL, LARGE = 200, 2_000


# The semantics the index must keep: the cache as plain dicts, changed and searched by walking.


def token_index(view: View[Title]) -> dict[str, tuple[str, str]]:
    """Every token of every title in a view -> (bucket, cache key); the first one met wins."""
    index: dict[str, tuple[str, str]] = {}
    for bucket, entries in view.items():
        for key, entry in entries.items():
            for token in (*entry.item.tokens, key):
                index.setdefault(token, (bucket, key))
    return index


def walked_where(view: View[Title], item: MediaItem) -> tuple[str, str] | None:
    index = token_index(view)
    return next((index[t] for t in (*item.tokens, item.key) if t in index), None)


def entry_key(item: MediaItem) -> str:
    return next((t for t in item.tokens if t.startswith("simkl:")), item.key)


def walked_drop(entries: dict[str, Title], item: MediaItem) -> None:
    wanted = {*item.tokens, item.key}
    for key in [k for k, e in entries.items() if k in wanted or wanted & set(e.item.tokens)]:
        del entries[key]


@dataclass(frozen=True, slots=True)
class Replace:
    bucket: str
    titles: tuple[Title, ...]


@dataclass(frozen=True, slots=True)
class Merge:
    bucket: str
    titles: tuple[Title, ...]
    cleared: tuple[MediaItem, ...]


@dataclass(frozen=True, slots=True)
class Clear:
    pass


def walked(steps: Sequence[Replace | Merge | Clear]) -> dict[str, dict[str, Title]]:
    """What the steps leave in a cache of plain dicts, changed entry by entry."""
    view: dict[str, dict[str, Title]] = {}
    for step in steps:
        match step:
            case Replace(bucket, titles):
                view[bucket] = {entry_key(t.item): t for t in titles}
            case Merge(bucket, titles, cleared) if bucket in view:
                for item in cleared:
                    walked_drop(view[bucket], item)
                for title in titles:
                    walked_drop(view[bucket], title.item)
                    view[bucket][entry_key(title.item)] = title
            case Clear():
                view.clear()
    return view


def applied(steps: Sequence[Replace | Merge | Clear]) -> Library[Title]:
    library: Library[Title] = Library()
    for n, step in enumerate(steps):
        match step:
            case Replace(bucket, titles):
                library.replace(bucket, {"all": str(n)}, titles, WHEN)
            case Merge(bucket, titles, cleared) if bucket in library:
                library.merge(bucket, {"all": str(n)}, titles, cleared)
            case Clear():
                library.clear()
    return library


# Few ids, so that titles share tokens within and across buckets; some have no ids at all.
ITEMS = st.builds(
    lambda kind, simkl, imdb, tmdb, name: MediaItem.create(
        kind,
        title=name,
        ids={k: v for k, v in (("simkl", simkl), ("imdb", imdb), ("tmdb", tmdb)) if v},
    ),
    st.sampled_from([MediaType.MOVIE, MediaType.SHOW, MediaType.ANIME]),
    st.sampled_from([None, 1, 2, 3, 4]),
    st.sampled_from([None, "tt01", "tt02", "tt03"]),
    st.sampled_from([None, 10, 11]),
    st.sampled_from(["Alpha", "Beta"]),
)
TITLES = st.builds(
    lambda item, status: Title(item, status, None, None),
    ITEMS,
    st.sampled_from(["plantowatch", "completed", None]),
)
BUCKET = st.sampled_from(BUCKETS)
STEPS = st.lists(
    st.one_of(
        st.builds(Replace, BUCKET, st.lists(TITLES, max_size=6).map(tuple)),
        st.builds(
            Merge,
            BUCKET,
            st.lists(TITLES, max_size=4).map(tuple),
            st.lists(ITEMS, max_size=2).map(tuple),
        ),
        st.just(Clear()),
    ),
    max_size=12,
)
AMONG = st.permutations(BUCKETS).flatmap(
    lambda order: st.integers(0, len(order)).map(lambda n: tuple(order[:n]))
)


@given(STEPS, st.lists(ITEMS, max_size=6), AMONG)
def test_the_maintained_index_finds_what_an_index_built_afresh_over_the_same_entries_finds(
    steps: list[Replace | Merge | Clear], probes: list[MediaItem], among: tuple[str, ...]
) -> None:
    expected = walked(steps)
    library = applied(steps)
    # The same entries, in the same order, bucket by bucket.
    assert [(b, list(entries_of(c.entries).items())) for b, c in library.items()] == [
        (b, list(entries.items())) for b, entries in expected.items()
    ]
    # Every title cached or ever merged, every item cleared, and some never seen, by any token.
    seen = [t.item for s in steps if not isinstance(s, Clear) for t in s.titles]
    cleared = [i for s in steps if isinstance(s, Merge) for i in s.cleared]
    for item in (*seen, *cleared, *probes):
        assert library.where(item) == walked_where(expected, item)
        found = library.find(item)
        place = walked_where(expected, item)
        assert found is (None if place is None else expected[place[0]][place[1]])
        # Searching only some buckets, in another order, as a read that could not see the rest.
        part = {b: expected[b] for b in among if b in expected}
        assert library.where(item, among) == walked_where(part, item)


# Counting how many cached titles the work looks at.


@dataclass
class Looks:
    count: int = 0


@pytest.fixture
def looks(monkeypatch: pytest.MonkeyPatch) -> Looks:
    """Count every look at a cached title's or rating's item: indexing looks at every one."""
    counted = Looks()
    for kind in (Title, Rating):
        slot = kind.__dict__["item"]  # the slot's own descriptor, to read and write through

        def look(entry: object, slot: object = slot) -> MediaItem:
            counted.count += 1
            item: MediaItem = slot.__get__(entry, type(entry))  # type: ignore[attr-defined]
            return item

        monkeypatch.setattr(kind, "item", property(look, slot.__set__))
    return counted


def film(n: int) -> MediaItem:
    return MediaItem.create(MediaType.MOVIE, title=f"Film {n}", ids={"imdb": f"tt{1_000_000 + n}"})


def library_of(size: int) -> SimklState:
    """An account whose lists hold `size` films, every other one completed, a third rated."""
    state = SimklState()
    for n in range(size):
        state.add_title("movies", 10_000 + n, f"Film {n}", 2000, imdb=f"tt{1_000_000 + n}")
        state.user_lists(10_000 + n, "completed" if n % 2 else "plantowatch")
        if n % 3 == 0:
            state.user_rates(10_000 + n, 7)
    return state


@dataclass(frozen=True, slots=True)
class Written:
    looks_reading: int
    looks_writing: int
    results: tuple[tuple[WriteOutcome, str | None], ...]


async def write_batches(
    serve: Serve, session: aiohttp.ClientSession, looks: Looks, size: int
) -> Written:
    rig = await make_rig(serve, session, library_of(size))
    looks.count = 0
    await rig.provider.read(Feature.WATCHLIST, None)
    await rig.provider.read(Feature.RATINGS, None)
    reading, looks.count = looks.count, 0
    results: list[WriteResult] = []
    results += await rig.provider.write(
        Feature.WATCHLIST,
        Action.ADD,
        [WriteRequest(film(n), Listed(WHEN)) for n in (1, 2, size + 1)],
    )
    results += await rig.provider.write(
        Feature.RATINGS, Action.ADD, [WriteRequest(film(n), Rated(8.0, WHEN)) for n in (3, 4)]
    )
    results += await rig.provider.write(
        Feature.HISTORY, Action.ADD, [WriteRequest(film(5), Watched.from_plays((WHEN,)))]
    )
    return Written(reading, looks.count, tuple((r.outcome, r.reason) for r in results))


@pytest.mark.usefixtures("socket_enabled")
async def test_a_write_batch_finds_its_titles_without_indexing_the_whole_library(
    serve: Serve, session: aiohttp.ClientSession, looks: Looks
) -> None:
    small = await write_batches(serve, session, looks, SMALL)
    large = await write_batches(serve, session, looks, LARGE)

    assert large.looks_reading >= LARGE  # a read builds its snapshot from every title
    assert large.looks_writing == small.looks_writing  # writing does not
    assert large.results == small.results
    assert large.results[0] == (WriteOutcome.REJECTED, "in_simkl_list:completed")
    assert large.results[1][0] is not WriteOutcome.REJECTED  # on the watchlist already
    assert large.results[2] == (WriteOutcome.REJECTED, "not_found")  # sent: SIMKL knows none


# A delta merged into the cache, without HTTP.


def simkl_ids(n: int) -> dict[str, str]:
    return {"simkl": str(10_000 + n), "imdb": f"tt{1_000_000 + n}"}


def listed(n: int, status: str) -> ListedRow:
    return ListedRow(Media(f"Film {n}", 2000, simkl_ids(n), movie=True), status, WHEN, None, ())


def cache_key(n: int) -> str:
    return entry_key(MediaItem.create(MediaType.MOVIE, ids=simkl_ids(n)))


@dataclass
class Lists:
    """SIMKL's all-items for the movies bucket: its rows, and what a delta shows."""

    rows: list[ListedRow]
    delta: list[ListedRow]

    async def all_items(self, bucket: str, date_from: str | None) -> Sequence[ListedRow]:
        if bucket != "movies":
            return []
        return self.rows if date_from is None else self.delta

    async def ratings(self, bucket: str, date_from: str | None) -> Sequence[RatedRow]:
        return []


def stamps(at: str) -> Mapping[str, Mapping[str, str | None]]:
    moved = {"all": at, "completed": at, "removed_from_list": "2023-01-01T00:00:00Z"}
    return dict.fromkeys(BUCKETS, moved)


def statuses(view: Mapping[str, Title]) -> Iterator[tuple[str, str | None]]:
    return ((key, title.status) for key, title in view.items())


async def merge_a_delta(looks: Looks, size: int) -> tuple[int, dict[str, str | None]]:
    simkl = Lists([listed(n, "plantowatch") for n in range(size)], [])
    cache = DeltaCache(
        simkl.all_items, simkl.ratings, now=lambda: WHEN, max_cache_age=timedelta(days=1)
    )
    await cache.refresh(cache.list_kind, stamps("2024-01-01T00:00:00Z"), "SIMKL")
    simkl.delta = [listed(n, "completed") for n in (0, 1, 2, 3, 4)] + [listed(size, "watching")]
    looks.count = 0

    pulled = await cache.refresh(cache.list_kind, stamps("2024-01-02T00:00:00Z"), "SIMKL")

    assert pulled.fresh == frozenset({"shows", "anime"})  # the movies were merged, not pulled
    return looks.count, dict(statuses(entries_of(cache.lists["movies"].entries)))


async def test_a_delta_merges_without_looking_at_the_titles_it_does_not_touch(
    looks: Looks,
) -> None:
    small_looks, _ = await merge_a_delta(looks, SMALL)
    large_looks, large = await merge_a_delta(looks, LARGE)

    assert large_looks == small_looks
    assert len(large) == LARGE + 1
    assert [large[cache_key(n)] for n in (0, 4, 5, LARGE)] == [
        "completed",
        "completed",
        "plantowatch",
        "watching",
    ]
    # Re-read rows go last, as they would in a bucket built afresh from the same rows.
    assert list(large)[-6:] == [cache_key(n) for n in (0, 1, 2, 3, 4, LARGE)]


# A removal decides on what its read saw, never on what the cache kept besides.


@pytest.mark.usefixtures("socket_enabled")
async def test_a_removal_is_not_sent_for_a_title_only_a_kept_cache_shows_while_its_read_saw_none(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig = await make_rig(serve, session)
    await rig.provider.read(Feature.WATCHLIST, None)
    rig.state.user_removes(100)  # removed_from_list moves: the next read pulls movies in full
    rig.state.quirks.empty_bodies = 1  # and that full pull answers an empty 200 (not kept)
    inception = MediaItem.create(MediaType.MOVIE, ids={"imdb": "tt1375666"})

    results = await rig.provider.write(
        Feature.WATCHLIST, Action.REMOVE, [WriteRequest(inception, None)]
    )

    assert [(r.outcome, r.reason) for r in results] == [
        (WriteOutcome.REJECTED, "not_on_simkl_watchlist")
    ]
    assert rig.state.lists[101].status == "plantowatch"
