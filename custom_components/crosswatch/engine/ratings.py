"""Ratings: every provider's native scale, and the one normalized scale the engine compares.

A normalized rating is a float in [1.0, 10.0] with at most one decimal; unrated is None, never 0.
Two normalized values are the same rating when they agree on the coarser of their two scales:
otherwise AniList's 73 (7.3) and Trakt's 7 would overwrite each other on every sync.

All rounding is exact and half up: numbers are parsed as `decimal.Decimal` from their shortest
text form, so 6.5 becomes 7 (not banker's 6) and the float 1.15 is not rounded as 1.1499...

Lossy conversions, where a native value does not survive the round trip:
- a rated value below 1.0 (Plex's half star 0.5, a Jellyfin/Emby or AniList POINT_10_DECIMAL
  0.1..0.9, AniList POINT_100 1..9) becomes 1.0: on those scales only 0 means unrated, and the
  normalized scale starts at 1;
- Jellyfin/Emby keep a double; we keep tenths.
"""

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from enum import StrEnum
from types import MappingProxyType
from typing import Final


class RatingScale(StrEnum):
    """A provider's native rating scale."""

    INTEGER_1_10 = "integer_1_10"  # Trakt and SIMKL
    HALF_STEPS_0_10 = "half_steps_0_10"  # Plex userRating
    DECIMAL_0_10 = "decimal_0_10"  # Jellyfin and Emby UserData.Rating
    ANILIST_POINT_100 = "POINT_100"
    ANILIST_POINT_10_DECIMAL = "POINT_10_DECIMAL"
    ANILIST_POINT_10 = "POINT_10"
    ANILIST_POINT_5 = "POINT_5"  # stars
    ANILIST_POINT_3 = "POINT_3"  # smileys: 1 = :(  2 = :|  3 = :)

    @classmethod
    def for_anilist(cls, score_format: str) -> RatingScale:
        """Return the scale of the Viewer's `mediaListOptions.scoreFormat`.

        Raises ValueError for a format this module does not know.
        """
        for scale in cls:
            if scale.name.startswith("ANILIST_") and scale.value == score_format:
                return scale
        raise ValueError(f"unknown AniList score format: {score_format!r}")

    @property
    def levels(self) -> int:
        """How many distinct normalized ratings the scale can express."""
        return _SPECS[self].levels


@dataclass(frozen=True, slots=True)
class _Spec:
    """How a native scale maps onto normalized tenths (10..100)."""

    per_unit: int  # native values are whole multiples of 1/per_unit: "steps"
    top: int  # the highest native value, in steps
    tenths: int  # normalized tenths that one native step is worth
    levels: int  # distinct rated values once clamped to >= 1.0
    exact: bool = True  # False: the provider keeps finer values than steps, so round them


_SPECS: Final = MappingProxyType(
    {
        RatingScale.INTEGER_1_10: _Spec(per_unit=1, top=10, tenths=10, levels=10),
        RatingScale.HALF_STEPS_0_10: _Spec(per_unit=2, top=20, tenths=5, levels=19),
        RatingScale.DECIMAL_0_10: _Spec(per_unit=10, top=100, tenths=1, levels=91, exact=False),
        RatingScale.ANILIST_POINT_100: _Spec(per_unit=1, top=100, tenths=1, levels=91),
        RatingScale.ANILIST_POINT_10_DECIMAL: _Spec(per_unit=10, top=100, tenths=1, levels=91),
        RatingScale.ANILIST_POINT_10: _Spec(per_unit=1, top=10, tenths=10, levels=10),
        RatingScale.ANILIST_POINT_5: _Spec(per_unit=1, top=5, tenths=20, levels=5),
        # Each smiley stands for a third of the scale (below 4.5, below 7.5, the rest; see
        # from_normalized) and maps to a whole rating in it, three times its score: 3, 6, 9.
        # The neutral :| thus lands on 6, not on a pessimistic 5.
        RatingScale.ANILIST_POINT_3: _Spec(per_unit=1, top=3, tenths=30, levels=3),
    }
)


def _decimal(value: float | str) -> Decimal:
    """Parse a number exactly as written; ValueError for garbage, NaN and infinities."""
    try:
        # str() of a float is its shortest round-tripping form: 1.15 parses as 1.15, not 1.149...
        number = Decimal(str(value))
    except InvalidOperation:
        number = Decimal("NaN")
    if not number.is_finite():
        raise ValueError(f"not a rating: {value!r}")
    return number


def _to_normalized(spec: _Spec, steps: int) -> float:
    # A rated value below 1.0 still means "rated": it becomes the lowest rating, not unrated.
    return max(10, steps * spec.tenths) / 10


def _steps(scale: RatingScale, value: float) -> int:
    """Find the native value nearest to a normalized one, counted in steps of `scale`."""
    number = _decimal(value)
    if not 1 <= number <= 10:
        raise ValueError(f"{value!r} is outside the normalized scale 1..10")
    # Rounding straight from the exact value avoids double rounding (6.45 -> 6.5 -> 7).
    steps = (number * 10 / _SPECS[scale].tenths).to_integral_value(rounding=ROUND_HALF_UP)
    # POINT_3's lowest smiley also covers 1.0..1.4, which would round to its unscored 0.
    return max(1, int(steps))


def to_normalized(scale: RatingScale, native: float | int | str | None) -> float | None:
    """Convert a native value to normalized 1..10 in tenths, or None when unrated.

    0 and None mean unrated on every scale. Numeric strings are accepted, since providers send
    "7". Raises ValueError for garbage and for values out of range or between the scale's steps
    (Plex 7.3, POINT_10 7.5).
    """
    if native is None:
        return None
    spec = _SPECS[scale]
    steps = _decimal(native) * spec.per_unit
    if steps == 0:
        return None
    if not 0 < steps <= spec.top:
        raise ValueError(f"{native!r} is out of range for the {scale} scale")
    if not spec.exact:
        steps = steps.to_integral_value(rounding=ROUND_HALF_UP)
    if steps != steps.to_integral_value():
        raise ValueError(f"{native!r} is not a value of the {scale} scale")
    return _to_normalized(spec, int(steps))


def from_normalized(scale: RatingScale, value: float) -> float | int:
    """Convert normalized 1..10 to the nearest rated native value on `scale`, rounding half up.

    Integer scales give an int, the others a float. Raises ValueError outside [1, 10].
    """
    steps = _steps(scale, value)
    per_unit = _SPECS[scale].per_unit
    return steps if per_unit == 1 else steps / per_unit


def quantize(scale: RatingScale, value: float) -> float:
    """Return the normalized value as `scale` can represent it.

    Equal to `to_normalized(scale, from_normalized(scale, value))`.
    """
    return _to_normalized(_SPECS[scale], _steps(scale, value))


def same_rating(a: float, b: float, a_scale: RatingScale, b_scale: RatingScale) -> bool:
    """Tell whether `a` and `b` are the same rating as far as the coarser scale can tell.

    The coarser scale is the one with fewer levels; comparing there keeps the planner from
    flip-flopping between providers of different precision.
    """
    if a == b:
        return True
    coarser = _COARSER[a_scale, b_scale]
    return _quantize_fast(coarser, a) == _quantize_fast(coarser, b)


def _quantize_fast(scale: RatingScale, value: float) -> float:
    # Normalized ratings are whole tenths; the planner compares millions of them per run, so
    # whole tenths come from a table and only anything else takes the exact decimal path.
    tenths = round(value * 10)
    if 10 <= tenths <= 100 and abs(value * 10 - tenths) < 1e-6:
        return _QUANTIZED_TENTHS[scale][tenths - 10]
    return quantize(scale, value)


# Equally fine scales break the tie by name, so the argument order never matters.
_COARSER: Final = MappingProxyType(
    {
        (first, second): min(first, second, key=lambda scale: (scale.levels, scale.value))
        for first in RatingScale
        for second in RatingScale
    }
)
_QUANTIZED_TENTHS: Final = MappingProxyType(
    {
        scale: tuple(quantize(scale, tenths / 10) for tenths in range(10, 101))
        for scale in RatingScale
    }
)
