"""Reads as the engine uses them: a provider's packed read unpacked, as a run that plans does."""

from custom_components.crosswatch.engine.cursor import Checkpoint
from custom_components.crosswatch.engine.payloads import Feature
from custom_components.crosswatch.engine.provider import AnyRead, Provider, Read
from custom_components.crosswatch.engine.snapshot import Snapshot


def unpacked(read: AnyRead) -> Read:
    """`read` with its snapshot at hand (a packed read unpacked here, in the test's thread)."""
    return read if isinstance(read, Read) else read.unpacked()


async def read_whole(
    provider: Provider, feature: Feature, checkpoint: Checkpoint | None = None
) -> Read:
    """`provider.read(feature, checkpoint)`, unpacked."""
    return unpacked(await provider.read(feature, checkpoint))


def same_snapshots(one: Snapshot, other: Snapshot) -> bool:
    """Whether two snapshots hold the same: provenance, evidence, entries and aliases, in order.

    (`Snapshot` compares by identity: equal snapshots built twice are two.)
    """
    return (
        (one.provider, one.feature, one.semantics, one.completeness, one.removed, one.stand_ins)
        == (other.provider, other.feature, other.semantics, other.completeness, other.removed,
            other.stand_ins)
        and list(one.entries.items()) == list(other.entries.items())
        and dict(one.aliases) == dict(other.aliases)
    )  # fmt: skip
