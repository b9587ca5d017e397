"""Diagnostics of account entries and of the sync entry, and what they must never reveal."""

from collections.abc import Iterator
import json
import logging
from pathlib import Path
from typing import Any
from unittest.mock import patch

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.syrupy import HomeAssistantSnapshotExtension
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator
from syrupy.assertion import SnapshotAssertion
from syrupy.types import PropertyPath, SerializableData

from custom_components.crosswatch.const import DOMAIN
from custom_components.crosswatch.diagnostics import Scrubber, redact_account_ref
from tests.providers.conftest import Serve
from tests.simulators import simkl as simkl_sim, trakt as trakt_sim

from .helpers import add_pair, simkl_entry, sync_entry, trakt_entry

# Values that change from run to run: when a run happened, how long it took, when tokens
# (dated by the wall clock) expire, and a backup's file (named by the pair's id and the time).
VOLATILE = frozenset(
    {
        "started_at", "finished_at", "last_run", "duration", "expires_at", "token_expires_at",
        "taken_at", "file",
    }
)  # fmt: skip


def stable(*, data: SerializableData, path: PropertyPath) -> SerializableData:
    """Replace times and durations (syrupy matcher)."""
    if path and path[-1][0] in VOLATILE and data is not None:
        return "<volatile>"
    return data


async def diagnostics(
    hass: HomeAssistant, hass_client: ClientSessionGenerator, entry: ConfigEntry
) -> dict[str, Any]:
    """An entry's diagnostics, as the download gives them."""
    return dict(await get_diagnostics_for_config_entry(hass, hass_client, entry))


@pytest.fixture
def snapshot(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    """Home Assistant's snapshot format in tests/integration/snapshots/, whichever plugin loads first."""
    return snapshot.use_extension(HomeAssistantSnapshotExtension)


@pytest.fixture(autouse=True)
def isolated_store(tmp_path: Path) -> Iterator[None]:
    """Each test gets its own state store, not the shared testing config's."""
    with patch(
        "custom_components.crosswatch.runtime.store_path", return_value=tmp_path / "state.db"
    ):
        yield


@pytest.fixture
def issued(trakt: trakt_sim.TraktSim, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every token the simulators hand out, and the secrets the entries carry."""
    secrets = [trakt_sim.CLIENT_SECRET, simkl_sim.TOKEN]
    issue = trakt.issue_tokens

    def recording() -> dict[str, Any]:
        tokens = issue()
        secrets.extend((str(tokens["access_token"]), str(tokens["refresh_token"])))
        return tokens

    monkeypatch.setattr(trakt, "issue_tokens", recording)
    return secrets


@pytest.fixture
async def synced(
    hass: HomeAssistant,
    serve: Serve,
    trakt: trakt_sim.TraktSim,
    simkl: simkl_sim.SimklState,
    issued: list[str],
    caplog: pytest.LogCaptureFixture,
) -> tuple[ConfigEntry, ConfigEntry, MockConfigEntry]:
    """Trakt and SIMKL connected and a two-way watchlist pair that has run once.

    CrossWatch logs at DEBUG from the start, so that the leak test sees everything.
    """
    caplog.set_level(logging.DEBUG, logger="custom_components.crosswatch")
    simkl.add_title("movies", 100, "The Matrix", 1999, imdb="tt0133093", tmdb="603")
    simkl.add_title("movies", 102, "Heat", 1995, imdb="tt0113277", tmdb="949")
    trakt.seed_watchlist("movie", 1)
    simkl.user_lists(102, "plantowatch")
    trakt_url = await serve(trakt_sim.make_app(trakt))
    simkl_url = await serve(simkl_sim.simkl_app(simkl))
    accounts = (trakt_entry(trakt_url, trakt), simkl_entry(simkl_url, simkl))
    for entry in accounts:
        entry.add_to_hass(hass)
        assert await hass.config_entries.async_setup(entry.entry_id)
    # The accounts' to-do lists read their watchlists once, before the pair runs.
    await hass.async_block_till_done(wait_background_tasks=True)
    sync = sync_entry()
    sync.add_to_hass(hass)
    assert await hass.config_entries.async_setup(sync.entry_id)
    await add_pair(hass, sync, source="trakt:alice", target="simkl:51")
    last_result = hass.states.get("sensor.movies_last_result")
    assert last_result is not None
    assert last_result.state == "success"
    return accounts[0], accounts[1], sync


async def test_sync_entry_diagnostics_show_pairs_runs_and_the_store(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    synced: tuple[ConfigEntry, ConfigEntry, MockConfigEntry],
    snapshot: SnapshotAssertion,
) -> None:
    _, _, sync = synced

    result = await diagnostics(hass, hass_client, sync)

    assert result == snapshot(matcher=stable)
    (pair,) = result["pairs"]
    assert pair["title"] == "Movies"
    assert pair["source"] == "trakt:**REDACTED**"
    assert pair["last_result"]["plan"]["operations"] == 2
    assert pair["runs"][0]["status"] == "success"
    assert result["store"]["statistics"]["run"] == 1


async def test_account_diagnostics_show_health_counts_and_capabilities(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    synced: tuple[ConfigEntry, ConfigEntry, MockConfigEntry],
    snapshot: SnapshotAssertion,
) -> None:
    trakt_account, simkl_account, _ = synced

    trakt_diagnostics = await diagnostics(hass, hass_client, trakt_account)
    simkl_diagnostics = await diagnostics(hass, hass_client, simkl_account)

    assert trakt_diagnostics == snapshot(name="trakt", matcher=stable)
    assert simkl_diagnostics == snapshot(name="simkl", matcher=stable)
    assert trakt_diagnostics["health"]["reachable"] is True
    assert trakt_diagnostics["entry"]["data"]["tokens"]["access_token"] == "**REDACTED**"
    assert simkl_diagnostics["capabilities"]["rating_scale"] == "integer_1_10"


async def test_an_unloaded_account_still_gives_its_redacted_entry(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    synced: tuple[ConfigEntry, ConfigEntry, MockConfigEntry],
) -> None:
    trakt_account, _, sync = synced
    assert await hass.config_entries.async_unload(trakt_account.entry_id)
    await hass.services.async_call(DOMAIN, "sync", {}, blocking=True)

    account = await diagnostics(hass, hass_client, trakt_account)
    pairs = await diagnostics(hass, hass_client, sync)

    assert account["entry"]["state"] == "not_loaded"
    assert "health" not in account
    (pair,) = pairs["pairs"]
    assert pair["accounts_loaded"] == {"source": False, "target": True}
    assert pair["state"]["status"] == "skipped"
    assert pair["state"]["waiting_for"] == ["trakt:**REDACTED**"]
    assert [run["status"] for run in pair["runs"]] == ["success"]


async def test_no_token_secret_account_or_host_leaks_into_diagnostics_or_logs(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    caplog: pytest.LogCaptureFixture,
    synced: tuple[ConfigEntry, ConfigEntry, MockConfigEntry],
    trakt: trakt_sim.TraktSim,
    issued: list[str],
) -> None:
    trakt_account, simkl_account, sync = synced
    # Trakt stops taking the access token: the next run refreshes it (new tokens, logged
    # activity), and an error run leaves text behind for the diagnostics to scrub.
    trakt.revoke_access_tokens()
    await hass.services.async_call(DOMAIN, "sync", {}, blocking=True)
    await hass.async_block_till_done(wait_background_tasks=True)
    refreshed = trakt_account.data["tokens"]["access_token"]
    assert refreshed in issued[2:]  # the entry now holds a token the refresh issued

    dumps = [
        json.dumps(await diagnostics(hass, hass_client, entry))
        for entry in (trakt_account, simkl_account, sync)
    ]
    logs = caplog.text + "\n".join(
        f"{record.getMessage()} {record.args!r} {record.exc_text or ''}"
        for record in caplog.records
    )

    secrets = set(issued)
    assert len(secrets) >= 6  # client secret, SIMKL token, two Trakt token pairs
    assert any(r.name.startswith("custom_components.crosswatch") for r in caplog.records)
    for secret in secrets:
        assert all(secret not in dump for dump in dumps), secret
        assert secret not in logs, secret
    identifying = {
        trakt_sim.CLIENT_ID,
        simkl_sim.CLIENT_ID,
        "alice",
        "Andrew",
        "127.0.0.1",
        "http://",
    }
    for value in identifying:
        assert all(value not in dump for dump in dumps), value


async def test_free_text_loses_urls_hosts_and_account_values(
    hass: HomeAssistant,
    synced: tuple[ConfigEntry, ConfigEntry, MockConfigEntry],
) -> None:
    trakt_account, _, _ = synced
    token = trakt_account.data["tokens"]["access_token"]
    host = trakt_account.data["base_url"].removeprefix("http://")
    scrub = Scrubber.for_hass(hass)

    text = scrub.text(
        f"GET https://api.trakt.tv/sync?x=1 failed for Trakt (alice) at {host} with x{token}x;"
        " SIMKL (Andrew) said 51 items, 510 more; Trakt refused"
    )

    assert text == (
        "GET **REDACTED** failed for **REDACTED** at **REDACTED** with x**REDACTED**x;"
        " **REDACTED** said **REDACTED** items, 510 more; Trakt refused"
    )
    assert redact_account_ref("jellyfin:abc") == "jellyfin:**REDACTED**"
    assert redact_account_ref("nocolon") == "**REDACTED**"
