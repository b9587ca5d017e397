"""Rate limits in Home Assistant: the quota sensor, and runs that a provider asked to wait."""

from datetime import timedelta

from homeassistant.config_entries import ConfigEntry
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.update_coordinator import UpdateFailed
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed

from custom_components.crosswatch.const import DOMAIN
from custom_components.crosswatch.coordinator import PairCoordinator
from custom_components.crosswatch.engine.provider import RateLimitError
from tests.providers.conftest import Serve
from tests.simulators import anilist as anilist_sim, simkl as simkl_sim, trakt as trakt_sim

from .helpers import (
    add_pair,
    anilist_entry,
    attributes,
    simkl_entry,
    state,
    sync_entry,
    trakt_entry,
)

KEY = "rate_limit_remaining"
YUKI = 5150
TOKEN = "aa.bb.cc"


async def set_up(hass: HomeAssistant, *entries: MockConfigEntry) -> None:
    for entry in entries:
        entry.add_to_hass(hass)
        assert await hass.config_entries.async_setup(entry.entry_id)
    # Each account's to-do list reads its watchlist in the background once it loads, and
    # again when the sync entry loads: those requests count against the quotas too.
    await hass.async_block_till_done(wait_background_tasks=True)


async def enable_quota_sensor(hass: HomeAssistant, entry: ConfigEntry) -> str:
    """Enable the (disabled by default) sensor, reload the entry; its entity id."""
    registry = er.async_get(hass)
    entity_id = registry.async_get_entity_id("sensor", DOMAIN, f"{entry.unique_id}_{KEY}")
    assert entity_id is not None
    registered = registry.async_get(entity_id)
    assert registered is not None
    assert registered.disabled_by is er.RegistryEntryDisabler.INTEGRATION
    assert registered.entity_category is EntityCategory.DIAGNOSTIC
    assert hass.states.get(entity_id) is None
    registry.async_update_entity(entity_id, disabled_by=None)
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    return entity_id


def pair_coordinator(hass: HomeAssistant, sync: MockConfigEntry) -> PairCoordinator:
    coordinator: PairCoordinator = next(iter(sync.runtime_data.coordinators.values()))
    return coordinator


async def test_trakt_s_quota_is_what_trakt_last_reported_and_follows_the_runs(
    hass: HomeAssistant,
    serve: Serve,
    trakt: trakt_sim.TraktSim,
    simkl: simkl_sim.SimklState,
) -> None:
    simkl.add_title("movies", 100, "The Matrix", 1999, imdb="tt0133093", tmdb="603")
    trakt.seed_watchlist("movie", 1)
    account = trakt_entry(await serve(trakt_sim.make_app(trakt)), trakt)
    await set_up(hass, account, simkl_entry(await serve(simkl_sim.simkl_app(simkl)), simkl))

    entity_id = await enable_quota_sensor(hass, account)

    # The reload's statistics read was the GET bucket's tenth call: each setup checks the
    # health and reads the statistics (the watched and rated counts), the first setup's calendar
    # read once, and the watchlist to-do list read activities and the watchlist's four
    # categories (the reload's calendar shows its kept read).
    assert state(hass, entity_id) == "990"
    attrs = attributes(hass, entity_id)
    assert attrs["limit"] == 1000
    window = trakt.buckets["GET"]
    assert window.started is not None
    until = window.started + timedelta(seconds=300)
    assert attrs["resets_at"] == until.replace(microsecond=0).isoformat()  # Trakt's: to the second
    assert attrs["unit_of_measurement"] == "requests"
    assert attrs["state_class"] == "measurement"

    sync = sync_entry()
    await set_up(hass, sync)
    await add_pair(hass, sync, source="trakt:alice", target="simkl:51")

    assert state(hass, "sensor.movies_last_result") == "success"
    gets = trakt.buckets["GET"].used
    assert gets > 2
    assert state(hass, entity_id) == str(1000 - gets)


async def test_anilist_s_quota_comes_from_its_x_ratelimit_headers(
    hass: HomeAssistant, serve: Serve
) -> None:
    anilist = anilist_sim.AniListState()
    anilist.add_user(YUKI, "Yuki", TOKEN, score_format="POINT_100")
    account = anilist_entry(await serve(anilist_sim.build_app(anilist)))
    await set_up(hass, account)

    entity_id = await enable_quota_sensor(hass, account)

    # X-RateLimit-Remaining after the second Viewer query, of AniList's 30 a minute: the
    # watchlist to-do list's read (three queries) and the first setup's calendar read (Yuki's
    # followed anime; finding none, no airings) came between the two; the reload's calendar
    # showed its kept read without asking.
    assert state(hass, entity_id) == str(anilist_sim.RATE_LIMIT - 6)
    assert attributes(hass, entity_id)["limit"] == anilist_sim.RATE_LIMIT
    assert attributes(hass, entity_id)["resets_at"] is None  # sent only with a 429


async def test_services_that_report_no_quota_get_no_quota_sensor(
    hass: HomeAssistant, serve: Serve, simkl: simkl_sim.SimklState
) -> None:
    account = simkl_entry(await serve(simkl_sim.simkl_app(simkl)), simkl)
    await set_up(hass, account)

    registry = er.async_get(hass)
    assert registry.async_get_entity_id("sensor", DOMAIN, f"simkl:51_{KEY}") is None
    assert registry.async_get_entity_id("sensor", DOMAIN, "simkl:51_requests") is not None


async def test_a_run_a_429_stopped_fails_and_comes_back_when_retry_after_says(
    hass: HomeAssistant,
    serve: Serve,
    trakt: trakt_sim.TraktSim,
    simkl: simkl_sim.SimklState,
) -> None:
    simkl.add_title("movies", 100, "The Matrix", 1999, imdb="tt0133093", tmdb="603")
    trakt.seed_watchlist("movie", 1)
    account = simkl_entry(await serve(simkl_sim.simkl_app(simkl)), simkl)
    await set_up(hass, trakt_entry(await serve(trakt_sim.make_app(trakt)), trakt), account)
    simkl_name = account.runtime_data.provider.name
    sync = sync_entry()
    await set_up(hass, sync)
    events: list[object] = []
    hass.bus.async_listen("crosswatch_run_finished", events.append)
    simkl.quirks.rate_limit_storm, simkl.quirks.retry_after = 1, "600"

    await add_pair(hass, sync, source="trakt:alice", target="simkl:51")

    coordinator = pair_coordinator(hass, sync)
    assert not coordinator.last_update_success
    failure = coordinator.last_exception
    assert isinstance(failure, UpdateFailed)
    assert failure.translation_key == "rate_limited"
    assert failure.translation_placeholders == {
        "pair": "Movies",
        "accounts": simkl_name,
        "seconds": "600",
    }
    assert failure.retry_after == 600
    assert str(failure) == (
        f"Movies could not sync: {simkl_name} asked CrossWatch to slow down. "
        "The next try is in 600 seconds"  # Home Assistant drops the final period
    )
    assert coordinator.update_interval == timedelta(minutes=60)
    assert state(hass, "sensor.movies_last_result") == "unavailable"
    assert len(events) == 1  # the run is recorded and announced all the same
    assert simkl.lists == {}

    # Nothing before the provider's Retry-After; the retry comes then, not at the interval.
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=590))
    await hass.async_block_till_done(wait_background_tasks=True)
    assert len(events) == 1
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=610))
    await hass.async_block_till_done(wait_background_tasks=True)

    assert len(events) == 2
    assert pair_coordinator(hass, sync).last_update_success
    assert state(hass, "sensor.movies_last_result") == "success"
    assert set(simkl.lists) == {100}


async def test_a_run_rate_limited_midway_keeps_its_result_and_waits_as_asked(
    hass: HomeAssistant,
    serve: Serve,
    trakt: trakt_sim.TraktSim,
    simkl: simkl_sim.SimklState,
) -> None:
    simkl.add_title("movies", 102, "Heat", 1995, imdb="tt0113277", tmdb="949")
    simkl.user_lists(102, "plantowatch")
    await set_up(
        hass,
        trakt_entry(await serve(trakt_sim.make_app(trakt)), trakt),
        simkl_entry(await serve(simkl_sim.simkl_app(simkl)), simkl),
    )
    sync = sync_entry()
    await set_up(hass, sync)
    trakt.quirks.rate_limit_writes, trakt.quirks.retry_after = 1, 7200

    await add_pair(hass, sync, source="simkl:51", target="trakt:alice", mode="add_only")

    coordinator = pair_coordinator(hass, sync)
    assert coordinator.last_update_success
    assert state(hass, "sensor.movies_last_result") == "partial"
    assert state(hass, "sensor.movies_planned_adds") == "1"
    assert coordinator.data.result is not None
    assert coordinator.data.result.rate_limited == ("Trakt (alice)",)
    assert coordinator.update_interval == timedelta(hours=2)  # not the pair's 60 minutes
    assert trakt.watchlist == []

    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(minutes=61))
    await hass.async_block_till_done(wait_background_tasks=True)
    assert trakt.watchlist == []
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(hours=2, minutes=1))
    await hass.async_block_till_done(wait_background_tasks=True)

    assert state(hass, "sensor.movies_last_result") == "success"
    assert [row["ref"] for row in trakt.watchlist] == [("movie", 2)]
    assert coordinator.update_interval == timedelta(minutes=60)


async def test_a_rate_limit_without_retry_after_fails_the_run_until_the_usual_interval(
    hass: HomeAssistant,
    serve: Serve,
    trakt: trakt_sim.TraktSim,
    simkl: simkl_sim.SimklState,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    account = simkl_entry(await serve(simkl_sim.simkl_app(simkl)), simkl)
    await set_up(hass, trakt_entry(await serve(trakt_sim.make_app(trakt)), trakt), account)
    sync = sync_entry()
    await set_up(hass, sync)

    async def slow_down() -> None:
        # What the HTTP layer raises once a service's 429s outlast the retries, with no wait.
        raise RateLimitError("SIMKL kept asking to slow down")

    monkeypatch.setattr(account.runtime_data.provider, "health", slow_down)

    await add_pair(hass, sync, source="trakt:alice", target="simkl:51")

    failure = pair_coordinator(hass, sync).last_exception
    assert isinstance(failure, UpdateFailed)
    assert failure.translation_key == "rate_limited_no_wait"
    assert failure.retry_after is None
    assert "at the pair's usual interval" in str(failure)
    assert pair_coordinator(hass, sync).update_interval == timedelta(minutes=60)
