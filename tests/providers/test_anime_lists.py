"""The anime ID mapping list: download (conditional) and parse, against a tiny server."""

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
import json
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
import pytest

from custom_components.crosswatch.clients.http import RetryPolicy, Throttle
from custom_components.crosswatch.engine.backfill import load_id_map
from custom_components.crosswatch.engine.items import MediaItem, MediaType
from custom_components.crosswatch.engine.provider import ProviderError
from custom_components.crosswatch.engine.store import StateStore
from custom_components.crosswatch.providers.anime_lists import (
    DEFAULT_URL,
    AnimeListLoader,
    AnimeMapping,
    fetch_anime_lists,
    parse_anime_lists,
    parse_record,
)
from tests.simulators.anilist import FakeTime

type Serve = Callable[[web.Application], Awaitable[str]]

# Loopback only: the list is served in this process.
pytestmark = pytest.mark.usefixtures("socket_enabled")

SAMPLE = Path(__file__).resolve().parents[1] / "fixtures" / "anime-list-sample.json"
ETAG = '"f3a1c9"'
LAST_MODIFIED = "Mon, 03 Nov 2025 04:05:06 GMT"
FAST = RetryPolicy(attempts=2, backoff=0)


async def serve_list(serve: Serve, seen: list[dict[str, str]], status: int = 200) -> str:
    """Serve the sample like raw.githubusercontent.com does, honouring its validators."""

    async def handle(request: web.Request) -> web.StreamResponse:
        seen.append(dict(request.headers))
        if status != 200:
            return web.Response(status=status, text="not here")
        if request.headers.get("If-None-Match") == ETAG or (
            request.headers.get("If-Modified-Since") == LAST_MODIFIED
        ):
            return web.Response(status=304, headers={"ETag": ETAG})
        return web.Response(
            body=SAMPLE.read_bytes(),
            content_type="text/plain",  # GitHub's raw host serves JSON as text/plain
            headers={"ETag": ETAG, "Last-Modified": LAST_MODIFIED},
        )

    app = web.Application()
    app.router.add_get("/Fribb/anime-lists/master/anime-list-full.json", handle)
    return f"{await serve(app)}/Fribb/anime-lists/master/anime-list-full.json"


def by_anilist(mappings: tuple[AnimeMapping, ...]) -> dict[str, AnimeMapping]:
    return {m.ids["anilist"]: m for m in mappings if "anilist" in m.ids}


def test_the_default_list_is_fribbs_anime_list_full() -> None:
    assert DEFAULT_URL == (
        "https://raw.githubusercontent.com/Fribb/anime-lists/master/anime-list-full.json"
    )


async def test_the_list_downloads_with_its_validators_and_parses_every_usable_record(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    seen: list[dict[str, str]] = []
    download = await fetch_anime_lists(session, url=await serve_list(serve, seen), retry=FAST)
    assert not download.not_modified
    assert (download.etag, download.last_modified) == (ETAG, LAST_MODIFIED)
    assert "If-None-Match" not in seen[0]
    assert download.body is not None
    parsed = parse_anime_lists(download.body)
    assert len(parsed.mappings) == 19
    assert parsed.skipped == 1  # a title no database has mapped yet


async def test_a_cached_copy_that_is_current_is_not_downloaded_again(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    seen: list[dict[str, str]] = []
    url = await serve_list(serve, seen)
    by_etag = await fetch_anime_lists(session, url=url, etag=ETAG, retry=FAST)
    by_date = await fetch_anime_lists(session, url=url, last_modified=LAST_MODIFIED, retry=FAST)
    assert by_etag.not_modified
    assert by_date.not_modified
    assert by_etag.body is None
    assert (by_etag.etag, by_etag.last_modified) == (ETAG, None)
    assert (by_date.etag, by_date.last_modified) == (ETAG, LAST_MODIFIED)
    assert seen[0]["If-None-Match"] == ETAG
    assert seen[1]["If-Modified-Since"] == LAST_MODIFIED


async def test_a_failed_download_is_a_clear_provider_error(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    url = await serve_list(serve, [], status=404)
    with pytest.raises(ProviderError, match=r"anime ID list could not be downloaded.*HTTP 404"):
        await fetch_anime_lists(session, url=url, retry=FAST)


async def test_a_server_that_keeps_failing_is_retried_then_reported(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    seen: list[dict[str, str]] = []
    url = await serve_list(serve, seen, status=503)
    time = FakeTime()
    with pytest.raises(ProviderError, match="could not be downloaded"):
        await fetch_anime_lists(
            session, url=url, retry=FAST, throttle=Throttle(clock=time.clock, sleep=time.sleep)
        )
    assert len(seen) == 2


def test_a_series_maps_every_database_and_its_place_in_tvdb_and_tmdb() -> None:
    bebop = by_anilist(parse_anime_lists(SAMPLE.read_bytes()).mappings)["1"]
    assert dict(bebop.ids) == {
        "anilist": "1",
        "mal": "1",
        "anidb": "23",
        "kitsu": "1",
        "tvdb": "76885",
        "simkl": "37089",
        "imdb": "tt0213338",
        "tmdb": "30991",
    }
    assert (bebop.media_type, bebop.kind) == (MediaType.ANIME, "TV")
    assert (bebop.tvdb_season, bebop.tmdb_season) == (1, 1)
    assert (bebop.tmdb_tv, bebop.tmdb_movie) == ("30991", None)


def test_later_seasons_share_the_shows_ids_and_name_their_season_and_offset() -> None:
    mappings = by_anilist(parse_anime_lists(SAMPLE.read_bytes()).mappings)
    season_two, part_two = mappings["20958"], mappings["104578"]
    assert season_two.ids["tvdb"] == mappings["16498"].ids["tvdb"] == "267440"
    assert season_two.ids["mal"] == "25777"
    assert (season_two.tvdb_season, season_two.tvdb_episode_offset) == (2, None)
    assert (part_two.tvdb_season, part_two.tvdb_episode_offset) == (3, 12)
    assert part_two.tmdb_episode_offset == 12


def test_a_film_is_a_movie_with_its_tmdb_movie_id() -> None:
    your_name = by_anilist(parse_anime_lists(SAMPLE.read_bytes()).mappings)["21519"]
    assert your_name.media_type is MediaType.MOVIE
    assert your_name.ids["tmdb"] == "372058"
    assert your_name.ids["imdb"] == "tt5311514"
    assert your_name.tvdb_season is None
    item = MediaItem.create(your_name.media_type, title="Your Name", ids=your_name.ids)
    assert "tmdb:movie:372058" in item.tokens


def test_a_tmdb_id_of_the_other_kind_is_kept_apart_from_the_ids() -> None:
    battle_stage = by_anilist(parse_anime_lists(SAMPLE.read_bytes()).mappings)["821"]
    assert battle_stage.media_type is MediaType.ANIME  # an OVA filed under a TMDB film
    assert "tmdb" not in battle_stage.ids
    assert (battle_stage.tmdb_tv, battle_stage.tmdb_movie) == (None, "1390599")
    assert (battle_stage.tvdb_season, battle_stage.tvdb_episode_offset) == (0, 2)


def test_mappings_are_frozen_values() -> None:
    mapping = parse_anime_lists(SAMPLE.read_bytes()).mappings[0]
    with pytest.raises(AttributeError):
        mapping.kind = "OVA"  # type: ignore[misc]
    with pytest.raises(TypeError):
        mapping.ids["anilist"] = "2"  # type: ignore[index]


def test_the_older_shape_of_the_list_is_read_too() -> None:
    record = {
        "type": "TV",
        "anidb_id": 23,
        "anilist_id": 1,
        "mal_id": 1,
        "thetvdb_id": 76885,
        "themoviedb_id": 30991,
        "imdb_id": "tt0213338",
    }
    mapping = parse_record(record)
    assert mapping is not None
    assert mapping.ids["tvdb"] == "76885"
    assert mapping.ids["tmdb"] == "30991"
    assert mapping.ids["imdb"] == "tt0213338"
    film = parse_record({"type": "MOVIE", "mal_id": 47, "themoviedb_id": 149})
    assert film is not None
    assert (film.ids.get("tmdb"), film.tmdb_movie, film.tmdb_tv) == ("149", "149", None)


@pytest.mark.parametrize(
    "record",
    [
        {"type": "TV", "anidb_id": 18290},  # one id maps nothing
        {"type": "TV", "tvdb_id": 76885, "themoviedb_id": {"tv": 30991}},  # no anime-side id
        {"type": "TV", "anilist_id": "null", "mal_id": 0, "imdb_id": ["", None]},
        {"type": 7, "anilist_id": True, "mal_id": -1},
    ],
)
def test_records_that_link_nothing_are_skipped(record: dict[str, Any]) -> None:
    assert parse_record(record) is None


def test_malformed_records_are_skipped_and_counted() -> None:
    records: list[Any] = [
        {"type": "TV", "anilist_id": 1, "mal_id": 1, "season": {"tvdb": -1, "tmdb": True}},
        "not a record",
        None,
        [1, 2],
        {"anilist_id": 1},
    ]
    parsed = parse_anime_lists(json.dumps(records))
    assert parsed.skipped == 4
    (mapping,) = parsed.mappings
    assert (mapping.tvdb_season, mapping.tmdb_season, mapping.kind) == (None, None, "TV")


@pytest.mark.parametrize(
    ("body", "message"), [(b"<html>", "not JSON"), (b'{"a": 1}', "not a list")]
)
def test_a_body_that_is_not_the_list_is_a_provider_error(body: bytes, message: str) -> None:
    with pytest.raises(ProviderError, match=message):
        parse_anime_lists(body)


def test_a_list_the_size_of_the_real_one_parses_in_one_pass() -> None:
    record = json.loads(SAMPLE.read_text())[9]
    records = [{**record, "anidb_id": n, "anilist_id": n} for n in range(1, 40_001)]
    parsed = parse_anime_lists(json.dumps(records).encode())
    assert len(parsed.mappings) == 40_000
    assert parsed.mappings[-1].ids["anilist"] == "40000"


async def test_the_loader_feeds_the_engines_id_map_cache_and_revalidates_weekly(
    serve: Serve, session: aiohttp.ClientSession, tmp_path: Path
) -> None:
    seen: list[dict[str, str]] = []
    loader = AnimeListLoader(
        session, run_blocking=asyncio.to_thread, url=await serve_list(serve, seen), retry=FAST
    )
    start = datetime(2026, 11, 1, tzinfo=UTC)
    with StateStore(tmp_path / "state.db") as store:
        first = await load_id_map(loader, store, run_blocking=asyncio.to_thread, now=start)
        week_later = await load_id_map(
            loader, store, run_blocking=asyncio.to_thread, now=start + timedelta(days=7)
        )

    assert first.id_map is not None
    assert week_later.id_map is not None
    assert len(first.id_map) == len(week_later.id_map) > 0
    assert len(seen) == 2
    assert seen[1]["If-None-Match"] == ETAG  # the cached copy was revalidated, not re-sent
    bebop = MediaItem.create(MediaType.ANIME, title="Cowboy Bebop", ids={"anilist": 1, "mal": 1})
    assert "tvdb" in first.id_map.ids_for(bebop)
    assert loader.source.endswith("anime-list-full.json")


async def test_a_list_that_maps_nothing_keeps_the_cached_copy_in_use(
    serve: Serve, session: aiohttp.ClientSession, tmp_path: Path
) -> None:
    bodies = [SAMPLE.read_bytes(), b"[]"]

    async def handle(request: web.Request) -> web.Response:
        return web.Response(body=bodies.pop(0), content_type="text/plain")

    app = web.Application()
    app.router.add_get("/list.json", handle)
    loader = AnimeListLoader(
        session, run_blocking=asyncio.to_thread, url=f"{await serve(app)}/list.json", retry=FAST
    )
    start = datetime(2026, 11, 1, tzinfo=UTC)
    with StateStore(tmp_path / "state.db") as store:
        await load_id_map(loader, store, run_blocking=asyncio.to_thread, now=start)
        emptied = await load_id_map(
            loader, store, run_blocking=asyncio.to_thread, now=start + timedelta(days=7)
        )

    assert emptied.warning is not None
    assert "holds no usable record" in emptied.warning
    assert emptied.id_map is not None
    assert len(emptied.id_map) > 0
    assert emptied.checked_at == start  # the source was not believed: asked again next time
