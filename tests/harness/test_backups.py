"""Before a run removes anything, both sides are backed up; no backup, no removal.

Through the real Trakt and SIMKL clients on the simulators, with an in-memory `Backups` (the
Home Assistant folder is tested in tests/integration/test_backups.py).
"""

from dataclasses import dataclass, field
from datetime import datetime

from custom_components.crosswatch.engine.backup import (
    Backup,
    BackupError,
    BackupReason,
    backup_document,
)
from custom_components.crosswatch.engine.payloads import Feature
from custom_components.crosswatch.engine.pipeline import RunStatus
from custom_components.crosswatch.engine.plan import PairSide
from custom_components.crosswatch.engine.provider import WriteOutcome
from custom_components.crosswatch.engine.restore import read_backup

from .catalogue import FILM_LOOKUP
from .services import Svc
from .test_scenarios import TRAKT_SIMKL, in_sync, only
from .world import Rig, World


@dataclass
class KeptBackups:
    """Backups kept in memory; `failing` makes every write fail as a full disk would."""

    taken: list[Backup] = field(default_factory=list)
    failing: bool = False

    async def last_taken(self, pair: str, feature: Feature) -> datetime | None:
        times = [b.taken_at for b in self.taken if (b.pair, b.feature) == (pair, feature)]
        return max(times, default=None)

    async def keep(self, backup: Backup) -> None:
        if self.failing:
            raise BackupError("no space left on device")
        self.taken.append(backup)


def titles(backup: Backup, side: PairSide) -> set[str]:
    (copy,) = [copy for copy in backup.sides if copy.side is side]
    return {entry.item.label() for entry in copy.snapshot.entries.values()}


def test_a_run_that_removes_backs_up_both_sides_as_they_were_first(served: Rig) -> None:
    backups = KeptBackups()
    world = World(served, TRAKT_SIMKL, titles=24, backups=backups)
    try:
        in_sync(world, range(20))  # one removal stays under the drop guard's 10 %
        before = len(backups.taken)
        world.edit(Svc.TRAKT, 2, add=False)  # the user unlists one title on Trakt

        result = only([d.result for d in world.run()])

        assert result.status is RunStatus.SUCCESS, result.errors
        assert world.holds(Svc.SIMKL) == set(range(20)) - {2}  # removed there too
        (backup,) = backups.taken[before:]
        assert backup.reason is BackupReason.BEFORE_REMOVALS
        assert backup.feature is Feature.WATCHLIST
        assert len(titles(backup, PairSide.B)) == 20  # SIMKL as it was, the title included
        assert len(titles(backup, PairSide.A)) == 19
        assert titles(backup, PairSide.B) - titles(backup, PairSide.A) != set()
    finally:
        world.close()


def test_nothing_is_written_without_a_backup_and_the_next_run_does_it_all(served: Rig) -> None:
    backups = KeptBackups()
    world = World(served, TRAKT_SIMKL, titles=24, backups=backups)
    try:
        in_sync(world, range(20))  # one removal stays under the drop guard's 10 %
        world.edit(Svc.TRAKT, 2, add=False)
        world.edit(Svc.TRAKT, 21, add=True)  # and lists a new one
        backups.failing = True

        failed = only([d.result for d in world.run()])

        assert failed.status is RunStatus.FAILED
        assert any("no backup could be made" in error for error in failed.errors), failed.errors
        assert world.holds(Svc.SIMKL) == set(range(20))  # nothing written without a backup

        backups.failing = False
        done = only([d.result for d in world.run()])

        assert done.status is RunStatus.SUCCESS, done.errors
        assert world.holds(Svc.SIMKL) == (set(range(20)) | {21}) - {2}
        assert backups.taken[-1].reason is BackupReason.BEFORE_REMOVALS
    finally:
        world.close()


def test_a_pair_is_backed_up_weekly_without_removals(served: Rig) -> None:
    backups = KeptBackups()
    world = World(served, TRAKT_SIMKL, titles=24, backups=backups)
    try:
        in_sync(
            world, range(20)
        )  # one removal stays under the drop guard's 10 %  # the first run: nothing backed up before, so one is due
        assert [b.reason for b in backups.taken] == [BackupReason.WEEKLY]

        world.edit(Svc.TRAKT, 22, add=True)
        only([d.result for d in world.run()])  # an hour later, adds only: none due

        assert len(backups.taken) == 1
    finally:
        world.close()


def test_a_side_restored_from_the_backup_before_a_removal_gets_back_only_what_it_lacks(
    served: Rig,
) -> None:
    backups = KeptBackups()
    world = World(served, TRAKT_SIMKL, titles=24, backups=backups)
    try:
        in_sync(world, range(20))
        world.edit(Svc.TRAKT, 2, add=False)
        only([d.result for d in world.run()])  # SIMKL loses it too, after a backup
        assert 2 not in world.holds(Svc.SIMKL)
        backup = backups.taken[-1]
        (pair,) = world.setup.pairs
        a, b = world.providers[pair.a], world.providers[pair.b]
        copy = read_backup(backup_document(backup))

        preview = world.rig.run(
            world.pipeline.restore(pair.spec, a, b, copy, side=PairSide.B, dry_run=True)
        )
        assert [FILM_LOOKUP.index(op.item) for op in preview.plan.operations] == [2]
        assert preview.results is None
        assert 2 not in world.holds(Svc.SIMKL)  # a dry run writes nothing

        done = world.rig.run(
            world.pipeline.restore(pair.spec, a, b, copy, side=PairSide.B, dry_run=False)
        )

        assert done.error is None
        assert done.count(WriteOutcome.REJECTED) == 0
        assert len(done.results or ()) == 1
        assert world.holds(Svc.SIMKL) == set(range(20))
        after = only([d.result for d in world.run()])
        assert after.status is RunStatus.SUCCESS, after.errors
        assert world.holds(Svc.SIMKL) == set(range(20))  # the next run keeps it there
        assert 2 in world.holds(Svc.TRAKT)  # and, two-way, carries it back to Trakt too
    finally:
        world.close()
