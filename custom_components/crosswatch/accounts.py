"""Account entries: how each kind of config entry becomes a provider the engine can use.

One function per service turns an entry's data into a client and an engine provider. Token
pairs a client renews are written back to the entry at once (refresh tokens are single-use).
"""

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

import aiohttp
from homeassistant.config_entries import ConfigEntry
from homeassistant.const import CONF_API_KEY, CONF_VERIFY_SSL
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.aiohttp_client import async_get_clientsession

from .clients import trakt as trakt_client
from .clients.anilist import client as anilist
from .clients.errors import CrossWatchClientError
from .clients.http import RetryPolicy
from .clients.mdblist import client as mdblist_api
from .clients.mediabrowser.client import (
    EMBY,
    JELLYFIN,
    DeviceInfo as MediaBrowserDevice,
    Flavour,
    MediaBrowserClient,
)
from .clients.plex import auth as plex_auth, client as plex_client
from .clients.plex.auth import PlexAccount, PlexApp
from .clients.simkl import client as simkl_api
from .clients.simkl.auth import V1_SUNSET, SimklGrant, SimklOAuth, is_v2
from .clients.tokens import Tokens
from .clients.trakt.auth import TraktApp
from .const import (
    CONF_ACCOUNT_ID,
    CONF_AUTH_URL,
    CONF_BASE_URL,
    CONF_CALENDAR_URL,
    CONF_CLIENT_ID,
    CONF_CLIENT_SECRET,
    CONF_DEVICE_ID,
    CONF_DISCOVER_URL,
    CONF_KIND,
    CONF_METADATA_URL,
    CONF_PLEX_TV_URL,
    CONF_SCORE_FORMAT,
    CONF_SERVER_ID,
    CONF_SERVER_NAME,
    CONF_SERVER_TOKEN,
    CONF_SERVER_URL,
    CONF_TOKENS,
    CONF_USER_ID,
    CONF_USER_NAME,
    DOMAIN,
    LOGGER,
    Kind,
)
from .engine.provider import Provider
from .engine.ratings import RatingScale
from .providers import anilist_provider, mdblist, plex, simkl, trakt
from .providers.emby import EmbyProvider
from .providers.jellyfin import JellyfinProvider
from .providers.mediabrowser import MediaBrowserAccount, MediaBrowserProvider
from .upcoming import AniListUpcoming, SimklUpcoming, TraktUpcoming, UpcomingReader

VERSION = "0.1.0"
REVOKE_RETRY = RetryPolicy(attempts=1, timeout=10.0)


@dataclass(frozen=True, slots=True)
class AccountParts:
    """What an account entry is built into: the engine's provider, and a tracker's calendar.

    The reader of a tracker's upcoming episodes uses the provider's client, so that both share
    its pacing, tokens and quota.
    """

    provider: Provider
    upcoming: UpcomingReader | None = None


type ProviderFactory = Callable[[HomeAssistant, ConfigEntry], Awaitable[AccountParts]]


def _base_url(entry: ConfigEntry, default: str) -> str:
    return str(entry.data.get(CONF_BASE_URL) or default)


def _session(hass: HomeAssistant, entry: ConfigEntry) -> aiohttp.ClientSession:
    return async_get_clientsession(hass, verify_ssl=entry.options.get(CONF_VERIFY_SSL, True))


def token_saver(hass: HomeAssistant, entry: ConfigEntry) -> Callable[[Tokens], Awaitable[None]]:
    """Persist every new token pair in the entry before the client uses it."""

    async def save(tokens: Tokens) -> None:
        hass.config_entries.async_update_entry(
            entry, data={**entry.data, CONF_TOKENS: tokens.as_dict()}
        )

    return save


async def _trakt(hass: HomeAssistant, entry: ConfigEntry) -> AccountParts:
    data = entry.data
    client = trakt_client.TraktClient(
        _session(hass, entry),
        TraktApp(data[CONF_CLIENT_ID], data[CONF_CLIENT_SECRET]),
        Tokens.from_dict(data[CONF_TOKENS]),
        token_saver(hass, entry),
        base_url=_base_url(entry, trakt_client.DEFAULT_BASE_URL),
        auth_url=data.get(CONF_AUTH_URL),
    )
    return AccountParts(
        trakt.TraktProvider(client, slug=data[CONF_ACCOUNT_ID]), TraktUpcoming(client)
    )


def simkl_grant(hass: HomeAssistant, entry: ConfigEntry) -> SimklGrant:
    """The one owner of a SIMKL account's tokens while its entry is loaded.

    A V2 grant renews itself through SIMKL's token endpoint, saving each new pair in the entry
    before using it, and re-reads the entry after a 401. A V1 token is used as it is.
    """
    tokens = Tokens.from_dict(entry.data[CONF_TOKENS])
    oauth = (
        SimklOAuth(
            _session(hass, entry),
            entry.data[CONF_CLIENT_ID],
            base_url=_base_url(entry, simkl_api.DEFAULT_BASE_URL),
        )
        if is_v2(tokens)
        else None
    )
    return SimklGrant(
        tokens,
        oauth=oauth,
        save=token_saver(hass, entry),
        load=lambda: Tokens.from_dict(entry.data[CONF_TOKENS]),
    )


def simkl_v1_issue_id(entry: ConfigEntry) -> str:
    """The repair that asks a V1 SIMKL account to reconnect before V1 ends."""
    return f"simkl_v1_sunset_{entry.entry_id}"


@callback
def async_track_simkl_v1(hass: HomeAssistant, entry: ConfigEntry) -> None:
    """Raise the reconnect repair for a SIMKL account still on V1; clear it once on V2.

    V1 tokens keep working until SIMKL ends V1 and cannot be converted: the user signs in
    again (the repair starts the reauth flow, which signs in with V2).
    """
    if Kind(entry.data[CONF_KIND]) is not Kind.SIMKL:
        return
    if is_v2(Tokens.from_dict(entry.data[CONF_TOKENS])):
        ir.async_delete_issue(hass, DOMAIN, simkl_v1_issue_id(entry))
        return
    ir.async_create_issue(
        hass,
        DOMAIN,
        simkl_v1_issue_id(entry),
        is_fixable=True,
        is_persistent=False,
        severity=ir.IssueSeverity.WARNING,
        translation_key="simkl_v1_sunset",
        translation_placeholders={
            "account": entry.title,
            "date": V1_SUNSET.date().isoformat(),
        },
        data={"entry_id": entry.entry_id},
    )


async def async_forget_simkl(hass: HomeAssistant, entry: ConfigEntry) -> None:
    """A SIMKL account was removed: revoke its V2 grant (best effort), drop its repair."""
    ir.async_delete_issue(hass, DOMAIN, simkl_v1_issue_id(entry))
    tokens = Tokens.from_dict(entry.data[CONF_TOKENS])
    if not is_v2(tokens):
        return  # V1 has no revoke endpoint: the user removes the app on simkl.com
    oauth = SimklOAuth(
        _session(hass, entry),
        entry.data[CONF_CLIENT_ID],
        base_url=_base_url(entry, simkl_api.DEFAULT_BASE_URL),
        retry=REVOKE_RETRY,  # removal waits for it: one short try
    )
    try:
        await oauth.revoke(tokens.refresh_token or tokens.access_token)
    except CrossWatchClientError as err:
        LOGGER.warning(
            "SIMKL did not confirm that it revoked CrossWatch's access to %s (%s); remove the"
            " app at https://simkl.com/settings/connected-apps/ if it is still listed",
            entry.title,
            err,
        )


async def async_forget_trakt(hass: HomeAssistant, entry: ConfigEntry) -> None:
    """A Trakt account was removed: revoke its authorization on Trakt (best effort).

    Else CrossWatch stays listed among the user's authorized apps on Trakt, with a token that
    keeps working.
    """
    data = entry.data
    app = TraktApp(data[CONF_CLIENT_ID], data[CONF_CLIENT_SECRET])
    base_url = _base_url(entry, trakt_client.DEFAULT_BASE_URL)
    http = trakt_client.make_http(
        _session(hass, entry),
        app,
        base_url=trakt_client.auth_url_for(base_url, data.get(CONF_AUTH_URL)),
        retry=REVOKE_RETRY,  # removal waits for it: one short try
    )
    try:
        await trakt_client.revoke_token(http, app, Tokens.from_dict(data[CONF_TOKENS]).access_token)
    except CrossWatchClientError as err:
        LOGGER.warning(
            "Trakt did not confirm that it revoked CrossWatch's access to %s (%s); remove the"
            " app at https://trakt.tv/oauth/authorized_applications if it is still listed",
            entry.title,
            err,
        )


async def _simkl(hass: HomeAssistant, entry: ConfigEntry) -> AccountParts:
    data = entry.data
    api = simkl_api.SimklApi(
        _session(hass, entry),
        data[CONF_CLIENT_ID],
        simkl_grant(hass, entry),
        base_url=_base_url(entry, simkl_api.DEFAULT_BASE_URL),
        calendar_url=data.get(CONF_CALENDAR_URL),
    )
    # The account's display name comes with the health check that setup makes first.
    account_id = str(data[CONF_ACCOUNT_ID])
    return AccountParts(
        simkl.SimklProvider(api, simkl.SimklAccount(account_id, account_id)), SimklUpcoming(api)
    )


async def _anilist(hass: HomeAssistant, entry: ConfigEntry) -> AccountParts:
    data = entry.data
    client = anilist.AniListClient(
        _session(hass, entry),
        Tokens.from_dict(data[CONF_TOKENS]),
        base_url=_base_url(entry, anilist.API_URL),
    )
    user_id = int(data[CONF_ACCOUNT_ID])
    return AccountParts(
        anilist_provider.AniListProvider(
            client,
            user_id=user_id,
            user_name=entry.title,
            score_format=data.get(CONF_SCORE_FORMAT, RatingScale.ANILIST_POINT_10.value),
        ),
        AniListUpcoming(client, user_id),
    )


async def _mdblist(hass: HomeAssistant, entry: ConfigEntry) -> AccountParts:
    """An MDBList account. Entry data: api_key, base_url, user_name."""
    data = entry.data
    api = mdblist_api.MdblistApi(
        _session(hass, entry),
        data[CONF_API_KEY],
        base_url=_base_url(entry, mdblist_api.DEFAULT_BASE_URL),
    )
    account_id = str(data[CONF_ACCOUNT_ID])
    name = str(data.get(CONF_USER_NAME) or account_id)
    return AccountParts(mdblist.MdblistProvider(api, mdblist.MdblistAccount(account_id, name)))


async def _plex(hass: HomeAssistant, entry: ConfigEntry) -> AccountParts:
    """A Plex server account.

    Entry data: device_id (the kept client identifier), server_url, server_token, server_id
    (machine identifier), tokens (the plex.tv account token, when signed in by PIN), user_id
    (account uuid), user_name, and the plex.tv/Discover/metadata URLs.
    """
    data = entry.data
    account_token = (data.get(CONF_TOKENS) or {}).get("access_token")
    client = plex_client.PlexClient(
        _session(hass, entry),
        PlexApp(data[CONF_DEVICE_ID]),
        server_url=data[CONF_SERVER_URL],
        server_token=data[CONF_SERVER_TOKEN],
        account_token=account_token,
        plex_tv_url=data.get(CONF_PLEX_TV_URL) or plex_auth.PLEX_TV_URL,
        discover_url=data.get(CONF_DISCOVER_URL) or plex_client.DISCOVER_URL,
        metadata_url=data.get(CONF_METADATA_URL) or plex_client.METADATA_URL,
    )
    account = (
        PlexAccount(0, data[CONF_USER_ID], data.get(CONF_USER_NAME) or data[CONF_USER_ID])
        if data.get(CONF_USER_ID)
        else None
    )
    return AccountParts(plex.PlexProvider(client, account=account, server_id=data[CONF_SERVER_ID]))


def _mediabrowser(flavour: Flavour, provider_type: type[MediaBrowserProvider]) -> ProviderFactory:
    """A factory of Jellyfin or Emby providers.

    Entry data: base_url (the server), device_id, tokens (the access token), server_id,
    server_name, user_id, user_name. The password is never stored.
    """

    async def create(hass: HomeAssistant, entry: ConfigEntry) -> AccountParts:
        data = entry.data
        client = MediaBrowserClient(
            _session(hass, entry),
            flavour,
            data[CONF_BASE_URL],
            device=MediaBrowserDevice(data[CONF_DEVICE_ID], VERSION),
            token=Tokens.from_dict(data[CONF_TOKENS]).access_token,
        )
        account = MediaBrowserAccount(
            data[CONF_SERVER_ID], data[CONF_SERVER_NAME], data[CONF_USER_ID], data[CONF_USER_NAME]
        )
        return AccountParts(provider_type(client, account))

    return create


FACTORIES: Mapping[Kind, ProviderFactory] = {
    Kind.TRAKT: _trakt,
    Kind.SIMKL: _simkl,
    Kind.ANILIST: _anilist,
    Kind.MDBLIST: _mdblist,
    Kind.PLEX: _plex,
    Kind.JELLYFIN: _mediabrowser(JELLYFIN, JellyfinProvider),
    Kind.EMBY: _mediabrowser(EMBY, EmbyProvider),
}


async def async_create_account(hass: HomeAssistant, entry: ConfigEntry) -> AccountParts:
    """The engine provider for an account entry, and a tracker's upcoming-episodes reader."""
    return await FACTORIES[Kind(entry.data[CONF_KIND])](hass, entry)
