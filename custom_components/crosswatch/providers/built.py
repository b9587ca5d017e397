"""The snapshot built for a read's version, kept packed and handed back for later reads of it.

A provider that names its reads by a version (`Read.version`) promises that equal versions show
equal snapshots; so a read of a version seen before need not build its snapshot again (at
100,000 items that is most of a settled run's CPU). Only complete snapshots are kept, one per
feature, packed (`engine/packed.py`): a later read of the version is a `PackedRead`, which a run
that settles never unpacks, and which holds a few megabytes between runs instead of tens.
"""

from collections.abc import Awaitable, Callable
from functools import partial

from ..clients.off_loop import off_loop
from ..engine.cursor import Checkpoint
from ..engine.packed import PackedSnapshot, pack_snapshot
from ..engine.payloads import Feature
from ..engine.provider import AnyRead, PackedRead, Read
from ..engine.snapshot import Semantics, Snapshot


class BuiltSnapshots:
    """The last complete snapshot of each feature, packed, and the read version it was built for."""

    def __init__(self) -> None:
        """Start with nothing built."""
        self._built: dict[Feature, tuple[str, PackedSnapshot]] = {}

    async def read_for(
        self,
        feature: Feature,
        version: str | None,
        build: Callable[[], Awaitable[Snapshot]],
        checkpoint: Checkpoint | None,
    ) -> AnyRead:
        """The read of `version`: packed when built before, else built by `build` (and kept).

        The read's version is None where it cannot be vouched for: it had none, or the snapshot
        built for it is partial.
        """
        kept = self._built.get(feature)
        if version is not None and kept is not None and kept[0] == version:
            return PackedRead(kept[1], checkpoint, version)
        snapshot = await build()
        if version is None or not snapshot.complete:
            return Read(snapshot, checkpoint)
        if snapshot.semantics is Semantics.PRESENT and not snapshot.removed:
            packed = await off_loop(partial(pack_snapshot, snapshot), size=len(snapshot))
            self._built[feature] = (version, packed)
        return Read(snapshot, checkpoint, version)

    def clear(self) -> None:
        """Forget every kept snapshot."""
        self._built.clear()
