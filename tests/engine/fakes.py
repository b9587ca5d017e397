"""An in-memory provider for engine tests, with switchable faults."""

from collections.abc import Sequence
from dataclasses import dataclass, field

from custom_components.crosswatch.engine.capabilities import Capabilities
from custom_components.crosswatch.engine.payloads import Entry, Feature
from custom_components.crosswatch.engine.plan import Action
from custom_components.crosswatch.engine.provider import (
    ProviderError,
    Read,
    WriteOutcome,
    WriteRequest,
    WriteResult,
)
from custom_components.crosswatch.engine.snapshot import Completeness, Snapshot
from custom_components.crosswatch.engine.store import Checkpoint


@dataclass
class FakeProvider:
    """Answers writes per item unless a fault says otherwise; records every batch."""

    key: str
    name: str
    capabilities: Capabilities
    reject: set[str] = field(default_factory=set)  # item keys answered not_found
    answer_counts_only: bool = False  # like an `ok: true` reply
    fail_batches: dict[int, ProviderError] = field(default_factory=dict)  # batch number -> error
    batches: list[tuple[Feature, Action, list[str]]] = field(default_factory=list)
    inventory: dict[Feature, list[Entry]] = field(default_factory=dict)

    async def health(self) -> None:
        return None

    async def read(self, feature: Feature, checkpoint: Checkpoint | None) -> Read:
        entries = self.inventory.get(feature, [])
        snapshot = Snapshot.build(
            self.name,
            feature,
            entries,
            Completeness(all_pages=True, expected_total=len(entries), seen_total=len(entries)),
        )
        return Read(snapshot, checkpoint, checkpoint_moved=False)

    async def write(
        self, feature: Feature, action: Action, requests: Sequence[WriteRequest]
    ) -> Sequence[WriteResult]:
        number = len(self.batches)
        self.batches.append((feature, action, [request.item.key for request in requests]))
        if number in self.fail_batches:
            raise self.fail_batches[number]
        if self.answer_counts_only:
            return []
        return [
            WriteResult(request.item, WriteOutcome.REJECTED, "not_found")
            if request.item.key in self.reject
            else WriteResult(request.item, WriteOutcome.CONFIRMED)
            for request in requests
        ]
