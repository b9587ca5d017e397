"""Packed entries and snapshots (engine/packed.py) unpack to exactly what was packed.

A provider hands a packed read back for a version it built before, and the engine plans from
what it unpacks: any difference would be a change nobody made.
"""

from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given, strategies as st
import pytest

from custom_components.crosswatch.engine.items import MediaItem, MediaType
from custom_components.crosswatch.engine.packed import (
    CHUNK,
    pack_entries,
    pack_snapshot,
    unpack_entries,
    unpack_snapshot,
)
from custom_components.crosswatch.engine.payloads import Entry, Feature, Listed, Rated, Watched
from custom_components.crosswatch.engine.snapshot import Completeness, Semantics, Snapshot
from tests.reads import same_snapshots

ZONES = st.sampled_from([UTC, timezone(timedelta(hours=2)), timezone(timedelta(hours=-5))])
MOMENTS = st.builds(
    lambda seconds, micro, zone: datetime.fromtimestamp(seconds, zone).replace(microsecond=micro),
    st.integers(0, 2_000_000_000),
    st.integers(0, 999_999),
    ZONES,
)
PAYLOADS_BY_FEATURE = {
    Feature.WATCHLIST: st.builds(Listed, st.none() | MOMENTS),
    Feature.RATINGS: st.builds(
        Rated, st.floats(1, 10, allow_nan=False) | st.integers(1, 10), st.none() | MOMENTS
    ),
    Feature.HISTORY: st.builds(
        Watched,
        st.lists(MOMENTS, max_size=4).map(lambda plays: tuple(sorted(plays))),
        st.integers(1, 50),
        st.none() | MOMENTS,
    ),
}
PAYLOADS = st.one_of(*PAYLOADS_BY_FEATURE.values())


@st.composite
def items(draw: st.DrawFn) -> MediaItem:
    media_type = draw(st.sampled_from(MediaType))
    episodic = media_type in (MediaType.SEASON, MediaType.EPISODE)
    return MediaItem.create(
        media_type,
        title=draw(st.from_regex(r"[A-Za-zé][A-Za-zé0-9 :'-]{0,29}", fullmatch=True)),
        year=draw(st.none() | st.integers(1900, 2030)),
        ids=draw(
            st.dictionaries(
                st.sampled_from(["imdb", "tmdb", "tvdb", "trakt", "simkl", "plex", "jellyfin"]),
                st.integers(1, 10_000_000).map(str),
                max_size=4,
            )
        ),
        season=draw(st.integers(0, 30)) if episodic else None,
        episode=draw(st.integers(1, 300)) if media_type is MediaType.EPISODE else None,
    )


ENTRIES = st.lists(st.builds(Entry, items(), PAYLOADS), max_size=25)
# What one read of a feature holds: its feature's payloads only.
READS = st.sampled_from(Feature).flatmap(
    lambda feature: st.tuples(
        st.just(feature),
        st.lists(st.builds(Entry, items(), PAYLOADS_BY_FEATURE[feature]), max_size=25),
    )
)


@given(ENTRIES)
def test_entries_unpack_to_exactly_the_entries_packed_in_their_order(entries: list[Entry]) -> None:
    packed = pack_entries(entries)

    assert list(unpack_entries(packed)) == entries
    assert packed.count == len(entries)


@given(READS)
def test_a_built_snapshot_unpacks_to_the_same_entries_aliases_and_evidence(
    read: tuple[Feature, list[Entry]],
) -> None:
    feature, entries = read
    evidence = Completeness(all_pages=True, expected_total=len(entries), seen_total=len(entries))
    built = Snapshot.build("Trakt (alice)", feature, entries, evidence)

    packed = pack_snapshot(built)

    assert packed.complete == built.complete
    assert len(packed) == len(built)
    assert same_snapshots(unpack_snapshot(packed), built)


def test_a_library_larger_than_a_chunk_is_packed_in_chunks_and_comes_back_whole() -> None:
    moment = datetime(2026, 1, 1, tzinfo=UTC)
    entries = [
        Entry(
            MediaItem.create(MediaType.MOVIE, title=f"Film {n}", ids={"tmdb": n + 1}),
            Listed(moment + timedelta(minutes=n)),
        )
        for n in range(CHUNK * 2 + 7)
    ]

    packed = pack_entries(entries)

    assert len(packed.chunks) == 3
    assert list(unpack_entries(packed)) == entries
    assert packed.size < 40 * len(entries)  # compressed: a fraction of the live objects


def test_only_a_present_snapshot_as_read_is_packed() -> None:
    delta = Snapshot.build(
        "SIMKL (x)",
        Feature.WATCHLIST,
        [],
        Completeness(all_pages=True),
        semantics=Semantics.DELTA,
        removed=["tmdb:movie:1"],
    )

    with pytest.raises(ValueError, match="present snapshot"):
        pack_snapshot(delta)
