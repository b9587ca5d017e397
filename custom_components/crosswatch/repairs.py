"""Repairs: held removals wait for a decision; paused pairs resume; SIMKL V1 reconnects.

Held removals are approved or rejected here. A pair that paused after failing run after run is
resumed here. A SIMKL account still signed in with V1 is asked to sign in again (with V2)
before SIMKL ends V1.
"""

from collections.abc import Sequence
from functools import partial
from typing import Any

from homeassistant.components.repairs import ConfirmRepairFlow, RepairsFlow
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers.translation import async_get_translations

from .const import DOMAIN
from .coordinator import PairCoordinator
from .engine.guards import GuardCode
from .engine.plan import PairSide
from .engine.records import HeldOperation
from .runtime import loaded_sync_runtime

EXAMPLES = 5  # held operations named in the dialog; the rest are counted
# Why a removal is held, as the translations explain it (any other reason: "other").
_EXPLAINED_HOLDS = frozenset({GuardCode.OVER_DELETE_BUDGET.value, GuardCode.RATING_AT_RISK.value})
# Home Assistant names the result RepairsFlowResult from 2026.x and FlowResult before.
type StepResult = Any


def _coordinator(hass: HomeAssistant, pair_id: str) -> PairCoordinator | None:
    sync = loaded_sync_runtime(hass)
    return sync.coordinators.get(pair_id) if sync is not None else None


class HeldOperationsFlow(RepairsFlow):
    """Show what a guard held (counts and examples), then approve or reject all of it."""

    def __init__(self, pair_id: str) -> None:
        """Decide for one pair."""
        self._pair_id = pair_id

    async def async_step_init(self, user_input: dict[str, str] | None = None) -> StepResult:
        """Counts, examples and the two choices."""
        coordinator = _coordinator(self.hass, self._pair_id)
        if coordinator is None:
            return self.async_abort(reason="pair_not_loaded")
        runtime = coordinator.config_entry.runtime_data
        held = await runtime.async_use_store(self.hass, partial(runtime.store.held, self._pair_id))
        if not held:
            return self.async_abort(reason="nothing_held")
        examples = await _held_summary(self.hass, coordinator, held)
        return self.async_show_menu(
            step_id="init",
            menu_options=["approve", "reject"],
            description_placeholders={
                "pair": coordinator.subentry.title,
                "count": str(len(held)),
                "examples": examples,
            },
        )

    async def async_step_approve(self, user_input: dict[str, str] | None = None) -> StepResult:
        """Apply the held operations."""
        coordinator = _coordinator(self.hass, self._pair_id)
        if coordinator is None:
            return self.async_abort(reason="pair_not_loaded")
        try:
            await coordinator.async_approve_held()
        except HomeAssistantError as err:
            # Already translated (a refused sign-in has started its reauth): say it here, as
            # the dialog cannot show an exception.
            return self.async_abort(
                reason="approve_failed", description_placeholders={"error": str(err)}
            )
        return self.async_create_entry(data={})

    async def async_step_reject(self, user_input: dict[str, str] | None = None) -> StepResult:
        """Keep the items where they are; never plan these removals again."""
        coordinator = _coordinator(self.hass, self._pair_id)
        if coordinator is None:
            return self.async_abort(reason="pair_not_loaded")
        await coordinator.async_reject_held()
        return self.async_create_entry(data={})


async def _held_summary(
    hass: HomeAssistant, coordinator: PairCoordinator, held: Sequence[HeldOperation]
) -> str:
    """Which service would lose which items, and why they were held, in the user's language.

    Grouped by service, list and reason; the first EXAMPLES items are named, the rest counted.
    """
    texts = await async_get_translations(hass, hass.config.language, "selector", {DOMAIN})

    def text(key: str) -> str:
        return texts.get(f"component.{DOMAIN}.selector.{key}", key)

    accounts = coordinator.accounts()
    names = {
        side: account.provider.name if account is not None else fallback
        for side, account, fallback in zip(
            PairSide, accounts, (coordinator.pair.source, coordinator.pair.target), strict=True
        )
    }
    groups: dict[tuple[PairSide, str, str], list[HeldOperation]] = {}
    for h in held:
        reason = h.reason if h.reason in _EXPLAINED_HOLDS else "other"
        groups.setdefault((h.operation.side, h.operation.feature.value, reason), []).append(h)
    lines: list[str] = []
    named = 0
    for (side, feature, reason), ops in groups.items():
        if named >= EXAMPLES:
            break
        lines.append(
            text("held_group.options.loses").format(
                service=names[side],
                feature=text(f"feature.options.{feature}"),
                why=text(f"held_reason.options.{reason}"),
            )
        )
        for h in ops[: EXAMPLES - named]:
            lines.append(f"- {h.operation.item.label()}")
            named += 1
    if len(held) > named:
        lines.append("- " + text("held_group.options.more").format(count=len(held) - named))
    return "\n".join(lines)


class PausedPairFlow(RepairsFlow):
    """Say why the pair paused (its failed runs and the last error); Submit resumes it."""

    def __init__(self, pair_id: str) -> None:
        """Resume one pair."""
        self._pair_id = pair_id

    async def async_step_init(self, user_input: dict[str, str] | None = None) -> StepResult:
        """The repair was opened (its input is the issue's, not the user's): ask first."""
        return await self.async_step_confirm()

    async def async_step_confirm(self, user_input: dict[str, str] | None = None) -> StepResult:
        """Why it paused; Submit runs the pair now and on its schedule again."""
        coordinator = _coordinator(self.hass, self._pair_id)
        if coordinator is None:
            return self.async_abort(reason="pair_not_loaded")
        streak = coordinator.paused
        if streak is None:
            return self.async_abort(reason="not_paused")
        if user_input is None:
            return self.async_show_form(
                step_id="confirm",
                description_placeholders={
                    "pair": coordinator.subentry.title,
                    "runs": str(streak.runs),
                    "error": streak.last_error or "-",
                },
            )
        coordinator.async_resume()
        return self.async_create_entry(data={})


class SimklReconnectFlow(RepairsFlow):
    """Confirm, then start the account's reauth flow, which signs in with SIMKL's V2."""

    def __init__(self, entry_id: str) -> None:
        """Reconnect one SIMKL account."""
        self._entry_id = entry_id

    async def async_step_init(self, user_input: dict[str, str] | None = None) -> StepResult:
        """The repair was opened (its input is the issue's, not the user's): ask first."""
        return await self.async_step_confirm()

    async def async_step_confirm(self, user_input: dict[str, str] | None = None) -> StepResult:
        """Say why; Submit starts the reauth flow."""
        entry = self.hass.config_entries.async_get_entry(self._entry_id)
        if entry is None:
            return self.async_abort(reason="account_removed")
        if user_input is None:
            return self.async_show_form(
                step_id="confirm",
                description_placeholders={"account": entry.title},
            )
        entry.async_start_reauth(self.hass)
        return self.async_create_entry(data={})


async def async_create_fix_flow(
    hass: HomeAssistant, issue_id: str, data: dict[str, Any] | None
) -> RepairsFlow:
    """The flow that fixes an issue: the held-operations decision, else a confirmation."""
    if issue_id.startswith("held_") and data and "pair_id" in data:
        return HeldOperationsFlow(str(data["pair_id"]))
    if issue_id.startswith("pair_paused_") and data and "pair_id" in data:
        return PausedPairFlow(str(data["pair_id"]))
    if issue_id.startswith("simkl_v1_sunset_") and data and "entry_id" in data:
        return SimklReconnectFlow(str(data["entry_id"]))
    return ConfirmRepairFlow()
