"""A loss the user made while our copy was in flight reaches the copy once it shows."""

from datetime import timedelta

from custom_components.crosswatch.engine.payloads import Feature, Listed
from custom_components.crosswatch.engine.plan import Action
from custom_components.crosswatch.engine.reconcile import withdrawn_sources
from custom_components.crosswatch.engine.records import PendingWrite, Scope, Tombstone

from .factories import T0, listed, movie, snap

HEAT = movie("Heat", 1995, imdb="tt0113277", tmdb=949)
ALIEN = movie("Alien", 1979, tmdb=348)
TO_B = Scope("anilist-simkl", Feature.WATCHLIST, "b")
OF_A = Scope("anilist-simkl", Feature.WATCHLIST, "a")
AFTER_OUR_WRITE = T0 + timedelta(hours=1)
SETTLED = snap(Feature.WATCHLIST, [listed(HEAT), listed(ALIEN)])  # the source's, at the last sync


def our_lagging_add(item: object, action: Action = Action.ADD) -> PendingWrite:
    return PendingWrite(TO_B, action, item, Listed(T0), "confirmed", 1, T0, 2)  # type: ignore[arg-type]


def tombstone(item: object, removed_at: object) -> Tombstone:
    return Tombstone(OF_A, item, removed_at, "SIMKL snapshot", removed_at + timedelta(days=30))  # type: ignore[arg-type, operator]


def test_a_copy_whose_source_lost_it_since_we_sent_it_is_planned_from_the_source_again() -> None:
    source_now = snap(Feature.WATCHLIST, [listed(ALIEN)])

    withdrawn = withdrawn_sources(
        [our_lagging_add(HEAT)],
        [tombstone(HEAT, AFTER_OUR_WRITE)],
        source_now,
        source_baseline=snap(Feature.WATCHLIST, [listed(ALIEN)]),
    )

    assert [(entry.item.key, entry.payload) for _, entry in withdrawn] == [(HEAT.key, Listed(T0))]


def test_a_loss_believed_before_we_sent_the_copy_is_not_the_copys_business() -> None:
    # The user removed the title, then listed it again and we copied that: the old loss is
    # history, and the copy stands.
    withdrawn = withdrawn_sources(
        [our_lagging_add(HEAT)],
        [tombstone(HEAT, T0 - timedelta(days=1))],
        snap(Feature.WATCHLIST, []),
        source_baseline=SETTLED,
    )

    assert withdrawn == []


def test_a_source_that_holds_the_item_again_has_lost_nothing() -> None:
    withdrawn = withdrawn_sources(
        [our_lagging_add(HEAT)],
        [tombstone(HEAT, AFTER_OUR_WRITE)],
        snap(Feature.WATCHLIST, [listed(HEAT, AFTER_OUR_WRITE + timedelta(hours=1))]),
        source_baseline=snap(Feature.WATCHLIST, []),
    )

    assert withdrawn == []


def test_our_removals_and_copies_of_other_titles_withdraw_nothing() -> None:
    withdrawn = withdrawn_sources(
        [our_lagging_add(HEAT, Action.REMOVE), our_lagging_add(ALIEN)],
        [tombstone(HEAT, AFTER_OUR_WRITE)],
        snap(Feature.WATCHLIST, [listed(ALIEN)]),
        source_baseline=SETTLED,
    )

    assert withdrawn == []


def test_a_copy_of_a_gain_the_source_lost_before_it_was_ever_settled_is_planned_from_it() -> None:
    # Found by the full machine at 20,000 (at f41f7ac): the user listed a title again on the
    # source while our removal of it on the destination awaited verification, so the gain was
    # copied but kept out of the source's baseline; the user then unlisted it there. The
    # copy, shown now, would otherwise be the destination's own news, carried back.
    withdrawn = withdrawn_sources(
        [our_lagging_add(HEAT)],
        [tombstone(HEAT, T0 - timedelta(days=1))],  # the older removal, before our copy
        snap(Feature.WATCHLIST, []),
        source_baseline=snap(Feature.WATCHLIST, []),
    )

    assert [(entry.item.key, entry.payload) for _, entry in withdrawn] == [(HEAT.key, Listed(T0))]
