"""The applier: writes a guarded plan to the providers, chunk by chunk, and records every outcome.

- Operations go out grouped by side, feature and action, in plan order, in chunks of the
  provider's batch size.
- Each chunk's outcomes are recorded in one store transaction: accepted writes (confirmed or
  unknown) wait in `pending` until a complete snapshot shows them, so a write is never sent twice
  while a provider is slow to show it, and a run cut off between chunks repeats nothing;
  rejected items become unresolved (retried with backoff); failed writes count toward the
  blackbox; a write the destination resolved to an item without ids records a shadow.
- A chunk whose reply was lost (a 5xx after sending, a timeout: `OutcomeUnknownError`) may have
  been stored: its items wait in `pending` as unknown, never counted as failures to resend.
- A failing chunk does not abort the run; an authentication failure does (nothing further can
  succeed), and a rate limit stops writes to that provider for this run.
- A dry run writes nothing and records nothing.
"""

from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from itertools import batched
from typing import Protocol

from .guards import GuardSettings
from .plan import Action, Operation, PairSide, Plan
from .provider import (
    AccountLimitError,
    AccountLockedError,
    AuthError,
    OutcomeUnknownError,
    Provider,
    ProviderError,
    RateLimitError,
    WriteOutcome,
    WriteRequest,
    WriteResult,
)
from .records import Scope
from .shadow import shadow_for
from .store import StateStore
from .wording import count_of


class RunBlocking(Protocol):
    """Runs a blocking function off the event loop (Home Assistant: async_add_executor_job)."""

    def __call__[T](self, function: Callable[[], T], /) -> Awaitable[T]:
        """Run `function` in a worker thread and await its result."""
        ...


@dataclass(frozen=True, slots=True)
class Applied:
    """What became of one operation."""

    operation: Operation
    outcome: WriteOutcome | None  # None: not written (dry run, failed batch, rate limit)
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class ApplyReport:
    """Every operation's fate, and the errors met on the way."""

    applied: tuple[Applied, ...]
    errors: tuple[str, ...] = ()
    retry_after: float | None = None  # the longest Retry-After a provider asked for
    account_limited: tuple[str, ...] = ()  # providers that refused writes at a plan limit
    rate_limited: tuple[str, ...] = ()  # providers that asked us to slow down

    def count(self, outcome: WriteOutcome | None) -> int:
        """How many operations ended with `outcome` (None: not written)."""
        return sum(1 for applied in self.applied if applied.outcome is outcome)


def _groups(plan: Plan) -> Iterator[tuple[PairSide, Operation, list[Operation]]]:
    """Operations to write, grouped by (side, feature, action) in plan order."""
    groups: dict[tuple[PairSide, str, Action], list[Operation]] = {}
    for op in plan.operations:
        if op.action is Action.CONFLICT:
            continue  # a conflict records the losing value; there is nothing to write
        groups.setdefault((op.side, op.feature.value, op.action), []).append(op)
    for (side, _, _), ops in groups.items():
        yield side, ops[0], ops


async def apply_plan(
    plan: Plan,
    *,
    pair: str,
    providers: Mapping[PairSide, Provider],
    store: StateStore,
    run_blocking: RunBlocking,
    run_id: int,
    now: datetime,
    dry_run: bool = False,
    guards: GuardSettings | None = None,
) -> ApplyReport:
    """Write `plan` and record each chunk's outcomes; see the module docstring."""
    settings = guards or GuardSettings()
    if dry_run:
        return ApplyReport(
            tuple(
                Applied(op, None, "dry run")
                for op in plan.operations
                if op.action is not Action.CONFLICT
            )
        )
    applied: list[Applied] = []
    errors: list[str] = []
    retry_after: float | None = None
    limited: set[PairSide] = set()
    account_limited: list[str] = []
    rate_limited: list[str] = []
    for side, first, ops in _groups(plan):
        provider = providers[side]
        scope = Scope(pair, first.feature, side.value)
        for chunk in batched(ops, max(1, provider.capabilities.batch_size), strict=False):
            if side in limited:
                applied.extend(Applied(op, None, "stopped: provider limit") for op in chunk)
                continue
            requests = [WriteRequest(op.item, op.payload) for op in chunk]
            try:
                results = await provider.write(first.feature, first.action, requests)
            except AuthError as err:
                err.provider = err.provider or provider.key
                raise
            except (RateLimitError, AccountLimitError, AccountLockedError) as err:
                # Not the items' fault: stop writing to this side, count nothing against them.
                limited.add(side)
                if isinstance(err, RateLimitError):
                    retry_after = max(retry_after or 0.0, err.retry_after or 0.0) or None
                    rate_limited.append(provider.name)
                if isinstance(err, AccountLimitError):
                    account_limited.append(provider.name)
                errors.append(f"{provider.name}: {err}")
                applied.extend(Applied(op, None, "stopped: provider limit") for op in chunk)
                continue
            except OutcomeUnknownError as err:
                # The service may have stored the batch: wait for a fresh read to say so, never
                # fail the items to send them again (a resent play is a second play on Trakt).
                errors.append(
                    f"{provider.name}: {err}; {count_of(len(chunk), 'write')} wait for a fresh"
                    " read to show whether they were stored"
                )
                results = [WriteResult(op.item, WriteOutcome.UNKNOWN) for op in chunk]
                await run_blocking(
                    partial(
                        _record_chunk, store, scope, chunk, results, run_id=run_id, now=now,
                        settings=settings,
                    )
                )  # fmt: skip
                applied.extend(Applied(op, WriteOutcome.UNKNOWN, str(err)) for op in chunk)
                continue
            except ProviderError as err:
                errors.append(f"{provider.name}: {err}")
                await run_blocking(
                    partial(
                        _record_failure, store, scope, chunk, str(err), now=now, settings=settings
                    )
                )
                applied.extend(Applied(op, None, str(err)) for op in chunk)
                continue
            outcomes = _outcomes(chunk, results)
            await run_blocking(
                partial(
                    _record_chunk,
                    store,
                    scope,
                    chunk,
                    outcomes,
                    run_id=run_id,
                    now=now,
                    settings=settings,
                )
            )
            applied.extend(
                Applied(op, result.outcome, result.reason)
                for op, result in zip(chunk, outcomes, strict=True)
            )
    return ApplyReport(
        tuple(applied), tuple(errors), retry_after, tuple(account_limited), tuple(rate_limited)
    )


def _outcomes(chunk: Sequence[Operation], results: Sequence[WriteResult]) -> list[WriteResult]:
    """One result per operation, matched by item; an item the reply skipped is unknown."""
    by_key = {result.item.key: result for result in results}
    return [by_key.get(op.item.key, WriteResult(op.item, WriteOutcome.UNKNOWN)) for op in chunk]


def _record_chunk(
    store: StateStore,
    scope: Scope,
    chunk: Sequence[Operation],
    outcomes: Sequence[WriteResult],
    *,
    run_id: int,
    now: datetime,
    settings: GuardSettings,
) -> None:
    """Record one chunk's outcomes in one transaction."""
    with store.transaction():
        for op, result in zip(chunk, outcomes, strict=True):
            key = op.item.key
            if result.outcome is WriteOutcome.REJECTED:
                store.record_rejection(
                    scope, op.item, reason=result.reason or "rejected", now=now,
                    backoff=settings.retry_backoff,
                )  # fmt: skip
                continue
            store.record_write_success(scope, key)
            # Rejected under an older key (before ID backfill lent it a stronger id): its tokens
            # keep that key, and the item is resolved under every name it had.
            for name in {key, *op.item.tokens}:
                store.resolve(scope, name)
            if result.stored_as is not None and op.action is not Action.REMOVE:
                shadow = shadow_for(result.stored_as, op.item)
                if shadow is not None:
                    store.record_shadow(scope, shadow, now)
            store.record_pending(
                scope,
                op.action,
                op.item,
                op.payload,
                outcome=result.outcome.value,
                run_id=run_id,
                now=now,
            )


def _record_failure(
    store: StateStore,
    scope: Scope,
    chunk: Sequence[Operation],
    error: str,
    *,
    now: datetime,
    settings: GuardSettings,
) -> None:
    """Count a failed write for every item of a chunk, in one transaction."""
    with store.transaction():
        for op in chunk:
            store.record_write_failure(
                scope, op.item, error=error, now=now,
                threshold=settings.quarantine_after, cooldown=settings.quarantine_for,
            )  # fmt: skip
