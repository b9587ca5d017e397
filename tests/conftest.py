"""Shared fixtures for the CrossWatch tests."""

# Imported before Home Assistant's fixtures run: otherwise Home Assistant resolves
# `custom_components` to the test package's own testing config and reports
# "Integration not found".
import os

from hypothesis import HealthCheck, settings
import pytest

import custom_components  # noqa: F401

# Property tests run 2,000 examples each in CI, the same ones on every run (derandomized, so a
# CI run can be replayed exactly on this machine before it is pushed);
# HYPOTHESIS_PROFILE=thorough runs ten times more, new ones at random each time.
settings.register_profile(
    "ci",
    max_examples=2_000,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "thorough", max_examples=20_000, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None:
    """Let Home Assistant load the integration from custom_components/ in every test."""
