"""Pending writes are verified by complete snapshots; those never shown become phantoms."""

from datetime import timedelta

from custom_components.crosswatch.engine.guards import (
    GuardCode,
    GuardSettings,
    apply_guards,
    holdouts,
)
from custom_components.crosswatch.engine.payloads import Feature, Rated, Watched
from custom_components.crosswatch.engine.plan import Action, PairSide
from custom_components.crosswatch.engine.planner import SyncMode
from custom_components.crosswatch.engine.ratings import RatingScale
from custom_components.crosswatch.engine.records import PendingWrite, Scope
from custom_components.crosswatch.engine.verify import (
    OWN_WRITE_SLACK,
    own_writes,
    still_shown_removals,
    verify_pending,
)

from .factories import (
    SIMKL,
    T0,
    TRAKT,
    listed,
    movie,
    plan,
    rated,
    snap,
    watched,
    watched_state,
)

HEAT = movie("Heat", 1995, imdb="tt0113277", tmdb=949)
ALIEN = movie("Alien", 1979, tmdb=348)
SCOPE = Scope("trakt-simkl", Feature.WATCHLIST, "b")
INTEGER = RatingScale.INTEGER_1_10


def pending(
    item: object, action: Action = Action.ADD, misses: int = 0, payload: object = None
) -> PendingWrite:
    return PendingWrite(SCOPE, action, item, payload, "unknown", 1, T0, misses)  # type: ignore[arg-type]


def test_a_complete_snapshot_that_shows_a_write_verifies_it() -> None:
    view = snap(Feature.WATCHLIST, [listed(movie("Heat", 1995, tmdb=949))])

    result = verify_pending([pending(HEAT), pending(ALIEN)], view, INTEGER)

    assert [w.item for w in result.verified] == [HEAT]
    assert [w.item for w in result.missed] == [ALIEN]
    assert result.phantoms == ()


def test_a_removal_is_verified_by_absence() -> None:
    view = snap(Feature.WATCHLIST, [listed(ALIEN)])

    result = verify_pending(
        [pending(HEAT, Action.REMOVE), pending(ALIEN, Action.REMOVE)], view, INTEGER
    )

    assert [w.item for w in result.verified] == [HEAT]
    assert [w.item for w in result.missed] == [ALIEN]


def test_a_rating_write_is_verified_only_by_the_written_value() -> None:
    view = snap(Feature.RATINGS, [rated(HEAT, 6)])

    stale = verify_pending([pending(HEAT, payload=Rated(8, T0))], view, INTEGER)
    shown = verify_pending([pending(HEAT, payload=Rated(6, T0))], view, INTEGER)

    assert (len(stale.verified), len(stale.missed)) == (0, 1)
    assert (len(shown.verified), len(shown.missed)) == (1, 0)


def test_a_write_missed_by_two_complete_snapshots_is_a_phantom() -> None:
    view = snap(Feature.WATCHLIST, [])

    assert verify_pending([pending(HEAT, misses=0)], view, INTEGER).phantoms == ()
    assert [w.item for w in verify_pending([pending(HEAT, misses=1)], view, INTEGER).phantoms] == [
        HEAT
    ]


def test_a_partial_snapshot_verifies_nothing_and_counts_no_miss() -> None:
    view = snap(Feature.WATCHLIST, [], complete=False)

    result = verify_pending([pending(HEAT, misses=0), pending(ALIEN, misses=2)], view, INTEGER)

    assert result.verified == result.missed == ()
    assert [w.item for w in result.phantoms] == [ALIEN]


def test_held_out_items_are_not_written_and_each_reason_is_reported() -> None:
    later = T0 + timedelta(days=1)
    three = [
        listed(HEAT, later),
        listed(ALIEN, later),
        listed(movie("Dune", 2021, tmdb=438631), later),
    ]
    result = plan(
        SyncMode.ADD_ONLY,
        ("Trakt", TRAKT, snap(Feature.WATCHLIST, three), None),
        ("SIMKL", SIMKL, snap(Feature.WATCHLIST, []), None),
    )
    held_out = holdouts(
        [(HEAT, GuardCode.PENDING_VERIFICATION), (movie(None, tmdb=348), GuardCode.PHANTOM)]
    )

    guarded = apply_guards(
        result, settings=GuardSettings(), baseline_sizes={}, held_out={PairSide.B: held_out}
    )

    assert [op.item.title for op in guarded.plan.operations] == ["Dune"]
    assert {op.item.title for op in guarded.suppressed} == {"Heat", "Alien"}
    assert {(e.code, e.count) for e in guarded.events} == {
        (GuardCode.PENDING_VERIFICATION, 1),
        (GuardCode.PHANTOM, 1),
    }
    assert any("accepted by SIMKL but never shown" in e.detail for e in guarded.events)


def test_a_history_write_to_a_play_keeping_side_is_verified_only_once_its_plays_show() -> None:
    # Trakt already had one play of Heat; we sent a second that it does not show yet.
    first, second = T0, T0 + timedelta(days=3)
    write = pending(HEAT, payload=Watched.from_plays([second]))
    lagging = snap(Feature.HISTORY, [watched(HEAT, first)])
    caught_up = snap(Feature.HISTORY, [watched(HEAT, first, second + timedelta(seconds=20))])

    early = verify_pending([write], lagging, INTEGER, play_precision=timedelta(minutes=1))
    later = verify_pending([write], caught_up, INTEGER, play_precision=timedelta(minutes=1))
    # A side that keeps a watched state only needs to show the item.
    state = verify_pending([write], lagging, INTEGER)

    assert (early.verified, [w.item for w in early.missed]) == ((), [HEAT])
    assert [w.item for w in later.verified] == [HEAT]
    assert [w.item for w in state.verified] == [HEAT]


def test_a_write_shown_first_after_a_doubted_read_is_ours_unless_listed_since_after_it() -> None:
    stamped = snap(Feature.WATCHLIST, [listed(HEAT, T0 + timedelta(minutes=1))])
    undated = snap(Feature.WATCHLIST, [listed(HEAT, None)])
    # Listed a day after our add: the user's own listing, made after our copy was removed.
    relisted = snap(Feature.WATCHLIST, [listed(HEAT, T0 + timedelta(days=1))])

    # A run read the side after our add (its read too doubted to count as a miss).
    read_since = T0 + timedelta(hours=1)

    assert own_writes([pending(HEAT)], stamped, earlier_runs=(read_since,)) == (pending(HEAT),)
    assert own_writes([pending(HEAT)], undated, earlier_runs=(read_since,)) == (pending(HEAT),)
    assert own_writes([pending(HEAT)], relisted, earlier_runs=(read_since,)) == ()
    # No run since ours: the removal and the new listing fell in one window, net no change.
    assert own_writes([pending(HEAT)], relisted, earlier_runs=(T0,)) == (pending(HEAT),)


def test_a_write_relisted_before_any_run_read_the_side_again_stays_ours_in_later_runs() -> None:
    # Our add, the user's removal and new listing an hour later, all before the next run: that
    # run and every later one see the same item with the same date, so none may call it new.
    relisted = snap(Feature.WATCHLIST, [listed(HEAT, T0 + timedelta(hours=1))])
    later_runs = (T0 + timedelta(days=1, hours=1), T0 + timedelta(days=1), T0)

    assert own_writes([pending(HEAT)], relisted, earlier_runs=later_runs) == (pending(HEAT),)


def test_a_mark_shown_first_after_a_doubted_read_is_ours_unless_played_since_after_it() -> None:
    ours = pending(HEAT, payload=Watched.from_state(1, T0 - timedelta(days=3)))
    marked = snap(Feature.HISTORY, [watched_state(HEAT, 1, T0 + timedelta(seconds=1))])
    # Played an hour after our mark: the user's own play, after unplaying our mark.
    replayed = snap(Feature.HISTORY, [watched_state(HEAT, 1, T0 + timedelta(hours=1))])

    # A run read the side between our mark and that play.
    read_between = (T0 + timedelta(minutes=30),)

    assert own_writes([ours], marked, earlier_runs=read_between) == (ours,)
    assert own_writes([ours], replayed, earlier_runs=read_between) == ()


def test_a_lagging_write_dated_no_later_than_ours_is_ours() -> None:
    # The service stamped it when it took our request: a minute after our clock said we wrote.
    view = snap(Feature.WATCHLIST, [listed(HEAT, T0 + timedelta(minutes=1))])
    write = pending(HEAT, misses=1, payload=listed(HEAT).payload)

    assert own_writes([write], view) == (write,)


def test_a_write_shown_after_a_miss_and_dated_later_is_the_users_redo_by_hand() -> None:
    # The read that missed ours came later; what shows is dated after it.
    view = snap(Feature.WATCHLIST, [listed(HEAT, T0 + OWN_WRITE_SLACK + timedelta(hours=1))])
    undated = snap(Feature.WATCHLIST, [listed(HEAT, None)])
    write = pending(HEAT, misses=1, payload=listed(HEAT).payload)

    assert own_writes([write], view) == ()
    assert own_writes([write], undated) == ()  # nothing tells the two apart: the side's news


def test_a_lagging_play_is_ours_by_its_last_watched_date_or_by_every_play_we_sent() -> None:
    ours = pending(HEAT, misses=1, payload=Watched.from_plays((T0 - timedelta(days=3),)))
    server = snap(Feature.HISTORY, [watched_state(HEAT, 1, T0 + timedelta(seconds=1))])
    replayed = snap(Feature.HISTORY, [watched_state(HEAT, 2, T0 + timedelta(hours=2))])
    # On a side that keeps plays, verification matched each play at the source's own time.
    trakt = snap(Feature.HISTORY, [watched(HEAT, T0 - timedelta(days=3))])

    assert own_writes([ours], server) == (ours,)
    assert own_writes([ours], replayed) == ()
    assert own_writes([ours], trakt, play_precision=timedelta(minutes=1)) == (ours,)


def test_a_removal_shown_after_a_miss_carries_no_date_and_is_not_taken_for_ours() -> None:
    removal = pending(HEAT, Action.REMOVE, misses=1)

    assert own_writes([removal], snap(Feature.WATCHLIST, [])) == ()


def test_a_removal_a_read_still_shows_is_taken_away_until_verified_or_phantom() -> None:
    stale = snap(Feature.WATCHLIST, [listed(HEAT), listed(ALIEN)])
    awaited = pending(HEAT, Action.REMOVE)
    gone_by_now = pending(movie("Ran", 1985, tmdb=11645), Action.REMOVE)
    an_add = pending(ALIEN)
    phantom = pending(ALIEN, Action.REMOVE, misses=1)  # this miss is its second

    verification = verify_pending([awaited, gone_by_now, an_add, phantom], stale, INTEGER)

    assert [w.item for w in verification.phantoms] == [ALIEN]
    taken_away = still_shown_removals([awaited, gone_by_now, an_add, phantom], stale, verification)

    assert taken_away == (awaited,)
