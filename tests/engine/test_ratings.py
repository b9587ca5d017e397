"""Tests for native rating scales and the normalized scale."""

from itertools import pairwise

from hypothesis import given, settings, strategies as st
import pytest

from custom_components.crosswatch.engine.ratings import (
    RatingScale,
    from_normalized,
    quantize,
    same_rating,
    to_normalized,
)

S = RatingScale
INTEGER_SCALES = frozenset(
    {S.INTEGER_1_10, S.ANILIST_POINT_100, S.ANILIST_POINT_10, S.ANILIST_POINT_5, S.ANILIST_POINT_3}
)
ALL_TENTHS = tuple(t / 10 for t in range(10, 101))

tenths = st.integers(10, 100).map(lambda t: t / 10)
scales = st.sampled_from(RatingScale)


def rated_native_values(scale: RatingScale) -> tuple[float, ...]:
    """Every valid rated native value that survives a round trip (rated values below 1.0 don't)."""
    match scale:
        case S.INTEGER_1_10 | S.ANILIST_POINT_10:
            return tuple(range(1, 11))
        case S.HALF_STEPS_0_10:
            return tuple(h / 2 for h in range(2, 21))
        case S.DECIMAL_0_10 | S.ANILIST_POINT_10_DECIMAL:
            return ALL_TENTHS
        case S.ANILIST_POINT_100:
            return tuple(range(10, 101))
        case S.ANILIST_POINT_5:
            return tuple(range(1, 6))
        case S.ANILIST_POINT_3:
            return (1, 2, 3)


def as_tenths(value: float) -> int:
    return round(value * 10)


# --- Round trips and properties ---------------------------------------------------------------


@pytest.mark.parametrize("scale", list(RatingScale))
def test_every_rated_native_value_survives_a_round_trip(scale: RatingScale) -> None:
    for native in rated_native_values(scale):
        normalized = to_normalized(scale, native)
        assert normalized is not None
        assert from_normalized(scale, normalized) == native


@pytest.mark.parametrize("scale", list(RatingScale))
def test_levels_count_the_distinct_ratings_a_scale_can_express(scale: RatingScale) -> None:
    assert len({quantize(scale, x) for x in ALL_TENTHS}) == scale.levels
    assert len({to_normalized(scale, v) for v in rated_native_values(scale)}) == scale.levels


@settings(max_examples=300, deadline=None)
@given(scale=scales, x=tenths)
def test_quantize_is_idempotent_and_is_the_native_round_trip(scale: RatingScale, x: float) -> None:
    q = quantize(scale, x)
    assert quantize(scale, q) == q
    assert q == to_normalized(scale, from_normalized(scale, x))
    assert q * 10 == as_tenths(q)  # at most one decimal


@settings(max_examples=300, deadline=None)
@given(scale=scales, x=tenths)
def test_from_normalized_returns_a_valid_native_value(scale: RatingScale, x: float) -> None:
    native = from_normalized(scale, x)
    assert type(native) is (int if scale in INTEGER_SCALES else float)
    assert native in rated_native_values(scale)
    assert to_normalized(scale, native) is not None


@settings(max_examples=300, deadline=None)
@given(a=tenths, b=tenths, a_scale=scales, b_scale=scales)
def test_same_rating_is_symmetric_and_reflexive(
    a: float, b: float, a_scale: RatingScale, b_scale: RatingScale
) -> None:
    assert same_rating(a, b, a_scale, b_scale) == same_rating(b, a, b_scale, a_scale)
    assert same_rating(a, a, a_scale, b_scale)


@settings(max_examples=300, deadline=None)
@given(scale=scales, x=tenths)
def test_quantize_picks_the_nearest_level_within_half_a_step(scale: RatingScale, x: float) -> None:
    levels = sorted({as_tenths(quantize(scale, y)) for y in ALL_TENTHS})
    step = levels[1] - levels[0]
    assert all(b - a == step for a, b in pairwise(levels))
    q, t = as_tenths(quantize(scale, x)), as_tenths(x)
    assert q in levels
    assert abs(q - t) == min(abs(level - t) for level in levels)
    # Below its lowest level a coarse scale can be further off: POINT_3 has nothing under 3.0.
    if levels[0] <= t <= levels[-1]:
        assert 2 * abs(q - t) <= step


# --- Unrated and invalid native values ---------------------------------------------------------


@pytest.mark.parametrize("scale", list(RatingScale))
@pytest.mark.parametrize("unrated", [None, 0, 0.0, "0", " 0 "])
def test_unrated_forms_become_none(scale: RatingScale, unrated: float | str | None) -> None:
    assert to_normalized(scale, unrated) is None


@pytest.mark.parametrize(
    ("scale", "native"),
    [
        (S.INTEGER_1_10, "abc"),
        (S.INTEGER_1_10, ""),
        (S.INTEGER_1_10, 11),
        (S.INTEGER_1_10, -1),
        (S.INTEGER_1_10, 6.5),
        (S.INTEGER_1_10, True),
        (S.HALF_STEPS_0_10, 7.3),
        (S.HALF_STEPS_0_10, 10.5),
        (S.HALF_STEPS_0_10, -0.5),
        (S.DECIMAL_0_10, 10.01),
        (S.DECIMAL_0_10, -0.01),
        (S.DECIMAL_0_10, "nan"),
        (S.DECIMAL_0_10, float("inf")),
        (S.ANILIST_POINT_100, 101),
        (S.ANILIST_POINT_100, 72.5),
        (S.ANILIST_POINT_10_DECIMAL, 7.25),
        (S.ANILIST_POINT_10_DECIMAL, 10.1),
        (S.ANILIST_POINT_10, 7.5),
        (S.ANILIST_POINT_5, 6),
        (S.ANILIST_POINT_5, 2.5),
        (S.ANILIST_POINT_3, 4),
        (S.ANILIST_POINT_3, -1),
    ],
)
def test_garbage_and_out_of_range_native_values_are_rejected(
    scale: RatingScale, native: float | str
) -> None:
    with pytest.raises(ValueError, match=r"rating|range|value of"):
        to_normalized(scale, native)


@pytest.mark.parametrize(
    ("scale", "native", "normalized"),
    [
        (S.INTEGER_1_10, "7", 7.0),
        (S.INTEGER_1_10, 7.0, 7.0),
        (S.ANILIST_POINT_100, " 73 ", 7.3),
        (S.HALF_STEPS_0_10, "7.5", 7.5),
        (S.DECIMAL_0_10, "7.25", 7.3),
    ],
)
def test_numeric_strings_and_integral_floats_are_accepted(
    scale: RatingScale, native: float | str, normalized: float
) -> None:
    assert to_normalized(scale, native) == normalized


def test_jellyfin_doubles_round_half_up_to_tenths_without_float_noise() -> None:
    assert to_normalized(S.DECIMAL_0_10, 7.25) == 7.3  # round() would say 7.2
    assert to_normalized(S.DECIMAL_0_10, 1.15) == 1.2  # the float 1.15 is 1.1499...
    assert to_normalized(S.DECIMAL_0_10, 7.24) == 7.2
    assert to_normalized(S.DECIMAL_0_10, 0.04) == 1.0  # rated, however little
    assert to_normalized(S.DECIMAL_0_10, 0.1 + 0.2) == 1.0


# --- from_normalized ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("scale", "value", "native"),
    [
        (S.INTEGER_1_10, 6.5, 7),  # not banker's 6
        (S.INTEGER_1_10, 1.5, 2),
        (S.INTEGER_1_10, 6.4, 6),
        (S.ANILIST_POINT_10, 9.5, 10),
        (S.HALF_STEPS_0_10, 7.25, 7.5),
        (S.HALF_STEPS_0_10, 7.2, 7.0),
        (S.DECIMAL_0_10, 1.15, 1.2),
        (S.ANILIST_POINT_10_DECIMAL, 7.25, 7.3),
        (S.ANILIST_POINT_100, 7.25, 73),
        (S.ANILIST_POINT_100, 1.0, 10),
        (S.ANILIST_POINT_100, 10.0, 100),
        (S.ANILIST_POINT_5, 1.0, 1),
        (S.ANILIST_POINT_5, 5.0, 3),
        (S.ANILIST_POINT_5, 4.9, 2),
        (S.ANILIST_POINT_5, 10, 5),
        (S.INTEGER_1_10, 6.45, 6),  # rounded once, straight to the integer: no 6.45 -> 6.5 -> 7
    ],
)
def test_from_normalized_rounds_half_up_to_the_nearest_native_value(
    scale: RatingScale, value: float, native: float
) -> None:
    assert from_normalized(scale, value) == native


@pytest.mark.parametrize("scale", list(RatingScale))
@pytest.mark.parametrize("value", [0, 0.9, 10.1, -1, float("nan"), float("inf")])
def test_from_normalized_rejects_values_off_the_normalized_scale(
    scale: RatingScale, value: float
) -> None:
    with pytest.raises(ValueError, match=r"normalized|not a rating"):
        from_normalized(scale, value)
    with pytest.raises(ValueError, match=r"normalized|not a rating"):
        quantize(scale, value)


# --- Named cases -------------------------------------------------------------------------------


def test_anilist_73_and_trakt_7_are_the_same_rating() -> None:
    assert same_rating(7.3, 7.0, S.ANILIST_POINT_100, S.INTEGER_1_10)
    assert same_rating(7.0, 7.3, S.INTEGER_1_10, S.ANILIST_POINT_100)


def test_anilist_73_and_trakt_8_differ() -> None:
    assert not same_rating(7.3, 8.0, S.ANILIST_POINT_100, S.INTEGER_1_10)


def test_same_rating_compares_on_the_coarser_scale() -> None:
    assert same_rating(7.5, 8.0, S.HALF_STEPS_0_10, S.INTEGER_1_10)
    assert not same_rating(7.5, 7.0, S.HALF_STEPS_0_10, S.INTEGER_1_10)
    assert same_rating(7.5, 7.6, S.HALF_STEPS_0_10, S.DECIMAL_0_10)
    assert not same_rating(7.5, 7.8, S.HALF_STEPS_0_10, S.DECIMAL_0_10)
    assert same_rating(9.0, 8.0, S.ANILIST_POINT_3, S.INTEGER_1_10)
    assert not same_rating(9.0, 7.0, S.ANILIST_POINT_3, S.INTEGER_1_10)
    assert same_rating(7.4, 7.0, S.INTEGER_1_10, S.ANILIST_POINT_10)
    assert not same_rating(7.3, 7.4, S.DECIMAL_0_10, S.ANILIST_POINT_100)


def test_point_3_smileys_map_to_thirds_of_the_scale() -> None:
    assert [to_normalized(S.ANILIST_POINT_3, v) for v in (1, 2, 3)] == [3.0, 6.0, 9.0]
    below_4_5 = {from_normalized(S.ANILIST_POINT_3, x) for x in ALL_TENTHS if x < 4.5}
    below_7_5 = {from_normalized(S.ANILIST_POINT_3, x) for x in ALL_TENTHS if 4.5 <= x < 7.5}
    the_rest = {from_normalized(S.ANILIST_POINT_3, x) for x in ALL_TENTHS if x >= 7.5}
    assert (below_4_5, below_7_5, the_rest) == ({1}, {2}, {3})


def test_half_star_plex_rating_rounds_up_to_the_lowest_rating() -> None:
    assert to_normalized(S.HALF_STEPS_0_10, 0.5) == 1.0
    assert from_normalized(S.HALF_STEPS_0_10, 1.0) == 1.0


@pytest.mark.parametrize(
    ("scale", "native"),
    [
        (S.ANILIST_POINT_100, 1),
        (S.ANILIST_POINT_100, 9),
        (S.ANILIST_POINT_10_DECIMAL, 0.1),
        (S.DECIMAL_0_10, 0.9),
    ],
)
def test_other_rated_values_below_one_also_become_the_lowest_rating(
    scale: RatingScale, native: float
) -> None:
    assert to_normalized(scale, native) == 1.0


def test_for_anilist_maps_every_score_format_and_rejects_unknown() -> None:
    assert RatingScale.for_anilist("POINT_100") is S.ANILIST_POINT_100
    assert RatingScale.for_anilist("POINT_10_DECIMAL") is S.ANILIST_POINT_10_DECIMAL
    assert RatingScale.for_anilist("POINT_10") is S.ANILIST_POINT_10
    assert RatingScale.for_anilist("POINT_5") is S.ANILIST_POINT_5
    assert RatingScale.for_anilist("POINT_3") is S.ANILIST_POINT_3
    for unknown in ("POINT_7", "point_100", "", "integer_1_10", "ANILIST_POINT_100"):
        with pytest.raises(ValueError, match="unknown AniList score format"):
            RatingScale.for_anilist(unknown)


@pytest.mark.parametrize("a_scale", list(RatingScale))
@pytest.mark.parametrize("b_scale", list(RatingScale))
def test_the_fast_comparison_agrees_with_quantizing_on_the_coarser_scale(
    a_scale: RatingScale, b_scale: RatingScale
) -> None:
    coarser = min(a_scale, b_scale, key=lambda scale: (scale.levels, scale.value))
    values = [tenths / 10 for tenths in range(10, 101)] + [7.25, 1.05, 9.99]
    for a in values[::3]:
        for b in values:
            assert same_rating(a, b, a_scale, b_scale) == (
                quantize(coarser, a) == quantize(coarser, b)
            )
