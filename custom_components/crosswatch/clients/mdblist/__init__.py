"""MDBList: the API client over an API key, and its typed replies and write objects."""

from .client import DEFAULT_BASE_URL, MdblistApi
from .models import (
    Activities,
    ListedRow,
    NotFound,
    Page,
    RatedRow,
    SyncEpisode,
    SyncObject,
    SyncSeason,
    User,
    WatchedRow,
    WriteReply,
)

__all__ = [
    "DEFAULT_BASE_URL",
    "Activities",
    "ListedRow",
    "MdblistApi",
    "NotFound",
    "Page",
    "RatedRow",
    "SyncEpisode",
    "SyncObject",
    "SyncSeason",
    "User",
    "WatchedRow",
    "WriteReply",
]
