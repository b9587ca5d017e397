"""The `raw_to_plan` case: from the rows a client parses to a plan, keying included.

The planner cases time `plan_feature` alone on snapshots built untimed. A run also pays for
keying: every row becomes a `MediaItem` (ids normalized, tokens and the canonical key derived)
and each side's entries are indexed into a `Snapshot`. This case times all of it, through the
real client and provider code, for a one-way watchlist first run Trakt -> SIMKL:

- side A: Trakt's `/sync/watchlist/movies` rows (decoded JSON, as the HTTP layer hands them
  over) -> `clients.trakt.models.watchlist_row` -> `providers.trakt.entries.watchlist_entries`;
- side B: SIMKL's `/sync/all-items/movies` body -> `clients.simkl.models.parse_listed` ->
  `providers.simkl.parse.parse_titles` -> `list_entries`;
- both -> `Snapshot.build` -> `plan_feature` (no baselines: a first run).

Inventories: 60 % of titles with three ids (the service's own, imdb, tmdb), 30 % with one
(tmdb or imdb), 10 % with a title only; about 1 % differ between the sides. Generating and
decoding the JSON is not timed: the HTTP layer's decoding is measured on its own (see
docs/benchmarks.md, "One large reply through the HTTP layer").
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
import gc
import json
import random
import resource
import time
from typing import Any

from bench import SIMKL_LIKE, TRAKT_LIKE, _moment, _seed, _Universe

from custom_components.crosswatch.clients.simkl.models import parse_listed
from custom_components.crosswatch.clients.trakt.models import watchlist_row
from custom_components.crosswatch.engine.payloads import Feature
from custom_components.crosswatch.engine.planner import (
    PairPolicy,
    SideState,
    SyncMode,
    plan_feature,
)
from custom_components.crosswatch.engine.snapshot import Completeness, Snapshot
from custom_components.crosswatch.providers.simkl.parse import list_entries, parse_titles
from custom_components.crosswatch.providers.trakt.entries import watchlist_entries

# Items per side -> (max seconds, max peak RSS in MiB or None), on this 2-core machine.
RAW_TO_PLAN_BUDGETS: dict[int, tuple[float, float | None]] = {
    100_000: (0.8, None),
    1_000_000: (8.0, 1024.0),
}
_LISTED = "%Y-%m-%dT%H:%M:%S.000Z"


@dataclass(frozen=True, slots=True)
class _Bodies:
    trakt: bytes  # the watchlist rows, as Trakt sends them
    simkl: bytes  # the all-items movies body, as SIMKL sends it
    differ: int  # titles only one side lists
    expected_adds: int  # of those, on Trakt only with an id: each must become an add


def _ids(rng: random.Random, number: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """The ids each service gives one title: (Trakt's, SIMKL's)."""
    imdb, tmdb = f"tt{1_000_000 + number:07d}", 10_000 + number
    share = rng.random()
    if share < 0.6:
        return (
            {"trakt": 500_000 + number, "imdb": imdb, "tmdb": tmdb},
            {"simkl": 900_000 + number, "imdb": imdb, "tmdb": tmdb},
        )
    if share < 0.9:
        one: dict[str, Any] = {"tmdb": tmdb} if share < 0.75 else {"imdb": imdb}
        return dict(one), {k: str(v) for k, v in one.items()}
    return {}, {}


def _bodies(rng: random.Random, size: int) -> _Bodies:
    universe = _Universe(rng)
    trakt: list[dict[str, Any]] = []
    simkl: list[dict[str, Any]] = []
    differ = expected_adds = 0
    for number in range(size):
        spec = universe.movie()
        trakt_ids, simkl_ids = _ids(rng, number)
        listed_at: datetime = _moment(rng)
        fate = rng.random()
        movie = {"title": spec.title, "year": spec.year}
        if fate >= 0.005:
            trakt.append(
                {
                    "rank": number + 1,
                    "id": 7_000_000 + number,
                    "listed_at": listed_at.strftime(_LISTED),
                    "notes": None,
                    "type": "movie",
                    "movie": movie | {"ids": trakt_ids},
                }
            )
        if fate < 0.005 or fate >= 0.01:
            simkl.append(
                {
                    "added_to_watchlist_at": (listed_at + timedelta(seconds=1)).strftime(
                        "%Y-%m-%dT%H:%M:%SZ"
                    ),
                    "last_watched_at": None,
                    "user_rated_at": None,
                    "status": "plantowatch",
                    "movie": movie | {"ids": simkl_ids},
                }
            )
        if fate < 0.01:
            differ += 1
            expected_adds += int(fate >= 0.005 and bool(trakt_ids))
    return _Bodies(
        json.dumps(trakt).encode(), json.dumps({"movies": simkl}).encode(), differ, expected_adds
    )


def _complete(entries: int) -> Completeness:
    return Completeness(all_pages=True, expected_total=entries, seen_total=entries)


def _raw_to_plan(trakt_rows: list[Any], simkl_body: Any) -> tuple[int, int, dict[str, float]]:
    """Rows to a plan, as a run does it: (operations, items keyed, CPU seconds per stage)."""
    clock = time.process_time
    stages: dict[str, float] = {}
    start = clock()
    rows = [row for raw in trakt_rows if (row := watchlist_row(raw)) is not None]
    listed = parse_listed(simkl_body, "movies")
    stages["client_rows"], start = clock() - start, clock()
    entries_a, _ = watchlist_entries(rows)
    titles, _ = parse_titles("movies", listed)
    entries_b = list(list_entries(Feature.WATCHLIST, {"movies": {t.item.key: t for t in titles}}))
    stages["keying"], start = clock() - start, clock()
    snapshots = [
        Snapshot.build(name, Feature.WATCHLIST, entries, _complete(len(entries)))
        for name, entries in (("trakt", entries_a), ("simkl", entries_b))
    ]
    stages["indexing"], start = clock() - start, clock()
    plan = plan_feature(
        PairPolicy(SyncMode.ADD_ONLY),
        SideState("trakt", TRAKT_LIKE, snapshots[0], None),
        SideState("simkl", SIMKL_LIKE, snapshots[1], None),
    )
    stages["planning"] = clock() - start
    return len(plan.operations), len(entries_a) + len(entries_b), stages


def measure(size: int) -> dict[str, object]:
    """One timed pass at `size` titles per side, as one JSON-ready line."""
    # Reproducible synthetic inventories, not secrets.
    rng = random.Random(_seed("raw_to_plan", size))  # noqa: S311
    bodies = _bodies(rng, size)
    trakt_rows, simkl_body = json.loads(bodies.trakt), json.loads(bodies.simkl)
    gc.collect()
    start, cpu_start = time.perf_counter(), time.process_time()
    ops, keyed, stages = _raw_to_plan(trakt_rows, simkl_body)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # A title only one side lists may still match another by title and year (the made-up
    # titles repeat at a million): such a weak match adds nothing. Half is the planner cases'
    # floor too.
    if not bodies.expected_adds // 2 <= ops <= bodies.differ:
        raise SystemExit(
            f"bench: raw_to_plan at {size}: {ops} operations, expected"
            f" {bodies.expected_adds // 2}..{bodies.differ}"
        )
    return {
        "case": "raw_to_plan",
        "items_per_side": size,
        "seconds": round(seconds, 3),
        "cpu_seconds": round(cpu, 3),  # the same, unaffected by other processes on the machine
        "peak_rss_mb": round(peak_kib / 1024, 1),
        "ops": ops,
        "items_keyed": keyed,
        "cpu_seconds_by_stage": {name: round(value, 3) for name, value in stages.items()},
    }
