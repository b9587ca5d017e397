"""The simulator and the client speak the published Jellyfin and Emby APIs.

Checked against four descriptions: Jellyfin 10.11.11 (raw) and 12.0.0 (re-serialised by
openapi-generator), Emby 4.8.11 and the 4.9.0.41 beta (paths relative to `/emby`). Every route
the simulator serves and every request the client sends must have the same method, path and
parameter names in each; request bodies and the simulator's replies are validated against the
schemas. Differences between the versions that matter to CrossWatch are pinned below.
"""

from functools import cache
import json
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
import pytest
import yaml

from custom_components.crosswatch.clients.errors import CrossWatchClientError
from custom_components.crosswatch.clients.http import JsonValue
from custom_components.crosswatch.clients.mediabrowser import (
    EMBY,
    JELLYFIN,
    MediaBrowserClient,
)
from custom_components.crosswatch.engine.items import MediaItem, MediaType
from custom_components.crosswatch.engine.payloads import Feature, Listed, Rated, Watched
from custom_components.crosswatch.engine.plan import Action
from custom_components.crosswatch.engine.provider import WriteRequest
from custom_components.crosswatch.providers.jellyfin import JellyfinQuickConnect, sign_in
from tests.simulators.mediabrowser import Flavour, MediaBrowserQuirks
from tests.simulators.openapi import RECORDED, OpenApiDescription, app_routes, specs_dir

from .conftest import Serve
from .test_mediabrowser_support import DEVICE, WATCHED, Rig, make_rig

JELLYFIN_SPECS = ("openapi.json", "openapi-12.0.0.normalized.yaml")
EMBY_SPECS = ("openapi.json", "openapi-4.9.0.41-beta.json")
SPECS = [(Flavour.JELLYFIN, name) for name in JELLYFIN_SPECS] + [
    (Flavour.EMBY, name) for name in EMBY_SPECS
]
MATRIX = MediaItem.create(MediaType.MOVIE, title="The Matrix", year=1999, ids={"imdb": "tt0133093"})
HEAT = MediaItem.create(MediaType.MOVIE, title="Heat", year=1995, ids={"imdb": "tt0113277"})
EPISODE = MediaItem.create(MediaType.EPISODE, show_ids={"tvdb": 334824}, season=1, episode=3)


@cache
def raw(flavour: Flavour, name: str) -> dict[str, Any]:
    """A description as parsed JSON or YAML; parsed once per session (they are megabytes)."""
    path: Path = specs_dir() / flavour.value / name
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".json":
        return json.loads(text)  # type: ignore[no-any-return]
    return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # type: ignore[no-any-return]  # noqa: S506


@cache
def description(flavour: Flavour, name: str) -> OpenApiDescription:
    return OpenApiDescription(
        raw(flavour, name), base_path="/emby" if flavour is Flavour.EMBY else ""
    )


async def exercise(rig: Rig, session: aiohttp.ClientSession) -> None:
    """Every call the client makes, once."""
    rig.state.watch(rig.user, rig.library.dark_s1[0], WATCHED)
    rig.state.favorite(rig.user, rig.library.heat)
    rig.state.rate(rig.user, rig.library.inception, 6.5)
    provider = rig.provider
    await provider.health()
    for feature in Feature:
        await provider.read(feature, None)
    for feature in Feature:
        await provider.read(feature, None)  # kept: asked whether anything changed since
    await provider.write(
        Feature.HISTORY, Action.ADD, [WriteRequest(MATRIX, Watched.from_state(1, WATCHED))]
    )
    await provider.write(Feature.HISTORY, Action.ADD, [WriteRequest(EPISODE, Watched())])
    await provider.write(Feature.HISTORY, Action.REMOVE, [WriteRequest(MATRIX, None)])
    await provider.write(Feature.WATCHLIST, Action.ADD, [WriteRequest(MATRIX, Listed())])
    await provider.write(Feature.WATCHLIST, Action.REMOVE, [WriteRequest(HEAT, None)])
    await provider.write(Feature.RATINGS, Action.ADD, [WriteRequest(MATRIX, Rated(7.3))])
    await provider.write(Feature.RATINGS, Action.REMOVE, [WriteRequest(MATRIX, None)])
    await rig.client.item(rig.user.id, rig.library.matrix)
    anonymous = rig.anonymous(session)
    await sign_in(anonymous, "alice", "correct horse")
    if rig.client.flavour.quick_connect:
        quick = JellyfinQuickConnect(anonymous)
        await quick.enabled()
        request = await quick.initiate()
        await quick.poll(request)
        await rig.client.call(
            "POST", "/QuickConnect/Authorize", params={"code": request.code, "userId": rig.user.id}
        )
        await quick.authenticate(request)


@pytest.mark.parametrize(("flavour", "spec"), SPECS)
async def test_every_simulator_route_is_in_the_description(
    serve: Serve, session: aiohttp.ClientSession, flavour: Flavour, spec: str
) -> None:
    rig = await make_rig(serve, session, flavour)

    assert description(flavour, spec).route_problems(app_routes(rig.app)) == []


@pytest.mark.parametrize(("flavour", "spec"), SPECS)
async def test_every_request_the_client_sends_is_in_the_description(
    serve: Serve, session: aiohttp.ClientSession, flavour: Flavour, spec: str
) -> None:
    rig = await make_rig(serve, session, flavour)

    await exercise(rig, session)

    recorded = rig.app[RECORDED]
    assert description(flavour, spec).request_problems(recorded) == []
    methods = {(r.method, r.path.split("/")[-1] if r.method != "GET" else "") for r in recorded}
    assert {("POST", "UserData"), ("DELETE", "Rating")} <= methods
    # The question of what changed since a read, in this flavour's spelling.
    assert any(rig.client.flavour.query("MinDateLastSavedForUser") in r.query for r in recorded)
    # The Jellyfin client never uses the legacy token forms (Jellyfin 12 refuses them).
    if flavour is Flavour.JELLYFIN:
        assert not any("api_key" in r.query for r in recorded)


@pytest.mark.parametrize(("flavour", "spec"), SPECS)
async def test_the_simulators_replies_match_the_response_schemas(
    serve: Serve, session: aiohttp.ClientSession, flavour: Flavour, spec: str
) -> None:
    rig = await make_rig(serve, session, flavour)
    rig.state.watch(rig.user, rig.library.dark_s1[0], WATCHED)
    rig.state.rate(rig.user, rig.library.matrix, 7.5)
    doc = description(flavour, spec)
    client, user, matrix = rig.client, rig.user.id, rig.library.matrix
    items_path, items_query = client.flavour.items_path(user)
    played_path, played_query = client.flavour.played_path(user, matrix)
    q = client.flavour.query
    calls = [
        ("GET", "/System/Info/Public", {}),
        (
            "GET",
            items_path,
            {**items_query, q("Recursive"): "true", q("Fields"): "ProviderIds,DateCreated"},
        ),
        ("POST", played_path, played_query),
        ("DELETE", played_path, played_query),
        ("POST", "/Users/AuthenticateByName", {}),
    ]
    for method, path, query in calls:
        body: JsonValue = (
            {"Username": "alice", "Pw": "correct horse"} if "Authenticate" in path else None
        )
        reply = await client.call(method, path, params=query, json_body=body)
        full_path = client.flavour.base_path + path
        schema = doc.response_schema(method, full_path, reply.status)
        assert schema is not None, (method, path)
        assert doc.schema_problems(schema, reply.json()) == [], (method, path)


@pytest.mark.parametrize("spec", JELLYFIN_SPECS)
async def test_quick_connect_replies_match_the_jellyfin_schemas(
    serve: Serve, session: aiohttp.ClientSession, spec: str
) -> None:
    rig = await make_rig(serve, session, Flavour.JELLYFIN)
    doc = description(Flavour.JELLYFIN, spec)
    client = rig.anonymous(session)

    initiated = await client.call("POST", "/QuickConnect/Initiate")
    started = initiated.json()
    assert isinstance(started, dict)
    secret = str(started["Secret"])
    polled = await client.call("GET", "/QuickConnect/Connect", params={"secret": secret})
    enabled = await client.call("GET", "/QuickConnect/Enabled")

    for method, path, reply in [
        ("POST", "/QuickConnect/Initiate", initiated),
        ("GET", "/QuickConnect/Connect", polled),
        ("GET", "/QuickConnect/Enabled", enabled),
    ]:
        assert doc.schema_problems(doc.response_schema(method, path), reply.json()) == []


def test_both_jellyfin_versions_serve_the_routes_the_client_uses_with_its_parameters() -> None:
    for spec in JELLYFIN_SPECS:
        doc = description(Flavour.JELLYFIN, spec)
        for method, path, query in [
            ("GET", "/Items", {"userId", "startIndex", "limit", "recursive", "fields",
                               "includeItemTypes", "filters", "ids", "enableUserData",
                               "sortBy", "sortOrder"}),
            ("POST", "/UserPlayedItems/x", {"userId", "datePlayed"}),
            ("DELETE", "/UserPlayedItems/x", {"userId"}),
            ("POST", "/UserFavoriteItems/x", {"userId"}),
            ("POST", "/UserItems/x/UserData", {"userId"}),
            ("DELETE", "/UserItems/x/Rating", {"userId"}),
            ("GET", "/QuickConnect/Connect", {"secret"}),
        ]:  # fmt: skip
            operation = doc.find(method, path)
            assert operation is not None, (spec, method, path)
            assert query <= operation.query, (spec, method, path)
        # Jellyfin 10.9 moved the per-user routes; neither description has the old ones.
        assert doc.find("GET", "/Users/u/Items") is None
        assert doc.find("POST", "/Users/u/PlayedItems/x") is None


def test_the_differences_between_jellyfin_10_11_and_12_0_that_touch_crosswatch() -> None:
    old, new = raw(Flavour.JELLYFIN, JELLYFIN_SPECS[0]), raw(Flavour.JELLYFIN, JELLYFIN_SPECS[1])
    old_schemas = old["components"]["schemas"]
    new_schemas = new["components"]["schemas"]

    # 10.11 types BaseItemDto.Type as the BaseItemKind enum; 12.0's copy has a plain string.
    assert "allOf" in old_schemas["BaseItemDto"]["properties"]["Type"]
    assert new_schemas["BaseItemDto"]["properties"]["Type"]["type"] == "string"
    assert {"Movie", "Series", "Episode"} <= set(old_schemas["BaseItemKind"]["enum"])
    # 12.0 requires UserItemDataDto.Key; the simulator always sends it.
    assert "required" not in old_schemas["UserItemDataDto"]
    assert new_schemas["UserItemDataDto"]["required"] == ["Key"]

    # 12.0's /Items adds language filters; nothing the client sends changed.
    def names(doc: dict[str, Any]) -> set[str]:
        operation = doc["paths"]["/Items"]["get"]
        return {p["name"] for p in operation["parameters"]}

    assert names(new) - names(old) == {"audioLanguages", "subtitleLanguages"}
    # ItemFields has no "UserData": user data comes with enableUserData, in both versions.
    assert "UserData" not in old_schemas["ItemFields"]["enum"]
    assert old_schemas["ItemFields"]["enum"] == new_schemas["ItemFields"]["enum"]
    # Both authenticate only through the Authorization header.
    for doc in (old, new):
        (scheme,) = doc["components"]["securitySchemes"].values()
        assert (scheme["in"], scheme["name"]) == ("header", "Authorization")


def test_the_differences_between_emby_4_8_and_the_4_9_beta_that_touch_crosswatch() -> None:
    stable, beta = raw(Flavour.EMBY, EMBY_SPECS[0]), raw(Flavour.EMBY, EMBY_SPECS[1])

    def names(doc: dict[str, Any]) -> set[str]:
        operation = doc["paths"]["/Users/{UserId}/Items"]["get"]
        return {p["name"] for p in operation["parameters"]}

    assert names(beta) - names(stable) == {"StartItemId", "IsSpecialSeason"}
    # Emby's QueryResult has no StartIndex (Jellyfin's has); DatePlayed is yyyyMMddHHmmss.
    result = stable["components"]["schemas"]["QueryResult_BaseItemDto"]
    assert "StartIndex" not in result["properties"]
    played = stable["paths"]["/Users/{UserId}/PlayedItems/{Id}"]["post"]
    (date,) = [p for p in played["parameters"] if p["name"] == "DatePlayed"]
    assert "yyyyMMddHHmmss" in date["description"]
    # Played and IsFavorite are not nullable in Emby's UserItemDataDto: send them back.
    data = stable["components"]["schemas"]["UserItemDataDto"]["properties"]
    assert not data["Played"].get("nullable")
    assert not data["IsFavorite"].get("nullable")


async def test_a_page_without_items_is_refused(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    async def broken(request: web.Request) -> web.Response:
        return web.json_response({"TotalRecordCount": 3})

    app = web.Application()
    app.router.add_get("/Items", broken)
    base = await serve(app)
    client = MediaBrowserClient(session, JELLYFIN, base, device=DEVICE, token="t")

    with pytest.raises(CrossWatchClientError, match="page without Items"):
        await client.items_page("u", types=("Movie",), start=0, limit=1)
    assert EMBY.items_path("u") == ("/Users/u/Items", {})


async def test_the_jellyfin_12_mode_serves_the_whole_exercise(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig = await make_rig(
        serve, session, Flavour.JELLYFIN, quirks=MediaBrowserQuirks(jellyfin12=True)
    )

    await exercise(rig, session)

    assert rig.state.user_data(rig.user.id, rig.library.matrix).is_favorite
