"""Check simulators and clients against the official API descriptions in ../shared/specs.

A simulator is only useful if it speaks the real API, so every route it serves and every
request a client sends is looked up in the service's published description: same method, same
path (with the same parameter names), and only query parameters the description declares.
Bodies are validated against the description's schemas where it has them.

The descriptions live beside the project (`../shared/specs`, or `$CROSSWATCH_SPECS`) rather
than in it; conformance tests skip, saying why, when they are not there.
"""

from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
import json
import os
from pathlib import Path
from typing import Any, cast

from aiohttp import web
from openapi_schema_validator import OAS30Validator, OAS31Validator
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
type Json = Any

METHODS = ("get", "put", "post", "delete", "patch", "head", "options")


def specs_dir() -> Path:
    """Where the API descriptions are; skips the calling test when they are absent."""
    path = Path(os.environ.get("CROSSWATCH_SPECS", ROOT.parent / "shared" / "specs"))
    if not path.is_dir():
        pytest.skip(f"API descriptions not found at {path} (set CROSSWATCH_SPECS)")
    return path


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    """One request a simulator received, as far as conformance cares."""

    method: str
    path: str
    query: tuple[str, ...]
    body: Json


RECORDED = web.AppKey("recorded_requests", list[RecordedRequest])


@web.middleware
async def _record(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    body: Json = None
    if request.can_read_body and request.content_type == "application/json":
        try:
            body = await request.json()
        except ValueError:
            body = "<invalid json>"
    request.app[RECORDED].append(
        RecordedRequest(request.method, request.path, tuple(request.query.keys()), body)
    )
    return await handler(request)


def recording(app: web.Application) -> web.Application:
    """Make `app` remember every request it receives, in `app[RECORDED]`."""
    app[RECORDED] = []
    app.middlewares.append(_record)
    return app


@dataclass(frozen=True, slots=True)
class SpecOperation:
    """One operation of a description."""

    method: str
    template: str
    query: frozenset[str]
    request_schema: Json
    response_schemas: Mapping[str, Json]


def _segments(path: str) -> list[str]:
    return [s for s in path.strip("/").split("/") if s]


def _is_param(segment: str) -> bool:
    return segment.startswith("{") and segment.endswith("}")


class OpenApiDescription:
    """The operations of one OpenAPI document, searchable by method and path."""

    def __init__(
        self, document: Json, *, base_path: str = "", optional_trailing_params: bool = False
    ) -> None:
        """Index `document`; paths served under `base_path` (e.g. Emby's /emby) are stripped.

        `optional_trailing_params`: the description writes optional trailing path parameters
        only in their full form (Trakt's `/sync/watchlist/{type}/{sort_by}/{sort_how}` also
        serves `/sync/watchlist`), so a path may stop before them.
        """
        self._document = document
        self._base = base_path.rstrip("/")
        self._optional_trailing = optional_trailing_params
        self._validator = (
            OAS31Validator if str(document.get("openapi", "")).startswith("3.1") else OAS30Validator
        )
        self.operations: list[SpecOperation] = []
        for template, item in document["paths"].items():
            shared = item.get("parameters", [])
            for method in METHODS:
                if method not in item:
                    continue
                operation = item[method]
                parameters = [self._resolve(p) for p in [*shared, *operation.get("parameters", [])]]
                body = self._resolve(operation.get("requestBody", {}))
                self.operations.append(
                    SpecOperation(
                        method.upper(),
                        template,
                        frozenset(p["name"] for p in parameters if p.get("in") == "query"),
                        _json_schema(body),
                        {
                            str(status): _json_schema(self._resolve(reply))
                            for status, reply in operation.get("responses", {}).items()
                        },
                    )
                )

    @classmethod
    def load(cls, path: Path, **options: Any) -> OpenApiDescription:
        """Read a JSON or YAML description."""
        text = path.read_text(encoding="utf-8")
        document = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
        return cls(document, **options)

    def _resolve(self, node: Json) -> Json:
        while isinstance(node, dict) and "$ref" in node:
            target: Json = self._document
            for part in node["$ref"].removeprefix("#/").split("/"):
                target = target[part.replace("~1", "/").replace("~0", "~")]
            node = target
        return node

    def _matches(self, template: str, path: str, *, same_names: bool) -> bool:
        wanted, given = _segments(template), _segments(path)
        if len(given) > len(wanted):
            return False
        if len(given) < len(wanted) and not (
            self._optional_trailing and all(_is_param(s) for s in wanted[len(given) :])
        ):
            return False
        for expected, actual in zip(wanted, given, strict=False):
            if _is_param(expected):
                if same_names and actual != expected:
                    return False
                if not same_names and not actual:
                    return False
            elif expected != actual:
                return False
        return True

    def find(self, method: str, path: str) -> SpecOperation | None:
        """The operation serving a concrete request path; literal paths win over templates."""
        path = path.removeprefix(self._base) if self._base else path
        candidates = [
            op
            for op in self.operations
            if op.method == method.upper() and self._matches(op.template, path, same_names=False)
        ]
        # The most literal segments wins: /sync/history/remove before /sync/history/{type}.
        candidates.sort(key=lambda op: -sum(not _is_param(s) for s in _segments(op.template)))
        return candidates[0] if candidates else None

    def route_problems(self, routes: Iterable[tuple[str, str]]) -> list[str]:
        """What is wrong with a simulator's (method, template) routes."""
        problems = []
        for method, served in routes:
            template = served.removeprefix(self._base) if self._base else served
            if not any(
                op.method == method and self._matches(op.template, template, same_names=True)
                for op in self.operations
            ):
                problems.append(f"{method} {template} is not in the description")
        return problems

    def request_problems(self, requests: Iterable[RecordedRequest]) -> list[str]:
        """What is wrong with requests a client sent."""
        problems = []
        for request in requests:
            operation = self.find(request.method, request.path)
            if operation is None:
                problems.append(f"{request.method} {request.path} is not in the description")
                continue
            unknown = sorted(set(request.query) - operation.query)
            if unknown:
                problems.append(
                    f"{request.method} {request.path}: query {unknown} not declared by "
                    f"{operation.template}"
                )
            if request.body is not None and operation.request_schema is not None:
                problems.extend(
                    f"{request.method} {request.path} body: {error}"
                    for error in self.schema_problems(operation.request_schema, request.body)
                )
        return problems

    def schema_problems(self, schema: Json, instance: Json) -> list[str]:
        """Validation errors of `instance` against a schema of this description."""
        # Schemas refer to #/components/...; carry the components along so the refs resolve.
        if isinstance(schema, dict) and "components" in self._document:
            schema = {**schema, "components": self._document["components"]}
        validator = self._validator(schema)
        return [
            f"{'/'.join(map(str, error.absolute_path)) or '<root>'}: {error.message}"
            for error in validator.iter_errors(instance)
        ]

    def response_schema(self, method: str, path: str, status: int = 200) -> Json:
        """The JSON schema of a reply, or None when the description has none."""
        operation = self.find(method, path)
        if operation is None:
            raise KeyError(f"{method} {path} is not in the description")
        return operation.response_schemas.get(str(status))


def _json_schema(node: Json) -> Json:
    """The application/json schema of a request body or response object, if any."""
    content = cast(Mapping[str, Json], node.get("content", {})) if isinstance(node, dict) else {}
    for media_type, value in content.items():
        if "json" in media_type and isinstance(value, dict) and "schema" in value:
            return value["schema"]
    return None


def app_routes(app: web.Application) -> list[tuple[str, str]]:
    """The (method, path template) pairs a simulator app serves."""
    routes = []
    for route in app.router.routes():
        info = route.resource.get_info() if route.resource else {}
        template = info.get("formatter") or info.get("path")
        if route.method in ("HEAD", "OPTIONS") or not template:
            continue
        routes.append((route.method, str(template)))
    return routes
