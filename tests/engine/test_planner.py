"""The planner, case by case: each test is one rule users rely on."""

from datetime import timedelta
import json

from custom_components.crosswatch.engine.items import MatchTier
from custom_components.crosswatch.engine.payloads import Feature, Rated, Watched
from custom_components.crosswatch.engine.plan import Action, Operation, PairSide, Plan, Reason, Seen
from custom_components.crosswatch.engine.planner import SyncMode
from custom_components.crosswatch.engine.snapshot import Semantics

from .factories import (
    ANILIST,
    JELLYFIN,
    PLEX,
    SIMKL,
    T0,
    TRAKT,
    episode,
    listed,
    movie,
    plan,
    rated,
    snap,
    watched,
    watched_state,
)

HEAT = movie("Heat", 1995, imdb="tt0113277", tmdb=949)
ALIEN = movie("Alien", 1979, imdb="tt0078748", tmdb=348)
DUNE = movie("Dune", 2021, imdb="tt1160419", tmdb=438631)
W = Feature.WATCHLIST


def ops(result: Plan, action: Action | None = None) -> list[Operation]:
    return [op for op in result.operations if action is None or op.action is action]


def summary(result: Plan) -> set[tuple[str, str, str | None, str]]:
    return {
        (op.side.value, op.action.value, op.item.title, op.reason.value) for op in result.operations
    }


def reasons(result: Plan) -> set[str]:
    return {note.reason.value for note in result.notes}


# -- one-way modes --------------------------------------------------------------------------


def test_add_only_adds_what_the_target_lacks_and_never_removes() -> None:
    source = snap(W, [listed(HEAT), listed(DUNE)])
    target = snap(W, [listed(HEAT), listed(ALIEN)])
    baseline_source = snap(W, [listed(HEAT), listed(ALIEN)])

    result = plan(
        SyncMode.ADD_ONLY,
        ("Trakt", TRAKT, source, baseline_source),
        ("SIMKL", SIMKL, target, target),
    )

    assert summary(result) == {("b", "add", "Dune", "missing_on_target")}


def test_source_deletes_removes_only_what_the_source_lost_since_the_baseline() -> None:
    source = snap(W, [listed(HEAT)])
    target = snap(W, [listed(HEAT), listed(ALIEN), listed(DUNE)])
    # Alien was on both sides at the baseline; Dune was only ever on the target.
    baseline_source = snap(W, [listed(HEAT), listed(ALIEN)])
    baseline_target = snap(W, [listed(HEAT), listed(ALIEN), listed(DUNE)])

    result = plan(
        SyncMode.SOURCE_DELETES,
        ("Trakt", TRAKT, source, baseline_source),
        ("SIMKL", SIMKL, target, baseline_target),
    )

    assert summary(result) == {("b", "remove", "Alien", "removed_from_source")}
    (removal,) = ops(result)
    assert removal.match is MatchTier.STRONG
    assert removal.evidence.baseline_a is Seen.PRESENT
    assert removal.evidence.a is Seen.ABSENT
    assert removal.evidence.a_complete


def test_source_deletes_leaves_items_the_target_did_not_have_at_the_baseline() -> None:
    source = snap(W, [listed(HEAT)])
    target = snap(W, [listed(HEAT), listed(ALIEN)])  # added on the target after the baseline
    baseline_source = snap(W, [listed(HEAT), listed(ALIEN)])
    baseline_target = snap(W, [listed(HEAT)])

    result = plan(
        SyncMode.SOURCE_DELETES,
        ("Trakt", TRAKT, source, baseline_source),
        ("SIMKL", SIMKL, target, baseline_target),
    )

    assert result.is_empty


def test_mirror_removes_what_the_source_does_not_have() -> None:
    source = snap(W, [listed(HEAT)])
    target = snap(W, [listed(HEAT), listed(ALIEN)])

    result = plan(SyncMode.MIRROR, ("Trakt", TRAKT, source, source), ("SIMKL", SIMKL, target, None))

    assert summary(result) == {("b", "remove", "Alien", "not_on_source")}


def test_mirror_waits_for_a_baseline_before_its_first_removal() -> None:
    source = snap(W, [listed(HEAT)])
    target = snap(W, [listed(HEAT), listed(ALIEN)])

    result = plan(SyncMode.MIRROR, ("Trakt", TRAKT, source, None), ("SIMKL", SIMKL, target, None))

    assert result.is_empty
    assert reasons(result) == {"first_run_no_removals"}


def test_mirror_never_removes_on_a_partial_source_snapshot() -> None:
    source = snap(W, [listed(HEAT)], complete=False)
    target = snap(W, [listed(HEAT), listed(ALIEN)])

    result = plan(
        SyncMode.MIRROR,
        ("Trakt", TRAKT, source, snap(W, [listed(HEAT)])),
        ("SIMKL", SIMKL, target, None),
    )

    assert ops(result, Action.REMOVE) == []
    assert reasons(result) == {"snapshot_partial_no_removals"}


def test_mirror_puts_back_what_the_target_removed() -> None:
    source = snap(W, [listed(HEAT), listed(ALIEN)])
    target = snap(W, [listed(HEAT)])

    result = plan(
        SyncMode.MIRROR, ("Trakt", TRAKT, source, source), ("SIMKL", SIMKL, target, source)
    )

    assert summary(result) == {("b", "add", "Alien", "missing_on_target")}


def test_one_way_respects_a_removal_made_on_the_target() -> None:
    source = snap(W, [listed(HEAT), listed(ALIEN)])
    target = snap(W, [listed(HEAT)])  # the user removed Alien on the target since the last sync

    result = plan(
        SyncMode.ADD_ONLY, ("Trakt", TRAKT, source, source), ("SIMKL", SIMKL, target, source)
    )

    assert result.is_empty
    assert reasons(result) == {"removed_on_target_kept_removed"}


def test_items_without_external_ids_are_noted_not_added() -> None:
    local_only = movie("Home Video", 2019, jellyfin="6c1f0e6c7e3a4e0b9c2d8f1a2b3c4d5e")
    source = snap(W, [listed(local_only), listed(movie("Untitled Draft"))])

    result = plan(
        SyncMode.ADD_ONLY, ("Jellyfin", JELLYFIN, source, None), ("Trakt", TRAKT, snap(W, []), None)
    )

    assert result.is_empty
    assert [note.reason for note in result.notes] == [Reason.NO_EXTERNAL_IDS] * 2


# -- two-way ----------------------------------------------------------------------------------


def test_two_way_propagates_adds_both_ways() -> None:
    a = snap(W, [listed(HEAT), listed(DUNE)])
    b = snap(W, [listed(HEAT), listed(ALIEN)])
    baseline = snap(W, [listed(HEAT)])

    result = plan(SyncMode.TWO_WAY, ("Trakt", TRAKT, a, baseline), ("SIMKL", SIMKL, b, baseline))

    assert summary(result) == {
        ("b", "add", "Dune", "added_on_other_side"),
        ("a", "add", "Alien", "added_on_other_side"),
    }


def test_first_two_way_run_never_removes() -> None:
    a = snap(W, [listed(HEAT), listed(DUNE)])
    b = snap(W, [listed(HEAT), listed(ALIEN)])

    result = plan(SyncMode.TWO_WAY, ("Trakt", TRAKT, a, None), ("SIMKL", SIMKL, b, None))

    assert ops(result, Action.REMOVE) == []
    assert summary(result) == {
        ("b", "add", "Dune", "missing_on_target"),
        ("a", "add", "Alien", "missing_on_target"),
    }


def test_two_way_removes_what_one_side_dropped_from_both_baselines() -> None:
    a = snap(W, [listed(HEAT)])  # Alien removed on Trakt
    b = snap(W, [listed(HEAT), listed(ALIEN)])
    baseline = snap(W, [listed(HEAT), listed(ALIEN)])

    result = plan(SyncMode.TWO_WAY, ("Trakt", TRAKT, a, baseline), ("SIMKL", SIMKL, b, baseline))

    assert summary(result) == {("b", "remove", "Alien", "removed_on_other_side")}
    assert result.describe(result.operations[0]).startswith("Removed on Trakt since the last sync")


def test_two_way_never_removes_when_the_losing_side_was_read_partially() -> None:
    a = snap(W, [listed(HEAT)], complete=False)  # a truncated read, not a removal
    b = snap(W, [listed(HEAT), listed(ALIEN)])
    baseline = snap(W, [listed(HEAT), listed(ALIEN)])

    result = plan(SyncMode.TWO_WAY, ("Trakt", TRAKT, a, baseline), ("SIMKL", SIMKL, b, baseline))

    # The baseline stands in for what the read missed: no removal, and no re-add either.
    assert result.is_empty


def test_two_way_keeps_an_item_one_side_gained_as_the_other_lost_it() -> None:
    """Both sides changed since the last sync; removing would undo the user's add on SIMKL."""
    a = snap(W, [listed(HEAT)])
    b = snap(W, [listed(HEAT), listed(ALIEN)])

    result = plan(
        SyncMode.TWO_WAY,
        ("Trakt", TRAKT, a, snap(W, [listed(HEAT), listed(ALIEN)])),
        ("SIMKL", SIMKL, b, snap(W, [listed(HEAT)])),
    )

    assert ops(result, Action.REMOVE) == []
    (add,) = ops(result, Action.ADD)
    assert (add.side, add.item.key, add.reason.value) == (
        PairSide.A,
        ALIEN.key,
        "added_on_other_side",
    )


def test_two_way_needs_the_item_in_both_baselines_to_remove_it() -> None:
    """SIMKL has no sync yet: Trakt's loss of Alien removes nothing; SIMKL's copy is kept."""
    a = snap(W, [listed(HEAT)])
    b = snap(W, [listed(HEAT), listed(ALIEN)])

    result = plan(
        SyncMode.TWO_WAY,
        ("Trakt", TRAKT, a, snap(W, [listed(HEAT), listed(ALIEN)])),
        ("SIMKL", SIMKL, b, None),
    )

    assert ops(result, Action.REMOVE) == []
    assert [(op.side, op.item.key) for op in ops(result, Action.ADD)] == [(PairSide.A, ALIEN.key)]


def test_title_only_item_on_one_side_is_never_removed_from_the_other() -> None:
    title_only = movie("Heat", 1995)  # e.g. a Jellyfin item with no ProviderIds
    a_before = snap(W, [listed(title_only), listed(ALIEN)])
    b_before = snap(W, [listed(HEAT), listed(ALIEN)])
    a_now = snap(W, [listed(ALIEN)])  # the title-only copy disappeared from A

    result = plan(
        SyncMode.TWO_WAY,
        ("Jellyfin", JELLYFIN, a_now, a_before),
        ("Trakt", TRAKT, b_before, b_before),
    )

    assert ops(result, Action.REMOVE) == []
    assert ops(result, Action.ADD) == []
    assert reasons(result) == {"weak_link_no_removal"}


def test_weak_matches_are_reported_and_suppress_duplicate_adds() -> None:
    a = snap(W, [listed(movie("The Matrix", 1999))])
    b = snap(W, [listed(movie("Matrix, The", 1999, imdb="tt0133093"))])

    result = plan(SyncMode.TWO_WAY, ("Jellyfin", JELLYFIN, a, None), ("Trakt", TRAKT, b, None))

    assert result.is_empty
    assert reasons(result) == {"weak_match"}


def test_a_delta_provider_whose_watermark_moved_finds_the_changes() -> None:
    baseline = snap(W, [listed(HEAT), listed(ALIEN)])
    delta = snap(
        W,
        [listed(DUNE)],
        semantics=Semantics.DELTA,
        removed=["imdb:tt0078748"],
        watermark="2026-01-11T09:00:00Z",
    )
    other = snap(W, [listed(HEAT), listed(ALIEN)])

    result = plan(
        SyncMode.TWO_WAY, ("SIMKL", SIMKL, delta, baseline), ("Trakt", TRAKT, other, baseline)
    )

    assert summary(result) == {
        ("b", "add", "Dune", "added_on_other_side"),
        ("b", "remove", "Alien", "removed_on_other_side"),
    }


def test_episode_known_by_tvdb_on_one_side_and_tmdb_on_the_other_still_matches() -> None:
    show_ids = {"tvdb": 334824, "tmdb": 70523}
    on_plex = episode("Dark", 1, 3, show_ids={"tvdb": 334824})
    on_trakt = episode("Dark", 1, 3, show_ids=show_ids, tmdb=1328523)
    trakt_only = episode("Dark", 1, 4, show_ids={"tmdb": 70523})

    result = plan(
        SyncMode.ADD_ONLY,
        (
            "Trakt",
            TRAKT,
            snap(Feature.HISTORY, [watched(on_trakt, T0), watched(trakt_only, T0)]),
            None,
        ),
        ("Plex", PLEX, snap(Feature.HISTORY, [watched_state(on_plex, 1, T0)]), None),
    )

    # S01E03 matched through the show's tvdb id; only S01E04 is missing on Plex.
    assert [(op.item.season, op.item.episode) for op in result.operations] == [(1, 4)]


# -- history ----------------------------------------------------------------------------------

H = Feature.HISTORY


def test_trakt_minute_precision_does_not_duplicate_a_play() -> None:
    plex_play = T0 + timedelta(seconds=45)
    plex = snap(H, [watched_state(HEAT, 1, plex_play)])
    trakt = snap(H, [watched(HEAT, T0)])  # Trakt kept 20:00, not 20:00:45

    result = plan(SyncMode.ADD_ONLY, ("Plex", PLEX, plex, None), ("Trakt", TRAKT, trakt, None))

    assert result.is_empty


def test_every_missing_play_is_added_to_a_multi_play_target() -> None:
    plays = (T0, T0 + timedelta(days=30), T0 + timedelta(days=400))
    trakt_a = snap(H, [watched(HEAT, *plays)])
    trakt_b = snap(H, [watched(HEAT, plays[0] + timedelta(seconds=20))])

    result = plan(
        SyncMode.ADD_ONLY, ("Trakt", TRAKT, trakt_a, None), ("Trakt 2", TRAKT, trakt_b, None)
    )

    (add,) = ops(result)
    assert add.reason is Reason.PLAYS_MISSING
    assert add.payload == Watched.from_plays(plays[1:])


def test_a_rewatch_on_a_watched_state_source_adds_one_dated_play() -> None:
    rewatch = T0 + timedelta(days=90)
    plex = snap(H, [watched_state(HEAT, 2, rewatch)])
    trakt = snap(H, [watched(HEAT, T0)])

    result = plan(SyncMode.ADD_ONLY, ("Plex", PLEX, plex, None), ("Trakt", TRAKT, trakt, None))

    (add,) = ops(result)
    assert add.payload == Watched.from_plays([rewatch])


def test_a_watched_state_target_that_is_watched_needs_nothing_more() -> None:
    trakt = snap(H, [watched(HEAT, T0, T0 + timedelta(days=3))])
    jellyfin = snap(H, [watched_state(HEAT, 1, T0 - timedelta(days=100))])

    result = plan(
        SyncMode.TWO_WAY, ("Trakt", TRAKT, trakt, None), ("Jellyfin", JELLYFIN, jellyfin, None)
    )

    assert result.is_empty


def test_writing_history_to_plex_notes_that_the_date_is_not_kept() -> None:
    trakt = snap(H, [watched(HEAT, T0)])

    result = plan(
        SyncMode.ADD_ONLY, ("Trakt", TRAKT, trakt, None), ("Plex", PLEX, snap(H, []), None)
    )

    (add,) = ops(result)
    assert add.payload == Watched.from_plays([T0])
    assert reasons(result) == {"watched_date_not_kept"}


def test_anilist_day_precision_matches_a_play_on_the_same_day() -> None:
    anilist = snap(H, [watched_state(HEAT, 1, T0.replace(hour=0, minute=0))])
    simkl = snap(H, [watched_state(HEAT, 1, T0)])

    assert plan(
        SyncMode.TWO_WAY, ("AniList", ANILIST, anilist, None), ("SIMKL", SIMKL, simkl, None)
    ).is_empty


# -- ratings ----------------------------------------------------------------------------------

R = Feature.RATINGS


def test_one_way_rating_update_follows_the_source() -> None:
    result = plan(
        SyncMode.ADD_ONLY,
        ("Trakt", TRAKT, snap(R, [rated(HEAT, 9)]), None),
        ("Plex", PLEX, snap(R, [rated(HEAT, 6)]), None),
    )

    (update,) = ops(result)
    assert (update.side, update.action, update.reason) == (
        PairSide.B,
        Action.UPDATE,
        Reason.RATING_DIFFERS_FROM_SOURCE,
    )
    assert update.payload == Rated(9, T0)
    assert update.evidence.detail == "Trakt: 9, Plex: 6"


def test_ratings_equal_on_the_coarser_scale_are_not_updated() -> None:
    result = plan(
        SyncMode.TWO_WAY,
        ("AniList", ANILIST, snap(R, [rated(HEAT, 7.3)]), None),
        ("Trakt", TRAKT, snap(R, [rated(HEAT, 7)]), None),
    )

    assert result.is_empty


def test_a_rating_changed_on_one_side_propagates_whatever_its_date() -> None:
    baseline = snap(R, [rated(HEAT, 6, T0)])
    a = snap(R, [rated(HEAT, 6, T0)])
    b = snap(R, [rated(HEAT, 8, None)])  # changed on B, which keeps no dates

    result = plan(
        SyncMode.TWO_WAY, ("Trakt", TRAKT, a, baseline), ("Jellyfin", JELLYFIN, b, baseline)
    )

    assert summary(result) == {("a", "update", "Heat", "rating_changed_on_other_side")}


def test_concurrent_rating_changes_resolve_to_the_newest_and_keep_the_loser_as_a_conflict() -> None:
    baseline = snap(R, [rated(HEAT, 6, T0)])
    a = snap(R, [rated(HEAT, 9, T0 + timedelta(days=2))])
    b = snap(R, [rated(HEAT, 4, T0 + timedelta(days=1))])

    result = plan(SyncMode.TWO_WAY, ("Trakt", TRAKT, a, baseline), ("SIMKL", SIMKL, b, baseline))

    assert summary(result) == {
        ("b", "update", "Heat", "rating_newer_on_other_side"),
        ("b", "conflict", "Heat", "rating_conflict_lost"),
    }
    conflict = ops(result, Action.CONFLICT)[0]
    assert conflict.payload == Rated(4, T0 + timedelta(days=1))
    assert ops(result, Action.UPDATE)[0].payload == Rated(9, T0 + timedelta(days=2))


def test_without_any_dates_side_a_wins_so_the_pair_converges() -> None:
    result = plan(
        SyncMode.TWO_WAY,
        ("Jellyfin", JELLYFIN, snap(R, [rated(HEAT, 7, None)]), None),
        ("Emby", JELLYFIN, snap(R, [rated(HEAT, 5, None)]), None),
    )

    assert [(op.side, op.action) for op in result.operations] == [
        (PairSide.B, Action.UPDATE),
        (PairSide.B, Action.CONFLICT),
    ]


# -- the plan as users see it -------------------------------------------------------------------


def test_plan_counts_order_and_json_are_deterministic() -> None:
    a = snap(W, [listed(DUNE), listed(HEAT), listed(movie("Untitled"))])
    b = snap(W, [listed(ALIEN)])

    first = plan(SyncMode.TWO_WAY, ("Trakt", TRAKT, a, None), ("SIMKL", SIMKL, b, None))
    again = plan(
        SyncMode.TWO_WAY,
        ("Trakt", TRAKT, snap(W, [listed(HEAT), listed(movie("Untitled")), listed(DUNE)]), None),
        ("SIMKL", SIMKL, b, None),
    )

    assert first.to_json() == again.to_json()
    assert first.counts() == {"a": {"add": 1}, "b": {"add": 2}, "watchlist": {"add": 3}}
    document = json.loads(first.to_json(limit=1))
    assert document["truncated"] is True
    assert len(document["operations"]) == 1
    assert document["note_counts"] == {"no_external_ids": 1}
    assert document["operations"][0] == {
        "side": "a",
        "provider": "Trakt",
        "feature": "watchlist",
        "action": "add",
        "item": {
            "type": "movie",
            "title": "Alien",
            "year": 1979,
            "key": "imdb:tt0078748",
            "ids": {"imdb": "tt0078748", "tmdb": "348"},
        },
        "reason": "missing_on_target",
        "message": "On SIMKL, missing on Trakt",
        "match": "none",
        "evidence": {
            "a": "absent",
            "b": "present",
            "baseline_a": "no_baseline",
            "baseline_b": "no_baseline",
            "a_complete": True,
            "b_complete": True,
        },
        "payload": {"listed_at": T0.isoformat()},
    }


def test_plans_of_several_features_combine() -> None:
    watchlist = plan(
        SyncMode.ADD_ONLY,
        ("Trakt", TRAKT, snap(W, [listed(HEAT)]), None),
        ("SIMKL", SIMKL, snap(W, []), None),
    )
    ratings = plan(
        SyncMode.ADD_ONLY,
        ("Trakt", TRAKT, snap(R, [rated(HEAT, 8)]), None),
        ("SIMKL", SIMKL, snap(R, []), None),
    )

    combined = ratings.combine(watchlist)

    assert [op.feature for op in combined.operations] == [Feature.WATCHLIST, Feature.RATINGS]
    assert combined.counts()["b"] == {"add": 2}


def test_removals_reported_by_a_delta_that_failed_midway_remove_nothing() -> None:
    baseline = snap(W, [listed(HEAT), listed(ALIEN)])
    broken_delta = snap(
        W, [], semantics=Semantics.DELTA, removed=["imdb:tt0078748"], complete=False
    )

    result = plan(
        SyncMode.TWO_WAY,
        ("SIMKL", SIMKL, broken_delta, baseline),
        ("Trakt", TRAKT, baseline, baseline),
    )

    assert result.is_empty
    assert reasons(result) == {"snapshot_partial_no_removals"}


def test_a_second_copy_on_the_target_of_an_item_the_source_holds_is_never_removed() -> None:
    source = snap(W, [listed(movie("Heat", 1995, imdb="tt0113277", tmdb=949))])
    # A partial read found the copy known by imdb; the baseline stands in with one known by tmdb.
    target = snap(W, [listed(movie("Heat", 1995, imdb="tt0113277"))], complete=False)
    target_baseline = snap(W, [listed(movie("Heat", 1995, tmdb=949))])

    result = plan(
        SyncMode.MIRROR, ("Trakt", TRAKT, source, source), ("SIMKL", SIMKL, target, target_baseline)
    )

    assert result.is_empty
