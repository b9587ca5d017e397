"""Simulators served on loopback inside Home Assistant's test loop."""

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
import time
from unittest.mock import patch

import pytest

from tests.simulators import simkl as simkl_sim, trakt as trakt_sim
from tests.simulators.serving import Serve, serving


@pytest.fixture(autouse=True)
def own_state_store(tmp_path: Path) -> Iterator[Path]:
    """Each test's store in its own directory, never the shared testing config's."""
    path = tmp_path / "crosswatch" / "state.db"
    with patch("custom_components.crosswatch.runtime.store_path", return_value=path):
        yield path


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
