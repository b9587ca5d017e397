"""The engine's and the providers' errors, translated into Home Assistant's in one place.

Every boundary where a provider error could reach Home Assistant wears `translate_errors`:
- a coordinator update raises `UpdateFailed`, so the coordinator marks its entities
  unavailable and logs once;
- an action (a button, an action call, a repair's decision) raises `HomeAssistantError`,
  which Home Assistant shows the user in their language;
- an account's setup raises `ConfigEntryAuthFailed` (reauth) or `ConfigEntryNotReady` (retry).

A refused sign-in also starts the reauth flow of the account that refused, wherever it surfaced.
A service that refuses the API app itself (`AppRefusedError`: Trakt's deleted apps, VIP
required) is no refused sign-in: it never starts a reauth, which could not succeed. It reads
as its own message (keyed by the refusal's code) and setup stops with `ConfigEntryError`; the
subject's `on_app_refused` raises the repair that explains it.
Errors Home Assistant already knows (a `ServiceValidationError` for an unknown pair, an error
translated further down) pass through unchanged.

Config flows show form errors instead (`form_error`): "cannot_connect" only when the service
could not be reached, "invalid_response" when it answered but refused or answered nonsense. The
flows call clients directly too: a client's error is read as the providers translate it
(`providers/client_errors.py`), so both kinds of error read alike.
"""

from collections.abc import Awaitable, Callable, Coroutine, Iterable, Mapping
from dataclasses import dataclass
from enum import Enum
from functools import wraps
from typing import Any, Concatenate, Protocol

import aiohttp
from homeassistant.exceptions import (
    ConfigEntryAuthFailed,
    ConfigEntryError,
    ConfigEntryNotReady,
    HomeAssistantError,
)
from homeassistant.helpers.update_coordinator import UpdateFailed

from .clients.errors import (
    CrossWatchClientError,
    CrossWatchConnectionError,
    CrossWatchReadOnlyError,
)
from .const import DOMAIN, LOGGER
from .engine.provider import AuthError, ProviderError
from .providers.client_errors import AppRefusedError, client_cause, engine_error


@dataclass(frozen=True, slots=True)
class _Translation:
    """How one kind of failure reads: the class Home Assistant shows it as, and its key."""

    error: type[HomeAssistantError]
    key: str
    with_detail: bool  # whether the message quotes the provider's own words ({error})


class Boundary(Enum):
    """Where a provider error meets Home Assistant; each says how refusals and failures read."""

    UPDATE = (
        _Translation(UpdateFailed, "auth_failed", with_detail=False),
        _Translation(UpdateFailed, "run_failed", with_detail=True),
        UpdateFailed,
    )
    ACTION = (
        _Translation(HomeAssistantError, "auth_failed", with_detail=False),
        _Translation(HomeAssistantError, "run_failed", with_detail=True),
        HomeAssistantError,
    )
    # An account's own entities: its watchlist's reads and the user's edits of it.
    ACCOUNT_UPDATE = (
        _Translation(UpdateFailed, "account_auth_failed", with_detail=False),
        _Translation(UpdateFailed, "account_read_failed", with_detail=True),
        UpdateFailed,
    )
    ACCOUNT_ACTION = (
        _Translation(HomeAssistantError, "account_auth_failed", with_detail=False),
        _Translation(HomeAssistantError, "account_write_failed", with_detail=True),
        HomeAssistantError,
    )
    SETUP = (
        _Translation(ConfigEntryAuthFailed, "account_auth_failed", with_detail=False),
        _Translation(ConfigEntryNotReady, "account_unavailable", with_detail=True),
        ConfigEntryError,
    )

    def __init__(
        self,
        refused: _Translation,
        failed: _Translation,
        app_refused: type[HomeAssistantError],
    ) -> None:
        """How each kind of error reads at this boundary.

        A refused sign-in (AuthError) reads as `refused`, a refused app (AppRefusedError) as its
        own message raised as `app_refused`, any other failure as `failed`.
        """
        self.refused = refused
        self.failed = failed
        self.app_refused = app_refused


@dataclass(frozen=True, slots=True)
class ErrorSubject:
    """Who failed, as the messages name it, and who to ask to sign in again.

    `placeholders` names the subject ({"pair": ...} or {"account": ...}); `on_refused` starts
    the reauth flow of the account that refused (setup leaves that to Home Assistant), and
    `on_app_refused` raises the repair of an account whose service refuses its API app.
    """

    placeholders: Mapping[str, str]
    on_refused: Callable[[AuthError], None] = lambda _: None
    on_app_refused: Callable[[AppRefusedError], None] = lambda _: None


class HasErrorSubject(Protocol):
    """What a translated method runs on: a pair's coordinator or entity, an account."""

    @property
    def error_subject(self) -> ErrorSubject:
        """Who failed, as the messages name it."""


def translated(err: ProviderError, subject: ErrorSubject, boundary: Boundary) -> HomeAssistantError:
    """The Home Assistant error a provider error becomes at `boundary` (raise it from `err`)."""
    if isinstance(err, AppRefusedError):
        # Named by whoever failed (a pair or an account), whichever the subject is.
        who = next(iter(subject.placeholders.values()), "")
        return boundary.app_refused(
            translation_domain=DOMAIN,
            translation_key=err.code,
            translation_placeholders={**subject.placeholders, "subject": who},
        )
    translation = boundary.refused if isinstance(err, AuthError) else boundary.failed
    key = translation.key
    if client_cause(err, CrossWatchReadOnlyError) is not None:
        key = f"{key}_read_only"  # signed in, but allowed only to read: say so
    placeholders = dict(subject.placeholders)
    if translation.with_detail:
        placeholders["error"] = str(err)
    return translation.error(
        translation_domain=DOMAIN,
        translation_key=key,
        translation_placeholders=placeholders,
    )


def rate_limited(pair: str, accounts: Iterable[str], retry_after: float | None) -> UpdateFailed:
    """The failure of a run that rate limits stopped before it could plan anything.

    Not an exception of a provider but a run's result. Home Assistant schedules the pair's next
    refresh after `retry_after` (the provider's own Retry-After), then returns to its interval.
    """
    placeholders = {"pair": pair, "accounts": ", ".join(accounts)}
    if retry_after is None:
        return UpdateFailed(
            translation_domain=DOMAIN,
            translation_key="rate_limited_no_wait",
            translation_placeholders=placeholders,
        )
    return UpdateFailed(
        translation_domain=DOMAIN,
        translation_key="rate_limited",
        translation_placeholders={**placeholders, "seconds": f"{retry_after:.0f}"},
        retry_after=retry_after,
    )


def translate_errors[S: HasErrorSubject, **P, R](
    boundary: Boundary,
) -> Callable[
    [Callable[Concatenate[S, P], Awaitable[R]]], Callable[Concatenate[S, P], Coroutine[Any, Any, R]]
]:
    """Decorate a method (or a function whose first argument names the subject) at `boundary`.

    A refused sign-in starts the refusing account's reauth, a refused app raises its repair,
    then every kind of failure is raised as `boundary` translates it.
    """

    def decorate(
        func: Callable[Concatenate[S, P], Awaitable[R]],
    ) -> Callable[Concatenate[S, P], Coroutine[Any, Any, R]]:
        @wraps(func)
        async def translating(subject: S, /, *args: P.args, **kwargs: P.kwargs) -> R:
            try:
                return await func(subject, *args, **kwargs)
            except ProviderError as err:
                named = subject.error_subject
                if isinstance(err, AuthError):
                    named.on_refused(err)
                if isinstance(err, AppRefusedError):
                    named.on_app_refused(err)
                raise translated(err, named, boundary) from err

        return translating

    return decorate


def is_connection_problem(err: BaseException) -> bool:
    """Whether the service could not be reached at all (rather than answering badly).

    Exactly when the error, or an error it was raised from, says so: a client's
    CrossWatchConnectionError (no connection made, no answer in time, the connection lost), or
    the network's own error where something raised from one directly. Anything else came with
    an answer (a refusal, a 5xx, a rate limit, a reply we could not use) or from our own checks
    of one: a bare ProviderError is no connection problem.
    """
    seen: BaseException | None = err
    while seen is not None:
        if isinstance(
            seen,
            CrossWatchConnectionError | aiohttp.ClientConnectionError | OSError | TimeoutError,
        ):
            return True
        seen = seen.__cause__
    return False


def as_provider_error(err: BaseException | None) -> BaseException | None:
    """A client's error as the providers translate it (caused by it); any other unchanged."""
    if not isinstance(err, CrossWatchClientError):
        return err
    translated_error = engine_error(err)
    translated_error.__cause__ = err
    return translated_error


def form_error(err: BaseException | None) -> str:
    """The config flow form error for a failed check: refused, unreachable, bad answer, or bug."""
    err = as_provider_error(err)
    if isinstance(err, AuthError):
        return "invalid_auth"
    if isinstance(err, AppRefusedError):
        return err.code
    if isinstance(err, ProviderError):
        return "cannot_connect" if is_connection_problem(err) else "invalid_response"
    LOGGER.error("Unexpected error while checking an account: %r", err)
    return "unknown"
