"""Jellyfin and Emby as CrossWatch providers: the MediaBrowser adapter both flavours share.

One job a module: `adapter` is what the engine talks to (health, read, write, count witness);
`reads` pages the library and turns its items into the engine's; `library` indexes a whole-library
read and resolves requested items in it; `writes` makes each user-data write change only what it
means to. The per-server subclasses are `..jellyfin` and `..emby`.
"""

from .adapter import (
    CAPABILITIES,
    FULL_READ_EVERY,
    LIBRARY_TTL,
    NOT_IN_LIBRARY,
    MediaBrowserAccount,
    MediaBrowserProvider,
    account_for,
    sign_in,
)
from .reads import SERIES_PER_REQUEST, LibraryItem

__all__ = [
    "CAPABILITIES",
    "FULL_READ_EVERY",
    "LIBRARY_TTL",
    "NOT_IN_LIBRARY",
    "SERIES_PER_REQUEST",
    "LibraryItem",
    "MediaBrowserAccount",
    "MediaBrowserProvider",
    "account_for",
    "sign_in",
]
