"""SIMKL: the API client, its typed replies and write objects, and the PIN sign-in."""

from .auth import (
    PinCode,
    PinStatus,
    SimklPinAuth,
)
from .client import (
    DEFAULT_BASE_URL,
    SimklApi,
)
from .models import (
    ACTIVITY_KEYS,
    BUCKETS,
    Activities,
    Echo,
    ListedRow,
    Media,
    RatedRow,
    Stamps,
    SyncEpisode,
    SyncObject,
    SyncSeason,
    UserSettings,
    UserStats,
    WatchedEpisode,
    WriteReply,
    expect_object,
)

__all__ = [
    "ACTIVITY_KEYS",
    "BUCKETS",
    "DEFAULT_BASE_URL",
    "Activities",
    "Echo",
    "ListedRow",
    "Media",
    "PinCode",
    "PinStatus",
    "RatedRow",
    "SimklApi",
    "SimklPinAuth",
    "Stamps",
    "SyncEpisode",
    "SyncObject",
    "SyncSeason",
    "UserSettings",
    "UserStats",
    "WatchedEpisode",
    "WriteReply",
    "expect_object",
]
