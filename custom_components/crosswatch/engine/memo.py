"""The snapshot memo: one read of a provider's feature serves every pair in a run.

- A read is kept for a TTL (300 s by default) and shared by all pairs that need it; two pairs
  asking at once share one read in flight.
- A failed, partial or empty read is never kept: the next pair reads again, and an empty answer
  (a classic provider hiccup) is never reused as if it were the truth.
- After a write to a provider, its feature's read is busted, so no pair plans from a body that
  predates our own write.
"""

import asyncio
from collections.abc import Callable
from datetime import timedelta
import time

from .cursor import Checkpoint
from .payloads import Feature
from .provider import Provider, Read


class SnapshotMemo:
    """Reads shared across the pairs of a run; owned by whoever runs the pairs."""

    def __init__(
        self, ttl: timedelta = timedelta(seconds=300), clock: Callable[[], float] = time.monotonic
    ) -> None:
        """Keep reads for `ttl`, timed by `clock` (monotonic seconds)."""
        self._ttl = ttl.total_seconds()
        self._clock = clock
        self._reads: dict[tuple[str, Feature], tuple[float, Read]] = {}
        self._in_flight: dict[tuple[str, Feature], asyncio.Future[Read]] = {}

    async def read(
        self, provider: Provider, feature: Feature, checkpoint: Checkpoint | None
    ) -> Read:
        """The provider's feature, from the memo when a kept read is fresh enough."""
        key = (provider.key, feature)
        kept = self._reads.get(key)
        if kept is not None and self._clock() - kept[0] < self._ttl:
            return kept[1]
        if key in self._in_flight:
            return await asyncio.shield(self._in_flight[key])
        future: asyncio.Future[Read] = asyncio.get_running_loop().create_future()
        self._in_flight[key] = future
        try:
            read = await provider.read(feature, checkpoint)
        except asyncio.CancelledError:
            future.cancel()
            raise
        except Exception as err:
            future.set_exception(err)
            future.exception()  # retrieved here, so a read nobody shares never warns
            raise
        else:
            future.set_result(read)
            if read.snapshot.complete and len(read.snapshot):
                self._reads[key] = (self._clock(), read)
            return read
        finally:
            del self._in_flight[key]

    def bust(self, provider_key: str, feature: Feature | None = None) -> None:
        """Forget kept reads of a provider (one feature, or all of them)."""
        for key in [k for k in self._reads if k[0] == provider_key]:
            if feature is None or key[1] is feature:
                del self._reads[key]
