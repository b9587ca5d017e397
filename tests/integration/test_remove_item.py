"""`crosswatch.remove_item`: fix one entry by removing it from one service.

The story: a title sits on one account's list by mistake (a watchlist entry, the plays of a film
the user never saw, a rating). The user names it once; CrossWatch finds it in a fresh read,
removes exactly that entry, and answers only when the service confirmed it or a fresh read no
longer shows it. The pairs then see the user's own deletion, never a gap to fill again.
"""

from datetime import UTC, datetime
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import device_registry as dr
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.crosswatch.const import DOMAIN
from tests.providers.conftest import Serve
from tests.simulators import anilist as anilist_sim, simkl as simkl_sim, trakt as trakt_sim

from .helpers import (
    YUKI,
    YUKI_TOKEN,
    add_pair,
    anilist_entry,
    one_film_each,
    pair_device,
    set_up_accounts,
    sync_entry,
)

HEAT_ON_SIMKL = 102
MATRIX_ON_SIMKL = 100
MATRIX_ON_TRAKT = ("movie", 1)
HEAT_ON_TRAKT = ("movie", 2)


@pytest.fixture
async def accounts(
    hass: HomeAssistant, serve: Serve, trakt: trakt_sim.TraktSim, simkl: simkl_sim.SimklState
) -> None:
    """Trakt lists the Matrix, SIMKL lists Heat; both know both films."""
    one_film_each(trakt, simkl)
    simkl.add_title("movies", MATRIX_ON_SIMKL, "The Matrix", 1999, imdb="tt0133093", tmdb="603")
    await set_up_accounts(hass, serve, trakt, simkl)


def account_device(hass: HomeAssistant, unique_id: str) -> str:
    entry = hass.config_entries.async_entry_for_domain_unique_id(DOMAIN, unique_id)
    assert entry is not None
    (device,) = dr.async_entries_for_config_entry(dr.async_get(hass), entry.entry_id)
    return device.id


async def remove(hass: HomeAssistant, account: str, feature: str, item: str) -> Any:
    return await hass.services.async_call(
        DOMAIN,
        "remove_item",
        {"account": account_device(hass, account), "feature": feature, "item": item},
        blocking=True,
        return_response=True,
    )


def simkl_watchlist(simkl: simkl_sim.SimklState) -> set[int]:
    return {sid for sid, listing in simkl.lists.items() if listing.status == "plantowatch"}


def trakt_watchlist(trakt: trakt_sim.TraktSim) -> set[Any]:
    return {row["ref"] for row in trakt.watchlist}


@pytest.mark.usefixtures("accounts")
async def test_a_watchlist_entry_named_by_id_leaves_simkl_as_a_fresh_read_shows(
    hass: HomeAssistant, simkl: simkl_sim.SimklState
) -> None:
    response = await remove(hass, "simkl:51", "watchlist", "imdb:tt0113277")

    # SIMKL answers a removal with counts only: a fresh read showing Heat gone is the proof.
    assert response == {"removed": "Heat (1995)", "feature": "watchlist", "outcome": "verified"}
    assert HEAT_ON_SIMKL not in simkl_watchlist(simkl)


@pytest.mark.usefixtures("accounts")
async def test_a_rating_named_by_its_title_leaves_trakt(
    hass: HomeAssistant, trakt: trakt_sim.TraktSim
) -> None:
    trakt.seed_rating("movie", 1, 9, datetime(2026, 11, 1, tzinfo=UTC))
    trakt.seed_rating("movie", 2, 7, datetime(2026, 11, 2, tzinfo=UTC))

    response = await remove(hass, "trakt:alice", "ratings", "the matrix (1999)")

    assert response == {
        "removed": "The Matrix (1999)",
        "feature": "ratings",
        "outcome": "confirmed",
    }
    assert set(trakt.ratings) == {HEAT_ON_TRAKT}  # only the one named
    assert MATRIX_ON_TRAKT in trakt_watchlist(trakt)  # and only from the ratings


@pytest.mark.usefixtures("accounts")
async def test_an_entry_the_account_does_not_hold_is_refused_and_nothing_changes(
    hass: HomeAssistant, simkl: simkl_sim.SimklState
) -> None:
    with pytest.raises(ServiceValidationError) as raised:
        await remove(hass, "simkl:51", "watchlist", "The Matrix (1999)")

    assert raised.value.translation_key == "remove_item_not_found"
    assert raised.value.translation_placeholders == {
        "account": "SIMKL (Andrew)",
        "feature": "watchlist",
        "item": "The Matrix (1999)",
    }
    assert simkl_watchlist(simkl) == {HEAT_ON_SIMKL}


@pytest.mark.usefixtures("accounts")
async def test_an_id_two_entries_share_is_refused_naming_both(
    hass: HomeAssistant, trakt: trakt_sim.TraktSim
) -> None:
    # TMDB numbers films and shows apart: tmdb:603 is the Matrix and also this show.
    trakt.add_show(11, "Matrix Stories", 2003, tmdb=603, slug="matrix-stories")
    trakt.seed_watchlist("show", 11)

    with pytest.raises(ServiceValidationError) as raised:
        await remove(hass, "trakt:alice", "watchlist", "tmdb:603")

    assert raised.value.translation_key == "remove_item_ambiguous"
    candidates = (raised.value.translation_placeholders or {})["candidates"]
    assert "Matrix Stories (2003) [" in candidates
    assert "The Matrix (1999) [" in candidates
    assert "imdb:tt0133093" in candidates
    assert trakt_watchlist(trakt) == {MATRIX_ON_TRAKT, ("show", 11)}


@pytest.mark.usefixtures("accounts")
async def test_a_removal_neither_confirmed_nor_seen_is_never_taken_for_done(
    hass: HomeAssistant, simkl: simkl_sim.SimklState
) -> None:
    simkl.quirks.visible_after_reads = 10  # SIMKL answers with counts, and stores it late

    with pytest.raises(HomeAssistantError) as raised:
        await remove(hass, "simkl:51", "watchlist", "Heat (1995)")

    assert raised.value.translation_key == "remove_item_unconfirmed"
    assert raised.value.translation_placeholders == {
        "account": "SIMKL (Andrew)",
        "feature": "watchlist",
        "title": "Heat (1995)",
        "reason": "-",
    }
    simkl.apply_delayed_writes()  # as the error says, the removal may still land
    assert simkl_watchlist(simkl) == set()


async def test_a_removal_the_service_refuses_says_why_and_changes_nothing(
    hass: HomeAssistant, serve: Serve
) -> None:
    anilist = anilist_sim.AniListState()
    anilist.add_user(YUKI, "Yuki", YUKI_TOKEN, score_format="POINT_100")
    anilist.add_media(1, "Cowboy Bebop", year=1998, episodes=26, id_mal=1)
    anilist.add_entry(YUKI, 1, "COMPLETED", progress=26, completed_at=(2026, 10, 3))
    entry = anilist_entry(await serve(anilist_sim.build_app(anilist)))
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)

    with pytest.raises(HomeAssistantError) as raised:
        await remove(hass, f"anilist:{YUKI}", "history", "anilist:1")

    # AniList can unwatch a title only by deleting its entry or planning it again.
    assert raised.value.translation_key == "remove_item_refused_anilist_keeps_history"
    assert (raised.value.translation_placeholders or {})["title"] == "Cowboy Bebop (1998)"
    kept = anilist.entry_for(YUKI, 1)
    assert kept is not None
    assert (kept.status, kept.progress) == ("COMPLETED", 26)


@pytest.mark.usefixtures("accounts")
async def test_the_item_must_be_named(hass: HomeAssistant) -> None:
    with pytest.raises(ServiceValidationError) as raised:
        await remove(hass, "simkl:51", "watchlist", "  ")

    assert raised.value.translation_key == "remove_item_not_named"


@pytest.mark.usefixtures("accounts")
async def test_a_removal_on_one_side_of_a_two_way_pair_is_carried_not_undone(
    hass: HomeAssistant, trakt: trakt_sim.TraktSim, simkl: simkl_sim.SimklState
) -> None:
    sync = sync_entry()
    sync.add_to_hass(hass)
    assert await hass.config_entries.async_setup(sync.entry_id)
    await add_pair(hass, sync, source="trakt:alice", target="simkl:51")
    assert trakt_watchlist(trakt) == {MATRIX_ON_TRAKT, HEAT_ON_TRAKT}
    assert simkl_watchlist(simkl) == {MATRIX_ON_SIMKL, HEAT_ON_SIMKL}

    await remove(hass, "simkl:51", "watchlist", "Heat (1995)")

    # The next run reads SIMKL afresh and sees the gap; the drop guard believes a shrink only
    # when the reads of two runs agree, so it neither adds Heat back nor removes it yet.
    (run,) = (await sync_now(hass, sync))["runs"]
    assert [event["code"] for event in run["events"]] == ["snapshot_suspect"]
    assert simkl_watchlist(simkl) == {MATRIX_ON_SIMKL}
    assert trakt_watchlist(trakt) == {MATRIX_ON_TRAKT, HEAT_ON_TRAKT}

    # The run after agrees: the user's deletion is carried to Trakt, never undone on SIMKL.
    (run,) = (await sync_now(hass, sync))["runs"]
    assert run["changes"]["titles"] == [
        {
            "title": "Heat (1995)",
            "action": "remove",
            "service": "Trakt (alice)",
            "feature": "watchlist",
        }
    ]
    assert simkl_watchlist(simkl) == {MATRIX_ON_SIMKL}
    assert trakt_watchlist(trakt) == {MATRIX_ON_TRAKT}


async def sync_now(hass: HomeAssistant, sync: MockConfigEntry) -> Any:
    return await hass.services.async_call(
        DOMAIN, "sync", {"pair": pair_device(hass, sync).id}, blocking=True, return_response=True
    )
