"""The harness drives real clients against simulators on loopback; no Home Assistant is started."""

from collections.abc import Iterator

import pytest

from .world import Rig, rig


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations() -> None:
    """Replace the suite-wide fixture, which starts Home Assistant for every test."""


@pytest.fixture
def served(socket_enabled: None) -> Iterator[Rig]:
    """Every simulator served on 127.0.0.1 for one test (sockets: loopback only)."""
    with rig() as made:
        yield made
