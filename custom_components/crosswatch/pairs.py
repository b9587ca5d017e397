"""Sync pairs as the user configured them (config subentries of the sync entry)."""

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from .const import (
    CONF_DELETE_FLOOR,
    CONF_DELETE_SHARE,
    CONF_DROP_THRESHOLD,
    CONF_DRY_RUN,
    CONF_FEATURES,
    CONF_FOLLOW_PLAYERS,
    CONF_INTERVAL,
    CONF_MODE,
    CONF_PAUSE_AFTER,
    CONF_SCROBBLE,
    CONF_SOURCE,
    CONF_TARGET,
    CONF_TOMBSTONE_DAYS,
    DEFAULT_INTERVAL,
    DEFAULT_PAUSE_AFTER,
)
from .engine.guards import GuardSettings
from .engine.payloads import Feature
from .engine.pipeline import PairSpec
from .engine.planner import SyncMode

DEFAULT_GUARDS = GuardSettings()
DEFAULT_PAIR_OPTIONS: Mapping[str, Any] = {
    CONF_FEATURES: [Feature.WATCHLIST.value],
    CONF_MODE: SyncMode.ADD_ONLY.value,
    CONF_INTERVAL: int(DEFAULT_INTERVAL.total_seconds() // 60),
    CONF_DRY_RUN: False,
    CONF_DELETE_FLOOR: DEFAULT_GUARDS.delete_floor,
    CONF_DELETE_SHARE: DEFAULT_GUARDS.delete_share * 100,
    CONF_DROP_THRESHOLD: DEFAULT_GUARDS.drop_threshold * 100,
    CONF_TOMBSTONE_DAYS: DEFAULT_GUARDS.tombstone_ttl.days,
    CONF_FOLLOW_PLAYERS: [],
    CONF_PAUSE_AFTER: DEFAULT_PAUSE_AFTER,
    CONF_SCROBBLE: False,
}


@dataclass(frozen=True, slots=True)
class PairConfig:
    """One pair's settings: which accounts, what, how, how often, how carefully."""

    source: str  # unique id of the source account entry (side A)
    target: str  # unique id of the target account entry (side B)
    features: frozenset[Feature]
    mode: SyncMode
    interval: timedelta
    dry_run: bool
    guards: GuardSettings
    # media_player entity ids whose finished plays run the pair for that item (playback.py).
    follow_players: tuple[str, ...] = ()
    # Failed runs in a row after which the pair pauses itself (0: never); see engine/failing.py.
    pause_after: int = DEFAULT_PAUSE_AFTER
    # Scrobble what those players play (start, pause, stop) to the target (engine/scrobble.py).
    scrobble: bool = False

    @property
    def follows_playback(self) -> bool:
        """Whether finished plays on followed players sync at once (history pairs only)."""
        return bool(self.follow_players) and Feature.HISTORY in self.features

    @property
    def scrobbles(self) -> bool:
        """Whether the followed players' plays are scrobbled live to the target."""
        return self.scrobble and self.follows_playback

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> PairConfig:
        """Read a pair subentry's data (defaults fill what older versions did not store)."""
        merged = {**DEFAULT_PAIR_OPTIONS, **data}
        guards = GuardSettings(
            delete_floor=int(merged[CONF_DELETE_FLOOR]),
            delete_share=float(merged[CONF_DELETE_SHARE]) / 100,
            drop_threshold=float(merged[CONF_DROP_THRESHOLD]) / 100,
            tombstone_ttl=timedelta(days=int(merged[CONF_TOMBSTONE_DAYS])),
        )
        return cls(
            source=str(merged[CONF_SOURCE]),
            target=str(merged[CONF_TARGET]),
            features=frozenset(Feature(f) for f in merged[CONF_FEATURES]),
            mode=SyncMode(merged[CONF_MODE]),
            interval=timedelta(minutes=int(merged[CONF_INTERVAL])),
            dry_run=bool(merged[CONF_DRY_RUN]),
            guards=guards,
            follow_players=tuple(str(e) for e in merged[CONF_FOLLOW_PLAYERS] or ()),
            pause_after=int(merged[CONF_PAUSE_AFTER]),
            scrobble=bool(merged[CONF_SCROBBLE]),
        )

    def spec(
        self, pair_id: str, *, dry_run: bool | None = None, features: Collection[Feature] = ()
    ) -> PairSpec:
        """The engine's view of one run of this pair (optionally narrowed or dry)."""
        wanted = frozenset(features) & self.features if features else self.features
        return PairSpec(
            pair_id,
            self.mode,
            wanted,
            self.guards,
            dry_run=self.dry_run if dry_run is None else dry_run,
        )
