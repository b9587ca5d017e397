"""SIMKL AUTH V2 in the browser: the authorization code with PKCE (S256), auth-v2.md §8."""

from dataclasses import dataclass
import re

import aiohttp
import pytest
from yarl import URL

from custom_components.crosswatch.clients.errors import CrossWatchAuthenticationError
from custom_components.crosswatch.clients.http import RetryPolicy
from custom_components.crosswatch.clients.simkl.auth import (
    SCOPE,
    SimklOAuth,
    authorize_url_for,
    code_challenge,
    new_code_verifier,
)
from custom_components.crosswatch.clients.simkl.client import SimklApi
from tests.providers.conftest import Serve
from tests.simulators.simkl import PKCE_CLIENT_ID, V2_CLIENT_ID, SimklState, simkl_app

pytestmark = pytest.mark.usefixtures("socket_enabled")

REDIRECT = "https://example.com/auth/external/callback"
UNRESERVED = re.compile(r"[A-Za-z0-9\-._~]+")


@dataclass
class Rig:
    state: SimklState
    base: str
    oauth: SimklOAuth
    session: aiohttp.ClientSession

    async def consent(
        self, verifier: str, *, method: str = "S256", client_id: str = PKCE_CLIENT_ID
    ) -> aiohttp.ClientResponse:
        """The user's browser opens the consent page; its redirect is not followed."""
        url = URL(authorize_url_for(self.base)).with_query(
            response_type="code",
            client_id=client_id,
            redirect_uri=REDIRECT,
            scope=SCOPE,
            state="opaque-state",
            code_challenge=code_challenge(verifier) if method == "S256" else verifier,
            code_challenge_method=method,
        )
        async with self.session.get(url, allow_redirects=False) as reply:
            await reply.read()
            return reply

    async def code(self, verifier: str) -> str:
        reply = await self.consent(verifier)
        assert reply.status == 302
        return URL(reply.headers["Location"]).query["code"]


async def rig(serve: Serve, session: aiohttp.ClientSession) -> Rig:
    state = SimklState()
    state.register_redirect_uri(REDIRECT)
    base = await serve(simkl_app(state))
    oauth = SimklOAuth(
        session,
        PKCE_CLIENT_ID,
        base_url=base,
        retry=RetryPolicy(backoff=0),
        now=lambda: state.now.timestamp(),  # noqa: PLW0108 - `state.now` moves
    )
    return Rig(state, base, oauth, session)


def test_a_verifier_is_43_to_128_unreserved_characters_and_never_repeats() -> None:
    verifiers = {new_code_verifier() for _ in range(20)}
    assert len(verifiers) == 20
    assert all(len(v) == 128 and UNRESERVED.fullmatch(v) for v in verifiers)
    assert len(new_code_verifier(43)) == 43
    for length in (42, 129):
        with pytest.raises(ValueError, match="43 to 128"):
            new_code_verifier(length)


def test_the_challenge_is_rfc_7636s_s256() -> None:
    # RFC 7636, appendix B.
    verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
    assert code_challenge(verifier) == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


def test_the_consent_page_is_on_simkl_com_or_on_a_test_server() -> None:
    assert authorize_url_for("https://api.simkl.com") == "https://simkl.com/oauth2/authorize"
    assert authorize_url_for("http://127.0.0.1:8080/") == "http://127.0.0.1:8080/oauth2/authorize"


async def test_an_allowed_consent_is_exchanged_once_for_a_writable_v2_grant(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig_ = await rig(serve, session)
    verifier = new_code_verifier()
    reply = await rig_.consent(verifier)

    assert reply.status == 302
    back = URL(reply.headers["Location"])
    assert str(back.with_query(None)) == REDIRECT
    assert back.query["state"] == "opaque-state"
    assert back.query["iss"] == "https://simkl.com"
    grant = await rig_.oauth.exchange_code(back.query["code"], verifier, REDIRECT)

    assert grant.can_write
    assert grant.scopes == {"media:read", "media:write"}
    assert grant.tokens.access_token.startswith("simkl_at_")
    assert grant.tokens.refresh_token == rig_.state.grants[0].refresh_token
    assert grant.tokens.expires_at == pytest.approx(rig_.state.now.timestamp() + 7 * 86400)
    # The token works on the API and renews like any V2 grant.
    api = SimklApi(session, PKCE_CLIENT_ID, grant.tokens.access_token, base_url=rig_.base)
    assert (await api.settings()).account_id == "51"
    assert grant.tokens.refresh_token is not None
    assert (await rig_.oauth.refresh(grant.tokens.refresh_token)).access_token.endswith("_1")
    # A code works once.
    with pytest.raises(CrossWatchAuthenticationError, match="invalid_grant"):
        await rig_.oauth.exchange_code(back.query["code"], verifier, REDIRECT)


async def test_a_wrong_verifier_is_refused_and_burns_the_code(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig_ = await rig(serve, session)
    verifier = new_code_verifier()
    code = await rig_.code(verifier)

    with pytest.raises(CrossWatchAuthenticationError, match="invalid_grant"):
        await rig_.oauth.exchange_code(code, new_code_verifier(), REDIRECT)
    with pytest.raises(CrossWatchAuthenticationError, match="invalid_grant"):
        await rig_.oauth.exchange_code(code, verifier, REDIRECT)  # the right one, too late
    assert rig_.state.grants == []


async def test_the_exchange_must_name_the_consent_pages_redirect_uri(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig_ = await rig(serve, session)
    verifier = new_code_verifier()
    code = await rig_.code(verifier)

    with pytest.raises(CrossWatchAuthenticationError, match="invalid_grant"):
        await rig_.oauth.exchange_code(code, verifier, "https://example.com/other")
    assert rig_.state.auth_codes[code].used


async def test_a_declined_consent_redirects_with_access_denied(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig_ = await rig(serve, session)
    rig_.state.consent_declined = True

    reply = await rig_.consent(new_code_verifier())

    assert reply.status == 302
    query = URL(reply.headers["Location"]).query
    assert query["error"] == "access_denied"
    assert query["state"] == "opaque-state"
    assert "code" not in query
    assert rig_.state.auth_codes == {}


async def test_the_consent_page_refuses_plain_pkce_and_unknown_redirects_without_redirecting(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig_ = await rig(serve, session)

    plain = await rig_.consent(new_code_verifier(), method="plain")
    device_app = await rig_.consent(new_code_verifier(), client_id=V2_CLIENT_ID)
    rig_.state.redirect_uris.clear()
    unregistered = await rig_.consent(new_code_verifier())

    assert [plain.status, device_app.status, unregistered.status] == [400, 400, 400]
    assert all("Location" not in r.headers for r in (plain, device_app, unregistered))
    assert rig_.state.auth_codes == {}
