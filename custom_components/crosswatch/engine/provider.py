"""The one interface every provider plugs into the engine through.

A provider reads a feature as a snapshot (with its semantics and completeness evidence) and
writes batches of items, answering per item where it can. The adapters under providers/
implement it over the wire clients in clients/; the engine never sees HTTP.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol, runtime_checkable

from .capabilities import Capabilities
from .cursor import Checkpoint
from .items import MediaItem
from .packed import PackedSnapshot, unpack_snapshot
from .payloads import Feature, Payload
from .plan import Action
from .snapshot import Snapshot


class WriteOutcome(StrEnum):
    """What a provider said about one written item."""

    CONFIRMED = "confirmed"  # the provider says it stored the item (added, updated, deleted)
    REJECTED = "rejected"  # the provider refused the item (not_found, invalid, ...)
    UNKNOWN = "unknown"  # the reply says nothing per item (counts, `ok: true`)


@dataclass(frozen=True, slots=True)
class WriteRequest:
    """One item to write, with the payload to write (None for a removal)."""

    item: MediaItem
    payload: Payload | None


@dataclass(frozen=True, slots=True)
class WriteResult:
    """What became of one requested item."""

    item: MediaItem
    outcome: WriteOutcome
    reason: str | None = None  # why it was rejected, in the provider's words
    # The destination's own item that was written, when the provider resolved the requested
    # item to one of its own (e.g. a Jellyfin item found by title because it has no ids).
    stored_as: MediaItem | None = None


@dataclass(frozen=True, slots=True)
class Read:
    """A snapshot and where the provider's activity stood when it was read.

    The engine saves the checkpoint per pair side and hands it back to that side's next read.
    It is never evidence for a shrink: activity stamps and ETags move with our own writes and
    unrelated changes, and the drop guard (`guards.judge_shrink`) believes a shrink only when a
    fresh read in a later run agrees. Providers use activity only to decide what to read again.
    """

    snapshot: Snapshot
    checkpoint: Checkpoint | None
    # The provider's promise that any read it gives the same version shows exactly this
    # snapshot (entries and completeness), or None where it cannot promise that. It lets a
    # settled pair skip planning (settle.py), so it must change with anything that could change
    # the snapshot: a hash of the bodies as received, never an activity stamp or ETag alone.
    version: str | None = None

    @property
    def complete(self) -> bool:
        """Whether the snapshot is a complete inventory (`Snapshot.complete`)."""
        return self.snapshot.complete

    @property
    def count(self) -> int:
        """How many items the read holds."""
        return len(self.snapshot)


@dataclass(frozen=True, slots=True)
class PackedRead:
    """A read of a version its provider kept packed (packed.py): the same read as `Read`.

    Providers hand these back for a read of a version they built before: a run that settles
    (settle.py) needs only the version and whether the read was complete, so it never pays to
    unpack 100,000 items; a run that plans unpacks it in the executor (`unpacked`).
    """

    packed: PackedSnapshot
    checkpoint: Checkpoint | None
    version: str

    @property
    def complete(self) -> bool:
        """As `Read.complete` of the read unpacked."""
        return self.packed.complete

    @property
    def count(self) -> int:
        """As `Read.count` of the read unpacked."""
        return len(self.packed)

    def unpacked(self) -> Read:
        """The read with its snapshot unpacked (pure; for the executor)."""
        return Read(unpack_snapshot(self.packed), self.checkpoint, self.version)


type AnyRead = Read | PackedRead


class ProviderError(Exception):
    """A provider could not do what was asked; nothing it returned should be trusted."""


class OutcomeUnknownError(ProviderError):
    """The request may have reached the service, but no answer says what became of it.

    A 5xx after the request was sent, a timeout, or a connection dropped after sending: the
    service may well have stored the write. For a write the applier records every item of the
    batch as UNKNOWN, pending verification by a fresh read, and never fails it to send it again
    (Trakt stores every play it is sent, so a resent play is a second play).
    """


class AuthError(ProviderError):
    """The provider refused our credentials: the account needs reauthentication.

    `provider` is the key of the account that refused; the pipeline fills it in when the
    client did not, so the caller knows which account to reauthenticate.
    """

    def __init__(self, message: str, provider: str | None = None) -> None:
        """Keep which account refused, when known."""
        super().__init__(message)
        self.provider = provider


class RateLimitError(ProviderError):
    """The provider asked us to slow down."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        """Keep the provider's Retry-After, in seconds, when it gave one."""
        super().__init__(message)
        self.retry_after = retry_after


class AccountLimitError(ProviderError):
    """The account is at a limit of its plan (e.g. Trakt's free-tier watchlist cap)."""

    def __init__(self, message: str, limit: int | None = None) -> None:
        """Keep the limit, when the provider told us what it is."""
        super().__init__(message)
        self.limit = limit


class AccountLockedError(ProviderError):
    """The provider has locked or suspended the account; only its owner can resolve it."""


@runtime_checkable
class CountWitness(Protocol):
    """A provider whose service also counts a feature's items apart from listing them.

    A stats endpoint is a second witness for a shrink: the drop guard believes a confirmed
    shrink only when the service's own count agrees with the read that showed it.
    """

    async def count_agrees(self, snapshot: Snapshot) -> bool | None:
        """Whether the service's own count agrees with what `snapshot`, read from it, saw.

        None where the service keeps no such count for the feature. Raises ProviderError when
        the count cannot be had.
        """


@dataclass(frozen=True, slots=True)
class ItemCounts:
    """How many items of a feature an account holds, as the service or a kept read counts them.

    A count means what a complete read of the feature would hold (one per movie, show, season
    or episode the read keys), never plays. `untold` says, per feature, why the service cannot
    count it; a feature in neither was not counted this time (its count as known stands).
    """

    counted: Mapping[Feature, int]
    untold: Mapping[Feature, str]


@runtime_checkable
class ItemCounter(Protocol):
    """A provider that can say how many watched and rated items its account holds."""

    async def count_items(self, *, ask: bool) -> ItemCounts:
        """The account's watched and rated items, by the cheapest count there is.

        With `ask`, at most the service's cheapest counts are requested (a statistics call, a
        tally, a count of a filtered list); without it, only what the provider keeps from
        reads made anyway is counted, with no request. Raises ProviderError when the service
        fails to answer.
        """


@runtime_checkable
class ItemReader(Protocol):
    """A media server whose library can be read one item at a time, by the server's own id.

    The read of one played item that a targeted run (targeted.py) plans from: cheap enough to
    ask again while the server's watched flag lags behind the end of a play.
    """

    async def read_item(self, feature: Feature, local_id: str) -> Read:
        """A partial read of `feature` holding the item with this id, if it holds the feature.

        `local_id` is the server's own id of the item (a Plex ratingKey, a Jellyfin or Emby
        item id). The item is built exactly as a full read builds it, so it keys the same. The
        snapshot is never complete: it says nothing of any other item. An id the server does
        not know gives an empty read; a failure raises ProviderError.
        """


@runtime_checkable
class TitleSearch(Protocol):
    """A provider whose service can be searched for movies and shows by title."""

    @property
    def search_name(self) -> str:
        """The service as its search results are named to the user, e.g. 'Trakt'."""

    async def search_titles(self, text: str) -> Sequence[MediaItem]:
        """Movies and shows the service finds for `text`, in its own order (best first).

        Each item carries the service's ids, so it can be written to the same account.
        Raises ProviderError when the service cannot be searched now.
        """


@runtime_checkable
class Rests(Protocol):
    """A provider that keeps what it needs between runs more compactly than during one.

    Home Assistant holds providers for as long as the integration is loaded; what they keep
    from a run (a library to look titles up in) must not hold tens of megabytes, nor objects
    for the cycle collector to walk, until the next one (issue 16).
    """

    async def rest(self) -> None:
        """Make what the provider keeps compact until a run needs it (pure local work).

        Changes nothing the provider reads or writes: only how it holds what it keeps.
        """


class Provider(Protocol):
    """An account on one service, as the engine uses it."""

    @property
    def key(self) -> str:
        """A stable id of the account, e.g. 'trakt:alice'."""

    @property
    def name(self) -> str:
        """How the account is named in plans, e.g. 'Trakt (alice)'."""

    @property
    def capabilities(self) -> Capabilities:
        """What the provider can hold and how it writes."""

    @property
    def requests_made(self) -> int:
        """How many HTTP requests the provider has made so far (for run results)."""

    async def health(self) -> None:
        """Raise ProviderError when the service cannot be used now."""

    async def read(self, feature: Feature, checkpoint: Checkpoint | None) -> Read | PackedRead:
        """Read one feature; a failure midway must give a partial snapshot, not a short one."""

    def forget_reads(self, feature: Feature | None = None, *, validated: bool = False) -> None:
        """Make the next read of `feature` (None: of every feature) ask the service anew.

        Always forgets what would be reused without asking the service (a library scan kept
        for a minute). With `validated`, also what the service vouches for on each read
        (ETags, activity stamps), which a stale cache on its side can get wrong: the next read
        then fetches everything in full.
        """

    async def write(
        self, feature: Feature, action: Action, requests: Sequence[WriteRequest]
    ) -> Sequence[WriteResult]:
        """Write one batch (at most `capabilities.batch_size`); one result per request."""
