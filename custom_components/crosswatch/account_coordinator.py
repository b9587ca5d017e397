"""One coordinator per account: is the service reachable, and what does the account hold.

The account asks its own service only for its health. What it holds (item counts) it learns
from reads made anyway, never from a request of its own:
- the sync side publishes what the pairs' complete reads saw (`ACCOUNT_ACTIVITY`), after each
  run and whenever an entry loads; the account never reads the sync entry's store;
- the account's watchlist to-do list counts the watchlist at each complete read: the first
  right after setup, then after every pair's run on the account, so its count is the freshest
  and wins over the pairs' (read before their writes). A healthy account so shows its watchlist
  count at once. What nobody has counted yet stays unknown, never 0.

The watched and rated items are the exception: the service's own cheapest count of them (its
statistics, a server's tally; `ItemCounter`) is asked for with each health check, the first at
setup, so a healthy account shows them at once. What a provider keeps from the to-do list's
read is counted too, with no request (AniList's whole list). These counts mean what a complete
read holds (items, never plays), as the pairs' do, and win over the pairs' (older). A service
that cannot count a feature says why: its sensor is unavailable until a pair counts it.

A service that refuses the account's API app itself (Trakt since 2026: a deleted app, VIP
required) gets a repair that says why and what to do instead, at setup or at any health check;
never a reauth, which the same app could not pass. The repair goes once the app is served again.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
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
from .engine.provider import AuthError, ItemCounter, ItemCounts, Provider, ProviderError
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
    # The watched and rated items as the service (or a kept read) last counted them.
    tallied: Mapping[Feature, int] = field(default_factory=lambda: MappingProxyType({}))
    # Why the service cannot count a feature (it then waits for a pair's count).
    untold: Mapping[Feature, str] = field(default_factory=lambda: MappingProxyType({}))

    def count(self, feature: Feature) -> int | None:
        """How many items of `feature` the account holds, by the freshest count; None: unknown."""
        if feature is Feature.WATCHLIST and self.listed is not None:
            return self.listed
        tallied = self.tallied.get(feature)
        return tallied if tallied is not None else self.item_counts.get(feature)

    def countable(self, feature: Feature) -> bool:
        """Whether a count of `feature` is known or may come; False: the service cannot tell."""
        return self.count(feature) is not None or feature not in self.untold

    def counted(self, counts: ItemCounts) -> AccountState:
        """This state with a new count: what it counts replaces, what it cannot tell is untold."""
        tallied = {f: n for f, n in self.tallied.items() if f not in counts.untold}
        untold = {f: why for f, why in self.untold.items() if f not in counts.counted}
        return replace(
            self,
            tallied=MappingProxyType(tallied | dict(counts.counted)),
            untold=MappingProxyType(untold | dict(counts.untold)),
        )


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

    async def _count(self, state: AccountState, *, ask: bool) -> AccountState:
        """`state` with the provider's count of the watched and rated items, if it has one.

        A count that fails leaves the counts as they were known: the health check tells of the
        failure, and the next check counts again.
        """
        if not isinstance(self.provider, ItemCounter):
            return state
        try:
            counts = await self.provider.count_items(ask=ask)
        except ProviderError as err:
            LOGGER.debug("%s: the items could not be counted (%s)", self.config_entry.title, err)
            return state
        for feature, why in counts.untold.items():
            LOGGER.debug("%s: %s items are not counted: %s", self.config_entry.title, feature, why)
        return replace(
            state.counted(counts),
            requests_made=self.provider.requests_made,
            rate_limit=self._rate_limit(),
        )

    async def async_count_kept(self) -> None:
        """Count what the provider keeps from a read just made, asking the service nothing."""
        counted = await self._count(self.data, ask=False)
        if counted != self.data:
            self.data = counted
            self.async_update_listeners()

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
        """The account's state given its health (setup has just checked it: no second call).

        A healthy account's watched and rated items are counted again (the service's cheapest
        count: see `ItemCounter`); an unhealthy one keeps the counts as they were known.
        """
        state = AccountState(
            reachable=error is None,
            error=error,
            # As the sync side last published them (none yet: until it does).
            item_counts=self.data.item_counts if self.data else MappingProxyType({}),
            listed=self.data.listed if self.data else None,
            tallied=self.data.tallied if self.data else MappingProxyType({}),
            untold=self.data.untold if self.data else MappingProxyType({}),
            token_expires_at=self._token_expiry(),
            requests_made=self.provider.requests_made,
            rate_limit=self._rate_limit(),
        )
        return state if error is not None else await self._count(state, ask=True)

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
