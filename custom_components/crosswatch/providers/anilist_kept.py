"""AniList's last complete list read, served again while the list's mark stands.

Reading the whole list costs a request per 500 entries, and AniList serves 30 a minute: at
100,000 entries a read takes about seven minutes. One request asks for the list's mark instead
(`ListMark`: the entry edited last and the statistics' count of each status). Every save dates
its entry and a new entry is dated when it is made, so any add, edit or status move changes the
entry edited last; a deletion changes no date, but takes one off its status's count. While the
mark taken before a complete read stands, the list is as that read saw it.

A kept read is never served:
- once it is a day old (`FULL_READ_EVERY`): a full read then stands whatever the mark says;
- after a write of ours, until a complete read is taken again;
- when the engine asks for a fresh read (`forget_reads(validated=True)`): before it believes a
  loss, and to verify our writes, which a lagging AniList may show only reads later.

Only a read the provider would keep for reuse anyway is kept (whole, not empty, no shorter than
the read before it), so a kept read never shrinks, and is never evidence of a removal.
"""

from dataclasses import dataclass
from typing import Final

from ..clients.anilist.models import ListMark

FULL_READ_EVERY: Final = 24 * 3600.0  # seconds on the provider's clock


@dataclass(frozen=True, slots=True)
class KeptList[T]:
    """A complete read of the list, the mark taken just before it, and when it was read."""

    collection: T
    mark: ListMark
    read_at: float

    def stands(self, mark: ListMark, now: float) -> bool:
        """Whether the list is still as this read saw it: the same mark, within the day."""
        return now - self.read_at < FULL_READ_EVERY and mark == self.mark
