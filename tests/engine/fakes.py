"""An in-memory provider for engine tests, with switchable faults."""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from custom_components.crosswatch.engine.capabilities import Capabilities
from custom_components.crosswatch.engine.cursor import Checkpoint
from custom_components.crosswatch.engine.items import MediaItem, normalize_title
from custom_components.crosswatch.engine.payloads import Entry, Feature, Payload, merge_payloads
from custom_components.crosswatch.engine.plan import Action
from custom_components.crosswatch.engine.provider import (
    ProviderError,
    Read,
    WriteOutcome,
    WriteRequest,
    WriteResult,
)
from custom_components.crosswatch.engine.snapshot import Completeness, Snapshot

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass
class FakeProvider:
    """Holds entries per feature, answers writes per item and shows them on the next read.

    With a `library` it behaves like a media server: a write lands on a library item found by
    ids, else by a title search that tolerates a year off by one (reporting it as `stored_as`
    when it is not the item sent).
    Faults: `reject` (keys answered not_found), `answer_counts_only` (an `ok: true` reply),
    `invisible` (keys accepted but never shown: phantoms), `fail_batches` (batch number -> error),
    `health_error`, and `truncate_to` (the next reads return only that many entries, as complete).
    """

    key: str
    name: str
    capabilities: Capabilities
    inventory: dict[Feature, list[Entry]] = field(default_factory=dict)
    reject: set[str] = field(default_factory=set)
    answer_counts_only: bool = False
    invisible: set[str] = field(default_factory=set)
    fail_batches: dict[int, ProviderError] = field(default_factory=dict)
    health_error: ProviderError | None = None
    library: list[MediaItem] | None = None  # a media server's library: writes land only on these
    truncate_to: int | None = None
    batches: list[tuple[Feature, Action, list[str]]] = field(default_factory=list)
    reads: int = 0
    health_checks: int = 0
    forgotten: list[tuple[Feature | None, bool]] = field(default_factory=list)  # forget_reads

    @property
    def requests_made(self) -> int:
        """One request per read and per written batch, as a paging-free service would make."""
        return self.reads + len(self.batches)

    async def health(self) -> None:
        self.health_checks += 1
        if self.health_error is not None:
            raise self.health_error

    def forget_reads(self, feature: Feature | None = None, *, validated: bool = False) -> None:
        """Keeps nothing between reads; records the call."""
        self.forgotten.append((feature, validated))

    async def read(self, feature: Feature, checkpoint: Checkpoint | None) -> Read:
        self.reads += 1
        entries = [e for e in self.inventory.get(feature, []) if e.item.key not in self.invisible]
        if self.truncate_to is not None:
            entries = entries[: self.truncate_to]
        completeness = Completeness(
            all_pages=True, expected_total=len(entries), seen_total=len(entries)
        )
        # Each read reports a new activity watermark; the pipeline stamps when it kept it.
        watermark = Checkpoint(self.key, feature, f"read-{self.reads}", None, EPOCH)
        return Read(Snapshot.build(self.name, feature, entries, completeness), watermark)

    async def write(
        self, feature: Feature, action: Action, requests: Sequence[WriteRequest]
    ) -> Sequence[WriteResult]:
        number = len(self.batches)
        self.batches.append((feature, action, [request.item.key for request in requests]))
        if number in self.fail_batches:
            raise self.fail_batches[number]
        results = []
        for request in requests:
            if request.item.key in self.reject:
                results.append(WriteResult(request.item, WriteOutcome.REJECTED, "not_found"))
                continue
            landed = self._store(feature, action, request.item, request.payload)
            if landed is None:
                results.append(WriteResult(request.item, WriteOutcome.REJECTED, "not_in_library"))
                continue
            stored_as = landed if landed is not request.item else None
            results.append(WriteResult(request.item, WriteOutcome.CONFIRMED, stored_as=stored_as))
        return [] if self.answer_counts_only else results

    def _store(
        self, feature: Feature, action: Action, item: MediaItem, payload: Payload | None
    ) -> MediaItem | None:
        """Apply one write; returns the item it landed on, or None when there is none."""
        entries = self.inventory.setdefault(feature, [])
        index = _index_of(entries, item)
        if action is Action.REMOVE:
            if index is not None:
                del entries[index]
            return item
        assert payload is not None
        if index is not None:
            merged = (
                payload
                if action is Action.UPDATE
                else merge_payloads(entries[index].payload, payload)
            )
            entries[index] = Entry(entries[index].item, merged)
            return item
        if self.library is None:
            # A tracker keeps its own copy: external ids only, none of the source's local ids.
            own = MediaItem.from_tokens(
                item.type, title=item.title, year=item.year, season=item.season,
                episode=item.episode, tokens=item.tokens, local_tokens=(),
            )  # fmt: skip
            entries.append(Entry(own, payload))
            return item
        # A media server can only mark what its library holds: by ids, else by title and year.
        wanted = {item.key, *item.tokens}
        by_ids = [own for own in self.library if wanted & set(own.tokens)]
        # Servers search by title; years disagree by one often enough (release vs premiere).
        by_title = [
            own
            for own in self.library
            if not own.tokens
            and own.title
            and item.title
            and normalize_title(own.title) == normalize_title(item.title)
            and abs((own.year or 0) - (item.year or 0)) <= 1
        ]
        found = by_ids[0] if by_ids else by_title[0] if by_title else None
        if found is not None:
            entries.append(Entry(found, payload))
        return found


def _index_of(entries: list[Entry], item: MediaItem) -> int | None:
    wanted = {item.key, *item.tokens, *item.local_tokens}
    for index, entry in enumerate(entries):
        if wanted & {entry.item.key, *entry.item.tokens, *entry.item.local_tokens}:
            return index
    return None
