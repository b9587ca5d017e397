"""Every entity platform frozen in a snapshot: names, unique ids, devices, states, attributes.

One test per platform, each with only that platform loaded: a Trakt and a SIMKL account and a
two-way watchlist pair between them that has run once. A change to any entity shows up as a
snapshot diff (update with `--snapshot-update` when the change is meant, on both lanes:
`script/test` and `script/test --ha-min`).

Home Assistant serializes registry entries and states differently from one release to the
next (enum keys, aliases), so each test lane keeps its own snapshots: snapshots-ha-min/ for the
release hacs.json declares, snapshots-ha-current/ for the newest. (Beside snapshots/, not in it:
syrupy would take one lane's file for an unused snapshot of the other and delete it.)
"""

from collections.abc import Iterator
from datetime import datetime
import json
from pathlib import Path
from unittest.mock import PropertyMock, patch

from homeassistant.config_entries import ConfigSubentryDataWithId
from homeassistant.const import MAJOR_VERSION, MINOR_VERSION, Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, snapshot_platform
from pytest_homeassistant_custom_component.syrupy import HomeAssistantSnapshotExtension
from syrupy.assertion import SnapshotAssertion
from syrupy.location import PyTestLocation
from syrupy.types import PropertyPath, SerializableData

from custom_components.crosswatch.const import DOMAIN, SYNC_ENTRY_TITLE, SYNC_ENTRY_UNIQUE_ID
from tests.providers.conftest import Serve
from tests.simulators import simkl as simkl_sim, trakt as trakt_sim

from .helpers import one_film_each, set_up_accounts

HACS_JSON = Path(__file__).parents[2] / "hacs.json"


def _lane() -> str:
    """Which test lane runs: the oldest Home Assistant hacs.json declares, or a newer one."""
    oldest = str(json.loads(HACS_JSON.read_text())["homeassistant"]).split(".")
    return (
        "ha-min" if [int(n) for n in oldest[:2]] == [MAJOR_VERSION, MINOR_VERSION] else "ha-current"
    )


class PerLaneSnapshots(HomeAssistantSnapshotExtension):
    """Home Assistant's snapshot format, in a directory of the lane's own."""

    @classmethod
    def dirname(cls, *, test_location: PyTestLocation) -> str:
        """snapshots-<lane>/ beside the test."""
        return f"{super().dirname(test_location=test_location)}-{_lane()}"


# The pair's subentry id is fixed so that its entities' unique ids are the same every run.
PAIR_ID = "01JPAIRMOVIES0000000000000"


# Registry fields that are the user's, not the integration's, and that Home Assistant serializes
# differently between the releases we support.
USERS_OWN = frozenset({"aliases"})


def stable(*, data: SerializableData, path: PropertyPath) -> SerializableData:
    """Replace what changes from run to run: timestamps (states and attributes), durations.

    And what changes from one Home Assistant release to the next without being ours.
    """
    if path and path[-1][0] in USERS_OWN:
        return "<user's own>"
    if path and path[-1][0] == "duration" and data is not None:
        return "<duration>"
    if isinstance(data, str):
        try:
            datetime.fromisoformat(data)
        except ValueError:
            return data
        return "<timestamp>"
    return data


@pytest.fixture
def snapshot(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    """Home Assistant's snapshot format, with run-dependent values made stable."""
    return snapshot.use_extension(PerLaneSnapshots).with_defaults(matcher=stable)


@pytest.fixture
def all_entities_enabled() -> Iterator[None]:
    """Entities disabled by default (requests, rate limit) are snapshotted too."""
    with patch(
        "homeassistant.helpers.entity.Entity.entity_registry_enabled_default",
        new_callable=PropertyMock,
        return_value=True,
    ):
        yield


async def set_up(
    hass: HomeAssistant,
    serve: Serve,
    trakt: trakt_sim.TraktSim,
    simkl: simkl_sim.SimklState,
    platform: Platform,
) -> tuple[MockConfigEntry, MockConfigEntry, MockConfigEntry]:
    """Both accounts and the pair, with only `platform` loaded; the pair has run once."""
    one_film_each(trakt, simkl)
    sync = MockConfigEntry(
        domain=DOMAIN,
        title=SYNC_ENTRY_TITLE,
        unique_id=SYNC_ENTRY_UNIQUE_ID,
        data={"kind": "sync"},
        subentries_data=[
            ConfigSubentryDataWithId(
                data={
                    "source": "trakt:alice",
                    "target": "simkl:51",
                    "features": ["watchlist"],
                    "mode": "two_way",
                },
                subentry_id=PAIR_ID,
                subentry_type="pair",
                title="Movies",
                unique_id=None,
            )
        ],
    )
    account_only = (Platform.CALENDAR, Platform.TODO)
    account_platforms = [platform] if platform in (Platform.SENSOR, *account_only) else []
    sync_platforms = [] if platform in account_only else [platform]
    with (
        patch("custom_components.crosswatch.SYNC_PLATFORMS", sync_platforms),
        patch("custom_components.crosswatch.ACCOUNT_PLATFORMS", account_platforms),
    ):
        trakt_account, simkl_account = await set_up_accounts(hass, serve, trakt, simkl)
        sync.add_to_hass(hass)
        assert await hass.config_entries.async_setup(sync.entry_id)
        await hass.async_block_till_done(wait_background_tasks=True)
    return trakt_account, simkl_account, sync


@pytest.mark.usefixtures("all_entities_enabled")
async def test_sensors_of_a_pair_and_of_its_accounts(
    hass: HomeAssistant,
    entity_registry: er.EntityRegistry,
    snapshot: SnapshotAssertion,
    serve: Serve,
    trakt: trakt_sim.TraktSim,
    simkl: simkl_sim.SimklState,
) -> None:
    trakt_account, simkl_account, sync = await set_up(hass, serve, trakt, simkl, Platform.SENSOR)

    for entry in (sync, trakt_account, simkl_account):
        await snapshot_platform(hass, entity_registry, snapshot, entry.entry_id)


@pytest.mark.parametrize("platform", [Platform.BINARY_SENSOR, Platform.BUTTON, Platform.EVENT])
async def test_pair_platform(
    hass: HomeAssistant,
    entity_registry: er.EntityRegistry,
    snapshot: SnapshotAssertion,
    serve: Serve,
    trakt: trakt_sim.TraktSim,
    simkl: simkl_sim.SimklState,
    platform: Platform,
) -> None:
    *_, sync = await set_up(hass, serve, trakt, simkl, platform)

    await snapshot_platform(hass, entity_registry, snapshot, sync.entry_id)


async def test_the_watchlist_to_do_list_of_each_account(
    hass: HomeAssistant,
    entity_registry: er.EntityRegistry,
    snapshot: SnapshotAssertion,
    serve: Serve,
    trakt: trakt_sim.TraktSim,
    simkl: simkl_sim.SimklState,
) -> None:
    trakt_account, simkl_account, _ = await set_up(hass, serve, trakt, simkl, Platform.TODO)

    for entry in (trakt_account, simkl_account):
        await snapshot_platform(hass, entity_registry, snapshot, entry.entry_id)


@pytest.mark.usefixtures("all_entities_enabled")
async def test_the_upcoming_episodes_calendars_of_the_accounts(
    hass: HomeAssistant,
    entity_registry: er.EntityRegistry,
    snapshot: SnapshotAssertion,
    serve: Serve,
    trakt: trakt_sim.TraktSim,
    simkl: simkl_sim.SimklState,
) -> None:
    # Neither account follows a show airing soon (the events: test_calendar.py).
    trakt_account, simkl_account, _ = await set_up(hass, serve, trakt, simkl, Platform.CALENDAR)

    for entry in (trakt_account, simkl_account):
        await snapshot_platform(hass, entity_registry, snapshot, entry.entry_id)
