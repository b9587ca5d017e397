"""The conformance checker itself: it must catch what it claims to catch."""

from aiohttp import web

from tests.simulators.openapi import (
    OpenApiDescription,
    RecordedRequest,
    app_routes,
    specs_dir,
)

DOCUMENT = {
    "openapi": "3.0.3",
    "paths": {
        "/sync/history": {
            "post": {
                "requestBody": {
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "properties": {"movies": {"type": "array"}},
                                "additionalProperties": False,
                            }
                        }
                    }
                },
                "responses": {"201": {"description": "ok"}},
            }
        },
        "/sync/history/remove": {"post": {"responses": {}}},
        "/sync/history/{type}/{id}": {
            "get": {
                "parameters": [
                    {"name": "type", "in": "path", "required": True},
                    {"name": "id", "in": "path", "required": True},
                    {"name": "page", "in": "query"},
                    {"$ref": "#/components/parameters/limit"},
                ],
                "responses": {
                    "200": {
                        "content": {
                            "application/json": {"schema": {"$ref": "#/components/schemas/Page"}}
                        }
                    }
                },
            }
        },
    },
    "components": {
        "parameters": {"limit": {"name": "limit", "in": "query"}},
        "schemas": {"Page": {"type": "array", "items": {"type": "integer"}}},
    },
}


def test_literal_paths_win_over_templates_and_trailing_params_may_be_omitted() -> None:
    spec = OpenApiDescription(DOCUMENT, optional_trailing_params=True)
    assert spec.find("POST", "/sync/history/remove").template == "/sync/history/remove"  # type: ignore[union-attr]
    assert spec.find("GET", "/sync/history").template == "/sync/history/{type}/{id}"  # type: ignore[union-attr]
    assert spec.find("GET", "/sync/history/movies/12").template == "/sync/history/{type}/{id}"  # type: ignore[union-attr]
    assert spec.find("GET", "/sync/history/movies/12/extra") is None
    assert OpenApiDescription(DOCUMENT).find("GET", "/sync/history") is None


def test_requests_with_undeclared_query_or_invalid_body_are_reported() -> None:
    spec = OpenApiDescription(DOCUMENT, optional_trailing_params=True)
    good = [
        RecordedRequest("GET", "/sync/history", ("page", "limit"), None),
        RecordedRequest("POST", "/sync/history", (), {"movies": []}),
    ]
    assert spec.request_problems(good) == []
    problems = spec.request_problems(
        [
            RecordedRequest("GET", "/sync/history", ("extended",), None),
            RecordedRequest("POST", "/sync/history", (), {"films": []}),
            RecordedRequest("DELETE", "/sync/history", (), None),
        ]
    )
    assert len(problems) == 3
    assert "extended" in problems[0]
    assert "films" in problems[1]
    assert "not in the description" in problems[2]


def test_simulator_routes_must_use_the_descriptions_parameter_names() -> None:
    spec = OpenApiDescription(DOCUMENT, optional_trailing_params=True)
    app = web.Application()

    async def handler(request: web.Request) -> web.Response:
        return web.json_response([])

    app.router.add_get("/sync/history/{type}", handler)
    app.router.add_get("/sync/history/{kind}/{id}", handler)
    app.router.add_post("/sync/history/remove", handler)
    problems = spec.route_problems(app_routes(app))
    assert problems == ["GET /sync/history/{kind}/{id} is not in the description"]


def test_response_schemas_resolve_component_references() -> None:
    spec = OpenApiDescription(DOCUMENT)
    schema = spec.response_schema("GET", "/sync/history/movies/1")
    assert spec.schema_problems(schema, [1, 2]) == []
    assert spec.schema_problems(schema, ["x"]) != []


def test_the_trakt_description_knows_the_sync_endpoints() -> None:
    spec = OpenApiDescription.load(
        specs_dir() / "trakt" / "openapi.json", optional_trailing_params=True
    )
    for method, path in [
        ("GET", "/sync/watchlist"),
        ("GET", "/sync/watchlist/movies"),
        ("GET", "/sync/last_activities"),
        ("POST", "/sync/history/remove"),
        ("POST", "/oauth/device/token"),
    ]:
        assert spec.find(method, path) is not None, (method, path)
