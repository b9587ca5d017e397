"""The sync engine: identity, snapshots, planning, guards, state and applying.

Pure Python. Nothing under this package may import Home Assistant (a test enforces it), so the
engine can be exercised at full speed and reused outside Home Assistant.

`__all__` names the types the rest of the integration uses: the Home Assistant glue runs pairs
through `Pipeline` over a `StateStore`, and the providers implement `Provider`. Helpers that
only providers need (id parsing in `ids`, rating scales in `ratings`) stay in their modules.
"""

from .applier import ApplyReport, RunBlocking
from .backfill import IdMapFetch, IdRecord
from .capabilities import Capabilities, HistorySupport
from .cursor import Checkpoint
from .guards import GuardCode, GuardSettings
from .ids import Namespace
from .items import MediaItem, MediaType
from .memo import SnapshotMemo
from .payloads import Entry, Feature, Listed, Payload, Rated, Watched
from .pipeline import PairSpec, Pipeline, RunResult, RunStatus
from .plan import Action, Plan
from .planner import SyncMode
from .provider import (
    AccountLimitError,
    AccountLockedError,
    AuthError,
    OutcomeUnknownError,
    Provider,
    ProviderError,
    RateLimitError,
    Read,
    WriteOutcome,
    WriteRequest,
    WriteResult,
)
from .ratings import RatingScale
from .records import PendingWrite, RunRecord
from .snapshot import Completeness, Snapshot
from .store import StateStore, StoreError

__all__ = [
    "AccountLimitError",
    "AccountLockedError",
    "Action",
    "ApplyReport",
    "AuthError",
    "Capabilities",
    "Checkpoint",
    "Completeness",
    "Entry",
    "Feature",
    "GuardCode",
    "GuardSettings",
    "HistorySupport",
    "IdMapFetch",
    "IdRecord",
    "Listed",
    "MediaItem",
    "MediaType",
    "Namespace",
    "OutcomeUnknownError",
    "PairSpec",
    "Payload",
    "PendingWrite",
    "Pipeline",
    "Plan",
    "Provider",
    "ProviderError",
    "RateLimitError",
    "Rated",
    "RatingScale",
    "Read",
    "RunBlocking",
    "RunRecord",
    "RunResult",
    "RunStatus",
    "Snapshot",
    "SnapshotMemo",
    "StateStore",
    "StoreError",
    "SyncMode",
    "Watched",
    "WriteOutcome",
    "WriteRequest",
    "WriteResult",
]
