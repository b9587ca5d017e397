"""Plex: the server and Discover client, and plex.tv (PIN sign-in, account, servers)."""

from .auth import (
    PLEX_TV_URL,
    Pin,
    PinExpiredError,
    PlexAccount,
    PlexApp,
    PlexServer,
    check_pin,
    choose_server,
    create_pin,
    get_account,
    list_servers,
    make_plex_tv_http,
    reachable_url,
    wait_for_pin,
)
from .client import (
    PagedRead,
    PlexClient,
)

__all__ = [
    "PLEX_TV_URL",
    "PagedRead",
    "Pin",
    "PinExpiredError",
    "PlexAccount",
    "PlexApp",
    "PlexClient",
    "PlexServer",
    "check_pin",
    "choose_server",
    "create_pin",
    "get_account",
    "list_servers",
    "make_plex_tv_http",
    "reachable_url",
    "wait_for_pin",
]
