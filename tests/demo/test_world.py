"""The demo's simulated world: deterministic, as described, persistent, and served."""

import asyncio
from collections import Counter
from datetime import UTC, datetime, timedelta
import json
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from custom_components.crosswatch.engine.backfill import load_id_map
from custom_components.crosswatch.engine.payloads import Feature
from custom_components.crosswatch.engine.pipeline import PairSpec, RunStatus
from custom_components.crosswatch.engine.planner import SyncMode
from custom_components.crosswatch.engine.store import StateStore
from tests.demo import simulators as server, world as demo
from tests.demo.pairs import anilist_and_trakt, plex_and_trakt
from tests.providers.conftest import Serve
from tests.providers.test_servers_e2e import make_pipeline
from tests.simulators import trakt as trakt_sim


@pytest.fixture(scope="module")
def world() -> demo.World:
    return demo.build_world()


def test_the_same_seed_builds_the_same_world(world: demo.World) -> None:
    again = demo.build_world()
    assert server.dumps(again) == server.dumps(world)
    assert demo.describe(again) == demo.describe(world)
    assert demo.describe(demo.build_world(7)) != demo.describe(world)


def test_the_world_holds_what_its_docstring_promises(world: demo.World) -> None:
    facts = demo.describe(world)
    plex, trakt, jellyfin = facts["plex"], facts["trakt"], facts["jellyfin"]
    assert (plex["movies"], plex["shows"]) == (64, 12)
    assert 200 <= plex["items"] <= 400
    assert 0.5 <= plex["watched_movies"] / plex["movies"] <= 0.7
    assert plex["watched_episodes"] > 50
    # Trakt has a good part of Plex's plays already; the first sync adds the rest.
    watched = trakt["plex_watched_already_on_trakt"] + trakt["plex_watched_missing_on_trakt"]
    assert watched == plex["watched"]
    assert 0.5 <= trakt["plex_watched_already_on_trakt"] / watched <= 0.7
    assert (trakt["watchlist"], facts["simkl"]["watchlist_by_kind"]["anime"]) == (24, 7)
    assert facts["simkl"]["watchlist"] == 25  # 18 films and shows, 7 anime
    assert facts["overlap"] == {
        "trakt_and_simkl_watchlist": 9,
        "anilist_planning_and_simkl_anime_watchlist": 3,
        "watched_on_plex_and_on_trakt_watchlist": 2,
    }
    assert (jellyfin["movies"], jellyfin["series"]) == (56, 10)
    assert 0.30 <= jellyfin["share_without_provider_ids"] <= 0.40
    assert facts["anilist"]["by_status"] == {
        "PLANNING": 10, "CURRENT": 3, "COMPLETED": 9, "PAUSED": 1, "DROPPED": 1,
    }  # fmt: skip
    assert facts["emby"]["items"] > 15
    assert facts["emby"]["played"] > 0
    assert facts["emby"]["rated"] > 0


def test_every_service_names_a_title_by_the_same_ids(world: demo.World) -> None:
    trakt, simkl = world.trakt, world.simkl
    # Plex's library resolves on Trakt: films by imdb, episodes by their tvdb id.
    for item in world.plex.items.values():
        kind = {"movie": "movie", "show": "show", "episode": "episode"}[item.kind]
        ids = (
            {"imdb": item.imdb, "tvdb": item.tvdb}
            if item.kind != "episode"
            else {"tvdb": item.tvdb}
        )
        assert trakt.find(kind, ids) is not None, item
    # Jellyfin's items with ids are catalogue titles under the same ids.
    films = {f.imdb: f for f in demo.FILMS}
    for held in world.jellyfin.items.values():
        if held.type == "Movie" and held.provider_ids:
            assert films[held.provider_ids["Imdb"]].tmdb == int(held.provider_ids["Tmdb"])
    # Either watchlist resolves on the other service.
    for row in trakt.watchlist:
        kind, trakt_id = row["ref"]
        thing = trakt.movies[trakt_id] if kind == "movie" else trakt.shows[trakt_id]
        section = "movies" if kind == "movie" else "shows"
        assert simkl.resolve(section, {"ids": {"imdb": thing.imdb}}) is not None
    listed = [s for s, v in simkl.lists.items() if v.status == "plantowatch"]
    for simkl_id in listed:
        title = simkl.catalog[simkl_id]
        if title.kind != "anime":
            kind = "movie" if title.kind == "movies" else "show"
            assert trakt.find(kind, {"imdb": title.ids["imdb"]}) is not None
            continue
        # SIMKL's anime name AniList media by the MAL id (and the AniList id where it has it).
        media = next(m for m in world.anilist.media.values() if m.id_mal == int(title.ids["mal"]))
        assert title.ids.get("anilist", str(media.id)) == str(media.id)
    # No anime is planned on one side and started or finished on the other.
    by_mal = {m.id: m.id_mal for m in world.anilist.media.values()}
    entries = {by_mal[e.media_id]: e.status for e in world.anilist.entries.values()}
    for simkl_id, listing in simkl.lists.items():
        title = simkl.catalog[simkl_id]
        if title.kind == "anime":
            on_anilist = entries.get(int(title.ids["mal"]))
            if listing.status == "plantowatch":
                assert on_anilist in (None, "PLANNING")
            else:
                assert on_anilist != "PLANNING"


def test_the_world_round_trips_through_its_state_file(tmp_path: Path) -> None:
    world, fresh = server.load_or_seed(tmp_path)
    assert fresh
    world.trakt.seed_watchlist("movie", demo.trakt_film(0))
    token = world.trakt.issue_tokens()["access_token"]
    server.save(world, tmp_path)

    loaded, fresh = server.load_or_seed(tmp_path)

    assert not fresh
    # The same world (pickling a loaded world is stable; the first pickle shares more strings).
    assert server.dumps(loaded) == server.dumps(server.loads(server.dumps(world)))
    assert demo.describe(loaded) == demo.describe(world)
    assert token in loaded.trakt.access_tokens
    assert next(loaded.trakt._ids) == next(world.trakt._ids)  # counters go on where they were
    assert [p.name for p in tmp_path.iterdir()] == [server.STATE_FILE]  # no temporary left

    # A simulator that gained an attribute since the world was saved gets it with its default.
    del loaded.trakt.quirks.__dict__["locked"], loaded.plex.__dict__["auto_approve"]
    server.save(loaded, tmp_path)
    grown, _ = server.load_or_seed(tmp_path)
    assert grown.trakt.quirks.locked is False
    assert grown.plex.auto_approve is True  # as seeded for the demo

    (tmp_path / server.STATE_FILE).write_bytes(b"not a pickle")
    with pytest.raises(server.LoadError):
        server.load_or_seed(tmp_path)
    assert not server.load_or_seed(tmp_path, fresh=True)[0].trakt.access_tokens


async def _requests(session: aiohttp.ClientSession, info: dict[str, Any]) -> dict[str, int]:
    """One request per endpoint, as the integration's clients make them; their statuses."""
    urls, services = info["urls"], info["services"]
    trakt_headers = {"trakt-api-key": trakt_sim.CLIENT_ID, "trakt-api-version": "2"}
    plex_headers = {"X-Plex-Token": services["plex"]["account_token"], "Accept": "application/json",
                    "X-Plex-Client-Identifier": "demo-test"}  # fmt: skip
    statuses: dict[str, int] = {}

    async def call(name: str, method: str, url: str, **kwargs: Any) -> Any:
        async with session.request(method, url, **kwargs) as response:
            statuses[name] = response.status
            return await response.json(content_type=None)

    # Trakt: a device code, approved by the simulator on its first poll.
    code = await call("trakt", "POST", f"{urls['trakt']}/oauth/device/code",
                      json={"client_id": trakt_sim.CLIENT_ID})  # fmt: skip
    tokens = await call("trakt", "POST", f"{urls['trakt']}/oauth/device/token", json={
        "code": code["device_code"], "client_id": trakt_sim.CLIENT_ID,
        "client_secret": services["trakt"]["client_secret"]})  # fmt: skip
    settings = await call("trakt", "GET", f"{urls['trakt']}/users/settings", headers={
        **trakt_headers, "Authorization": f"Bearer {tokens['access_token']}"})  # fmt: skip
    assert settings["user"]["username"] == "alice"
    simkl_form = {"client_id": services["simkl"]["client_id"]}
    simkl_app = {"app-name": "crosswatch", "app-version": "1"}
    device = await call("simkl", "POST", f"{urls['simkl']}/oauth2/device", params=simkl_app,
                        data={**simkl_form, "scope": "media:read media:write"})  # fmt: skip
    granted = await call("simkl", "POST", f"{urls['simkl']}/oauth2/token", params=simkl_app,
                         data={**simkl_form, "device_code": device["device_code"],
                               "grant_type": "urn:ietf:params:oauth:grant-type:device_code"})  # fmt: skip
    assert granted["scope"] == "media:read media:write"
    viewer = await call("anilist", "POST", urls["anilist"], json={"query": "{ Viewer { id } }"},
                        headers={"Authorization": f"Bearer {services['anilist']['token']}"})  # fmt: skip
    assert viewer["data"]["Viewer"]["id"] == demo.ANILIST_USER_ID
    for name in ("jellyfin", "emby"):
        form = services[name]
        signed_in = await call(
            name, "POST", f"{form['url']}{'/emby' if name == 'emby' else ''}/Users/AuthenticateByName",
            json={"Username": form["username"], "Pw": form["password"]},
            headers={"Authorization": 'MediaBrowser Client="t", Device="t", DeviceId="t", Version="1"'},
        )  # fmt: skip
        assert signed_in["User"]["Id"] == form["user_id"]
    identity = await call("plex", "GET", f"{urls['plex']}/identity", headers=plex_headers)
    assert identity["MediaContainer"]["machineIdentifier"] == services["plex"]["machine_id"]
    plex_pin = await call("plex_tv", "POST", f"{urls['plex_tv']}/api/v2/pins", headers=plex_headers)
    approved = await call("plex_tv", "GET", f"{urls['plex_tv']}/api/v2/pins/{plex_pin['id']}",
                          headers=plex_headers)  # fmt: skip
    assert approved["authToken"] == services["plex"]["account_token"]
    resources = await call(
        "plex_tv", "GET", f"{urls['plex_tv']}/api/v2/resources", headers=plex_headers
    )
    assert [c["uri"] for r in resources if r["provides"] == "server" for c in r["connections"]] == [
        urls["plex"]
    ]
    watchlist = await call("plex_discover", "GET",
                           f"{urls['plex_discover']}/library/sections/watchlist/all", headers=plex_headers)  # fmt: skip
    assert watchlist["MediaContainer"]["totalSize"] == 7
    await call("plex_metadata", "GET", f"{urls['plex_metadata']}/library/metadata/matches",
               params={"guid": "imdb://tt0133093", "type": "1"}, headers=plex_headers)  # fmt: skip
    records = await call("anime_lists", "GET", info["anime_map_url"])
    assert len(records) == len(demo.ANIME)
    user = await call("mdblist", "GET", f"{urls['mdblist']}/user",
                      params={"apikey": services["mdblist"]["api_key"]})  # fmt: skip
    assert user["user_id"] == demo.MDBLIST_USER_ID
    return statuses


async def _start(
    state_dir: Path, stop: asyncio.Event, **options: Any
) -> tuple[asyncio.Task[demo.World], dict[str, Any]]:
    """Serve in this loop on free ports; the task and what it announced once ready."""
    announced: list[dict[str, Any]] = []
    ready = asyncio.Event()

    def on_ready(info: dict[str, Any]) -> None:
        announced.append(info)
        ready.set()

    task = asyncio.create_task(
        server.serve(state_dir, "127.0.0.1", 0, ready=on_ready, stop=stop, **options)
    )
    waiting = asyncio.create_task(ready.wait())
    await asyncio.wait({task, waiting}, return_when=asyncio.FIRST_COMPLETED)
    waiting.cancel()
    if task.done():
        task.result()  # raises what went wrong
    return task, announced[0]


async def test_the_server_announces_answers_saves_and_resumes(
    socket_enabled: None, tmp_path: Path
) -> None:
    stop = asyncio.Event()
    task, info = await _start(tmp_path, stop, save_every=0.2)
    assert list(info["urls"]) == list(server.ENDPOINTS)
    assert info["fresh"]
    assert json.loads((tmp_path / server.INFO_FILE).read_text())["urls"] == info["urls"]
    async with aiohttp.ClientSession() as session:
        statuses = await _requests(session, info)
    assert statuses == dict.fromkeys(server.ENDPOINTS, 200)
    await asyncio.sleep(0.5)  # a periodic save
    stop.set()
    served = await task
    assert served.trakt.access_tokens

    # The second run resumes the same world: the tokens handed out still work.
    stop = asyncio.Event()
    task, info = await _start(tmp_path, stop)
    assert not info["fresh"]
    stop.set()
    resumed = await task
    assert resumed.trakt.access_tokens == served.trakt.access_tokens
    assert resumed.trakt._clock >= datetime.now(UTC) - timedelta(minutes=1)


async def test_plex_to_trakt_adds_only_the_plays_trakt_lacks(
    serve: Serve, session: aiohttp.ClientSession, tmp_path: Path
) -> None:
    world = demo.build_world()
    plex, trakt = await plex_and_trakt(serve, session, world)
    expected = demo.describe(world)["trakt"]["plex_watched_missing_on_trakt"]
    spec = PairSpec("plex-trakt", SyncMode.ADD_ONLY, frozenset({Feature.HISTORY}))
    plays_before = Counter(tuple(row["ref"]) for row in world.trakt.history)
    clock = [datetime(2026, 11, 1, tzinfo=UTC)]
    with StateStore(tmp_path / "state.db") as store:
        pipeline = make_pipeline(store, clock)
        first = await pipeline.run(spec, plex, trakt)
        assert first.status is RunStatus.SUCCESS, first.errors
        assert first.features[Feature.HISTORY].applied == expected, first.plan.to_json()
        clock[0] += timedelta(hours=1)
        again = await pipeline.run(spec, plex, trakt)
        assert again.plan.is_empty, again.plan.to_json()
    added = Counter(tuple(row["ref"]) for row in world.trakt.history) - plays_before
    assert sum(added.values()) == expected
    # The two films watched on Plex left Trakt's watchlist when their plays arrived.
    listed = {tuple(row["ref"]) for row in world.trakt.watchlist}
    for index in world.facts.watched_on_plex_listed_on_trakt:
        assert ("movie", demo.trakt_film(index)) not in listed
    assert len(listed) == 22


async def test_anilist_and_trakt_match_anime_through_the_mapping_list(
    serve: Serve, session: aiohttp.ClientSession, tmp_path: Path
) -> None:
    world = demo.build_world()
    anilist, trakt, loader = await anilist_and_trakt(serve, session, world)
    planned = [demo.ANIME[i] for i in world.facts.anilist_planning]
    expected = {
        ("movie", demo.trakt_anime_film(demo.ANIME.index(a)))
        if a.imdb
        else ("show", demo.trakt_anime_show(demo.ANIME.index(a)))
        for a in planned
    }
    spec = PairSpec("anilist-trakt", SyncMode.TWO_WAY, frozenset({Feature.WATCHLIST}))
    clock = [datetime(2026, 11, 1, tzinfo=UTC)]
    with StateStore(tmp_path / "state.db") as store:
        pipeline = make_pipeline(store, clock)
        status = await load_id_map(loader, store, run_blocking=asyncio.to_thread, now=clock[0])
        assert status.warning is None
        pipeline.use_id_map(status.id_map)
        first = await pipeline.run(spec, anilist, trakt)
        # AniList took the anime and refused Trakt's films: the run did not do all it planned.
        assert first.status is RunStatus.PARTIAL, first.errors
        clock[0] += timedelta(hours=1)
        again = await pipeline.run(spec, anilist, trakt)
        # Nothing left but the films AniList cannot take: the run says so, not "success".
        assert again.status is RunStatus.UNRESOLVED, again.errors
    listed = {tuple(row["ref"]) for row in world.trakt.watchlist}
    # AniList's planned anime reached Trakt under the ids the list lent them, and match there.
    assert expected <= listed
    assert first.features[Feature.WATCHLIST].applied == len(expected)
    assert again.features[Feature.WATCHLIST].applied == 0, again.plan.to_json()
    # Trakt's own films and shows cannot be written to AniList (no AniList id): unresolved.
    assert again.features[Feature.WATCHLIST].unresolved == len(world.facts.trakt_watchlist)


def test_the_calendars_week_is_dated_from_each_start_and_never_piles_up() -> None:
    world = demo.build_world()
    now = datetime(2026, 12, 7, 18, 0, tzinfo=UTC)
    week = (now, now + timedelta(days=7))

    scheduled = demo.schedule_upcoming(world, now)

    services = Counter(line.split(":")[0] for line in scheduled)
    assert set(services) == {"Trakt", "SIMKL", "AniList"}, scheduled
    # Trakt: episodes of shows on the user's calendar (listed or played), two this week.
    trakt = world.trakt
    airing = [
        (show.trakt, episode.first_aired)
        for show in trakt.shows.values()
        for season in show.seasons.values()
        for episode in season.episodes.values()
        if episode.first_aired is not None and week[0] <= episode.first_aired < week[1]
    ]
    assert len(airing) == 2 * services["Trakt"]
    assert {show for show, _ in airing} <= trakt.calendar_shows()
    # SIMKL: the calendar files' episodes of titles on the user's lists.
    simkl = world.simkl
    this_week = [a for a in simkl.airings if week[0] <= a.airs < week[1]]
    assert len(this_week) == 2 * services["SIMKL"]
    assert all(simkl.lists[a.simkl].status in ("watching", "plantowatch") for a in this_week)
    # AniList: the airing schedule of series the user watches or plans to.
    lo, hi = (int(moment.timestamp()) for moment in week)
    anilist_week = [
        media.id
        for media in world.anilist.media.values()
        for at in media.airings.values()
        if lo <= at < hi
    ]
    assert len(anilist_week) == 2 * services["AniList"]

    # A later start (the world saved and loaded) dates the same episodes anew: none twice.
    later = now + timedelta(days=30)
    assert demo.schedule_upcoming(world, later) == scheduled
    assert len(simkl.airings) == 3 * services["SIMKL"]
    assert all(a.airs > later for a in simkl.airings)
    assert all(
        at > later.timestamp()
        for media in world.anilist.media.values()
        for at in media.airings.values()
    )
