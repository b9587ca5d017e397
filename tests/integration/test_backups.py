"""Backups in Home Assistant: before a sync removes anything, both sides go to a file.

Files are compressed JSON under `.storage/crosswatch/backups/`, the newest few of each pair's
feature are kept (the sync entry's option), and diagnostics list them without their contents.
"""

from datetime import UTC, datetime
import gzip
import json
from pathlib import Path
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.crosswatch.backups import BackupFolder
from custom_components.crosswatch.const import CONF_BACKUPS_KEPT, DOMAIN
from custom_components.crosswatch.engine.backup import (
    Backup,
    BackupError,
    BackupReason,
    SideCopy,
)
from custom_components.crosswatch.engine.payloads import Feature
from custom_components.crosswatch.engine.plan import PairSide
from custom_components.crosswatch.engine.snapshot import Completeness, Snapshot
from tests.providers.conftest import Serve
from tests.simulators import simkl as simkl_sim, trakt as trakt_sim

from .helpers import add_pair, pair_device, set_up_accounts, sync_entry

FILMS = 12


async def a_synced_pair(
    hass: HomeAssistant,
    serve: Serve,
    trakt: trakt_sim.TraktSim,
    simkl: simkl_sim.SimklState,
    **options: int,
) -> MockConfigEntry:
    """A two-way watchlist pair in sync on 12 films (its first run is backed up weekly)."""
    for n in range(FILMS):
        trakt.add_movie(100 + n, f"Film {n}", 1990 + n, tmdb=5000 + n)
        simkl.add_title("movies", 700 + n, f"Film {n}", 1990 + n, tmdb=str(5000 + n))
        trakt.seed_watchlist("movie", 100 + n)
        simkl.user_lists(700 + n, "plantowatch")
    await set_up_accounts(hass, serve, trakt, simkl)
    sync = sync_entry()
    sync.add_to_hass(hass)
    hass.config_entries.async_update_entry(sync, options=options)
    assert await hass.config_entries.async_setup(sync.entry_id)
    await add_pair(hass, sync, source="trakt:alice", target="simkl:51")
    return sync


def files(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.json.gz"))


async def test_a_sync_that_removes_saves_both_sides_first_and_diagnostics_list_it(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    serve: Serve,
    trakt: trakt_sim.TraktSim,
    simkl: simkl_sim.SimklState,
    own_backup_folder: Path,
) -> None:
    sync = await a_synced_pair(hass, serve, trakt, simkl)
    trakt.unlist("movie", 100)  # the user unlists Film 0 on Trakt

    await hass.services.async_call(
        DOMAIN, "sync", {"pair": pair_device(hass, sync).id}, blocking=True
    )

    watchlist = {sid for sid, listing in simkl.lists.items() if listing.status == "plantowatch"}
    assert 700 not in watchlist  # removed on SIMKL too, after the backup
    newest = files(own_backup_folder)[-1]
    document = json.loads(gzip.decompress(newest.read_bytes()))
    assert document["reason"] == "before_removals"
    assert document["feature"] == "watchlist"
    counts = {side["side"]: len(side["entries"]) for side in document["sides"]}
    assert counts == {"a": FILMS - 1, "b": FILMS}  # SIMKL still held Film 0
    titles_b = {entry["item"]["n"] for entry in document["sides"][1]["entries"]}
    assert "Film 0" in titles_b
    diagnostics: Any = await get_diagnostics_for_config_entry(hass, hass_client, sync)
    (pair,) = diagnostics["pairs"]
    listed = pair["backups"][-1]
    assert listed["file"] == newest.name
    assert listed["reason"] == "before_removals"
    assert listed["counts"] == {"a": FILMS - 1, "b": FILMS}
    assert "entries" not in json.dumps(pair["backups"])  # no contents


async def test_only_the_newest_backups_of_a_pairs_list_are_kept(
    hass: HomeAssistant,
    serve: Serve,
    trakt: trakt_sim.TraktSim,
    simkl: simkl_sim.SimklState,
    own_backup_folder: Path,
) -> None:
    sync = await a_synced_pair(hass, serve, trakt, simkl, **{CONF_BACKUPS_KEPT: 1})
    first = files(own_backup_folder)
    assert len(first) == 1  # the first run's weekly backup
    trakt.unlist("movie", 101)

    await hass.services.async_call(
        DOMAIN, "sync", {"pair": pair_device(hass, sync).id}, blocking=True
    )

    (kept,) = files(own_backup_folder)
    assert kept != first[0]
    assert json.loads(gzip.decompress(kept.read_bytes()))["reason"] == "before_removals"


async def test_a_folder_that_cannot_be_written_is_a_backup_error(
    hass: HomeAssistant, tmp_path: Path
) -> None:
    blocked = tmp_path / "backups"
    blocked.write_text("a file where the folder belongs")
    folder = BackupFolder(hass, blocked)
    empty = Snapshot.build("Trakt", Feature.WATCHLIST, [], Completeness(all_pages=True))
    backup = Backup(
        "pair",
        Feature.WATCHLIST,
        datetime(2026, 12, 7, tzinfo=UTC),
        BackupReason.WEEKLY,
        (SideCopy(PairSide.A, "Trakt", empty),),
    )

    with pytest.raises(BackupError, match="backups"):
        await folder.keep(backup)


async def test_a_side_is_restored_from_the_backup_a_dry_run_first(
    hass: HomeAssistant,
    serve: Serve,
    trakt: trakt_sim.TraktSim,
    simkl: simkl_sim.SimklState,
) -> None:
    sync = await a_synced_pair(hass, serve, trakt, simkl)
    trakt.unlist("movie", 100)
    pair = pair_device(hass, sync).id
    await hass.services.async_call(DOMAIN, "sync", {"pair": pair}, blocking=True)
    assert 700 not in simkl_watchlist(simkl)  # the sync removed Film 0 from SIMKL

    preview: Any = await hass.services.async_call(
        DOMAIN, "restore_backup", {"pair": pair, "side": "target"},
        blocking=True, return_response=True,
    )  # fmt: skip

    assert preview["dry_run"] is True
    assert (preview["missing"], preview["items"]) == (1, ["Film 0 (1990)"])
    assert "restored" not in preview
    assert 700 not in simkl_watchlist(simkl)  # a dry run writes nothing

    done: Any = await hass.services.async_call(
        DOMAIN, "restore_backup", {"pair": pair, "side": "target", "dry_run": False},
        blocking=True, return_response=True,
    )  # fmt: skip

    assert (done["restored"], done["rejected"], done["error"]) == (1, [], None)
    assert 700 in simkl_watchlist(simkl)
    await hass.services.async_call(DOMAIN, "sync", {"pair": pair}, blocking=True)
    assert 700 in simkl_watchlist(simkl)  # the next sync keeps it, as the user's own add


async def test_restoring_from_a_backup_the_pair_does_not_have_says_so(
    hass: HomeAssistant,
    serve: Serve,
    trakt: trakt_sim.TraktSim,
    simkl: simkl_sim.SimklState,
) -> None:
    sync = await a_synced_pair(hass, serve, trakt, simkl)

    with pytest.raises(ServiceValidationError) as raised:
        await hass.services.async_call(
            DOMAIN, "restore_backup",
            {"pair": pair_device(hass, sync).id, "side": "target", "backup": "nope.json.gz"},
            blocking=True, return_response=True,
        )  # fmt: skip

    assert raised.value.translation_key == "no_backup"


def simkl_watchlist(simkl: simkl_sim.SimklState) -> set[int]:
    return {sid for sid, listing in simkl.lists.items() if listing.status == "plantowatch"}
