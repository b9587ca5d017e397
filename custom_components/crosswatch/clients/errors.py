"""The errors every client raises, and nothing else: the engine's errors are not known here.

    CrossWatchClientError                 anything a client could not do
    ├── CrossWatchOutcomeUnknownError     the request may have reached the service (a marker,
    │                                     only ever raised through one of its subclasses below)
    ├── CrossWatchConnectionError         no answer came: the service could not be reached
    │   ├── CrossWatchTimeoutError        ... in time (also outcome-unknown: it may have acted)
    │   └── CrossWatchConnectionLostError the request went out, then the connection broke
    │                                     (also outcome-unknown)
    ├── CrossWatchResponseError           the service answered with a status we do not handle
    │   └── CrossWatchServerError         ... a 5xx (also outcome-unknown: it may have acted
    │                                     before failing)
    ├── CrossWatchInvalidResponseError    the service answered, but nothing usable (not JSON, a
    │                                     field missing, a shape we do not know)
    ├── CrossWatchAuthenticationError     the service refused the credentials, or a sign-in
    │   │                                 failed (an expired code, no refresh token)
    │   └── CrossWatchReadOnlyError       ... to write: the sign-in grants reading only
    ├── CrossWatchRateLimitError          the service asked to slow down (with retry_after)
    ├── CrossWatchAccountLimitError       the account reached a limit of its plan (with limit)
    ├── CrossWatchAccountLockedError      the account is locked or otherwise unusable
    └── CrossWatchAppRefusedError         the service refuses the API app (client id) itself,
                                          whatever the account: no new sign-in can help (with
                                          code, a stable name of the reason; each service's
                                          package defines its own subclasses)

Which failures are outcome-unknown is safety-critical: a write whose reply was lost must never
read as a plain failure, or the engine would take it as not done. Exactly these are: a timeout
(whatever the method), a connection that broke after it was made, and a 5xx answer. A
connection that could not be made at all sent nothing, so it is a plain connection error.
"""


class CrossWatchClientError(Exception):
    """A client could not do what it was asked."""


class CrossWatchOutcomeUnknownError(CrossWatchClientError):
    """The request may have reached the service and been acted on: only a read can tell."""


class CrossWatchConnectionError(CrossWatchClientError):
    """No answer came from the service (it could not be reached, or did not answer)."""


class CrossWatchTimeoutError(CrossWatchConnectionError, CrossWatchOutcomeUnknownError):
    """The service did not answer in time; it may have acted on the request."""


class CrossWatchConnectionLostError(CrossWatchConnectionError, CrossWatchOutcomeUnknownError):
    """The request was sent, then the connection broke before a usable answer."""


class CrossWatchResponseError(CrossWatchClientError):
    """The service answered with an error status that no caller handles generically."""

    def __init__(self, status: int, message: str, body: str = "") -> None:
        """Keep the status and (a bounded part of) the body for diagnostics."""
        super().__init__(f"HTTP {status}: {message}")
        self.status = status
        self.body = body[:500]


class CrossWatchServerError(CrossWatchResponseError, CrossWatchOutcomeUnknownError):
    """The service answered 5xx: it may have done what was asked before failing."""


class CrossWatchInvalidResponseError(CrossWatchClientError):
    """The service answered, but with nothing usable (not JSON, or not the expected shape)."""


class CrossWatchAuthenticationError(CrossWatchClientError):
    """The service refused the credentials, or a sign-in could not be completed."""


class CrossWatchReadOnlyError(CrossWatchAuthenticationError):
    """The sign-in lets CrossWatch read the account but not change it (a read-only grant)."""


class CrossWatchRateLimitError(CrossWatchClientError):
    """The service asked to slow down for longer than a client waits on its own."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        """Keep how long the service asked to wait, when it said."""
        super().__init__(message)
        self.retry_after = retry_after


class CrossWatchAccountLimitError(CrossWatchClientError):
    """The account reached a limit of its plan (a list's size, say)."""

    def __init__(self, message: str, limit: int | None = None) -> None:
        """Keep the limit, when the service said it."""
        super().__init__(message)
        self.limit = limit


class CrossWatchAccountLockedError(CrossWatchClientError):
    """The service locked the account, or will not serve it until its owner acts."""


class CrossWatchAppRefusedError(CrossWatchClientError):
    """The service refuses the API app (its client id) itself, for every account and request.

    Not the account's credentials: signing in again with the same app cannot succeed, so this is
    deliberately no CrossWatchAuthenticationError. `code` names the reason in a stable way (a
    subclass's), for whoever explains it to the user.
    """

    code = "app_refused"

    def __init__(self, message: str, status: int) -> None:
        """Keep the status the service refused the app with."""
        super().__init__(message)
        self.status = status
