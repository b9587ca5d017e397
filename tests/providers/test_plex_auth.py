"""Plex sign-in (PIN flow), the account and the choice of server, against the simulator."""

from urllib.parse import parse_qs, urlsplit

import aiohttp
from aiohttp import web
import pytest

from custom_components.crosswatch.clients.errors import (
    CrossWatchAuthenticationError,
    CrossWatchClientError,
    CrossWatchResponseError,
)
from custom_components.crosswatch.clients.http import HttpClient
from custom_components.crosswatch.clients.plex.auth import (
    Pin,
    PinExpiredError,
    PinPoll,
    PinStatus,
    PlexAccount,
    PlexApp,
    PlexConnection,
    PlexServer,
    check_pin,
    choose_server,
    create_pin,
    get_account,
    list_servers,
    reachable_url,
    servers_by_name,
    wait_for_pin,
)
from tests.providers.conftest import Serve
from tests.providers.test_plex_support import APP, RETRY, World, no_sleep, start_world
from tests.simulators.plex import ACCOUNT_TOKEN, MACHINE_ID, SERVER_TOKEN, PlexSim

pytestmark = pytest.mark.usefixtures("socket_enabled")


@pytest.fixture
async def world(serve: Serve, session: aiohttp.ClientSession) -> World:
    return await start_world(serve, session, PlexSim())


def test_the_sign_in_url_carries_the_client_id_the_code_and_the_product() -> None:
    url = Pin(7001, "abcd", 0.0).auth_url(PlexApp("client-1", product="CrossWatch"))
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == "https://app.plex.tv/auth"
    # app.plex.tv reads the fragment: "#?clientID=...&code=...&context[device][product]=..."
    assert parts.fragment.startswith("?")
    assert parse_qs(parts.fragment[1:]) == {
        "clientID": ["client-1"],
        "code": ["abcd"],
        "context[device][product]": ["CrossWatch"],
    }


async def test_a_strong_pin_gives_the_account_token_once_the_user_approves_it(
    world: World,
) -> None:
    http, now = world.plex_tv(), lambda: float(world.sim.now)
    pin = await create_pin(http, now=now)
    assert len(pin.code) == 25  # strong codes are long; short ones are for plex.tv/link
    assert pin.expires_at == world.sim.now + 1800
    assert await check_pin(http, pin, now=now) == PinPoll(PinStatus.PENDING)

    world.sim.approve_pin(pin.id)
    poll = await check_pin(http, pin, now=now)
    assert (poll.status, poll.token) == (PinStatus.AUTHORIZED, ACCOUNT_TOKEN)


async def test_waiting_for_a_pin_polls_with_the_injected_sleep_until_approved(
    world: World,
) -> None:
    http, now = world.plex_tv(), lambda: float(world.sim.now)
    pin = await create_pin(http, now=now)
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)
        if len(slept) == 3:
            world.sim.approve_pin(pin.id)

    assert await wait_for_pin(http, pin, interval=1.5, sleep=sleep, now=now) == ACCOUNT_TOKEN
    assert slept == [1.5, 1.5, 1.5]


async def test_an_expired_pin_is_a_typed_status_and_ends_the_wait(world: World) -> None:
    world.sim.quirks.pins_expire = True
    http, now = world.plex_tv(), lambda: float(world.sim.now)
    pin = await create_pin(http, now=now)
    # The reply says the PIN is already over; plex.tv then answers 404 for it.
    assert pin.expires_at == world.sim.now
    late = Pin(pin.id, pin.code, world.sim.now + 60.0)
    assert (await check_pin(http, late, now=now)).status is PinStatus.EXPIRED
    with pytest.raises(PinExpiredError):
        await wait_for_pin(http, late, sleep=no_sleep, now=now)


async def test_a_pin_plex_tv_forgot_or_whose_time_is_up_is_expired(world: World) -> None:
    http, now = world.plex_tv(), lambda: float(world.sim.now)
    pin = await create_pin(http, now=now)
    requests = http.requests.count
    # Past its expiry the PIN is not even asked about.
    assert (await check_pin(http, pin, now=lambda: pin.expires_at)).status is PinStatus.EXPIRED
    assert http.requests.count == requests
    world.sim.expire_pin(pin.id)
    assert (await check_pin(http, pin, now=now)).status is PinStatus.EXPIRED


async def test_a_pin_reply_saying_no_time_is_left_is_expired(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    async def pin(request: web.Request) -> web.Response:
        return web.json_response({"id": 1, "code": "x", "expiresIn": 0, "authToken": None})

    app = web.Application()
    app.router.add_get("/api/v2/pins/{pinID}", pin)
    http = HttpClient(session, await serve(app), service="plex.tv", retry=RETRY, sleep=no_sleep)
    poll = await check_pin(http, Pin(1, "x", 2e9), now=lambda: 1e9)
    assert poll.status is PinStatus.EXPIRED


async def test_a_pin_request_without_a_client_identifier_is_refused(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    sim = PlexSim()
    world = await start_world(serve, session, sim)
    http = HttpClient(session, world.urls["plex_tv"], service="plex.tv", retry=RETRY)
    with pytest.raises(CrossWatchResponseError) as caught:
        await create_pin(http)
    assert caught.value.status == 400


async def test_a_pin_reply_without_id_or_code_is_a_provider_error(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    async def pins(request: web.Request) -> web.Response:
        return web.json_response({"code": "x", "expiresAt": "not a date"}, status=201)

    app = web.Application()
    app.router.add_post("/api/v2/pins", pins)
    http = HttpClient(session, await serve(app), service="plex.tv", retry=RETRY, sleep=no_sleep)
    with pytest.raises(CrossWatchClientError, match="without its id"):
        await create_pin(http)


@pytest.mark.parametrize("expires_at", [None, "soon", "2024-01-01T00:00:00"])
async def test_a_pin_without_a_usable_expiry_date_lives_for_its_announced_seconds(
    serve: Serve, session: aiohttp.ClientSession, expires_at: str | None
) -> None:
    async def pins(request: web.Request) -> web.Response:
        body = {"id": 5, "code": "c", "expiresIn": 600, "expiresAt": expires_at}
        return web.json_response(body, status=201)

    app = web.Application()
    app.router.add_post("/api/v2/pins", pins)
    http = HttpClient(session, await serve(app), service="plex.tv", retry=RETRY, sleep=no_sleep)
    # A date without a zone cannot be trusted; the lifetime can.
    assert await create_pin(http, now=lambda: 100.0) == Pin(5, "c", 700.0)


async def test_the_account_names_the_token_owner_by_id_uuid_and_username(world: World) -> None:
    account = await get_account(world.plex_tv(ACCOUNT_TOKEN))
    assert account == PlexAccount(1234567, "9f8e7d6c5b4a3210", "alice")


async def test_a_revoked_account_token_is_an_auth_error(world: World) -> None:
    world.sim.quirks.revoked = True
    with pytest.raises(CrossWatchAuthenticationError):
        await get_account(world.plex_tv(ACCOUNT_TOKEN))
    with pytest.raises(CrossWatchAuthenticationError):
        await list_servers(world.plex_tv(ACCOUNT_TOKEN))


async def test_an_account_without_id_or_uuid_is_a_provider_error(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    async def user(request: web.Request) -> web.Response:
        return web.json_response({"username": "bob"})

    app = web.Application()
    app.router.add_get("/api/v2/user", user)
    http = HttpClient(session, await serve(app), service="plex.tv", retry=RETRY)
    with pytest.raises(CrossWatchClientError, match="uuid"):
        await get_account(http)


async def test_servers_are_listed_with_their_token_and_connections_best_first(
    world: World,
) -> None:
    world.sim.connections = [
        {"protocol": "https", "address": "relay", "port": 8443, "uri": "https://relay.plex.direct:8443", "local": False, "relay": True, "IPv6": False},
        {"protocol": "https", "address": "203.0.113.7", "port": 32400, "uri": "https://remote:32400", "local": False, "relay": False, "IPv6": False},
        {"protocol": "http", "address": "192.168.1.2", "port": 32400, "uri": "http://192.168.1.2:32400", "local": True, "relay": False, "IPv6": False},
    ]  # fmt: skip
    servers = await list_servers(world.plex_tv(ACCOUNT_TOKEN))
    # The phone is a player, not a server.
    assert [(s.name, s.machine_identifier, s.access_token, s.owned) for s in servers] == [
        ("Living Room", MACHINE_ID, SERVER_TOKEN, True)
    ]
    assert servers[0].urls() == [
        "http://192.168.1.2:32400",
        "https://remote:32400",
        "https://relay.plex.direct:8443",
    ]
    assert servers_by_name(servers) == {MACHINE_ID: "Living Room"}


async def test_resources_that_are_not_a_list_are_a_provider_error(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    async def resources(request: web.Request) -> web.Response:
        return web.json_response({"MediaContainer": {}})

    app = web.Application()
    app.router.add_get("/api/v2/resources", resources)
    http = HttpClient(session, await serve(app), service="plex.tv", retry=RETRY)
    with pytest.raises(CrossWatchClientError, match="not a list"):
        await list_servers(http)


def _server(name: str, machine: str, *, owned: bool) -> PlexServer:
    return PlexServer(name, machine, "t", owned, ())


def test_the_chosen_server_is_the_named_one_else_the_first_owned_one() -> None:
    shared, own = _server("Friend", "f", owned=False), _server("Mine", "m", owned=True)
    assert choose_server([own, shared]) is own
    assert choose_server([own, shared], "f") is shared
    with pytest.raises(CrossWatchClientError, match="no server x"):
        choose_server([own], "x")
    with pytest.raises(CrossWatchClientError, match="no server"):
        choose_server([])


async def test_the_reachable_url_is_the_first_connection_answering_as_that_server(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    world = await start_world(serve, session, PlexSim())
    other = await start_world(serve, session, PlexSim(machine_id="another-server"))
    dead = "http://127.0.0.1:9"  # nothing listens on the discard port
    server = PlexServer(
        "Living Room",
        MACHINE_ID,
        SERVER_TOKEN,
        True,
        (
            PlexConnection(world.urls["server"], local=False, relay=True),
            PlexConnection(dead, local=True, relay=False),
            PlexConnection(other.urls["server"], local=True, relay=False),
        ),
    )
    assert await reachable_url(session, APP, server, sleep=no_sleep) == world.urls["server"]

    unreachable = PlexServer("Gone", MACHINE_ID, SERVER_TOKEN, True, server.connections[1:])
    with pytest.raises(CrossWatchClientError, match="another server") as caught:
        await reachable_url(session, APP, unreachable, sleep=no_sleep)
    assert dead in str(caught.value)


async def test_a_server_refusing_the_token_while_probing_is_an_auth_error(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    async def identity(request: web.Request) -> web.Response:
        return web.Response(status=401)

    app = web.Application()
    app.router.add_get("/identity", identity)
    server = PlexServer("S", "m", "t", True, (PlexConnection(await serve(app), True, False),))
    with pytest.raises(CrossWatchAuthenticationError):
        await reachable_url(session, APP, server, retry=RETRY)


async def test_an_identity_without_a_machine_identifier_is_a_provider_error(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    async def identity(request: web.Request) -> web.Response:
        return web.json_response({"MediaContainer": {"size": 0}})

    app = web.Application()
    app.router.add_get("/identity", identity)
    server = PlexServer("S", "m", "t", True, (PlexConnection(await serve(app), True, False),))
    with pytest.raises(CrossWatchClientError, match="did not say"):
        await reachable_url(session, APP, server, retry=RETRY)


async def test_a_non_object_reply_is_a_provider_error(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    async def user(request: web.Request) -> web.Response:
        return web.json_response([1, 2])

    app = web.Application()
    app.router.add_get("/api/v2/user", user)
    http = HttpClient(session, await serve(app), service="plex.tv", retry=RETRY)
    with pytest.raises(CrossWatchClientError, match="not an object"):
        await get_account(http)


async def test_a_pin_poll_plex_tv_refuses_is_raised(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    async def pin(request: web.Request) -> web.Response:
        return web.Response(status=400, text="Bad Request")

    app = web.Application()
    app.router.add_get("/api/v2/pins/{pinID}", pin)
    http = HttpClient(session, await serve(app), service="plex.tv", retry=RETRY, sleep=no_sleep)
    with pytest.raises(CrossWatchResponseError):
        await check_pin(http, Pin(1, "x", 2e9), now=lambda: 1e9)
