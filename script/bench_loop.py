"""Event-loop stalls of a real sync run (issue 16): the clients, providers and engine as shipped.

Home Assistant runs CrossWatch on its event loop, and a sync must never hold that loop for more
than 50 ms. For each pair kind and size, the simulators are seeded and served by a child
process (script/bench_loop_serve.py, so that their CPU is not counted here); this process
builds the real clients and providers against them, a state store on a temporary file and a
Pipeline whose blocking work goes to the loop's default executor, as Home Assistant's
`async_add_executor_job` sends it. The pair runs twice on the same providers and store, as
within one Home Assistant start: a first run (nothing stored yet, some adds both ways), then a
no-change run. A heartbeat on the same loop sleeps 5 ms at a time; every wake-up later than
that is a lag, and a lag over 50 ms is a stall. One JSON line per (pair, size, run):

    {"case": "loop", "pair", "items_per_side", "run", "status", "ops", "worst_stall_ms",
     "total_stall_ms", "stalls_over_50ms", "wall_seconds", "requests", "client_waits",
     "http_429", "peak_rss_mb"}

    script/bench --loop                              trakt-simkl at 10,000 and 100,000
    script/bench --loop --sizes 10000                one size
    script/bench --loop --sizes 10000 --slow-callbacks   also name the slowest loop callbacks

`requests` is the RunResult's count per provider; `client_waits` the seconds each provider's
client slept to pace itself or honour a Retry-After (a real wait, not a stall); `http_429`
the replies that asked us to slow down. `--slow-callbacks` runs the loop in asyncio's debug
mode, which logs every callback that held it over 50 ms; that mode slows everything down, so
its stall numbers are not the ones to quote.
"""

import argparse
import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
import json
import logging
from pathlib import Path
import resource
import subprocess
import sys
import tempfile
import time
from types import SimpleNamespace
from typing import Any, Final

import aiohttp
from bench import engine_without_home_assistant

engine_without_home_assistant()

from custom_components.crosswatch.clients.simkl.client import SimklApi  # noqa: E402
from custom_components.crosswatch.clients.tokens import Tokens  # noqa: E402
from custom_components.crosswatch.clients.trakt.auth import TraktApp  # noqa: E402
from custom_components.crosswatch.clients.trakt.client import TraktClient  # noqa: E402
from custom_components.crosswatch.engine.memo import SnapshotMemo  # noqa: E402
from custom_components.crosswatch.engine.payloads import Feature  # noqa: E402
from custom_components.crosswatch.engine.pipeline import PairSpec, Pipeline, RunResult  # noqa: E402
from custom_components.crosswatch.engine.planner import SyncMode  # noqa: E402
from custom_components.crosswatch.engine.provider import Provider  # noqa: E402
from custom_components.crosswatch.engine.store import StateStore  # noqa: E402
from custom_components.crosswatch.providers.simkl import (  # noqa: E402
    SimklAccount,
    SimklProvider,
)
from custom_components.crosswatch.providers.trakt import TraktProvider  # noqa: E402

SERVE = Path(__file__).resolve().parent / "bench_loop_serve.py"
SIZES: Final = (10_000, 100_000)
STALL: Final = 0.050  # seconds: the most a sync may hold Home Assistant's loop
BEAT: Final = 0.005  # seconds the heartbeat sleeps between looks at the clock
type Json = Any


class Waits:
    """A client's sleep that counts what it slept: pacing and Retry-After waits, not stalls."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.count = 0

    async def sleep(self, seconds: float) -> None:
        self.seconds += seconds
        self.count += 1
        await asyncio.sleep(seconds)


@dataclass
class Side:
    """One side of a pair: its real provider and the sleeps its client made."""

    provider: Provider
    waits: Waits


@dataclass(frozen=True, slots=True)
class PairKind:
    """A kind of pair the bench can run: its spec and how to build its two sides.

    `build` gets the session and the child's hello line (URLs, tokens, accounts). Further kinds
    (Plex → Trakt history, Trakt → Jellyfin, AniList ⇄ SIMKL) are a serving function in
    script/bench_loop_serve.py and one more `PairKind` here.
    """

    name: str
    spec: PairSpec
    build: Callable[[aiohttp.ClientSession, Json], tuple[Side, Side]]


def trakt_side(session: aiohttp.ClientSession, hello: Json) -> Side:
    """Trakt as tests/harness/services.py builds it (TraktService.provider), in real time."""
    trakt = hello["trakt"]
    waits = Waits()

    async def keep(tokens: Tokens) -> None:
        del tokens  # Home Assistant would persist a refreshed pair; none is due in a bench

    client = TraktClient(
        session, TraktApp(trakt["client_id"], trakt["client_secret"]),
        Tokens.from_oauth_reply(trakt["tokens"]), keep, base_url=hello["urls"]["trakt"],
        sleep=waits.sleep,
    )  # fmt: skip
    return Side(TraktProvider(client, slug=trakt["slug"]), waits)


def simkl_side(session: aiohttp.ClientSession, hello: Json) -> Side:
    """SIMKL as tests/harness/services.py builds it (SimklService.provider), in real time."""
    simkl = hello["simkl"]
    waits = Waits()
    api = SimklApi(session, simkl["client_id"], simkl["token"], base_url=hello["urls"]["simkl"],
                   sleep=waits.sleep)  # fmt: skip
    account = SimklAccount(simkl["account_id"], simkl["account_name"])
    return Side(SimklProvider(api, account), waits)


def trakt_simkl(session: aiohttp.ClientSession, hello: Json) -> tuple[Side, Side]:
    return trakt_side(session, hello), simkl_side(session, hello)


PAIR_KINDS: Final = (
    PairKind(
        "trakt-simkl",
        PairSpec("trakt-simkl", SyncMode.TWO_WAY, frozenset({Feature.WATCHLIST})),
        trakt_simkl,
    ),
)


@dataclass
class Heartbeat:
    """Sleeps BEAT at a time on the loop under test; how late each wake-up is, is the lag."""

    worst: float = 0.0
    stalls: list[float] = field(default_factory=list)
    running: bool = True

    async def beat(self) -> None:
        loop = asyncio.get_running_loop()
        while self.running:
            started = loop.time()
            await asyncio.sleep(BEAT)
            lag = loop.time() - started - BEAT
            self.worst = max(self.worst, lag)
            if lag > STALL:
                self.stalls.append(lag)


class SlowCallbacks(logging.Handler):
    """asyncio's debug-mode reports of callbacks that held the loop (`--slow-callbacks`)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.seen: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if message.startswith("Executing"):
            self.seen.append(message)


def count_429(counter: dict[str, int]) -> aiohttp.TraceConfig:
    """A session trace that counts the replies asking us to slow down, per host:port."""
    trace = aiohttp.TraceConfig()

    async def ended(
        session: aiohttp.ClientSession, context: SimpleNamespace,
        params: aiohttp.TraceRequestEndParams,
    ) -> None:  # fmt: skip
        del session, context
        if params.response.status == 429:
            key = str(params.url.origin())
            counter[key] = counter.get(key, 0) + 1

    trace.on_request_end.append(ended)
    return trace


async def measured_run(
    pipeline: Pipeline, kind: PairKind, sides: tuple[Side, Side], slow: SlowCallbacks | None
) -> tuple[RunResult, dict[str, Json]]:
    """One run of the pair with the heartbeat going; the run's result and its loop numbers."""
    waits_before = [side.waits.seconds for side in sides]
    heartbeat = Heartbeat()
    beating = asyncio.create_task(heartbeat.beat())
    await asyncio.sleep(BEAT * 2)  # the heartbeat is going before the run starts
    if slow is not None:
        slow.seen.clear()
    started = time.perf_counter()
    result = await pipeline.run(kind.spec, sides[0].provider, sides[1].provider)
    wall = time.perf_counter() - started
    heartbeat.running = False
    await beating
    numbers: dict[str, Json] = {
        "worst_stall_ms": round(heartbeat.worst * 1000, 1),
        "total_stall_ms": round(sum(heartbeat.stalls) * 1000, 1),
        "stalls_over_50ms": len(heartbeat.stalls),
        "wall_seconds": round(wall, 2),
        "requests": dict(result.requests),
        "client_waits": {
            side.provider.name: round(side.waits.seconds - before, 1)
            for side, before in zip(sides, waits_before, strict=True)
        },
    }
    if slow is not None:
        numbers["slow_callbacks"] = list(slow.seen)
    return result, numbers


async def measure(kind: PairKind, size: int, hello: Json, slow: SlowCallbacks | None) -> list[Json]:
    """Both runs of one pair kind at one size; one JSON-ready dict per run."""
    loop = asyncio.get_running_loop()

    def run_blocking[T](function: Callable[[], T]) -> Awaitable[T]:
        # Home Assistant's hass.async_add_executor_job: the loop's default ThreadPoolExecutor.
        return loop.run_in_executor(None, function)

    lines = []
    throttled: dict[str, int] = {}
    with tempfile.TemporaryDirectory() as folder:
        store = await run_blocking(lambda: StateStore(Path(folder) / "state.db"))
        try:
            # A memo that keeps nothing: a scheduled no-change run comes after the 5-minute
            # memo of Home Assistant's runtime has lapsed, and must read both sides again.
            pipeline = Pipeline(store, run_blocking=run_blocking, memo=SnapshotMemo(timedelta(0)),
                                clock=lambda: datetime.now(UTC))  # fmt: skip
            async with aiohttp.ClientSession(trace_configs=[count_429(throttled)]) as session:
                sides = kind.build(session, hello)
                for run in ("first", "no_change"):
                    throttled.clear()
                    result, numbers = await measured_run(pipeline, kind, sides, slow)
                    lines.append(
                        {
                            "case": "loop", "pair": kind.name, "items_per_side": size, "run": run,
                            "status": result.status.value, "ops": len(result.plan.operations),
                            **numbers, "http_429": sum(throttled.values()),
                            "rate_limited": list(result.rate_limited),
                            "errors": list(result.errors),
                            "peak_rss_mb": round(
                                resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1
                            ),
                        }
                    )  # fmt: skip
        finally:
            await run_blocking(store.close)
    return lines


async def bench(kind: PairKind, size: int, *, slow_callbacks: bool) -> list[Json]:
    """Serve the simulators in a child process, measure both runs, stop the child."""
    child = subprocess.Popen(  # noqa: ASYNC220 - started before anything is measured
        [sys.executable, str(SERVE), kind.name, str(size)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    # PIPE gives both.
    assert child.stdin is not None  # noqa: S101
    assert child.stdout is not None  # noqa: S101
    try:
        # Seeding 100,000 titles takes the child a while; nothing is measured meanwhile.
        line = await asyncio.to_thread(child.stdout.readline)
        if not line:
            raise SystemExit(f"bench_loop: the simulators for {kind.name} did not start")
        hello = json.loads(line)
        slow = None
        if slow_callbacks:
            loop = asyncio.get_running_loop()
            loop.set_debug(True)
            loop.slow_callback_duration = STALL
            slow = SlowCallbacks()
            logging.getLogger("asyncio").addHandler(slow)
        try:
            return await measure(kind, size, hello, slow)
        finally:
            if slow is not None:
                logging.getLogger("asyncio").removeHandler(slow)
                asyncio.get_running_loop().set_debug(False)
    finally:
        child.stdin.close()  # the child serves until its stdin closes
        await asyncio.to_thread(child.wait, 30)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", default=",".join(k.name for k in PAIR_KINDS))
    parser.add_argument("--sizes", default=",".join(str(s) for s in SIZES))
    parser.add_argument(
        "--slow-callbacks",
        action="store_true",
        help="asyncio debug mode: name the callbacks that held the loop",
    )
    args = parser.parse_args()
    kinds = {k.name: k for k in PAIR_KINDS}
    unknown = [name for name in args.pairs.split(",") if name not in kinds]
    if unknown:
        parser.error(f"unknown pair kinds {unknown}; known: {sorted(kinds)}")
    for name in args.pairs.split(","):
        for size in (int(s) for s in args.sizes.split(",")):
            lines = asyncio.run(bench(kinds[name], size, slow_callbacks=args.slow_callbacks))
            for line in lines:
                print(json.dumps(line), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
