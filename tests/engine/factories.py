"""Small builders that keep engine tests readable."""

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta

from custom_components.crosswatch.engine.capabilities import Capabilities, HistorySupport
from custom_components.crosswatch.engine.items import MediaItem, MediaType
from custom_components.crosswatch.engine.payloads import Entry, Feature, Listed, Rated, Watched
from custom_components.crosswatch.engine.plan import Plan
from custom_components.crosswatch.engine.planner import (
    PairPolicy,
    SideState,
    SyncMode,
    plan_feature,
)
from custom_components.crosswatch.engine.ratings import RatingScale
from custom_components.crosswatch.engine.snapshot import (
    Completeness,
    Semantics,
    Snapshot,
    partial,
)

T0 = datetime(2026, 1, 10, 20, 0, tzinfo=UTC)
ALL_FEATURES = frozenset(Feature)

TRAKT = Capabilities(
    ALL_FEATURES,
    HistorySupport(multiple_plays=True, sets_watched_at=True, precision=timedelta(minutes=1)),
    RatingScale.INTEGER_1_10,
)
SIMKL = Capabilities(
    ALL_FEATURES,
    HistorySupport(multiple_plays=False, sets_watched_at=True),
    RatingScale.INTEGER_1_10,
)
PLEX = Capabilities(
    ALL_FEATURES,
    HistorySupport(multiple_plays=False, sets_watched_at=False),
    RatingScale.HALF_STEPS_0_10,
)
JELLYFIN = Capabilities(
    ALL_FEATURES,
    HistorySupport(multiple_plays=False, sets_watched_at=True),
    RatingScale.DECIMAL_0_10,
)
ANILIST = Capabilities(
    ALL_FEATURES,
    HistorySupport(multiple_plays=False, sets_watched_at=True, precision=timedelta(days=1)),
    RatingScale.ANILIST_POINT_100,
)


def movie(title: str | None, year: int | None = None, **ids: object) -> MediaItem:
    return MediaItem.create(MediaType.MOVIE, title=title, year=year, ids=ids)


def show(title: str | None, year: int | None = None, **ids: object) -> MediaItem:
    return MediaItem.create(MediaType.SHOW, title=title, year=year, ids=ids)


def episode(
    title: str | None,
    season: int,
    number: int,
    *,
    year: int | None = None,
    show_ids: Mapping[str, object] | None = None,
    **ids: object,
) -> MediaItem:
    return MediaItem.create(
        MediaType.EPISODE,
        title=title,
        year=year,
        ids=ids,
        show_ids=show_ids or {},
        season=season,
        episode=number,
    )


def listed(item: MediaItem, at: datetime | None = T0) -> Entry:
    return Entry(item, Listed(at))


def watched(item: MediaItem, *plays: datetime) -> Entry:
    return Entry(item, Watched.from_plays(plays))


def watched_state(item: MediaItem, count: int, last: datetime | None) -> Entry:
    return Entry(item, Watched.from_state(count, last))


def rated(item: MediaItem, value: float, at: datetime | None = T0) -> Entry:
    return Entry(item, Rated(value, at))


def snap(
    feature: Feature,
    entries: Iterable[Entry],
    *,
    provider: str = "x",
    complete: bool = True,
    semantics: Semantics = Semantics.PRESENT,
    removed: Iterable[str] = (),
    watermark: str | None = None,
) -> Snapshot:
    completeness = (
        Completeness(all_pages=True, watermark=watermark)
        if complete
        else partial("page 3 of 7 timed out")
    )
    return Snapshot.build(
        provider, feature, entries, completeness, semantics=semantics, removed=removed
    )


def plan(
    mode: SyncMode,
    a: tuple[str, Capabilities, Snapshot, Snapshot | None],
    b: tuple[str, Capabilities, Snapshot, Snapshot | None],
) -> Plan:
    return plan_feature(PairPolicy(mode), SideState(*a), SideState(*b))
