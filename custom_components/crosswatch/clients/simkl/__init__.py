"""SIMKL: the API client and the PIN sign-in."""

from .auth import (
    PinCode,
    PinStatus,
    SimklPinAuth,
)
from .client import (
    DEFAULT_BASE_URL,
    SimklApi,
    expect_object,
)

__all__ = [
    "DEFAULT_BASE_URL",
    "PinCode",
    "PinStatus",
    "SimklApi",
    "SimklPinAuth",
    "expect_object",
]
