"""One coordinator per sync pair: runs the engine pipeline and holds what the last run did."""

from collections.abc import Callable, Collection, Sequence
import contextlib
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum
from functools import partial
import json
from typing import Any

from homeassistant.config_entries import ConfigSubentry
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator

from .anime_map import involves_anilist
from .const import (
    DOMAIN,
    EVENT_ITEMS_SYNCED,
    EVENT_PLAYBACK_FINISHED,
    EVENT_RUN_FINISHED,
    LOGGER,
)
from .engine.applier import ApplyReport
from .engine.failing import FailureStreak, failure_streak
from .engine.guards import GuardCode
from .engine.payloads import Feature
from .engine.pipeline import PairSpec, RunResult, RunStatus
from .engine.plan import PairSide
from .engine.playback import FinishedPlay
from .engine.provider import AuthError, ItemReader, ProviderError
from .engine.records import PendingWrite
from .engine.restore import BackupCopy, Restored
from .engine.runs import RunChanges
from .engine.scrobble import ScrobbleCall
from .engine.targeted import read_played
from .errors import Boundary, ErrorSubject, rate_limited, translate_errors
from .pairs import PairConfig
from .playback import LiveScrobbles, TakingTurns
from .runtime import (
    AccountActivity,
    AccountRuntime,
    StoreClosedError,
    SyncConfigEntry,
    loaded_account,
    publish_activity,
)


class PlayOutcome(StrEnum):
    """What became of a play a followed player finished (the playback event says it)."""

    SYNCED = "synced"  # the targeted run wrote it to the target
    IN_SYNC = "in_sync"  # the target had it already: nothing to write
    NOT_WATCHED = "not_watched_on_server"  # the server never showed the play: nothing synced
    WAITS_FOR_FULL_RUN = "waits_for_full_run"  # the pair has not read its source whole yet
    UNAVAILABLE = "unavailable"  # an account is missing or cannot read one item
    FAILED = "failed"  # a read or the run failed; the next full run sees the play


class PairStatus(StrEnum):
    """How the pair's last run ended, as the last-result sensor shows it."""

    SUCCESS = "success"
    PARTIAL = "partial"
    FAILED = "failed"
    HELD = "held"
    # Nothing could be written: every item the pair would write is unresolved.
    UNRESOLVED = "unresolved"
    SKIPPED = "skipped"  # an account was missing or not loaded: nothing ran
    # Failed run after run: no scheduled run until the user resumes it or signs in again.
    PAUSED = "paused"


_FROM_RUN = {
    RunStatus.SUCCESS: PairStatus.SUCCESS,
    RunStatus.PARTIAL: PairStatus.PARTIAL,
    RunStatus.FAILED: PairStatus.FAILED,
    RunStatus.HELD: PairStatus.HELD,
    RunStatus.UNRESOLVED: PairStatus.UNRESOLVED,
    RunStatus.CANCELLED: PairStatus.PARTIAL,
}


@dataclass(frozen=True, slots=True)
class LastSynced:
    """The latest run that changed something: when it finished, and what."""

    at: datetime
    changes: RunChanges

    @classmethod
    def from_record(cls, finished_at: datetime | None, summary: str | None) -> LastSynced | None:
        """From a stored run record's summary; None when the run changed nothing."""
        if finished_at is None or not summary:
            return None
        try:
            stored = json.loads(summary)
        except ValueError:
            return None
        changes = RunChanges.from_dict(stored.get("changes") if isinstance(stored, dict) else None)
        return cls(finished_at, changes) if changes is not None and changes.titles else None


@dataclass(frozen=True, slots=True)
class PairState:
    """What a pair's entities show: the last run and what the store holds for the pair."""

    status: PairStatus
    result: RunResult | None = None
    waiting_for: tuple[str, ...] = ()  # account entries (unique ids) the pair needs
    held: int = 0
    unresolved: int = 0
    phantoms: int = 0
    last_run: datetime | None = None  # when the last real (not dry) run finished
    preview: RunResult | None = None  # a dry run since the last real run (Preview, get_plan)
    last_synced: LastSynced | None = None  # the latest run that changed something

    @property
    def latest_plan(self) -> RunResult | None:
        """What the pair would do now: the preview if there is one, else the last run's plan."""
        return self.preview or self.result

    @property
    def needs_attention(self) -> bool:
        """Whether the user has something to decide or fix."""
        return (
            self.status
            in (PairStatus.FAILED, PairStatus.SKIPPED, PairStatus.UNRESOLVED, PairStatus.PAUSED)
            or self.held > 0
        )


@dataclass(slots=True)
class _Progress:
    running: bool = False
    preview: RunResult | None = None
    paused: FailureStreak | None = None  # why the pair stopped running on its schedule
    listeners: list[Callable[[], None]] = field(default_factory=list)


class PairCoordinator(DataUpdateCoordinator[PairState]):
    """Runs one pair on its interval, and on demand (sync now, preview, actions).

    Rate limits: a run that failed because a provider asked to slow down raises UpdateFailed
    with the provider's Retry-After, so the next try comes when the provider said; a run that
    did part of its work first keeps its result, and its next run waits at least as long.

    A pair whose last `pause_after` runs all failed pauses (engine/failing.py): no scheduled
    run, and a repair says why. Resuming (the repair, a sign-in of one of its accounts, or a
    sync the user asks for) runs it once; if that run fails too, it pauses again. The streak
    is read from the store's run records, so a pause outlives a restart.
    """

    config_entry: SyncConfigEntry

    def __init__(
        self, hass: HomeAssistant, entry: SyncConfigEntry, subentry: ConfigSubentry
    ) -> None:
        """Bind the pair's subentry; the first refresh runs it."""
        self.subentry = subentry
        self.pair = PairConfig.from_data(subentry.data)
        super().__init__(
            hass,
            LOGGER,
            config_entry=entry,
            name=f"CrossWatch {subentry.title}",
            update_interval=self.pair.interval,
            always_update=False,
        )
        self._progress = _Progress()
        self.scrobbles = LiveScrobbles(self)

    @property
    def pair_id(self) -> str:
        """The pair's id in the engine's store: its subentry id."""
        return self.subentry.subentry_id

    @property
    def running(self) -> bool:
        """Whether a run of this pair is under way."""
        return self._progress.running

    def describe(self, result: RunResult | None) -> dict[str, Any]:
        """A run's summary as users see it (the sync action, the bus event): named by the pair."""
        summary: dict[str, Any] = (
            result.summary() if result is not None else {"status": PairStatus.SKIPPED.value}
        )
        return {**summary, "pair": self.subentry.title, "pair_id": self.pair_id}

    @property
    def preview(self) -> RunResult | None:
        """The last dry run's result (the preview button), if any."""
        return self._progress.preview

    def accounts(self) -> tuple[AccountRuntime | None, AccountRuntime | None]:
        """The loaded account entries of both sides (None where missing or not loaded)."""
        return (
            loaded_account(self.hass, self.pair.source),
            loaded_account(self.hass, self.pair.target),
        )

    @property
    def error_subject(self) -> ErrorSubject:
        """Errors name the pair; a refused sign-in asks that account to sign in again."""
        return ErrorSubject({"pair": self.subentry.title}, self._start_reauth)

    @property
    def paused(self) -> FailureStreak | None:
        """Why the pair is paused (its failed runs in a row), or None while it runs."""
        return self._progress.paused

    def is_paused(self) -> bool:
        """Whether the pair is paused now."""
        return self._progress.paused is not None

    @translate_errors(Boundary.UPDATE)
    async def _async_update_data(self) -> PairState:
        if self._progress.paused is not None:
            # Refreshes other than the user's (a loaded account, a restart) do not run it.
            last = self.data or PairState(PairStatus.PAUSED)
            return replace(last, status=PairStatus.PAUSED)
        try:
            return await self.async_run()
        except AuthError as err:
            if not self.is_paused():  # (the run may have paused it)
                raise
            # The run that paused the pair: say "paused" rather than go unavailable, and still
            # ask for the sign-in that would resume it.
            self._start_reauth(err)
            return self.data

    async def async_restore_pause(self) -> None:
        """At setup: pause again if the stored runs still say the pair is failing."""
        await self._judge_streak()
        if self._progress.paused is not None and self.data is not None:
            self.data = replace(self.data, status=PairStatus.PAUSED)

    def async_resume(self) -> None:
        """Run the pair once now, and on its schedule again unless that run fails too."""
        if self._progress.paused is None:
            return
        LOGGER.info("%s resumes", self.subentry.title)
        self._unpause()
        self.config_entry.async_create_background_task(
            self.hass, self.async_refresh(), f"{DOMAIN} resume {self.pair_id}"
        )

    async def async_run(
        self,
        *,
        dry_run: bool | None = None,
        features: Collection[Feature] = (),
        fresh: bool = False,
    ) -> PairState:
        """Run the pair once; a dry run only updates the preview.

        `fresh` (what the user asked for: sync now, preview, actions) reads both sides anew
        instead of reusing another pair's reads from the last few minutes. A provider's error
        comes out as it is: each caller's boundary translates it (`translate_errors`).
        """
        source, target = self.accounts()
        if source is None or target is None:
            missing = tuple(
                uid
                for uid, account in ((self.pair.source, source), (self.pair.target, target))
                if account is None
            )
            self._raise_waiting_issue(missing)
            return await self._state(PairStatus.SKIPPED, None, missing)
        ir.async_delete_issue(self.hass, DOMAIN, f"pair_waiting_{self.pair_id}")
        runtime = self.config_entry.runtime_data
        if runtime.anime_map is not None and involves_anilist(self.pair):
            # AniList's anime match the other side through the mapping list: its first load
            # comes before the pair's first run (a failed one leaves the ids the services give).
            await runtime.anime_map.async_ready()
        spec = self.pair.spec(self.pair_id, dry_run=dry_run, features=features)
        if fresh:
            for account in (source, target):
                for feature in spec.features:
                    runtime.pipeline.bust(account.provider, feature)
        self._set_running(True)
        if not spec.dry_run:
            self._unpause()  # the user asked for this run, or the pair was not paused
        try:
            async with runtime.run_lock:
                result = await runtime.pipeline.run(spec, source.provider, target.provider)
        except AuthError:
            if not spec.dry_run:  # the run is recorded as failed: it may be one too many
                await self._judge_streak()
            if self._progress.paused is not None:
                last = self.data or PairState(PairStatus.PAUSED)
                self.async_set_updated_data(replace(last, status=PairStatus.PAUSED))
            raise
        finally:
            self._set_running(False)
            runtime.expire_shared_reads_later(self.hass)
            for account in (source, target):  # their requests and quotas, whatever happened
                publish_activity(self.hass, account, AccountActivity())
        return await self._after_run(spec, result)

    async def _after_run(self, spec: PairSpec, result: RunResult) -> PairState:
        """Tell what a run did (entities, events, repairs) and when the next one comes."""
        if spec.dry_run:  # a dry-run pair's runs are previews too (the get_plan action)
            self._progress.preview = result
        if spec.dry_run and not self.pair.dry_run:
            # A preview changes what the planned sensors show, not the last run nor the schedule.
            last = self.data or await self._state(PairStatus.SKIPPED, None, ())
            self.data = replace(last, preview=result)
            self.async_update_listeners()
            return self.data
        self._note_account_limits(result)
        await self._publish_counts()
        self.hass.bus.async_fire(EVENT_RUN_FINISHED, self.describe(result))
        if result.changes.any:
            self._announce_changes(result)
        await self._judge_streak()
        if result.status is RunStatus.FAILED and result.rate_limited:
            self.update_interval = None if self._progress.paused else self.pair.interval
            raise rate_limited(self.subentry.title, result.rate_limited, result.retry_after)
        self._adjust_interval(result)
        status = PairStatus.PAUSED if self._progress.paused else _FROM_RUN[result.status]
        return await self._state(status, result, ())

    async def async_playback_changed(
        self, entity_id: str, calls: Sequence[ScrobbleCall], play: FinishedPlay | None
    ) -> None:
        """A followed player changed: scrobble it (the pair's option), then sync a finished play.

        In that order: a stop the target recorded as a play is in the pair's records before
        the targeted run plans the play, so the target never gets it twice.
        """
        if calls:
            await self.scrobbles.send(entity_id, calls)
        if play is not None:
            await self.async_sync_play(entity_id, play)

    async def async_sync_play(self, entity_id: str, play: FinishedPlay) -> PlayOutcome | str:
        """Sync one play a followed player finished, as a targeted run (engine/targeted.py).

        The source is asked for the item by the id the player reports, until it shows the play
        (a few reads, between the pairs' runs); then the pair runs for that item alone, under
        the run lock. The pair's last result stays its last full run's. Returns the outcome,
        or the run's status where it did not do what it planned (the event says it).
        """
        outcome = await self._sync_play(play)
        LOGGER.info(
            "%s: %s finished on %s: %s", self.subentry.title, play.label, entity_id, outcome
        )
        self.hass.bus.async_fire(
            EVENT_PLAYBACK_FINISHED,
            {
                "pair": self.subentry.title,
                "pair_id": self.pair_id,
                "entity_id": entity_id,
                "title": play.label,
                "outcome": str(outcome),
            },
        )
        return outcome

    async def _sync_play(self, play: FinishedPlay) -> PlayOutcome | str:
        source, target = self.accounts()
        runtime = self.config_entry.runtime_data
        if source is None or target is None or not isinstance(source.provider, ItemReader):
            return PlayOutcome.UNAVAILABLE
        try:
            played = await read_played(
                TakingTurns(source.provider, runtime.run_lock),
                play.content_id,
                since=play.started_by,
            )
            if played.read is None:
                return PlayOutcome.NOT_WATCHED
            spec = self.pair.spec(self.pair_id, features=[Feature.HISTORY])
            self._set_running(True)
            try:
                async with runtime.run_lock:
                    if runtime.closed:
                        return PlayOutcome.UNAVAILABLE
                    result = await runtime.pipeline.run_item(
                        spec, source.provider, target.provider, played.read
                    )
            finally:
                self._set_running(False)
                runtime.expire_shared_reads_later(self.hass)
        except AuthError as err:
            self._start_reauth(err)
            return PlayOutcome.FAILED
        except ProviderError as err:
            LOGGER.warning("%s: the played item could not be read: %s", self.subentry.title, err)
            return PlayOutcome.FAILED
        for account in (source, target):
            publish_activity(self.hass, account, AccountActivity())
        if result is None:
            return PlayOutcome.WAITS_FOR_FULL_RUN
        await self._publish_counts()
        if result.changes.any:
            self._announce_changes(result)
            if self.data is not None:  # what the Last synced sensor shows; not the last result
                synced = LastSynced(result.finished_at, result.changes)
                self.data = replace(self.data, last_synced=synced)
                self.async_update_listeners()
        if result.status is not RunStatus.TARGETED:
            return result.status.value
        return PlayOutcome.SYNCED if result.changes.any else PlayOutcome.IN_SYNC

    @translate_errors(Boundary.ACTION)
    async def async_approve_held(self) -> ApplyReport:
        """Apply every removal a guard held for this pair (the user approved them)."""
        source, target = self._both_accounts()
        runtime = self.config_entry.runtime_data
        async with runtime.run_lock:
            report = await runtime.pipeline.approve_held(
                self.pair_id, source.provider, target.provider
            )
        for account in (source, target):  # their requests, quotas and watchlists changed
            publish_activity(self.hass, account, AccountActivity())
        await self.async_refresh_counts()
        await self._publish_counts()
        return report

    @translate_errors(Boundary.ACTION)
    async def async_requeue_phantoms(self) -> list[PendingWrite]:
        """Give the pair's phantom writes another chance, then run it; returns them."""
        source, target = self._both_accounts()
        runtime = self.config_entry.runtime_data
        async with runtime.run_lock:
            phantoms = await runtime.pipeline.requeue_phantoms(
                self.pair.spec(self.pair_id), source.provider, target.provider
            )
        await self.async_request_refresh()
        return phantoms

    @translate_errors(Boundary.ACTION)
    async def async_restore(self, backup: BackupCopy, side: PairSide, *, dry_run: bool) -> Restored:
        """Add back to one side what `backup` holds of it and the service lacks now.

        Raises ValueError when the side's read is partial or the backup has no copy of it.
        """
        source, target = self._both_accounts()
        runtime = self.config_entry.runtime_data
        async with runtime.run_lock:
            restored = await runtime.pipeline.restore(
                self.pair.spec(self.pair_id), source.provider, target.provider, backup,
                side=side, dry_run=dry_run,
            )  # fmt: skip
        if not dry_run:
            for account in (source, target):  # requests, quotas and watchlists changed
                publish_activity(self.hass, account, AccountActivity())
            await self.async_refresh_counts()
        return restored

    def _both_accounts(self) -> tuple[AccountRuntime, AccountRuntime]:
        """Both sides' loaded accounts, or the translated error that the pair waits for one."""
        source, target = self.accounts()
        if source is None or target is None:
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="pair_waiting",
                translation_placeholders={"pair": self.subentry.title},
            )
        return source, target

    async def async_reject_held(self) -> int:
        """Drop every held removal of this pair; the items stay where they are."""
        runtime = self.config_entry.runtime_data
        async with runtime.run_lock:
            rejected = await runtime.pipeline.reject_held(self.pair_id)
        await self.async_refresh_counts()
        return rejected

    async def _publish_counts(self) -> None:
        """Tell both accounts what the store now knows they hold (the pair just changed it)."""
        runtime = self.config_entry.runtime_data
        for account in self.accounts():
            if account is not None:
                await runtime.async_publish_counts(self.hass, account)

    async def async_refresh_counts(self) -> None:
        """Re-read what the store holds for the pair (after an action), without a run."""
        current = self.data or PairState(PairStatus.SKIPPED)
        state = await self._state(current.status, current.result, current.waiting_for)
        self.async_set_updated_data(state)

    async def _state(
        self, status: PairStatus, result: RunResult | None, waiting: tuple[str, ...]
    ) -> PairState:
        runtime = self.config_entry.runtime_data
        held = await runtime.async_use_store(self.hass, partial(runtime.store.held, self.pair_id))
        unresolved = await runtime.async_use_store(
            self.hass, partial(runtime.store.unresolved, self.pair_id)
        )
        self._raise_held_issue(len(held))
        phantoms = sum(c.phantoms for c in result.features.values()) if result else 0
        last_run = self.data.last_run if self.data else None
        last_synced = self.data.last_synced if self.data else None
        if result is not None and not result.dry_run:  # a dry-run pair's runs write nothing
            last_run = result.finished_at
            if result.changes.any:
                last_synced = LastSynced(result.finished_at, result.changes)
        return PairState(
            status, result, waiting, len(held), len(unresolved), phantoms, last_run,
            last_synced=last_synced,
        )  # fmt: skip

    def _announce_changes(self, result: RunResult) -> None:
        """Say what a run changed on the services (the logbook shows it)."""
        self.hass.bus.async_fire(
            EVENT_ITEMS_SYNCED,
            {
                "pair": self.subentry.title,
                "pair_id": self.pair_id,
                "run_id": result.run_id,
                "changes": result.changes.as_dict(),
            },
        )

    def _set_running(self, running: bool) -> None:
        self._progress.running = running
        self.async_update_listeners()

    async def _judge_streak(self) -> None:
        """Pause once the last `pause_after` runs all failed (engine/failing.py)."""
        limit = self.pair.pause_after
        if not limit:
            return
        runtime = self.config_entry.runtime_data
        with contextlib.suppress(StoreClosedError):  # Home Assistant is stopping
            records = await runtime.async_use_store(
                self.hass, partial(runtime.store.runs, self.pair_id, 2 * limit, full_only=True)
            )
            streak = failure_streak(records)
            if streak.runs >= limit:
                self._pause(streak)

    def _pause(self, streak: FailureStreak) -> None:
        if self._progress.paused is None:
            LOGGER.warning(
                "%s failed %d runs in a row and is paused until it is resumed: %s",
                self.subentry.title, streak.runs, streak.last_error,
            )  # fmt: skip
        self._progress.paused = streak
        self.update_interval = None
        ir.async_create_issue(
            self.hass,
            DOMAIN,
            f"pair_paused_{self.pair_id}",
            is_fixable=True,
            severity=ir.IssueSeverity.ERROR,
            translation_key="pair_paused",
            translation_placeholders={
                "pair": self.subentry.title,
                "runs": str(streak.runs),
                "error": streak.last_error or "-",
            },
            data={"pair_id": self.pair_id},
        )

    def _unpause(self) -> None:
        if self._progress.paused is None:
            return
        self._progress.paused = None
        self.update_interval = self.pair.interval
        ir.async_delete_issue(self.hass, DOMAIN, f"pair_paused_{self.pair_id}")

    def _adjust_interval(self, result: RunResult) -> None:
        # A run that did what it could before a provider asked us to wait keeps its result, and
        # the next run comes no sooner than the wait (nor sooner than the pair's interval).
        if self._progress.paused is not None:
            return  # no scheduled run
        base = self.pair.interval
        wait = timedelta(seconds=result.retry_after or 0)
        self.update_interval = max(base, wait)

    def _start_reauth(self, err: AuthError) -> None:
        """Ask the user to sign in again to the account that refused us (both, if unsaid)."""
        for uid, account in zip((self.pair.source, self.pair.target), self.accounts(), strict=True):
            if account is None:
                continue
            if err.provider is not None and err.provider != account.provider.key:
                continue
            entry = self.hass.config_entries.async_entry_for_domain_unique_id(DOMAIN, uid)
            if entry is not None:
                entry.async_start_reauth(self.hass)

    def _note_account_limits(self, result: RunResult) -> None:
        # Writes refused at the plan's cap (420), or adds the guard set aside to fit it.
        limited = [*result.account_limited] + [
            e.detail for e in result.events if e.code is GuardCode.ACCOUNT_LIMIT
        ]
        issue_id = f"account_limit_{self.pair_id}"
        if not limited:
            ir.async_delete_issue(self.hass, DOMAIN, issue_id)
            return
        ir.async_create_issue(
            self.hass,
            DOMAIN,
            issue_id,
            is_fixable=False,
            severity=ir.IssueSeverity.WARNING,
            translation_key="account_limit",
            translation_placeholders={"pair": self.subentry.title, "error": limited[0]},
        )

    def _raise_held_issue(self, held: int) -> None:
        """A fixable repair while removals wait for the user's decision."""
        issue_id = f"held_{self.pair_id}"
        if not held:
            ir.async_delete_issue(self.hass, DOMAIN, issue_id)
            return
        ir.async_create_issue(
            self.hass,
            DOMAIN,
            issue_id,
            is_fixable=True,
            severity=ir.IssueSeverity.WARNING,
            translation_key="held_operations",
            translation_placeholders={"pair": self.subentry.title, "count": str(held)},
            data={"pair_id": self.pair_id},
        )

    def _raise_waiting_issue(self, missing: tuple[str, ...]) -> None:
        ir.async_create_issue(
            self.hass,
            DOMAIN,
            f"pair_waiting_{self.pair_id}",
            is_fixable=False,
            severity=ir.IssueSeverity.WARNING,
            translation_key="pair_waiting",
            translation_placeholders={
                "pair": self.subentry.title,
                "accounts": ", ".join(missing),
            },
        )
