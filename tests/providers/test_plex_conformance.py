"""The Plex simulator and client speak the API that ../shared/specs/plex describes.

Two descriptions cover Plex:
- `plex-api-spec.yaml`, the current community description of the server (PMS), also with
  plex.tv's `/user` and `/resources`;
- `legacy-0.0.3/...dereferenced.yaml`, the description before the 2025 overhaul, which still has
  plex.tv's PINs (`POST /pins`, `GET /pins/{pinID}`) and the Discover watchlist read
  (`GET /library/sections/watchlist/{filter}` on discover.provider.plex.tv).

plex.tv's operations are written relative to `https://plex.tv/api/v2`, so its routes are checked
with that base path.

The current description passes a section's filters (`type=1`, `sort=...`) as one parameter,
`mediaQuery`, an object serialized in form style with explode: each of its properties is a
query parameter of its own. It is expanded so before checking (`_explode_media_query`).

No description covers these, which Plex's own clients use; they are allowed explicitly:
"""

from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml

from custom_components.crosswatch.clients.plex.auth import (
    check_pin,
    create_pin,
    get_account,
    list_servers,
)
from custom_components.crosswatch.engine.items import MediaItem, MediaType
from custom_components.crosswatch.engine.payloads import Feature, Listed, Rated, Watched
from custom_components.crosswatch.engine.plan import Action
from custom_components.crosswatch.engine.provider import WriteOutcome, WriteRequest
from tests.providers.conftest import Serve
from tests.providers.test_plex_support import World, start_world
from tests.reads import read_whole
from tests.simulators.openapi import (
    METHODS,
    RECORDED,
    OpenApiDescription,
    app_routes,
    specs_dir,
)
from tests.simulators.plex import (
    ACCOUNT_TOKEN,
    SERVER_TOKEN,
    PlexSim,
    make_apps,
    seed_library,
)

pytestmark = pytest.mark.usefixtures("socket_enabled")

# Discover's watchlist writes: `PUT /actions/addToWatchlist?ratingKey=<Plex metadata id>` and
# `.../removeFromWatchlist`, as Plex Web and other clients send them.
DISCOVER_UNDESCRIBED_ROUTES = [
    "PUT /actions/addToWatchlist is not in the description",
    "PUT /actions/removeFromWatchlist is not in the description",
]
# The watchlist read with `includeGuids=1`: Discover then lists each item's imdb/tmdb/tvdb ids,
# as the server does for its sections; the legacy description does not declare the parameter.
DISCOVER_UNDESCRIBED_QUERY = (
    "GET /library/sections/watchlist/all: query ['includeGuids'] not declared by "
    "/library/sections/watchlist/{filter}"
)
# A media query's field filters, `viewCount>>=0` ("above 0") and `lastViewedAt>>=<epoch>`
# ("after"): the description's "Media Queries" section and the `mediaQuery` parameter's own text
# document them, but its object schema lists only type, sourceType, sort, group and limit. The
# library tallies and the lists of changes since a tally's date (kept.py) send them.
MEDIA_QUERY_FILTERS = [
    f"GET /library/all: query ['{field}>>'] not declared by /library/all"
    for field in ("viewCount", "userRating", "lastViewedAt", "lastRatedAt")
]
# A library item read on its own (a targeted run, providers/plex/library.py `read_one`): the
# client asks for its Guids as the section lists do, though `getMetadataItem` declares no
# `includeGuids` (a parameter the server does not know is ignored; the Guids are what matter).
ITEM_GUIDS = [
    f"GET /library/metadata/{key}: query ['includeGuids'] not declared by /library/metadata/{{ids}}"
    for key in ("1005", "1004")  # Dark 1x1, then its show
]
# metadata.provider.plex.tv `GET /library/metadata/matches?type=&guid=imdb://...`: external ids to
# Plex metadata ids. It shares nothing with the server's `/library/metadata/{ids}/...`.
METADATA_UNDESCRIBED_ROUTES = ["GET /library/metadata/matches is not in the description"]


def _load(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def _explode_media_query(document: Any) -> Any:
    """Replace the `mediaQuery` parameter by one query parameter per MediaQuery property."""
    reference = "#/components/parameters/mediaQuery"
    properties = document["components"]["schemas"]["MediaQuery"]["properties"]
    exploded = [
        {"name": name, "in": "query", "schema": schema} for name, schema in properties.items()
    ]
    for item in document["paths"].values():
        for method in METHODS:
            operation = item.get(method)
            if not isinstance(operation, dict):
                continue
            parameters = operation.get("parameters", [])
            if any(p.get("$ref") == reference for p in parameters):
                kept = [p for p in parameters if p.get("$ref") != reference]
                operation["parameters"] = kept + exploded
    return document


@cache
def _current_document() -> Any:
    return _explode_media_query(_load(specs_dir() / "plex" / "plex-api-spec.yaml"))


@cache
def _legacy_document() -> Any:
    return _load(specs_dir() / "plex" / "legacy-0.0.3" / "plex-media-server-spec-dereferenced.yaml")


def current(base_path: str = "") -> OpenApiDescription:
    return OpenApiDescription(_current_document(), base_path=base_path)


def legacy(base_path: str = "") -> OpenApiDescription:
    return OpenApiDescription(_legacy_document(), base_path=base_path)


def test_the_media_query_is_expanded_into_its_query_parameters() -> None:
    operation = current().find("GET", "/library/sections/1/all")
    assert operation is not None
    assert {"type", "sort", "includeGuids", "X-Plex-Container-Start"} <= operation.query


def test_the_server_simulator_serves_only_routes_of_the_pms_description() -> None:
    assert current().route_problems(app_routes(make_apps(PlexSim()).server)) == []


def test_the_plex_tv_simulator_serves_only_routes_of_the_descriptions() -> None:
    routes = app_routes(make_apps(PlexSim()).plex_tv)
    # The legacy description has the PINs, the account and the resources ...
    assert legacy("/api/v2").route_problems(routes) == []
    # ... the current one still has the account and the resources.
    assert current("/api/v2").route_problems(routes) == [
        "POST /pins is not in the description",
        "GET /pins/{pinID} is not in the description",
    ]


def test_discover_and_metadata_routes_no_description_covers_are_the_allowed_ones() -> None:
    apps = make_apps(PlexSim())
    assert legacy().route_problems(app_routes(apps.discover)) == DISCOVER_UNDESCRIBED_ROUTES
    # Neither description has them: the allow-list is not hiding a described operation.
    for description in (legacy(), current()):
        discover = description.route_problems(app_routes(apps.discover))
        assert set(DISCOVER_UNDESCRIBED_ROUTES) <= set(discover)
        metadata = description.route_problems(app_routes(apps.metadata))
        assert metadata == METADATA_UNDESCRIBED_ROUTES


async def _full_session(world: World) -> None:
    """Everything the integration does: sign-in, server choice, health, reads, writes."""
    sim = world.sim
    plex_tv = world.plex_tv()
    pin = await create_pin(plex_tv, now=lambda: float(sim.now))
    await check_pin(plex_tv, pin, now=lambda: float(sim.now))
    sim.approve_pin(pin.id)
    await check_pin(plex_tv, pin, now=lambda: float(sim.now))
    await get_account(world.plex_tv(ACCOUNT_TOKEN))
    await list_servers(world.plex_tv(ACCOUNT_TOKEN))

    inception = sim.add_title("movie", "Inception", 2010, imdb="tt1375666")
    sim.watchlist[sim.item("Dark").plex or ""] = sim.now
    provider = world.provider(world.client(page_size=2, watchlist_page_size=1), library_ttl=0)
    await provider.health()
    for feature in Feature:
        assert (await read_whole(provider, feature, None)).snapshot.complete
    # A play and a rating since: each feature's kept scan caught up with the changes listed.
    sim.finish_play(sim.item("Dark", 1, 2))
    sim.item("Heat").user_rating, sim.item("Heat").last_rated_at = 6.0, sim.tick()
    for feature in (Feature.HISTORY, Feature.RATINGS):
        assert (await read_whole(provider, feature, None)).snapshot.complete
    # A played episode read on its own (a targeted run): the episode and its show.
    one = await provider.read_item(Feature.HISTORY, sim.item("Dark", 1, 1).rating_key)
    assert len(one.snapshot.entries) == 1
    heat = MediaItem.create(MediaType.MOVIE, title="Heat", year=1995, ids={"tmdb": 949})
    movie = MediaItem.create(MediaType.MOVIE, title="Inception", ids={"imdb": "tt1375666"})
    writes = [
        (Feature.HISTORY, Action.ADD, WriteRequest(heat, Watched.from_state(1, None))),
        (Feature.HISTORY, Action.REMOVE, WriteRequest(heat, None)),
        (Feature.RATINGS, Action.ADD, WriteRequest(heat, Rated(7.5))),
        (Feature.RATINGS, Action.REMOVE, WriteRequest(heat, None)),
        (Feature.WATCHLIST, Action.ADD, WriteRequest(movie, Listed())),
        (Feature.WATCHLIST, Action.REMOVE, WriteRequest(movie, None)),
    ]
    for feature, action, request in writes:
        [result] = await provider.write(feature, action, [request])
        assert result.outcome is WriteOutcome.CONFIRMED, (feature, action, result.reason)
    assert inception.plex not in sim.watchlist


def _without(problems: Iterable[str], allowed: Iterable[str]) -> list[str]:
    """The problems that are not on the allow-list."""
    expected = set(allowed)
    return [p for p in problems if p not in expected]


async def test_every_request_of_a_full_session_is_described_or_explicitly_allowed(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    sim = PlexSim()
    seed_library(sim)
    world = await start_world(serve, session, sim)
    await _full_session(world)
    apps = world.apps

    server_requests = apps.server[RECORDED]
    assert {r.path for r in server_requests} >= {
        "/identity", "/library/sections/all", "/library/sections/1/all",
        "/status/sessions/history/all", "/:/scrobble", "/:/unscrobble", "/:/rate",
        "/library/all",
    }  # fmt: skip
    problems = current().request_problems(server_requests)
    assert _without(problems, MEDIA_QUERY_FILTERS + ITEM_GUIDS) == []

    plex_tv_requests = apps.plex_tv[RECORDED]
    assert legacy("/api/v2").request_problems(plex_tv_requests) == []

    discover = apps.discover[RECORDED]
    assert {r.method for r in discover} == {"GET", "PUT"}
    # Dark is listed without its ids (every third title): its ids were looked up by ratingKey.
    assert f"/library/metadata/{sim.item('Dark').plex}" in {r.path for r in discover}
    problems = legacy().request_problems(discover)
    allowed = [
        DISCOVER_UNDESCRIBED_QUERY,
        "PUT /actions/addToWatchlist is not in the description",
        "PUT /actions/removeFromWatchlist is not in the description",
    ]
    assert _without(problems, allowed) == []

    # The metadata host has no description (the PMS one would read "matches" as an item id):
    # every request to it is the allowed matches call, with only its two parameters.
    metadata = apps.metadata[RECORDED]
    assert metadata
    assert {(r.method, r.path, r.query) for r in metadata} == {
        ("GET", "/library/metadata/matches", ("type", "guid"))
    }


async def test_the_simulators_replies_match_the_descriptions_schemas(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    sim = PlexSim()
    seed_library(sim)
    sim.watchlist[sim.item("Heat").plex or ""] = sim.now
    sim.plays.append((sim.item("Heat").rating_key, sim.now))
    sim.connections = [
        {"protocol": "http", "address": "127.0.0.1", "port": 32400,
         "uri": "http://127.0.0.1:32400", "local": True, "relay": False, "IPv6": False}
    ]  # fmt: skip
    world = await start_world(serve, session, sim)
    json = {"Accept": "application/json", "X-Plex-Client-Identifier": "conformance"}

    async def body(host: str, method: str, path: str, token: str | None, status: int = 200) -> Any:
        headers = json | ({"X-Plex-Token": token} if token else {})
        async with session.request(method, world.urls[host] + path, headers=headers) as reply:
            assert reply.status == status, path
            return await reply.json()

    pms = current()
    checks = [
        (pms, "server", "GET", "/identity", None, 200),
        (pms, "server", "GET", "/library/sections/all", SERVER_TOKEN, 200),
        (pms, "server", "GET", "/library/sections/1/all?type=1&includeGuids=1", SERVER_TOKEN, 200),
        (pms, "server", "GET", "/library/sections/2/all?type=2&includeGuids=1", SERVER_TOKEN, 200),
        (pms, "server", "GET", "/library/sections/2/all?type=4&includeGuids=1", SERVER_TOKEN, 200),
        (pms, "server", "GET", "/status/sessions/history/all", SERVER_TOKEN, 200),
        (current("/api/v2"), "plex_tv", "GET", "/api/v2/user", ACCOUNT_TOKEN, 200),
        (current("/api/v2"), "plex_tv", "GET", "/api/v2/resources", ACCOUNT_TOKEN, 200),
        (legacy("/api/v2"), "plex_tv", "POST", "/api/v2/pins?strong=true", None, 201),
        (legacy("/api/v2"), "plex_tv", "GET", "/api/v2/pins/7001", None, 200),
        (legacy(), "discover", "GET", "/library/sections/watchlist/all", ACCOUNT_TOKEN, 200),
        # Discover's per-item metadata shares its path with the PMS item of the legacy
        # description, whose reply schema requires a server's fields (allowSync, summary,
        # thumb ...): it is not Discover's, so that reply is not checked against it.
    ]
    for description, host, method, path, token, status in checks:
        reply = await body(host, method, path, token, status)
        schema = description.response_schema(method, path.partition("?")[0], status)
        assert schema is not None, path
        assert description.schema_problems(schema, reply) == [], path


async def test_a_bad_token_gets_the_described_401(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    world = await start_world(serve, session, PlexSim())
    headers = {"Accept": "application/json", "X-Plex-Token": "wrong"}
    async with session.get(world.urls["plex_tv"] + "/api/v2/user", headers=headers) as reply:
        assert reply.status == 401
        body = await reply.json()
    description = current("/api/v2")
    schema = description.response_schema("GET", "/api/v2/user", 401)
    assert description.schema_problems(schema, body) == []
