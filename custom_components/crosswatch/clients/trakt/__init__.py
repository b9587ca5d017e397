"""Trakt: the API client (tokens, pages, Trakt's own errors) and the device-code sign-in."""

from .auth import (
    DeviceCode,
    DeviceFlowError,
    PollStatus,
    TraktApp,
    poll_device_token,
    refresh_tokens,
    request_device_code,
    wait_for_device_token,
)
from .client import (
    DEFAULT_BASE_URL,
    PagedRead,
    TraktClient,
    make_http,
)

__all__ = [
    "DEFAULT_BASE_URL",
    "DeviceCode",
    "DeviceFlowError",
    "PagedRead",
    "PollStatus",
    "TraktApp",
    "TraktClient",
    "make_http",
    "poll_device_token",
    "refresh_tokens",
    "request_device_code",
    "wait_for_device_token",
]
