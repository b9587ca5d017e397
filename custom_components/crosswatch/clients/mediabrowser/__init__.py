"""Jellyfin and Emby (the MediaBrowser API): one client for both flavours, and its sign-in."""

from .client import (
    EMBY,
    JELLYFIN,
    USER_STATE_FIELDS,
    Credentials,
    DeviceInfo,
    Flavour,
    ItemPage,
    MediaBrowserClient,
    ServerInfo,
    credentials_from,
)

__all__ = [
    "EMBY",
    "JELLYFIN",
    "USER_STATE_FIELDS",
    "Credentials",
    "DeviceInfo",
    "Flavour",
    "ItemPage",
    "MediaBrowserClient",
    "ServerInfo",
    "credentials_from",
]
