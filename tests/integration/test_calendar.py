"""The upcoming-episodes calendar of a tracker account, against the simulators.

Read on its own schedule (every six hours), kept per account across restarts, and answered from
what was kept: asking the calendar never asks the service.
"""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from unittest.mock import patch

from aiohttp import web
from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.calendar.const import DOMAIN as CALENDAR_DOMAIN
from homeassistant.const import STATE_OFF, STATE_ON, STATE_UNAVAILABLE, Platform
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
    async_fire_time_changed,
)

from custom_components.crosswatch.const import DOMAIN
from custom_components.crosswatch.upcoming_coordinator import UPCOMING_INTERVAL, store_key
from tests.simulators import anilist as anilist_sim, simkl as simkl_sim, trakt as trakt_sim
from tests.simulators.openapi import RECORDED
from tests.simulators.serving import Serve

from .helpers import attributes, simkl_entry, state, trakt_entry


@pytest.fixture(autouse=True)
def calendars_without_to_do_lists() -> Iterator[None]:
    """The accounts' calendars alone: the to-do lists read the same lists on their own."""
    with patch("custom_components.crosswatch.ACCOUNT_PLATFORMS", [Platform.CALENDAR]):
        yield


NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
TRAKT_CALENDAR = "calendar.trakt_alice_upcoming_episodes"


@pytest.fixture
def now(freezer: FrozenDateTimeFactory) -> datetime:
    """Monday 7 December 2026, noon UTC."""
    freezer.move_to(NOW)
    return NOW


async def events(hass: HomeAssistant, entity_id: str, start: datetime, end: datetime) -> list[Any]:
    """The calendar's events in a range, through the action users and cards call."""
    reply = await hass.services.async_call(
        CALENDAR_DOMAIN,
        "get_events",
        {"entity_id": entity_id, "start_date_time": start, "end_date_time": end},
        blocking=True,
        return_response=True,
    )
    assert reply is not None
    found: Any = reply[entity_id]
    return list(found["events"])


class TraktAccount:
    """A Trakt account on its simulator, with the requests its calendar made."""

    def __init__(self, hass: HomeAssistant, sim: trakt_sim.TraktSim) -> None:
        self.hass, self.sim = hass, sim
        self.app = trakt_sim.make_app(sim)

    async def set_up(self, serve: Serve) -> Any:
        entry = trakt_entry(await serve(self.app), self.sim)
        entry.add_to_hass(self.hass)
        assert await self.hass.config_entries.async_setup(entry.entry_id)
        await self.hass.async_block_till_done(wait_background_tasks=True)
        return entry

    @property
    def calendar_reads(self) -> list[str]:
        return [r.path for r in self.app[RECORDED] if r.path.startswith("/calendars/")]


@pytest.fixture
def account(hass: HomeAssistant, trakt: trakt_sim.TraktSim, now: datetime) -> TraktAccount:
    trakt_sim.seed_upcoming(trakt, now)
    return TraktAccount(hass, trakt)


async def test_trakt_lists_the_episodes_of_the_shows_the_user_watches_or_lists(
    hass: HomeAssistant, serve: Serve, account: TraktAccount
) -> None:
    await account.set_up(serve)

    found = await events(hass, TRAKT_CALENDAR, NOW, NOW + timedelta(days=14))

    assert [(e["summary"], e["start"], e["end"]) for e in found] == [
        (
            "Severance S02E05 · Trojan's Horse",
            "2026-12-08T02:00:00+00:00",
            "2026-12-08T02:55:00+00:00",
        ),
        ("Dark S03E01 · Deja-vu", "2026-12-10T20:00:00+00:00", "2026-12-10T20:30:00+00:00"),
        ("Severance S02E06 · Attila", "2026-12-15T02:00:00+00:00", "2026-12-15T02:52:00+00:00"),
    ]  # The Bear is hidden from the calendar, Slow Horses neither watched nor listed
    assert found[0]["description"] == (
        "Severance: Season 2, episode 5 (Trojan's Horse)\n"
        "https://trakt.tv/shows/severance/seasons/2/episodes/5"
    )
    assert account.calendar_reads == ["/calendars/my/shows/2026-12-06/33"]
    assert state(hass, TRAKT_CALENDAR) == STATE_OFF
    assert attributes(hass, TRAKT_CALENDAR)["message"] == "Severance S02E05 · Trojan's Horse"


async def test_a_range_is_answered_from_the_kept_read_without_asking_the_service(
    hass: HomeAssistant, serve: Serve, account: TraktAccount
) -> None:
    await account.set_up(serve)

    this_week = await events(hass, TRAKT_CALENDAR, NOW, NOW + timedelta(days=7))
    beyond = await events(hass, TRAKT_CALENDAR, NOW + timedelta(days=40), NOW + timedelta(days=90))
    mid_episode = await events(
        hass,
        TRAKT_CALENDAR,
        datetime(2026, 12, 8, 2, 30, tzinfo=UTC),
        datetime(2026, 12, 8, 2, 31, tzinfo=UTC),
    )

    assert [e["summary"] for e in this_week] == [
        "Severance S02E05 · Trojan's Horse",
        "Dark S03E01 · Deja-vu",
    ]
    assert beyond == []
    assert [e["summary"] for e in mid_episode] == ["Severance S02E05 · Trojan's Horse"]
    assert len(account.calendar_reads) == 1


async def test_the_calendar_is_on_while_an_episode_airs(
    hass: HomeAssistant, serve: Serve, account: TraktAccount, freezer: FrozenDateTimeFactory
) -> None:
    await account.set_up(serve)

    freezer.move_to(datetime(2026, 12, 8, 2, 10, tzinfo=UTC))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()

    assert state(hass, TRAKT_CALENDAR) == STATE_ON
    assert attributes(hass, TRAKT_CALENDAR)["message"] == "Severance S02E05 · Trojan's Horse"


async def test_a_restart_shows_the_kept_episodes_without_asking_the_service(
    hass: HomeAssistant, serve: Serve, account: TraktAccount
) -> None:
    entry = await account.set_up(serve)

    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)

    assert len(account.calendar_reads) == 1
    found = await events(hass, TRAKT_CALENDAR, NOW, NOW + timedelta(days=14))
    assert len(found) == 3


async def test_a_kept_read_older_than_the_schedule_is_read_again_at_setup(
    hass: HomeAssistant, serve: Serve, account: TraktAccount, freezer: FrozenDateTimeFactory
) -> None:
    entry = await account.set_up(serve)
    assert await hass.config_entries.async_unload(entry.entry_id)

    freezer.tick(UPCOMING_INTERVAL)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)

    assert len(account.calendar_reads) == 2


async def test_the_calendar_reads_again_every_six_hours_and_only_then(
    hass: HomeAssistant, serve: Serve, account: TraktAccount, freezer: FrozenDateTimeFactory
) -> None:
    await account.set_up(serve)

    freezer.tick(UPCOMING_INTERVAL - timedelta(minutes=1))
    async_fire_time_changed(hass)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert len(account.calendar_reads) == 1

    freezer.tick(timedelta(minutes=1))
    async_fire_time_changed(hass)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert len(account.calendar_reads) == 2


async def test_after_a_restart_the_next_read_comes_when_the_kept_one_is_six_hours_old(
    hass: HomeAssistant, serve: Serve, account: TraktAccount, freezer: FrozenDateTimeFactory
) -> None:
    entry = await account.set_up(serve)
    freezer.tick(timedelta(hours=4))
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert len(account.calendar_reads) == 1

    freezer.tick(timedelta(hours=2))
    async_fire_time_changed(hass)
    await hass.async_block_till_done(wait_background_tasks=True)

    assert len(account.calendar_reads) == 2


async def test_a_failed_read_keeps_the_kept_episodes_and_says_why(
    hass: HomeAssistant,
    serve: Serve,
    account: TraktAccount,
    freezer: FrozenDateTimeFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    entry = await account.set_up(serve)
    account.sim.quirks.malformed_calendars = 1

    freezer.tick(UPCOMING_INTERVAL)
    async_fire_time_changed(hass)
    await hass.async_block_till_done(wait_background_tasks=True)

    assert len(account.calendar_reads) == 2
    assert "Trakt (alice) could not read its upcoming episodes" in caplog.text
    assert state(hass, TRAKT_CALENDAR) != STATE_UNAVAILABLE
    found = await events(hass, TRAKT_CALENDAR, NOW, NOW + timedelta(days=14))
    assert len(found) == 3
    coordinator = entry.runtime_data.upcoming
    assert coordinator is not None
    assert coordinator.last_update_success is False


async def test_a_first_read_that_fails_leaves_the_calendar_unavailable_until_one_succeeds(
    hass: HomeAssistant, serve: Serve, account: TraktAccount, freezer: FrozenDateTimeFactory
) -> None:
    account.sim.quirks.malformed_calendars = 1
    await account.set_up(serve)
    assert state(hass, TRAKT_CALENDAR) == STATE_UNAVAILABLE

    freezer.tick(UPCOMING_INTERVAL)
    async_fire_time_changed(hass)
    await hass.async_block_till_done(wait_background_tasks=True)

    assert state(hass, TRAKT_CALENDAR) == STATE_OFF


async def test_an_unreadable_kept_read_is_read_again(
    hass: HomeAssistant,
    serve: Serve,
    account: TraktAccount,
    hass_storage: dict[str, Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    entry = await account.set_up(serve)
    assert await hass.config_entries.async_unload(entry.entry_id)
    hass_storage[store_key(entry.entry_id)]["data"]["window_start"] = "2026-12-06T00:00:00"

    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)

    assert "are unreadable" in caplog.text
    assert len(account.calendar_reads) == 2


async def test_removing_the_account_removes_its_kept_episodes(
    hass: HomeAssistant, serve: Serve, account: TraktAccount, hass_storage: dict[str, Any]
) -> None:
    entry = await account.set_up(serve)
    assert store_key(entry.entry_id) in hass_storage

    assert await hass.config_entries.async_remove(entry.entry_id)
    await hass.async_block_till_done()

    assert store_key(entry.entry_id) not in hass_storage


async def test_an_automation_runs_when_an_episode_starts(
    hass: HomeAssistant, serve: Serve, account: TraktAccount, freezer: FrozenDateTimeFactory
) -> None:
    await account.set_up(serve)
    assert await async_setup_component(
        hass,
        "automation",
        {
            "automation": {
                "triggers": {"trigger": "calendar", "event": "start", "entity_id": TRAKT_CALENDAR},
                "actions": {
                    "event": "episode_started",
                    "event_data": {"summary": "{{ trigger.calendar_event.summary }}"},
                },
            }
        },
    )
    started = async_capture_events(hass, "episode_started")

    freezer.move_to(datetime(2026, 12, 8, 1, 50, tzinfo=UTC))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    assert started == []
    freezer.move_to(datetime(2026, 12, 8, 2, 0, 1, tzinfo=UTC))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()

    assert [event.data["summary"] for event in started] == ["Severance S02E05 · Trojan's Horse"]
    # Switched off, the automation lets go of its trigger (no timer outlives the test).
    await hass.services.async_call("automation", "turn_off", {"entity_id": "all"}, blocking=True)


SIMKL_CALENDAR = "calendar.simkl_andrew_upcoming_episodes"


@pytest.fixture
async def simkl_account(
    hass: HomeAssistant, serve: Serve, simkl: simkl_sim.SimklState, now: datetime
) -> simkl_sim.SimklState:
    """A SIMKL account following a show and an anime, its calendar files on their own host."""
    simkl_sim.seed_upcoming(simkl, now)
    entry = simkl_entry(
        await serve(simkl_sim.simkl_app(simkl)),
        simkl,
        calendar_url=f"{await serve(simkl_sim.simkl_calendar_app(simkl))}/calendar",
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    return simkl


def list_reads(state: simkl_sim.SimklState) -> list[str | None]:
    """The buckets of `/sync/all-items` that were read."""
    return [call.type for call in state.calls if call.endpoint == "all-items"]


async def test_simkl_lists_the_episodes_of_the_titles_the_user_watches_or_plans_to_watch(
    hass: HomeAssistant, simkl_account: simkl_sim.SimklState
) -> None:
    found = await events(hass, SIMKL_CALENDAR, NOW, NOW + timedelta(days=14))

    assert [(e["summary"], e["start"], e["end"]) for e in found] == [
        ("Shogun S02E03", "2026-12-09T01:00:00+00:00", "2026-12-09T01:30:00+00:00"),
        ("Frieren E29", "2026-12-11T15:00:00+00:00", "2026-12-11T15:30:00+00:00"),
        ("Frieren E30", "2026-12-13", "2026-12-14"),  # dated without a time: all day
    ]  # Fallout is completed, Andor dropped, Severance on no list
    assert found[0]["description"] == (
        "Shogun: Season 2, episode 3\nhttps://simkl.com/tv/201/shogun/episode-3"
    )
    assert simkl_account.calendar_reads == ["tv.json", "anime.json"]
    assert list_reads(simkl_account) == ["shows", "anime"]


async def test_simkl_reads_its_lists_again_only_after_they_changed(
    hass: HomeAssistant, simkl_account: simkl_sim.SimklState, freezer: FrozenDateTimeFactory
) -> None:
    freezer.tick(UPCOMING_INTERVAL)
    async_fire_time_changed(hass)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert list_reads(simkl_account) == ["shows", "anime"]  # activities unchanged
    assert len(simkl_account.calendar_reads) == 4

    simkl_account.user_lists(204, "watching")
    freezer.tick(UPCOMING_INTERVAL)
    async_fire_time_changed(hass)
    await hass.async_block_till_done(wait_background_tasks=True)

    assert list_reads(simkl_account) == ["shows", "anime", "shows"]
    found = await events(hass, SIMKL_CALENDAR, NOW, NOW + timedelta(days=14))
    assert "Severance S02E07" in [e["summary"] for e in found]


async def test_a_simkl_calendar_file_that_is_an_error_page_keeps_the_kept_episodes(
    hass: HomeAssistant,
    simkl_account: simkl_sim.SimklState,
    freezer: FrozenDateTimeFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    simkl_account.quirks.malformed_calendars = 1

    freezer.tick(UPCOMING_INTERVAL)
    async_fire_time_changed(hass)
    await hass.async_block_till_done(wait_background_tasks=True)

    assert "SIMKL (Andrew) could not read its upcoming episodes" in caplog.text
    assert len(await events(hass, SIMKL_CALENDAR, NOW, NOW + timedelta(days=14))) == 3


ANILIST_CALENDAR = "calendar.anilist_alice_upcoming_episodes"


@pytest.fixture
async def anilist_account(
    hass: HomeAssistant, serve: Serve, now: datetime
) -> tuple[anilist_sim.AniListState, web.Application]:
    """Alice's AniList account, with anime airing this week on her CURRENT and PLANNING lists."""
    state = anilist_sim.AniListState()
    anilist_sim.seed_upcoming(state, now)
    app = anilist_sim.build_app(state)
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="AniList (alice)",
        unique_id=f"anilist:{anilist_sim.ALICE_ID}",
        data={
            "kind": "anilist",
            "account_id": str(anilist_sim.ALICE_ID),
            "client_id": "12345",
            "tokens": {"access_token": anilist_sim.ALICE_TOKEN},
            "score_format": "POINT_10_DECIMAL",
            "base_url": await serve(app),
        },
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    return state, app


def queries(app: web.Application) -> list[str]:
    """The names of the GraphQL operations the simulator was asked."""
    names = []
    for request in app[RECORDED]:
        body = request.body if isinstance(request.body, dict) else {}
        document = str(body.get("query", ""))
        names.append(
            document.split("(", maxsplit=1)[0].split("{", maxsplit=1)[0].rsplit(maxsplit=1)[-1]
        )
    return names


async def test_anilist_lists_the_airings_of_the_anime_the_user_watches_or_plans(
    hass: HomeAssistant, anilist_account: tuple[anilist_sim.AniListState, web.Application]
) -> None:
    _, app = anilist_account

    found = await events(hass, ANILIST_CALENDAR, NOW, NOW + timedelta(days=14))

    assert [(e["summary"], e["start"], e["end"]) for e in found] == [
        (
            "Sousou no Frieren 2nd Season E05",
            "2026-12-08T15:00:00+00:00",
            "2026-12-08T15:24:00+00:00",
        ),
        ("Kaijuu 8-gou 3rd Season E01", "2026-12-10T14:00:00+00:00", "2026-12-10T14:30:00+00:00"),
        (
            "Sousou no Frieren 2nd Season E06",
            "2026-12-15T15:00:00+00:00",
            "2026-12-15T15:24:00+00:00",
        ),
    ]  # Steins;Gate 0 was dropped
    assert found[0]["description"] == (
        "Sousou no Frieren 2nd Season: Episode 5\nhttps://anilist.co/anime/182255"
    )
    assert queries(app).count("Followed") == 1
    assert queries(app).count("Airing") == 1


async def test_anilist_reads_long_lists_fifty_at_a_time_within_its_rate_limit(
    hass: HomeAssistant, serve: Serve, now: datetime
) -> None:
    state = anilist_sim.AniListState()
    anilist_sim.seed_upcoming(state, now)
    for offset in range(60):
        media = state.add_media(200_000 + offset, f"Weekly Show {offset:02d}", duration=12)
        first = NOW + timedelta(days=1, minutes=offset)
        media.airings[1] = int(first.timestamp())
        media.airings[2] = int((first + timedelta(days=7)).timestamp())
        state.add_entry(anilist_sim.ALICE_ID, media.id, "CURRENT")
    app = anilist_sim.build_app(state)
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="AniList (alice)",
        unique_id=f"anilist:{anilist_sim.ALICE_ID}",
        data={
            "kind": "anilist",
            "account_id": str(anilist_sim.ALICE_ID),
            "client_id": "12345",
            "tokens": {"access_token": anilist_sim.ALICE_TOKEN},
            "base_url": await serve(app),
        },
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)

    found = await events(hass, ANILIST_CALENDAR, NOW, NOW + timedelta(days=14))

    assert len(found) == 123  # the 3 of alice's list, and 60 weekly shows' next two episodes
    assert queries(app).count("Followed") == 2  # 65 followed anime: two pages of 50
    # Two chunks of ids: the first 50 anime air 93 times (two pages), the other 15 30 times.
    assert queries(app).count("Airing") == 3
    per_page = [
        r.body["variables"]["perPage"]
        for r in app[RECORDED]
        if isinstance(r.body, dict) and "perPage" in r.body.get("variables", {})
    ]
    assert per_page
    assert max(per_page) <= 50
    assert state.refused == 0  # never beyond 30 requests a minute


async def test_a_simkl_api_at_another_base_url_serves_the_calendar_files_there_too(
    hass: HomeAssistant, serve: Serve, simkl: simkl_sim.SimklState, now: datetime
) -> None:
    simkl_sim.seed_upcoming(simkl, now)
    app = simkl_sim.add_calendar_routes(simkl_sim.simkl_app(simkl), simkl)
    entry = simkl_entry(await serve(app), simkl)  # no calendar_url: the base URL's /calendar
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)

    assert len(await events(hass, SIMKL_CALENDAR, NOW, NOW + timedelta(days=14))) == 3
    assert simkl.calendar_reads == ["tv.json", "anime.json"]
