"""A household's sync of all its pairs (issue 16's `household` case): stalls and requests.

What a user with one Plex server, one Trakt and one SIMKL account runs in Home Assistant, at
the size issue 16 names: Plex with 5,000 films and 50,000 episodes (500 shows) → Trakt's
history of 60,000 plays; Trakt ⇄ SIMKL watchlist of 300 titles; Plex → Trakt ratings, 2,000.
`script/bench_loop.py` measures one pair at a time; a household runs them all, one after the
other, on the same providers (Trakt is in all three pairs), the same store and the same snapshot
memo, and the loop must stay free through the whole sync, not through one pair's run.

The simulators are seeded and served by a child process (`script/bench_loop_serve.py
household N`, so that their CPU is not counted here; what each service holds is in its
`Household`). This process builds the real clients and providers against them, as
tests/harness/services.py builds them, a state store on a temporary file and a Pipeline whose
blocking work goes to the loop's default executor, as Home Assistant's `async_add_executor_job`
sends it. A run step runs the three pairs in turn, as one Home Assistant sync of every pair:

1. `plex-trakt-history`: Plex → Trakt history, add only (Trakt lacks 1 % of Plex's plays);
2. `trakt-simkl-watchlist`: Trakt ⇄ SIMKL watchlist, two-way (5 titles on each side only);
3. `plex-trakt-ratings`: Plex → Trakt ratings, add only (Trakt lacks 1 % of them).

The steps, as in bench_loop: `first` (nothing stored yet, some writes to make); `no_change`
(verifies the first step's writes, so reads what they touched again); `steady` (nothing pending
any more: every pair should find nothing to do and settle, engine/settle.py); `settled` (each
pair ends once its reads are in); then `one_new_play`: before it, the user watches one more
episode on Plex (the parent sends the server's own scrobble call, as a Plex player does), and
the step should write that one play to Trakt and nothing else.

Between steps an hour passes on the providers' own clocks (Home Assistant's default interval,
const.DEFAULT_INTERVAL): within a step, Plex's provider reads its library once for the history
and the ratings pair (it keeps a scan for a minute), as in one sync; the next step scans again,
as the next sync would, and Trakt's provider judges how long its lists may lag behind our
writes by the same clock. The snapshot memo keeps nothing (TTL 0), as in bench_loop; the clients
keep real time, as the simulators' rate limits do (Trakt: 1,000 GETs per 5 minutes, one write a
second: waits they cause are `client_waits`, not stalls). A heartbeat on the loop sleeps 5 ms
at a time; every wake-up later than that is a lag, and a lag over 50 ms is a stall. One JSON
line per step:

    {"case": "household", "run", "films", "episodes", "pairs": {pair: {"status", "ops",
     "applied", "settled", "requests", "wall_seconds", "errors", "rate_limited"}},
     "worst_stall_ms", "total_stall_ms", "stalls_over_50ms", "wall_seconds", "cpu_seconds",
     "gc_worst_ms", "gc_full_passes", "gc_full_ms", "requests", "client_waits", "http_429",
     "peak_rss_mb"}

    script/bench --household                       5,000 films (the issue's household)
    script/bench --household --films 500           a tenth of it, to try the bench out
    script/bench --household --where               also sample where the loop stalls
    script/bench --household --check-budgets       exit non-zero when a step stalls > 50 ms

`ops` counts the operations a pair's run planned and `applied` the writes it made; `requests`
is the RunResult's count per provider (per pair, and summed over the step); `cpu_seconds` this
process's CPU time over the step (the loop and the executor's threads, not the simulators);
`settled` the features that ended with their reads.
"""

import argparse
import asyncio
from collections import Counter
from dataclasses import dataclass
import json
import resource
import sys
import time
from typing import Final

import aiohttp
from bench_loop import (
    STALL,
    Json,
    Side,
    bench_pipeline,
    count_429,
    plex_client,
    served,
    simkl_side,
    trakt_client,
    watched,
)

from custom_components.crosswatch.const import DEFAULT_INTERVAL
from custom_components.crosswatch.engine.payloads import Feature
from custom_components.crosswatch.engine.pipeline import PairSpec, Pipeline, RunResult
from custom_components.crosswatch.engine.planner import SyncMode
from custom_components.crosswatch.providers.plex import PlexProvider
from custom_components.crosswatch.providers.trakt import TraktProvider

FILMS: Final = 5_000  # issue 16's household; the episodes and plays follow (bench_loop_serve)
# The run steps, in order, on the same providers and store (see the module doc).
STEPS: Final = ("first", "no_change", "steady", "settled", "one_new_play")
NEW_PLAY: Final = "one_new_play"  # the step before which the user watches one more episode


@dataclass(frozen=True, slots=True)
class HouseholdPair:
    """One of the household's pairs: its spec and which of the three services are A and B."""

    spec: PairSpec
    a: str
    b: str


def household_pair(name: str, mode: SyncMode, feature: Feature, a: str, b: str) -> HouseholdPair:
    return HouseholdPair(PairSpec(name, mode, frozenset({feature})), a, b)


# In the order a sync runs them: one after the other, as the pairs' coordinators take turns
# at the runtime's run lock.
PAIRS: Final = (
    household_pair("plex-trakt-history", SyncMode.ADD_ONLY, Feature.HISTORY, "plex", "trakt"),
    household_pair("trakt-simkl-watchlist", SyncMode.TWO_WAY, Feature.WATCHLIST, "trakt", "simkl"),
    household_pair("plex-trakt-ratings", SyncMode.ADD_ONLY, Feature.RATINGS, "plex", "trakt"),
)


class Schedule:
    """The providers' clock: the wall clock, moved on by one sync interval between steps."""

    def __init__(self) -> None:
        self.skipped = 0.0

    def now(self) -> float:
        return time.time() + self.skipped

    def next_sync(self) -> None:
        self.skipped += DEFAULT_INTERVAL.total_seconds()


def trakt_household(session: aiohttp.ClientSession, hello: Json, clock: Schedule) -> Side:
    """Trakt as bench_loop.trakt_side builds it, its provider on the schedule's clock."""
    client, waits = trakt_client(session, hello)
    return Side(TraktProvider(client, slug=hello["trakt"]["slug"], now=clock.now), waits)


def plex_household(session: aiohttp.ClientSession, hello: Json, clock: Schedule) -> Side:
    """Plex as bench_loop.plex_side builds it, but keeping a library scan for its minute.

    As Home Assistant's does (providers.plex.LIBRARY_TTL): the history and the ratings pair of
    one sync share a scan. On the schedule's clock, the next step's scan is an hour later.
    """
    client, waits = plex_client(session, hello)
    return Side(PlexProvider(client, now=clock.now), waits)


async def watch_new_episode(session: aiohttp.ClientSession, hello: Json) -> None:
    """The user finishes an episode: the Plex player marks it played on the server.

    Through the server's own scrobble call, outside the provider (it counts none of its
    requests); the server's reads show it from then on, and dates the play when it takes it.
    """
    async with session.put(
        f"{hello['urls']['plex']}/:/scrobble",
        params={"key": hello["new_play"], "identifier": "com.plexapp.plugins.library"},
        headers={"X-Plex-Token": hello["plex"]["server_token"]},
    ) as reply:
        reply.raise_for_status()


def pair_numbers(result: RunResult, wall: float) -> dict[str, Json]:
    """What one pair's run did, for the step's line."""
    return {
        "status": result.status.value,
        "ops": len(result.plan.operations),
        "applied": sum(counts.applied for counts in result.features.values()),
        "settled": [feature.value for feature in result.settled],
        "requests": dict(result.requests),
        "wall_seconds": round(wall, 2),
        "errors": list(result.errors),
        "rate_limited": list(result.rate_limited),
    }


async def measured_step(
    pipeline: Pipeline, sides: dict[str, Side], *, where: bool
) -> dict[str, Json]:
    """One sync of every pair with the heartbeat going; the step's numbers."""
    pairs: dict[str, Json] = {}
    requests: Counter[str] = Counter()
    async with watched(sides.values(), where=where) as numbers:
        for pair in PAIRS:
            pair_started = time.perf_counter()
            a, b = sides[pair.a].provider, sides[pair.b].provider
            result = await pipeline.run(pair.spec, a, b)
            pairs[pair.spec.pair] = pair_numbers(result, time.perf_counter() - pair_started)
            requests.update(result.requests)
    return {"pairs": pairs, **numbers, "requests": dict(requests)}


async def measure(films: int, hello: Json, *, where: bool) -> list[Json]:
    """Every step (STEPS) of the household's syncs; one JSON-ready dict per step."""
    lines = []
    throttled: dict[str, int] = {}
    clock = Schedule()
    async with (
        bench_pipeline() as pipeline,
        aiohttp.ClientSession(trace_configs=[count_429(throttled)]) as session,
    ):
        sides = {
            "plex": plex_household(session, hello, clock),
            "trakt": trakt_household(session, hello, clock),
            "simkl": simkl_side(session, hello),
        }
        for step in STEPS:
            if step == NEW_PLAY:
                await watch_new_episode(session, hello)
            throttled.clear()
            numbers = await measured_step(pipeline, sides, where=where)
            lines.append(
                {
                    "case": "household", "run": step, "films": films,
                    "episodes": hello["seeded"]["plex_episodes"], **numbers,
                    "http_429": {
                        service: throttled.get(url, 0) for service, url in hello["urls"].items()
                    },
                    "peak_rss_mb": round(
                        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1
                    ),
                }
            )  # fmt: skip
            clock.next_sync()
    return lines


async def bench(films: int, *, where: bool) -> tuple[Json, list[Json]]:
    """Serve the household in a child process, measure its syncs, stop the child.

    The child's hello line (what it seeded) and the steps' lines.
    """
    async with served("household", films) as hello:
        return hello, await measure(films, hello, where=where)


def unexpected(line: Json) -> list[str]:
    """How a step's pairs differ from what the household should do at that step.

    The first step writes in every pair; the next three write nothing, and by the settled step
    every pair ends with its reads; the new play is one operation of the history pair and
    nothing else. Otherwise the world or the engine is broken and the numbers mean little.
    """
    step = line["run"]
    wrong = []
    for name, pair in line["pairs"].items():
        history = name == PAIRS[0].spec.pair
        expected_ops = (
            pair["ops"] > 0
            if step == "first"
            else pair["ops"] == (1 if step == NEW_PLAY and history else 0)
        )
        if not expected_ops or pair["status"] != "success":
            wrong.append(f"{step} {name}: {pair['ops']} ops, {pair['status']}")
        if step == "settled" and not pair["settled"]:
            wrong.append(f"{step} {name}: not settled")
    return wrong


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--films",
        type=int,
        default=FILMS,
        help="films in the Plex library; episodes, plays and ratings scale with it",
    )
    parser.add_argument(
        "--where", action="store_true", help="sample the loop's stack during stalls (where_ms)"
    )
    parser.add_argument(
        "--check-budgets",
        action="store_true",
        help=f"exit non-zero when a step stalls the loop for more than {STALL * 1000:.0f} ms",
    )
    args = parser.parse_args()
    hello, lines = asyncio.run(bench(args.films, where=args.where))
    print(json.dumps({"case": "household", "seeded": hello["seeded"]}), file=sys.stderr)
    over: list[str] = []
    broken: list[str] = []
    for line in lines:
        print(json.dumps(line), flush=True)
        broken += unexpected(line)
        if line["worst_stall_ms"] > STALL * 1000:
            over.append(f"{line['run']} {line['worst_stall_ms']} ms")
    budget = f"{STALL * 1000:.0f} ms"
    print(
        f"budgets: worst stall within {budget} "
        + (f"MISSED [{'; '.join(over)}]" if over else "met by every step"),
        file=sys.stderr,
    )
    if broken:
        print("bench_household: " + "; ".join(broken), file=sys.stderr)
        return 1
    return 1 if over and args.check_budgets else 0


if __name__ == "__main__":
    sys.exit(main())
