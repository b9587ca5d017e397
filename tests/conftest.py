"""Shared fixtures for the CrossWatch tests."""

# Imported before Home Assistant's fixtures run: otherwise Home Assistant resolves
# `custom_components` to the test package's own testing config and reports
# "Integration not found".
from collections.abc import Iterator
import os
from pathlib import Path
from unittest.mock import patch

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


@pytest.fixture(autouse=True)
def own_state_store(tmp_path: Path) -> Iterator[Path]:
    """Each test's store in its own directory, never the shared testing config's."""
    path = tmp_path / "crosswatch" / "state.db"
    with patch("custom_components.crosswatch.runtime.store_path", return_value=path):
        yield path


@pytest.fixture(autouse=True)
def own_backup_folder(tmp_path: Path) -> Iterator[Path]:
    """Each test's backups in its own directory, never the shared testing config's."""
    path = tmp_path / "crosswatch" / "backups"
    with patch("custom_components.crosswatch.backup_folder", return_value=path):
        yield path
