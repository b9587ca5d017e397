"""CrossWatch in a real Home Assistant process, driven only through its HTTP and websocket API.

Onboarding, two accounts (Trakt and SIMKL by device code, each approved while the flow's
progress step polls), the sync entry and a two-way watchlist pair, all through the config flow
API as the frontend drives it; then the sync action over REST, the entities' states and what
the simulators hold. A film added by title to Trakt's watchlist to-do list (`todo.add_item`)
reaches Trakt, and the pair's next run puts it on SIMKL's. Then Home Assistant restarts on the
same config directory: everything loads again, and a second sync plans nothing.
"""

import asyncio
import time
from typing import Any

import pytest

from tests.realhass.api import ApiError, HassClient
from tests.realhass.process import HassProcess
from tests.simulators import simkl as simkl_sim, trakt as trakt_sim
from tests.simulators.serving import Serve

pytestmark = pytest.mark.timeout(300)

DOMAIN = "crosswatch"
USER, PASSWORD = "e2e", "e2e-password"
MATRIX, HEAT, DARK, DUNE = ("movie", 1), ("movie", 2), ("show", 10), ("movie", 3)
TRAKT_LIST = "todo.trakt_alice_watchlist"
PAIR_ENTITIES = {
    "last_result",
    "last_run",
    "planned_adds",
    "planned_removes",
    "held",
    "running",
    "needs_attention",
    "run",
}
GUARDS = {
    "delete_budget_floor": 5,
    "delete_budget_percent": 2,
    "drop_guard_percent": 10,
    "tombstone_ttl_days": 30,
}


def seed(trakt: trakt_sim.TraktSim, simkl: simkl_sim.SimklState) -> None:
    """The Matrix on Trakt's watchlist, Heat on SIMKL's; Dark and Dune known to both, unlisted."""
    trakt.add_movie(3, "Dune", 2021, imdb="tt1160419", tmdb=438631, slug="dune-2021")
    simkl.add_title("movies", 104, "Dune", 2021, imdb="tt1160419", tmdb="438631")
    simkl.add_title("movies", 100, "The Matrix", 1999, imdb="tt0133093", tmdb="603")
    simkl.add_title("movies", 102, "Heat", 1995, imdb="tt0113277", tmdb="949")
    simkl.add_title(
        "shows", 200, "Dark", 2017, episodes=2, imdb="tt5753856", tvdb="334824", tmdb="70523"
    )
    trakt.seed_watchlist(*MATRIX)
    simkl.user_lists(102, "plantowatch")


def trakt_refs(trakt: trakt_sim.TraktSim) -> set[Any]:
    return {row["ref"] for row in trakt.watchlist}


def simkl_planned(simkl: simkl_sim.SimklState) -> set[int]:
    return {sid for sid, listing in simkl.lists.items() if listing.status == "plantowatch"}


async def add_trakt(client: HassClient, url: str, trakt: trakt_sim.TraktSim) -> str:
    flow = await client.config_flow(DOMAIN)
    await flow.choose("trakt")
    flow.expect("form", "trakt")
    await flow.submit(
        {
            "client_id": trakt_sim.CLIENT_ID,
            "client_secret": trakt_sim.CLIENT_SECRET,
            "advanced": {"base_url": url},
        }
    )
    flow.expect("form", "trakt_code")
    code = flow.placeholders["code"]
    await flow.submit()  # "I have entered the code": the flow waits for the background poll
    flow.expect("progress", "trakt_wait")
    await asyncio.sleep(1.5)  # let it poll (and be told "pending") at least once
    trakt.approve(code)
    await flow.wait()
    flow.expect("create_entry")
    assert flow.result["title"] == "Trakt (alice)"
    return str(flow.result["result"]["entry_id"])


async def add_simkl(client: HassClient, url: str, simkl: simkl_sim.SimklState) -> str:
    flow = await client.config_flow(DOMAIN)
    await flow.choose("simkl")
    await flow.submit({"client_id": simkl_sim.V2_CLIENT_ID, "advanced": {"base_url": url}})
    flow.expect("form", "simkl_code")
    code = flow.placeholders["code"]
    await flow.submit()
    flow.expect("progress", "simkl_wait")
    await asyncio.sleep(1.5)
    simkl.approve_device(code)
    await flow.wait()
    flow.expect("create_entry")
    assert flow.result["title"] == "SIMKL (Andrew Masyk)"
    return str(flow.result["result"]["entry_id"])


async def add_sync_entry(client: HassClient) -> str:
    flow = await client.config_flow(DOMAIN)
    assert "sync" in flow.result["menu_options"]
    await flow.choose("sync")
    flow.expect("form", "sync")
    await flow.submit()
    flow.expect("create_entry")
    return str(flow.result["result"]["entry_id"])


async def add_pair(client: HassClient, sync_entry_id: str) -> None:
    flow = await client.subentry_flow(sync_entry_id, "pair")
    flow.expect("form", "user")
    options = next(f for f in flow.result["data_schema"] if f["name"] == "source")
    assert {o["value"] for o in options["selector"]["select"]["options"]} == {
        "trakt:alice",
        "simkl:51",
    }
    await flow.submit(
        {
            "name": "Movies",
            "source": "trakt:alice",
            "target": "simkl:51",
            "features": ["watchlist"],
            "mode": "two_way",
            "interval_minutes": 60,
            "dry_run": False,
            "guards": GUARDS,
        }
    )
    flow.expect("create_entry")


async def pair_entities(
    client: HassClient, sync_entry_id: str, within: float = 30
) -> tuple[str, dict[str, str]]:
    """The pair's device id and its entities' ids by translation key (from the registries).

    Waits for them: adding a pair reloads the sync entry, which then makes them.
    """
    deadline = time.monotonic() + within
    while True:
        devices = [d for d in await client.devices(sync_entry_id) if d["name"] == "Movies"]
        if devices:
            entities = {
                e["translation_key"]: e["entity_id"]
                for e in await client.entities(DOMAIN)
                if e["device_id"] == devices[0]["id"]
            }
            if set(entities) >= PAIR_ENTITIES:
                return devices[0]["id"], entities
        if time.monotonic() > deadline:
            raise AssertionError(f"the pair's device and entities did not appear: {devices}")
        await asyncio.sleep(0.3)


async def states(client: HassClient, entities: dict[str, str]) -> dict[str, str]:
    """The current state of each entity, by translation key."""
    return {key: (await client.state(eid))["state"] for key, eid in entities.items()}


async def wait_for_run(
    client: HassClient, entities: dict[str, str], after: str | None, within: float = 60
) -> dict[str, str]:
    """Wait until the pair has a run newer than `after` and is not running; its states."""
    deadline = time.monotonic() + within
    while True:
        try:
            current = await states(client, entities)
        except ApiError as err:
            if err.status != 404:  # the entity may not have a state yet
                raise
            current = {}
        last_run = current.get("last_run")
        if (
            last_run not in (None, "unknown", "unavailable", after)
            and current.get("running") == "off"
        ):
            return current
        if time.monotonic() > deadline:
            raise AssertionError(f"no new run after {after}: {current}")
        await asyncio.sleep(0.3)


async def test_crosswatch_in_a_real_home_assistant_survives_a_restart(
    hass: HassProcess,
    client: HassClient,
    serve: Serve,
    trakt: trakt_sim.TraktSim,
    simkl: simkl_sim.SimklState,
) -> None:
    seed(trakt, simkl)
    trakt_url = await serve(trakt_sim.make_app(trakt))
    simkl_url = await serve(simkl_sim.simkl_app(simkl))

    # A fresh Home Assistant: onboarding through the HTTP API.
    await hass.start(wait_for=None)
    assert not await client.onboarded()
    await client.onboard(name="End To End", username=USER, password=PASSWORD)
    assert await client.onboarded()
    await client.wait_running()

    # Accounts, the sync entry and a pair, through the config flow API.
    await add_trakt(client, trakt_url, trakt)
    await add_simkl(client, simkl_url, simkl)
    sync_entry_id = await add_sync_entry(client)
    await add_pair(client, sync_entry_id)
    device_id, entities = await pair_entities(client, sync_entry_id)
    await client.wait_running(entries_of=DOMAIN)
    entries = await client.config_entries(DOMAIN)
    assert {e["title"]: e["state"] for e in entries} == {
        "Trakt (alice)": "loaded",
        "SIMKL (Andrew Masyk)": "loaded",
        "CrossWatch sync": "loaded",
    }

    # The new pair runs at once: each side gets the other's movie.
    first = await wait_for_run(client, entities, after=None)
    assert first["last_result"] == "success"
    assert first["planned_adds"] == "2"
    assert trakt_refs(trakt) == {MATRIX, HEAT}
    assert simkl_planned(simkl) == {100, 102}

    # Dark joins Trakt's watchlist; the sync action over REST carries it to SIMKL.
    trakt.seed_watchlist(*DARK)
    response = await client.call(DOMAIN, "sync", {"pair": device_id}, response=True)
    (run,) = response["runs"]
    assert run["status"] == "success", run
    assert run["features"]["watchlist"]["applied"] == 1
    assert simkl_planned(simkl) == {100, 102, 200}
    after_sync = await states(client, entities)
    assert after_sync["last_result"] == "success"
    assert after_sync["planned_adds"] == "1"
    assert after_sync["held"] == "0"
    assert after_sync["needs_attention"] == "off"
    event = await client.state(entities["run"])
    assert event["attributes"]["event_type"] == "completed"

    # A film added by title on Trakt's to-do list: Trakt lists it, and the next run gives it
    # to SIMKL.
    await client.call("todo", "add_item", {"entity_id": TRAKT_LIST, "item": "Dune"})
    assert trakt_refs(trakt) == {MATRIX, HEAT, DARK, DUNE}
    listed = await client.call("todo", "get_items", {"entity_id": TRAKT_LIST}, response=True)
    assert "Dune (2021)" in {item["summary"] for item in listed[TRAKT_LIST]["items"]}, listed
    response = await client.call(DOMAIN, "sync", {"pair": device_id}, response=True)
    (run,) = response["runs"]
    assert run["status"] == "success", run
    assert run["features"]["watchlist"]["applied"] == 1
    assert simkl_planned(simkl) == {100, 102, 104, 200}
    after_sync = await states(client, entities)

    # Restart on the same config directory: entries, devices and the store survive.
    assert await hass.stop() == 0
    writes = (len(trakt.watchlist), len(simkl.lists))
    await hass.start(wait_for=DOMAIN)
    async with HassClient(hass.url) as again:
        await again.login(USER, PASSWORD)
        await again.wait_running(entries_of=DOMAIN)
        assert {e["state"] for e in await again.config_entries(DOMAIN)} == {"loaded"}
        assert await pair_entities(again, sync_entry_id) == (device_id, entities)

        # The first run after startup, then a second sync: nothing to do either time.
        restarted = await wait_for_run(again, entities, after=after_sync["last_run"])
        assert restarted["last_result"] == "success"
        assert restarted["planned_adds"] == "0"
        plan = await again.call(DOMAIN, "get_plan", {"pair": device_id}, response=True)
        assert plan["operations"] == [], plan
        response = await again.call(DOMAIN, "sync", {"pair": device_id}, response=True)
        (run,) = response["runs"]
        assert run["status"] == "success", run
        assert run["features"]["watchlist"]["planned"] == 0
        assert run["features"]["watchlist"]["applied"] == 0
        final = await states(again, entities)
        assert (final["planned_adds"], final["planned_removes"]) == ("0", "0")
    assert (len(trakt.watchlist), len(simkl.lists)) == writes
    assert trakt_refs(trakt) == {MATRIX, HEAT, DARK, DUNE}

    errors = [line for line in hass.log_errors() if DOMAIN in line]
    assert not errors, "\n".join(errors)
