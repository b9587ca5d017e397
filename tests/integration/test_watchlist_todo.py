"""The watchlist as a to-do list, through the real clients against the simulators."""

from typing import Any
from unittest.mock import patch

from homeassistant.components.todo.const import (
    DATA_COMPONENT as TODO_DATA_COMPONENT,
    DOMAIN as TODO_DOMAIN,
)
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import intent
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.crosswatch.const import DOMAIN
from custom_components.crosswatch.engine.payloads import Feature
from custom_components.crosswatch.engine.provider import ProviderError
from tests.simulators import anilist as anilist_sim, simkl as simkl_sim, trakt as trakt_sim
from tests.simulators.serving import Serve

from .helpers import add_pair, anilist_entry, set_up_accounts, state, sync_entry

TRAKT_LIST = "todo.trakt_alice_watchlist"
SIMKL_LIST = "todo.simkl_andrew_watchlist"
MATRIX = ("movie", 1)
DUNE_1984 = ("movie", 3)
DUNE_2021 = ("movie", 4)


@pytest.fixture
async def lists(
    hass: HomeAssistant,
    serve: Serve,
    trakt: trakt_sim.TraktSim,
    simkl: simkl_sim.SimklState,
) -> tuple[MockConfigEntry, MockConfigEntry]:
    """Trakt (the Matrix listed) and SIMKL (Heat listed), both knowing both Dunes."""
    trakt.add_movie(3, "Dune", 1984, imdb="tt0087182", tmdb=841, slug="dune-1984")
    trakt.add_movie(4, "Dune", 2021, imdb="tt1160419", tmdb=438631, slug="dune-2021")
    trakt.add_movie(5, "Dune: Part Two", 2024, imdb="tt15239678", tmdb=693134, slug="dune-2")
    trakt.seed_watchlist(*MATRIX)
    simkl.add_title("movies", 100, "The Matrix", 1999, imdb="tt0133093", tmdb="603")
    simkl.add_title("movies", 102, "Heat", 1995, imdb="tt0113277", tmdb="949")
    simkl.add_title("movies", 104, "Dune", 2021, imdb="tt1160419", tmdb="438631")
    simkl.user_lists(102, "plantowatch")
    accounts = await set_up_accounts(hass, serve, trakt, simkl)
    await hass.async_block_till_done(wait_background_tasks=True)
    return accounts


async def items(hass: HomeAssistant, entity_id: str) -> list[dict[str, Any]]:
    """The list's items, as Home Assistant's todo.get_items answers."""
    response: Any = await hass.services.async_call(
        TODO_DOMAIN,
        "get_items",
        {"entity_id": entity_id},
        blocking=True,
        return_response=True,
    )
    return list(response[entity_id]["items"])


async def add(hass: HomeAssistant, entity_id: str, text: str) -> None:
    await hass.services.async_call(
        TODO_DOMAIN, "add_item", {"entity_id": entity_id, "item": text}, blocking=True
    )


def trakt_listed(trakt: trakt_sim.TraktSim) -> set[tuple[str, int]]:
    return {row["ref"] for row in trakt.watchlist}


async def test_each_account_shows_its_watchlist_with_title_year_and_a_link(
    hass: HomeAssistant, lists: tuple[MockConfigEntry, MockConfigEntry]
) -> None:
    assert state(hass, TRAKT_LIST) == "1"
    assert await items(hass, TRAKT_LIST) == [
        {
            "summary": "The Matrix (1999)",
            "uid": "imdb:tt0133093",
            "status": "needs_action",
            "description": "https://trakt.tv/movies/the-matrix-1999",
        }
    ]
    (heat,) = await items(hass, SIMKL_LIST)
    assert heat["summary"] == "Heat (1995)"
    assert heat["description"] == "https://simkl.com/movies/102"


async def test_adding_a_title_with_one_match_lists_it_on_the_service(
    hass: HomeAssistant,
    lists: tuple[MockConfigEntry, MockConfigEntry],
    trakt: trakt_sim.TraktSim,
) -> None:
    await add(hass, TRAKT_LIST, "heat")

    assert trakt_listed(trakt) == {MATRIX, ("movie", 2)}
    assert [item["summary"] for item in await items(hass, TRAKT_LIST)] == [
        "Heat (1995)",
        "The Matrix (1999)",
    ]


async def test_of_several_matches_the_exact_title_wins_in_the_services_order(
    hass: HomeAssistant,
    lists: tuple[MockConfigEntry, MockConfigEntry],
    trakt: trakt_sim.TraktSim,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Three titles hold "dune"; two are exactly "Dune", and Trakt ranks the 1984 film first.
    await add(hass, TRAKT_LIST, "Dune")

    assert trakt_listed(trakt) == {MATRIX, DUNE_1984}
    assert "'Dune' found Dune (1984) (of 3 titles)" in caplog.text


@pytest.mark.parametrize("text", ["Dune 2021", "Dune (2021)", "dune, 2021"])
async def test_a_year_in_the_text_narrows_the_matches(
    hass: HomeAssistant,
    lists: tuple[MockConfigEntry, MockConfigEntry],
    trakt: trakt_sim.TraktSim,
    text: str,
) -> None:
    await add(hass, TRAKT_LIST, text)

    assert trakt_listed(trakt) == {MATRIX, DUNE_2021}
    assert "Dune (2021)" in [item["summary"] for item in await items(hass, TRAKT_LIST)]


async def test_a_title_with_an_operator_character_is_searched_as_text(
    hass: HomeAssistant,
    lists: tuple[MockConfigEntry, MockConfigEntry],
    trakt: trakt_sim.TraktSim,
) -> None:
    await add(hass, TRAKT_LIST, "Dune: Part Two")

    assert trakt_listed(trakt) == {MATRIX, ("movie", 5)}


@pytest.mark.parametrize("text", ["Xyzzy", "Dune 1999"])
async def test_a_title_nothing_matches_is_a_translated_error_and_changes_nothing(
    hass: HomeAssistant,
    lists: tuple[MockConfigEntry, MockConfigEntry],
    trakt: trakt_sim.TraktSim,
    text: str,
) -> None:
    with pytest.raises(HomeAssistantError) as raised:
        await add(hass, TRAKT_LIST, text)

    assert raised.value.translation_key == "watchlist_no_match"
    assert str(raised.value) == f"No title on Trakt matches '{text}'"
    assert trakt_listed(trakt) == {MATRIX}


async def test_completing_an_item_records_a_play_and_takes_it_off_the_watchlist(
    hass: HomeAssistant,
    lists: tuple[MockConfigEntry, MockConfigEntry],
    trakt: trakt_sim.TraktSim,
) -> None:
    await hass.services.async_call(
        TODO_DOMAIN,
        "update_item",
        {"entity_id": TRAKT_LIST, "item": "The Matrix (1999)", "status": "completed"},
        blocking=True,
    )

    assert [play["ref"] for play in trakt.history] == [MATRIX]
    assert trakt_listed(trakt) == set()
    assert await items(hass, TRAKT_LIST) == []


async def test_completing_on_simkl_marks_it_watched_and_off_the_watchlist(
    hass: HomeAssistant,
    lists: tuple[MockConfigEntry, MockConfigEntry],
    simkl: simkl_sim.SimklState,
) -> None:
    await hass.services.async_call(
        TODO_DOMAIN,
        "update_item",
        {"entity_id": SIMKL_LIST, "item": "Heat (1995)", "status": "completed"},
        blocking=True,
    )

    assert simkl.lists[102].status == "completed"
    assert await items(hass, SIMKL_LIST) == []


async def test_deleting_an_item_takes_it_off_the_watchlist(
    hass: HomeAssistant,
    lists: tuple[MockConfigEntry, MockConfigEntry],
    trakt: trakt_sim.TraktSim,
) -> None:
    await hass.services.async_call(
        TODO_DOMAIN,
        "remove_item",
        {"entity_id": TRAKT_LIST, "item": ["The Matrix (1999)"]},
        blocking=True,
    )

    assert trakt_listed(trakt) == set()
    assert trakt.history == []
    assert state(hass, TRAKT_LIST) == "0"


async def test_renaming_an_item_is_refused_and_changes_nothing(
    hass: HomeAssistant,
    lists: tuple[MockConfigEntry, MockConfigEntry],
    trakt: trakt_sim.TraktSim,
) -> None:
    with pytest.raises(HomeAssistantError) as raised:
        await hass.services.async_call(
            TODO_DOMAIN,
            "update_item",
            {"entity_id": TRAKT_LIST, "item": "The Matrix (1999)", "rename": "Heat"},
            blocking=True,
        )

    assert raised.value.translation_key == "watchlist_rename"
    assert trakt_listed(trakt) == {MATRIX}


async def test_a_write_the_service_refuses_is_a_translated_error_and_nothing_is_lost(
    hass: HomeAssistant,
    lists: tuple[MockConfigEntry, MockConfigEntry],
    trakt: trakt_sim.TraktSim,
) -> None:
    trakt.quirks.rate_limit_writes = 10
    trakt.quirks.retry_after = 3600

    with pytest.raises(HomeAssistantError) as raised:
        await hass.services.async_call(
            TODO_DOMAIN,
            "remove_item",
            {"entity_id": TRAKT_LIST, "item": ["The Matrix (1999)"]},
            blocking=True,
        )

    assert raised.value.translation_key == "account_write_failed"
    assert "Trakt (alice) could not change your watchlist" in str(raised.value)
    assert trakt_listed(trakt) == {MATRIX}
    assert [item["summary"] for item in await items(hass, TRAKT_LIST)] == ["The Matrix (1999)"]


async def test_a_write_no_answer_or_read_confirms_is_an_error_not_a_success(
    hass: HomeAssistant,
    lists: tuple[MockConfigEntry, MockConfigEntry],
    trakt: trakt_sim.TraktSim,
) -> None:
    trakt.quirks.count_only_replies = True  # nothing said item by item
    trakt.quirks.visible_after_reads = 5  # and the list lags behind the write

    with pytest.raises(HomeAssistantError) as raised:
        await add(hass, TRAKT_LIST, "Heat")

    assert raised.value.translation_key == "watchlist_unconfirmed"


async def test_a_write_without_an_answer_that_a_fresh_read_shows_is_done(
    hass: HomeAssistant,
    lists: tuple[MockConfigEntry, MockConfigEntry],
    trakt: trakt_sim.TraktSim,
) -> None:
    trakt.quirks.count_only_replies = True

    await add(hass, TRAKT_LIST, "Heat")

    assert trakt_listed(trakt) == {MATRIX, ("movie", 2)}


async def test_an_unreadable_watchlist_makes_the_list_unavailable(
    hass: HomeAssistant,
    lists: tuple[MockConfigEntry, MockConfigEntry],
    trakt: trakt_sim.TraktSim,
) -> None:
    assert await async_setup_component(hass, "homeassistant", {})
    trakt.quirks.locked = True

    await hass.services.async_call(
        "homeassistant", "update_entity", {"entity_id": TRAKT_LIST}, blocking=True
    )

    assert state(hass, TRAKT_LIST) == "unavailable"


async def test_a_to_do_add_reaches_the_other_side_once_and_is_never_undone(
    hass: HomeAssistant,
    lists: tuple[MockConfigEntry, MockConfigEntry],
    trakt: trakt_sim.TraktSim,
    simkl: simkl_sim.SimklState,
) -> None:
    sync = sync_entry()
    sync.add_to_hass(hass)
    assert await hass.config_entries.async_setup(sync.entry_id)
    await add_pair(hass, sync, source="trakt:alice", target="simkl:51")
    assert simkl.lists.keys() == {100, 102}

    await add(hass, TRAKT_LIST, "Dune 2021")
    await hass.services.async_call(DOMAIN, "sync", {}, blocking=True)
    await hass.async_block_till_done(wait_background_tasks=True)

    assert simkl.lists[104].status == "plantowatch"
    assert trakt_listed(trakt) == {MATRIX, ("movie", 2), DUNE_2021}
    assert state(hass, "sensor.movies_last_result") == "success"
    assert "Dune (2021)" in [item["summary"] for item in await items(hass, SIMKL_LIST)]

    await hass.services.async_call(DOMAIN, "sync", {}, blocking=True)

    assert state(hass, "sensor.movies_planned_adds") == "0"
    assert state(hass, "sensor.movies_planned_removals") == "0"
    assert trakt_listed(trakt) == {MATRIX, ("movie", 2), DUNE_2021}
    assert set(simkl.lists) == {100, 102, 104}


async def test_a_to_do_removal_reaches_the_other_side_and_is_never_re_added(
    hass: HomeAssistant,
    lists: tuple[MockConfigEntry, MockConfigEntry],
    trakt: trakt_sim.TraktSim,
    simkl: simkl_sim.SimklState,
) -> None:
    sync = sync_entry()
    sync.add_to_hass(hass)
    assert await hass.config_entries.async_setup(sync.entry_id)
    await add_pair(hass, sync, source="trakt:alice", target="simkl:51")
    assert trakt_listed(trakt) == {MATRIX, ("movie", 2)}
    # A run reads back the copy of Heat the first run made on Trakt: the pair knows it landed.
    await hass.services.async_call(DOMAIN, "sync", {}, blocking=True)
    await hass.async_block_till_done(wait_background_tasks=True)

    await hass.services.async_call(
        TODO_DOMAIN,
        "remove_item",
        {"entity_id": TRAKT_LIST, "item": ["Heat (1995)"]},
        blocking=True,
    )
    # The engine believes a loss on a later run's fresh read: the first run only waits.
    await hass.services.async_call(DOMAIN, "sync", {}, blocking=True)
    assert set(simkl.lists) == {100, 102}
    assert trakt_listed(trakt) == {MATRIX}
    await hass.services.async_call(DOMAIN, "sync", {}, blocking=True)
    await hass.async_block_till_done(wait_background_tasks=True)

    assert set(simkl.lists) == {100}
    assert trakt_listed(trakt) == {MATRIX}
    assert state(hass, "sensor.movies_held_operations") == "0"
    assert state(hass, "sensor.movies_phantom_writes") == "0"
    assert [item["summary"] for item in await items(hass, SIMKL_LIST)] == ["The Matrix (1999)"]

    await hass.services.async_call(DOMAIN, "sync", {}, blocking=True)

    assert state(hass, "sensor.movies_planned_adds") == "0"
    assert state(hass, "sensor.movies_planned_removals") == "0"
    assert (trakt_listed(trakt), set(simkl.lists)) == ({MATRIX}, {100})


async def test_a_to_do_removal_of_a_copy_no_run_read_back_yet_is_never_re_added(
    hass: HomeAssistant,
    lists: tuple[MockConfigEntry, MockConfigEntry],
    trakt: trakt_sim.TraktSim,
    simkl: simkl_sim.SimklState,
) -> None:
    # The engine's rule, as for an edit in Trakt's own app in the same window: a copy taken
    # off before any run read it back is indistinguishable from a write that never showed. It
    # ends as a phantom (reported) and is never written again; SIMKL keeps its own listing.
    sync = sync_entry()
    sync.add_to_hass(hass)
    assert await hass.config_entries.async_setup(sync.entry_id)
    await add_pair(hass, sync, source="trakt:alice", target="simkl:51")
    await hass.async_block_till_done(wait_background_tasks=True)

    await hass.services.async_call(
        TODO_DOMAIN,
        "remove_item",
        {"entity_id": TRAKT_LIST, "item": ["Heat (1995)"]},
        blocking=True,
    )
    for _ in range(3):
        await hass.services.async_call(DOMAIN, "sync", {}, blocking=True)

    assert trakt_listed(trakt) == {MATRIX}
    assert set(simkl.lists) == {100, 102}
    assert state(hass, "sensor.movies_phantom_writes") == "1"


async def test_assist_adds_completes_and_reads_the_watchlist_by_its_name(
    hass: HomeAssistant,
    lists: tuple[MockConfigEntry, MockConfigEntry],
    trakt: trakt_sim.TraktSim,
) -> None:
    assert await async_setup_component(hass, "intent", {})
    await hass.async_block_till_done()
    name = "Trakt (alice) Watchlist"

    response = await intent.async_handle(
        hass, "test", "HassListAddItem", {"item": {"value": "dune 2021"}, "name": {"value": name}}
    )
    assert response.response_type is intent.IntentResponseType.ACTION_DONE
    assert trakt_listed(trakt) == {MATRIX, DUNE_2021}

    await intent.async_handle(
        hass,
        "test",
        "HassListCompleteItem",
        {"item": {"value": "The Matrix (1999)"}, "name": {"value": name}},
    )
    assert [play["ref"] for play in trakt.history] == [MATRIX]

    assert [item["summary"] for item in await items(hass, TRAKT_LIST)] == ["Dune (2021)"]


async def test_simkl_adds_the_exact_title_though_its_search_ranks_a_sequel_first(
    hass: HomeAssistant,
    lists: tuple[MockConfigEntry, MockConfigEntry],
    simkl: simkl_sim.SimklState,
) -> None:
    simkl.add_title("movies", 471618, "John Wick: Chapter 2", 2017, tmdb="324552").searched = 90
    simkl.add_title("movies", 342994, "John Wick", 2014, tmdb="245891").searched = 40
    simkl.add_title("shows", 900, "John Wick Stories", 2020).searched = 99

    await add(hass, SIMKL_LIST, "john wick")

    assert simkl.lists[342994].status == "plantowatch"
    assert 471618 not in simkl.lists
    assert "John Wick (2014)" in [item["summary"] for item in await items(hass, SIMKL_LIST)]


async def test_simkl_takes_its_most_searched_title_when_none_is_exact(
    hass: HomeAssistant,
    lists: tuple[MockConfigEntry, MockConfigEntry],
    simkl: simkl_sim.SimklState,
) -> None:
    simkl.add_title("movies", 471618, "John Wick: Chapter 2", 2017, tmdb="324552").searched = 90
    simkl.add_title("movies", 687232, "John Wick: Chapter 3", 2019).searched = 95

    await add(hass, SIMKL_LIST, "wick chapter")

    assert simkl.lists[687232].status == "plantowatch"
    assert (await items(hass, SIMKL_LIST))[0]["description"] == "https://simkl.com/movies/687232"


async def test_simkl_search_unmatched_names_simkl(
    hass: HomeAssistant, lists: tuple[MockConfigEntry, MockConfigEntry]
) -> None:
    with pytest.raises(HomeAssistantError, match="No title on SIMKL matches 'Xyzzy'"):
        await add(hass, SIMKL_LIST, "Xyzzy")


async def test_anilist_adds_its_best_match_and_completing_marks_it_watched(
    hass: HomeAssistant, serve: Serve
) -> None:
    anilist = anilist_sim.AniListState()
    anilist.add_user(5150, "Yuki", "aa.bb.cc", score_format="POINT_100")
    anilist.add_media(1, "Cowboy Bebop", year=1998, episodes=26, id_mal=1, popularity=300)
    anilist.add_media(5, "Cowboy Bebop: Tengoku no Tobira", year=2001, format="MOVIE",
                      id_mal=5, popularity=900)  # fmt: skip
    anilist.add_media(9253, "Steins;Gate", year=2011, episodes=24, id_mal=9253)
    entry = anilist_entry(await serve(anilist_sim.build_app(anilist)))
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    anilist_list = "todo.anilist_yuki_watchlist"
    assert state(hass, anilist_list) == "0"

    await add(hass, anilist_list, "cowboy bebop")

    (listed,) = await items(hass, anilist_list)
    assert listed["summary"] == "Cowboy Bebop (1998)"
    assert listed["description"] == "https://anilist.co/anime/1"
    assert anilist.entry_for(5150, 1) is not None
    assert anilist.entry_for(5150, 1).status == "PLANNING"  # type: ignore[union-attr]

    await hass.services.async_call(
        TODO_DOMAIN,
        "update_item",
        {"entity_id": anilist_list, "item": "Cowboy Bebop (1998)", "status": "completed"},
        blocking=True,
    )

    assert anilist.entry_for(5150, 1).status == "COMPLETED"  # type: ignore[union-attr]
    assert await items(hass, anilist_list) == []
    with pytest.raises(HomeAssistantError, match="No title on AniList matches 'Xyzzy'"):
        await add(hass, anilist_list, "Xyzzy")


async def test_a_refused_sign_in_makes_the_list_unavailable_and_asks_to_sign_in_again(
    hass: HomeAssistant,
    lists: tuple[MockConfigEntry, MockConfigEntry],
    trakt: trakt_sim.TraktSim,
) -> None:
    assert await async_setup_component(hass, "homeassistant", {})
    trakt.access_tokens.clear()
    trakt.refresh_tokens.clear()

    await hass.services.async_call(
        "homeassistant", "update_entity", {"entity_id": TRAKT_LIST}, blocking=True
    )

    assert state(hass, TRAKT_LIST) == "unavailable"
    flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert [flow["context"]["source"] for flow in flows] == ["reauth"]


async def test_a_watchlist_read_in_part_still_lists_what_it_read(
    hass: HomeAssistant,
    lists: tuple[MockConfigEntry, MockConfigEntry],
    trakt: trakt_sim.TraktSim,
    caplog: pytest.LogCaptureFixture,
) -> None:
    assert await async_setup_component(hass, "homeassistant", {})
    trakt.seed_watchlist("movie", 2)
    trakt.quirks.truncate_page = 1
    caplog.set_level("DEBUG", "custom_components.crosswatch")

    await hass.services.async_call(
        "homeassistant", "update_entity", {"entity_id": TRAKT_LIST}, blocking=True
    )

    assert "the watchlist was read in part" in caplog.text
    assert state(hass, TRAKT_LIST) == "1"


async def test_an_item_the_service_dropped_meanwhile_is_a_translated_error(
    hass: HomeAssistant, lists: tuple[MockConfigEntry, MockConfigEntry]
) -> None:
    entity = hass.data[TODO_DATA_COMPONENT].get_entity(TRAKT_LIST)
    assert entity is not None

    with pytest.raises(HomeAssistantError) as raised:
        await entity.async_delete_todo_items(["imdb:tt0113277"])

    assert raised.value.translation_key == "watchlist_item_gone"


async def test_reopening_an_open_item_changes_nothing(
    hass: HomeAssistant,
    lists: tuple[MockConfigEntry, MockConfigEntry],
    trakt: trakt_sim.TraktSim,
) -> None:
    await hass.services.async_call(
        TODO_DOMAIN,
        "update_item",
        {"entity_id": TRAKT_LIST, "item": "The Matrix (1999)", "status": "needs_action"},
        blocking=True,
    )

    assert trakt_listed(trakt) == {MATRIX}
    assert trakt.history == []


async def test_a_removal_without_an_answer_that_a_fresh_read_confirms_is_done(
    hass: HomeAssistant,
    lists: tuple[MockConfigEntry, MockConfigEntry],
    trakt: trakt_sim.TraktSim,
) -> None:
    trakt.quirks.count_only_replies = True

    await hass.services.async_call(
        TODO_DOMAIN,
        "remove_item",
        {"entity_id": TRAKT_LIST, "item": ["The Matrix (1999)"]},
        blocking=True,
    )

    assert trakt_listed(trakt) == set()
    assert await items(hass, TRAKT_LIST) == []


async def test_a_to_do_add_reaches_the_other_side_at_the_very_next_run(
    hass: HomeAssistant,
    lists: tuple[MockConfigEntry, MockConfigEntry],
    trakt: trakt_sim.TraktSim,
    simkl: simkl_sim.SimklState,
) -> None:
    # The first run writes nothing to Trakt, so the read of Trakt it shares with other pairs
    # (for five minutes) would still lack the edit: the edit makes the next run read afresh.
    simkl.user_removes(102)
    simkl.user_lists(100, "plantowatch")
    sync = sync_entry()
    sync.add_to_hass(hass)
    assert await hass.config_entries.async_setup(sync.entry_id)
    await add_pair(hass, sync, source="trakt:alice", target="simkl:51")
    await hass.async_block_till_done(wait_background_tasks=True)
    assert state(hass, "sensor.movies_planned_adds") == "0"

    await add(hass, TRAKT_LIST, "Dune (2021)")
    (pair,) = sync.runtime_data.coordinators.values()
    await pair.async_refresh()  # a scheduled run: it reads through the shared reads

    assert simkl.lists[104].status == "plantowatch"


async def test_an_ai_agent_reads_the_watchlist_by_its_name(
    hass: HomeAssistant, lists: tuple[MockConfigEntry, MockConfigEntry]
) -> None:
    # "What's on my watchlist?": Home Assistant's LLM tool for reading a to-do list (since 2026.4).
    todo_llm = pytest.importorskip("homeassistant.components.todo.llm")
    from homeassistant.helpers import llm  # noqa: PLC0415 - with the tool above

    assert await async_setup_component(hass, "homeassistant", {})  # which entities are exposed

    tool = todo_llm.TodoGetItemsTool(["Trakt (alice) Watchlist"])
    result = await tool.async_call(
        hass,
        llm.ToolInput("todo__get_items", {"todo_list": "Trakt (alice) Watchlist"}),
        llm.LLMContext("test", None, "en", "conversation", None),
    )

    assert [item["summary"] for item in result.data["items"]] == ["The Matrix (1999)"]


async def test_a_play_the_list_cannot_read_back_is_never_followed_by_a_removal(
    hass: HomeAssistant,
    lists: tuple[MockConfigEntry, MockConfigEntry],
    simkl: simkl_sim.SimklState,
) -> None:
    # On SIMKL a watchlist removal takes a title off every list: sent after a play that no
    # read confirmed moved the title on, it would take the play away again.
    provider = lists[1].runtime_data.provider

    async def unreadable(feature: Feature, checkpoint: object) -> object:
        raise ProviderError("SIMKL is in maintenance")

    with (
        patch.object(provider, "read", unreadable),
        pytest.raises(HomeAssistantError) as raised,
    ):
        await hass.services.async_call(
            TODO_DOMAIN,
            "update_item",
            {"entity_id": SIMKL_LIST, "item": "Heat (1995)", "status": "completed"},
            blocking=True,
        )

    assert raised.value.translation_key == "watchlist_not_read"
    assert simkl.lists[102].status == "completed"  # the play stays
