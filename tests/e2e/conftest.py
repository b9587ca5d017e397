"""A real Home Assistant on a free port, and simulators on loopback in the test's event loop.

These tests run without Home Assistant's pytest plugin (`-p no:homeassistant`), which would
block sockets and start a harness instance: script/test runs them as a step of their own.
"""

from collections.abc import AsyncIterator, Generator
from pathlib import Path
import time

import pytest

from tests.realhass.api import HassClient
from tests.realhass.process import HassProcess, free_port, write_config
from tests.simulators import simkl as simkl_sim, trakt as trakt_sim
from tests.simulators.serving import Serve, serving


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations() -> None:
    """Replace the suite-wide fixture, which needs the Home Assistant plugin."""


@pytest.fixture
async def serve() -> AsyncIterator[Serve]:
    """Start simulator apps on 127.0.0.1; returns each one's base URL."""
    async with serving() as start:
        yield start


@pytest.fixture
def trakt() -> trakt_sim.TraktSim:
    """A Trakt account with a small catalogue, polled once a second for its device code."""
    sim = trakt_sim.TraktSim(slug="alice", watchlist_limit=1000)
    sim.device_interval = 1
    sim.issued_at = time.time  # Home Assistant judges token expiry by the wall clock
    trakt_sim.seed_catalogue(sim)
    return sim


@pytest.fixture
def simkl() -> simkl_sim.SimklState:
    """A SIMKL account; its PIN may be polled as often as the client likes (once a second)."""
    state = simkl_sim.SimklState()
    state.pin_interval = 0  # the simulator's clock stands still between polls
    return state


@pytest.fixture
async def hass(tmp_path: Path, request: pytest.FixtureRequest) -> AsyncIterator[HassProcess]:
    """A real Home Assistant with CrossWatch, on a fresh config directory and a free port.

    Not started: the test starts (and restarts) it. A failed test's report shows its log.
    """
    config = tmp_path / "config"
    port = free_port()
    write_config(config, port, name="CrossWatch e2e")
    process = HassProcess(config, port)
    request.node.stash[HASS] = process
    yield process
    await process.stop()


@pytest.fixture
async def client(hass: HassProcess) -> AsyncIterator[HassClient]:
    """A client of that Home Assistant (log in through it first)."""
    async with HassClient(hass.url) as api:
        yield api


HASS = pytest.StashKey[HassProcess]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """A failed test's report carries the tail of Home Assistant's log."""
    report = yield
    process = item.stash.get(HASS, None)
    if report.failed and process is not None:
        report.sections.append((f"Home Assistant log {process.log_path}", process.log_tail(200)))
    return report
