"""What a run has done so far: the tally the pipeline keeps while it goes, feature by feature.

Mutable on purpose and private to a run: `RunTally.status()` is the one place that decides how
a run ended, from what every feature reported.
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from .guards import GuardCode, GuardEvent
from .payloads import Feature
from .plan import Operation, Plan
from .provider import AuthError, Provider, ProviderError, RateLimitError
from .runs import FeatureCounts, IncompleteRead, PairSpec, RunStatus


@dataclass(frozen=True, slots=True)
class RequestMeter:
    """Counts the requests each provider makes during one run."""

    providers: tuple[Provider, ...]
    at_start: tuple[int, ...]

    @classmethod
    def start(cls, *providers: Provider) -> RequestMeter:
        """Note where each provider's request count stands as the run starts."""
        return cls(providers, tuple(p.requests_made for p in providers))

    def used(self) -> dict[str, int]:
        """Requests per provider name since the start."""
        return {
            p.name: p.requests_made - start
            for p, start in zip(self.providers, self.at_start, strict=True)
        }


class ReadFailedError(Exception):
    """A side could not be read (or checked); the feature (or the run) is skipped."""

    def __init__(self, provider: Provider, err: ProviderError) -> None:
        """Name the provider, and whether it asked us to slow down."""
        super().__init__(f"{provider.name}: {err}")
        self.rate_limited = isinstance(err, RateLimitError)
        self.provider = provider.name
        self.retry_after = err.retry_after if isinstance(err, RateLimitError) else None


@dataclass(slots=True)
class HealthChecks:
    """When each provider last passed a run's health check, so that runs ask at most `every`.

    The check costs a request per provider and run, and on a run with nothing to do that is
    half of them. The reads ask the service anyway, and fail the run just as well when it does
    not answer or refuses our credentials; so a provider that passed within `every`, and whose
    runs since all succeeded, is not asked again (`forget` after any run that did not).
    """

    every: timedelta
    passed: dict[str, datetime] = field(default_factory=dict)

    def due(self, provider: Provider, now: datetime) -> bool:
        """Whether `provider` must be checked before a run starting `now`."""
        last = self.passed.get(provider.key)
        return last is None or now - last >= self.every or now < last

    def forget(self, *providers: Provider) -> None:
        """Check these providers again before the next run."""
        for provider in providers:
            self.passed.pop(provider.key, None)


async def health_failure(
    a: Provider, b: Provider, *, checks: HealthChecks | None = None, now: datetime | None = None
) -> ReadFailedError | None:
    """Why the run cannot start, or None; a refusal of credentials is raised, naming who.

    With `checks`, only providers due a check (as of `now`) are asked.
    """
    for provider in (a, b):
        if checks is not None and now is not None and not checks.due(provider, now):
            continue
        try:
            await provider.health()
        except AuthError as err:
            err.provider = err.provider or provider.key
            raise
        except ProviderError as err:
            return ReadFailedError(provider, err)
        if checks is not None and now is not None:
            checks.passed[provider.key] = now
    return None


@dataclass(slots=True)
class RunTally:
    """What a run has done so far, feature by feature."""

    spec: PairSpec
    run_id: int
    started: datetime
    meter: RequestMeter
    plan: Plan
    features: dict[Feature, FeatureCounts] = field(default_factory=dict)
    events: list[GuardEvent] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    retry_after: float | None = None
    account_limited: tuple[str, ...] = ()
    rate_limited: tuple[str, ...] = ()
    held: bool = False
    incomplete: list[IncompleteRead] = field(default_factory=list)
    settled: list[Feature] = field(default_factory=list)
    written: list[Operation] = field(default_factory=list)

    def slow_down(self, provider: str, retry_after: float | None) -> None:
        """Note that `provider` asked us to slow down (waiting `retry_after` s, when it said)."""
        if provider not in self.rate_limited:
            self.rate_limited += (provider,)
        if retry_after:
            self.retry_after = max(self.retry_after or 0.0, retry_after)

    def add(self, feature: Feature, outcome: FeatureOutcome) -> None:
        """Take in what one feature did."""
        self.features[feature] = outcome.counts
        if outcome.plan is not None:
            self.plan = self.plan.combine(outcome.plan)
        self.events.extend(outcome.events)
        self.errors.extend(outcome.errors)
        self.held = self.held or outcome.held
        if outcome.settled:
            self.settled.append(feature)
        self.incomplete.extend(outcome.incomplete)
        self.written.extend(outcome.written)
        for provider in outcome.rate_limited:
            self.slow_down(provider, None)
        if outcome.retry_after:
            self.retry_after = max(self.retry_after or 0.0, outcome.retry_after)
        self.account_limited += outcome.account_limited

    def status(self) -> RunStatus:
        """How the run ended, from what every feature reported."""
        counts = self.features.values()
        if counts and all(c.errors and c.planned == 0 for c in counts) and self.errors:
            return RunStatus.FAILED
        if self.held:
            return RunStatus.HELD
        # Adds set aside because the account is at its plan's cap were skipped, not done.
        capped = any(e.code is GuardCode.ACCOUNT_LIMIT for e in self.events)
        # A read that failed or could not prove completeness: nothing was removed on its
        # account, so the run did not do all it would have. A targeted run reads one item of
        # side A by design (targeted.py): that read is partial, and says so, but the run did
        # what it was asked.
        incomplete = [
            read
            for read in self.incomplete
            if not (
                self.spec.focus and read.provider == self.plan.side_names[0] and not read.suspect
            )
        ]
        if self.errors or incomplete or capped:
            return RunStatus.PARTIAL
        # Everything the planner wanted written is unresolved: the pair cannot write.
        if any(c.unresolved for c in counts) and not any(c.planned for c in counts):
            return RunStatus.UNRESOLVED
        # The target refused some of what the run wrote: it did not do all it planned.
        if any(c.rejected for c in counts):
            return RunStatus.PARTIAL
        # One item's run never stands for the whole pair's success.
        return RunStatus.TARGETED if self.spec.focus else RunStatus.SUCCESS


@dataclass(slots=True)
class FeatureOutcome:
    """What one feature of a run did, for the run's tally."""

    counts: FeatureCounts = field(default_factory=FeatureCounts)
    plan: Plan | None = None
    events: list[GuardEvent] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    held: bool = False
    incomplete: list[IncompleteRead] = field(default_factory=list)
    retry_after: float | None = None
    account_limited: tuple[str, ...] = ()
    rate_limited: tuple[str, ...] = ()
    # Nothing to do, known without planning: the feature was settled and read the same
    # (settle.py).
    settled: bool = False
    written: tuple[Operation, ...] = ()  # what the services took (RunResult.changes names it)

    @classmethod
    def of_failed_read(cls, feature: Feature, err: ReadFailedError) -> FeatureOutcome:
        """A feature skipped because a side could not be read."""
        return cls(
            counts=FeatureCounts(errors=1),
            errors=[str(err)],
            incomplete=[IncompleteRead(err.provider, feature, str(err))],
            retry_after=err.retry_after if err.rate_limited else None,
            rate_limited=(err.provider,) if err.rate_limited else (),
        )
