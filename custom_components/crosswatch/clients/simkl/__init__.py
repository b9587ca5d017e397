"""SIMKL: the API client, its typed replies and write objects, and the AUTH V2 sign-in."""

from .auth import (
    DeviceCode,
    Grant,
    SimklGrant,
    SimklOAuth,
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
    "DeviceCode",
    "Echo",
    "Grant",
    "ListedRow",
    "Media",
    "RatedRow",
    "SimklApi",
    "SimklGrant",
    "SimklOAuth",
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
