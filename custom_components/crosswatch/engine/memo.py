"""The snapshot memo: one read of a provider's feature serves every pair in a run.

- A read is kept for a TTL (300 s by default) and shared by all pairs that need it; two pairs
  asking at once share one read in flight.
- A failed, partial or empty read is never kept: the next pair reads again, and an empty answer
  (a classic provider hiccup) is never reused as if it were the truth.
- After a write to a provider, its feature's read is busted, so no pair plans from a body that
  predates our own write.
- Nothing is held between runs: whoever owns the memo calls `clear` once the TTL has passed
  after its last run (a read of 100,000 items is tens of megabytes), and reads past their TTL
  go at the next read.
"""

import asyncio
from collections.abc import Callable
from datetime import timedelta
import time

from .cursor import Checkpoint
from .payloads import Feature
from .provider import AnyRead, Provider


class SnapshotMemo:
    """Reads shared across the pairs of a run; owned by whoever runs the pairs."""

    def __init__(
        self, ttl: timedelta = timedelta(seconds=300), clock: Callable[[], float] = time.monotonic
    ) -> None:
        """Keep reads for `ttl`, timed by `clock` (monotonic seconds)."""
        self._ttl = ttl.total_seconds()
        self._clock = clock
        self._reads: dict[tuple[str, Feature], tuple[float, AnyRead]] = {}
        self._in_flight: dict[tuple[str, Feature], asyncio.Future[AnyRead]] = {}

    async def read(
        self, provider: Provider, feature: Feature, checkpoint: Checkpoint | None
    ) -> AnyRead:
        """The provider's feature, from the memo when a kept read is fresh enough.

        What the provider hands back, packed or not: see `Read` and `PackedRead`.
        """
        self.expire()
        key = (provider.key, feature)
        kept = self._reads.get(key)
        if kept is not None and self._clock() - kept[0] < self._ttl:
            return kept[1]
        if key in self._in_flight:
            return await asyncio.shield(self._in_flight[key])
        future: asyncio.Future[AnyRead] = asyncio.get_running_loop().create_future()
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
            if self._ttl > 0 and read.complete and read.count:
                self._reads[key] = (self._clock(), read)
            return read
        finally:
            del self._in_flight[key]

    def bust(self, provider_key: str, feature: Feature | None = None) -> None:
        """Forget kept reads of a provider (one feature, or all of them)."""
        for key in [k for k in self._reads if k[0] == provider_key]:
            if feature is None or key[1] is feature:
                del self._reads[key]

    def __len__(self) -> int:
        """How many reads are kept (expired ones included until `expire`)."""
        return len(self._reads)

    def clear(self) -> None:
        """Forget every kept read."""
        self._reads.clear()

    def expire(self) -> None:
        """Forget the reads kept longer than the TTL."""
        now = self._clock()
        for key in [k for k, (at, _) in self._reads.items() if now - at >= self._ttl]:
            del self._reads[key]
