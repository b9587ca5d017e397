"""Plex's last complete library scan, served again while the server's tallies stand.

A scan costs a request per 200 library items: about 500 at 100,000. Plex keeps no activity
stamp, but it counts and dates what a feature reads: every play stamps its item's `lastViewedAt`
and every rating its `lastRatedAt`, and only an unplay or an unrating lowers the number of
items that hold the state. So for each item type (movies, shows, episodes) one request asks how
many items hold the feature's state and the latest date one got it (`PlexClient.tally`): three
requests in all. While the tallies taken just before a complete scan stand, the scan still
shows the feature as it is.

A kept scan is never served:
- once it is a day old (`FULL_SCAN_EVERY`): a full scan then stands whatever the tallies say.
  What no tally sees waits for it: an item matched again to other metadata (new ids, same
  state), and an unplay and a play of an older item that cancel out in the count;
- after a library write of ours, until a scan is taken again (another scan than the reads',
  one a write asked for, drops it too);
- when the engine asks for a fresh read (`forget_reads(validated=True)`): before it believes
  a loss, and to verify our writes.

Only a scan the adapter would reuse anyway (complete, not empty, no smaller than the scan
before it) is kept, so a kept scan never shrinks, and is never evidence of a removal.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from ...clients.plex import PlexClient, TalliedState, Tally
from ...clients.plex.client import TYPE_EPISODE, TYPE_MOVIE, TYPE_SHOW
from ...engine.payloads import Feature
from .library import Library, PackedLibrary

FULL_SCAN_EVERY: Final = 24 * 3600.0  # seconds on the provider's clock
TALLIED_TYPES: Final = (TYPE_MOVIE, TYPE_SHOW, TYPE_EPISODE)
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

    def stands(self, feature: Feature, mark: LibraryMark, now: float) -> bool:
        """Whether the scan still shows `feature` as it is: the same mark, within the day."""
        return now - self.library.read_at < FULL_SCAN_EVERY and self.marks.get(feature) == mark


async def library_mark(client: PlexClient, feature: Feature) -> LibraryMark:
    """The feature's mark now: three requests, one per tallied type."""
    state = STATE_OF[feature]
    return LibraryMark(tuple([await client.tally(kind, state) for kind in TALLIED_TYPES]))
