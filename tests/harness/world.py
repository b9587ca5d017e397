"""The served simulators (`Rig`, one per test) and one example's sync set-up (`World`).

The rig owns an event loop of its own, the aiohttp session and every simulator app on loopback,
for as long as a test runs: hypothesis plays thousands of examples, and starting servers for
each would cost more than the example. A `World` renews the simulators it needs in place, opens
a real `StateStore` on a file, and builds the real providers and a real `Pipeline` with fake
clocks, no real sleeping and a snapshot memo that keeps nothing (`SnapshotMemo(timedelta(0))`).
"""

import asyncio
from collections.abc import Callable, Coroutine, Iterable, Iterator, Mapping
from contextlib import AbstractAsyncContextManager, contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
import itertools
import logging
from pathlib import Path
import tempfile
from typing import Any

import aiohttp

from custom_components.crosswatch.engine.backup import Backups
from custom_components.crosswatch.engine.items import MediaItem
from custom_components.crosswatch.engine.memo import SnapshotMemo
from custom_components.crosswatch.engine.payloads import Feature
from custom_components.crosswatch.engine.pipeline import Pipeline, RunResult
from custom_components.crosswatch.engine.plan import Action
from custom_components.crosswatch.engine.provider import AuthError
from custom_components.crosswatch.engine.records import Scope
from custom_components.crosswatch.engine.store import StateStore
from tests.simulators.serving import Serve, serving

from .catalogue import ANIME_LOOKUP, FILM_LOOKUP, Lookup
from .gate import Fired
from .quirks import TRUNCATING_NATIVE
from .services import START, Observed, ReadRecord, Service, Svc, all_services
from .setups import PairDef, Setup


async def direct[T](function: Callable[[], T]) -> T:
    """Run a blocking store call inline: the store is local and tiny here, threads cost more."""
    return function()


@dataclass
class Rig:
    """An event loop, a session and every simulator, served on 127.0.0.1 for one test."""

    loop: asyncio.AbstractEventLoop
    session: aiohttp.ClientSession
    services: dict[Svc, Service]
    urls: dict[str, str]
    directory: Path
    _serving: AbstractAsyncContextManager[Serve]
    _files: Iterator[int] = field(default_factory=itertools.count)

    def run[T](self, coroutine: Coroutine[Any, Any, T]) -> T:
        """Run a coroutine on the rig's loop."""
        return self.loop.run_until_complete(coroutine)

    def store_path(self) -> Path:
        """A new state file for an example."""
        return self.directory / f"state-{next(self._files)}.db"


@contextmanager
def rig() -> Iterator[Rig]:
    """Serve every simulator for the duration of a test; everything stops on exit.

    A loop of its own that is never made current: asyncio.run() would leave the thread with no
    current loop, which Home Assistant's test fixtures trip over in later tests.
    """
    loop = asyncio.new_event_loop()
    services = all_services()
    # Thousands of requests an example: logging each one would cost more than serving it.
    access = logging.getLogger("aiohttp.access")
    level = access.level
    access.setLevel(logging.WARNING)
    ctx = serving()

    async def start() -> tuple[aiohttp.ClientSession, dict[str, str]]:
        serve = await ctx.__aenter__()
        urls = {}
        for service in services.values():
            for name, app in service.apps().items():
                urls[name] = await serve(app)
        return aiohttp.ClientSession(), urls

    # The store files go to memory where the machine has it: the harness measures the engine,
    # not the disk.
    shm = Path("/dev/shm")  # noqa: S108
    with tempfile.TemporaryDirectory(dir=shm if shm.is_dir() else None) as directory:
        session, urls = loop.run_until_complete(start())
        made = Rig(loop, session, services, urls, Path(directory), ctx)
        try:
            yield made
        finally:
            loop.run_until_complete(session.close())
            loop.run_until_complete(ctx.__aexit__(None, None, None))
            loop.close()
            access.setLevel(level)


@dataclass(frozen=True, slots=True)
class PairRun:
    """One run of one pair, and what the harness saw of its reads."""

    pair: PairDef
    result: RunResult | None  # None: the run raised (an authentication failure)
    error: str | None
    reads: tuple[ReadRecord, ...]  # the read of each side and feature the run went on with
    lies: tuple[str, ...]  # those of them that a fault answered with less than the list held
    founded: frozenset[Svc] = frozenset()  # sides that had a baseline when the run began
    # Sides whose read the run went on with hid items they held, telling or not.
    lied: frozenset[Svc] = frozenset()
    # Per side, the titles the run's read showed otherwise than the side held them (a stale
    # cache, a lie), less what our own writes awaiting verification explain: the user's edits
    # of those titles reached the engine only with a later read.
    misread: Mapping[Svc, frozenset[int]] = field(default_factory=dict)


class World:
    """One example's set-up: simulators renewed, a store, a pipeline and real providers."""

    def __init__(
        self, rig: Rig, setup: Setup, *, titles: int, backups: Backups | None = None
    ) -> None:
        self.rig, self.setup, self.titles = rig, setup, titles
        self.backups = backups
        self.services = {svc: rig.services[svc] for svc in setup.sides}
        for service in self.services.values():
            service.reset(anime=setup.anime, titles=titles)
            service.clear_recordings()
        self.path = rig.store_path()
        self.wall = START
        self.runs = 0  # run steps so far; the ledger's windows of user edits lie between them
        self._open()

    def _open(self) -> None:
        self.store = StateStore(self.path)
        # One memo per Home Assistant start, shared by every pair; it keeps nothing here.
        clock = self.services[self.setup.sides[0]].time.clock
        self.memo = SnapshotMemo(timedelta(0), clock=clock)
        self.pipeline = Pipeline(
            self.store, run_blocking=direct, memo=self.memo, clock=lambda: self.wall,
            backups=self.backups,
        )  # fmt: skip
        self.providers: dict[Svc, Observed] = {
            svc: service.observed(self.rig.session, self.rig.urls)
            for svc, service in self.services.items()
        }

    def restart(self) -> None:
        """Home Assistant restarts: the store is closed and reopened, every client is new."""
        self.store.close()
        self._open()

    def close(self) -> None:
        """Close the store and delete its files."""
        self.store.close()
        for suffix in ("", "-wal", "-shm"):
            Path(f"{self.path}{suffix}").unlink(missing_ok=True)

    def holds(self, side: Svc) -> set[int]:
        """What the user truly holds on a side for the feature synced there."""
        return self.services[side].holds(self.setup.feature(side))

    def user_sees(self, side: Svc) -> set[int]:
        """What the user sees on a side before editing it (our accepted writes included)."""
        self.services[side].before_user_edit()
        return self.holds(side)

    def edit(self, side: Svc, index: int, *, add: bool) -> None:
        """The user's own edit on a side, made in the simulator's state."""
        self.wall += timedelta(minutes=1)
        service, feature = self.services[side], self.setup.feature(side)
        service.before_user_edit()
        if add:
            service.add(feature, index, self.wall)
        else:
            service.remove(feature, index)

    def run(self) -> list[PairRun]:
        """One run step: every pair of the set-up runs once, in order."""
        self.wall += timedelta(hours=1)
        self.runs += 1
        for service in self.services.values():
            service.pass_time(3600)
        return [self.run_pair(pair) for pair in self.setup.pairs]

    def run_pair(self, pair: PairDef) -> PairRun:
        """One run of one pair through the real pipeline, watching its reads."""
        sides = (self.providers[pair.a], self.providers[pair.b])
        held_before = {svc: bool(self.holds(svc)) for svc in (pair.a, pair.b)}
        # A read that lies but looks complete can only be caught against what the side held at
        # an earlier sync: on a side with no baseline yet, or an empty one, nothing can tell it
        # from the truth (it hides only what the side gained since).
        baselines = {
            svc: self.store.load_baseline(Scope(pair.name, pair.feature, side))
            for svc, side in ((pair.a, "a"), (pair.b, "b"))
        }
        known = {svc: baseline is not None for svc, baseline in baselines.items()}
        # A lie can be told only by what it hid of the side's baseline that the side still
        # holds: one that hid only what the side gained since its last sync (our own adds
        # still awaiting verification among them) shows no loss, and nothing can tell it
        # from the truth.
        truth = {svc: self.holds(svc) for svc in (pair.a, pair.b)}
        lookup = ANIME_LOOKUP if self.setup.anime else FILM_LOOKUP
        # Nor can a lie be told by what our own removals awaiting verification explain: a read
        # that lacks such an item is what the engine expects (it verifies the removal by it).
        ours = {
            svc: _titles(
                lookup, (w.item for w in self.store.pending(Scope(pair.name, pair.feature, side)))
            )
            for svc, side in ((pair.a, "a"), (pair.b, "b"))
        }
        removing = {
            svc: _titles(
                lookup,
                (
                    w.item
                    for w in self.store.pending(Scope(pair.name, pair.feature, side))
                    if w.action is Action.REMOVE
                ),
            )
            for svc, side in ((pair.a, "a"), (pair.b, "b"))
        }
        telling = {
            svc: (_titles(lookup, (e.item for e in baseline.entries.values())) & truth[svc])
            - removing[svc]
            if baseline
            else set()
            for svc, baseline in baselines.items()
        }
        for provider in sides:
            provider.reads.clear()
            provider.gate.fired.clear()
            provider.gate.native_fired.clear()
        result: RunResult | None = None
        error: str | None = None
        try:
            result = self.rig.run(self.pipeline.run(pair.spec, *sides))
        except AuthError as err:
            error = f"AuthError: {err}"
        # A side is read twice when its first read lost items (the engine's own check): only
        # the read the run went on with, the last of each feature, says what the run knew.
        lies: list[str] = []
        lied: set[Svc] = set()
        misread: dict[Svc, frozenset[int]] = {}
        used: list[ReadRecord] = []
        for svc, provider in zip((pair.a, pair.b), sides, strict=True):
            # Reads of other features (the ratings a SIMKL removal would delete) are asked of
            # lists the harness does not fill: it sizes only the pair's own list.
            last = {r.feature: r for r in provider.reads if r.feature is pair.feature}
            used += last.values()
            for record in last.values():
                fired = provider.gate.fired[slice(*record.fired)]
                native = provider.gate.native_fired[slice(*record.native)]
                hidden = [_lie(svc, f) for f in fired if _lied(f)] + [
                    f"{svc}: {name} answered {path} with nothing"
                    for name, path, phase in native
                    if name in TRUNCATING_NATIVE and phase == "read" and held_before[svc]
                    and _names_titles(svc, path, self.setup.anime)
                ]  # fmt: skip
                if hidden and (not record.complete or record.size < len(truth[svc])):
                    lied.add(svc)  # it hid what the side held, whether or not it could tell
                shown = _titles(lookup, record.items)
                # What the engine took the side to hold: a partial read is completed by the
                # side's baseline (and a failed one is the baseline).
                stood_in = baselines[svc]
                taken = shown if record.complete else shown | (
                    _titles(lookup, (e.item for e in stood_in.entries.values())) if stood_in else set()
                )  # fmt: skip
                misread[svc] = frozenset((taken ^ truth[svc]) - ours[svc])
                if record.complete and telling[svc] <= shown:
                    continue  # nothing to tell it by, or the provider saw through it
                lies += hidden
        founded = frozenset(svc for svc, had in known.items() if had)
        return PairRun(
            pair, result, error, tuple(used), tuple(lies), founded, frozenset(lied), misread
        )

    def feature_of(self, pair: PairDef) -> Feature:
        return pair.feature


def _titles(lookup: Lookup, items: Iterable[MediaItem]) -> set[int]:
    return {index for item in items if (index := lookup.index(item)) is not None}


def _lied(fired: Fired) -> bool:
    return fired.lied and fired.during == "read"


def _lie(svc: Svc, fired: Fired) -> str:
    return f"{svc}: {fired.kind} on {fired.path}"


def _names_titles(svc: Svc, path: str, anime: bool) -> bool:
    """Whether a list read at `path` covers the kind of titles the harness lists there."""
    if svc is Svc.TRAKT:
        return path.endswith("/movies")
    if svc is Svc.SIMKL:
        return path.rstrip("/").endswith("/anime" if anime else "/movies")
    return True
