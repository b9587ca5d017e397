"""How much CPU SIMKL's adapter spends per write batch, and per delta folded into its cache.

Fills a SIMKL provider's cache with N titles (half movies, half shows, a third of them rated)
from an in-memory SIMKL (no HTTP: only the adapter's own work is timed), then times with
`time.process_time`:

- `writes`: B write batches of S requests each, rotating watchlist adds (the cache says which
  titles sit in another list), ratings and history (each marks the buckets it may touch);
- `merges`: B deltas of S re-read rows folded into a filled cache of N titles.

Prints one JSON line, comparable between two checkouts of the code:

    {"case": "simkl_writes", "titles", "batches", "batch_size", "writes_seconds",
     "writes_worst_batch_ms", "writes_p99_batch_ms", "merges_seconds", "merges_worst_batch_ms",
     "merges_p99_batch_ms", "peak_rss_mb"}

The worst batch includes whatever the interpreter does meanwhile: with a large cache, the batch
a full garbage collection lands in costs a couple of hundred milliseconds more, whatever the
code. The 99th percentile leaves that out.

    script/bench_simkl_writes.py                 # 100,000 titles, 1,000 batches of 100
    script/bench_simkl_writes.py --titles 20000 --batches 50

For wall time and memory of the whole run, `/usr/bin/time -v script/bench_simkl_writes.py`.
"""

import argparse
import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
import json
from pathlib import Path
import resource
import sys
import time
from typing import cast

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from custom_components.crosswatch.clients.simkl.client import SimklApi
from custom_components.crosswatch.clients.simkl.models import (
    BUCKETS,
    Activities,
    ListedRow,
    Media,
    RatedRow,
    Stamps,
    SyncObject,
    WriteReply,
)
from custom_components.crosswatch.engine.items import MediaItem, MediaType
from custom_components.crosswatch.engine.payloads import Feature, Listed, Payload, Rated, Watched
from custom_components.crosswatch.engine.plan import Action
from custom_components.crosswatch.engine.provider import WriteRequest
from custom_components.crosswatch.providers.simkl import SimklAccount, SimklProvider
from custom_components.crosswatch.providers.simkl.cache import DeltaCache

WHEN = datetime(2024, 1, 1, tzinfo=UTC)
STATUSES = ("plantowatch", "completed", "watching", "hold")
# What the write batches do, in turn.
ROTATION: tuple[tuple[Feature, Payload], ...] = (
    (Feature.WATCHLIST, Listed(WHEN)),
    (Feature.RATINGS, Rated(8.0, WHEN)),
    (Feature.HISTORY, Watched.from_plays((WHEN,))),
)


def _bucket(n: int, titles: int) -> str:
    return "movies" if n < titles // 2 else "shows"


def _ids(n: int, titles: int) -> dict[str, str]:
    if _bucket(n, titles) == "movies":
        return {"simkl": str(n + 1), "imdb": f"tt{10_000_000 + n}", "tmdb": str(n + 1)}
    return {"simkl": str(n + 1), "imdb": f"tt{10_000_000 + n}", "tvdb": str(n + 1)}


def _media(n: int, titles: int) -> Media:
    return Media(f"Title {n}", 2000 + n % 25, _ids(n, titles), _bucket(n, titles) == "movies")


def listed_row(n: int, titles: int, status: str | None = None) -> ListedRow:
    """Title n as SIMKL's all-items lists it."""
    status = status or STATUSES[n % len(STATUSES)]
    return ListedRow(_media(n, titles), status, WHEN, None, ())


def request_item(n: int, titles: int) -> MediaItem:
    """Title n as the other side (Trakt) names it: no SIMKL id."""
    ids = {k: v for k, v in _ids(n, titles).items() if k != "simkl"}
    kind = MediaType.MOVIE if _bucket(n, titles) == "movies" else MediaType.SHOW
    return MediaItem.create(kind, title=f"Title {n}", year=2000 + n % 25, ids=ids)


def new_item(n: int) -> MediaItem:
    """A film SIMKL does not hold (yet), as the other side names it."""
    ids = {"imdb": f"tt{50_000_000 + n}", "tmdb": str(50_000_000 + n)}
    return MediaItem.create(MediaType.MOVIE, title=f"New {n}", year=2020, ids=ids)


@dataclass
class MemorySimkl:
    """SIMKL's read and write endpoints, answered from memory at once."""

    titles: int
    delta: list[ListedRow] = field(default_factory=list)
    moved: int = 0  # bumps the activity stamps so that the next read takes a delta

    async def activities(self) -> Activities:
        at = f"2024-01-{1 + self.moved % 28:02d}T00:00:{self.moved // 28 % 60:02d}Z"
        stamps = {"all": at, "completed": at, "removed_from_list": "2023-01-01T00:00:00Z"}
        still = {"all": None, "completed": None, "removed_from_list": None}
        return Activities({b: stamps if b in ("movies", "shows") else still for b in BUCKETS})

    async def all_items(self, bucket: str, date_from: str | None) -> Sequence[ListedRow]:
        if date_from is not None:
            return [row for row in self.delta if _bucket_of(row) == bucket]
        return [
            listed_row(n, self.titles)
            for n in range(self.titles)
            if _bucket(n, self.titles) == bucket
        ]

    async def ratings(self, bucket: str, date_from: str | None) -> Sequence[RatedRow]:
        if date_from is not None:
            return []
        return [
            RatedRow(_media(n, self.titles), 1 + n % 10, WHEN)
            for n in range(0, self.titles, 3)
            if _bucket(n, self.titles) == bucket
        ]

    async def post(self, path: str, sections: Mapping[str, Sequence[SyncObject]]) -> WriteReply:
        return WriteReply({}, (), {}, {})  # counts only: every outcome stays unknown


def _bucket_of(row: ListedRow) -> str:
    return "movies" if row.media.movie else "shows"


def _worst_ms(laps: list[float]) -> float:
    return round(max(laps, default=0.0) * 1000, 3)


def _p99_ms(laps: list[float]) -> float:
    """The 99th percentile: the worst batch may be the one a full garbage collection hit."""
    ordered = sorted(laps)
    return (
        round(ordered[min(len(ordered) - 1, len(ordered) * 99 // 100)] * 1000, 3) if laps else 0.0
    )


async def time_writes(titles: int, batches: int, size: int) -> list[float]:
    simkl = MemorySimkl(titles)
    provider = SimklProvider(cast(SimklApi, simkl), SimklAccount("51", "bench"), now=lambda: WHEN)
    await provider.read(Feature.WATCHLIST, None)
    await provider.read(Feature.RATINGS, None)
    laps: list[float] = []
    for batch in range(batches):
        # Titles SIMKL holds, and as many it does not (new ones the other side adds).
        numbers = [(batch * size + i) % titles for i in range(size // 2)]
        items = [request_item(n, titles) for n in numbers]
        items += [new_item(batch * size + i) for i in range(size - len(numbers))]
        feature, payload = ROTATION[batch % len(ROTATION)]
        requests = [WriteRequest(item, payload) for item in items]
        started = time.process_time()
        await provider.write(feature, Action.ADD, requests)
        laps.append(time.process_time() - started)
    return laps


async def time_merges(titles: int, batches: int, size: int) -> list[float]:
    simkl = MemorySimkl(titles)
    cache = DeltaCache(
        simkl.all_items, simkl.ratings, now=lambda: WHEN, max_cache_age=timedelta(days=1)
    )
    await cache.refresh(cache.list_kind, (await simkl.activities()).buckets, "bench")
    laps: list[float] = []
    for batch in range(batches):
        # Rows from both buckets: a bucket that moved without any makes SIMKL's cache pull it
        # in full (a change filed under an earlier date), which is not what is timed here.
        simkl.delta = [
            listed_row((batch * size + i) * 7919 % titles, titles, "completed") for i in range(size)
        ]
        simkl.moved += 1
        stamps: Mapping[str, Stamps] = (await simkl.activities()).buckets
        started = time.process_time()
        await cache.refresh(cache.list_kind, stamps, "bench")
        laps.append(time.process_time() - started)
    return laps


async def main(titles: int, batches: int, size: int) -> dict[str, object]:
    writes = await time_writes(titles, batches, size)
    merges = await time_merges(titles, batches, size)
    return {
        "case": "simkl_writes",
        "titles": titles,
        "batches": batches,
        "batch_size": size,
        "writes_seconds": round(sum(writes), 3),
        "writes_worst_batch_ms": _worst_ms(writes),
        "writes_p99_batch_ms": _p99_ms(writes),
        "merges_seconds": round(sum(merges), 3),
        "merges_worst_batch_ms": _worst_ms(merges),
        "merges_p99_batch_ms": _p99_ms(merges),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--titles", type=int, default=100_000)
    parser.add_argument("--batches", type=int, default=1_000)
    parser.add_argument("--batch-size", type=int, default=100)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(main(args.titles, args.batches, args.batch_size))))
