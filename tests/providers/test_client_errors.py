"""The one boundary where the clients' errors become the engine's (providers/client_errors.py).

Safety first: every error that says the request may have reached the service must reach the
engine as OutcomeUnknownError, so a write whose reply was lost is verified by a read, never
failed and sent again.
"""

import pytest

from custom_components.crosswatch.clients.errors import (
    CrossWatchAccountLimitError,
    CrossWatchAccountLockedError,
    CrossWatchAuthenticationError,
    CrossWatchClientError,
    CrossWatchConnectionError,
    CrossWatchConnectionLostError,
    CrossWatchInvalidResponseError,
    CrossWatchRateLimitError,
    CrossWatchResponseError,
    CrossWatchServerError,
    CrossWatchTimeoutError,
)
from custom_components.crosswatch.engine.provider import (
    AccountLimitError,
    AccountLockedError,
    AuthError,
    OutcomeUnknownError,
    ProviderError,
    RateLimitError,
)
from custom_components.crosswatch.errors import form_error, is_connection_problem
from custom_components.crosswatch.providers.client_errors import (
    HttpError,
    ServerFaultError,
    engine_errors,
    translates_client_errors,
    translating,
)


@pytest.mark.parametrize(
    ("client_error", "engine_type", "outcome_unknown"),
    [
        (CrossWatchTimeoutError("no answer in time"), OutcomeUnknownError, True),
        (CrossWatchConnectionLostError("reset after sending"), OutcomeUnknownError, True),
        (CrossWatchServerError(503, "trouble"), ServerFaultError, True),
        (CrossWatchConnectionError("never connected"), ProviderError, False),
        (CrossWatchResponseError(404, "refused"), HttpError, False),
        (CrossWatchInvalidResponseError("not JSON"), ProviderError, False),
        (CrossWatchAuthenticationError("refused"), AuthError, False),
        (CrossWatchRateLimitError("slow down", 120.0), RateLimitError, False),
        (CrossWatchAccountLimitError("full", 100), AccountLimitError, False),
        (CrossWatchAccountLockedError("locked"), AccountLockedError, False),
        (CrossWatchClientError("anything else"), ProviderError, False),
    ],
)
def test_each_client_error_becomes_its_engine_error(
    client_error: CrossWatchClientError, engine_type: type[ProviderError], outcome_unknown: bool
) -> None:
    with pytest.raises(ProviderError) as caught, engine_errors():
        raise client_error

    assert type(caught.value) is engine_type
    assert isinstance(caught.value, OutcomeUnknownError) is outcome_unknown
    assert caught.value.__cause__ is client_error
    assert str(caught.value) == str(client_error)


def test_what_the_engine_errors_keep() -> None:
    with pytest.raises(ServerFaultError) as server, engine_errors():
        raise CrossWatchServerError(502, "bad gateway", "body")
    with pytest.raises(RateLimitError) as limited, engine_errors():
        raise CrossWatchRateLimitError("slow down", 90.0)
    with pytest.raises(AccountLimitError) as full, engine_errors():
        raise CrossWatchAccountLimitError("full", 100)

    assert (server.value.status, server.value.body) == (502, "body")
    assert isinstance(server.value, HttpError)
    assert limited.value.retry_after == 90.0
    assert full.value.limit == 100


class _Client:
    """A stand-in client: one coroutine, one plain method, one attribute."""

    def __init__(self) -> None:
        self.calls = 0

    async def send(self) -> int:
        self.calls += 1
        raise CrossWatchTimeoutError("did not answer in time")

    def parse(self) -> int:
        raise CrossWatchInvalidResponseError("not JSON")


async def test_a_translated_client_raises_engine_errors_and_passes_attributes() -> None:
    client = _Client()
    held = translating(client)

    with pytest.raises(OutcomeUnknownError):
        await held.send()
    with pytest.raises(ProviderError) as parsed:
        held.parse()
    held.calls = 5

    assert not isinstance(parsed.value, OutcomeUnknownError)
    assert client.calls == 5


async def test_the_decorator_translates_what_leaves_a_coroutine() -> None:
    @translates_client_errors
    async def write() -> None:
        raise CrossWatchServerError(500, "trouble")

    with pytest.raises(OutcomeUnknownError):
        await write()


@pytest.mark.parametrize(
    ("error", "form"),
    [
        (CrossWatchConnectionError("never connected"), "cannot_connect"),
        (CrossWatchTimeoutError("no answer in time"), "cannot_connect"),
        (CrossWatchConnectionLostError("reset"), "cannot_connect"),
        (CrossWatchServerError(503, "trouble"), "invalid_response"),
        (CrossWatchResponseError(404, "refused"), "invalid_response"),
        (CrossWatchInvalidResponseError("not JSON"), "invalid_response"),
        (CrossWatchRateLimitError("slow down"), "invalid_response"),
        (CrossWatchAuthenticationError("refused"), "invalid_auth"),
        (ProviderError("an adapter's own check failed"), "invalid_response"),
    ],
)
def test_the_form_tells_unreachable_from_refused(error: Exception, form: str) -> None:
    assert form_error(error) == form


def test_a_connection_problem_is_found_through_the_engine_error() -> None:
    with pytest.raises(ProviderError) as caught, engine_errors():
        raise CrossWatchTimeoutError("no answer in time")

    assert is_connection_problem(caught.value)
    assert not is_connection_problem(ProviderError("no cause"))
