"""Shared set-up for the Plex tests: the four simulated hosts, and a client and provider on them."""

from dataclasses import dataclass, field
from typing import Any

import aiohttp

from custom_components.crosswatch.clients.http import HttpClient, RetryPolicy
from custom_components.crosswatch.clients.plex.auth import PlexApp, make_plex_tv_http
from custom_components.crosswatch.clients.plex.client import PlexClient
from custom_components.crosswatch.engine.items import MediaItem
from custom_components.crosswatch.engine.payloads import Entry
from custom_components.crosswatch.engine.snapshot import Snapshot
from custom_components.crosswatch.providers.plex import PlexProvider
from tests.providers.conftest import Serve
from tests.simulators.plex import CLIENT_ID, PlexApps, PlexSim, make_apps

APP = PlexApp(CLIENT_ID)
RETRY = RetryPolicy(attempts=2, backoff=0, timeout=5.0)


async def no_sleep(seconds: float) -> None:
    return None


@dataclass
class World:
    """A simulated Plex world served on loopback."""

    sim: PlexSim
    apps: PlexApps
    session: aiohttp.ClientSession
    urls: dict[str, str] = field(default_factory=dict)

    def client(self, **options: Any) -> PlexClient:
        settings: dict[str, Any] = {
            "server_url": self.urls["server"],
            "server_token": self.sim.server_token,
            "account_token": self.sim.account_token,
            "plex_tv_url": self.urls["plex_tv"],
            "discover_url": self.urls["discover"],
            "metadata_url": self.urls["metadata"],
            "retry": RETRY,
            "sleep": no_sleep,
        } | options
        return PlexClient(self.session, APP, **settings)

    def provider(self, client: PlexClient | None = None, **options: Any) -> PlexProvider:
        return PlexProvider(client or self.client(), **options)

    def plex_tv(self, token: str | None = None) -> HttpClient:
        return make_plex_tv_http(
            self.session, APP, base_url=self.urls["plex_tv"], token=token, retry=RETRY,
            sleep=no_sleep,
        )  # fmt: skip


async def start_world(serve: Serve, session: aiohttp.ClientSession, sim: PlexSim) -> World:
    apps = make_apps(sim)
    world = World(sim, apps, session)
    for name in ("server", "plex_tv", "discover", "metadata"):
        world.urls[name] = await serve(getattr(apps, name))
    return world


def entry(snapshot: Snapshot, item: MediaItem) -> Entry:
    found = snapshot.find(item, include_local=True)
    assert found is not None, f"{item.label()} is not in the snapshot"
    return found
