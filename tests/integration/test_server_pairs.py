"""Media-server pairs in Home Assistant: Plex plays reach Trakt and Jellyfin, set up by flows.

Every account is connected through its real config flow (Plex by plex.tv PIN or by server URL
and token, Jellyfin by password) against the simulators, the pair through the subentry flow.
The libraries are those of tests/providers/test_servers_e2e.py, which proves the same pairs
through the engine alone: here the runs go through the coordinator, the buttons and actions,
and the entities must tell what happened.
"""

from collections import Counter
from dataclasses import dataclass
from datetime import datetime
import time
from typing import Any

from homeassistant.config_entries import SOURCE_RECONFIGURE, SOURCE_USER, ConfigEntry
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.crosswatch.const import DOMAIN
from custom_components.crosswatch.engine.payloads import Feature
from custom_components.crosswatch.engine.plan import PairSide
from custom_components.crosswatch.engine.records import Scope
from custom_components.crosswatch.flows import plex as plex_flow
from tests.providers.conftest import Serve
from tests.providers.test_servers_e2e import (
    FILMS,
    HEAT_ON_JELLYFIN,
    ID_LESS_ON_JELLYFIN,
    JELLYFIN_YEAR,
    SHADOWED,
    SHOWS,
    TRAKT_FILM,
    TRAKT_SHOW,
    WATCHED_ON_PLEX,
    moment,
    seed_plex,
    trakt_episode,
    viewed_at,
)
from tests.simulators import trakt as trakt_sim
from tests.simulators.mediabrowser import (
    Flavour,
    MediaBrowserQuirks,
    MediaBrowserState,
    User,
    mediabrowser_app,
)
from tests.simulators.openapi import RECORDED
from tests.simulators.plex import ACCOUNT_TOKEN, PlexSim, make_apps

from .helpers import add_pair, attributes, pair_device, state, sync_entry, trakt_entry

PASSWORD = "correct horse"
PLAYS = len(WATCHED_ON_PLEX)  # one per watched film or episode: Plex keeps no repeat plays


@pytest.fixture(autouse=True)
def quick_pin_polls(monkeypatch: pytest.MonkeyPatch) -> None:
    """plex.tv is polled without a pause between polls."""
    monkeypatch.setattr(plex_flow, "PIN_POLL_INTERVAL", 0)


# -- the accounts, connected through their flows --------------------------------------------


@dataclass
class Plex:
    """The simulated Plex hosts on loopback, over one library."""

    sim: PlexSim
    urls: dict[str, str]

    @property
    def advanced(self) -> dict[str, str]:
        return {
            "plex_tv_url": self.urls["plex_tv"],
            "discover_url": self.urls["discover"],
            "metadata_url": self.urls["metadata"],
        }


@pytest.fixture
async def plex(serve: Serve) -> Plex:
    """A Plex server whose library the user watched as `WATCHED_ON_PLEX` says."""
    # plex.tv's clock is the real one: the flow checks a PIN's expiry against it.
    sim = PlexSim(now=int(time.time()))
    seed_plex(sim)
    apps = make_apps(sim)
    urls = {name: await serve(getattr(apps, name)) for name in ("server", "plex_tv")}
    urls |= {name: await serve(getattr(apps, name)) for name in ("discover", "metadata")}
    sim.connections = [{"uri": urls["server"], "local": True, "relay": False}]
    return Plex(sim, urls)


async def _menu(hass: HomeAssistant, service: str) -> str:
    """Open the add-account menu and choose a service; the flow's id."""
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    assert result["type"] is FlowResultType.MENU
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": service}
    )
    assert result["type"] is FlowResultType.MENU
    return result["flow_id"]


async def _created(hass: HomeAssistant, result: Any) -> ConfigEntry:
    assert result["type"] is FlowResultType.CREATE_ENTRY, result
    await hass.async_block_till_done(wait_background_tasks=True)
    entry: ConfigEntry = result["result"]
    return entry


async def sign_in_to_plex(hass: HomeAssistant, plex: Plex) -> ConfigEntry:
    """The plex.tv PIN sign-in: the user approves the code, the one server is chosen."""
    flow_id = await _menu(hass, "plex")
    await hass.config_entries.flow.async_configure(flow_id, {"next_step_id": "plex_sign_in"})
    result = await hass.config_entries.flow.async_configure(flow_id, {"advanced": plex.advanced})
    assert result["step_id"] == "plex_code", result
    plex.sim.approve_pin(list(plex.sim.pins.values())[-1].id)
    result = await hass.config_entries.flow.async_configure(flow_id, {})
    if result["type"] is FlowResultType.SHOW_PROGRESS:
        await hass.async_block_till_done(wait_background_tasks=True)
        result = await hass.config_entries.flow.async_configure(flow_id)
    return await _created(hass, result)


async def connect_plex_server(hass: HomeAssistant, plex: Plex) -> ConfigEntry:
    """The server's URL and a token, typed in."""
    flow_id = await _menu(hass, "plex")
    await hass.config_entries.flow.async_configure(flow_id, {"next_step_id": "plex_direct"})
    result = await hass.config_entries.flow.async_configure(
        flow_id,
        {"server_url": plex.urls["server"], "token": ACCOUNT_TOKEN, "advanced": plex.advanced},
    )
    return await _created(hass, result)


async def sign_in_to_jellyfin(hass: HomeAssistant, url: str) -> ConfigEntry:
    """Jellyfin's user name and password."""
    flow_id = await _menu(hass, "jellyfin")
    await hass.config_entries.flow.async_configure(flow_id, {"next_step_id": "jellyfin_password"})
    result = await hass.config_entries.flow.async_configure(
        flow_id, {"url": url, "username": "alice", "password": PASSWORD}
    )
    return await _created(hass, result)


async def connect_trakt(hass: HomeAssistant, url: str, sim: trakt_sim.TraktSim) -> ConfigEntry:
    """A Trakt account (its device-code flow has tests of its own)."""
    entry: MockConfigEntry = trakt_entry(url, sim)
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    return entry


async def start_sync(hass: HomeAssistant) -> MockConfigEntry:
    sync = sync_entry()
    sync.add_to_hass(hass)
    assert await hass.config_entries.async_setup(sync.entry_id)
    return sync


def history_pair(source: ConfigEntry, target: ConfigEntry, **fields: Any) -> dict[str, Any]:
    """A one-way history pair from `source` to `target`."""
    assert source.unique_id is not None
    assert target.unique_id is not None
    return {
        "source": source.unique_id,
        "target": target.unique_id,
        "features": ["history"],
        "mode": "add_only",
        **fields,
    }


async def press(hass: HomeAssistant, entity_id: str) -> None:
    await hass.services.async_call("button", "press", {"entity_id": entity_id}, blocking=True)
    await hass.async_block_till_done()


async def plan_of(hass: HomeAssistant, sync: MockConfigEntry) -> Any:
    """What the pair would do now (the get_plan action: a dry run)."""
    return await hass.services.async_call(
        DOMAIN,
        "get_plan",
        {"pair": pair_device(hass, sync).id},
        blocking=True,
        return_response=True,
    )


# -- Plex → Trakt -----------------------------------------------------------------------------


@pytest.fixture
def trakt() -> trakt_sim.TraktSim:
    """A Trakt account whose catalogue holds every film and episode of the Plex library."""
    sim = trakt_sim.TraktSim(slug="alice", watchlist_limit=1000)
    sim.issued_at = time.time  # Home Assistant's client judges token expiry by the wall clock
    for title, year, imdb, tmdb in FILMS:
        sim.add_movie(TRAKT_FILM[title], title, year, imdb=imdb, tmdb=tmdb)
    for title, year, imdb, tmdb, tvdb, episodes in SHOWS:
        sim.add_show(TRAKT_SHOW[title], title, year, imdb=imdb, tmdb=tmdb, tvdb=tvdb)
        for season, number, episode_tvdb in episodes:
            episode = trakt_episode(title, season, number)
            sim.add_episode(TRAKT_SHOW[title], season, number, episode, tvdb=episode_tvdb)
    return sim


def expected_trakt_plays() -> dict[tuple[str, int], str]:
    """One play per watched Plex item, dated when it was last watched on Plex."""
    plays = {}
    for name in WATCHED_ON_PLEX:
        show, _, numbering = name.rpartition(" ")
        if show in TRAKT_SHOW:
            season, number = (int(part) for part in numbering.split("x"))
            ref = ("episode", trakt_episode(show, season, number))
        else:
            ref = ("movie", TRAKT_FILM[name])
        plays[ref] = trakt_sim.stamp(moment(viewed_at(name)))
    return plays


def trakt_plays(sim: trakt_sim.TraktSim) -> Counter[tuple[str, int]]:
    return Counter(tuple(row["ref"]) for row in sim.history)


@pytest.fixture
async def plex_and_trakt(
    hass: HomeAssistant, serve: Serve, plex: Plex, trakt: trakt_sim.TraktSim
) -> tuple[ConfigEntry, ConfigEntry]:
    """Plex signed in by PIN, and Trakt connected; Trakt has no plays yet."""
    plex_entry = await sign_in_to_plex(hass, plex)
    trakt_account = await connect_trakt(hass, await serve(trakt_sim.make_app(trakt)), trakt)
    return plex_entry, trakt_account


async def test_plex_to_trakt_history_pair_sends_each_play_once_and_then_plans_nothing(
    hass: HomeAssistant,
    plex_and_trakt: tuple[ConfigEntry, ConfigEntry],
    plex: Plex,
    trakt: trakt_sim.TraktSim,
) -> None:
    sync = await start_sync(hass)
    events: list[Any] = []
    hass.bus.async_listen("crosswatch_run_finished", events.append)
    before = dt_util.utcnow().replace(microsecond=0)  # the sensor shows whole seconds

    result = await add_pair(hass, sync, name="Plex plays", **history_pair(*plex_and_trakt))

    assert result["type"] is FlowResultType.CREATE_ENTRY
    # Every watched film and episode is one play on Trakt, dated as Plex last saw it.
    assert trakt_plays(trakt) == Counter(dict.fromkeys(expected_trakt_plays(), 1))
    assert {tuple(row["ref"]): row["watched_at"] for row in trakt.history} == (
        expected_trakt_plays()
    )
    assert state(hass, "sensor.plex_plays_last_result") == "success"
    assert state(hass, "sensor.plex_plays_planned_adds") == str(PLAYS)
    assert attributes(hass, "sensor.plex_plays_planned_adds")["history"] == PLAYS
    assert state(hass, "sensor.plex_plays_planned_removals") == "0"
    last_run = datetime.fromisoformat(state(hass, "sensor.plex_plays_last_run"))
    assert before <= last_run <= dt_util.utcnow()
    event = attributes(hass, "event.plex_plays_run")
    assert event["event_type"] == "completed"
    assert event["features"]["history"]["planned"] == PLAYS
    assert event["features"]["history"]["applied"] == PLAYS
    assert event["errors"] == 0
    assert state(hass, "binary_sensor.plex_plays_needs_attention") == "off"
    assert len(events) == 1

    # Nothing changed on Plex: the preview and a second run plan nothing and send nothing.
    plan = await plan_of(hass, sync)
    assert plan["operations"] == []
    await press(hass, "button.plex_plays_sync_now")

    assert state(hass, "sensor.plex_plays_last_result") == "success"
    assert state(hass, "sensor.plex_plays_planned_adds") == "0"
    assert datetime.fromisoformat(state(hass, "sensor.plex_plays_last_run")) >= last_run
    event = attributes(hass, "event.plex_plays_run")
    assert event["event_type"] == "completed"
    assert event["features"]["history"]["applied"] == 0
    assert len(events) == 2
    assert trakt_plays(trakt) == Counter(dict.fromkeys(expected_trakt_plays(), 1))
    assert plex.sim.writes == []  # one-way: Plex is only read


async def test_a_managed_user_without_play_history_access_signs_in_and_their_plays_reach_trakt(
    hass: HomeAssistant, serve: Serve, plex: Plex, trakt: trakt_sim.TraktSim
) -> None:
    # Not the server's admin: plex.tv lists the server as not owned, and the server answers
    # their token 401 on the play history. Their watched state is on the library items.
    plex.sim.quirks.non_admin = True
    plex_entry = await sign_in_to_plex(hass, plex)
    trakt_account = await connect_trakt(hass, await serve(trakt_sim.make_app(trakt)), trakt)
    sync = await start_sync(hass)

    result = await add_pair(
        hass, sync, name="Plex plays", **history_pair(plex_entry, trakt_account)
    )

    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert trakt_plays(trakt) == Counter(dict.fromkeys(expected_trakt_plays(), 1))
    assert state(hass, "sensor.plex_plays_last_result") == "success"
    assert state(hass, "binary_sensor.plex_plays_needs_attention") == "off"
    await press(hass, "button.plex_plays_sync_now")
    assert state(hass, "sensor.plex_plays_last_result") == "success"
    assert state(hass, "sensor.plex_plays_planned_adds") == "0"
    assert trakt_plays(trakt) == Counter(dict.fromkeys(expected_trakt_plays(), 1))


async def test_sync_now_carries_a_play_made_a_moment_after_the_last_run(
    hass: HomeAssistant,
    plex_and_trakt: tuple[ConfigEntry, ConfigEntry],
    plex: Plex,
    trakt: trakt_sim.TraktSim,
) -> None:
    sync = await start_sync(hass)
    await add_pair(hass, sync, name="Plex plays", **history_pair(*plex_and_trakt))
    film = plex.sim.item("Spirited Away")
    film.view_count, film.last_viewed_at = 1, int(time.time())  # watched just now

    await press(hass, "button.plex_plays_sync_now")

    assert state(hass, "sensor.plex_plays_planned_adds") == "1"
    assert trakt_plays(trakt)[("movie", TRAKT_FILM["Spirited Away"])] == 1


async def test_a_dry_run_plex_to_trakt_pair_shows_the_plays_and_sends_them_once_made_live(
    hass: HomeAssistant,
    plex_and_trakt: tuple[ConfigEntry, ConfigEntry],
    trakt: trakt_sim.TraktSim,
) -> None:
    sync = await start_sync(hass)
    events: list[Any] = []
    hass.bus.async_listen("crosswatch_run_finished", events.append)
    pair = history_pair(*plex_and_trakt, dry_run=True)

    await add_pair(hass, sync, name="Plex plays", **pair)

    # The preview: every play is planned, none is sent.
    assert state(hass, "sensor.plex_plays_planned_adds") == str(PLAYS)
    assert trakt.history == []
    assert state(hass, "sensor.plex_plays_last_run") == "unknown"  # no real run yet
    assert state(hass, "event.plex_plays_run") == "unknown"  # a dry run is no event
    plan = await plan_of(hass, sync)
    assert len(plan["operations"]) == PLAYS
    assert {op["action"] for op in plan["operations"]} == {"add"}

    # Made live through the reconfigure flow: the reloaded pair runs and sends each play once.
    (subentry_id,) = sync.subentries
    result = await hass.config_entries.subentries.async_init(
        (sync.entry_id, "pair"),
        context={"source": SOURCE_RECONFIGURE, "subentry_id": subentry_id},
    )
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"],
        {
            "name": "Plex plays",
            **pair,
            "dry_run": False,
            "interval_minutes": 60,
            "guards": {
                "delete_budget_floor": 5,
                "delete_budget_percent": 2,
                "drop_guard_percent": 10,
                "tombstone_ttl_days": 30,
            },
        },
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done(wait_background_tasks=True)

    assert trakt_plays(trakt) == Counter(dict.fromkeys(expected_trakt_plays(), 1))
    assert state(hass, "sensor.plex_plays_planned_adds") == str(PLAYS)
    assert attributes(hass, "event.plex_plays_run")["event_type"] == "completed"
    *dry, live = [(e.data["dry_run"], e.data["features"]["history"]["applied"]) for e in events]
    assert set(dry) == {(True, 0)}
    assert live == (False, PLAYS)


# -- Plex → Jellyfin --------------------------------------------------------------------------


@dataclass
class Jellyfin:
    """A simulated Jellyfin server with the user alice, matched by file name in part."""

    state: MediaBrowserState
    user: User
    url: str
    app: Any

    def played(self) -> dict[str, tuple[int, datetime | None]]:
        """Every item alice has played, by name ("Dark 1x2" for episodes)."""
        found = {}
        for (user, item_id), data in self.state.data.items():
            if user == self.user.id and data.played:
                found[self.name(item_id)] = (data.play_count, data.last_played)
        return found

    def name(self, item_id: str) -> str:
        item = self.state.items[item_id]
        if item.type == "Episode":
            return f"{self.state.items[item.series_id or ''].name} {item.season}x{item.episode}"
        return item.name

    def plays_sent(self) -> int:
        """How many mark-played requests the server has received."""
        return sum(
            1
            for request in self.app[RECORDED]
            if request.method == "POST" and request.path.startswith("/UserPlayedItems/")
        )


@pytest.fixture
async def jellyfin(serve: Serve) -> Jellyfin:
    """The Plex library's titles, 40 % of them without ProviderIds, some a year off."""
    server = MediaBrowserState(Flavour.JELLYFIN, quirks=MediaBrowserQuirks(varied_casing=True))
    user = server.add_user("alice", PASSWORD)
    for title, year, imdb, tmdb in FILMS:
        ids = {} if title in ID_LESS_ON_JELLYFIN else {"Imdb": imdb, "Tmdb": str(tmdb)}
        item_id = server.add_movie(title, JELLYFIN_YEAR.get(title, year), **ids)
        if title == "Heat":  # watched on Jellyfin too, another evening
            server.watch(user, item_id, HEAT_ON_JELLYFIN)
    for title, year, imdb, tmdb, tvdb, episodes in SHOWS:
        id_less = title in ID_LESS_ON_JELLYFIN
        series_ids = {} if id_less else {"Imdb": imdb, "Tmdb": str(tmdb), "Tvdb": str(tvdb)}
        series = server.add_series(title, year, **series_ids)
        for season, number, episode_tvdb in episodes:
            server.add_episode(
                series, season, number, **({} if id_less else {"Tvdb": str(episode_tvdb)})
            )
    app = mediabrowser_app(server)
    return Jellyfin(server, user, await serve(app), app)


def expected_on_jellyfin() -> dict[str, tuple[int, datetime | None]]:
    """Every Plex play once, dated as on Plex; Heat as Jellyfin already had it."""
    expected: dict[str, tuple[int, datetime | None]] = {
        name: (1, moment(viewed_at(name))) for name in WATCHED_ON_PLEX
    }
    return expected | {"Heat": (1, HEAT_ON_JELLYFIN)}


async def test_plex_to_jellyfin_history_pair_marks_plays_once_though_40_percent_lack_ids(
    hass: HomeAssistant, plex: Plex, jellyfin: Jellyfin
) -> None:
    id_less = [item for item in jellyfin.state.items.values() if not item.provider_ids]
    assert len(id_less) / len(jellyfin.state.items) == pytest.approx(0.4)
    plex_entry = await connect_plex_server(hass, plex)
    jellyfin_entry = await sign_in_to_jellyfin(hass, jellyfin.url)
    sync = await start_sync(hass)

    await add_pair(hass, sync, name="Plex to Jellyfin", **history_pair(plex_entry, jellyfin_entry))

    # Heat was played on both already (Jellyfin's copy, without ids, matched by title and year).
    assert jellyfin.played() == expected_on_jellyfin()
    assert jellyfin.plays_sent() == PLAYS - 1
    assert state(hass, "sensor.plex_to_jellyfin_last_result") == "success"
    assert state(hass, "sensor.plex_to_jellyfin_planned_adds") == str(PLAYS - 1)
    assert state(hass, "sensor.plex_to_jellyfin_unresolved_items") == "0"
    event = attributes(hass, "event.plex_to_jellyfin_run")
    assert event["event_type"] == "completed"
    assert event["features"]["history"]["applied"] == PLAYS - 1
    # Each id-less Jellyfin item written to now stands for Plex's ids.
    runtime: Any = sync.runtime_data
    (subentry_id,) = sync.subentries
    scope = Scope(subentry_id, Feature.HISTORY, PairSide.B.value)
    shadows = await hass.async_add_executor_job(runtime.store.shadows, scope)
    assert {jellyfin.name(s.local_token.removeprefix("jellyfin:")) for s in shadows} == SHADOWED

    # The id-less items written to are recognised from now on: nothing is added again.
    for _ in range(2):
        await press(hass, "button.plex_to_jellyfin_sync_now")
        assert state(hass, "sensor.plex_to_jellyfin_last_result") == "success"
        assert state(hass, "sensor.plex_to_jellyfin_planned_adds") == "0"
        assert state(hass, "sensor.plex_to_jellyfin_phantom_writes") == "0"
        assert attributes(hass, "event.plex_to_jellyfin_run")["features"]["history"] == {
            "planned": 0,
            "applied": 0,
            "held": 0,
            "unresolved": 0,
            "rejected": 0,
            "phantoms": 0,
            "errors": 0,
        }
    assert jellyfin.played() == expected_on_jellyfin()
    assert jellyfin.plays_sent() == PLAYS - 1
    assert plex.sim.writes == []
