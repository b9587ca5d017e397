"""Jellyfin and Emby (the MediaBrowser API): one client for both flavours, its typed replies."""

from .client import (
    EMBY,
    JELLYFIN,
    DeviceInfo,
    Flavour,
    MediaBrowserClient,
)
from .models import (
    USER_STATE_FIELDS,
    Credentials,
    Item,
    ItemPage,
    QuickConnectResult,
    ServerInfo,
    UserData,
    credentials_from,
    parse_date,
    parse_item,
    parse_quick_connect,
    parse_user_data,
)

__all__ = [
    "EMBY",
    "JELLYFIN",
    "USER_STATE_FIELDS",
    "Credentials",
    "DeviceInfo",
    "Flavour",
    "Item",
    "ItemPage",
    "MediaBrowserClient",
    "QuickConnectResult",
    "ServerInfo",
    "UserData",
    "credentials_from",
    "parse_date",
    "parse_item",
    "parse_quick_connect",
    "parse_user_data",
]
