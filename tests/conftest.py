"""Shared fixtures for the CrossWatch tests."""

# Imported before Home Assistant's fixtures run: otherwise Home Assistant resolves
# `custom_components` to the test package's own testing config and reports
# "Integration not found".
import pytest

import custom_components  # noqa: F401


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None:
    """Let Home Assistant load the integration from custom_components/ in every test."""
