"""Trakt's refusals of the API app itself, as it answers them since 2026.

Since about 2026-07-31 only Trakt VIP members may own an API app: free members' apps were
deleted, and a free account cannot create a new one (a free account may still connect one
community app). A client id that Trakt deleted is refused with 403 on every request, public
endpoints and OAuth included; "VIP required" is 426 (../shared/research/provider-facts-2026.md,
Trakt). Neither is about the account's tokens (those are 401), so neither is an authentication
error: a new sign-in with the same app would be refused the same way.
"""

from typing import Final

from ..errors import CrossWatchAppRefusedError
from ..http import Response

APP_DELETED: Final = 403
VIP_REQUIRED: Final = 426
# Statuses every Trakt request accepts from the shared client, to raise them as the errors below.
APP_REFUSALS: Final = frozenset({APP_DELETED, VIP_REQUIRED})


class TraktAppDeletedError(CrossWatchAppRefusedError):
    """Trakt refuses the client id (403): the app was deleted, or never existed."""

    code = "trakt_app_deleted"


class TraktVipRequiredError(CrossWatchAppRefusedError):
    """Trakt answers 426: what the app asks needs an active VIP membership (an own API app)."""

    code = "trakt_vip_required"


def app_refusal(status: int) -> CrossWatchAppRefusedError:
    """The error for a 403 or 426 (any other status is a caller's mistake: ValueError)."""
    if status == APP_DELETED:
        return TraktAppDeletedError(
            "Trakt refuses this API app (HTTP 403): its client id was deleted or is unknown."
            " Since 2026 only Trakt VIP members can own an API app",
            status,
        )
    if status == VIP_REQUIRED:
        return TraktVipRequiredError(
            "Trakt requires an active VIP membership for this API app (HTTP 426)", status
        )
    raise ValueError(f"HTTP {status} is no refusal of the app")


def raise_for_app_refusal(reply: Response) -> Response:
    """`reply` unchanged, unless Trakt refused the app with it: then its error is raised."""
    if reply.status in APP_REFUSALS:
        raise app_refusal(reply.status)
    return reply
