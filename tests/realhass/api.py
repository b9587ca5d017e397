"""A small async client for a real Home Assistant: onboarding, login, REST, flows, websocket.

Only what the end-to-end test and the demo need, spoken exactly as the frontend speaks it:
onboarding and login through the auth API, config flows and config subentry flows through
`/api/config/config_entries/...`, actions through `/api/services` (with `?return_response`),
and websocket commands for the registries.
"""

import asyncio
from collections.abc import Mapping
import time
from types import TracebackType
from typing import Any, Self

import aiohttp

type Json = dict[str, Any]

FLOW_PATH = "/api/config/config_entries/flow"
SUBENTRY_FLOW_PATH = "/api/config/config_entries/subentries/flow"
OPTIONS_FLOW_PATH = "/api/config/config_entries/options/flow"
# Integrations the onboarding's core config step sets up (homeassistant/components/onboarding).
ONBOARDING_DOMAINS = {"google_translate", "met", "radio_browser", "shopping_list"}
FAILED_STATES = {"setup_error", "setup_retry", "migration_error"}
UNSETTLED_STATES = {"setup_in_progress", "not_loaded", "unload_in_progress"}


class ApiError(RuntimeError):
    """Home Assistant answered with an unexpected status (the body says why)."""

    def __init__(self, method: str, path: str, status: int, body: str) -> None:
        """Keep what was asked and what came back."""
        super().__init__(f"{method} {path} -> HTTP {status}: {body[:2000]}")
        self.status = status
        self.body = body


class FlowError(AssertionError):
    """A flow went somewhere it should not have (the whole result is in the message)."""


class HassClient:
    """One Home Assistant at `url`; log in with `onboard` or `login`, then call anything."""

    def __init__(self, url: str, *, timeout: float = 60) -> None:
        """Bind to a base URL such as http://127.0.0.1:8123."""
        self.url = url.rstrip("/")
        self.client_id = f"{self.url}/"
        self.redirect_uri = f"{self.url}/?auth_callback=1"
        self.access_token: str | None = None
        self.refresh_token: str | None = None
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None

    @property
    def session(self) -> aiohttp.ClientSession:
        """The HTTP session (made on first use)."""
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        return self._session

    async def close(self) -> None:
        """Close the HTTP session."""
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def __aenter__(self) -> Self:
        """Use as an async context manager."""
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Close the session."""
        await self.close()

    # -- raw HTTP ---------------------------------------------------------------------------

    async def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        form: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
        auth: bool = True,
        expect: tuple[int, ...] = (200, 201),
    ) -> Any:
        """One request; the decoded JSON body (or text). ApiError on an unexpected status."""
        headers = {}
        if auth:
            if self.access_token is None:
                raise ApiError(method, path, 0, "not logged in")
            headers["Authorization"] = f"Bearer {self.access_token}"
        async with self.session.request(
            method, self.url + path, json=json, data=form, params=params, headers=headers
        ) as response:
            text = await response.text()
            if response.status not in expect:
                raise ApiError(method, path, response.status, text)
            if response.content_type == "application/json" and text:
                return await response.json()
            return text

    async def get(self, path: str, **kwargs: Any) -> Any:
        """GET with the bearer token."""
        return await self.request("GET", path, **kwargs)

    async def post(self, path: str, json: Any = None, **kwargs: Any) -> Any:
        """POST JSON with the bearer token."""
        return await self.request("POST", path, json=json, **kwargs)

    # -- onboarding and login ---------------------------------------------------------------

    async def onboarding(self) -> dict[str, bool]:
        """Each onboarding step and whether it is done (needs no login).

        Once every step is done, Home Assistant no longer serves the onboarding API: empty.
        """
        try:
            steps = await self.get("/api/onboarding", auth=False)
        except ApiError as err:
            if err.status == 404:
                return {}
            raise
        return {step["step"]: bool(step["done"]) for step in steps}

    async def onboarded(self) -> bool:
        """Whether every onboarding step is done."""
        return all((await self.onboarding()).values())

    async def onboard(
        self, *, name: str, username: str, password: str, language: str = "en"
    ) -> None:
        """Do the onboarding as the frontend does: owner, core config, analytics, integrations.

        Logs in as the new owner on the way (the user step answers with an auth code).
        """
        done = await self.onboarding()
        if not done.get("user"):
            reply = await self.post(
                "/api/onboarding/users",
                {
                    "name": name,
                    "username": username,
                    "password": password,
                    "client_id": self.client_id,
                    "language": language,
                },
                auth=False,
            )
            await self._exchange_code(reply["auth_code"])
        else:
            await self.login(username, password)
        if not done.get("core_config"):
            await self.post("/api/onboarding/core_config")
        if not done.get("analytics"):
            await self.post("/api/onboarding/analytics")
        if not done.get("integration"):
            await self.post(
                "/api/onboarding/integration",
                {"client_id": self.client_id, "redirect_uri": self.redirect_uri},
            )
        if not done.get("core_config"):
            await self._drop_failed_onboarding_entries()

    async def _drop_failed_onboarding_entries(self, within: float = 3) -> None:
        """Remove the entries onboarding made that cannot load without their requirements.

        The core config step starts flows of a few integrations (Google Translate, Met, ...);
        with `--skip-pip` and only the test requirements installed, Google Translate's entry
        would sit on the integrations page as "Failed to set up".
        """
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            await asyncio.sleep(0.5)
            entries = await self.get("/api/config/config_entries/entry")
            for entry in entries:
                if entry["domain"] in ONBOARDING_DOMAINS and entry["state"] in FAILED_STATES:
                    await self.request(
                        "DELETE", f"/api/config/config_entries/entry/{entry['entry_id']}"
                    )

    async def login(self, username: str, password: str) -> None:
        """Log in through the login flow of Home Assistant's own auth provider."""
        flow = await self.post(
            "/auth/login_flow",
            {
                "client_id": self.client_id,
                "handler": ["homeassistant", None],
                "redirect_uri": self.redirect_uri,
            },
            auth=False,
        )
        result = await self.post(
            f"/auth/login_flow/{flow['flow_id']}",
            {"client_id": self.client_id, "username": username, "password": password},
            auth=False,
        )
        if result.get("type") != "create_entry":
            raise ApiError("POST", "/auth/login_flow", 200, str(result))
        await self._exchange_code(result["result"])

    async def _exchange_code(self, code: str) -> None:
        tokens = await self.request(
            "POST",
            "/auth/token",
            form={"grant_type": "authorization_code", "code": code, "client_id": self.client_id},
            auth=False,
        )
        self.access_token = tokens["access_token"]
        self.refresh_token = tokens.get("refresh_token")

    # -- core --------------------------------------------------------------------------------

    async def config(self) -> Json:
        """`/api/config`: components, state (RUNNING once started), version."""
        result: Json = await self.get("/api/config")
        return result

    async def wait_running(self, *, within: float = 60, entries_of: str | None = None) -> None:
        """Wait until Home Assistant runs and, with `entries_of`, that domain's entries settled.

        Settled: no entry of the domain is loading, unloading or waiting to load.
        """
        deadline = time.monotonic() + within
        last: object = None
        while time.monotonic() < deadline:
            config = await self.config()
            last = config.get("state")
            if last == "RUNNING":
                if entries_of is None:
                    return
                entries = await self.config_entries(entries_of)
                last = {e["title"]: e["state"] for e in entries}
                if all(e["state"] not in UNSETTLED_STATES for e in entries):
                    return
            await asyncio.sleep(0.25)
        raise TimeoutError(f"Home Assistant did not settle within {within:.0f} s: {last}")

    async def config_entries(self, domain: str) -> list[Json]:
        """A domain's config entries (entry_id, title, state, num_subentries, ...)."""
        result: list[Json] = await self.get(
            "/api/config/config_entries/entry", params={"domain": domain}
        )
        return result

    async def state(self, entity_id: str) -> Json:
        """An entity's state object; ApiError 404 if it has none."""
        result: Json = await self.get(f"/api/states/{entity_id}")
        return result

    async def call(
        self, domain: str, service: str, data: Json | None = None, *, response: bool = False
    ) -> Any:
        """Call an action; with `response`, its response (the `service_response` part)."""
        params = {"return_response": ""} if response else None
        reply = await self.post(f"/api/services/{domain}/{service}", data or {}, params=params)
        return reply["service_response"] if response else reply

    # -- websocket -------------------------------------------------------------------------

    async def ws(self, command: str, **fields: Any) -> Any:
        """One websocket command on a fresh connection; its result (ApiError if it failed)."""
        if self.access_token is None:
            raise ApiError("WS", command, 0, "not logged in")
        async with self.session.ws_connect(self.url + "/api/websocket") as socket:
            hello = await socket.receive_json()
            if hello.get("type") != "auth_required":
                raise ApiError("WS", command, 0, str(hello))
            await socket.send_json({"type": "auth", "access_token": self.access_token})
            auth = await socket.receive_json()
            if auth.get("type") != "auth_ok":
                raise ApiError("WS", command, 0, str(auth))
            await socket.send_json({"id": 1, "type": command, **fields})
            while True:
                message = await socket.receive_json()
                if message.get("id") == 1 and message.get("type") == "result":
                    break
        if not message.get("success"):
            raise ApiError("WS", command, 0, str(message.get("error")))
        return message.get("result")

    async def entities(self, platform: str) -> list[Json]:
        """The entity registry's entries of one platform (integration)."""
        entries: list[Json] = await self.ws("config/entity_registry/list")
        return [e for e in entries if e.get("platform") == platform]

    async def devices(self, config_entry_id: str) -> list[Json]:
        """The device registry's devices of one config entry."""
        devices: list[Json] = await self.ws("config/device_registry/list")
        return [d for d in devices if config_entry_id in d.get("config_entries", [])]

    # -- flows -------------------------------------------------------------------------------

    async def config_flow(self, handler: str) -> Flow:
        """Start a config flow (as the "Add integration" button does)."""
        result = await self.post(FLOW_PATH, {"handler": handler, "show_advanced_options": True})
        return Flow(self, FLOW_PATH, result)

    async def subentry_flow(self, entry_id: str, subentry_type: str) -> Flow:
        """Start a config subentry flow of an entry (as "Add pair" does)."""
        result = await self.post(SUBENTRY_FLOW_PATH, {"handler": [entry_id, subentry_type]})
        return Flow(self, SUBENTRY_FLOW_PATH, result)

    async def options_flow(self, entry_id: str) -> Flow:
        """Start an entry's options flow (as its "Configure" button does)."""
        result = await self.post(OPTIONS_FLOW_PATH, {"handler": entry_id})
        return Flow(self, OPTIONS_FLOW_PATH, result)


class Flow:
    """A flow in progress: its last result, and the moves the frontend can make."""

    def __init__(self, client: HassClient, base: str, result: Json) -> None:
        """Wrap a flow's first result."""
        self.client = client
        self.base = base
        self.result = result
        self.flow_id: str = result["flow_id"]

    @property
    def type(self) -> str:
        """form, menu, progress, create_entry, abort, ..."""
        return str(self.result.get("type"))

    @property
    def step_id(self) -> str | None:
        """The current step."""
        step = self.result.get("step_id")
        return str(step) if step is not None else None

    @property
    def placeholders(self) -> dict[str, str]:
        """The description placeholders of the current step."""
        return dict(self.result.get("description_placeholders") or {})

    def defaults(self) -> Json:
        """The current form's suggested and default values, sections nested (as the UI fills)."""
        return _defaults(self.result.get("data_schema") or [])

    def expect(self, type_: str, step_id: str | None = None) -> Self:
        """Fail unless the flow is at this kind of result (and step)."""
        if self.type != type_ or (step_id is not None and self.step_id != step_id):
            wanted = f"{type_} {step_id or ''}".strip()
            raise FlowError(f"expected {wanted}, got {self.result}")
        if self.result.get("errors"):
            raise FlowError(f"the form shows errors: {self.result}")
        return self

    async def choose(self, option: str) -> Self:
        """Pick a menu option."""
        self.expect("menu")
        return await self.submit({"next_step_id": option})

    async def submit(self, data: Json | None = None) -> Self:
        """Submit the current form (or move on from a progress step)."""
        self.result = await self.client.post(f"{self.base}/{self.flow_id}", data or {})
        return self

    async def refresh(self) -> Self:
        """Ask for the flow's current result again (as the frontend does after an event)."""
        self.result = await self.client.get(f"{self.base}/{self.flow_id}")
        return self

    async def wait(self, *, within: float = 60, interval: float = 0.3) -> Self:
        """While the flow shows progress, poll it until it moves on."""
        deadline = time.monotonic() + within
        while self.type in ("progress", "progress_done"):
            if time.monotonic() > deadline:
                raise FlowError(f"still in progress after {within:.0f} s: {self.result}")
            await asyncio.sleep(interval)
            await self.refresh()
        return self


def _defaults(fields: list[Json]) -> Json:
    values: Json = {}
    for field in fields:
        if "schema" in field:  # a section
            values[field["name"]] = _defaults(field["schema"])
        elif "suggested_value" in (field.get("description") or {}):
            values[field["name"]] = field["description"]["suggested_value"]
        elif "default" in field:
            values[field["name"]] = field["default"]
    return values
