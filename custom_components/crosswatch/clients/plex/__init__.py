"""Plex: the server and Discover client, plex.tv (PIN sign-in, account, servers), and their replies.

The replies are the typed records of `models.py`, parsed once in the client.
"""

from .auth import (
    PLEX_TV_URL,
    Pin,
    PinExpiredError,
    PlexApp,
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
from .models import (
    Metadata,
    MetadataPage,
    PlexAccount,
    PlexConnection,
    PlexServer,
    Section,
    external_guids,
    parse_account,
    parse_first_characters,
    parse_identity,
    parse_item,
    parse_matches,
    parse_metadata,
    parse_page,
    parse_sections,
    parse_servers,
)

__all__ = [
    "PLEX_TV_URL",
    "Metadata",
    "MetadataPage",
    "PagedRead",
    "Pin",
    "PinExpiredError",
    "PlexAccount",
    "PlexApp",
    "PlexClient",
    "PlexConnection",
    "PlexServer",
    "Section",
    "check_pin",
    "choose_server",
    "create_pin",
    "external_guids",
    "get_account",
    "list_servers",
    "make_plex_tv_http",
    "parse_account",
    "parse_first_characters",
    "parse_identity",
    "parse_item",
    "parse_matches",
    "parse_metadata",
    "parse_page",
    "parse_sections",
    "parse_servers",
    "reachable_url",
    "wait_for_pin",
]
