"""Full-run benchmark: the whole pipeline in process, on two in-memory providers (no HTTP).

A two-way watchlist pair of N items per side, in sync, runs twice against a fresh state store:
the first run stores both baselines; the second finds nothing changed and must write close to
no rows. Prints one JSON line:

    {"case": "full_run", "items_per_side", "first_run_seconds", "no_change_run_seconds",
     "db_mb", "rows_written_no_change", "peak_rss_mb"}

    script/bench --full-run 100000
"""

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
import json
from pathlib import Path
import resource
import sys
import tempfile
import time

from bench import SIMKL_LIKE, TRAKT_LIKE, engine_without_home_assistant

engine_without_home_assistant()

from custom_components.crosswatch.engine.capabilities import Capabilities  # noqa: E402
from custom_components.crosswatch.engine.cursor import Checkpoint  # noqa: E402
from custom_components.crosswatch.engine.items import MediaItem, MediaType  # noqa: E402
from custom_components.crosswatch.engine.memo import SnapshotMemo  # noqa: E402
from custom_components.crosswatch.engine.payloads import Entry, Feature, Listed  # noqa: E402
from custom_components.crosswatch.engine.pipeline import PairSpec, Pipeline  # noqa: E402
from custom_components.crosswatch.engine.plan import Action  # noqa: E402
from custom_components.crosswatch.engine.planner import SyncMode  # noqa: E402
from custom_components.crosswatch.engine.provider import (  # noqa: E402
    Read,
    WriteOutcome,
    WriteRequest,
    WriteResult,
)
from custom_components.crosswatch.engine.snapshot import Completeness, Snapshot  # noqa: E402
from custom_components.crosswatch.engine.store import StateStore  # noqa: E402

W = Feature.WATCHLIST
LISTED = datetime(2025, 6, 1, tzinfo=UTC)


@dataclass
class InMemoryProvider:
    """Serves a fixed watchlist; a full run of an in-sync pair never writes to it."""

    key: str
    name: str
    capabilities: Capabilities
    entries: list[Entry] = field(default_factory=list)
    writes: int = 0
    reads: int = 0

    @property
    def requests_made(self) -> int:
        return self.reads + self.writes

    async def health(self) -> None:
        return None

    def forget_reads(self, feature: Feature | None = None, *, validated: bool = False) -> None:
        """Nothing is kept between reads."""
        del feature, validated

    async def read(self, feature: Feature, checkpoint: Checkpoint | None) -> Read:
        self.reads += 1
        total = len(self.entries)
        completeness = Completeness(all_pages=True, expected_total=total, seen_total=total)
        snapshot = Snapshot.build(self.name, feature, self.entries, completeness)
        return Read(snapshot, Checkpoint(self.key, feature, "steady", None, LISTED))

    async def write(
        self, feature: Feature, action: Action, requests: Sequence[WriteRequest]
    ) -> Sequence[WriteResult]:
        self.writes += len(requests)
        return [WriteResult(r.item, WriteOutcome.CONFIRMED) for r in requests]


def inventory(size: int) -> list[Entry]:
    """A watchlist with the usual id coverage: 60 % three ids, 30 % one, 10 % title only."""
    entries = []
    for n in range(size):
        share = n % 10
        if share < 6:
            ids: dict[str, object] = {"imdb": f"tt{1_000_000 + n}", "tmdb": n + 1, "trakt": n + 1}
        elif share < 9:
            ids = {"tmdb": n + 1}
        else:
            ids = {}
        item = MediaItem.create(MediaType.MOVIE, title=f"Film {n}", year=1950 + n % 75, ids=ids)
        entries.append(Entry(item, Listed(LISTED)))
    return entries


async def measure(size: int, database: Path) -> dict[str, object]:
    with StateStore(database) as store:
        a = InMemoryProvider("trakt:a", "Trakt", TRAKT_LIKE, inventory(size))
        b = InMemoryProvider("simkl:b", "SIMKL", SIMKL_LIKE, inventory(size))
        clock = [LISTED]
        pipeline = Pipeline(
            store,
            run_blocking=asyncio.to_thread,
            memo=SnapshotMemo(timedelta(0)),
            clock=lambda: clock[0],
        )
        spec = PairSpec("bench", SyncMode.TWO_WAY, frozenset({W}))
        start = time.perf_counter()
        first = await pipeline.run(spec, a, b)
        first_seconds = time.perf_counter() - start
        changes_before = store._db.total_changes  # noqa: SLF001 - SQLite's own counter
        clock[0] += timedelta(hours=1)
        start = time.perf_counter()
        second = await pipeline.run(spec, a, b)
        second_seconds = time.perf_counter() - start
        rows = store._db.total_changes - changes_before  # noqa: SLF001
        if first.features[W].planned or second.features[W].planned or a.writes or b.writes:
            sys.exit("bench: an in-sync pair planned writes; the benchmark measures nothing")
    size_mb = sum(p.stat().st_size for p in database.parent.glob(database.name + "*")) / 2**20
    return {
        "case": "full_run",
        "items_per_side": size,
        "first_run_seconds": round(first_seconds, 3),
        "no_change_run_seconds": round(second_seconds, 3),
        "db_mb": round(size_mb, 1),
        "rows_written_no_change": rows,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def main() -> int:
    size = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    with tempfile.TemporaryDirectory() as folder:
        result = asyncio.run(measure(size, Path(folder) / "state.db"))
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
