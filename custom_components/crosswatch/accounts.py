"""Account entries: how each kind of config entry becomes a provider the engine can use.

One function per service turns an entry's data into a client and an engine provider. Token
pairs a client renews are written back to the entry at once (refresh tokens are single-use).
"""

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from homeassistant.config_entries import ConfigEntry
from homeassistant.const import CONF_VERIFY_SSL
from homeassistant.core import HomeAssistant
from homeassistant.helpers.aiohttp_client import async_get_clientsession

from .account_coordinator import AccountCoordinator
from .const import (
    CONF_ACCOUNT_ID,
    CONF_BASE_URL,
    CONF_CLIENT_ID,
    CONF_CLIENT_SECRET,
    CONF_KIND,
    CONF_SCORE_FORMAT,
    CONF_TOKENS,
    Kind,
)
from .engine.provider import Provider
from .engine.ratings import RatingScale
from .providers import anilist, anilist_provider, simkl, simkl_api, trakt, trakt_client
from .providers.tokens import Tokens
from .providers.trakt_auth import TraktApp


@dataclass(frozen=True, slots=True)
class AccountRuntime:
    """What a loaded account entry offers the sync entry: its provider."""

    kind: Kind
    account_id: str
    provider: Provider
    coordinator: AccountCoordinator


type AccountConfigEntry = ConfigEntry[AccountRuntime]
type ProviderFactory = Callable[[HomeAssistant, ConfigEntry], Awaitable[Provider]]


def _base_url(entry: ConfigEntry, default: str) -> str:
    return str(entry.data.get(CONF_BASE_URL) or default)


def _session(hass: HomeAssistant, entry: ConfigEntry) -> Any:
    return async_get_clientsession(hass, verify_ssl=entry.options.get(CONF_VERIFY_SSL, True))


def token_saver(hass: HomeAssistant, entry: ConfigEntry) -> Callable[[Tokens], Awaitable[None]]:
    """Persist every new token pair in the entry before the client uses it."""

    async def save(tokens: Tokens) -> None:
        hass.config_entries.async_update_entry(
            entry, data={**entry.data, CONF_TOKENS: tokens.as_dict()}
        )

    return save


async def _trakt(hass: HomeAssistant, entry: ConfigEntry) -> Provider:
    data = entry.data
    client = trakt_client.TraktClient(
        _session(hass, entry),
        TraktApp(data[CONF_CLIENT_ID], data[CONF_CLIENT_SECRET]),
        Tokens.from_dict(data[CONF_TOKENS]),
        token_saver(hass, entry),
        base_url=_base_url(entry, trakt_client.DEFAULT_BASE_URL),
    )
    return trakt.TraktProvider(client, slug=data[CONF_ACCOUNT_ID])


async def _simkl(hass: HomeAssistant, entry: ConfigEntry) -> Provider:
    data = entry.data
    api = simkl_api.SimklApi(
        _session(hass, entry),
        data[CONF_CLIENT_ID],
        Tokens.from_dict(data[CONF_TOKENS]).access_token,
        base_url=_base_url(entry, simkl_api.DEFAULT_BASE_URL),
    )
    return simkl.SimklProvider(api, simkl.SimklAccount(data[CONF_ACCOUNT_ID], entry.title))


async def _anilist(hass: HomeAssistant, entry: ConfigEntry) -> Provider:
    data = entry.data
    client = anilist.AniListClient(
        _session(hass, entry),
        Tokens.from_dict(data[CONF_TOKENS]),
        base_url=_base_url(entry, anilist.API_URL),
    )
    return anilist_provider.AniListProvider(
        client,
        user_id=int(data[CONF_ACCOUNT_ID]),
        user_name=entry.title,
        score_format=data.get(CONF_SCORE_FORMAT, RatingScale.ANILIST_POINT_10.value),
    )


FACTORIES: Mapping[Kind, ProviderFactory] = {
    Kind.TRAKT: _trakt,
    Kind.SIMKL: _simkl,
    Kind.ANILIST: _anilist,
}


async def async_create_provider(hass: HomeAssistant, entry: ConfigEntry) -> Provider:
    """The engine provider for an account entry."""
    return await FACTORIES[Kind(entry.data[CONF_KIND])](hass, entry)
