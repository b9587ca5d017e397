"""A server URL typed into a flow: https unless it cannot be, and a warning before plain http.

Jellyfin, Emby and Plex take a server URL the user types. Typed without a scheme it is tried
over https first, and gets http only when no TLS connection can be made there. A password or
token is not sent to a plain http URL outside the local network before the user says so.

The simulators listen on loopback; a name on the internet reaches them through a resolver that
points a few names there, as DNS would.
"""

import asyncio
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
import socket
import ssl
from typing import Any
from unittest.mock import patch

from aiohttp import web
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.test_utils import TestServer
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from homeassistant.config_entries import ConfigFlowResult
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
import pytest

from custom_components.crosswatch.flows.server_url import is_local_host
from tests.simulators.mediabrowser import MediaBrowserState, mediabrowser_app
from tests.simulators.openapi import RECORDED
from tests.simulators.plex import ACCOUNT_TOKEN, PlexSim, make_apps

from .mediabrowser import EMBY, JELLYFIN, PASSWORD, Brand, choose, server_entry, start_server

REMOTE = "media.example.com"  # a name on the internet; the resolver points it at loopback


class LoopbackResolver(AbstractResolver):
    """DNS for the test: `REMOTE` is at 127.0.0.1, any other name does not resolve."""

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        if host != REMOTE:
            raise OSError(f"{host} does not resolve")
        return [
            ResolveResult(
                hostname=host, host="127.0.0.1", port=port, family=socket.AF_INET,
                proto=0, flags=socket.AI_NUMERICHOST,
            )
        ]  # fmt: skip

    async def close(self) -> None:
        """Nothing to close."""

    async def real_close(self) -> None:
        """Home Assistant closes its resolver with this when it stops."""


@pytest.fixture(autouse=True)
def resolver() -> Iterator[None]:
    """Home Assistant's sessions resolve names with `LoopbackResolver`."""
    with patch(
        "homeassistant.helpers.aiohttp_client._async_make_resolver",
        return_value=LoopbackResolver(),
    ):
        yield


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> ssl.SSLContext:
    """A server-side TLS context with a self-signed certificate, as a home server has."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "jellyfin.home")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    folder = tmp_path_factory.mktemp("tls")
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(Path(cert_file), Path(key_file))
    return context


@pytest.fixture
async def serve_tls(socket_enabled: None, tls: ssl.SSLContext) -> AsyncIterator[Any]:
    """Start apps over https on 127.0.0.1; returns each one's https base URL.

    A client that refuses the certificate aborts the handshake, which asyncio reports as an
    error of the serving loop when that runs in debug mode: Home Assistant's test fixture would
    fail the test on it. The loop runs without debug while these servers do.
    """
    loop = asyncio.get_running_loop()
    debug = loop.get_debug()
    loop.set_debug(False)
    servers: list[TestServer] = []

    async def start(app: web.Application) -> str:
        server = TestServer(app, host="127.0.0.1")
        await server.start_server(ssl=tls)
        servers.append(server)
        return str(server.make_url("")).rstrip("/")

    yield start
    for server in servers:
        await server.close()
    loop.set_debug(debug)


@pytest.fixture(params=[JELLYFIN, EMBY], ids=lambda brand: brand.kind)
def brand(request: pytest.FixtureRequest) -> Brand:
    """Each test once per server kind."""
    chosen: Brand = request.param
    return chosen


def bare(url: str) -> str:
    """The address as a user types it: without the scheme."""
    return url.split("://", 1)[1]


def suggested_url(result: ConfigFlowResult, key: str = "url") -> Any:
    schema = result["data_schema"]
    assert schema is not None
    field = next(field for field in schema.schema if str(field) == key)
    return field.description["suggested_value"]


async def password_form(hass: HomeAssistant, brand: Brand) -> str:
    return (await brand.password_form(hass, await choose(hass, brand.kind)))["flow_id"]


async def sign_in(
    hass: HomeAssistant, flow_id: str, url: str, *, verify_ssl: bool = True
) -> ConfigFlowResult:
    return await hass.config_entries.flow.async_configure(
        flow_id,
        {
            "url": url,
            "username": "alice",
            "password": PASSWORD,
            "advanced": {"verify_ssl": verify_ssl},
        },
    )


# -- which scheme -------------------------------------------------------------------------------


async def test_an_address_typed_without_a_scheme_is_used_over_https_when_the_server_speaks_it(
    hass: HomeAssistant, serve_tls: Any, brand: Brand
) -> None:
    state = MediaBrowserState(brand.flavour)
    state.add_user("alice", PASSWORD)
    url = await serve_tls(mediabrowser_app(state))
    assert url.startswith("https://")
    flow_id = await password_form(hass, brand)

    # A self-signed certificate: the user turned verification off.
    result = await sign_in(hass, flow_id, bare(url), verify_ssl=False)

    assert result["type"] is FlowResultType.CREATE_ENTRY, result
    assert result["result"].data["base_url"] == url


async def test_a_certificate_that_is_not_trusted_is_no_reason_to_fall_back_to_http(
    hass: HomeAssistant, serve_tls: Any, brand: Brand
) -> None:
    state = MediaBrowserState(brand.flavour)
    state.add_user("alice", PASSWORD)
    app = mediabrowser_app(state)
    url = await serve_tls(app)
    flow_id = await password_form(hass, brand)

    result = await sign_in(hass, flow_id, bare(url))

    # The server speaks https; its certificate is for the user to trust, not to get around.
    assert result["errors"] == {"base": "cannot_connect"}
    assert suggested_url(result) == url
    assert app[RECORDED] == []  # the handshake failed: the password never left


async def test_an_address_typed_without_a_scheme_falls_back_to_http_when_https_cannot_connect(
    hass: HomeAssistant, serve: Any, brand: Brand
) -> None:
    server = await start_server(serve, brand)
    flow_id = await password_form(hass, brand)

    # The server speaks plain http on its port (loopback: nothing to warn about).
    result = await sign_in(hass, flow_id, bare(server.url))

    assert result["type"] is FlowResultType.CREATE_ENTRY, result
    assert result["result"].data["base_url"] == server.url


# -- the warning --------------------------------------------------------------------------------


async def test_a_password_for_a_plain_http_server_on_the_internet_waits_for_the_users_word(
    hass: HomeAssistant, serve: Any, brand: Brand
) -> None:
    state = MediaBrowserState(brand.flavour)
    state.add_user("alice", PASSWORD)
    app = mediabrowser_app(state)
    port = (await serve(app)).rsplit(":", 1)[1]
    flow_id = await password_form(hass, brand)

    # Typed without a scheme: https cannot connect there, so it would be http.
    result = await sign_in(hass, flow_id, f"{REMOTE}:{port}")

    plain = f"http://{REMOTE}:{port}"
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "plain_http"
    assert result["description_placeholders"] == {"url": plain, "host": REMOTE}
    assert suggested_url(result) == plain
    assert app[RECORDED] == []  # the https attempt failed its handshake; nothing else was sent

    result = await hass.config_entries.flow.async_configure(flow_id, {"url": plain})

    assert result["type"] is FlowResultType.CREATE_ENTRY, result
    assert result["result"].data["base_url"] == plain


async def test_the_warning_takes_another_address_instead(
    hass: HomeAssistant, serve: Any, serve_tls: Any, brand: Brand
) -> None:
    state = MediaBrowserState(brand.flavour)
    state.add_user("alice", PASSWORD)
    plain_app = mediabrowser_app(state)
    port = (await serve(plain_app)).rsplit(":", 1)[1]
    secure = await serve_tls(mediabrowser_app(state))  # the same server behind a proxy
    flow_id = await password_form(hass, brand)
    result = await sign_in(hass, flow_id, f"http://{REMOTE}:{port}", verify_ssl=False)
    assert result["step_id"] == "plain_http"

    result = await hass.config_entries.flow.async_configure(flow_id, {"url": secure})

    assert result["type"] is FlowResultType.CREATE_ENTRY, result
    assert result["result"].data["base_url"] == secure
    assert plain_app[RECORDED] == []


async def test_the_warning_comes_again_for_an_address_it_was_not_given_for(
    hass: HomeAssistant, serve: Any, brand: Brand
) -> None:
    server = await start_server(serve, brand)
    port = server.url.rsplit(":", 1)[1]
    flow_id = await password_form(hass, brand)
    result = await sign_in(hass, flow_id, f"http://{REMOTE}:{port}")

    # Another plain http address on the internet (the same name on another port) is asked
    # about in turn; the first answer was about the first address only.
    result = await hass.config_entries.flow.async_configure(flow_id, {"url": f"http://{REMOTE}:9"})

    assert result["step_id"] == "plain_http"
    assert result["description_placeholders"] == {"url": f"http://{REMOTE}:9", "host": REMOTE}


@pytest.mark.parametrize(
    "address", ["127.0.0.1", "localhost", "jellyfin.local"], ids=["loopback", "bare", "mdns"]
)
async def test_a_plain_http_server_on_the_local_network_is_not_warned_about(
    hass: HomeAssistant, socket_enabled: None, brand: Brand, address: str
) -> None:
    flow_id = await password_form(hass, brand)

    # Nothing listens there: the flow goes straight on to sign in, and says it cannot connect.
    result = await sign_in(hass, flow_id, f"http://{address}:9")

    assert result["step_id"] == brand.password_step
    assert result["errors"] == {"base": "cannot_connect"}


async def test_reconfigure_to_a_plain_http_address_on_the_internet_is_warned_about(
    hass: HomeAssistant, serve: Any, brand: Brand
) -> None:
    server = await start_server(serve, brand)
    token = server.state.issue_token(server.user)
    entry = server_entry(server, tokens={"access_token": token})
    entry.add_to_hass(hass)
    plain = f"http://{REMOTE}:{server.url.rsplit(':', 1)[1]}"

    result = await entry.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {"url": plain})
    assert result["step_id"] == "plain_http"
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {"url": plain})

    assert result["reason"] == "reconfigure_successful"
    assert entry.data["base_url"] == plain


async def test_quick_connect_with_a_plain_http_address_on_the_internet_is_warned_about(
    hass: HomeAssistant,
) -> None:
    result = await choose(hass, "jellyfin")
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "jellyfin_quick_connect"}
    )

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"url": f"http://{REMOTE}:9"}
    )

    assert result["step_id"] == "plain_http"


# -- Plex ---------------------------------------------------------------------------------------


async def test_a_plex_token_for_a_plain_http_server_on_the_internet_waits_for_the_users_word(
    hass: HomeAssistant, serve: Any
) -> None:
    sim = PlexSim()
    apps = make_apps(sim)
    server_port = (await serve(apps.server)).rsplit(":", 1)[1]
    advanced = {
        "plex_tv_url": await serve(apps.plex_tv),
        "discover_url": await serve(apps.discover),
        "metadata_url": await serve(apps.metadata),
    }
    result = await choose(hass, "plex")
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "plex_direct"}
    )
    flow_id = result["flow_id"]

    result = await hass.config_entries.flow.async_configure(
        flow_id,
        {"server_url": f"{REMOTE}:{server_port}", "token": ACCOUNT_TOKEN, "advanced": advanced},
    )

    plain = f"http://{REMOTE}:{server_port}"
    assert result["step_id"] == "plain_http"
    assert result["description_placeholders"] == {"url": plain, "host": REMOTE}
    assert apps.server[RECORDED] == []
    result = await hass.config_entries.flow.async_configure(flow_id, {"url": plain})
    assert result["type"] is FlowResultType.CREATE_ENTRY, result
    assert result["result"].data["server_url"] == plain


# -- what is local ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("host", "local"),
    [
        ("192.168.1.10", True),
        ("10.0.0.5", True),
        ("172.16.3.4", True),
        ("127.0.0.1", True),
        ("169.254.10.20", True),
        ("::1", True),
        ("[fe80::1]", True),
        ("fd12:3456::1", True),
        ("nas", True),
        ("jellyfin.local", True),
        ("Jellyfin.Local.", True),
        ("203.0.113.7", False),
        ("8.8.8.8", False),
        ("2001:db8::1", False),
        ("media.example.com", False),
        ("nas.local.example.com", False),
    ],
)
def test_which_hosts_are_on_the_local_network(host: str, local: bool) -> None:
    assert is_local_host(host) is local
