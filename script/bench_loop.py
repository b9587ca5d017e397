"""Event-loop stalls of a real sync run (issue 16): the clients, providers and engine as shipped.

Home Assistant runs CrossWatch on its event loop, and a sync must never hold that loop for more
than 50 ms. For each pair kind and size, the simulators are seeded and served by a child
process (script/bench_loop_serve.py, so that their CPU is not counted here); this process
builds the real clients and providers against them, a state store on a temporary file and a
Pipeline whose blocking work goes to the loop's default executor, as Home Assistant's
`async_add_executor_job` sends it. The pair runs four times on the same providers and store, as
within one Home Assistant start: a first run (nothing stored yet, some writes to make); a
no-change run (which verifies the first run's writes, so reads what they touched again); a
steady run (nothing pending any more: it finds nothing to do and settles the pair); and a
settled run, which ends once both reads are in (engine/settle.py). A pair kind whose server can
be played on (trakt-jellyfin) runs a fifth time, `one_new_play`: before it, the user plays one
film on the server, which changes what the server read has to look at but nothing the pair
syncs (a play is not a favourite), so the run settles again. A heartbeat on the same
loop sleeps 5 ms at a time; every wake-up later than that is a lag, and a lag over 50 ms is a
stall. One JSON line per (pair, size, run):

    {"case": "loop", "pair", "items_per_side", "run", "status", "ops", "worst_stall_ms",
     "total_stall_ms", "stalls_over_50ms", "wall_seconds", "cpu_seconds", "settled",
     "requests", "client_waits", "http_429", "peak_rss_mb", "held_mb", "held_objects"}

    script/bench --loop                              trakt-simkl at 10,000 and 100,000
    script/bench --loop --sizes 10000                one size
    script/bench --loop --sizes 10000 --where        also sample where the loop stalls
    script/bench --loop --pairs plex-trakt,trakt-jellyfin --sizes 10000

The pair kinds (`PAIR_KINDS`; what each side holds is in script/bench_loop_serve.py):
trakt-simkl, the Trakt ⇄ SIMKL watchlist, two-way (the default); plex-trakt, Plex → Trakt
history, add only; trakt-jellyfin, the Trakt watchlist mirrored onto Jellyfin's favourites;
anilist-simkl, the AniList ⇄ SIMKL anime watchlist, two-way. AniList serves 30 requests a
minute and its client keeps to that: at 10,000 entries a run takes up to two minutes (20
chunks a read, a request per write), at 100,000 (200 chunks a read) most of an hour in all.

`ops` counts the operations the run planned; `cpu_seconds` is this process's CPU time during
the run (`time.process_time`: the loop and the executor's threads, not the simulators);
`settled` the features that ended with their reads; `requests` is the RunResult's count per
provider; `client_waits` the seconds each provider's client slept to pace itself or honour a
Retry-After (a real wait, not a stall); `http_429` the replies per simulated service that asked
us to slow down. `held_mb` and `held_objects` are what the integration holds once the run is
over (after a full collection, outside the timed run): the bytes (`sys.getsizeof`) of every object
reachable from the two providers and the pipeline (its store, memo and run state), and how many
of them the cycle collector tracks, which is what a full collection pass walks. `--where` adds
`where_ms`: a thread samples the loop thread's stack every 10 ms while the loop is overdue (see
StallSampler); the sampling costs a little, so quote the stall numbers of runs without it.
"""

import argparse
import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
import gc
import json
from pathlib import Path
import resource
import subprocess
import sys
import tempfile
import threading
import time
from types import (
    BuiltinFunctionType,
    CodeType,
    FrameType,
    FunctionType,
    MethodType,
    ModuleType,
    SimpleNamespace,
)
from typing import Any, Final

import aiohttp
from bench import engine_without_home_assistant

engine_without_home_assistant()

from custom_components.crosswatch.clients.anilist.client import (  # noqa: E402
    AniListClient,
    tokens_from_pin,
)
from custom_components.crosswatch.clients.mediabrowser.client import (  # noqa: E402
    JELLYFIN,
    DeviceInfo,
    MediaBrowserClient,
)
from custom_components.crosswatch.clients.plex.auth import PlexApp  # noqa: E402
from custom_components.crosswatch.clients.plex.client import PlexClient  # noqa: E402
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
from custom_components.crosswatch.providers.anilist_provider import AniListProvider  # noqa: E402
from custom_components.crosswatch.providers.jellyfin import JellyfinProvider  # noqa: E402
from custom_components.crosswatch.providers.mediabrowser import MediaBrowserAccount  # noqa: E402
from custom_components.crosswatch.providers.plex import PlexProvider  # noqa: E402
from custom_components.crosswatch.providers.simkl import (  # noqa: E402
    SimklAccount,
    SimklProvider,
)
from custom_components.crosswatch.providers.trakt import TraktProvider  # noqa: E402

SERVE = Path(__file__).resolve().parent / "bench_loop_serve.py"
SIZES: Final = (10_000, 100_000)
# What `script/bench --loop` runs unless told otherwise (docs/benchmarks.md); the other kinds
# are asked for by name, AniList's above all: at 100,000 its rate limit makes a run long.
DEFAULT_PAIRS: Final = ("trakt-simkl",)
STALL: Final = 0.050  # seconds: the most a sync may hold Home Assistant's loop
# Issue 16's budgets for a run with nothing to do (the settled run): CPU seconds at 100,000 per
# side, and requests per provider (a tracker asks for its activities; a server may need three).
SETTLED_CPU: Final = 0.3
SETTLED_REQUESTS: Final = {"Plex": 3, "Jellyfin": 3, "Emby": 3}
TRACKER_REQUESTS: Final = 1
# Issue 16's budget for what the integration holds between runs at 100,000 per side.
HELD_MB: Final = 30.0
HELD_BUDGET_SIZE: Final = 100_000
BEAT: Final = 0.005  # seconds the heartbeat sleeps between looks at the clock
# The runs measured, in order, on the same providers and store (see the module doc).
RUNS: Final = ("first", "no_change", "steady", "settled")
NEW_PLAY: Final = "one_new_play"  # the run after the user played one film, where a kind can
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

    `build` gets the session and the child's hello line (URLs, tokens, accounts) and returns
    sides A and B, in the spec's order (A is the source of a one-way pair). A kind is a serving
    function in script/bench_loop_serve.py and one `PairKind` here.
    """

    name: str
    spec: PairSpec
    build: Callable[[aiohttp.ClientSession, Json], tuple[Side, Side]]
    # The user plays one film on the pair's server (for the `one_new_play` run), where it has one.
    play: Callable[[aiohttp.ClientSession, Json], Awaitable[None]] | None = None


def trakt_client(session: aiohttp.ClientSession, hello: Json) -> tuple[TraktClient, Waits]:
    """Trakt's client as tests/harness/services.py builds it, in real time, and its sleeps."""
    trakt = hello["trakt"]
    waits = Waits()

    async def keep(tokens: Tokens) -> None:
        del tokens  # Home Assistant would persist a refreshed pair; none is due in a bench

    client = TraktClient(
        session, TraktApp(trakt["client_id"], trakt["client_secret"]),
        Tokens.from_oauth_reply(trakt["tokens"]), keep, base_url=hello["urls"]["trakt"],
        sleep=waits.sleep,
    )  # fmt: skip
    return client, waits


def trakt_side(session: aiohttp.ClientSession, hello: Json) -> Side:
    """Trakt as tests/harness/services.py builds it (TraktService.provider), in real time."""
    client, waits = trakt_client(session, hello)
    return Side(TraktProvider(client, slug=hello["trakt"]["slug"]), waits)


def simkl_side(session: aiohttp.ClientSession, hello: Json) -> Side:
    """SIMKL as tests/harness/services.py builds it (SimklService.provider), in real time."""
    simkl = hello["simkl"]
    waits = Waits()
    api = SimklApi(session, simkl["client_id"], simkl["token"], base_url=hello["urls"]["simkl"],
                   sleep=waits.sleep)  # fmt: skip
    account = SimklAccount(simkl["account_id"], simkl["account_name"])
    return Side(SimklProvider(api, account), waits)


def plex_side(session: aiohttp.ClientSession, hello: Json) -> Side:
    """Plex as tests/harness/services.py builds it (PlexService.provider), in real time.

    With the client's own page size (the harness's is small, to span pages with 12 titles),
    and, as there, no reuse of a library scan from one run to the next: a scheduled run comes
    after the scan's minute has lapsed, as after the snapshot memo's.
    """
    client, waits = plex_client(session, hello)
    return Side(PlexProvider(client, library_ttl=0), waits)


def plex_client(session: aiohttp.ClientSession, hello: Json) -> tuple[PlexClient, Waits]:
    """Plex's client as tests/harness/services.py builds it, in real time, and its sleeps."""
    plex = hello["plex"]
    waits = Waits()
    client = PlexClient(
        session, PlexApp(plex["client_id"]), server_url=hello["urls"]["plex"],
        server_token=plex["server_token"], account_token=plex["account_token"],
        plex_tv_url=plex["plex_tv"], discover_url=plex["discover"],
        metadata_url=plex["metadata"], sleep=waits.sleep,
    )  # fmt: skip
    return client, waits


def jellyfin_side(session: aiohttp.ClientSession, hello: Json) -> Side:
    """Jellyfin as tests/harness/services.py builds it (JellyfinService.provider), in real time.

    With the client's own page size (the harness's is small, to span pages with 12 titles).
    """
    jellyfin = hello["jellyfin"]
    waits = Waits()
    client = MediaBrowserClient(
        session, JELLYFIN, hello["urls"]["jellyfin"],
        device=DeviceInfo(device_id="cw-bench", version="0.1.0"), token=jellyfin["token"],
        sleep=waits.sleep,
    )  # fmt: skip
    account = MediaBrowserAccount(
        jellyfin["server_id"], jellyfin["server_name"], jellyfin["user_id"], jellyfin["user_name"]
    )
    return Side(JellyfinProvider(client, account), waits)


async def play_on_jellyfin(session: aiohttp.ClientSession, hello: Json) -> None:
    """The user finishes a film: the Jellyfin player marks it played on the server.

    Through a client of its own, outside the provider (whose requests it adds none to); the
    server dates the play when it takes it, on its clock.
    """
    jellyfin = hello["jellyfin"]
    player = MediaBrowserClient(
        session, JELLYFIN, hello["urls"]["jellyfin"],
        device=DeviceInfo(device_id="cw-bench-player", version="0.1.0"), token=jellyfin["token"],
    )  # fmt: skip
    await player.mark_played(jellyfin["user_id"], jellyfin["new_play"], None)


def anilist_side(session: aiohttp.ClientSession, hello: Json) -> Side:
    """AniList as tests/harness/services.py builds it (AniListService.provider), in real time.

    The client paces itself with its own throttle (30 requests a minute) on the real clock. The
    harness's clock moves hours between runs, so its provider never reuses a read from the run
    before; here runs follow each other at once, and a scheduled run would come after the
    read's minute of reuse has lapsed, as after the snapshot memo's: none is reused.
    """
    anilist = hello["anilist"]
    waits = Waits()
    client = AniListClient(session, tokens_from_pin(anilist["token"]),
                           base_url=hello["urls"]["anilist"], sleep=waits.sleep)  # fmt: skip
    provider = AniListProvider(
        client, user_id=anilist["user_id"], user_name=anilist["user_name"], reuse_for=0
    )
    return Side(provider, waits)


def trakt_simkl(session: aiohttp.ClientSession, hello: Json) -> tuple[Side, Side]:
    return trakt_side(session, hello), simkl_side(session, hello)


def plex_trakt(session: aiohttp.ClientSession, hello: Json) -> tuple[Side, Side]:
    return plex_side(session, hello), trakt_side(session, hello)


def trakt_jellyfin(session: aiohttp.ClientSession, hello: Json) -> tuple[Side, Side]:
    return trakt_side(session, hello), jellyfin_side(session, hello)


def anilist_simkl(session: aiohttp.ClientSession, hello: Json) -> tuple[Side, Side]:
    return anilist_side(session, hello), simkl_side(session, hello)


def pair_kind(
    name: str, mode: SyncMode, feature: Feature,
    build: Callable[[aiohttp.ClientSession, Json], tuple[Side, Side]],
    play: Callable[[aiohttp.ClientSession, Json], Awaitable[None]] | None = None,
) -> PairKind:  # fmt: skip
    """A kind syncing one feature, its pair named as the kind."""
    return PairKind(name, PairSpec(name, mode, frozenset({feature})), build, play)


PAIR_KINDS: Final = (
    pair_kind("trakt-simkl", SyncMode.TWO_WAY, Feature.WATCHLIST, trakt_simkl),
    pair_kind("plex-trakt", SyncMode.ADD_ONLY, Feature.HISTORY, plex_trakt),
    pair_kind(
        "trakt-jellyfin", SyncMode.MIRROR, Feature.WATCHLIST, trakt_jellyfin, play_on_jellyfin
    ),
    pair_kind("anilist-simkl", SyncMode.TWO_WAY, Feature.WATCHLIST, anilist_simkl),
)


@dataclass
class Heartbeat:
    """Sleeps BEAT at a time on the loop under test; how late each wake-up is, is the lag."""

    worst: float = 0.0
    stalls: list[float] = field(default_factory=list)
    running: bool = True
    last: float = field(default_factory=time.monotonic)  # when the loop last ran the heartbeat

    async def beat(self) -> None:
        loop = asyncio.get_running_loop()
        while self.running:
            started = loop.time()
            await asyncio.sleep(BEAT)
            lag = loop.time() - started - BEAT
            self.last = time.monotonic()
            self.worst = max(self.worst, lag)
            if lag > STALL:
                self.stalls.append(lag)


class StallSampler:
    """Where the loop's thread is while the loop is overdue (`--where`).

    asyncio's debug mode names only the task that held the loop, and a run is one task; so a
    thread looks at the loop thread's stack every SAMPLE seconds while the heartbeat is more
    than STALL late, and counts every function of the integration on it (inclusive, as a
    profiler does). Each sample stands for about SAMPLE seconds of stall; "(all stalls)"
    counts every sample.
    """

    SAMPLE: Final = 0.010

    def __init__(self, heartbeat: Heartbeat) -> None:
        self.heartbeat = heartbeat
        self.loop_thread = threading.get_ident()
        self.samples: Counter[str] = Counter()
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._watch, daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> dict[str, int]:
        """Stop; the places sampled most, with the milliseconds of stall they stand for."""
        self.done.set()
        self.thread.join()
        ms = round(self.SAMPLE * 1000)
        return {place: count * ms for place, count in self.samples.most_common(25)}

    def _watch(self) -> None:
        while not self.done.wait(self.SAMPLE):
            if time.monotonic() - self.heartbeat.last <= STALL + BEAT:
                continue
            frame = sys._current_frames().get(self.loop_thread)  # noqa: SLF001 - a profiler's look
            if frame is not None:
                self.samples.update(_places(frame))
                self.samples["(all stalls)"] += 1


def _places(frame: FrameType) -> set[str]:
    """Every function of the integration on the stack, once each (a profiler's inclusive time).

    A frame outside the integration on top (aiohttp, asyncio, json) is named too, in brackets,
    so that time spent there shows.
    """
    places = set()
    if "custom_components" not in frame.f_code.co_filename:
        places.add(f"[{Path(frame.f_code.co_filename).stem}.{frame.f_code.co_name}]")
    walk: FrameType | None = frame
    while walk is not None:
        path = walk.f_code.co_filename
        if "custom_components" in path:
            short = path.rsplit("crosswatch/", 1)[-1].removesuffix(".py")
            places.add(f"{short}.{walk.f_code.co_name}")
        walk = walk.f_back
    return places


def count_429(counter: dict[str, int]) -> aiohttp.TraceConfig:
    """A session trace that counts the replies asking us to slow down, per base URL."""
    trace = aiohttp.TraceConfig()

    async def ended(
        session: aiohttp.ClientSession, context: SimpleNamespace,
        params: aiohttp.TraceRequestEndParams,
    ) -> None:  # fmt: skip
        del session, context
        if params.response.status == 429:
            key = str(params.url.origin()).rstrip("/")
            counter[key] = counter.get(key, 0) + 1

    trace.on_request_end.append(ended)
    return trace


@dataclass
class CollectorPauses:
    """How long CPython's cycle collector held the interpreter during a run, per pass.

    A pass stops every thread, the event loop's included: with a large heap a full pass is a
    stall whichever thread started it, so the bench reports them apart from the loop's own.
    """

    started: float = 0.0
    pauses: list[tuple[int, float]] = field(default_factory=list)  # (generation, seconds)

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self.started = time.perf_counter()
        else:
            self.pauses.append((info["generation"], time.perf_counter() - self.started))

    def numbers(self) -> dict[str, Json]:
        full = [seconds for generation, seconds in self.pauses if generation == 2]
        return {
            "gc_worst_ms": round(max((s for _, s in self.pauses), default=0.0) * 1000, 1),
            "gc_full_passes": len(full),
            "gc_full_ms": round(sum(full) * 1000, 1),
        }


@asynccontextmanager
async def watched(sides: Iterable[Side], *, where: bool) -> AsyncIterator[dict[str, Json]]:
    """The loop's numbers over the block, put in the dict it yields when the block ends.

    A heartbeat on the loop (stalls), the collector's pauses, CPU and wall time, and what each
    side's client slept; with `where`, the stall sampler's places.
    """
    sides = list(sides)
    waits_before = [side.waits.seconds for side in sides]
    heartbeat = Heartbeat()
    beating = asyncio.create_task(heartbeat.beat())
    await asyncio.sleep(BEAT * 2)  # the heartbeat is going before the measured work starts
    sampler = StallSampler(heartbeat) if where else None
    if sampler is not None:
        sampler.start()
    collector = CollectorPauses()
    gc.callbacks.append(collector)
    numbers: dict[str, Json] = {}
    started, cpu_started = time.perf_counter(), time.process_time()
    try:
        yield numbers
    finally:
        gc.callbacks.remove(collector)
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    heartbeat.running = False
    await beating
    numbers.update(
        {
            "worst_stall_ms": round(heartbeat.worst * 1000, 1),
            "total_stall_ms": round(sum(heartbeat.stalls) * 1000, 1),
            "stalls_over_50ms": len(heartbeat.stalls),
            "wall_seconds": round(wall, 2),
            "cpu_seconds": round(cpu, 2),
            **collector.numbers(),
            "client_waits": {
                side.provider.name: round(side.waits.seconds - before, 1)
                for side, before in zip(sides, waits_before, strict=True)
            },
        }
    )
    if sampler is not None:
        numbers["where_ms"] = sampler.stop()


def held(roots: Iterable[object]) -> dict[str, Json]:
    """What `roots` hold: bytes and cycle-tracked objects reachable from them, each counted once.

    Code is not data: types, modules and functions (which reach whole modules through their
    globals) are neither counted nor followed.
    """
    gc.collect()
    seen: set[int] = set()
    size = tracked = 0
    stack = list(roots)
    while stack:
        thing = stack.pop()
        if id(thing) in seen or isinstance(thing, NOT_DATA):
            continue
        seen.add(id(thing))
        size += sys.getsizeof(thing)
        tracked += gc.is_tracked(thing)
        # Untracked containers too (a tuple of strings, once collected): they hold bytes.
        stack.extend(gc.get_referents(thing))
    return {"held_mb": round(size / 2**20, 1), "held_objects": tracked}


NOT_DATA: Final = (type, ModuleType, FunctionType, BuiltinFunctionType, MethodType, CodeType)


async def measured_run(
    pipeline: Pipeline, kind: PairKind, sides: tuple[Side, Side], *, where: bool
) -> tuple[RunResult, dict[str, Json]]:
    """One run of the pair with the heartbeat going; the run's result and its loop numbers."""
    async with watched(sides, where=where) as numbers:
        result = await pipeline.run(kind.spec, sides[0].provider, sides[1].provider)
    numbers["settled"] = [feature.value for feature in result.settled]
    numbers["requests"] = dict(result.requests)
    return result, numbers


@asynccontextmanager
async def bench_pipeline() -> AsyncIterator[Pipeline]:
    """A Pipeline on a state store in a temporary folder, as Home Assistant's runtime has one.

    Its blocking work goes to the loop's default executor, as `hass.async_add_executor_job`
    sends it; its memo keeps nothing: a scheduled run comes after the 5-minute memo of Home
    Assistant's runtime has lapsed, and reads every side again.
    """
    loop = asyncio.get_running_loop()

    def run_blocking[T](function: Callable[[], T]) -> Awaitable[T]:
        return loop.run_in_executor(None, function)

    with tempfile.TemporaryDirectory() as folder:
        store = await run_blocking(lambda: StateStore(Path(folder) / "state.db"))
        try:
            yield Pipeline(store, run_blocking=run_blocking, memo=SnapshotMemo(timedelta(0)),
                           clock=lambda: datetime.now(UTC))  # fmt: skip
        finally:
            await run_blocking(store.close)


async def measure(kind: PairKind, size: int, hello: Json, *, where: bool) -> list[Json]:
    """The runs of one pair kind at one size (RUNS, and NEW_PLAY where it can); a dict per run."""
    lines = []
    throttled: dict[str, int] = {}
    async with (
        bench_pipeline() as pipeline,
        aiohttp.ClientSession(trace_configs=[count_429(throttled)]) as session,
    ):
        sides = kind.build(session, hello)
        for run in (*RUNS, NEW_PLAY) if kind.play is not None else RUNS:
            if run == NEW_PLAY and kind.play is not None:
                await kind.play(session, hello)
            throttled.clear()
            result, numbers = await measured_run(pipeline, kind, sides, where=where)
            lines.append(
                {
                    "case": "loop", "pair": kind.name, "items_per_side": size, "run": run,
                    "status": result.status.value, "ops": len(result.plan.operations),
                    **numbers, "http_429": {
                        service: throttled.get(url, 0)
                        for service, url in hello["urls"].items()
                    },
                    "rate_limited": list(result.rate_limited),
                    "errors": list(result.errors),
                    "peak_rss_mb": round(
                        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1
                    ),
                    **held([pipeline, *(side.provider for side in sides)]),
                }
            )  # fmt: skip
    return lines


@asynccontextmanager
async def served(world: str, size: int) -> AsyncIterator[Json]:
    """The simulators of `world` at `size`, served by a child process: its hello line.

    The child is stopped when the block ends.
    """
    child = subprocess.Popen(  # noqa: ASYNC220 - started before anything is measured
        [sys.executable, str(SERVE), world, str(size)],
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
            raise SystemExit(f"bench: the simulators for {world} did not start")
        yield json.loads(line)
    finally:
        child.stdin.close()  # the child serves until its stdin closes
        await asyncio.to_thread(child.wait, 30)


async def bench(kind: PairKind, size: int, *, where: bool) -> list[Json]:
    """Serve the simulators in a child process, measure the runs, stop the child."""
    async with served(kind.name, size) as hello:
        return await measure(kind, size, hello, where=where)


def settled_over_budget(where: str, line: Json) -> list[str]:
    """How a settled run missed issue 16's budgets: CPU and requests per provider."""
    missed = []
    if line["cpu_seconds"] > SETTLED_CPU:
        missed.append(f"{where} settled {line['cpu_seconds']} s of CPU")
    for provider, count in line["requests"].items():
        allowed = next(
            (n for kind, n in SETTLED_REQUESTS.items() if provider.startswith(kind)),
            TRACKER_REQUESTS,
        )
        if count > allowed:
            missed.append(f"{where} settled {provider} {count} requests (at most {allowed})")
    return missed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--pairs",
        default=",".join(DEFAULT_PAIRS),
        help=f"comma-separated pair kinds, of {', '.join(k.name for k in PAIR_KINDS)}",
    )
    parser.add_argument("--sizes", default=",".join(str(s) for s in SIZES))
    parser.add_argument(
        "--where", action="store_true", help="sample the loop's stack during stalls (where_ms)"
    )
    parser.add_argument(
        "--check-budgets",
        action="store_true",
        help=(
            f"exit non-zero when a run stalls the loop for more than {STALL * 1000:.0f} ms, or"
            f" a settled run costs more than {SETTLED_CPU} s of CPU or more requests than"
            " allowed"
        ),
    )
    args = parser.parse_args()
    kinds = {k.name: k for k in PAIR_KINDS}
    over: list[str] = []
    costly: list[str] = []
    heavy: list[str] = []
    unknown = [name for name in args.pairs.split(",") if name not in kinds]
    if unknown:
        parser.error(f"unknown pair kinds {unknown}; known: {sorted(kinds)}")
    broken = []
    for name in args.pairs.split(","):
        for size in (int(s) for s in args.sizes.split(",")):
            lines = asyncio.run(bench(kinds[name], size, where=args.where))
            for line in lines:
                print(json.dumps(line), flush=True)
                # A first run must have adds to make and the later runs none, the last must be
                # settled, and none may fail: otherwise the world or the engine is broken and the
                # numbers mean little.
                wrong = (line["run"] == "first") != bool(line["ops"]) or (
                    line["run"] == "settled" and not line["settled"]
                )
                if wrong or line["status"] != "success":
                    broken.append(
                        f"{name} {size} {line['run']}: {line['ops']} ops, {line['status']}"
                    )
                worst = line["worst_stall_ms"]
                if isinstance(worst, float) and worst > STALL * 1000:
                    over.append(f"{name} {size} {line['run']} {worst} ms")
                if line["run"] == "settled":
                    costly += settled_over_budget(f"{name} {size}", line)
                if size == HELD_BUDGET_SIZE and line["held_mb"] > HELD_MB:
                    heavy.append(f"{name} {size} {line['run']} {line['held_mb']} MB")
    budget = f"{STALL * 1000:.0f} ms"
    print(
        f"budgets: worst stall within {budget} "
        + (f"MISSED [{'; '.join(over)}]" if over else "met by every run"),
        file=sys.stderr,
    )
    print(
        f"budgets: a settled run within {SETTLED_CPU} s of CPU and its requests "
        + (f"MISSED [{'; '.join(costly)}]" if costly else "met by every settled run"),
        file=sys.stderr,
    )
    print(
        f"budgets: held between runs within {HELD_MB:.0f} MB at {HELD_BUDGET_SIZE:,} per side "
        + (f"MISSED [{'; '.join(heavy)}]" if heavy else "met by every run"),
        file=sys.stderr,
    )
    over += costly + heavy
    if broken:
        print("bench_loop: " + "; ".join(broken), file=sys.stderr)
        return 1
    return 1 if over and args.check_budgets else 0


if __name__ == "__main__":
    sys.exit(main())
