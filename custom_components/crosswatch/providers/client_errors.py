"""The one place where the clients' errors become the engine's.

The clients (`..clients`) know nothing of the engine; the adapters here speak to the engine. An
adapter holds its client through `translating(client)`, so every call it makes raises the
engine's errors and its own except clauses read them as before; any other call into client code
(a reply's `json()`, a parser) runs inside `engine_errors()`; and the engine-facing methods
(health, read, write, count_agrees) wear `@translates_client_errors` as a backstop. Whatever a
client raises reaches the engine as the matching provider error, with the client error as its
cause:

    CrossWatchAuthenticationError   -> AuthError
    CrossWatchRateLimitError        -> RateLimitError (retry_after kept)
    CrossWatchAccountLimitError     -> AccountLimitError (limit kept)
    CrossWatchAccountLockedError    -> AccountLockedError
    CrossWatchAppRefusedError       -> AppRefusedError, an AccountLockedError (code kept): the
                                       service refuses the app itself, so no reauth can help
    CrossWatchServerError (a 5xx)   -> ServerFaultError, an HttpError and an OutcomeUnknownError
    CrossWatchResponseError         -> HttpError (status and body kept, for the adapters)
    CrossWatchOutcomeUnknownError   -> OutcomeUnknownError (a timeout, a connection lost after
                                       sending: the service may have acted)
    any other CrossWatchClientError -> ProviderError

The order matters only in that nothing outcome-unknown may become a plain ProviderError: a
write whose reply was lost must reach the applier as OutcomeUnknownError, never as a failure.
"""

from collections.abc import Awaitable, Callable, Coroutine, Iterator
from contextlib import contextmanager
from functools import wraps
import inspect
from typing import Any, cast

from ..clients.errors import (
    CrossWatchAccountLimitError,
    CrossWatchAccountLockedError,
    CrossWatchAppRefusedError,
    CrossWatchAuthenticationError,
    CrossWatchClientError,
    CrossWatchOutcomeUnknownError,
    CrossWatchRateLimitError,
    CrossWatchResponseError,
    CrossWatchServerError,
)
from ..engine.provider import (
    AccountLimitError,
    AccountLockedError,
    AuthError,
    OutcomeUnknownError,
    ProviderError,
    RateLimitError,
)


class HttpError(ProviderError):
    """The service answered with an error status no client handles (the client's status kept)."""

    def __init__(self, status: int, message: str, body: str = "") -> None:
        """Keep the status and (a bounded part of) the body for diagnostics."""
        super().__init__(message)
        self.status = status
        self.body = body


class ServerFaultError(HttpError, OutcomeUnknownError):
    """The service answered 5xx: it may have done what was asked before failing."""


class AppRefusedError(AccountLockedError):
    """The service refuses the API app itself (e.g. Trakt's deleted apps): no sign-in helps.

    For the engine an account it cannot use until its owner acts, as a locked one; `code` (the
    client error's) says which refusal it was, for the message and the repair that explain it.
    """

    def __init__(self, message: str, code: str) -> None:
        """Keep the refusal's code."""
        super().__init__(message)
        self.code = code


def engine_error(err: CrossWatchClientError) -> ProviderError:
    """The engine's error for a client's (raise it `from err`)."""
    message = str(err)
    if isinstance(err, CrossWatchAuthenticationError):
        return AuthError(message)
    if isinstance(err, CrossWatchRateLimitError):
        return RateLimitError(message, err.retry_after)
    if isinstance(err, CrossWatchAccountLimitError):
        return AccountLimitError(message, err.limit)
    if isinstance(err, CrossWatchAccountLockedError):
        return AccountLockedError(message)
    if isinstance(err, CrossWatchAppRefusedError):
        return AppRefusedError(message, err.code)
    if isinstance(err, CrossWatchServerError):
        return ServerFaultError(err.status, message, err.body)
    if isinstance(err, CrossWatchResponseError):
        return HttpError(err.status, message, err.body)
    if isinstance(err, CrossWatchOutcomeUnknownError):
        return OutcomeUnknownError(message)
    return ProviderError(message)


@contextmanager
def engine_errors() -> Iterator[None]:
    """Raise whatever client error the block raises as the engine's matching error."""
    try:
        yield
    except CrossWatchClientError as err:
        raise engine_error(err) from err


def translates_client_errors[**P, R](
    func: Callable[P, Awaitable[R]],
) -> Callable[P, Coroutine[Any, Any, R]]:
    """Decorate an async adapter method so that client errors leave it as engine errors."""

    @wraps(func)
    async def translating(*args: P.args, **kwargs: P.kwargs) -> R:
        with engine_errors():
            return await func(*args, **kwargs)

    return translating


def client_cause[E: CrossWatchClientError](err: BaseException, kind: type[E]) -> E | None:
    """The client error of `kind` that `err` was translated from, if it was.

    For an adapter that tells a service's own refusals apart (AniList's GraphQL errors).
    """
    cause = err.__cause__
    return cause if isinstance(cause, kind) else None


def translating[C](client: C) -> C:
    """`client` as an adapter holds it: every method it calls raises the engine's errors.

    Attributes read and written pass through; a method (coroutine or not) is wrapped so that a
    client error it raises leaves it as the engine's error. The adapter keeps the client's type.
    """
    return cast(C, _Translating(client))


class _Translating:
    """The proxy `translating` returns (see there)."""

    __slots__ = ("_target",)

    def __init__(self, target: object) -> None:
        object.__setattr__(self, "_target", target)

    def __getattr__(self, name: str) -> Any:
        with engine_errors():
            value = getattr(self._target, name)
        if inspect.iscoroutinefunction(value):
            return translates_client_errors(value)
        if inspect.ismethod(value) or inspect.isfunction(value):
            return _translating_call(value)
        return value

    def __setattr__(self, name: str, value: object) -> None:
        setattr(self._target, name, value)


def _translating_call[**P, R](func: Callable[P, R]) -> Callable[P, R]:
    @wraps(func)
    def translating_call(*args: P.args, **kwargs: P.kwargs) -> R:
        with engine_errors():
            return func(*args, **kwargs)

    return translating_call
