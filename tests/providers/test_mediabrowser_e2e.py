"""End to end through the engine: Jellyfin ⇄ Emby watch history, two-way, on the simulators.

Both servers hold the same films and series, but Emby's copies of some lack ProviderIds (as
libraries matched by file name only often do). The pipeline reads both over loopback HTTP, plans,
writes, verifies and persists; the pair converges in one run and then plans nothing, so no play
is ever added twice. Items without ProviderIds are matched once by exact title and year and from
then on by the engine's write-through shadow. A play of an id-less item is not carried the other
way: the engine notes that no other provider could recognise it (`no_external_ids`).
"""

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest

from custom_components.crosswatch.engine.memo import SnapshotMemo
from custom_components.crosswatch.engine.payloads import Feature
from custom_components.crosswatch.engine.pipeline import PairSpec, Pipeline, RunResult, RunStatus
from custom_components.crosswatch.engine.planner import SyncMode
from custom_components.crosswatch.engine.records import Scope
from custom_components.crosswatch.engine.store import StateStore
from tests.simulators.mediabrowser import Flavour, MediaBrowserQuirks

from .conftest import Serve
from .test_mediabrowser_kept_reads import Asked, item_lists
from .test_mediabrowser_support import Rig, make_rig

H = Feature.HISTORY
SPEC = PairSpec("jellyfin-emby", SyncMode.TWO_WAY, frozenset({H}))
MATRIX_AT = datetime(2024, 1, 5, 20, 0, tzinfo=UTC)
HEAT_AT = datetime(2024, 1, 6, 21, 0, tzinfo=UTC)
INCEPTION_AT = datetime(2024, 1, 7, 22, 0, tzinfo=UTC)
DARK_1_AT = datetime(2024, 2, 1, 20, 0, tzinfo=UTC)
DARK_2_AT = datetime(2024, 2, 2, 20, 0, tzinfo=UTC)


@dataclass
class Pair:
    jellyfin: Rig
    emby: Rig
    pipeline: Pipeline
    store: StateStore
    clock: list[datetime]

    async def run(self) -> RunResult:
        self.clock[0] += timedelta(hours=1)
        return await self.pipeline.run(SPEC, self.jellyfin.provider, self.emby.provider)

    def played(self, rig: Rig) -> dict[str, tuple[int, datetime | None]]:
        """Every played item of a server by title (episodes as "Dark 1x2"): count and date."""
        found = {}
        for (user, item_id), data in rig.state.data.items():
            if user != rig.user.id or not data.played:
                continue
            item = rig.state.items[item_id]
            name = item.name
            if item.type == "Episode":
                name = f"{rig.state.items[item.series_id or ''].name} {item.season}x{item.episode}"
            found[name] = (data.play_count, data.last_played)
        return found


@pytest.fixture
async def pair(serve: Serve, session: aiohttp.ClientSession, tmp_path: Path) -> AsyncIterator[Pair]:
    jellyfin = await make_rig(serve, session, Flavour.JELLYFIN, page_size=3)
    emby = await make_rig(serve, session, Flavour.EMBY, page_size=3)
    # Emby matched Heat and Dark by file name only: no ProviderIds at all.
    for item_id in (emby.library.heat, emby.library.dark):
        emby.state.items[item_id].provider_ids = {}
    for item_id in emby.library.dark_s1:
        emby.state.items[item_id].provider_ids = {}
    clock = [datetime(2026, 11, 1, tzinfo=UTC)]
    with StateStore(tmp_path / "state.db") as store:
        yield Pair(
            jellyfin,
            emby,
            Pipeline(
                store,
                run_blocking=asyncio.to_thread,
                memo=SnapshotMemo(timedelta(0)),
                clock=lambda: clock[0],
            ),
            store,
            clock,
        )


async def test_jellyfin_and_emby_history_converge_two_way_with_no_repeat_adds(
    pair: Pair,
) -> None:
    j, e = pair.jellyfin, pair.emby
    j.state.watch(j.user, j.library.matrix, MATRIX_AT)
    j.state.watch(j.user, j.library.heat, HEAT_AT)  # Emby's Heat has no ProviderIds
    j.state.watch(j.user, j.library.dark_s1[0], DARK_1_AT)  # nor do Emby's Dark episodes
    e.state.watch(e.user, e.library.inception, INCEPTION_AT)
    e.state.watch(e.user, e.library.dark_s1[1], DARK_2_AT)  # id-less: nothing to recognise

    first = await pair.run()

    assert first.status is RunStatus.SUCCESS, first.errors
    assert first.features[H].applied == 4, first.plan.to_json()
    expected = {
        "The Matrix": (1, MATRIX_AT),
        "Heat": (1, HEAT_AT),
        "Inception": (1, INCEPTION_AT),
        "Dark 1x1": (1, DARK_1_AT),
    }
    assert pair.played(j) == expected
    assert pair.played(e) == expected | {"Dark 1x2": (1, DARK_2_AT)}
    (note,) = first.plan.notes
    assert (note.reason.value, note.item.label()) == ("no_external_ids", "Dark (2017) S01E02")
    # Emby's id-less Heat and Dark 1x1 now stand for Jellyfin's ids.
    assert len(pair.store.shadows(Scope(SPEC.pair, H, "b"))) == 2

    for _ in range(3):
        again = await pair.run()
        assert again.status is RunStatus.SUCCESS, again.errors
        assert again.plan.is_empty, again.plan.to_json()
    assert pair.played(j) == expected  # not one play added twice
    assert pair.played(e) == expected | {"Dark 1x2": (1, DARK_2_AT)}


async def test_a_play_removed_on_one_side_is_removed_on_the_other_and_stays_removed(
    pair: Pair,
) -> None:
    j, e = pair.jellyfin, pair.emby
    j.state.watch(j.user, j.library.matrix, MATRIX_AT)
    j.state.watch(j.user, j.library.heat, HEAT_AT)
    await pair.run()
    await pair.run()  # both baselines now hold both films

    # The user marks Heat unwatched on Emby, where it has no ProviderIds. Half of a list this
    # small is more than one run's reads may prove: the next run doubts it, the one after
    # follows.
    e.state.user_data(e.user.id, e.library.heat).played = False
    doubted = await pair.run()
    assert doubted.status is RunStatus.PARTIAL, doubted.errors
    assert "Heat" in pair.played(j)
    removed = await pair.run()

    assert removed.status is RunStatus.SUCCESS, removed.errors
    assert "Heat" not in pair.played(j)
    assert pair.played(j)["The Matrix"] == (1, MATRIX_AT)
    settled = await pair.run()
    assert settled.plan.is_empty, settled.plan.to_json()


async def test_a_rescan_on_emby_neither_re_adds_nor_removes_anything(pair: Pair) -> None:
    j, e = pair.jellyfin, pair.emby
    j.state.watch(j.user, j.library.heat, HEAT_AT)
    j.state.watch(j.user, j.library.matrix, MATRIX_AT)
    await pair.run()
    await pair.run()

    e.state.rescan()  # every Emby item id changes; the shadow's local id is gone
    after = await pair.run()

    assert after.status is RunStatus.SUCCESS, after.errors
    assert not [op for op in after.plan.operations if op.action.value == "remove"]
    assert pair.played(j) == {"Heat": (1, HEAT_AT), "The Matrix": (1, MATRIX_AT)}
    assert pair.played(e) == {"Heat": (1, HEAT_AT), "The Matrix": (1, MATRIX_AT)}


async def test_eventually_consistent_emby_writes_are_not_sent_again(
    serve: Serve, session: aiohttp.ClientSession, tmp_path: Path
) -> None:
    jellyfin = await make_rig(serve, session, Flavour.JELLYFIN)
    emby = await make_rig(
        serve, session, Flavour.EMBY, quirks=MediaBrowserQuirks(visible_after_reads=2)
    )
    jellyfin.state.watch(jellyfin.user, jellyfin.library.matrix, MATRIX_AT)
    clock = [datetime(2026, 11, 1, tzinfo=UTC)]
    with StateStore(tmp_path / "state.db") as store:
        pair = Pair(
            jellyfin,
            emby,
            Pipeline(store, run_blocking=asyncio.to_thread, memo=SnapshotMemo(timedelta(0)),
                     clock=lambda: clock[0]),
            store,
            clock,
        )  # fmt: skip
        runs = [await pair.run() for _ in range(4)]

    assert runs[0].features[H].applied == 1
    assert all(run.features[H].applied == 0 for run in runs[1:])
    assert pair.played(emby) == {"The Matrix": (1, MATRIX_AT)}


async def test_one_run_that_marks_an_emby_item_played_and_rates_it_leaves_it_played(
    serve: Serve, session: aiohttp.ClientSession, tmp_path: Path
) -> None:
    """History is written before ratings in a run; Emby's reads lag behind both."""
    jellyfin = await make_rig(serve, session, Flavour.JELLYFIN)
    emby = await make_rig(
        serve, session, Flavour.EMBY, quirks=MediaBrowserQuirks(visible_after_reads=6)
    )
    jellyfin.state.watch(jellyfin.user, jellyfin.library.matrix, MATRIX_AT)
    jellyfin.state.rate(jellyfin.user, jellyfin.library.matrix, 8.0)
    clock = [datetime(2026, 11, 1, tzinfo=UTC)]
    spec = PairSpec("jellyfin-emby", SyncMode.TWO_WAY, frozenset({H, Feature.RATINGS}))
    with StateStore(tmp_path / "state.db") as store:
        pipeline = Pipeline(
            store, run_blocking=asyncio.to_thread, memo=SnapshotMemo(timedelta(0)),
            clock=lambda: clock[0],
        )  # fmt: skip
        run = await pipeline.run(spec, jellyfin.provider, emby.provider)

    assert run.status is RunStatus.SUCCESS, run.errors
    assert (run.features[H].applied, run.features[Feature.RATINGS].applied) == (1, 1)
    data = emby.state.user_data(emby.user.id, emby.library.matrix)
    assert (data.played, data.play_count, data.last_played) == (True, 1, MATRIX_AT)
    assert data.rating == 8.0


async def test_an_unplay_folded_onto_a_kept_read_removes_only_after_scans_agree(
    pair: Pair,
) -> None:
    # Jellyfin reads the unplay from the question's answer, but the engine believes no loss
    # from one read: each run that judges it reads Jellyfin again in full.
    j, e = pair.jellyfin, pair.emby
    j.state.watch(j.user, j.library.matrix, MATRIX_AT)
    j.state.watch(j.user, j.library.heat, HEAT_AT)
    for _ in range(3):
        await pair.run()  # converged, and Jellyfin's read kept from a scan that shows our writes
    kept = item_lists(j)
    await pair.run()
    steady = item_lists(j)
    j.state.user_data(j.user.id, j.library.heat).played = False

    runs = []
    for _ in range(2):
        before = item_lists(j)
        result = await pair.run()
        after = item_lists(j)
        asked = Asked(after.questions - before.questions, after.scans - before.scans)
        runs.append((result.status, "Heat" in pair.played(e), asked))

    assert Asked(steady.questions - kept.questions, steady.scans - kept.scans) == Asked(1, 0)
    # Half of a list this small is more than one run's reads may prove: doubted, then followed.
    (doubted, kept_then, first), (removed, kept_after, second) = runs
    assert (doubted, kept_then, removed, kept_after) == (
        RunStatus.PARTIAL,
        True,
        RunStatus.SUCCESS,
        False,
    )
    assert first.questions == 1  # the fold,
    assert first.scans >= 1  # then a scan to confirm it
    assert second.scans >= 1
