"""Plex's last complete library scan, served again while the server's tallies stand or explain.

A scan costs a request per 200 library items: about 500 at 100,000. Plex keeps no activity
stamp, but it counts and dates what a feature reads: every play stamps its item's `lastViewedAt`
and every rating its `lastRatedAt`, and only an unplay or an unrating lowers the number of
items that hold the state. So for each item type (movies, shows, episodes) one request asks how
many items hold the feature's state and the latest date one got it (`PlexClient.tally`): three
requests in all. While the tallies taken just before a complete scan stand, the scan still
shows the feature as it is.

When a type's tally moved forward (its count did not fall, its latest date did not go back),
the items of that type whose state was dated at or after the kept tally's latest date are read
(`PlexClient.changed_since`: one request a type, across every section, as the tally counts)
and folded onto the kept scan (`catch_up`): each takes the state the server lists for it, by
its ratingKey, so an episode keeps the item, ids and show the full scan gave it. The result is
served, and kept with the feature's new tallies, only when it explains them: for every type,
as many records hold the state as the tally counts, and the latest date among them is the
tally's. A play stamped in the same second as the kept date is listed too (the read asks from
the second before); an item listed twice is folded once. Anything else means a full scan:
- a count that fell or a latest date that went back or away (an unplay, an unrating, the
  server's clock set back);
- a listed item that no longer holds the state (a loss only ever comes from a full scan), or
  that the kept scan does not hold (the library changed);
- a list that failed, came back short or changed while read, and a fold that does not explain
  the tallies: an unplay and a play that cancel out in the count leave one record too many, and
  a play dated before the kept date (the server's clock) one too few.

A kept scan is never served, nor caught up:
- once it is a day old (`FULL_SCAN_EVERY`, from its full scan; catching up does not renew it):
  a full scan then stands whatever the tallies say. What no tally sees waits for it: an item
  matched again to other metadata (new ids, same state), and what cancels out exactly in both
  the count and the fold (an unplay, with a play dated before the kept date by a clock set back);
- after a library write of ours, until a scan is taken again (another scan than the reads',
  one a write asked for, drops it too);
- when the engine asks for a fresh read (`forget_reads(validated=True)`): before it believes
  a loss, and to verify our writes.

Only a scan the adapter would reuse anyway (complete, not empty, no smaller than the scan
before it) is kept, so a kept scan never shrinks. Catching up changes one feature's state of
records the scan holds and never takes a state away, so a kept scan, caught up or not, is
never evidence of a removal.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from functools import partial
from typing import Final

from ...clients.off_loop import off_loop
from ...clients.plex import Metadata, PlexClient, TalliedState, Tally
from ...clients.plex.client import TYPE_EPISODE, TYPE_MOVIE, TYPE_SHOW
from ...engine.items import MediaType
from ...engine.payloads import Feature, Rated, Watched
from .library import Library, LibraryRecord, PackedLibrary, held_by, holding, state_of

FULL_SCAN_EVERY: Final = 24 * 3600.0  # seconds on the provider's clock
TALLIED_TYPES: Final = (TYPE_MOVIE, TYPE_SHOW, TYPE_EPISODE)
# The item a scan makes of each tallied type.
MEDIA_TYPE_OF: Final[Mapping[int, MediaType]] = {
    TYPE_MOVIE: MediaType.MOVIE,
    TYPE_SHOW: MediaType.SHOW,
    TYPE_EPISODE: MediaType.EPISODE,
}
# The state of a library item each feature reads.
STATE_OF: Final[Mapping[Feature, TalliedState]] = {
    Feature.HISTORY: TalliedState.WATCHED,
    Feature.RATINGS: TalliedState.RATED,
}


@dataclass(frozen=True, slots=True)
class LibraryMark:
    """One feature's tallies, one for each type in TALLIED_TYPES."""

    tallies: tuple[Tally, ...]


@dataclass(frozen=True, slots=True)
class KeptScan:
    """A complete scan, each feature's mark taken just before it, and when it was read."""

    library: Library | PackedLibrary  # packed between runs
    marks: Mapping[Feature, LibraryMark]

    def within_day(self, now: float) -> bool:
        """Whether the full scan behind it is less than a day old."""
        return now - self.library.read_at < FULL_SCAN_EVERY

    def stands(self, feature: Feature, mark: LibraryMark, now: float) -> bool:
        """Whether the scan still shows `feature` as it is: the same mark, within the day."""
        return self.within_day(now) and self.marks.get(feature) == mark


async def library_mark(client: PlexClient, feature: Feature) -> LibraryMark:
    """The feature's mark now: three requests, one per tallied type."""
    state = STATE_OF[feature]
    return LibraryMark(tuple([await client.tally(kind, state) for kind in TALLIED_TYPES]))


def moved_forward(kept: LibraryMark, now: LibraryMark) -> tuple[tuple[int, datetime], ...] | None:
    """Each type whose tally moved forward, with the kept latest date to read changes from.

    None when a tally moved any other way: a count fell, a latest date went back or away, or
    there was none to read from.
    """
    moved: list[tuple[int, datetime]] = []
    for kind, before, after in zip(TALLIED_TYPES, kept.tallies, now.tallies, strict=True):
        if before == after:
            continue
        if before.latest is None or after.latest is None:
            return None
        if after.count < before.count or after.latest < before.latest:
            return None
        moved.append((kind, before.latest))
    return tuple(moved)


async def catch_up(
    client: PlexClient, library: Library, feature: Feature, kept: LibraryMark, now: LibraryMark
) -> Library | None:
    """The kept scan with what moved `feature`'s tallies from `kept` to `now` folded on.

    A request for each type that moved. None when the changes cannot be read or do not explain
    the tallies (the module): the caller scans the library then.
    """
    moved = moved_forward(kept, now)
    if not moved:
        return None
    rows: list[Metadata] = []
    for kind, since in moved:
        try:
            listed = await client.changed_since(kind, STATE_OF[feature], since)
        except ValueError:
            return None  # a date before 1970 cannot be asked about
        if not listed.all_pages or listed.failure is not None:
            return None
        rows.extend(listed.items)
    return await off_loop(partial(fold, library, feature, rows, now), size=library.count)


def fold(
    library: Library, feature: Feature, rows: Sequence[Metadata], mark: LibraryMark
) -> Library | None:
    """`library` with `feature`'s state of each listed item as listed (pure; for the executor).

    None when an item is not in the library, loses the state, or the result does not explain
    `mark`. Items keep their place, so the library's indexes hold as they are.
    """
    at = {record.rating_key: index for index, record in enumerate(library.records)}
    records = list(library.records)
    for row in rows:
        index = at.get(row.rating_key) if row.rating_key is not None else None
        if index is None:
            return None
        state = state_of(row, feature)
        if state is None and held_by(records[index], feature) is not None:
            return None
        records[index] = holding(records[index], feature, state)
    if not explains(records, feature, mark):
        return None
    return replace(library, records=tuple(records))


def explains(records: Sequence[LibraryRecord], feature: Feature, mark: LibraryMark) -> bool:
    """Whether, for every tallied type, `records` hold the state as often and as late as `mark`."""
    counts = dict.fromkeys(MEDIA_TYPE_OF.values(), 0)
    latest: dict[MediaType, datetime | None] = dict.fromkeys(MEDIA_TYPE_OF.values())
    for record in records:
        kind = record.item.type
        state = held_by(record, feature)
        if state is None or kind not in counts:
            continue
        counts[kind] += 1
        dated = _dated(state)
        if dated is not None:
            last = latest[kind]
            latest[kind] = dated if last is None or dated > last else last
    return all(
        counts[MEDIA_TYPE_OF[kind]] == tally.count and latest[MEDIA_TYPE_OF[kind]] == tally.latest
        for kind, tally in zip(TALLIED_TYPES, mark.tallies, strict=True)
    )


def _dated(state: Watched | Rated) -> datetime | None:
    return state.last_watched_at if isinstance(state, Watched) else state.rated_at
