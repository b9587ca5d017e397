"""What every stage of a run works with: the store, the way to run blocking work, the memo."""

from dataclasses import dataclass

from .applier import RunBlocking
from .backfill import IdMap
from .cursor import Checkpoint
from .memo import SnapshotMemo
from .payloads import Feature
from .provider import AnyRead, Provider, Read
from .store import StateStore


@dataclass(frozen=True, slots=True)
class RunContext:
    """The pipeline's means, handed to each stage of a run (the memo is shared by pairs)."""

    store: StateStore
    blocking: RunBlocking
    memo: SnapshotMemo
    id_map: IdMap | None = None

    def bust(
        self, provider: Provider, feature: Feature | None = None, *, everything: bool = False
    ) -> None:
        """Make the next read of a provider's feature (None: every feature) a fresh one.

        Forgets the read other pairs share and what the provider would reuse unchecked; with
        `everything`, also what it revalidates (ETags, activity stamps), for a full read.
        """
        self.memo.bust(provider.key, feature)
        provider.forget_reads(feature, validated=everything)

    async def unpacked(self, read: AnyRead) -> Read:
        """`read` with its snapshot at hand: a packed read is unpacked in the executor."""
        return read if isinstance(read, Read) else await self.blocking(read.unpacked)

    async def read(
        self, provider: Provider, feature: Feature, checkpoint: Checkpoint | None
    ) -> Read:
        """A provider's feature through the memo, with its snapshot at hand."""
        return await self.unpacked(await self.memo.read(provider, feature, checkpoint))
