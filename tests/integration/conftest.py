"""Simulators served on loopback inside Home Assistant's test loop."""

import asyncio
from collections.abc import AsyncIterator
import contextlib
import time

from homeassistant.core import HomeAssistant
import pytest

from tests.simulators import simkl as simkl_sim, trakt as trakt_sim
from tests.simulators.serving import Serve, serving

SETTLE_SECONDS = 10  # the most a test's leftover setups may take before Home Assistant stops


@pytest.fixture(autouse=True)
async def entries_settled_before_teardown(hass: HomeAssistant) -> AsyncIterator[None]:
    """Let what a test set going finish before Home Assistant stops.

    A flow that ends with a reload (a reauth, a new key) returns while the entry still sets up
    its platforms: the calendar's and the to-do list's pull in `http` and take a while. Stopped
    midway, the registries schedule a save during the stop, which the harness rightly calls a
    lingering timer. Bounded, so a test that leaves work hanging on purpose still ends; background
    tasks (a first read of a list, a calendar) are not waited for.
    """
    yield
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(SETTLE_SECONDS):
            await hass.async_block_till_done()


@pytest.fixture
async def serve(socket_enabled: None) -> AsyncIterator[Serve]:
    """Start simulator apps on 127.0.0.1; returns each one's base URL."""
    async with serving() as start:
        yield start


@pytest.fixture
def trakt() -> trakt_sim.TraktSim:
    """A Trakt account with a small catalogue; device codes need no wait between polls."""
    sim = trakt_sim.TraktSim(slug="alice", watchlist_limit=1000)
    sim.device_interval = 0
    sim.issued_at = time.time  # Home Assistant's client judges token expiry by the wall clock
    trakt_sim.seed_catalogue(sim)
    return sim


@pytest.fixture
def simkl() -> simkl_sim.SimklState:
    """An empty SIMKL account."""
    return simkl_sim.SimklState()
