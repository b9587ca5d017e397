"""Server options (TLS verification), and what each kind of entry supports."""

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
import ipaddress
from pathlib import Path
import ssl
import threading
from typing import Any

from aiohttp.test_utils import TestServer
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from homeassistant.config_entries import (
    SOURCE_RECONFIGURE,
    SOURCE_USER,
    ConfigEntryState,
    ConfigFlowResult,
)
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType, UnknownHandler
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.crosswatch.const import DOMAIN
from tests.simulators.mediabrowser import Flavour, MediaBrowserState, mediabrowser_app

PASSWORD = "correct horse"


def fields(result: ConfigFlowResult) -> dict[Any, Any]:
    """The fields of a form's schema."""
    schema = result["data_schema"]
    assert schema is not None
    return dict(schema.schema)


@pytest.fixture
def self_signed(tmp_path: Path) -> ssl.SSLContext:
    """A server TLS context with a self-signed certificate for 127.0.0.1."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "jellyfin.local")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_file, key_file)
    return context


@pytest.fixture
def jellyfin_tls(
    socket_enabled: None, self_signed: ssl.SSLContext
) -> Iterator[tuple[MediaBrowserState, str]]:
    """A Jellyfin server behind a self-signed certificate.

    It runs on its own thread and loop, like a server on another machine: a client that
    refuses the certificate aborts the handshake, which the server's loop reports as an error.
    """
    state = MediaBrowserState(Flavour.JELLYFIN)
    state.add_user("alice", PASSWORD)
    loop = asyncio.new_event_loop()
    server = TestServer(mediabrowser_app(state), host="127.0.0.1")
    started = threading.Event()

    def run() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(server.start_server(ssl=self_signed))
        started.set()
        loop.run_forever()
        loop.run_until_complete(server.close())
        loop.close()

    thread = threading.Thread(target=run, name="self-signed jellyfin")
    thread.start()
    assert started.wait(10)
    url = str(server.make_url("")).rstrip("/")
    assert url.startswith("https://")
    yield state, url
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)


async def sign_in(hass: HomeAssistant, url: str, **advanced: Any) -> ConfigFlowResult:
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "jellyfin"}
    )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "jellyfin_password"}
    )
    return await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {"url": url, "username": "alice", "password": PASSWORD, "advanced": advanced},
    )


async def test_a_self_signed_server_needs_verification_off_and_the_choice_is_kept(
    hass: HomeAssistant, jellyfin_tls: tuple[MediaBrowserState, str]
) -> None:
    _, url = jellyfin_tls

    result = await sign_in(hass, url)
    assert result["errors"] == {"base": "cannot_connect"}  # the certificate is not trusted

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {"url": url, "username": "alice", "password": PASSWORD, "advanced": {"verify_ssl": False}},
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY, result
    entry = result["result"]
    assert entry.options == {"verify_ssl": False}
    await hass.async_block_till_done(wait_background_tasks=True)
    assert entry.state is ConfigEntryState.LOADED  # the entry connects as the flow did


async def test_the_options_turn_verification_on_and_off_and_reload_the_entry(
    hass: HomeAssistant, jellyfin_tls: tuple[MediaBrowserState, str]
) -> None:
    _, url = jellyfin_tls
    entry = (await sign_in(hass, url, verify_ssl=False))["result"]
    await hass.async_block_till_done(wait_background_tasks=True)
    assert entry.supports_options

    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "init"
    (field,) = fields(result)
    assert field.default() is False  # the current choice
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"verify_ssl": True}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done(wait_background_tasks=True)

    assert entry.options == {"verify_ssl": True}
    # Reloaded with verification on, the self-signed server is no longer reachable.
    assert entry.state is ConfigEntryState.SETUP_RETRY

    result = await hass.config_entries.options.async_init(entry.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"verify_ssl": False}
    )
    await hass.async_block_till_done(wait_background_tasks=True)
    assert entry.options == {"verify_ssl": False}
    assert entry.state is ConfigEntryState.LOADED


async def test_reconfigure_uses_the_entrys_tls_choice(
    hass: HomeAssistant, jellyfin_tls: tuple[MediaBrowserState, str]
) -> None:
    _, url = jellyfin_tls
    entry = (await sign_in(hass, url, verify_ssl=False))["result"]
    await hass.async_block_till_done(wait_background_tasks=True)

    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_RECONFIGURE, "entry_id": entry.entry_id}
    )
    assert "advanced" not in fields(result)
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {"url": url})

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"


def trakt_entry() -> MockConfigEntry:
    return MockConfigEntry(
        domain=DOMAIN,
        title="Trakt (alice)",
        unique_id="trakt:alice",
        data={"kind": "trakt", "account_id": "alice"},
    )


async def test_accounts_that_are_not_servers_have_no_options(hass: HomeAssistant) -> None:
    entry = trakt_entry()
    entry.add_to_hass(hass)
    sync = MockConfigEntry(domain=DOMAIN, unique_id="crosswatch_sync", data={"kind": "sync"})
    sync.add_to_hass(hass)

    assert not entry.supports_options
    assert sync.supports_options  # the anime id map's URL (test_anime_map.py)
    with pytest.raises(UnknownHandler):
        await hass.config_entries.options.async_init(entry.entry_id)


async def test_accounts_that_are_not_servers_cannot_be_reconfigured(hass: HomeAssistant) -> None:
    entry = trakt_entry()
    entry.add_to_hass(hass)

    result = await entry.start_reconfigure_flow(hass)

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_not_supported"


async def test_account_entries_hold_no_subentries_and_the_sync_entry_is_added_once(
    hass: HomeAssistant,
) -> None:
    entry = trakt_entry()
    entry.add_to_hass(hass)
    assert entry.supported_subentry_types == {}

    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    assert "sync" in result["menu_options"]
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "sync"}
    )
    assert result["step_id"] == "sync"
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    sync = result["result"]
    assert sync.data == {"kind": "sync"}
    assert set(sync.supported_subentry_types) == {"pair"}

    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    assert "sync" not in result["menu_options"]
