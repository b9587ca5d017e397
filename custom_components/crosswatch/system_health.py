"""System health: can Home Assistant reach each connected service, and how did pairs last run.

Keys are fixed so that they can be translated: one reachability check per kind of service
(over every account of that kind, each at its own server when it has one), and one line per
pair. No account names, ids or server addresses appear: the page is often shared publicly.
"""

import asyncio
from collections.abc import Awaitable, Iterable
from typing import Any

from homeassistant.components import system_health
from homeassistant.config_entries import ConfigEntry, ConfigEntryState
from homeassistant.core import HomeAssistant, callback

from .clients import trakt as trakt_client
from .clients.anilist import client as anilist
from .clients.mdblist import client as mdblist_api
from .clients.plex import auth as plex_auth
from .clients.simkl import client as simkl_api
from .const import CONF_BASE_URL, CONF_KIND, DOMAIN, Kind
from .runtime import is_sync_entry

# Where each service answers when an account names no server of its own. Jellyfin and Emby
# are always self-hosted: without a server URL there is nothing to check.
DEFAULT_URLS: dict[Kind, str] = {
    Kind.PLEX: plex_auth.PLEX_TV_URL,
    Kind.TRAKT: trakt_client.DEFAULT_BASE_URL,
    Kind.SIMKL: simkl_api.DEFAULT_BASE_URL,
    Kind.ANILIST: anilist.API_URL,
    Kind.MDBLIST: mdblist_api.DEFAULT_BASE_URL,
}
# Entry data keys naming an account's own server, in order of preference.
SERVER_KEYS = ("server_url", CONF_BASE_URL)


@callback
def async_register(hass: HomeAssistant, register: system_health.SystemHealthRegistration) -> None:
    """Register the info callback."""
    register.async_register_info(system_health_info, f"/config/integrations/integration/{DOMAIN}")


def account_url(entry: ConfigEntry) -> str | None:
    """The URL to check for an account entry: its own server, else its service's default."""
    for key in SERVER_KEYS:
        if url := entry.data.get(key):
            return str(url)
    try:
        kind = Kind(str(entry.data.get(CONF_KIND)))
    except ValueError:
        return None
    return DEFAULT_URLS.get(kind)


async def system_health_info(hass: HomeAssistant) -> dict[str, Any]:
    """Accounts and their reachability per service, and each pair's last run."""
    entries = hass.config_entries.async_entries(DOMAIN)
    accounts = [e for e in entries if e.data.get(CONF_KIND, Kind.SYNC) != Kind.SYNC]
    info: dict[str, Any] = {
        "accounts": len(accounts),
        "accounts_loaded": sum(e.state is ConfigEntryState.LOADED for e in accounts),
    }
    urls: dict[str, set[str]] = {}
    for entry in accounts:
        if url := account_url(entry):
            urls.setdefault(str(entry.data[CONF_KIND]), set()).add(url)
    for kind in Kind:
        if kind.value in urls:
            info[f"can_reach_{kind.value}"] = _can_reach_all(hass, sorted(urls[kind.value]))
    runs = list(_pair_runs(entries))
    info["pairs"] = len(runs)
    if runs:
        info["last_runs"] = "; ".join(runs)
    return info


async def _can_reach_all(hass: HomeAssistant, urls: Iterable[str]) -> str | dict[str, str]:
    """'ok' when every URL answers, else the first failure (as system health shows it)."""
    checks: list[Awaitable[str | dict[str, str]]] = [
        system_health.async_check_can_reach_url(hass, url) for url in urls
    ]
    results = await asyncio.gather(*checks)
    return next((r for r in results if r != "ok"), "ok")


def _pair_runs(entries: Iterable[ConfigEntry]) -> Iterable[str]:
    """'<pair>: <status> at <time>' for each pair of the loaded sync entry."""
    for entry in entries:
        if entry.state is not ConfigEntryState.LOADED or not is_sync_entry(entry):
            continue
        coordinators = entry.runtime_data.coordinators.values()
        for coordinator in sorted(coordinators, key=lambda c: c.subentry.title):
            state = coordinator.data
            title = coordinator.subentry.title
            if coordinator.running:
                yield f"{title}: running"
            elif state.last_run is None:
                yield f"{title}: {state.status.value}, no completed run"
            else:
                yield f"{title}: {state.status.value} at {state.last_run.isoformat()}"
