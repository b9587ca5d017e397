"""The snapshot built for a read's version, handed back for any later read of that version.

A provider that names its reads by a version (`Read.version`) promises that equal versions show
equal snapshots; so a read of a version seen before need not build its snapshot again (at
100,000 items that is most of a settled run's CPU). Only complete snapshots are kept, one per
feature.
"""

from collections.abc import Awaitable, Callable

from ..engine.payloads import Feature
from ..engine.snapshot import Snapshot


class BuiltSnapshots:
    """The last complete snapshot of each feature, and the read version it was built for."""

    def __init__(self) -> None:
        """Start with nothing built."""
        self._built: dict[Feature, tuple[str, Snapshot]] = {}

    async def snapshot_for(
        self, feature: Feature, version: str | None, build: Callable[[], Awaitable[Snapshot]]
    ) -> tuple[Snapshot, str | None]:
        """The snapshot of a read of `version` (built by `build` unless kept), and its version.

        The version is None where the read cannot be vouched for: it had none, or the snapshot
        built for it is partial.
        """
        kept = self._built.get(feature)
        if version is not None and kept is not None and kept[0] == version:
            return kept[1], version
        snapshot = await build()
        if version is None or not snapshot.complete:
            return snapshot, None
        self._built[feature] = (version, snapshot)
        return snapshot, version
