"""The engine is pure Python: its tests run without a Home Assistant instance."""

import pytest


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations() -> None:
    """Replace the suite-wide fixture, which starts Home Assistant for every test."""
