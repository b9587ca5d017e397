"""`crosswatch.remove_item`: take one entry off one feature of one account, as the user's edit.

The user names the entry as CrossWatch lists it or by an id (engine/forgetting.py `ItemMatch`).
It is looked up in a fresh read of that feature, so exactly one entry the service holds now is
removed, or nothing: no match and several matches are refused, naming what was found.

The removal is one single-item write through the provider, like a deletion on the watchlist
to-do list (todo.py), and told to the sync side the same way (`ACCOUNT_EDITED`): no pair
records it as its own write, so the pairs' next reads are fresh and see it as a deletion made
in the service's own app. A removal counts as done only when the service confirmed it or a
fresh, complete read no longer shows the entry; anything less is raised, never taken for done.
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Literal

from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers.dispatcher import async_dispatcher_send

from .const import DOMAIN
from .engine.forgetting import ItemMatch
from .engine.items import MediaItem
from .engine.payloads import Feature
from .engine.plan import Action
from .engine.provider import Read, WriteOutcome, WriteRequest, WriteResult
from .errors import Boundary, ErrorSubject, translate_errors
from .runtime import (
    ACCOUNT_EDITED,
    AccountActivity,
    AccountConfigEntry,
    AccountEdit,
    async_between_runs,
)

# Refusals a provider explains in its own words that have a message of their own.
EXPLAINED_REFUSALS = frozenset({"anilist_keeps_history"})


@dataclass(frozen=True, slots=True)
class Removed:
    """A removal the service confirmed, or that a fresh read shows."""

    label: str
    feature: Feature
    outcome: Literal["confirmed", "verified"]


@dataclass(frozen=True, slots=True)
class ItemRemoval:
    """Removals from one loaded account."""

    hass: HomeAssistant
    entry: AccountConfigEntry

    @property
    def error_subject(self) -> ErrorSubject:
        """The account is who failed; a refused sign-in starts its reauth."""
        entry = self.entry
        return ErrorSubject(
            {"account": entry.title}, on_refused=lambda _: entry.async_start_reauth(self.hass)
        )

    @translate_errors(Boundary.ACCOUNT_ACTION)
    async def remove(self, feature: Feature, match: ItemMatch) -> Removed:
        """Remove the one entry of `feature` that `match` names; raise unless it is gone."""
        provider = self.entry.runtime_data.provider
        if feature not in provider.capabilities.features:
            raise self._invalid("remove_item_feature", feature, match)
        read = await self._fresh_read(feature)
        found = [e.item for e in read.snapshot.entries.values() if match.matches(e.item)]
        if not found:
            key = "remove_item_not_found" if read.complete else "remove_item_not_found_partial"
            raise self._invalid(key, feature, match)
        if len(found) > 1:
            raise self._invalid(
                "remove_item_ambiguous", feature, match, candidates=_candidates(found)
            )
        item = found[0]
        result = await self._write(feature, item)
        if result is not None and result.outcome is WriteOutcome.CONFIRMED:
            return Removed(item.label(), feature, "confirmed")
        if result is not None and result.outcome is WriteOutcome.REJECTED:
            reason = result.reason or "-"
            key = (
                f"remove_item_refused_{reason}"
                if reason in EXPLAINED_REFUSALS
                else "remove_item_refused"
            )
            raise self._failed(key, feature, item, reason)
        if result is not None:  # the service answered nothing per item: look
            again = await self._fresh_read(feature)
            if again.complete and again.snapshot.find(item) is None:
                return Removed(item.label(), feature, "verified")
        reason = (result.reason if result else None) or "-"
        raise self._failed("remove_item_unconfirmed", feature, item, reason)

    @asynccontextmanager
    async def _using_provider(self) -> AsyncIterator[None]:
        """Between the pairs' runs; after, the account shows its new requests and quota."""
        try:
            async with async_between_runs(self.hass):
                yield
        finally:
            self.entry.runtime_data.coordinator.async_receive_activity(AccountActivity())

    async def _fresh_read(self, feature: Feature) -> Read:
        """What the service holds now: nothing reused, unpacked in the executor if packed."""
        provider = self.entry.runtime_data.provider
        async with self._using_provider():
            provider.forget_reads(feature)
            read = await provider.read(feature, None)
        if isinstance(read, Read):
            return read
        return await self.hass.async_add_executor_job(read.unpacked)

    async def _write(self, feature: Feature, item: MediaItem) -> WriteResult | None:
        provider = self.entry.runtime_data.provider
        try:
            async with self._using_provider():
                results = await provider.write(feature, Action.REMOVE, [WriteRequest(item, None)])
        finally:
            # Whatever the answer, the write may have landed: the pairs read afresh.
            edited = {feature}
            if (
                feature is Feature.WATCHLIST
                and provider.capabilities.watchlist_removal_clears_rating
            ):
                edited.add(Feature.RATINGS)
            async_dispatcher_send(
                self.hass, ACCOUNT_EDITED, AccountEdit(provider, frozenset(edited))
            )
        return results[0] if results else None

    def _invalid(
        self, key: str, feature: Feature, match: ItemMatch, *, candidates: str = ""
    ) -> ServiceValidationError:
        placeholders = {"account": self.entry.title, "feature": feature.value, "item": match.text}
        if candidates:
            placeholders["candidates"] = candidates
        return ServiceValidationError(
            translation_domain=DOMAIN, translation_key=key, translation_placeholders=placeholders
        )

    def _failed(
        self, key: str, feature: Feature, item: MediaItem, reason: str
    ) -> HomeAssistantError:
        return HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key=key,
            translation_placeholders={
                "account": self.entry.title,
                "feature": feature.value,
                "title": item.label(),
                "reason": reason,
            },
        )


def _candidates(items: list[MediaItem]) -> str:
    """Each match as the user could name it apart: its label and its ids."""
    named = []
    for item in sorted(items, key=lambda i: (i.label().casefold(), i.key)):
        ids = ", ".join(f"{ns}:{value}" for ns, value in sorted(item.ids().items()))
        named.append(f"{item.label()} [{ids}]" if ids else item.label())
    return "; ".join(named)
