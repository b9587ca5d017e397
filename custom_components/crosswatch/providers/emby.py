"""Emby: the MediaBrowser provider in its Emby flavour.

Emby serves its API under `/emby`, takes the token in `X-Emby-Token`, spells query parameters
in PascalCase, dates `DatePlayed` as yyyyMMddHHmmss, and keeps the per-user routes
(`/Users/{UserId}/Items`, `/Users/{UserId}/PlayedItems/{Id}`). It has no Quick Connect, so the
only login is by user name and password (`sign_in`), which is sent once and never kept.
"""

from ..clients.mediabrowser import EMBY
from .mediabrowser import MediaBrowserProvider, sign_in

__all__ = ["EMBY", "EmbyProvider", "sign_in"]


class EmbyProvider(MediaBrowserProvider):
    """An Emby user as the engine uses it."""

    flavour = EMBY
