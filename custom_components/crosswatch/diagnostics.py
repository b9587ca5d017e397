"""Diagnostics for CrossWatch: account entries and the sync entry with its pairs.

Nothing here may identify the user or let anyone act as them: tokens, client credentials,
account names and ids, and server addresses are redacted by key, and every free text (errors,
guard details, provider names) is scrubbed of the values the entries hold and of any URL.
"""

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import partial
import json
import re
from typing import Any
from urllib.parse import urlsplit

from homeassistant.components.diagnostics import REDACTED, async_redact_data
from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant

from .const import (
    CONF_ACCOUNT_ID,
    CONF_AUTH_URL,
    CONF_BASE_URL,
    CONF_CLIENT_ID,
    CONF_CLIENT_SECRET,
    CONF_KIND,
    CONF_TOKENS,
    DOMAIN,
    Kind,
)
from .coordinator import PairCoordinator
from .engine.pipeline import RunResult
from .engine.plan import Plan
from .engine.records import RunRecord
from .engine.store import StateStore
from .runtime import (
    AccountConfigEntry,
    SyncConfigEntry,
    is_account_entry,
    is_sync_entry,
    runtime_if_set,
)

# Keys whose values never leave Home Assistant, wherever they appear.
TO_REDACT = {
    "api_key",  # MDBList's
    "access_token",
    "refresh_token",
    "token",
    CONF_CLIENT_ID,
    CONF_CLIENT_SECRET,
    "password",
    "username",
    "user_name",
    "account_name",
    CONF_ACCOUNT_ID,
    "user_id",
    CONF_BASE_URL,
    "server_url",
    "url",
    "host",
    # Media servers: the server's token, names and identifiers, and any URL they keep.
    "server_token",
    "server_id",
    "server_name",
    "device_id",
    "plex_tv_url",
    "discover_url",
    "metadata_url",
    CONF_AUTH_URL,
}
# Entry data keys whose values are scrubbed from free text too.
_SENSITIVE_KEYS = (
    CONF_ACCOUNT_ID,
    CONF_CLIENT_ID,
    CONF_CLIENT_SECRET,
    "username",
    "user_name",
    "user_id",
    "server_token",
    "server_id",
    "server_name",
    "device_id",
)
_URL_KEYS = (CONF_BASE_URL, "server_url")
RUNS_SHOWN = 5
_URL = re.compile(r"\b[a-z][a-z0-9+.-]*://[^\s'\"<>]+", re.IGNORECASE)
_SIDES = {"a": "source", "b": "target"}
_SERVICES = frozenset(kind.value for kind in Kind)
_ANYWHERE = 8  # sensitive values this long are redacted even inside other words


@dataclass(frozen=True, slots=True)
class Scrubber:
    """Replaces every known sensitive value, and any URL, in free text."""

    pattern: re.Pattern[str] | None

    @classmethod
    def for_hass(cls, hass: HomeAssistant) -> Scrubber:
        """Learn the sensitive values of every CrossWatch entry."""
        values: set[str] = set()
        for entry in hass.config_entries.async_entries(DOMAIN):
            values.update(_sensitive_values(entry))
        # A provider not yet told its account is named after its service alone ("Trakt"):
        # the service's name says nothing about the user, and errors need it.
        values -= {v for v in values if v.lower() in _SERVICES}
        # Longest first, so that a value containing another is replaced whole. Long values
        # (tokens, secrets, names) go wherever they appear; short ones (a numeric user id)
        # only as whole words, so that other numbers survive.
        ordered = sorted((v for v in values if v), key=lambda v: (-len(v), v))
        if not ordered:
            return cls(None)
        long = "|".join(re.escape(v) for v in ordered if len(v) >= _ANYWHERE)
        short = "|".join(re.escape(v) for v in ordered if len(v) < _ANYWHERE)
        parts = [f"(?:{long})"] if long else []
        if short:
            parts.append(rf"(?<![\w-])(?:{short})(?![\w-])")
        return cls(re.compile("|".join(parts)))

    def text(self, value: str) -> str:
        """`value` with URLs and sensitive values redacted."""
        value = _URL.sub(REDACTED, value)
        return self.pattern.sub(REDACTED, value) if self.pattern else value

    def data(self, value: Any) -> Any:
        """Every string in a JSON-like structure (keys included) scrubbed."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, Mapping):
            return {self.text(str(k)): self.data(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.data(v) for v in value]
        return value


def _sensitive_values(entry: ConfigEntry) -> Iterable[str]:
    if entry.data.get(CONF_KIND, Kind.SYNC) == Kind.SYNC:
        return
    data = entry.data
    for key in _SENSITIVE_KEYS:
        if data.get(key) not in (None, ""):
            yield str(data[key])
    tokens = data.get(CONF_TOKENS)
    if isinstance(tokens, Mapping):
        for key in ("access_token", "refresh_token"):
            if tokens.get(key):
                yield str(tokens[key])
    for key in _URL_KEYS:
        if url := data.get(key):
            yield str(url)
            parts = urlsplit(str(url))
            if parts.netloc:
                yield parts.netloc
            if parts.hostname:
                yield parts.hostname
    yield entry.title
    if entry.unique_id:
        yield entry.unique_id
    runtime = runtime_if_set(entry) if is_account_entry(entry) else None
    if runtime is not None:
        yield runtime.account_id
        yield runtime.provider.key
        yield runtime.provider.name


def redact_account_ref(unique_id: str) -> str:
    """An account entry's unique id ('kind:account') with the account part redacted."""
    kind, sep, _ = unique_id.partition(":")
    return f"{kind}:{REDACTED}" if sep else REDACTED


def _entry_summary(entry: ConfigEntry, *, account: bool) -> dict[str, Any]:
    unique_id = entry.unique_id
    return {
        # An account's title names the account; the sync entry's is fixed.
        "title": REDACTED if account else entry.title,
        "unique_id": redact_account_ref(unique_id) if account and unique_id else unique_id,
        "version": entry.version,
        "minor_version": entry.minor_version,
        "state": entry.state.value,
        "data": async_redact_data(dict(entry.data), TO_REDACT),
        "options": async_redact_data(dict(entry.options), TO_REDACT),
    }


async def async_get_config_entry_diagnostics(
    hass: HomeAssistant, entry: ConfigEntry
) -> dict[str, Any]:
    """Diagnostics of an account entry, or of the sync entry and its pairs."""
    scrub = Scrubber.for_hass(hass)
    if is_sync_entry(entry):
        return await _sync_diagnostics(hass, entry, scrub)
    return _account_diagnostics(entry, scrub)


def _account_diagnostics(entry: AccountConfigEntry, scrub: Scrubber) -> dict[str, Any]:
    result: dict[str, Any] = {
        "entry": _entry_summary(entry, account=True),
        "kind": str(entry.data.get(CONF_KIND)),
    }
    runtime = runtime_if_set(entry)
    if runtime is None:
        return result  # not loaded: nothing more is known
    caps = runtime.provider.capabilities
    result["capabilities"] = {
        "features": sorted(f.value for f in caps.features),
        "batch_size": caps.batch_size,
        "rating_scale": caps.rating_scale.value,
        "confirms_per_item": caps.confirms_per_item,
        "multiple_plays": caps.history.multiple_plays,
        "sets_watched_at": caps.history.sets_watched_at,
        "watchlist_removal_clears_rating": caps.watchlist_removal_clears_rating,
        "limits": {f.value: limit for f, limit in sorted(caps.limits.items())},
    }
    result["requests_made"] = runtime.provider.requests_made
    state = runtime.coordinator.data
    if state is not None:
        result["health"] = {
            "reachable": state.reachable,
            "error": scrub.text(state.error) if state.error else None,
            "token_expires_at": _iso(state.token_expires_at),
            "last_update_success": runtime.coordinator.last_update_success,
        }
    # As the sync side published them after the last change to the store.
    counts = state.item_counts if state is not None else {}
    result["item_counts"] = {f.value: n for f, n in sorted(counts.items())}
    # The to-do list's count of its last complete read, which the watchlist sensor shows first.
    result["watchlist_listed"] = state.listed if state is not None else None
    # The service's own count of the watched and rated items, and why it cannot count some.
    tallied = state.tallied if state is not None else {}
    result["items_tallied"] = {f.value: n for f, n in sorted(tallied.items())}
    untold = state.untold if state is not None else {}
    result["items_untold"] = {f.value: why for f, why in sorted(untold.items())}
    return result


async def _sync_diagnostics(
    hass: HomeAssistant, entry: SyncConfigEntry, scrub: Scrubber
) -> dict[str, Any]:
    result: dict[str, Any] = {"entry": _entry_summary(entry, account=False)}
    runtime = runtime_if_set(entry)
    if runtime is None:
        return result
    store = runtime.store
    result["store"] = {
        "schema_version": await runtime.async_use_store(hass, lambda: store.schema_version),
        "statistics": await runtime.async_use_store(hass, store.statistics),
    }
    result["pairs"] = [
        await _pair_diagnostics(hass, store, coordinator, scrub)
        for _, coordinator in sorted(
            runtime.coordinators.items(), key=lambda item: (item[1].subentry.title, item[0])
        )
    ]
    return result


async def _pair_diagnostics(
    hass: HomeAssistant, store: StateStore, coordinator: PairCoordinator, scrub: Scrubber
) -> dict[str, Any]:
    pair = coordinator.pair
    pair_id = coordinator.pair_id
    use = coordinator.config_entry.runtime_data.async_use_store
    runs = await use(hass, partial(store.runs, pair_id, RUNS_SHOWN))
    backups = await coordinator.config_entry.runtime_data.backups.async_list()
    held = await use(hass, partial(store.held, pair_id))
    unresolved = await use(hass, partial(store.unresolved, pair_id))
    source, target = coordinator.accounts()
    names = {
        account.provider.name: side
        for side, account in (("source", source), ("target", target))
        if account is not None
    }
    state = coordinator.data
    return {
        "title": coordinator.subentry.title,  # the user's own name for the pair
        "source": redact_account_ref(pair.source),
        "target": redact_account_ref(pair.target),
        "accounts_loaded": {"source": source is not None, "target": target is not None},
        "config": {
            "mode": pair.mode.value,
            "features": sorted(f.value for f in pair.features),
            "interval_minutes": int(pair.interval.total_seconds() // 60),
            "dry_run": pair.dry_run,
            "pause_after_failures": pair.pause_after,
            "guards": {
                "drop_guard": pair.guards.drop_guard,
                "drop_threshold": pair.guards.drop_threshold,
                "drop_minimum": pair.guards.drop_minimum,
                "delete_budget": pair.guards.delete_budget,
                "delete_floor": pair.guards.delete_floor,
                "delete_share": pair.guards.delete_share,
                "tombstone_ttl_days": pair.guards.tombstone_ttl.days,
            },
        },
        # Names, dates and counts only: a backup's contents are the user's lists.
        "backups": [
            {k: v for k, v in b.as_dict().items() if k != "pair"}
            for b in backups
            if b.pair == pair_id
        ],
        "state": None
        if state is None
        else {
            "status": state.status.value,
            "waiting_for": [redact_account_ref(uid) for uid in state.waiting_for],
            "held": state.held,
            "unresolved": state.unresolved,
            "phantoms": state.phantoms,
            "last_run": _iso(state.last_run),
        },
        "running": coordinator.running,
        "last_update_success": coordinator.last_update_success,
        "last_result": _result(state.result, names, scrub) if state else None,
        "preview": _result(coordinator.preview, names, scrub),
        "held": {
            "count": len(held),
            "by_feature": _count(op.operation.feature.value for op in held),
        },
        "unresolved": {
            "count": len(unresolved),
            "by_feature": _count(u.scope.feature.value for u in unresolved),
        },
        "runs": [_stored_run(run, names, scrub) for run in runs],
    }


def _result(
    result: RunResult | None, names: Mapping[str, str], scrub: Scrubber
) -> dict[str, Any] | None:
    if result is None:
        return None
    return {**_summary(result.summary(), names, scrub), "plan": _plan_counts(result.plan)}


def _stored_run(run: RunRecord, names: Mapping[str, str], scrub: Scrubber) -> dict[str, Any]:
    summary: Any = None
    if run.result:
        try:
            summary = json.loads(run.result)
        except ValueError:
            summary = "unreadable"
    return {
        "run_id": run.id,
        "started_at": _iso(run.started_at),
        "finished_at": _iso(run.finished_at),
        "duration": round((run.finished_at - run.started_at).total_seconds(), 3)
        if run.finished_at
        else None,
        "status": run.status,
        "result": _summary(summary, names, scrub) if isinstance(summary, dict) else summary,
    }


def _summary(summary: Mapping[str, Any], names: Mapping[str, str], scrub: Scrubber) -> Any:
    """A run summary without the pair id, provider names as sides, free text scrubbed."""
    cleaned = {k: v for k, v in summary.items() if k != "pair"}
    requests = cleaned.get("requests")
    if isinstance(requests, Mapping):
        cleaned["requests"] = {
            names.get(str(k)) or scrub.text(str(k)): v for k, v in requests.items()
        }
    events = cleaned.get("events")
    if isinstance(events, list):
        cleaned["events"] = [_event(e, scrub) for e in events]
    errors = cleaned.get("errors")
    if isinstance(errors, list):
        cleaned["errors"] = [scrub.text(str(e)) for e in errors]
    changes = cleaned.get("changes")
    if isinstance(changes, Mapping):
        # Counts only: the titles are the user's lists, and their services name the accounts.
        cleaned["changes"] = {k: v for k, v in changes.items() if k != "titles"}
    return cleaned


def _event(event: Any, scrub: Scrubber) -> Any:
    if not isinstance(event, Mapping):
        return scrub.data(event)
    side = event.get("side")
    return {
        **event,
        "side": _SIDES.get(str(side), side),
        "detail": scrub.data(event.get("detail")),
    }


def _plan_counts(plan: Plan) -> dict[str, Any]:
    operations: dict[str, dict[str, dict[str, int]]] = {}
    for op in plan.operations:
        by_side = operations.setdefault(op.feature.value, {})
        by_action = by_side.setdefault(_SIDES[op.side.value], {})
        by_action[op.action.value] = by_action.get(op.action.value, 0) + 1
    return {
        "operations": len(plan.operations),
        "by_feature": operations,
        "notes": _count(note.reason.value for note in plan.notes),
    }


def _count(values: Iterable[str]) -> dict[str, int]:
    return dict(sorted(Counter(values).items()))


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None
