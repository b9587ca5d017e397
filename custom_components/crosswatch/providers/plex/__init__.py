"""Plex as an engine provider, in three parts with one job each.

`adapter.py` is the provider the engine holds (state between calls, reads, write outcomes),
`library.py` turns the server's library into one indexed scan, and `watchlist.py` reads the
Discover watchlist and finds what a watchlist write goes by. Importers use this package.
"""

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
