"""One coordinator per account: is the service reachable, and what does the account hold.

The account asks its own service only for its health. What it holds (item counts) it learns
from reads made anyway, never from a request of its own:
- the sync side publishes what the pairs' complete reads saw (`ACCOUNT_ACTIVITY`), after each
  run and whenever an entry loads; the account never reads the sync entry's store;
- the account's watchlist to-do list counts the watchlist at each complete read: the first
  right after setup, then after every pair's run on the account, so its count is the freshest
  and wins over the pairs' (read before their writes). A healthy account so shows its watchlist
  count at once. What nobody has counted yet stays unknown, never 0.

A service that refuses the account's API app itself (Trakt since 2026: a deleted app, VIP
required) gets a repair that says why and what to do instead, at setup or at any health check;
never a reauth, which the same app could not pass. The repair goes once the app is served again.
"""

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from types import MappingProxyType

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator
from homeassistant.util import dt as dt_util

from .clients.http import QuotaReporter, RateLimit
from .const import CONF_TOKENS, DOMAIN, LOGGER
from .engine.payloads import Feature
from .engine.provider import AuthError, Provider, ProviderError
from .errors import Boundary, ErrorSubject, translate_errors
from .providers.client_errors import AppRefusedError
from .runtime import AccountActivity

HEALTH_INTERVAL = timedelta(minutes=15)


def app_refused_issue_id(entry_id: str) -> str:
    """The repair of an account whose service refuses its API app."""
    return f"app_refused_{entry_id}"


@dataclass(frozen=True, slots=True)
class AccountState:
    """An account's health and item counts (as of the last complete reads that counted them)."""

    reachable: bool
    error: str | None
    item_counts: Mapping[Feature, int]  # as the pairs' last complete reads saw them
    token_expires_at: datetime | None
    requests_made: int
    rate_limit: RateLimit | None = None  # the quota the service last reported, if it reports one
    listed: int | None = None  # the watchlist's items at the to-do list's last complete read

    def count(self, feature: Feature) -> int | None:
        """How many items of `feature` the account holds, by the freshest count; None: unknown."""
        if feature is Feature.WATCHLIST and self.listed is not None:
            return self.listed
        return self.item_counts.get(feature)


class AccountCoordinator(DataUpdateCoordinator[AccountState]):
    """Checks an account's health every 15 minutes; never raises, so entities stay."""

    config_entry: ConfigEntry

    def __init__(self, hass: HomeAssistant, entry: ConfigEntry, provider: Provider) -> None:
        """Watch `provider` for `entry`."""
        super().__init__(
            hass,
            LOGGER,
            config_entry=entry,
            name=f"CrossWatch {entry.title}",
            update_interval=HEALTH_INTERVAL,
            always_update=False,
        )
        self.provider = provider

    @property
    def error_subject(self) -> ErrorSubject:
        """Setup's errors name the account (Home Assistant starts its reauth itself)."""
        return ErrorSubject(
            {"account": self.config_entry.title}, on_app_refused=self._raise_app_refused_issue
        )

    @translate_errors(Boundary.SETUP)
    async def async_check_before_setup(self) -> None:
        """Ask the service whether the account answers, before the entry is set up."""
        await self.provider.health()
        self._clear_app_refused_issue()

    async def _async_update_data(self) -> AccountState:
        error: str | None = None
        try:
            await self.provider.health()
        except AuthError as err:
            error = str(err)
            self.config_entry.async_start_reauth(self.hass)
        except AppRefusedError as err:
            error = str(err)
            self._raise_app_refused_issue(err)
        except ProviderError as err:
            error = str(err)
        else:
            self._clear_app_refused_issue()
        return await self.async_state(error)

    @property
    def _app_refused_issue(self) -> str:
        return app_refused_issue_id(self.config_entry.entry_id)

    def _raise_app_refused_issue(self, err: AppRefusedError) -> None:
        """Explain why the service refuses the account's app, and what the user can do."""
        ir.async_create_issue(
            self.hass,
            DOMAIN,
            self._app_refused_issue,
            is_fixable=False,
            is_persistent=False,
            severity=ir.IssueSeverity.ERROR,
            translation_key=err.code,
            translation_placeholders={"account": self.config_entry.title},
        )

    def _clear_app_refused_issue(self) -> None:
        ir.async_delete_issue(self.hass, DOMAIN, self._app_refused_issue)

    async def async_state(self, error: str | None) -> AccountState:
        """The account's state given its health (setup has just checked it: no second call)."""
        return AccountState(
            reachable=error is None,
            error=error,
            # As the sync side last published them (none yet: until it does).
            item_counts=self.data.item_counts if self.data else MappingProxyType({}),
            listed=self.data.listed if self.data else None,
            token_expires_at=self._token_expiry(),
            requests_made=self.provider.requests_made,
            rate_limit=self._rate_limit(),
        )

    @property
    def reports_quota(self) -> bool:
        """Whether the account's service reports its remaining quota (Trakt, AniList, MDBList)."""
        return isinstance(self.provider, QuotaReporter)

    @callback
    def async_receive_activity(self, activity: AccountActivity) -> None:
        """A pair used the account: show its item counts, requests and quota, asking nothing.

        The health check keeps its own schedule: this neither calls the service nor restarts
        the coordinator's interval. (Setup gives the coordinator its data before any pair can
        find the account.)
        """
        counts = self.data.item_counts if activity.item_counts is None else activity.item_counts
        received = replace(
            self.data,
            item_counts=counts,
            requests_made=self.provider.requests_made,
            rate_limit=self._rate_limit(),
        )
        if received != self.data:
            self.data = received
            self.async_update_listeners()

    @callback
    def async_list_counted(self, listed: int | None) -> None:
        """The to-do list read the watchlist: its count, or None when the read was not complete.

        A complete read's count is the freshest there is; without one, the pairs' count (from
        their last complete read) stands in, or the count stays unknown.
        """
        if listed != self.data.listed:
            self.data = replace(self.data, listed=listed)
            self.async_update_listeners()

    def _rate_limit(self) -> RateLimit | None:
        return self.provider.rate_limit if isinstance(self.provider, QuotaReporter) else None

    def _token_expiry(self) -> datetime | None:
        tokens = self.config_entry.data.get(CONF_TOKENS) or {}
        expires_at = tokens.get("expires_at")
        return dt_util.utc_from_timestamp(expires_at) if expires_at else None
