"""Snapshots: what one provider holds for one feature, and how sure we are that it is all of it.

A snapshot indexes its entries by canonical key and keeps an alias index from every token to
that key, so that any id a counterpart knows finds the entry. Copies of one item that share a
token (Plex lists a film once per library) are folded into one entry as the snapshot is built.

Completeness is evidence, not a flag a provider sets on a whim: a read is complete only when it
reached the end of pagination without an error and every total the provider announced matched
what was read. A snapshot that cannot prove completeness is partial, and a partial snapshot can
never cause a removal.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from enum import StrEnum
import hashlib
from types import MappingProxyType

from .items import MediaItem
from .payloads import Entry, Feature, merge_payloads


class Semantics(StrEnum):
    """What a snapshot's entries mean."""

    PRESENT = "present"  # the full inventory
    DELTA = "delta"  # only what changed since a watermark; merged onto the baseline to be used


@dataclass(frozen=True, slots=True)
class Completeness:
    """The evidence that a read saw everything the provider holds."""

    all_pages: bool  # pagination reached its end (an unpaged endpoint answered in full)
    expected_total: int | None = None  # a total the provider announced, where it does
    seen_total: int | None = None  # how many records the read actually got
    watermark: str | None = None  # the activity timestamp this read corresponds to
    etag: str | None = None  # the validator of the body that was read
    failure: str | None = None  # why the read stopped early, if it did

    @property
    def complete(self) -> bool:
        """Whether the evidence proves the read saw everything."""
        return (
            self.all_pages
            and self.failure is None
            and (self.expected_total is None or self.expected_total == self.seen_total)
        )

    def describe(self) -> str:
        """Why the read counts as complete or partial, in words."""
        if self.failure:
            return f"partial: {self.failure}"
        if not self.all_pages:
            return "partial: not every page was read"
        if self.expected_total is not None and self.expected_total != self.seen_total:
            return f"partial: {self.seen_total} of {self.expected_total} announced records read"
        return "complete"


def content_version(snapshot: Snapshot) -> str | None:
    """A version (`Read.version`) for a complete snapshot: a digest of everything it holds.

    For providers with nothing cheaper to name a read by (no records as received to digest):
    it walks every entry, so it belongs in the same executor job as the snapshot's build. A
    partial snapshot has no version.
    """
    if not snapshot.complete:
        return None
    digest = hashlib.sha256(f"{snapshot.feature.value}|{snapshot.semantics.value}".encode())
    entries = snapshot.entries
    for key in sorted(entries):
        digest.update(f"\n{key}={entries[key]!r}".encode())
    return digest.hexdigest()


def versioned(
    provider: str, feature: Feature, entries: Iterable[Entry], completeness: Completeness
) -> tuple[Snapshot, str | None]:
    """`Snapshot.build` and the snapshot's `content_version`, as one job for the executor."""
    snapshot = Snapshot.build(provider, feature, entries, completeness)
    return snapshot, content_version(snapshot)


def partial(reason: str) -> Completeness:
    """Completeness of a read that is known not to cover everything."""
    return Completeness(all_pages=False, failure=reason)


@dataclass(frozen=True, slots=True, eq=False)
class Snapshot:
    """One provider's entries for one feature, with the evidence of how complete they are."""

    provider: str
    feature: Feature
    semantics: Semantics
    completeness: Completeness
    entries: Mapping[str, Entry]  # canonical key -> entry
    # Every other strong and local token -> canonical key. A canonical key is itself a token
    # and is found in `entries`, so it is not repeated here: a million fewer slots per snapshot.
    aliases: Mapping[str, str]
    removed: frozenset[str] = frozenset()  # delta only: tokens of items removed since the watermark
    stand_ins: int = 0  # entries a baseline supplied because this read could not see them

    @classmethod
    def build(
        cls,
        provider: str,
        feature: Feature,
        entries: Iterable[Entry],
        completeness: Completeness,
        *,
        semantics: Semantics = Semantics.PRESENT,
        removed: Iterable[str] = (),
    ) -> Snapshot:
        """Index entries, folding copies of one item into one entry."""
        index = _Index({}, {})
        for entry in entries:
            index.upsert(entry, merge=True)
        return cls(
            provider,
            feature,
            semantics,
            completeness,
            MappingProxyType(index.entries),
            MappingProxyType(index.aliases),
            frozenset(removed),
        )

    @property
    def complete(self) -> bool:
        """Whether this is a full inventory proven complete (a delta on its own never is)."""
        return self.semantics is Semantics.PRESENT and self.completeness.complete

    def __len__(self) -> int:
        """Number of distinct items."""
        return len(self.entries)

    def find(self, item: MediaItem, *, include_local: bool = False) -> Entry | None:
        """The entry sharing a strong token with `item`.

        `include_local` is for lookups in the same side's own data: server-local ids count too,
        and so does the title key of an item with no ids, which is how this side keys it.
        """
        entries, alias = self.entries, self.aliases.get
        for text in (*item.tokens, *item.local_tokens) if include_local else item.tokens:
            found = entries.get(text)
            if found is not None:
                return found
            key = alias(text)
            if key is not None:
                return entries[key]
        if include_local and not item.tokens and not item.local_tokens:
            return entries.get(item.key)
        return None


@dataclass(slots=True)
class _Index:
    """Mutable working state while a snapshot or an effective view is assembled."""

    entries: dict[str, Entry]
    aliases: dict[str, str]

    def key_for(self, text: str) -> str | None:
        return text if text in self.entries else self.aliases.get(text)

    def keys_sharing_tokens(self, item: MediaItem) -> set[str]:
        found: set[str] = set()
        for text in (*item.tokens, *item.local_tokens):
            key = self.key_for(text)
            if key is not None:
                found.add(key)
        if not found and item.key in self.entries:  # two title-only copies
            found.add(item.key)
        return found

    def upsert(self, entry: Entry, *, merge: bool) -> None:
        """Add an entry; entries it shares a token with are merged into it, or replaced."""
        existing = self.keys_sharing_tokens(entry.item)
        for key in sorted(existing):
            old = self.entries.pop(key)
            for text in (*old.item.tokens, *old.item.local_tokens):
                self.aliases.pop(text, None)
            if merge:
                entry = Entry(
                    entry.item.merged(old.item), merge_payloads(entry.payload, old.payload)
                )
        key = entry.key
        self.entries[key] = entry
        for text in (*entry.item.tokens, *entry.item.local_tokens):
            if text != key:
                self.aliases[text] = key

    def present_view_of(self, snapshot: Snapshot, *, stand_ins: int = 0) -> Snapshot:
        """The assembled entries as a present snapshot with `snapshot`'s provenance."""
        return Snapshot(
            snapshot.provider,
            snapshot.feature,
            Semantics.PRESENT,
            snapshot.completeness,
            MappingProxyType(self.entries),
            MappingProxyType(self.aliases),
            stand_ins=stand_ins,
        )

    def remove(self, tokens: Iterable[str]) -> None:
        for text in tokens:
            key = self.key_for(text)
            if key is None:
                continue
            old = self.entries.pop(key)
            for alias in (*old.item.tokens, *old.item.local_tokens):
                self.aliases.pop(alias, None)


def with_changes(
    snapshot: Snapshot, *, upserts: Iterable[Entry] = (), removed: Iterable[MediaItem] = ()
) -> Snapshot:
    """A copy of a complete snapshot with some entries replaced or taken out."""
    index = _Index(dict(snapshot.entries), dict(snapshot.aliases))
    for item in removed:
        index.remove((item.key, *item.tokens, *item.local_tokens))
    for entry in upserts:
        index.upsert(entry, merge=False)
    return index.present_view_of(snapshot)


def without(snapshot: Snapshot, items: Iterable[MediaItem]) -> Snapshot:
    """A copy of any snapshot (partial, or a delta) less the entries sharing a token with `items`.

    Unlike `with_changes`, it keeps the read's semantics and evidence as they were.
    """
    index = _Index(dict(snapshot.entries), dict(snapshot.aliases))
    for item in items:
        index.remove((item.key, *item.tokens, *item.local_tokens))
    return replace(
        snapshot, entries=MappingProxyType(index.entries), aliases=MappingProxyType(index.aliases)
    )


def effective_view(snapshot: Snapshot, baseline: Snapshot | None) -> Snapshot:
    """The inventory the planner should diff, as a present snapshot.

    - A delta is merged onto the baseline: it is complete only when the delta read was.
      Without a baseline it is partial, since nothing says what it leaves out.
    - A partial present snapshot is completed by the baseline: entries the read did not reach
      stand in from the baseline, so that absence from a failed read never looks like a
      removal, and what is known to be there is not added again.
    - A complete present snapshot is used as it is.
    """
    if snapshot.semantics is Semantics.DELTA:
        if baseline is None:
            return replace(
                snapshot,
                semantics=Semantics.PRESENT,
                completeness=partial("a delta read with no stored baseline to apply it to"),
            )
        index = _Index(dict(baseline.entries), dict(baseline.aliases))
        index.remove(snapshot.removed)
        for entry in snapshot.entries.values():
            index.upsert(entry, merge=False)
        return index.present_view_of(snapshot)
    if snapshot.completeness.complete or baseline is None:
        return snapshot
    index = _Index(dict(snapshot.entries), dict(snapshot.aliases))
    stand_ins = 0
    for entry in baseline.entries.values():
        if not index.keys_sharing_tokens(entry.item):
            index.upsert(entry, merge=False)
            stand_ins += 1
    return index.present_view_of(snapshot, stand_ins=stand_ins)
