"""OAuth on its own host: the 2026 contract declares every OAuth endpoint on auth.trakt.tv."""

import json
from typing import Any

import aiohttp
import pytest

from custom_components.crosswatch.clients.http import RetryPolicy
from custom_components.crosswatch.clients.tokens import Tokens
from custom_components.crosswatch.clients.trakt import (
    DEFAULT_AUTH_URL,
    DEFAULT_BASE_URL,
    TraktClient,
    auth_url_for,
    make_http,
)
from custom_components.crosswatch.clients.trakt.auth import (
    poll_device_token,
    request_device_code,
)
from tests.providers.conftest import Serve
from tests.providers.test_trakt_auth import APP
from tests.providers.test_trakt_provider import NOW
from tests.simulators.openapi import RECORDED, app_routes, specs_dir
from tests.simulators.trakt import FakeTime, TraktSim, make_apps, seed_catalogue

pytestmark = pytest.mark.usefixtures("socket_enabled")


def _servers(document: Any, path: str, method: str) -> set[str]:
    operation = document["paths"][path][method.lower()]
    declared = operation.get("servers") or document["paths"][path].get("servers")
    return {server["url"] for server in declared or document["servers"]}


def test_the_simulators_hosts_serve_what_the_contract_declares_on_each() -> None:
    document = json.loads((specs_dir() / "trakt" / "openapi.json").read_text(encoding="utf-8"))
    apps = make_apps(TraktSim())

    auth_routes = app_routes(apps.auth)
    assert auth_routes
    for method, path in auth_routes:
        assert _servers(document, path, method) == {DEFAULT_AUTH_URL}
    oauth = {path for path, item in document["paths"].items() if "oauth" in path}
    assert {path for _, path in auth_routes} <= oauth
    assert not {path for _, path in app_routes(apps.api)} & oauth


def test_trakt_s_own_api_sends_oauth_to_trakt_s_auth_host() -> None:
    assert auth_url_for(DEFAULT_BASE_URL) == "https://auth.trakt.tv"
    assert auth_url_for(DEFAULT_BASE_URL + "/") == "https://auth.trakt.tv"
    # A test server serves OAuth too, unless it was given an OAuth address of its own.
    assert auth_url_for("http://127.0.0.1:8123") == "http://127.0.0.1:8123"
    assert auth_url_for("http://127.0.0.1:8123", "http://127.0.0.1:9/") == "http://127.0.0.1:9"


async def test_the_device_flow_asks_the_auth_host_and_the_api_host_knows_no_oauth(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    sim = TraktSim()
    apps = make_apps(sim)
    api, auth = await serve(apps.api), await serve(apps.auth)
    time = FakeTime()
    options: dict[str, Any] = {"retry": RetryPolicy(backoff=0), "sleep": time.sleep}

    code = await request_device_code(make_http(session, APP, base_url=auth, **options), APP)
    sim.approve(code.user_code)
    done = await poll_device_token(make_http(session, APP, base_url=auth, **options), APP, code)
    assert done.tokens is not None

    async with session.post(f"{api}/oauth/device/code", json={"client_id": APP.client_id}) as r:
        assert r.status == 404


async def test_a_token_refresh_goes_to_the_auth_host_and_the_call_to_the_api_host(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    sim = TraktSim()
    seed_catalogue(sim)
    apps = make_apps(sim)
    api, auth = await serve(apps.api), await serve(apps.auth)
    time = FakeTime()
    saved: list[Tokens] = []

    async def keep(new: Tokens) -> None:
        saved.append(new)

    client = TraktClient(
        session,
        APP,
        Tokens.from_oauth_reply(sim.issue_tokens()),
        keep,
        base_url=api,
        auth_url=auth,
        retry=RetryPolicy(backoff=0),
        sleep=time.sleep,
        clock=time.clock,
        now=lambda: NOW,
    )
    sim.revoke_access_tokens()

    settings = await client.settings()

    assert settings.slug == "alice"
    assert [r.path for r in apps.auth[RECORDED]] == ["/oauth/token"]
    assert [r.path for r in apps.api[RECORDED]] == ["/users/settings", "/users/settings"]
    assert saved == [client.tokens]
    assert client.requests_made == 3
