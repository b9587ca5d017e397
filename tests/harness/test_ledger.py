"""The harness's model of the user's intent, checked on its own so the machines can trust it."""

from .catalogue import MACHINE_TITLES
from .ledger import Ledger
from .quirks import QUIRK_BY_NAME
from .services import Svc
from .setups import SETUPS
from .world import Rig, World

PLEX_TRAKT = next(s for s in SETUPS if s.name == "Plex ⇄ Trakt history, two-way")

PLEX_TRAKT = next(s for s in SETUPS if s.name == "Plex ⇄ Trakt history, two-way")
TRAKT_SIMKL = next(s for s in SETUPS if s.name == "Trakt ⇄ SIMKL watchlist, two-way")
PAIR = PLEX_TRAKT.pairs[0]
BOTH = (Svc.PLEX, Svc.TRAKT)


def test_edits_after_a_baseline_count_as_changes_though_the_next_run_failed_to_read() -> None:
    # Found by the full machine at 20,000: the user played a title on both sides, a run failed
    # (Plex asked to slow down), and the user took the play back on Plex. The edits before the
    # failed run were taken for what the first sync found, so only the unplay seemed to count.
    book = Ledger(PLEX_TRAKT, 12, {side: set() for side in BOTH})
    book.close_window(0)
    book.saw_run(PAIR, 0, read=True)  # founds both baselines
    book.record(Svc.PLEX, 0, add=True)
    book.record(Svc.TRAKT, 0, add=True)
    book.close_window(1)
    book.saw_run(PAIR, 1, read=False, founded=BOTH)
    book.record(Svc.PLEX, 0, add=False)
    book.close_window(2)
    book.saw_run(PAIR, 2, read=True, founded=BOTH)

    # One run read all three: Plex's play and its undoing cancel out (no read told them
    # apart), so Trakt's play is the news, for Plex too.
    assert book.expectations(PAIR) == {0: True}


def test_the_latest_of_edits_read_by_different_runs_decides() -> None:
    book = Ledger(PLEX_TRAKT, 12, {side: set() for side in BOTH})
    book.close_window(0)
    book.saw_run(PAIR, 0, read=True)
    book.record(Svc.TRAKT, 0, add=True)
    book.close_window(1)
    book.saw_run(PAIR, 1, read=True, founded=BOTH)  # copies the play to Plex
    book.record(Svc.PLEX, 0, add=False)  # the user undoes our copy on Plex
    book.close_window(2)
    book.saw_run(PAIR, 2, read=True, founded=BOTH)

    assert book.expectations(PAIR) == {0: False}


def test_an_edit_a_stale_read_did_not_show_reaches_the_engine_with_the_next_read() -> None:
    # Found by the full machine at 20,000: Trakt's activities froze, so its reads came from a
    # stale cache. The user unlisted a title on both sides; the stale read still showed it on
    # Trakt; the user listed it again there. No read ever told the engine that Trakt lost it:
    # to the engine Trakt held it all along and SIMKL removed it, which is what it carried.
    book = Ledger(TRAKT_SIMKL, 12, {Svc.TRAKT: {0}, Svc.SIMKL: {0}})
    sides = (Svc.TRAKT, Svc.SIMKL)
    book.close_window(0)
    book.saw_run(TRAKT_SIMKL.pairs[0], 0, read=True, founded=sides)
    book.record(Svc.TRAKT, 0, add=False)
    book.record(Svc.SIMKL, 0, add=False)
    book.close_window(1)
    stale = {Svc.TRAKT: frozenset({0}), Svc.SIMKL: frozenset()}
    book.saw_run(TRAKT_SIMKL.pairs[0], 1, read=True, founded=sides, misread=stale)
    book.record(Svc.TRAKT, 0, add=True)
    book.close_window(2)
    book.saw_run(TRAKT_SIMKL.pairs[0], 2, read=True, founded=sides)

    # Trakt's unlisting and listing again were one read's news, which cancel out.
    assert book.expectations(TRAKT_SIMKL.pairs[0]) == {0: False}


def founded_on_trakt_hiding_its_play() -> Ledger:
    """Trakt holds a play of title 0 that its first answer, empty, hid: no baseline has it."""
    book = Ledger(PLEX_TRAKT, 12, {Svc.PLEX: set(), Svc.TRAKT: {0}})
    book.record(Svc.TRAKT, 0, add=True)  # the seed
    book.close_window(0)
    saw_a_lie(book, 0, Svc.TRAKT, founded=())
    return book


def saw_a_lie(book: Ledger, window: int, side: Svc, *, founded: tuple[Svc, ...] = BOTH) -> None:
    """A run after `window` whose read of `side` lied, hiding title 0."""
    hid = {svc: frozenset({0}) if svc is side else frozenset() for svc in BOTH}
    book.saw_run(PAIR, window, read=True, founded=founded, lied=(side,), misread=hid)


def test_an_unplay_of_a_copy_a_first_read_hid_is_excused_though_plex_played_it_alongside() -> None:
    # Found by the full machine at 20,000 (at 6dd3748): between two runs the user played the
    # title on Plex and unplayed it on Trakt. Plex's play, made in the same window, was never
    # copied to Trakt: it did not make the copy the unplay removed, so it cannot date the lie
    # that hid that copy out of the removal's reach.
    book = founded_on_trakt_hiding_its_play()
    book.record(Svc.PLEX, 0, add=True)
    book.record(Svc.TRAKT, 0, add=False)
    book.close_window(1)
    saw_a_lie(book, 1, Svc.PLEX)
    book.close_window(2)
    book.saw_run(PAIR, 2, read=True, founded=BOTH)

    assert 0 not in book.expectations(PAIR)


def test_an_unplay_of_a_copy_a_first_read_hid_is_excused_though_plex_played_it_earlier() -> None:
    # Found by the full machine at 20,000 (at 8972e9c): as above, but the user played the
    # title on Plex a window before unplaying it on Trakt, and Plex's next two answers were
    # empty, so the engine read the play only after the unplay: it was never copied to Trakt.
    book = founded_on_trakt_hiding_its_play()
    book.record(Svc.PLEX, 0, add=True)
    book.close_window(1)
    saw_a_lie(book, 1, Svc.PLEX)
    book.record(Svc.TRAKT, 0, add=False)
    book.close_window(2)
    saw_a_lie(book, 2, Svc.PLEX)
    book.close_window(3)
    book.saw_run(PAIR, 3, read=True, founded=BOTH)

    assert 0 not in book.expectations(PAIR)


def test_a_tiny_plex_list_that_cut_the_watched_film_is_told_as_a_lie(served: Rig) -> None:
    # Found by the full machine (2d05b2b): a cut of Plex's library keeps its first rows, watched
    # or not, so keeping "a quarter" of one watched film could still drop it. Untold, the
    # ledger expected the user's later unplay to hold against a baseline founded on that lie.
    world = World(served, PLEX_TRAKT, titles=MACHINE_TITLES)
    try:
        world.edit(Svc.PLEX, 4, add=True)
        world.edit(Svc.TRAKT, 4, add=True)
        QUIRK_BY_NAME["tiny_list"].switch[Svc.PLEX](world.services[Svc.PLEX], 2)

        (done,) = world.run()

        assert done.misread[Svc.PLEX] == {4}
        assert Svc.PLEX in done.lied
    finally:
        world.close()
