"""What a provider can hold and write, as far as planning needs to know.

The planner degrades to what the weaker side of a pair can express instead of fighting it:
a provider that keeps only a watched state is never asked to store several plays, and a provider
that cannot set a watched date never makes the engine chase timestamps.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta

from .payloads import Feature
from .ratings import RatingScale


@dataclass(frozen=True, slots=True)
class HistorySupport:
    """How a provider keeps watch history."""

    multiple_plays: bool  # individual plays, each with its date (Trakt) vs a watched state
    sets_watched_at: bool  # a write can carry the date it was watched (Plex cannot)
    precision: timedelta = timedelta(seconds=1)  # the coarsest step of its stored dates


@dataclass(frozen=True, slots=True)
class Capabilities:
    """A provider's features and how it represents them."""

    features: frozenset[Feature]
    history: HistorySupport
    rating_scale: RatingScale
    batch_size: int = 100  # items per write request
    confirms_per_item: bool = True  # False: writes answer only counts or `ok: true`
    # Taking an item off the watchlist also deletes its rating (SIMKL's history/remove).
    watchlist_removal_clears_rating: bool = False
    # The most items the account may hold per feature (Trakt's free-tier caps), where known.
    limits: Mapping[Feature, int] = field(default_factory=dict)
