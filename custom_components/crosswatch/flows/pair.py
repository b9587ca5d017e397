"""Sync pairs: config subentries of the sync entry, added and reconfigured here."""

from typing import Any

from homeassistant.config_entries import ConfigEntryState, ConfigSubentryFlow, SubentryFlowResult
from homeassistant.const import Platform
from homeassistant.data_entry_flow import section
from homeassistant.helpers.selector import (
    BooleanSelector,
    EntitySelector,
    EntitySelectorConfig,
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    SelectOptionDict,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
    TextSelector,
)
import voluptuous as vol

from ..const import (
    CONF_DELETE_FLOOR,
    CONF_DELETE_SHARE,
    CONF_DROP_THRESHOLD,
    CONF_DRY_RUN,
    CONF_FEATURES,
    CONF_FOLLOW_PLAYERS,
    CONF_INTERVAL,
    CONF_MODE,
    CONF_PAUSE_AFTER,
    CONF_SCROBBLE,
    CONF_SOURCE,
    CONF_TARGET,
    CONF_TOMBSTONE_DAYS,
    DEFAULT_PAUSE_AFTER,
    DOMAIN,
    Kind,
)
from ..engine.payloads import Feature
from ..engine.planner import SyncMode
from ..pairs import DEFAULT_PAIR_OPTIONS
from ..runtime import AccountRuntime, is_account_entry
from .base import form

CONF_NAME = "name"
GUARDS = "guards"
_GUARD_KEYS = (
    CONF_DELETE_FLOOR,
    CONF_DELETE_SHARE,
    CONF_DROP_THRESHOLD,
    CONF_TOMBSTONE_DAYS,
    CONF_PAUSE_AFTER,
)
# Sources whose library can be read one played item at a time (a targeted run's side A).
FOLLOWING_KINDS = frozenset({Kind.PLEX, Kind.JELLYFIN, Kind.EMBY})
# Trackers that take live scrobbles of what the followed players play.
SCROBBLING_KINDS = frozenset({Kind.TRAKT, Kind.SIMKL})


class PairFlow(ConfigSubentryFlow):
    """Add or change a sync pair: two accounts, what to sync, how, how often, how carefully."""

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> SubentryFlowResult:
        """A new pair: two different accounts suggested, a direction not paired yet first."""
        paired = {
            (subentry.data.get(CONF_SOURCE), subentry.data.get(CONF_TARGET))
            for subentry in self._get_entry().subentries.values()
        }
        return await self._async_pair_form(
            "user",
            user_input,
            {**DEFAULT_PAIR_OPTIONS, **_suggested_accounts(list(self._accounts()), paired)},
        )

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Change an existing pair."""
        subentry = self._get_reconfigure_subentry()
        current = {**DEFAULT_PAIR_OPTIONS, **subentry.data, CONF_NAME: subentry.title}
        return await self._async_pair_form("reconfigure", user_input, current)

    def _accounts(self) -> dict[str, tuple[str, AccountRuntime | None]]:
        """Account entries by unique id: their title, and their runtime when loaded."""
        accounts: dict[str, tuple[str, AccountRuntime | None]] = {}
        for entry in self.hass.config_entries.async_entries(DOMAIN):
            if entry.unique_id is None or not is_account_entry(entry):
                continue
            loaded = entry.state is ConfigEntryState.LOADED
            accounts[entry.unique_id] = (entry.title, entry.runtime_data if loaded else None)
        return accounts

    async def _async_pair_form(
        self, step_id: str, user_input: dict[str, Any] | None, defaults: dict[str, Any] | Any
    ) -> SubentryFlowResult:
        accounts = self._accounts()
        if len(accounts) < 2:
            return self.async_abort(reason="need_two_accounts")
        errors: dict[str, str] = {}
        if user_input is not None:
            data = _flatten(user_input)
            errors = self._validate(data, accounts)
            if not errors:
                title = data.pop(CONF_NAME).strip() or _default_title(data, accounts)
                unique_id = f"{data[CONF_SOURCE]}>{data[CONF_TARGET]}"
                if step_id == "reconfigure":
                    return self.async_update_and_abort(
                        self._get_entry(),
                        self._get_reconfigure_subentry(),
                        title=title,
                        data=data,
                        unique_id=unique_id,
                    )
                for existing in self._get_entry().subentries.values():
                    if existing.unique_id == unique_id:
                        return self.async_abort(reason="already_configured")
                return self.async_create_entry(title=title, data=data, unique_id=unique_id)
            defaults = {**defaults, **data}
        return self.async_show_form(
            step_id=step_id,
            data_schema=self.add_suggested_values_to_schema(
                _schema(accounts), _suggested(defaults)
            ),
            errors=errors,
        )

    def _validate(
        self, data: dict[str, Any], accounts: dict[str, tuple[str, AccountRuntime | None]]
    ) -> dict[str, str]:
        if data[CONF_SOURCE] == data[CONF_TARGET]:
            return {CONF_TARGET: "same_account"}
        if not data[CONF_FEATURES]:
            return {CONF_FEATURES: "no_features"}
        wanted = {Feature(f) for f in data[CONF_FEATURES]}
        for side in (CONF_SOURCE, CONF_TARGET):
            runtime = accounts[data[side]][1]
            if runtime is not None and not wanted <= runtime.provider.capabilities.features:
                return {CONF_FEATURES: "feature_unsupported"}
        if data.get(CONF_FOLLOW_PLAYERS):
            # A finished play is read from the source, a media server, and synced as history.
            if Feature.HISTORY not in wanted:
                return {CONF_FOLLOW_PLAYERS: "follow_needs_history"}
            if _kind(data[CONF_SOURCE], accounts[data[CONF_SOURCE]][1]) not in FOLLOWING_KINDS:
                return {CONF_FOLLOW_PLAYERS: "follow_needs_server_source"}
        if data.get(CONF_SCROBBLE):
            # What the followed players play is scrobbled to the target, a tracker.
            if not data.get(CONF_FOLLOW_PLAYERS):
                return {CONF_SCROBBLE: "scrobble_needs_players"}
            if _kind(data[CONF_TARGET], accounts[data[CONF_TARGET]][1]) not in SCROBBLING_KINDS:
                return {CONF_SCROBBLE: "scrobble_needs_tracker"}
        return {}


def _kind(unique_id: str, runtime: AccountRuntime | None) -> Kind | None:
    """An account's kind: its runtime's, else the one its unique id ("kind:account") names."""
    if runtime is not None:
        return runtime.kind
    try:
        return Kind(unique_id.partition(":")[0])
    except ValueError:
        return None


def _schema(accounts: dict[str, tuple[str, AccountRuntime | None]]) -> Any:
    account_options = [
        SelectOptionDict(value=uid, label=title) for uid, (title, _) in accounts.items()
    ]
    return form(
        {
            vol.Optional(CONF_NAME, default=""): TextSelector(),
            vol.Required(CONF_SOURCE): SelectSelector(
                SelectSelectorConfig(options=account_options, mode=SelectSelectorMode.DROPDOWN)
            ),
            vol.Required(CONF_TARGET): SelectSelector(
                SelectSelectorConfig(options=account_options, mode=SelectSelectorMode.DROPDOWN)
            ),
            vol.Required(CONF_FEATURES): SelectSelector(
                SelectSelectorConfig(
                    options=[f.value for f in Feature],
                    multiple=True,
                    translation_key="feature",
                )
            ),
            vol.Required(CONF_MODE): SelectSelector(
                SelectSelectorConfig(options=[m.value for m in SyncMode], translation_key="mode")
            ),
            vol.Required(CONF_INTERVAL): NumberSelector(
                NumberSelectorConfig(
                    min=5, max=1440, step=5, unit_of_measurement="min", mode=NumberSelectorMode.BOX
                )
            ),
            vol.Required(CONF_DRY_RUN): BooleanSelector(),
            vol.Optional(CONF_FOLLOW_PLAYERS): EntitySelector(
                EntitySelectorConfig(domain=Platform.MEDIA_PLAYER, multiple=True)
            ),
            vol.Optional(CONF_SCROBBLE): BooleanSelector(),
            vol.Required(GUARDS): section(
                form(
                    {
                        vol.Required(CONF_DELETE_FLOOR): _number(0, 1000, 1),
                        vol.Required(CONF_DELETE_SHARE): _number(0, 100, 0.5, "%"),
                        vol.Required(CONF_DROP_THRESHOLD): _number(1, 100, 1, "%"),
                        vol.Required(CONF_TOMBSTONE_DAYS): _number(1, 365, 1, "d"),
                        # Optional: pairs stored before it existed have no value to suggest.
                        vol.Optional(CONF_PAUSE_AFTER, default=DEFAULT_PAUSE_AFTER): _number(
                            0, 100, 1
                        ),
                    }
                ),
                {"collapsed": True},
            ),
        }
    )


def _suggested_accounts(accounts: list[str], paired: set[tuple[Any, Any]]) -> dict[str, str]:
    """A source and a different target to suggest: the first direction not paired yet."""
    directions = [(a, b) for a in accounts for b in accounts if a != b]
    fresh = [direction for direction in directions if direction not in paired]
    if not (fresh or directions):
        return {}
    source, target = (fresh or directions)[0]
    return {CONF_SOURCE: source, CONF_TARGET: target}


def _number(low: float, high: float, step: float, unit: str | None = None) -> NumberSelector:
    config = NumberSelectorConfig(min=low, max=high, step=step, mode=NumberSelectorMode.BOX)
    if unit is not None:
        config["unit_of_measurement"] = unit
    return NumberSelector(config)


def _flatten(user_input: dict[str, Any]) -> dict[str, Any]:
    """The form's values as the subentry stores them (guards out of their section)."""
    data = {k: v for k, v in user_input.items() if k != GUARDS}
    data.update(user_input.get(GUARDS, {}))
    data[CONF_INTERVAL] = int(data[CONF_INTERVAL])
    data[CONF_DELETE_FLOOR] = int(data[CONF_DELETE_FLOOR])
    data[CONF_TOMBSTONE_DAYS] = int(data[CONF_TOMBSTONE_DAYS])
    data[CONF_PAUSE_AFTER] = int(data[CONF_PAUSE_AFTER])
    data.setdefault(CONF_NAME, "")
    data[CONF_FOLLOW_PLAYERS] = list(data.get(CONF_FOLLOW_PLAYERS) or [])
    data[CONF_SCROBBLE] = bool(data.get(CONF_SCROBBLE))
    return data


def _suggested(values: Any) -> dict[str, Any]:
    flat = dict(values)
    return {
        **{k: v for k, v in flat.items() if k not in _GUARD_KEYS},
        GUARDS: {k: flat[k] for k in _GUARD_KEYS if k in flat},
    }


def _default_title(
    data: dict[str, Any], accounts: dict[str, tuple[str, AccountRuntime | None]]
) -> str:
    arrow = "⇄" if data[CONF_MODE] == SyncMode.TWO_WAY.value else "→"
    features = ", ".join(sorted(data[CONF_FEATURES]))
    return f"{accounts[data[CONF_SOURCE]][0]} {arrow} {accounts[data[CONF_TARGET]][0]} ({features})"
