"""Plex as an engine provider; the adapter lives in `adapter.py`."""

from .adapter import (
    CONFLICT,
    LIBRARY_TTL,
    NOT_IN_LIBRARY,
    NOT_ON_PLEX,
    WATCHLIST_TYPES,
    Library,
    LibraryRecord,
    PlexProvider,
)

__all__ = [
    "CONFLICT",
    "LIBRARY_TTL",
    "NOT_IN_LIBRARY",
    "NOT_ON_PLEX",
    "WATCHLIST_TYPES",
    "Library",
    "LibraryRecord",
    "PlexProvider",
]
